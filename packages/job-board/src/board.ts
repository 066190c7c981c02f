/**
 * The local board: live announcements and remembered withdrawals, both
 * bounded. When full, the oldest entry goes first; one requester can hold
 * at most `maxPerRequester` entries, its oldest going first.
 */

import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { REGION_PRECISION } from './constants.js'
import { regionOf } from './topics.js'
import type { Interests } from './topics.js'
import type { JobAnnouncement, JobKind, JobWithdrawal, SignedRecord } from '@shoal/records'
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

interface RecencyNode {
  readonly key: string
  readonly seq: number
  older?: RecencyNode
  newer?: RecencyNode
}

/** Keys in insertion order, walkable newest first and removable in O(1). */
class RecencyList {
  private readonly nodes = new Map<string, RecencyNode>()
  private newest?: RecencyNode

  get size (): number {
    return this.nodes.size
  }

  add (key: string, seq: number): void {
    const node: RecencyNode = { key, seq, older: this.newest }
    if (this.newest != null) {
      this.newest.newer = node
    }
    this.newest = node
    this.nodes.set(key, node)
  }

  delete (key: string): void {
    const node = this.nodes.get(key)
    if (node == null) {
      return
    }
    this.nodes.delete(key)
    if (node.newer != null) {
      node.newer.older = node.older
    } else {
      this.newest = node.older
    }
    if (node.older != null) {
      node.older.newer = node.newer
    }
  }

  * newestFirst (): Generator<RecencyNode> {
    for (let node = this.newest; node != null; node = node.older) {
      yield node
    }
  }
}

/** The index bucket of an announcement: its kind and its region (empty when it has none). */
function bucketOf (job: Pick<JobAnnouncement, 'kind' | 'requirements'>): { kind: JobKind, region: string } {
  return { kind: job.kind, region: regionOf(job.requirements?.region ?? '') ?? '' }
}

/** Bounded store of announcements and withdrawals. */
export class JobStore {
  private readonly jobs = new Map<string, JobEntry>()
  /** every announcement, newest first */
  private readonly recent = new RecencyList()
  /** announcements per kind, then per region ('' for none): what a sync request selects */
  private readonly buckets = new Map<JobKind, Map<string, RecencyList>>()
  private seq = 0
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

  /**
   * Announcements newest first; with `wants`, only those of a wanted kind
   * whose region is none or a wanted one (as `jobMatchesInterests`). Walks
   * the index: the cost is the number of entries taken plus the number of
   * non-empty (kind, region) buckets, never the whole board.
   */
  * newest (wants?: Interests): Generator<JobEntry> {
    if (wants == null) {
      for (const node of this.recent.newestFirst()) {
        const entry = this.jobs.get(node.key)
        if (entry != null) {
          yield entry
        }
      }
      return
    }
    const prefixes = [...new Set((wants.regions ?? []).map(r => r.slice(0, REGION_PRECISION)))]
    const heads: Array<{ it: Generator<RecencyNode>, node: RecencyNode }> = []
    for (const kind of new Set(wants.kinds ?? [])) {
      for (const [region, bucket] of this.buckets.get(kind) ?? []) {
        if (region !== '' && !prefixes.some(p => region.startsWith(p))) {
          continue
        }
        const it = bucket.newestFirst()
        const first = it.next()
        if (first.done !== true) {
          heads.push({ it, node: first.value })
        }
      }
    }
    // merge the buckets by insertion order, newest first
    while (heads.length > 0) {
      let best = 0
      for (let i = 1; i < heads.length; i++) {
        if (heads[i].node.seq > heads[best].node.seq) {
          best = i
        }
      }
      const head = heads[best]
      const entry = this.jobs.get(head.node.key)
      const next = head.it.next()
      if (next.done === true) {
        heads.splice(best, 1)
      } else {
        head.node = next.value
      }
      if (entry != null) {
        yield entry
      }
    }
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
    const seq = this.seq++
    this.recent.add(entry.key, seq)
    const { kind, region } = bucketOf(entry.record.value)
    let regions = this.buckets.get(kind)
    if (regions == null) {
      regions = new Map()
      this.buckets.set(kind, regions)
    }
    let bucket = regions.get(region)
    if (bucket == null) {
      bucket = new RecencyList()
      regions.set(region, bucket)
    }
    bucket.add(entry.key, seq)
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
    this.recent.delete(key)
    const { kind, region } = bucketOf(entry.record.value)
    const regions = this.buckets.get(kind)
    const bucket = regions?.get(region)
    bucket?.delete(key)
    if (bucket?.size === 0) {
      regions?.delete(region)
      if (regions?.size === 0) {
        this.buckets.delete(kind)
      }
    }
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
    this.buckets.clear()
    for (const node of [...this.recent.newestFirst()]) {
      this.recent.delete(node.key)
    }
    this.byRequester.clear()
    this.withdrawals.clear()
  }
}

function withdrawalId (key: string, requester: string): string {
  return `${key}/${requester}`
}
