/**
 * @packageDocumentation
 *
 * `@shoal/receipts` keeps the work receipts a node has seen in a libp2p
 * datastore, and makes them worth something to people who do not trust it:
 *
 * - every receipt is verified (both signatures, via `@shoal/records`) before
 *   it is stored, and a refused receipt leaves no trace;
 * - stored receipts form an append-only, hash-linked log (`verifyLog()`
 *   detects any edit, deletion or reordering);
 * - every `epochSize` log entries form an epoch with one 32-byte Merkle root
 *   (RFC 6962 hashing), which an operator can anchor on any chain; anyone
 *   holding a receipt and its inclusion proof can check it against that root
 *   with the pure `verifyInclusion()`;
 * - two valid receipts for one job that disagree are kept as an
 *   `Equivocation`, with both receipts as evidence anyone can re-check;
 * - `reputation(provider)` scores a provider from its verified receipts,
 *   weighted by the diversity of the requesters that countersigned them.
 *
 * Provider-signed receipts that the requester has not countersigned yet are
 * kept apart as "pending" and never enter the log. They are bounded: at most
 * `maxPendingPerRequester` per requester, `maxPending` in all, each for at
 * most `pendingTtlMs`. A pending receipt is the provider's only evidence of
 * work nobody acknowledged, so none leaves silently: each one removed is
 * emitted as `receipt:expired`, with its bytes, for the operator to archive
 * or chase.
 *
 * @example
 *
 * ```ts
 * import { MemoryDatastore } from 'datastore-core'
 * import { createReceiptStore, verifyInclusion } from '@shoal/receipts'
 *
 * const store = await createReceiptStore({ datastore: new MemoryDatastore() })
 * const stored = await store.put(countersignedBytes) // throws a RecordError if forged
 * const proof = await store.proveInclusion(stored.id)
 * console.log(verifyInclusion(stored.id, proof, proof.root)) // true
 * console.log(await store.verifyLog()) // { ok: true, length: 1, ... }
 * console.log(await store.reputation(stored.provider))
 * await store.stop()
 * ```
 */

import { DatastoreReceiptStore } from './receipt-store.js'
import type { Equivocation } from './equivocation.js'
import type { InclusionProof } from './merkle.js'
import type { ReputationDetails, ReputationOptions } from './reputation.js'
import type { Standing } from './standing.js'
import type { AbortOptions, ComponentLogger, Metrics, PeerId, Startable } from '@libp2p/interface'
import type { CountersignedRecord, SignedRecord, WorkReceipt } from '@shoal/records'
import type { Datastore } from 'interface-datastore'
import type { TypedEventTarget } from 'main-event'

export * from './constants.js'
export * from './errors.js'
export { verifyInclusion, leafHash, nodeHash, merkleRoot, inclusionPath } from './merkle.js'
export type { InclusionProof } from './merkle.js'
export { verifyEquivocation, receiptsConflict, sameClaim, sameJob } from './equivocation.js'
export type { Equivocation, EquivocationKind } from './equivocation.js'
export { computeReputation, REPUTATION_FORMULA } from './reputation.js'
export type { ReputationDetails, ReputationOptions, ReputationSample, RequesterContribution } from './reputation.js'
export { StandingIndex } from './standing.js'
export type { Standing } from './standing.js'
export { decodeLogEntry, encodeLogEntry, logEntryHash, GENESIS_HASH } from './log.js'
export type { LogEntry } from './log.js'
export { DatastoreReceiptStore }
export { verifyEvidence } from './evidence/verify.js'
export type { VerifiedEvidence, VerifyEvidenceOptions } from './evidence/verify.js'
export { createEquivocationEvidence, createWrongResultEvidence } from './evidence/create.js'
export type { WorkRun, WrongResultProof } from './evidence/create.js'
export { DefaultEvidenceService, evidence } from './evidence/service.js'
export type { EvidenceComponents, EvidenceEvents, EvidenceInit, EvidenceService } from './evidence/service.js'

/** Where a receipt is: countersigned by both parties (in the log), or signed by the provider only. */
export type ReceiptState = 'countersigned' | 'pending'

/** A receipt as the store holds it. Its signatures were verified when it was stored. */
export interface StoredReceipt {
  /** record id: SHA-256 of the provider's signed envelope (both parties' copies share it) */
  readonly id: Uint8Array
  /** `countersigned` (in the log) or `pending` (provider-signed only, not in the log) */
  readonly state: ReceiptState
  /** the bytes as received: the Countersigned wrapper, or for pending receipts the provider's envelope */
  readonly bytes: Uint8Array
  /** the provider's signed envelope (inside `bytes` for countersigned receipts) */
  readonly envelope: Uint8Array
  /** the decoded receipt */
  readonly value: WorkReceipt
  /** the provider (author) */
  readonly provider: PeerId
  /** the requester (countersigner) */
  readonly requester: PeerId
  /** position in the log (countersigned receipts only) */
  readonly seq?: number
  /** when this store accepted it, ms (the store's clock) */
  readonly addedAt: number
}

/** One entry of the hash-linked log, as returned by `log()`. */
export interface ReceiptLogEntry {
  /** position, from 0 */
  readonly seq: number
  /** hash of the previous entry (32 zero bytes for the first) */
  readonly prevHash: Uint8Array
  /** the receipt's record id */
  readonly receiptId: Uint8Array
  /** SHA-256 of the stored countersigned bytes */
  readonly bytesHash: Uint8Array
  /** when the receipt was added, ms */
  readonly addedAt: number
  /** this entry's hash, which the next entry links to */
  readonly hash: Uint8Array
}

/** The end of the log: how many entries, and the hash of the last one. */
export interface LogHead {
  /** number of entries (the next seq) */
  readonly length: number
  /** hash of the last entry (32 zero bytes when empty) */
  readonly hash: Uint8Array
}

/** The result of walking the log. */
export interface LogVerification {
  /** true when every check passed */
  readonly ok: boolean
  /** entries checked */
  readonly length: number
  /** the head the walk ended at */
  readonly head: LogHead
  /** what is wrong (empty when ok); at most `maxProblems` */
  readonly problems: LogProblem[]
}

/** One inconsistency found by `verifyLog()`. */
export interface LogProblem {
  /** the entry concerned, when there is one */
  readonly seq?: number
  /** the datastore key concerned */
  readonly key: string
  /** what is wrong */
  readonly reason: string
}

/** Options of `verifyLog()`. */
export interface VerifyLogOptions extends AbortOptions {
  /**
   * also re-verify both signatures of every receipt (slow; hashes already detect edits)
   *
   * @default false
   */
  signatures?: boolean
  /**
   * stop after this many problems
   *
   * @default 100
   */
  maxProblems?: number
}

/** The Merkle root of one epoch. */
export interface EpochRoot {
  /** epoch number, from 0; epoch `e` holds log entries `e * epochSize` … `(e + 1) * epochSize - 1` */
  readonly epoch: number
  /** 32-byte RFC 6962 Merkle tree hash of the epoch's leaves */
  readonly root: Uint8Array
  /** number of leaves so far (equals `epochSize` once complete) */
  readonly size: number
  /** true once the epoch has all `epochSize` entries: its root never changes again */
  readonly complete: boolean
}

/** Filters of `list()`. */
export interface ListOptions extends AbortOptions {
  /** only receipts by this provider */
  provider?: PeerId
  /** only receipts countersigned by this requester */
  requester?: PeerId
  /** only receipts added at or after this time (ms, the store's clock) */
  sinceMs?: number
  /** only receipts at or after this log position */
  fromSeq?: number
  /** at most this many */
  limit?: number
}

/** Events of the store. */
export interface ReceiptStoreEvents {
  /** a countersigned receipt was appended to the log */
  'receipt:added': CustomEvent<StoredReceipt>
  /** a provider-signed receipt was stored, awaiting countersignature */
  'receipt:pending': CustomEvent<StoredReceipt>
  /** two receipts for one job disagree */
  'receipt:equivocation': CustomEvent<Equivocation>
  /** a pending receipt was removed uncountersigned: too old, or pushed out by a cap (evidence of unpaid work) */
  'receipt:expired': CustomEvent<ExpiredReceipt>
}

/** A pending receipt the store removed before its countersigned copy arrived. */
export interface ExpiredReceipt {
  /** the receipt, with the provider's signed envelope bytes */
  readonly receipt: StoredReceipt
  /** `expired`: older than `pendingTtlMs`; `evicted`: pushed out by `maxPendingPerRequester` or `maxPending` */
  readonly reason: 'expired' | 'evicted'
}

/** What `put()` accepts: a countersigned receipt, or a provider-signed one (stored as pending). */
export type ReceiptInput = Uint8Array | CountersignedRecord<WorkReceipt> | SignedRecord<WorkReceipt>

/**
 * A receipt store. All methods except the pure helpers need `start()` first
 * (`createReceiptStore()` starts it for you).
 */
export interface ReceiptStore extends TypedEventTarget<ReceiptStoreEvents>, Startable {
  /**
   * Verify and store a receipt. Countersigned receipts (bytes of a
   * `Countersigned` wrapper, or a `CountersignedRecord`) are appended to the
   * log; provider-signed ones (envelope bytes, or a `SignedRecord`) are kept
   * as pending until their countersigned copy arrives. Idempotent: the same
   * receipt again returns the stored one and writes nothing. Bad input throws
   * the `RecordError` subclass of `@shoal/records` and writes nothing. Time
   * checks are skipped (receipts are archival).
   */
  put(receipt: ReceiptInput, options?: AbortOptions): Promise<StoredReceipt>

  /** A stored receipt (countersigned, else pending); throws `ReceiptNotFoundError`. */
  get(id: Uint8Array, options?: AbortOptions): Promise<StoredReceipt>

  /** Whether a countersigned receipt with this id is stored (pass `{ pending: true }` to include pending ones). */
  has(id: Uint8Array, options?: AbortOptions & { pending?: boolean }): Promise<boolean>

  /** Countersigned receipts in log order, filtered. */
  list(options?: ListOptions): AsyncGenerator<StoredReceipt>

  /** Provider-signed receipts still awaiting countersignature, oldest first (expired ones are removed first). */
  listPending(options?: AbortOptions): AsyncGenerator<StoredReceipt>

  /** Number of pending receipts held. */
  readonly pendingCount: number

  /**
   * Remove pending receipts older than `pendingTtlMs`, emitting
   * `receipt:expired` for each; returns how many. Runs by itself on every
   * pending put, on `listPending()` and every `PENDING_SWEEP_INTERVAL_MS`.
   */
  expirePending(options?: AbortOptions): Promise<number>

  /** The current end of the log. */
  head(): LogHead

  /** Log entries from `fromSeq` (default 0) in order. */
  log(options?: AbortOptions & { fromSeq?: number, limit?: number }): AsyncGenerator<ReceiptLogEntry>

  /** Walk the whole log: hash links, receipt bytes, indexes, epoch roots, head. Never throws for bad data. */
  verifyLog(options?: VerifyLogOptions): Promise<LogVerification>

  /** The entries per epoch this store was opened with. */
  readonly epochSize: number

  /** The Merkle root of an epoch (the current one may be incomplete); throws `ReceiptNotFoundError` for a future epoch. */
  epochRoot(epoch: number, options?: AbortOptions): Promise<EpochRoot>

  /** An inclusion proof of a countersigned receipt in its epoch's Merkle tree; throws `ReceiptNotFoundError`. */
  proveInclusion(receiptId: Uint8Array, options?: AbortOptions): Promise<InclusionProof>

  /** Equivocations detected so far, oldest first. */
  equivocations(options?: AbortOptions & { provider?: PeerId }): AsyncGenerator<Equivocation>

  /** A provider's reputation in [0, 1] (0.5 when nothing is known). */
  reputation(provider: PeerId, options?: AbortOptions): Promise<number>

  /** The reputation and every figure that went into it. */
  explainReputation(provider: PeerId, options?: AbortOptions): Promise<ReputationDetails>

  /**
   * How established a peer is: the countersigned receipts held in which it
   * is a party, and the distinct other parties among them (self-dealing
   * counts nothing). Synchronous, from an in-memory index (bounded by
   * `maxStandingPeers`), for per-message budgets; zero before `start()`.
   */
  standing(peer: PeerId): Standing
}

/** Options of a receipt store. Every field is optional. */
export interface ReceiptStoreInit {
  /**
   * key prefix in the datastore (several stores can share one datastore)
   *
   * @default '/shoal/receipts'
   */
  prefix?: string
  /**
   * log entries per Merkle epoch; fixed for the life of a store (a store
   * reopened with another value refuses to start)
   *
   * @default 1024
   */
  epochSize?: number
  /** the clock, ms (inject it in tests and simulations) @default Date.now */
  now?: () => number
  /**
   * most receipts committed in one datastore batch when puts arrive together
   *
   * @default 256
   */
  maxBatch?: number
  /** reputation formula parameters */
  reputation?: ReputationOptions
  /**
   * most peers whose `standing()` is kept in memory; the least recently
   * updated is dropped first
   *
   * @default 65536
   */
  maxStandingPeers?: number
  /**
   * most pending (provider-signed only) receipts kept in all; the oldest is
   * removed first, with a `receipt:expired` event. Counted again on every
   * open, so a smaller value takes effect on a reopened store.
   *
   * @default 10000
   */
  maxPending?: number
  /**
   * most pending receipts kept per requester; that requester's oldest is
   * removed first, with a `receipt:expired` event
   *
   * @default 1000
   */
  maxPendingPerRequester?: number
  /**
   * age (ms, the store's clock) after which a pending receipt is removed,
   * with a `receipt:expired` event; `Infinity` keeps them until a cap applies
   *
   * @default 2592000000 (30 days)
   */
  pendingTtlMs?: number
}

/** What the store needs from a libp2p node. */
export interface ReceiptStoreComponents {
  /** where receipts live (the node's datastore, on disk in a full node) */
  datastore: Datastore
  /** logger; a default one is used when absent */
  logger?: ComponentLogger
  /** counters of receipts appended, equivocations and pending receipts (`shoal_receipts_events_total`) */
  metrics?: Metrics
}

/** Options of `createReceiptStore()`: the datastore plus the store options. */
export interface CreateReceiptStoreOptions extends ReceiptStoreInit {
  /** where receipts live */
  datastore: Datastore
  /** logger */
  logger?: ComponentLogger
}

/**
 * The receipt store as a libp2p service: it uses the node's datastore and
 * opens (recovering a consistent head) when the node starts.
 *
 * @example
 *
 * ```ts
 * const node = await createLibp2p({ datastore, services: { receipts: receiptStore() } })
 * ```
 */
export function receiptStore (init: ReceiptStoreInit = {}): (components: ReceiptStoreComponents) => ReceiptStore {
  return (components) => new DatastoreReceiptStore(components, init)
}

/** Create and start a receipt store on a datastore (outside a libp2p node). */
export async function createReceiptStore (options: CreateReceiptStoreOptions): Promise<ReceiptStore> {
  const { datastore, logger, ...init } = options
  const store = new DatastoreReceiptStore({ datastore, logger }, init)
  await store.start()
  return store
}
