/**
 * The receipt store on a libp2p datastore: the public API over its roles.
 *
 * - `keys.ts`: every datastore key; `stored-receipt.ts`: stored forms
 * - `recovery.ts`: opening, and the crash recovery of the head
 * - `pending.ts`: provider-signed receipts and their caps
 * - `appender.ts`: the group-commit appender of countersigned receipts
 * - `reads.ts`, `epochs.ts`, `verify-log.ts`: reading, Merkle epochs, auditing
 *
 * Crash safety: every append goes out as ONE datastore batch holding the
 * receipt, its log entry, its indexes and, last, the new head (see
 * `recovery.ts` for datastores whose batches are not atomic). Concurrent puts
 * are verified in parallel and committed together, so one batch write serves
 * many receipts.
 */

import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { WorkReceiptType, isVerified, openCountersigned, openRecord } from '@shoal/records'
import { TypedEventEmitter } from 'main-event'
import { errorName } from '@shoal/utils'
import { GroupCommitAppender } from './appender.js'
import {
  EPOCH_SIZE, MAX_BATCH, MAX_PENDING, MAX_PENDING_PER_REQUESTER, PENDING_TTL_MS,
  DATASTORE_PREFIX, MAX_EPOCH_SIZE, MAX_STANDING_PEERS
} from './constants.js'
import { ReputationCache } from './context.js'
import { epochRoot, proveInclusion } from './epochs.js'
import { decodeEquivocation } from './equivocation-record.js'
import { CorruptStoreError, InvalidParametersError, ReceiptNotFoundError, StoreNotOpenError } from './errors.js'
import { StoreKeys, getOrUndefined } from './keys.js'
import { GENESIS_HASH, decodeLogEntry, logEntryHash } from './log.js'
import { PendingReceipts } from './pending.js'
import { getCountersigned, getPending, indexSeqs, readAt } from './reads.js'
import { recoverLog } from './recovery.js'
import { computeReputation } from './reputation.js'
import { StandingIndex } from './standing.js'
import { checkId, inputBytes, isEnvelope } from './stored-receipt.js'
import { toHex } from './utils.js'
import { verifyLog } from './verify-log.js'
import type { StoreContext } from './context.js'
import type {
  EpochRoot, ListOptions, LogHead, LogVerification, ReceiptInput, ReceiptLogEntry, ReceiptStore, ReceiptStoreComponents,
  ReceiptStoreEvents, ReceiptStoreInit, StoredReceipt, VerifyLogOptions
} from './index.js'
import type { Equivocation } from './equivocation.js'
import type { InclusionProof } from './merkle.js'
import type { ReputationDetails, ReputationOptions, ReputationSample } from './reputation.js'
import type { Standing } from './standing.js'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { CountersignedRecord, SignedRecord, WorkReceipt } from '@shoal/records'

/** A receipt store on any `interface-datastore` Datastore. */
export class DatastoreReceiptStore extends TypedEventEmitter<ReceiptStoreEvents> implements ReceiptStore {
  readonly [Symbol.toStringTag] = '@shoal/receipts'
  readonly [serviceCapabilities]: string[] = ['@shoal/receipts']
  /** the datastore is a libp2p component every node has, not a service */
  readonly [serviceDependencies]: string[] = []
  readonly epochSize: number

  private readonly ctx: StoreContext
  private readonly reputationOptions: ReputationOptions
  private readonly pending: PendingReceipts
  private readonly appender: GroupCommitAppender
  private started = false

  constructor (components: ReceiptStoreComponents, init: ReceiptStoreInit = {}) {
    super()
    this.epochSize = init.epochSize ?? EPOCH_SIZE
    const maxBatch = init.maxBatch ?? MAX_BATCH
    const limits = {
      maxPending: init.maxPending ?? MAX_PENDING,
      maxPendingPerRequester: init.maxPendingPerRequester ?? MAX_PENDING_PER_REQUESTER,
      pendingTtlMs: init.pendingTtlMs ?? PENDING_TTL_MS
    }
    if (!Number.isSafeInteger(limits.maxPending) || limits.maxPending < 1) {
      throw new InvalidParametersError('maxPending must be a positive integer')
    }
    if (!Number.isSafeInteger(limits.maxPendingPerRequester) || limits.maxPendingPerRequester < 1) {
      throw new InvalidParametersError('maxPendingPerRequester must be a positive integer')
    }
    if (typeof limits.pendingTtlMs !== 'number' || Number.isNaN(limits.pendingTtlMs) || limits.pendingTtlMs <= 0) {
      throw new InvalidParametersError('pendingTtlMs must be a positive number (or Infinity)')
    }
    if (!Number.isSafeInteger(this.epochSize) || this.epochSize < 1 || this.epochSize > MAX_EPOCH_SIZE) {
      throw new InvalidParametersError(`epochSize must be 1 … ${MAX_EPOCH_SIZE}`)
    }
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) {
      throw new InvalidParametersError('maxBatch must be a positive integer')
    }
    this.reputationOptions = init.reputation ?? {}
    this.ctx = {
      datastore: components.datastore,
      keys: new StoreKeys(init.prefix ?? DATASTORE_PREFIX),
      log: (components.logger ?? defaultLogger()).forComponent('shoal:receipts'),
      now: init.now ?? Date.now,
      epochSize: this.epochSize,
      head: { length: 0, hash: GENESIS_HASH, leaves: [] },
      events: this,
      reputations: new ReputationCache(),
      standing: new StandingIndex(init.maxStandingPeers ?? MAX_STANDING_PEERS),
      metrics: components.metrics?.registerCounterGroup('shoal_receipts_events_total', {
        label: 'event',
        help: 'Receipts appended to the log, equivocations found, and pending receipts stored and removed uncountersigned (expired or evicted)'
      })
    }
    this.pending = new PendingReceipts(this.ctx, limits)
    this.appender = new GroupCommitAppender(this.ctx, this.pending, maxBatch)
  }

  // ---- lifecycle --------------------------------------------------------

  /** Open the store: check its format, recover a consistent head, load the open epoch and the pending receipts. */
  async start (): Promise<void> {
    if (this.started) {
      return
    }
    await recoverLog(this.ctx)
    await this.rebuildStanding()
    await this.pending.start()
    this.started = true
    this.ctx.log('opened with %d entries and %d pending receipts', this.ctx.head.length, this.pending.size)
  }

  /** Wait for queued appends, then close for use (the datastore stays open: its owner closes it). */
  async stop (): Promise<void> {
    await this.appender.idle()
    await this.pending.stop()
    this.started = false
  }

  /** Count every receipt of the log again, oldest first, so the most recent partners are the last dropped. */
  private async rebuildStanding (): Promise<void> {
    this.ctx.standing.clear()
    for (let seq = 0; seq < this.ctx.head.length; seq++) {
      this.ctx.standing.add((await readAt(this.ctx, seq, undefined)).value)
    }
  }

  private requireStarted (): void {
    if (!this.started) {
      throw new StoreNotOpenError()
    }
  }

  head (): LogHead {
    return { length: this.ctx.head.length, hash: this.ctx.head.hash }
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
    } catch (err: unknown) {
      // a provider-signed envelope is no Countersigned wrapper; tell them apart only on this (rare) path
      if (errorName(err) !== 'MalformedRecordError' || !isEnvelope(bytes)) {
        throw err
      }
      const record = await openRecord(WorkReceiptType, bytes, { ...options, ignoreTime: true })
      return this.putPending(record, options)
    }
    return this.putCountersigned(cs, options)
  }

  private async putCountersigned (cs: CountersignedRecord<WorkReceipt>, options: AbortOptions = {}): Promise<StoredReceipt> {
    const idHex = toHex(cs.id)
    const running = this.appender.running(idHex)
    if (running != null) {
      return running
    }
    const existing = await getCountersigned(this.ctx, idHex, options)
    if (existing != null) {
      return existing
    }
    return this.appender.append(cs)
  }

  private async putPending (record: SignedRecord<WorkReceipt>, options: AbortOptions): Promise<StoredReceipt> {
    const idHex = toHex(record.id)
    const done = await getCountersigned(this.ctx, idHex, options)
    if (done != null) {
      return done
    }
    const running = this.appender.running(idHex)
    if (running != null) {
      return running
    }
    return this.pending.add(record, options)
  }

  get pendingCount (): number {
    return this.pending.size
  }

  async expirePending (options: AbortOptions = {}): Promise<number> {
    this.requireStarted()
    return this.pending.expire(options)
  }

  // ---- reads ------------------------------------------------------------

  async get (id: Uint8Array, options: AbortOptions = {}): Promise<StoredReceipt> {
    this.requireStarted()
    const idHex = checkId(id)
    const stored = await getCountersigned(this.ctx, idHex, options) ?? await getPending(this.ctx, idHex, options)
    if (stored == null) {
      throw new ReceiptNotFoundError()
    }
    return stored
  }

  async has (id: Uint8Array, options: AbortOptions & { pending?: boolean } = {}): Promise<boolean> {
    this.requireStarted()
    const idHex = checkId(id)
    if (await this.ctx.datastore.has(this.ctx.keys.seq(idHex), options)) {
      return true
    }
    return options.pending === true && await this.ctx.datastore.has(this.ctx.keys.pending(idHex), options)
  }

  async * list (options: ListOptions = {}): AsyncGenerator<StoredReceipt> {
    this.requireStarted()
    const limit = options.limit ?? Infinity
    if (limit <= 0) {
      return
    }
    let seqs: Iterable<number>
    if (options.provider != null) {
      seqs = await indexSeqs(this.ctx, this.ctx.keys.key('provider', toHex(options.provider.toMultihash().bytes)), options)
    } else if (options.requester != null) {
      seqs = await indexSeqs(this.ctx, this.ctx.keys.key('requester', toHex(options.requester.toMultihash().bytes)), options)
    } else {
      const end = this.ctx.head.length
      seqs = (function * (from: number) { for (let s = from; s < end; s++) yield s })(options.fromSeq ?? 0)
    }
    const requesterHex = options.requester != null ? toHex(options.requester.toMultihash().bytes) : undefined
    let count = 0
    for (const seq of seqs) {
      options.signal?.throwIfAborted()
      if (seq < (options.fromSeq ?? 0)) {
        continue
      }
      const stored = await readAt(this.ctx, seq, undefined, options)
      if (options.sinceMs != null && stored.addedAt < options.sinceMs) {
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
    await this.pending.expire(options)
    for (const idHex of this.pending.ids()) {
      options.signal?.throwIfAborted()
      const stored = await getPending(this.ctx, idHex, options)
      if (stored != null) {
        yield stored
      }
    }
  }

  async * log (options: AbortOptions & { fromSeq?: number, limit?: number } = {}): AsyncGenerator<ReceiptLogEntry> {
    this.requireStarted()
    const end = Math.min(this.ctx.head.length, (options.fromSeq ?? 0) + (options.limit ?? Infinity))
    for (let seq = options.fromSeq ?? 0; seq < end; seq++) {
      options.signal?.throwIfAborted()
      const k = this.ctx.keys.log(seq)
      const bytes = await getOrUndefined(this.ctx.datastore, k, options)
      if (bytes == null) {
        throw new CorruptStoreError(`Log entry ${seq} is missing`, k.toString())
      }
      yield { ...decodeLogEntry(bytes, k.toString()), hash: logEntryHash(bytes) }
    }
  }

  // ---- verification and Merkle epochs -----------------------------------

  async verifyLog (options: VerifyLogOptions = {}): Promise<LogVerification> {
    this.requireStarted()
    await this.appender.idle()
    return verifyLog(this.ctx, options)
  }

  async epochRoot (epoch: number, options: AbortOptions = {}): Promise<EpochRoot> {
    this.requireStarted()
    return epochRoot(this.ctx, epoch, options)
  }

  async proveInclusion (receiptId: Uint8Array, options: AbortOptions = {}): Promise<InclusionProof> {
    this.requireStarted()
    return proveInclusion(this.ctx, receiptId, options)
  }

  // ---- equivocation & reputation ----------------------------------------

  async * equivocations (options: AbortOptions & { provider?: PeerId } = {}): AsyncGenerator<Equivocation> {
    this.requireStarted()
    const found: Array<{ key: string, value: Uint8Array }> = []
    for await (const { key, value } of this.ctx.datastore.query({ prefix: this.ctx.keys.key('equivocation').toString() + '/' }, options)) {
      found.push({ key: key.toString(), value })
    }
    found.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
    for (const { key, value } of found) {
      const e = decodeEquivocation(value, key)
      if (options.provider == null || e.offender.equals(options.provider)) {
        yield e
      }
    }
  }

  standing (peer: PeerId): Standing {
    return this.ctx.standing.get(toHex(peer.toMultihash().bytes))
  }

  async reputation (provider: PeerId, options: AbortOptions = {}): Promise<number> {
    return (await this.explainReputation(provider, options)).score
  }

  async explainReputation (provider: PeerId, options: AbortOptions = {}): Promise<ReputationDetails> {
    this.requireStarted()
    const name = provider.toString()
    const cached = this.ctx.reputations.get(name)
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
    for await (const _ of this.equivocations({ ...options, provider })) {
      equivocations++
    }
    const details = computeReputation(name, samples, equivocations, this.reputationOptions, ignored)
    this.ctx.reputations.set(name, details)
    return details
  }
}
