/**
 * The receipt store on a libp2p datastore.
 *
 * Crash safety: every append goes out as ONE datastore batch holding the
 * receipt, its log entry, its indexes and, last, the new head. On an
 * atomic datastore (LevelDB's write batch) an acknowledged put is wholly
 * there after a process crash, and an unacknowledged one wholly absent. On a
 * datastore whose batches are plain ordered puts, the log entry is the
 * commit point: `start()` rolls the head forward over complete entries past
 * it, and receipt bytes without an entry stay invisible (reads go through the
 * seq index, written after the entry).
 *
 * Concurrent puts are verified in parallel and committed together (group
 * commit), so one batch write serves many receipts.
 */

import { serviceCapabilities } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import {
  Countersigned, MalformedRecordError, WorkReceiptType, decodeEnvelope, decodeRecord, isVerified, openCountersigned, openRecord,
  peerIdFromBytes, recordId
} from '@shoal/records'
import { Key } from 'interface-datastore'
import { TypedEventEmitter } from 'main-event'
import {
  DEFAULT_EPOCH_SIZE, DEFAULT_MAX_BATCH, DEFAULT_MAX_PENDING, DEFAULT_MAX_PENDING_PER_REQUESTER, DEFAULT_PENDING_SWEEP_MS,
  DEFAULT_PENDING_TTL_MS, DEFAULT_PREFIX, MAX_EPOCH_SIZE, MAX_REPUTATION_CACHE
} from './constants.js'
import { sameClaim, sameJob } from './equivocation.js'
import { CorruptStoreError, InvalidParametersError, ReceiptNotFoundError, StoreNotOpenError } from './errors.js'
import { GENESIS_HASH, decodeHead, decodeLogEntry, encodeHead, encodeLogEntry, logEntryHash, sha256 } from './log.js'
import { inclusionPath, leafHash, merkleRoot } from './merkle.js'
import { computeReputation } from './reputation.js'
import { equalBytes, readU64, seqHex, toHex, u64 } from './utils.js'
import type {
  EpochRoot, ExpiredReceipt, ListOptions, LogHead, LogProblem, LogVerification, ReceiptInput, ReceiptLogEntry, ReceiptStore,
  ReceiptStoreComponents, ReceiptStoreEvents, ReceiptStoreInit, StoredReceipt, VerifyLogOptions
} from './index.js'
import type { Equivocation, EquivocationKind } from './equivocation.js'
import type { LogEntry } from './log.js'
import type { InclusionProof } from './merkle.js'
import type { ReputationDetails, ReputationOptions, ReputationSample } from './reputation.js'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'
import type { CountersignedRecord, SignedRecord, WorkReceipt } from '@shoal/records'
import type { Batch, Datastore } from 'interface-datastore'

const STORE_FORMAT = 1
const EQUIVOCATION_FORMAT = 1

/** A verified countersigned receipt waiting in the group-commit queue. */
interface QueuedAppend {
  idHex: string
  id: Uint8Array
  bytes: Uint8Array
  envelope: Uint8Array
  value: WorkReceipt
  resolve(stored: StoredReceipt): void
  reject(err: Error): void
}

/** What the store remembers of a pending receipt to enforce its caps without reading it. */
interface PendingMeta {
  addedAt: number
  requesterHex: string
}

function isNotFound (err: any): boolean {
  return err?.name === 'NotFoundError'
}

/** A receipt store on any `interface-datastore` Datastore. */
export class DatastoreReceiptStore extends TypedEventEmitter<ReceiptStoreEvents> implements ReceiptStore {
  readonly [Symbol.toStringTag] = '@shoal/receipts'
  readonly [serviceCapabilities]: string[] = ['@shoal/receipts']
  readonly epochSize: number

  private readonly datastore: Datastore
  private readonly log_: Logger
  private readonly prefix: string
  private readonly now: () => number
  private readonly maxBatch: number
  private readonly reputationOptions: ReputationOptions
  private readonly maxPending: number
  private readonly maxPendingPerRequester: number
  private readonly pendingTtlMs: number

  private started = false
  private length = 0
  private lastHash: Uint8Array = GENESIS_HASH
  /** leaf hashes of the open (incomplete) epoch */
  private epochLeaves: Uint8Array[] = []
  private readonly queue: QueuedAppend[] = []
  private writer?: Promise<void>
  private readonly inflight = new Map<string, Promise<StoredReceipt>>()
  private readonly reputationCache = new Map<string, ReputationDetails>()
  /** every pending receipt by id, oldest first; rebuilt from the datastore on open */
  private readonly pending = new Map<string, PendingMeta>()
  /** pending receipt ids per requester, oldest first */
  private readonly pendingBy = new Map<string, Set<string>>()
  /** pending puts and removals run one at a time, so the caps hold under concurrency */
  private pendingLock: Promise<unknown> = Promise.resolve()
  private sweepTimer?: ReturnType<typeof setInterval>

  constructor (components: ReceiptStoreComponents, init: ReceiptStoreInit = {}) {
    super()
    this.datastore = components.datastore
    this.log_ = (components.logger ?? defaultLogger()).forComponent('shoal:receipts')
    this.prefix = (init.prefix ?? DEFAULT_PREFIX).replace(/\/+$/, '')
    this.now = init.now ?? Date.now
    this.epochSize = init.epochSize ?? DEFAULT_EPOCH_SIZE
    this.maxBatch = init.maxBatch ?? DEFAULT_MAX_BATCH
    this.reputationOptions = init.reputation ?? {}
    this.maxPending = init.maxPending ?? DEFAULT_MAX_PENDING
    this.maxPendingPerRequester = init.maxPendingPerRequester ?? DEFAULT_MAX_PENDING_PER_REQUESTER
    this.pendingTtlMs = init.pendingTtlMs ?? DEFAULT_PENDING_TTL_MS
    if (!Number.isSafeInteger(this.maxPending) || this.maxPending < 1) {
      throw new InvalidParametersError('maxPending must be a positive integer')
    }
    if (!Number.isSafeInteger(this.maxPendingPerRequester) || this.maxPendingPerRequester < 1) {
      throw new InvalidParametersError('maxPendingPerRequester must be a positive integer')
    }
    if (typeof this.pendingTtlMs !== 'number' || Number.isNaN(this.pendingTtlMs) || this.pendingTtlMs <= 0) {
      throw new InvalidParametersError('pendingTtlMs must be a positive number (or Infinity)')
    }
    if (!Number.isSafeInteger(this.epochSize) || this.epochSize < 1 || this.epochSize > MAX_EPOCH_SIZE) {
      throw new InvalidParametersError(`epochSize must be 1 … ${MAX_EPOCH_SIZE}`)
    }
    if (!Number.isSafeInteger(this.maxBatch) || this.maxBatch < 1) {
      throw new InvalidParametersError('maxBatch must be a positive integer')
    }
  }

  // ---- keys -------------------------------------------------------------

  private key (...parts: string[]): Key {
    return new Key(`${this.prefix}/${parts.join('/')}`, false)
  }

  private metaKey (): Key { return this.key('meta') }
  private headKey (): Key { return this.key('head') }
  private logKey (seq: number): Key { return this.key('log', seqHex(seq)) }
  private receiptKey (idHex: string): Key { return this.key('receipt', idHex) }
  private seqKey (idHex: string): Key { return this.key('seq', idHex) }
  private pendingKey (idHex: string): Key { return this.key('pending', idHex) }
  private providerKey (peerHex: string, seq: number): Key { return this.key('provider', peerHex, seqHex(seq)) }
  private requesterKey (peerHex: string, seq: number): Key { return this.key('requester', peerHex, seqHex(seq)) }
  private jobKey (providerHex: string, jobIdHex: string): Key { return this.key('job', providerHex, jobIdHex) }
  private assignmentKey (assignmentIdHex: string): Key { return this.key('assignment', assignmentIdHex) }
  private epochKey (epoch: number): Key { return this.key('epoch', seqHex(epoch)) }
  private equivocationKey (seq: number, kind: EquivocationKind): Key { return this.key('equivocation', seqHex(seq), kind) }

  private async getOrUndefined (key: Key, options?: AbortOptions): Promise<Uint8Array | undefined> {
    try {
      return await this.datastore.get(key, options)
    } catch (err: any) {
      if (isNotFound(err)) {
        return undefined
      }
      throw err
    }
  }

  // ---- lifecycle --------------------------------------------------------

  /** Open the store: check its format, recover a consistent head, load the open epoch. */
  async start (): Promise<void> {
    if (this.started) {
      return
    }
    const meta = await this.getOrUndefined(this.metaKey())
    if (meta == null) {
      const m = new Uint8Array(9)
      m[0] = STORE_FORMAT
      m.set(u64(this.epochSize), 1)
      await this.datastore.put(this.metaKey(), m)
    } else {
      if (meta.byteLength !== 9 || meta[0] !== STORE_FORMAT) {
        throw new CorruptStoreError('Unknown store format', this.metaKey().toString())
      }
      const stored = readU64(meta, 1)
      if (stored !== this.epochSize) {
        throw new InvalidParametersError(`Store was created with epochSize ${stored}, opened with ${this.epochSize}`)
      }
    }

    const headBytes = await this.getOrUndefined(this.headKey())
    let length = 0
    let hash = GENESIS_HASH
    if (headBytes != null) {
      ({ length, hash } = decodeHead(headBytes, this.headKey().toString()))
    }
    if (length > 0) {
      const last = await this.getOrUndefined(this.logKey(length - 1))
      if (last == null || !equalBytes(logEntryHash(last), hash)) {
        throw new CorruptStoreError(`Head names entry ${length - 1}, which is missing or differs`, this.logKey(length - 1).toString())
      }
    }

    // roll forward over entries written after the head (non-atomic datastores only)
    let rolled = 0
    for (;;) {
      const k = this.logKey(length)
      const bytes = await this.getOrUndefined(k)
      if (bytes == null) {
        break
      }
      const entry = decodeLogEntry(bytes, k.toString())
      if (entry.seq !== length || !equalBytes(entry.prevHash, hash)) {
        throw new CorruptStoreError(`Entry ${length} past the head does not link to it`, k.toString())
      }
      const idHex = toHex(entry.receiptId)
      const receipt = await this.getOrUndefined(this.receiptKey(idHex))
      if (receipt == null || !equalBytes(sha256(receipt), entry.bytesHash)) {
        throw new CorruptStoreError(`Entry ${length} past the head has no matching receipt`, k.toString())
      }
      const value = this.decodeStoredValue(receipt, this.receiptKey(idHex).toString()).value
      const batch = this.datastore.batch()
      this.putIndexes(batch, idHex, entry.seq, value)
      hash = logEntryHash(bytes)
      length++
      batch.put(this.headKey(), encodeHead(length, hash))
      await batch.commit()
      rolled++
    }
    if (rolled > 0) {
      this.log_('rolled the log head forward over %d entries', rolled)
    }

    this.length = length
    this.lastHash = hash
    this.epochLeaves = await this.readLeaves(Math.floor(length / this.epochSize), length)
    await this.loadPending()
    this.started = true
    if (Number.isFinite(this.pendingTtlMs)) {
      this.sweepTimer = setInterval(() => {
        this.expirePending().catch(err => { this.log_.error('could not expire pending receipts - %e', err) })
      }, Math.min(this.pendingTtlMs, DEFAULT_PENDING_SWEEP_MS))
      this.sweepTimer.unref?.()
    }
    this.log_('opened with %d entries and %d pending receipts', length, this.pending.size)
  }

  /** Count the pending receipts on disk, so the caps hold across restarts. */
  private async loadPending (): Promise<void> {
    this.pending.clear()
    this.pendingBy.clear()
    const found: Array<{ idHex: string, meta: PendingMeta }> = []
    const stale: Key[] = []
    const prefix = this.key('pending').toString() + '/'
    for await (const { key, value } of this.datastore.query({ prefix })) {
      const stored = this.decodePending(value, key.toString())
      const idHex = key.toString().slice(prefix.length)
      // a countersigned copy committed while the pending one was being written
      if (await this.datastore.has(this.seqKey(idHex))) {
        stale.push(key)
        continue
      }
      found.push({ idHex, meta: { addedAt: stored.addedAt, requesterHex: toHex(stored.value.requester) } })
    }
    for (const key of stale) {
      await this.datastore.delete(key)
    }
    found.sort((a, b) => a.meta.addedAt - b.meta.addedAt)
    for (const { idHex, meta } of found) {
      this.indexPending(idHex, meta)
    }
  }

  /** Wait for queued appends, then close for use (the datastore stays open: its owner closes it). */
  async stop (): Promise<void> {
    if (this.sweepTimer != null) {
      clearInterval(this.sweepTimer)
      this.sweepTimer = undefined
    }
    await this.writer
    await this.pendingLock
    this.started = false
  }

  private requireStarted (): void {
    if (!this.started) {
      throw new StoreNotOpenError()
    }
  }

  head (): LogHead {
    return { length: this.length, hash: this.lastHash }
  }

  // ---- put --------------------------------------------------------------

  async put (input: ReceiptInput, options: AbortOptions = {}): Promise<StoredReceipt> {
    this.requireStarted()
    options.signal?.throwIfAborted()
    // records verified by @shoal/records in this process need no second check
    if (isVerified(input)) {
      if ('countersignature' in (input as object)) {
        return this.putCountersigned(input as CountersignedRecord<WorkReceipt>)
      }
      return this.putPending(input as SignedRecord<WorkReceipt>, options)
    }
    const bytes = inputBytes(input)

    let cs: CountersignedRecord<WorkReceipt>
    try {
      cs = await openCountersigned(WorkReceiptType, bytes, { ...options, ignoreTime: true })
    } catch (err: any) {
      // a provider-signed envelope is no Countersigned wrapper; tell them apart only on this (rare) path
      if (err?.name !== 'MalformedRecordError' || !isEnvelope(bytes)) {
        throw err
      }
      const record = await openRecord(WorkReceiptType, bytes, { ...options, ignoreTime: true })
      return this.putPending(record, options)
    }
    return this.putCountersigned(cs, options)
  }

  private async putCountersigned (cs: CountersignedRecord<WorkReceipt>, options: AbortOptions = {}): Promise<StoredReceipt> {
    const idHex = toHex(cs.id)
    const running = this.inflight.get(idHex)
    if (running != null) {
      return running
    }
    const existing = await this.getCountersigned(idHex, options)
    if (existing != null) {
      return existing
    }
    const promise = new Promise<StoredReceipt>((resolve, reject) => {
      this.queue.push({ idHex, id: cs.id, bytes: cs.bytes, envelope: cs.record.bytes, value: cs.record.value, resolve, reject })
    })
    this.inflight.set(idHex, promise)
    const cleanup = (): void => { this.inflight.delete(idHex) }
    promise.then(cleanup, cleanup)
    this.kick()
    return promise
  }

  private async putPending (record: SignedRecord<WorkReceipt>, options: AbortOptions): Promise<StoredReceipt> {
    const idHex = toHex(record.id)
    const done = await this.getCountersigned(idHex, options)
    if (done != null) {
      return done
    }
    const running = this.inflight.get(idHex)
    if (running != null) {
      return running
    }
    return this.withPendingLock(async () => {
      if (this.pending.has(idHex)) {
        const pending = await this.getPending(idHex, options)
        if (pending != null) {
          return pending
        }
      }
      const addedAt = this.now()
      const requesterHex = toHex(record.value.requester)
      const batch = this.datastore.batch()
      const removed: ExpiredReceipt[] = []
      const remove = async (victim: string, reason: ExpiredReceipt['reason']): Promise<void> => {
        const stored = await this.getPending(victim, options)
        batch.delete(this.pendingKey(victim))
        this.unindexPending(victim)
        if (stored != null) {
          removed.push({ receipt: stored, reason })
        }
      }
      for (const victim of this.expiredIds(addedAt)) {
        await remove(victim, 'expired')
      }
      const mine = this.pendingBy.get(requesterHex)
      while (mine != null && mine.size >= this.maxPendingPerRequester) {
        await remove(mine.values().next().value as string, 'evicted')
      }
      while (this.pending.size >= this.maxPending) {
        await remove(this.pending.keys().next().value as string, 'evicted')
      }
      const value = new Uint8Array(8 + record.bytes.byteLength)
      value.set(u64(addedAt), 0)
      value.set(record.bytes, 8)
      batch.put(this.pendingKey(idHex), value)
      try {
        await batch.commit(options)
      } catch (err) {
        // nothing was written: put back what the batch would have removed
        for (const r of removed) {
          this.indexPending(toHex(r.receipt.id), { addedAt: r.receipt.addedAt, requesterHex: toHex(r.receipt.value.requester) }, true)
        }
        throw err
      }
      this.indexPending(idHex, { addedAt, requesterHex })
      this.announceRemoved(removed)
      // the countersigned copy may have been committed meanwhile: then the pending one is moot
      const countersigned = await this.getCountersigned(idHex, options)
      if (countersigned != null) {
        await this.datastore.delete(this.pendingKey(idHex), options)
        this.unindexPending(idHex)
        return countersigned
      }
      const stored = this.storedReceipt(record.id, 'pending', record.bytes, record.bytes, record.value, addedAt)
      this.safeDispatchEvent('receipt:pending', { detail: stored })
      return stored
    })
  }

  get pendingCount (): number {
    return this.pending.size
  }

  async expirePending (options: AbortOptions = {}): Promise<number> {
    this.requireStarted()
    return this.withPendingLock(async () => {
      const victims = this.expiredIds(this.now())
      if (victims.length === 0) {
        return 0
      }
      const batch = this.datastore.batch()
      const removed: ExpiredReceipt[] = []
      for (const victim of victims) {
        const stored = await this.getPending(victim, options)
        batch.delete(this.pendingKey(victim))
        if (stored != null) {
          removed.push({ receipt: stored, reason: 'expired' })
        }
      }
      await batch.commit(options)
      victims.forEach(v => { this.unindexPending(v) })
      this.announceRemoved(removed)
      return victims.length
    })
  }

  /** Ids of pending receipts past their age at `now`, oldest first. */
  private expiredIds (now: number): string[] {
    const out: string[] = []
    if (!Number.isFinite(this.pendingTtlMs)) {
      return out
    }
    for (const [idHex, meta] of this.pending) {
      // insertion order is age order, save for a clock that went back: scan them all, the map is capped
      if (meta.addedAt + this.pendingTtlMs <= now) {
        out.push(idHex)
      }
    }
    return out
  }

  private announceRemoved (removed: ExpiredReceipt[]): void {
    for (const r of removed) {
      this.log_('pending receipt %s %s uncountersigned (requester %p)', toHex(r.receipt.id), r.reason, r.receipt.requester)
      this.safeDispatchEvent('receipt:expired', { detail: r })
    }
  }

  private async withPendingLock<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.pendingLock.then(fn, fn)
    this.pendingLock = run.catch(() => {})
    return run
  }

  private indexPending (idHex: string, meta: PendingMeta, restore = false): void {
    if (restore) {
      // restore an entry in age order after a failed batch
      const all = [...this.pending.entries(), [idHex, meta] as [string, PendingMeta]].sort((a, b) => a[1].addedAt - b[1].addedAt)
      this.pending.clear()
      this.pendingBy.clear()
      for (const [id, m] of all) {
        this.indexPending(id, m)
      }
      return
    }
    this.pending.set(idHex, meta)
    let set = this.pendingBy.get(meta.requesterHex)
    if (set == null) {
      set = new Set()
      this.pendingBy.set(meta.requesterHex, set)
    }
    set.add(idHex)
  }

  private unindexPending (idHex: string): void {
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

  /** Append a group of verified receipts in one batch; state changes only once the batch is committed. */
  private async commitGroup (group: QueuedAppend[]): Promise<void> {
    const settled: Array<{ item: QueuedAppend, stored: StoredReceipt, equivocations: Equivocation[], added: boolean }> = []
    try {
      const batch = this.datastore.batch()
      let length = this.length
      let hash = this.lastHash
      // a copy, so a failed commit leaves the open epoch as it was
      let leaves = this.epochLeaves.slice()
      const closedEpochs: number[] = []
      // index keys written by this group, which the datastore does not show yet
      const groupKeys = new Map<string, string>()
      const groupReceipts = new Map<string, { bytes: Uint8Array, value: WorkReceipt, stored: StoredReceipt }>()
      const addedAt = this.now()

      for (const item of group) {
        const already = groupReceipts.get(item.idHex)
        if (already != null) {
          settled.push({ item, stored: already.stored, equivocations: [], added: false })
          continue
        }
        const existing = await this.getCountersigned(item.idHex)
        if (existing != null) {
          settled.push({ item, stored: existing, equivocations: [], added: false })
          continue
        }

        const v = item.value
        const providerHex = toHex(v.provider)
        const jobK = this.jobKey(providerHex, toHex(v.jobId)).toString()
        const asgK = this.assignmentKey(toHex(v.assignmentId)).toString()
        const seq = length

        // equivocation: the first receipt of this assignment / job, if any
        const conflicts: Array<{ kind: EquivocationKind, otherHex: string }> = []
        const firstOf = new Map<string, string | undefined>()
        let duplicateOf: StoredReceipt | undefined
        for (const k of [asgK, jobK]) {
          let otherHex = groupKeys.get(k)
          if (otherHex == null && await this.datastore.has(new Key(k, false))) {
            const raw = await this.getOrUndefined(new Key(k, false))
            otherHex = raw == null ? undefined : toHex(raw)
          }
          firstOf.set(k, otherHex)
          if (otherHex == null || conflicts.some(c => c.otherHex === otherHex)) {
            continue
          }
          const other = groupReceipts.get(otherHex) ?? await this.readForConflict(otherHex)
          const kind = sameJob(other.value, v)
          if (kind == null) {
            throw new CorruptStoreError('A job index names an unrelated receipt', k)
          }
          if (sameClaim(other.value, v)) {
            // same job, same claim, other signature bytes: a copy, not news
            duplicateOf = other.stored
            break
          }
          conflicts.push({ kind, otherHex })
        }
        if (duplicateOf != null) {
          settled.push({ item, stored: duplicateOf, equivocations: [], added: false })
          continue
        }

        const entry: LogEntry = { seq, addedAt, prevHash: hash, receiptId: item.id, bytesHash: sha256(item.bytes) }
        const encoded = encodeLogEntry(entry)
        batch.put(this.receiptKey(item.idHex), item.bytes)
        batch.put(this.logKey(seq), encoded)
        this.putIndexes(batch, item.idHex, seq, v)
        batch.delete(this.pendingKey(item.idHex))
        for (const [k, first] of firstOf) {
          // the first receipt of a job stays its reference; later ones are evidence against it
          if (first == null) {
            groupKeys.set(k, item.idHex)
            batch.put(new Key(k, false), item.id)
          }
        }

        const equivocations: Equivocation[] = []
        for (const c of conflicts) {
          const first = groupReceipts.get(c.otherHex)?.bytes ?? (await this.datastore.get(this.receiptKey(c.otherHex)))
          const record = encodeEquivocation(c.kind, addedAt, first, item.bytes)
          batch.put(this.equivocationKey(seq, c.kind), record)
          equivocations.push(this.decodeEquivocation(record, this.equivocationKey(seq, c.kind).toString()))
        }

        hash = logEntryHash(encoded)
        length++
        leaves.push(leafHash(item.id))
        if (leaves.length === this.epochSize) {
          const epoch = Math.floor(seq / this.epochSize)
          batch.put(this.epochKey(epoch), merkleRoot(leaves))
          closedEpochs.push(epoch)
          leaves = []
        }
        const stored = this.storedReceipt(item.id, 'countersigned', item.bytes, item.envelope, v, addedAt, seq)
        groupReceipts.set(item.idHex, { bytes: item.bytes, value: v, stored })
        settled.push({ item, stored, equivocations, added: true })
      }

      if (length !== this.length) {
        batch.put(this.headKey(), encodeHead(length, hash))
        await batch.commit()
        this.length = length
        this.lastHash = hash
        this.epochLeaves = leaves
      }
    } catch (err: any) {
      for (const item of group) {
        item.reject(err)
      }
      return
    }

    for (const { item, stored, equivocations, added } of settled) {
      // the batch deleted any pending copy
      this.unindexPending(item.idHex)
      item.resolve(stored)
      if (added) {
        this.reputationCache.delete(stored.provider.toString())
        this.safeDispatchEvent('receipt:added', { detail: stored })
      }
      for (const e of equivocations) {
        this.reputationCache.delete(e.offender.toString())
        this.log_('equivocation (%s) by %p', e.kind, e.offender)
        this.safeDispatchEvent('receipt:equivocation', { detail: e })
      }
    }
  }

  private putIndexes (batch: Batch, idHex: string, seq: number, value: WorkReceipt): void {
    const id = Buffer.from(idHex, 'hex')
    batch.put(this.seqKey(idHex), u64(seq))
    batch.put(this.providerKey(toHex(value.provider), seq), id)
    batch.put(this.requesterKey(toHex(value.requester), seq), id)
  }

  private async readForConflict (idHex: string): Promise<{ bytes: Uint8Array, value: WorkReceipt, stored: StoredReceipt }> {
    const stored = await this.getCountersigned(idHex)
    if (stored == null) {
      throw new CorruptStoreError('An index names a receipt that is not stored', this.receiptKey(idHex).toString())
    }
    return { bytes: stored.bytes, value: stored.value, stored }
  }

  // ---- reads ------------------------------------------------------------

  /** Decode bytes this store wrote (verified when stored): no signature checks. */
  private decodeStoredValue (bytes: Uint8Array, key: string): { envelope: Uint8Array, value: WorkReceipt } {
    try {
      const wrapper = Countersigned.decode(bytes)
      return { envelope: wrapper.envelope, value: decodeRecord(WorkReceiptType, wrapper.envelope) }
    } catch (err: any) {
      throw new CorruptStoreError(`Stored receipt does not decode: ${err?.message ?? err}`, key)
    }
  }

  private storedReceipt (id: Uint8Array, state: 'countersigned' | 'pending', bytes: Uint8Array, envelope: Uint8Array, value: WorkReceipt, addedAt: number, seq?: number): StoredReceipt {
    return new LazyStoredReceipt(id, state, bytes, envelope, value, addedAt, seq)
  }

  private async getCountersigned (idHex: string, options?: AbortOptions): Promise<StoredReceipt | undefined> {
    // has() first: most lookups on the put path miss, and a miss by get() costs an exception
    if (!(await this.datastore.has(this.seqKey(idHex), options))) {
      return undefined
    }
    const seqBytes = await this.getOrUndefined(this.seqKey(idHex), options)
    if (seqBytes == null) {
      return undefined
    }
    const seq = readU64(seqBytes)
    if (seq == null || seqBytes.byteLength !== 8) {
      throw new CorruptStoreError('Malformed seq index', this.seqKey(idHex).toString())
    }
    return this.readAt(seq, idHex, options)
  }

  private async readAt (seq: number, idHex: string | undefined, options?: AbortOptions): Promise<StoredReceipt> {
    const lk = this.logKey(seq)
    const entryBytes = await this.getOrUndefined(lk, options)
    if (entryBytes == null) {
      throw new CorruptStoreError(`Log entry ${seq} is missing`, lk.toString())
    }
    const entry = decodeLogEntry(entryBytes, lk.toString())
    const entryIdHex = toHex(entry.receiptId)
    if (idHex != null && entryIdHex !== idHex) {
      throw new CorruptStoreError(`Log entry ${seq} names another receipt`, lk.toString())
    }
    const rk = this.receiptKey(entryIdHex)
    const bytes = await this.getOrUndefined(rk, options)
    if (bytes == null) {
      throw new CorruptStoreError(`Receipt of entry ${seq} is missing`, rk.toString())
    }
    const { envelope, value } = this.decodeStoredValue(bytes, rk.toString())
    return this.storedReceipt(entry.receiptId, 'countersigned', bytes, envelope, value, entry.addedAt, seq)
  }

  private async getPending (idHex: string, options?: AbortOptions): Promise<StoredReceipt | undefined> {
    const pk = this.pendingKey(idHex)
    const raw = await this.getOrUndefined(pk, options)
    if (raw == null) {
      return undefined
    }
    return this.decodePending(raw, pk.toString())
  }

  private decodePending (raw: Uint8Array, key: string): StoredReceipt {
    const addedAt = readU64(raw)
    if (addedAt == null) {
      throw new CorruptStoreError('Malformed pending receipt', key)
    }
    const envelope = raw.subarray(8)
    let value: WorkReceipt
    try {
      value = decodeRecord(WorkReceiptType, envelope)
    } catch (err: any) {
      throw new CorruptStoreError(`Pending receipt does not decode: ${err?.message ?? err}`, key)
    }
    return this.storedReceipt(recordId(envelope), 'pending', envelope, envelope, value, addedAt)
  }

  async get (id: Uint8Array, options: AbortOptions = {}): Promise<StoredReceipt> {
    this.requireStarted()
    const idHex = checkId(id)
    const stored = await this.getCountersigned(idHex, options) ?? await this.getPending(idHex, options)
    if (stored == null) {
      throw new ReceiptNotFoundError()
    }
    return stored
  }

  async has (id: Uint8Array, options: AbortOptions & { pending?: boolean } = {}): Promise<boolean> {
    this.requireStarted()
    const idHex = checkId(id)
    if (await this.datastore.has(this.seqKey(idHex), options)) {
      return true
    }
    return options.pending === true && await this.datastore.has(this.pendingKey(idHex), options)
  }

  /** Seqs listed under an index prefix, in order. */
  private async indexSeqs (prefix: Key, options: AbortOptions): Promise<number[]> {
    const seqs: number[] = []
    const p = prefix.toString() + '/'
    for await (const key of this.datastore.queryKeys({ prefix: p }, options)) {
      const s = key.toString().slice(p.length)
      if (/^[0-9a-f]{16}$/.test(s)) {
        seqs.push(Number.parseInt(s, 16))
      }
    }
    return seqs.sort((a, b) => a - b)
  }

  async * list (options: ListOptions = {}): AsyncGenerator<StoredReceipt> {
    this.requireStarted()
    const limit = options.limit ?? Infinity
    if (limit <= 0) {
      return
    }
    let seqs: Iterable<number>
    if (options.provider != null) {
      seqs = await this.indexSeqs(this.key('provider', toHex(options.provider.toMultihash().bytes)), options)
    } else if (options.requester != null) {
      seqs = await this.indexSeqs(this.key('requester', toHex(options.requester.toMultihash().bytes)), options)
    } else {
      const end = this.length
      seqs = (function * (from: number) { for (let s = from; s < end; s++) yield s })(options.fromSeq ?? 0)
    }
    const requesterHex = options.requester != null ? toHex(options.requester.toMultihash().bytes) : undefined
    let count = 0
    for (const seq of seqs) {
      options.signal?.throwIfAborted()
      if (seq < (options.fromSeq ?? 0)) {
        continue
      }
      const stored = await this.readAt(seq, undefined, options)
      if (options.since != null && stored.addedAt < options.since) {
        continue
      }
      if (requesterHex != null && toHex(stored.value.requester) !== requesterHex) {
        continue
      }
      yield stored
      if (++count >= limit) {
        return
      }
    }
  }

  async * listPending (options: AbortOptions = {}): AsyncGenerator<StoredReceipt> {
    this.requireStarted()
    await this.expirePending(options)
    for (const idHex of [...this.pending.keys()]) {
      options.signal?.throwIfAborted()
      const stored = await this.getPending(idHex, options)
      if (stored != null) {
        yield stored
      }
    }
  }

  async * log (options: AbortOptions & { fromSeq?: number, limit?: number } = {}): AsyncGenerator<ReceiptLogEntry> {
    this.requireStarted()
    const end = Math.min(this.length, (options.fromSeq ?? 0) + (options.limit ?? Infinity))
    for (let seq = options.fromSeq ?? 0; seq < end; seq++) {
      options.signal?.throwIfAborted()
      const k = this.logKey(seq)
      const bytes = await this.getOrUndefined(k, options)
      if (bytes == null) {
        throw new CorruptStoreError(`Log entry ${seq} is missing`, k.toString())
      }
      yield { ...decodeLogEntry(bytes, k.toString()), hash: logEntryHash(bytes) }
    }
  }

  // ---- verification -----------------------------------------------------

  async verifyLog (options: VerifyLogOptions = {}): Promise<LogVerification> {
    this.requireStarted()
    await this.writer
    const maxProblems = options.maxProblems ?? 100
    const problems: LogProblem[] = []
    const problem = (key: Key | string, reason: string, seq?: number): void => {
      if (problems.length < maxProblems) {
        problems.push({ seq, key: key.toString(), reason })
      }
    }
    const read = async (key: Key): Promise<Uint8Array | undefined> => {
      try {
        return await this.getOrUndefined(key, options)
      } catch (err: any) {
        problem(key, `unreadable: ${err?.message ?? err}`)
        return undefined
      }
    }

    let storedHead: { length: number, hash: Uint8Array } | undefined
    const headBytes = await read(this.headKey())
    if (headBytes == null) {
      if (this.length > 0) {
        problem(this.headKey(), 'head is missing')
      }
      storedHead = { length: 0, hash: GENESIS_HASH }
    } else {
      try {
        storedHead = decodeHead(headBytes)
      } catch {
        problem(this.headKey(), 'head is malformed')
      }
    }
    // walk at least as far as either head claims, and on past it while entries exist
    const claimed = Math.max(this.length, storedHead?.length ?? 0)

    let hash = GENESIS_HASH
    let seq = 0
    let leaves: Uint8Array[] = []
    for (; ; seq++) {
      options.signal?.throwIfAborted()
      if (problems.length >= maxProblems) {
        break
      }
      const lk = this.logKey(seq)
      const entryBytes = await read(lk)
      if (entryBytes == null) {
        if (seq < claimed) {
          problem(lk, 'entry is missing', seq)
        }
        break
      }
      if (seq >= claimed) {
        problem(lk, 'entry beyond the head', seq)
      }
      let entry: LogEntry
      try {
        entry = decodeLogEntry(entryBytes)
      } catch {
        problem(lk, 'entry is malformed', seq)
        hash = logEntryHash(entryBytes)
        leaves.push(new Uint8Array(32))
        continue
      }
      if (entry.seq !== seq) {
        problem(lk, `entry says seq ${entry.seq}`, seq)
      }
      if (!equalBytes(entry.prevHash, hash)) {
        problem(lk, 'entry does not link to the previous one', seq)
      }
      hash = logEntryHash(entryBytes)
      leaves.push(leafHash(entry.receiptId))

      const idHex = toHex(entry.receiptId)
      const rk = this.receiptKey(idHex)
      const bytes = await read(rk)
      if (bytes == null) {
        problem(rk, 'receipt is missing', seq)
      } else if (!equalBytes(sha256(bytes), entry.bytesHash)) {
        problem(rk, 'receipt bytes differ from the logged hash', seq)
      } else {
        let value: WorkReceipt | undefined
        try {
          const decoded = this.decodeStoredValue(bytes, rk.toString())
          value = decoded.value
          if (!equalBytes(recordId(decoded.envelope), entry.receiptId)) {
            problem(rk, 'receipt id differs from the logged id', seq)
          }
        } catch {
          problem(rk, 'receipt does not decode', seq)
        }
        if (options.signatures === true) {
          try {
            await openCountersigned(WorkReceiptType, bytes, { ignoreTime: true })
          } catch (err: any) {
            problem(rk, `receipt does not verify: ${err?.name}`, seq)
          }
        }
        if (value != null) {
          const seqBytes = await read(this.seqKey(idHex))
          if (seqBytes == null || seqBytes.byteLength !== 8 || readU64(seqBytes) !== seq) {
            problem(this.seqKey(idHex), 'seq index is missing or wrong', seq)
          }
          for (const k of [this.providerKey(toHex(value.provider), seq), this.requesterKey(toHex(value.requester), seq)]) {
            const v = await read(k)
            if (v == null || !equalBytes(v, entry.receiptId)) {
              problem(k, 'peer index is missing or wrong', seq)
            }
          }
        }
      }

      if (leaves.length === this.epochSize) {
        const epoch = Math.floor(seq / this.epochSize)
        const ek = this.epochKey(epoch)
        const root = await read(ek)
        if (root == null || !equalBytes(root, merkleRoot(leaves))) {
          problem(ek, 'epoch root is missing or wrong', seq)
        }
        leaves = []
      }
    }

    if (storedHead != null && (storedHead.length !== seq || !equalBytes(storedHead.hash, hash)) && problems.length === 0) {
      problem(this.headKey(), 'head does not match the end of the log')
    }
    if ((this.length !== seq || !equalBytes(this.lastHash, hash)) && problems.length === 0) {
      problem(this.headKey(), 'in-memory head does not match the end of the log')
    }
    return { ok: problems.length === 0, length: seq, head: { length: seq, hash }, problems }
  }

  // ---- Merkle epochs ----------------------------------------------------

  private async readLeaves (epoch: number, end: number, options?: AbortOptions): Promise<Uint8Array[]> {
    const leaves: Uint8Array[] = []
    const start = epoch * this.epochSize
    for (let s = start; s < end; s++) {
      const k = this.logKey(s)
      const bytes = await this.getOrUndefined(k, options)
      if (bytes == null) {
        throw new CorruptStoreError(`Log entry ${s} is missing`, k.toString())
      }
      leaves.push(leafHash(decodeLogEntry(bytes, k.toString()).receiptId))
    }
    return leaves
  }

  private checkEpoch (epoch: number): void {
    if (!Number.isSafeInteger(epoch) || epoch < 0) {
      throw new InvalidParametersError('epoch must be a non-negative integer')
    }
    if (epoch > Math.floor(this.length / this.epochSize)) {
      throw new ReceiptNotFoundError(`Epoch ${epoch} has not started`)
    }
  }

  async epochRoot (epoch: number, options: AbortOptions = {}): Promise<EpochRoot> {
    this.requireStarted()
    this.checkEpoch(epoch)
    const current = Math.floor(this.length / this.epochSize)
    if (epoch === current) {
      const leaves = this.epochLeaves
      return { epoch, root: merkleRoot(leaves), size: leaves.length, complete: false }
    }
    const ek = this.epochKey(epoch)
    const root = await this.getOrUndefined(ek, options)
    if (root == null || root.byteLength !== 32) {
      throw new CorruptStoreError(`Root of epoch ${epoch} is missing`, ek.toString())
    }
    return { epoch, root, size: this.epochSize, complete: true }
  }

  async proveInclusion (receiptId: Uint8Array, options: AbortOptions = {}): Promise<InclusionProof> {
    this.requireStarted()
    const idHex = checkId(receiptId)
    const seqBytes = await this.getOrUndefined(this.seqKey(idHex), options)
    const seq = seqBytes == null ? undefined : readU64(seqBytes)
    if (seq == null) {
      throw new ReceiptNotFoundError('No countersigned receipt with that id')
    }
    const epoch = Math.floor(seq / this.epochSize)
    const current = Math.floor(this.length / this.epochSize)
    const leaves = epoch === current
      ? this.epochLeaves
      : await this.readLeaves(epoch, (epoch + 1) * this.epochSize, options)
    const index = seq - epoch * this.epochSize
    if (!equalBytes(leaves[index] ?? new Uint8Array(), leafHash(receiptId))) {
      throw new CorruptStoreError(`Log entry ${seq} names another receipt`, this.logKey(seq).toString())
    }
    return { epoch, index, size: leaves.length, siblings: inclusionPath(leaves, index), root: merkleRoot(leaves) }
  }

  // ---- equivocation & reputation ----------------------------------------

  private decodeEquivocation (raw: Uint8Array, key: string): Equivocation {
    const parsed = decodeEquivocationBytes(raw)
    if (parsed == null) {
      throw new CorruptStoreError('Malformed equivocation record', key)
    }
    const a = this.decodeStoredValue(parsed.first, key)
    const b = this.decodeStoredValue(parsed.second, key)
    const provider = peerIdFromBytes(a.value.provider)
    const offender = equalBytes(a.value.provider, b.value.provider) ? provider : peerIdFromBytes(a.value.requester)
    const firstId = recordId(a.envelope)
    const secondId = recordId(b.envelope)
    const ids = [firstId, secondId].sort((x, y) => Buffer.compare(x, y))
    return {
      id: sha256(Buffer.concat(ids)),
      kind: parsed.kind,
      offender,
      provider,
      jobId: a.value.jobId,
      first: parsed.first,
      second: parsed.second,
      firstId,
      secondId,
      detectedAt: parsed.detectedAt
    }
  }

  async * equivocations (options: AbortOptions & { provider?: PeerId } = {}): AsyncGenerator<Equivocation> {
    this.requireStarted()
    const found: Array<{ key: string, value: Uint8Array }> = []
    for await (const { key, value } of this.datastore.query({ prefix: this.key('equivocation').toString() + '/' }, options)) {
      found.push({ key: key.toString(), value })
    }
    found.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
    for (const { key, value } of found) {
      const e = this.decodeEquivocation(value, key)
      if (options.provider == null || e.offender.equals(options.provider)) {
        yield e
      }
    }
  }

  async reputation (provider: PeerId, options: AbortOptions = {}): Promise<number> {
    return (await this.explainReputation(provider, options)).score
  }

  async explainReputation (provider: PeerId, options: AbortOptions = {}): Promise<ReputationDetails> {
    this.requireStarted()
    const name = provider.toString()
    const cached = this.reputationCache.get(name)
    if (cached != null) {
      return cached
    }
    const samples: ReputationSample[] = []
    const jobs = new Set<string>()
    let ignored = 0
    for await (const r of this.list({ ...options, provider })) {
      // one job counts once: later receipts for it are copies or equivocation
      const job = toHex(r.value.jobId)
      if (jobs.has(job) || r.requester.equals(provider)) {
        ignored++
        continue
      }
      jobs.add(job)
      samples.push({ requester: r.requester.toString(), success: r.value.status === 0 })
    }
    let equivocations = 0
    for await (const _ of this.equivocations({ ...options, provider })) { // eslint-disable-line @typescript-eslint/no-unused-vars
      equivocations++
    }
    const details = computeReputation(name, samples, equivocations, this.reputationOptions, ignored)
    this.reputationCache.set(name, details)
    // bounded: one entry per provider ever asked about would grow without end
    while (this.reputationCache.size > MAX_REPUTATION_CACHE) {
      const oldest = this.reputationCache.keys().next().value
      if (oldest == null) {
        break
      }
      this.reputationCache.delete(oldest)
    }
    return details
  }
}

/** A stored receipt whose PeerIds are built only when asked for. */
class LazyStoredReceipt implements StoredReceipt {
  private _provider?: PeerId
  private _requester?: PeerId

  constructor (
    readonly id: Uint8Array,
    readonly state: 'countersigned' | 'pending',
    readonly bytes: Uint8Array,
    readonly envelope: Uint8Array,
    readonly value: WorkReceipt,
    readonly addedAt: number,
    readonly seq?: number
  ) {}

  get provider (): PeerId {
    this._provider ??= peerIdFromBytes(this.value.provider, 'provider')
    return this._provider
  }

  get requester (): PeerId {
    this._requester ??= peerIdFromBytes(this.value.requester, 'requester')
    return this._requester
  }
}

function inputBytes (input: ReceiptInput): Uint8Array {
  if (input instanceof Uint8Array) {
    return input
  }
  // objects @shoal/records did not produce are re-opened from their bytes: such an object is only a claim
  const bytes = (input as CountersignedRecord<WorkReceipt> | SignedRecord<WorkReceipt> | undefined)?.bytes
  if (!(bytes instanceof Uint8Array)) {
    throw new MalformedRecordError('Receipt must be bytes, a SignedRecord or a CountersignedRecord')
  }
  return bytes
}

/** An envelope has the four envelope fields and nothing else; a Countersigned wrapper never parses as one. */
function isEnvelope (bytes: Uint8Array): boolean {
  try {
    decodeEnvelope(bytes, WorkReceiptType.maxSize)
    return true
  } catch {
    return false
  }
}

function checkId (id: Uint8Array): string {
  if (!(id instanceof Uint8Array) || id.byteLength !== 32) {
    throw new InvalidParametersError('A receipt id is 32 bytes')
  }
  return toHex(id)
}

function encodeEquivocation (kind: EquivocationKind, detectedAt: number, first: Uint8Array, second: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + 1 + 8 + 4 + first.byteLength + second.byteLength)
  const view = new DataView(out.buffer)
  out[0] = EQUIVOCATION_FORMAT
  out[1] = kind === 'assignment' ? 0 : 1
  view.setBigUint64(2, BigInt(detectedAt))
  view.setUint32(10, first.byteLength)
  out.set(first, 14)
  out.set(second, 14 + first.byteLength)
  return out
}

function decodeEquivocationBytes (raw: Uint8Array): { kind: EquivocationKind, detectedAt: number, first: Uint8Array, second: Uint8Array } | undefined {
  if (raw.byteLength < 14 || raw[0] !== EQUIVOCATION_FORMAT || raw[1] > 1) {
    return undefined
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  const detectedAt = readU64(raw, 2)
  const firstLength = view.getUint32(10)
  if (detectedAt == null || 14 + firstLength > raw.byteLength) {
    return undefined
  }
  return {
    kind: raw[1] === 0 ? 'assignment' : 'job',
    detectedAt,
    first: raw.subarray(14, 14 + firstLength),
    second: raw.subarray(14 + firstLength)
  }
}
