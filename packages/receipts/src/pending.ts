/**
 * Pending receipts: signed by the provider, not yet countersigned. They
 * never enter the log, and they are bounded (per requester, in all, by age);
 * none leaves silently: each one removed is announced as `receipt:expired`.
 * The counts live in memory, rebuilt from the datastore on every open, so
 * the caps hold across restarts without reading a receipt per put.
 */

import { PENDING_SWEEP_INTERVAL_MS } from './constants.js'
import { getCountersigned, getPending } from './reads.js'
import { LazyStoredReceipt, decodePending, encodePending } from './stored-receipt.js'
import { toHex } from './utils.js'
import type { StoreContext } from './context.js'
import type { ExpiredReceipt, StoredReceipt } from './index.js'
import type { AbortOptions } from '@libp2p/interface'
import type { SignedRecord, WorkReceipt } from '@shoal/records'
import type { Batch, Key } from 'interface-datastore'

/** What the store remembers of a pending receipt to enforce its caps without reading it. */
interface PendingMeta {
  addedAt: number
  requesterHex: string
}

/** The limits on pending receipts. */
export interface PendingLimits {
  maxPending: number
  maxPendingPerRequester: number
  pendingTtlMs: number
}

/** The pending receipts of one store and their caps. */
export class PendingReceipts {
  private readonly ctx: StoreContext
  private readonly limits: PendingLimits
  /** every pending receipt by id, oldest first */
  private readonly pending = new Map<string, PendingMeta>()
  /** pending receipt ids per requester, oldest first */
  private readonly pendingBy = new Map<string, Set<string>>()
  /** puts and removals run one at a time, so the caps hold under concurrency */
  private lock: Promise<unknown> = Promise.resolve()
  private sweepTimer?: ReturnType<typeof setInterval>

  constructor (ctx: StoreContext, limits: PendingLimits) {
    this.ctx = ctx
    this.limits = limits
  }

  /** Number of pending receipts held. */
  get size (): number {
    return this.pending.size
  }

  /** Ids of the pending receipts, oldest first. */
  ids (): string[] {
    return [...this.pending.keys()]
  }

  /** Count the pending receipts on disk (so the caps hold across restarts), then expire them by age periodically. */
  async start (): Promise<void> {
    await this.load()
    if (Number.isFinite(this.limits.pendingTtlMs)) {
      this.sweepTimer = setInterval(() => {
        this.expire().catch(err => { this.ctx.log.error('could not expire pending receipts - %e', err) })
      }, Math.min(this.limits.pendingTtlMs, PENDING_SWEEP_INTERVAL_MS))
      this.sweepTimer.unref?.()
    }
  }

  /** Stop the sweep and wait for the running put or removal. */
  async stop (): Promise<void> {
    if (this.sweepTimer != null) {
      clearInterval(this.sweepTimer)
      this.sweepTimer = undefined
    }
    await this.lock
  }

  private async load (): Promise<void> {
    this.pending.clear()
    this.pendingBy.clear()
    const found: Array<{ idHex: string, meta: PendingMeta }> = []
    const stale: Key[] = []
    const prefix = this.ctx.keys.key('pending').toString() + '/'
    for await (const { key, value } of this.ctx.datastore.query({ prefix })) {
      const stored = decodePending(value, key.toString())
      const idHex = key.toString().slice(prefix.length)
      // a countersigned copy committed while the pending one was being written
      if (await this.ctx.datastore.has(this.ctx.keys.seq(idHex))) {
        stale.push(key)
        continue
      }
      found.push({ idHex, meta: { addedAt: stored.addedAt, requesterHex: toHex(stored.value.requester) } })
    }
    for (const key of stale) {
      await this.ctx.datastore.delete(key)
    }
    found.sort((a, b) => a.meta.addedAt - b.meta.addedAt)
    for (const { idHex, meta } of found) {
      this.index(idHex, meta)
    }
  }

  /**
   * Store a verified provider-signed receipt, making room under the caps
   * first; the countersigned copy wins if it was committed meanwhile.
   */
  async add (record: SignedRecord<WorkReceipt>, options: AbortOptions): Promise<StoredReceipt> {
    const idHex = toHex(record.id)
    return this.withLock(async () => {
      if (this.pending.has(idHex)) {
        const pending = await getPending(this.ctx, idHex, options)
        if (pending != null) {
          return pending
        }
      }
      const addedAt = this.ctx.now()
      const requesterHex = toHex(record.value.requester)
      const batch = this.ctx.datastore.batch()
      const removed = await this.makeRoom(batch, requesterHex, addedAt, options)
      batch.put(this.ctx.keys.pending(idHex), encodePending(addedAt, record.bytes))
      try {
        await batch.commit(options)
      } catch (err) {
        // nothing was written: put back what the batch would have removed
        for (const r of removed) {
          this.restore(toHex(r.receipt.id), { addedAt: r.receipt.addedAt, requesterHex: toHex(r.receipt.value.requester) })
        }
        throw err
      }
      this.index(idHex, { addedAt, requesterHex })
      this.announceRemoved(removed)
      const countersigned = await getCountersigned(this.ctx, idHex, options)
      if (countersigned != null) {
        await this.ctx.datastore.delete(this.ctx.keys.pending(idHex), options)
        this.unindex(idHex)
        return countersigned
      }
      const stored = new LazyStoredReceipt(record.id, 'pending', record.bytes, record.bytes, record.value, addedAt)
      this.ctx.metrics?.increment({ pending_stored: true })
      this.ctx.events.safeDispatchEvent('receipt:pending', { detail: stored })
      return stored
    })
  }

  /** Add to `batch` the removal of what is past its age and of the oldest over each cap. */
  private async makeRoom (batch: Batch, requesterHex: string, now: number, options: AbortOptions): Promise<ExpiredReceipt[]> {
    const removed: ExpiredReceipt[] = []
    const remove = async (victim: string, reason: ExpiredReceipt['reason']): Promise<void> => {
      const stored = await getPending(this.ctx, victim, options)
      batch.delete(this.ctx.keys.pending(victim))
      this.unindex(victim)
      if (stored != null) {
        removed.push({ receipt: stored, reason })
      }
    }
    for (const victim of this.expiredIds(now)) {
      await remove(victim, 'expired')
    }
    const mine = this.pendingBy.get(requesterHex)
    while (mine != null && mine.size >= this.limits.maxPendingPerRequester) {
      await remove(mine.values().next().value as string, 'evicted')
    }
    while (this.pending.size >= this.limits.maxPending) {
      await remove(this.pending.keys().next().value as string, 'evicted')
    }
    return removed
  }

  /** Remove pending receipts past their age; returns how many. */
  async expire (options: AbortOptions = {}): Promise<number> {
    return this.withLock(async () => {
      const victims = this.expiredIds(this.ctx.now())
      if (victims.length === 0) {
        return 0
      }
      const batch = this.ctx.datastore.batch()
      const removed: ExpiredReceipt[] = []
      for (const victim of victims) {
        const stored = await getPending(this.ctx, victim, options)
        batch.delete(this.ctx.keys.pending(victim))
        if (stored != null) {
          removed.push({ receipt: stored, reason: 'expired' })
        }
      }
      await batch.commit(options)
      victims.forEach(v => { this.unindex(v) })
      this.announceRemoved(removed)
      return victims.length
    })
  }

  /** Ids of pending receipts past their age at `now`, oldest first. */
  private expiredIds (now: number): string[] {
    const out: string[] = []
    if (!Number.isFinite(this.limits.pendingTtlMs)) {
      return out
    }
    for (const [idHex, meta] of this.pending) {
      // insertion order is age order, save for a clock that went back: scan them all, the map is capped
      if (meta.addedAt + this.limits.pendingTtlMs <= now) {
        out.push(idHex)
      }
    }
    return out
  }

  private announceRemoved (removed: ExpiredReceipt[]): void {
    for (const r of removed) {
      this.ctx.log('pending receipt %s %s uncountersigned (requester %p)', toHex(r.receipt.id), r.reason, r.receipt.requester)
      this.ctx.metrics?.increment({ [`pending_${r.reason}`]: true })
      this.ctx.events.safeDispatchEvent('receipt:expired', { detail: r })
    }
  }

  private async withLock<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn)
    this.lock = run.catch(() => {})
    return run
  }

  private index (idHex: string, meta: PendingMeta): void {
    this.pending.set(idHex, meta)
    let set = this.pendingBy.get(meta.requesterHex)
    if (set == null) {
      set = new Set()
      this.pendingBy.set(meta.requesterHex, set)
    }
    set.add(idHex)
  }

  /** Put an entry back in age order after a failed batch. */
  private restore (idHex: string, meta: PendingMeta): void {
    const all = [...this.pending.entries(), [idHex, meta] as [string, PendingMeta]].sort((a, b) => a[1].addedAt - b[1].addedAt)
    this.pending.clear()
    this.pendingBy.clear()
    for (const [id, m] of all) {
      this.index(id, m)
    }
  }

  /** Forget a pending receipt whose datastore copy is gone (expired, or replaced by its countersigned copy). */
  unindex (idHex: string): void {
    const meta = this.pending.get(idHex)
    if (meta == null) {
      return
    }
    this.pending.delete(idHex)
    const set = this.pendingBy.get(meta.requesterHex)
    set?.delete(idHex)
    if (set?.size === 0) {
      this.pendingBy.delete(meta.requesterHex)
    }
  }
}
