/**
 * Standing: how established a peer is by the countersigned receipts this
 * store holds in which it is a party (provider or requester), and by the
 * distinct other parties among them. A job board or a discovery search asks
 * it synchronously for every message or candidate, so it is an in-memory
 * index: updated on every append, rebuilt from the log when the store opens,
 * and bounded (the least recently updated peers are dropped first, so a
 * flood of fresh keys pushes out other fresh keys, rarely an old partner).
 *
 * Receipts a peer issues to itself count for nothing: a key cannot make
 * itself established alone.
 */

import { MAX_STANDING_COUNTERPARTIES, MAX_STANDING_PEERS } from './constants.js'
import { toHex } from './utils.js'
import type { WorkReceipt } from '@shoal/records'

/** How established a peer is, from the receipts this store holds. */
export interface Standing {
  /** countersigned receipts in which the peer is a party (self-dealing excluded) */
  receipts: number
  /** distinct other parties among them (counted up to `MAX_STANDING_COUNTERPARTIES`) */
  counterparties: number
}

interface Entry {
  receipts: number
  counterparties: Set<string>
}

/** The standing of peers by their multihash bytes (hex), least recently updated first. */
export class StandingIndex {
  private readonly entries = new Map<string, Entry>()
  private readonly maxPeers: number

  constructor (maxPeers: number = MAX_STANDING_PEERS) {
    this.maxPeers = Math.max(1, maxPeers)
  }

  /** Count one countersigned receipt for both of its parties. */
  add (value: Pick<WorkReceipt, 'provider' | 'requester'>): void {
    const provider = toHex(value.provider)
    const requester = toHex(value.requester)
    if (provider === requester) {
      return
    }
    this.count(provider, requester)
    this.count(requester, provider)
  }

  /** The standing of a peer (multihash hex); zero when unknown. */
  get (peerHex: string): Standing {
    const entry = this.entries.get(peerHex)
    return entry == null ? { receipts: 0, counterparties: 0 } : { receipts: entry.receipts, counterparties: entry.counterparties.size }
  }

  /** Number of peers tracked. */
  get size (): number {
    return this.entries.size
  }

  /** Forget everything (before a rebuild). */
  clear (): void {
    this.entries.clear()
  }

  private count (peer: string, other: string): void {
    let entry = this.entries.get(peer)
    if (entry == null) {
      entry = { receipts: 0, counterparties: new Set() }
    } else {
      // re-insert: the map stays in least-recently-updated order
      this.entries.delete(peer)
    }
    entry.receipts++
    if (entry.counterparties.size < MAX_STANDING_COUNTERPARTIES) {
      entry.counterparties.add(other)
    }
    this.entries.set(peer, entry)
    while (this.entries.size > this.maxPeers) {
      const oldest = this.entries.keys().next().value
      if (oldest == null) {
        break
      }
      this.entries.delete(oldest)
    }
  }
}
