/**
 * What the roles of the store share: the datastore and its keys, the clock,
 * the end of the log, and where to announce what happened. The store builds
 * one and hands it to each role, so no role calls back into the store.
 */

import { MAX_REPUTATION_CACHE } from './constants.js'
import type { ReceiptStoreEvents } from './index.js'
import type { StoreKeys } from './keys.js'
import type { ReputationDetails } from './reputation.js'
import type { StandingIndex } from './standing.js'
import type { CounterGroup, Logger } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type { TypedEventEmitter } from 'main-event'

/** The end of the log as committed: only recovery and the appender change it. */
export interface LogState {
  /** number of entries (the next seq) */
  length: number
  /** hash of the last entry */
  hash: Uint8Array
  /** leaf hashes of the open (incomplete) epoch */
  leaves: Uint8Array[]
}

/** The state and services every role of the store works with. */
export interface StoreContext {
  readonly datastore: Datastore
  readonly keys: StoreKeys
  readonly log: Logger
  /** the store's clock, ms */
  readonly now: () => number
  readonly epochSize: number
  readonly head: LogState
  /** the store itself, as the target of its events */
  readonly events: TypedEventEmitter<ReceiptStoreEvents>
  readonly reputations: ReputationCache
  /** standing of the parties of the log's receipts, kept by the appender */
  readonly standing: StandingIndex
  /** `shoal_receipts_events_total`, if the node has metrics */
  readonly metrics?: CounterGroup
}

/** Computed reputations by provider, bounded; an entry is dropped when a receipt or equivocation changes it. */
export class ReputationCache {
  private readonly entries = new Map<string, ReputationDetails>()

  get (provider: string): ReputationDetails | undefined {
    return this.entries.get(provider)
  }

  set (provider: string, details: ReputationDetails): void {
    this.entries.set(provider, details)
    // bounded: one entry per provider ever asked about would grow without end
    while (this.entries.size > MAX_REPUTATION_CACHE) {
      const oldest = this.entries.keys().next().value
      if (oldest == null) {
        break
      }
      this.entries.delete(oldest)
    }
  }

  invalidate (provider: string): void {
    this.entries.delete(provider)
  }
}
