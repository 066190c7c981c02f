/**
 * Adversary behaviours by name. A behaviour changes what one peer of the
 * market does: a provider's runs and offer, a requester's jobs, or what a
 * peer sends on the network. The market installs the behaviours a
 * scenario's `adversaries[]` names; TypeScript users register their own.
 */

import type { ResolvedJobKind, ResolvedMarket, ResolvedRole } from '../config.js'
import type { MarketServices } from '../market.js'
import type { Simulation } from '../../harness/simulation.js'
import type { SimPeer } from '../../harness/peer.js'
import type { Gpu, Price } from '@shoal/records'
import type { SubmitJobServices } from '@shoal/node'

/** Which side of the market a behaviour acts on. */
export type BehaviourSide = 'provider' | 'requester' | 'network'

/** One job as a provider's executor is about to run it. */
export interface ConductJob {
  /** the sim job id */
  job: string
  kind?: ResolvedJobKind
  role: ResolvedRole
  /** whether this provider ran this job id before (a replayed assignment) */
  seen: boolean
}

/** What the executor does with a job: behaviours change it in turn. */
export interface RunPlan {
  /** compute time, ms */
  ms: number
  /** return output other than the honest one */
  wrong: boolean
  /** the executor's exit status (non-zero: the job failed) */
  status: number
  /** never deliver: hold the slot until the requester gives up */
  silent: boolean
}

/** The offer a provider advertises. */
export interface AdvertisedOffer {
  gpus: Gpu[]
  sensors: string[]
  geohash: string
  price: Price
  concurrency: number
}

/** The hooks behaviours set on one peer; the market reads them. */
export interface Conduct {
  /** change each run of the provider's executor */
  runs: Array<(job: ConductJob, plan: RunPlan) => RunPlan>
  /** change the offer the provider advertises (the market restarts its provider flow) */
  offers: Array<(offer: AdvertisedOffer) => AdvertisedOffer>
  /** wrap the work service the requester's jobs run on */
  work: Array<(work: SubmitJobServices['work']) => SubmitJobServices['work']>
}

/** What a scenario's adversary entry adds beyond the peers it picks. */
export interface AdversaryOptions {
  /** the geohash cell a sybil attack advertises in */
  cell?: string
}

/** What `install` is given for one peer. */
export interface BehaviourContext {
  index: number
  peer: SimPeer<MarketServices>
  sim: Simulation<MarketServices>
  market: ResolvedMarket
  role: ResolvedRole
  conduct: Conduct
  options: AdversaryOptions
  /** aborted when the peer crashes, leaves or the run stops: background work ends with it */
  signal: AbortSignal
}

/** A behaviour: the side it acts on and how it turns on at one peer. */
export interface Behaviour {
  side: BehaviourSide
  install(ctx: BehaviourContext): void | Promise<void>
}

const registry = new Map<string, Behaviour>()

/** Register (or replace) a behaviour a scenario can name in `adversaries[].behaviour`. */
export function registerBehaviour (name: string, behaviour: Behaviour): void {
  registry.set(name, behaviour)
}

/** The behaviour registered under `name`, if any. */
export function behaviourOf (name: string): Behaviour | undefined {
  return registry.get(name)
}

/** The names of every behaviour registered now. */
export function registeredBehaviours (): string[] {
  return [...registry.keys()]
}

/** A conduct with no hooks: an honest peer. */
export function honestConduct (): Conduct {
  return { runs: [], offers: [], work: [] }
}
