/**
 * The local board: live announcements and remembered withdrawals, both
 * bounded. When full, the oldest entry goes first; one requester can hold
 * at most `maxPerRequester` entries, its oldest going first.
 */

import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import type { JobAnnouncement, JobWithdrawal, SignedRecord } from '@shoal/records'
import type { PeerId } from '@libp2p/interface'

/** How an announcement reached this peer. */
export type JobSource = 'local' | 'gossip' | 'sync'

/** An announcement on the board. */
export interface JobEntry {
  /** the signed announcement, as received (relay `record.bytes`) */
  readonly record: SignedRecord<JobAnnouncement>
  /** the job id as lowercase hex */
  readonly key: string
  /** the requester, who signed it */
  readonly requester: PeerId
  /** topics it was published or received on */
  readonly topics: string[]
  /** when this peer learned it (local clock), ms */
  readonly receivedMs: number
  /** how this peer learned it */
  readonly source: JobSource
  /** the peer it came from (undefined for this peer's own jobs) */
  readonly from?: PeerId
  /** peers the announcement was published to, for this peer's own jobs */
  recipients?: number
}

/** A remembered withdrawal. */
export interface WithdrawalEntry {
  readonly record: SignedRecord<JobWithdrawal>
  readonly key: string
  /** requester's peer id string */
  readonly requester: string
  /** forget it after this time, ms */
  readonly untilMs: number
}

/** A job id (16 bytes) as the lowercase hex key used by the board. */
export function jobKey (jobId: Uint8Array): string {
  return uint8ArrayToString(jobId, 'base16')
}

/** Sizes of a JobStore. */
export interface JobStoreInit {
  maxJobs: number
  maxPerRequester: number
  maxWithdrawals: number
}

/** Bounded store of announcements and withdrawals. */
export class JobStore {
  private readonly jobs = new Map<string, JobEntry>()
  private readonly byRequester = new Map<string, Set<string>>()
  private readonly withdrawals = new Map<string, WithdrawalEntry>()
  private readonly init: JobStoreInit

  constructor (init: JobStoreInit) {
    this.init = {
      maxJobs: Math.max(1, init.maxJobs),
      maxPerRequester: Math.max(1, init.maxPerRequester),
      maxWithdrawals: Math.max(1, init.maxWithdrawals)
    }
  }

  /** Number of announcements held. */
  get size (): number {
    return this.jobs.size
  }

  /** Number of withdrawals remembered. */
  get withdrawalCount (): number {
    return this.withdrawals.size
  }

  get (key: string): JobEntry | undefined {
    return this.jobs.get(key)
  }

  has (key: string): boolean {
    return this.jobs.has(key)
  }

  /** Announcements, oldest first. */
  values (): IterableIterator<JobEntry> {
    return this.jobs.values()
  }

  /** Withdrawals, oldest first. */
  withdrawalValues (): IterableIterator<WithdrawalEntry> {
    return this.withdrawals.values()
  }

  /** Add an announcement (its key must be new); returns the entries evicted to make room. */
  add (entry: JobEntry): JobEntry[] {
    const evicted: JobEntry[] = []
    const requester = entry.requester.toString()
    let own = this.byRequester.get(requester)

    if (own != null && own.size >= this.init.maxPerRequester) {
      const oldest = own.values().next().value
      if (oldest != null) {
        const removed = this.remove(oldest)
        if (removed != null) {
          evicted.push(removed)
        }
      }
    }

    while (this.jobs.size >= this.init.maxJobs) {
      const oldest = this.jobs.keys().next().value
      if (oldest == null) {
        break
      }
      const removed = this.remove(oldest)
      if (removed != null) {
        evicted.push(removed)
      }
    }

    this.jobs.set(entry.key, entry)
    own = this.byRequester.get(requester)
    if (own == null) {
      own = new Set()
      this.byRequester.set(requester, own)
    }
    own.add(entry.key)
    return evicted
  }

  /** Remove an announcement; returns it if it was there. */
  remove (key: string): JobEntry | undefined {
    const entry = this.jobs.get(key)
    if (entry == null) {
      return undefined
    }
    this.jobs.delete(key)
    const requester = entry.requester.toString()
    const own = this.byRequester.get(requester)
    own?.delete(key)
    if (own?.size === 0) {
      this.byRequester.delete(requester)
    }
    return entry
  }

  /** Remove and return the announcements expired at `now`, and forget withdrawals past their time. */
  expire (now: number): JobEntry[] {
    const expired: JobEntry[] = []
    for (const entry of this.jobs.values()) {
      if (entry.record.value.expiresMs <= now) {
        expired.push(entry)
      }
    }
    for (const entry of expired) {
      this.remove(entry.key)
    }
    for (const [key, w] of this.withdrawals) {
      if (w.untilMs <= now) {
        this.withdrawals.delete(key)
      }
    }
    return expired
  }

  /** The earliest time something on the board expires, or undefined when empty. */
  nextExpiry (): number | undefined {
    let next: number | undefined
    for (const entry of this.jobs.values()) {
      const t = entry.record.value.expiresMs
      if (next == null || t < next) {
        next = t
      }
    }
    for (const w of this.withdrawals.values()) {
      if (next == null || w.untilMs < next) {
        next = w.untilMs
      }
    }
    return next
  }

  /** Remember a withdrawal, evicting the oldest when full. */
  addWithdrawal (entry: WithdrawalEntry): void {
    const id = withdrawalId(entry.key, entry.requester)
    this.withdrawals.delete(id)
    while (this.withdrawals.size >= this.init.maxWithdrawals) {
      const oldest = this.withdrawals.keys().next().value
      if (oldest == null) {
        break
      }
      this.withdrawals.delete(oldest)
    }
    this.withdrawals.set(id, entry)
  }

  /**
   * The withdrawal of job `key` by `requester` (hex of its peer id bytes).
   * Withdrawals are kept per requester: anyone can sign one for a public
   * job id, and a forgery must not shadow the requester's own.
   */
  getWithdrawal (key: string, requester: string): WithdrawalEntry | undefined {
    return this.withdrawals.get(withdrawalId(key, requester))
  }

  /** Jobs held for one requester. */
  countFor (requester: PeerId): number {
    return this.byRequester.get(requester.toString())?.size ?? 0
  }

  clear (): void {
    this.jobs.clear()
    this.byRequester.clear()
    this.withdrawals.clear()
  }
}

function withdrawalId (key: string, requester: string): string {
  return `${key}/${requester}`
}
