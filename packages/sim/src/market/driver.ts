/**
 * What a scenario run asks of the market, in one process or over shards.
 */

import type { JobArrival } from '../scenario/driver.js'
import type { AdversaryOptions } from './adversaries/registry.js'

/** How the market opened: providers that started, and how many advertised in time. */
export interface MarketOpened {
  providers: number
  advertised: number
  seconds: number
}

/** The market of a run, as the timeline drives it. */
export interface MarketDriver {
  /** start every running provider's flow; resolves once they advertised (or the wait ran out) */
  open(): Promise<MarketOpened>
  /** submit a job at its requester; resolves when it ended (completed or failed, as events) */
  submit(job: JobArrival): Promise<void>
  /** turn a behaviour on at these peers; false when the market does not play it */
  adversary(behaviour: string, peers: readonly number[], options?: AdversaryOptions): Promise<boolean>
}
