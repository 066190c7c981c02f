/**
 * The group-commit appender: verified countersigned receipts queue up and
 * are appended together, one datastore batch per group holding each
 * receipt, its log entry, its indexes, any equivocation evidence and closed
 * epoch roots, and last the new head. The store's state changes only once
 * the batch is committed, so a failed write leaves it as it was.
 */

import { Key } from 'interface-datastore'
import { CorruptStoreError } from './errors.js'
import { encodeEquivocation, decodeEquivocation } from './equivocation-record.js'
import { sameClaim, sameJob } from './equivocation.js'
import { epochOf } from './epochs.js'
import { getOrUndefined } from './keys.js'
import { encodeHead, encodeLogEntry, logEntryHash, sha256 } from './log.js'
import { leafHash, merkleRoot } from './merkle.js'
import { getCountersigned } from './reads.js'
import { LazyStoredReceipt } from './stored-receipt.js'
import { toHex } from './utils.js'
import type { StoreContext } from './context.js'
import type { Equivocation, EquivocationKind } from './equivocation.js'
import type { StoredReceipt } from './index.js'
import type { LogEntry } from './log.js'
import type { PendingReceipts } from './pending.js'
import type { CountersignedRecord, WorkReceipt } from '@shoal/records'
import type { Batch } from 'interface-datastore'

/** A verified countersigned receipt waiting in the queue. */
interface QueuedAppend {
  idHex: string
  id: Uint8Array
  bytes: Uint8Array
  envelope: Uint8Array
  value: WorkReceipt
  resolve(stored: StoredReceipt): void
  reject(err: Error): void
}

/** A receipt the group refers to: stored before, or appended earlier in the group. */
interface KnownReceipt {
  bytes: Uint8Array
  value: WorkReceipt
  stored: StoredReceipt
}

/** What one queued receipt came to. */
interface Settled {
  item: QueuedAppend
  stored: StoredReceipt
  equivocations: Equivocation[]
  /** false when the receipt (or a copy of its claim) was already stored */
  added: boolean
}

/** A group's batch and the log state it will commit, kept apart from the store's until the commit. */
interface Draft {
  batch: Batch
  length: number
  hash: Uint8Array
  leaves: Uint8Array[]
  addedAt: number
  /** job and assignment index keys written by this group, which the datastore does not show yet */
  keys: Map<string, string>
  receipts: Map<string, KnownReceipt>
}

/** How a receipt relates to the earlier receipts of its job and assignment. */
interface Conflicts {
  /** per job / assignment index key, the first receipt's id (undefined: this one is the first) */
  firstOf: Map<string, string | undefined>
  /** earlier receipts of the same job that disagree with this one */
  conflicts: Array<{ kind: EquivocationKind, otherHex: string }>
  /** an earlier receipt making the same claim: this one is a copy */
  duplicateOf?: StoredReceipt
}

/** Appends countersigned receipts to the log, many per batch. */
export class GroupCommitAppender {
  private readonly ctx: StoreContext
  private readonly pending: PendingReceipts
  private readonly maxBatch: number
  private readonly queue: QueuedAppend[] = []
  private readonly inflight = new Map<string, Promise<StoredReceipt>>()
  private writer?: Promise<void>

  constructor (ctx: StoreContext, pending: PendingReceipts, maxBatch: number) {
    this.ctx = ctx
    this.pending = pending
    this.maxBatch = maxBatch
  }

  /** The append of this receipt under way, if any. */
  running (idHex: string): Promise<StoredReceipt> | undefined {
    return this.inflight.get(idHex)
  }

  /** Resolves once the queue is empty. */
  async idle (): Promise<void> {
    await this.writer
  }

  /** Queue a verified receipt; resolves with it (or the copy already stored) once committed. */
  async append (cs: CountersignedRecord<WorkReceipt>): Promise<StoredReceipt> {
    const idHex = toHex(cs.id)
    const promise = new Promise<StoredReceipt>((resolve, reject) => {
      this.queue.push({ idHex, id: cs.id, bytes: cs.bytes, envelope: cs.record.bytes, value: cs.record.value, resolve, reject })
    })
    this.inflight.set(idHex, promise)
    const cleanup = (): void => { this.inflight.delete(idHex) }
    promise.then(cleanup, cleanup)
    this.kick()
    return promise
  }

  private kick (): void {
    if (this.writer != null) {
      return
    }
    this.writer = (async () => {
      try {
        while (this.queue.length > 0) {
          const group = this.queue.splice(0, this.maxBatch)
          await this.commitGroup(group)
        }
      } finally {
        this.writer = undefined
      }
    })()
  }

  /** Append a group in one batch; state changes only once the batch is committed. */
  private async commitGroup (group: QueuedAppend[]): Promise<void> {
    const settled: Settled[] = []
    try {
      const draft = this.draft()
      for (const item of group) {
        settled.push(await this.stage(draft, item))
      }
      await this.commit(draft)
    } catch (err: unknown) {
      for (const item of group) {
        item.reject(err as Error)
      }
      return
    }
    this.announce(settled)
  }

  private draft (): Draft {
    return {
      batch: this.ctx.datastore.batch(),
      length: this.ctx.head.length,
      hash: this.ctx.head.hash,
      // a copy, so a failed commit leaves the open epoch as it was
      leaves: this.ctx.head.leaves.slice(),
      addedAt: this.ctx.now(),
      keys: new Map(),
      receipts: new Map()
    }
  }

  /** Add one receipt to the draft, unless it or its claim is already stored. */
  private async stage (draft: Draft, item: QueuedAppend): Promise<Settled> {
    const already = draft.receipts.get(item.idHex)?.stored ?? await getCountersigned(this.ctx, item.idHex)
    if (already != null) {
      return { item, stored: already, equivocations: [], added: false }
    }
    const found = await this.findConflicts(draft, item.value)
    if (found.duplicateOf != null) {
      return { item, stored: found.duplicateOf, equivocations: [], added: false }
    }
    const seq = draft.length
    const encoded = this.writeEntry(draft, item, seq, found.firstOf)
    const equivocations = await this.writeEquivocations(draft, item, seq, found.conflicts)
    this.advance(draft, item, encoded, seq)
    const stored = new LazyStoredReceipt(item.id, 'countersigned', item.bytes, item.envelope, item.value, draft.addedAt, seq)
    draft.receipts.set(item.idHex, { bytes: item.bytes, value: item.value, stored })
    return { item, stored, equivocations, added: true }
  }

  /** Find the first receipt of this receipt's assignment and of its job, stored or in this group. */
  private async findConflicts (draft: Draft, v: WorkReceipt): Promise<Conflicts> {
    const jobK = this.ctx.keys.job(toHex(v.provider), toHex(v.jobId)).toString()
    const asgK = this.ctx.keys.assignment(toHex(v.assignmentId)).toString()
    const found: Conflicts = { firstOf: new Map(), conflicts: [] }
    for (const k of [asgK, jobK]) {
      let otherHex = draft.keys.get(k)
      if (otherHex == null && await this.ctx.datastore.has(new Key(k, false))) {
        const raw = await getOrUndefined(this.ctx.datastore, new Key(k, false))
        otherHex = raw == null ? undefined : toHex(raw)
      }
      found.firstOf.set(k, otherHex)
      if (otherHex == null || found.conflicts.some(c => c.otherHex === otherHex)) {
        continue
      }
      const other = draft.receipts.get(otherHex) ?? await this.readForConflict(otherHex)
      const kind = sameJob(other.value, v)
      if (kind == null) {
        throw new CorruptStoreError('A job index names an unrelated receipt', k)
      }
      if (sameClaim(other.value, v)) {
        // same job, same claim, other signature bytes: a copy, not news
        found.duplicateOf = other.stored
        return found
      }
      found.conflicts.push({ kind, otherHex })
    }
    return found
  }

  private async readForConflict (idHex: string): Promise<KnownReceipt> {
    const stored = await getCountersigned(this.ctx, idHex)
    if (stored == null) {
      throw new CorruptStoreError('An index names a receipt that is not stored', this.ctx.keys.receipt(idHex).toString())
    }
    return { bytes: stored.bytes, value: stored.value, stored }
  }

  /** Put the receipt, its log entry and its indexes in the batch; returns the encoded entry. */
  private writeEntry (draft: Draft, item: QueuedAppend, seq: number, firstOf: Map<string, string | undefined>): Uint8Array {
    const entry: LogEntry = { seq, addedAt: draft.addedAt, prevHash: draft.hash, receiptId: item.id, bytesHash: sha256(item.bytes) }
    const encoded = encodeLogEntry(entry)
    const { batch } = draft
    batch.put(this.ctx.keys.receipt(item.idHex), item.bytes)
    batch.put(this.ctx.keys.log(seq), encoded)
    this.ctx.keys.putIndexes(batch, item.idHex, seq, item.value)
    batch.delete(this.ctx.keys.pending(item.idHex))
    for (const [k, first] of firstOf) {
      // the first receipt of a job stays its reference; later ones are evidence against it
      if (first == null) {
        draft.keys.set(k, item.idHex)
        batch.put(new Key(k, false), item.id)
      }
    }
    return encoded
  }

  /** Put the evidence of each conflict in the batch. */
  private async writeEquivocations (draft: Draft, item: QueuedAppend, seq: number, conflicts: Conflicts['conflicts']): Promise<Equivocation[]> {
    const equivocations: Equivocation[] = []
    for (const c of conflicts) {
      const first = draft.receipts.get(c.otherHex)?.bytes ?? (await this.ctx.datastore.get(this.ctx.keys.receipt(c.otherHex)))
      const record = encodeEquivocation(c.kind, draft.addedAt, first, item.bytes)
      const key = this.ctx.keys.equivocation(seq, c.kind)
      draft.batch.put(key, record)
      equivocations.push(decodeEquivocation(record, key.toString()))
    }
    return equivocations
  }

  /** Move the draft's head past the entry, closing the epoch (its root in the batch) when it is full. */
  private advance (draft: Draft, item: QueuedAppend, encoded: Uint8Array, seq: number): void {
    draft.hash = logEntryHash(encoded)
    draft.length++
    draft.leaves.push(leafHash(item.id))
    if (draft.leaves.length === this.ctx.epochSize) {
      draft.batch.put(this.ctx.keys.epoch(epochOf(this.ctx, seq)), merkleRoot(draft.leaves))
      draft.leaves = []
    }
  }

  /** Write the batch with the new head last, then adopt the draft's state. */
  private async commit (draft: Draft): Promise<void> {
    if (draft.length === this.ctx.head.length) {
      return
    }
    draft.batch.put(this.ctx.keys.head(), encodeHead(draft.length, draft.hash))
    await draft.batch.commit()
    this.ctx.head.length = draft.length
    this.ctx.head.hash = draft.hash
    this.ctx.head.leaves = draft.leaves
  }

  /** Resolve each put and announce what is new. */
  private announce (settled: Settled[]): void {
    for (const { item, stored, equivocations, added } of settled) {
      // the batch deleted any pending copy
      this.pending.unindex(item.idHex)
      item.resolve(stored)
      if (added) {
        this.ctx.reputations.invalidate(stored.provider.toString())
        this.ctx.standing.add(stored.value)
        this.ctx.metrics?.increment({ receipt_appended: true })
        this.ctx.events.safeDispatchEvent('receipt:added', { detail: stored })
      }
      for (const e of equivocations) {
        this.ctx.reputations.invalidate(e.offender.toString())
        this.ctx.log('equivocation (%s) by %p', e.kind, e.offender)
        this.ctx.metrics?.increment({ [`equivocation_found:${e.kind}`]: true })
        this.ctx.events.safeDispatchEvent('receipt:equivocation', { detail: e })
      }
    }
  }
}
