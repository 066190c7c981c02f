/**
 * What a searcher remembers about providers between searches: verified
 * records to reuse, and peers to skip for a while.
 */

import { BoundedMap } from '@shoal/utils'
import type { CapabilityRecord, SignedRecord } from '@shoal/records'

/** Options of the record cache. */
export interface RecordCacheInit {
  /** how long a record is reused, ms (never past its expiry) */
  ttlMs: number
  /** most records kept; the oldest go first */
  size: number
  /** the clock, ms */
  now(): number
}

/** Verified records by provider, reused until `ttlMs` or their expiry. */
export class RecordCache {
  private readonly entries: BoundedMap<string, { record: SignedRecord<CapabilityRecord>, fetchedAt: number }>
  private readonly init: RecordCacheInit

  constructor (init: RecordCacheInit) {
    this.init = init
    this.entries = new BoundedMap(Math.max(0, init.size))
  }

  /** The cached record of `peer`, if still fresh. */
  get (peer: { toString(): string }): SignedRecord<CapabilityRecord> | undefined {
    const id = peer.toString()
    const entry = this.entries.get(id)
    if (entry == null) {
      return undefined
    }
    const now = this.init.now()
    if (now - entry.fetchedAt > this.init.ttlMs || entry.record.value.expiresMs <= now) {
      this.entries.delete(id)
      return undefined
    }
    return entry.record
  }

  /** Keep a verified record, under its signer. */
  set (record: SignedRecord<CapabilityRecord>): void {
    this.entries.set(record.signer.toString(), { record, fetchedAt: this.init.now() })
  }

  /** Forget the record of a peer. */
  delete (id: string): void {
    this.entries.delete(id)
  }

  clear (): void {
    this.entries.clear()
  }
}

/** Options of the deny list. */
export interface DenyListInit {
  /** most peers remembered; the oldest go first */
  size: number
  /** the clock, ms */
  now(): number
}

/** Peers skipped until a time. */
export class DenyList {
  private readonly until: BoundedMap<string, number>
  private readonly init: DenyListInit

  constructor (init: DenyListInit) {
    this.init = init
    this.until = new BoundedMap(Math.max(0, init.size))
  }

  /** Whether `id` is skipped now. */
  has (id: string): boolean {
    const until = this.until.get(id)
    if (until == null) {
      return false
    }
    if (until <= this.init.now()) {
      this.until.delete(id)
      return false
    }
    return true
  }

  /** Skip `id` for `ttlMs`. */
  add (id: string, ttlMs: number): void {
    this.until.set(id, this.init.now() + ttlMs)
  }

  clear (): void {
    this.until.clear()
  }
}
