/**
 * @packageDocumentation
 *
 * The `/shoal/work/1.0.0` protocol as a libp2p service: a requester asks a
 * provider for a signed quote, accepts it with a signed assignment, the
 * provider runs the job on a pluggable executor with progress, and returns
 * the result with a receipt it signed; the requester checks the result hash,
 * countersigns the receipt and pays with a cumulative voucher. Both keep
 * both copies. Every step can be resent: a replayed assignment returns the
 * same result and receipt, never a second run or charge.
 *
 * @example
 *
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { work, functionExecutor } from '@shoal/work'
 *
 * const provider = await createLibp2p({
 *   // transports, encrypters, muxers...
 *   services: {
 *     work: work({
 *       price: { perUnit: 20, currency: 'USDC', unit: 'job' },
 *       executor: functionExecutor(input => new TextEncoder().encode(`hello ${new TextDecoder().decode(input)}`))
 *     })
 *   }
 * })
 * const requester = await createLibp2p({ services: { work: work() } })
 *
 * const outcome = await requester.services.work.run(provider.peerId, {
 *   priceCeiling: { perUnit: 25, currency: 'USDC', unit: 'job' },
 *   budget: 100
 * }, new TextEncoder().encode('world'))
 * console.info(new TextDecoder().decode(outcome.output)) // hello world
 * console.info(outcome.receipt.bytes) // signed by both
 * ```
 */

import { Work } from './work.js'
import type { BidPolicy } from './bid-policy.js'
import type { Executor } from './executor.js'
import type { ConnectionKind, RelayedJobPolicy } from './relayed.js'
import type { AbortOptions, ComponentLogger, Libp2pEvents, Metrics, PeerId, PrivateKey, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { WorkRun, WrongResultProof } from '@shoal/receipts'
import type { AttemptRecord, Router } from '@shoal/router'
import type {
  Assignment, CountersignedRecord, JobAnnouncement, JobKind, OpenedAssignment, PaymentVoucher, Price, Quote, Requirements, SignedRecord, WorkReceipt
} from '@shoal/records'
import type { Datastore } from 'interface-datastore'
import type { PayeeLane } from './vouchers.js'

export { Work } from './work.js'
export { relayFit, relayBreachMessage, relayedJobPolicy } from './relayed.js'
export type { RelayedJobPolicy, RelayedJobSize, RelayLimitBreach, ConnectionKind } from './relayed.js'
export { defaultMeter } from './run-job.js'
export { decideQuorum, VERIFIED_PREFIX, KNOWN_ANSWERS_PREFIX } from './verify.js'
export type { QuorumDecision } from './verify.js'

/**
 * Where receipts go: a `@shoal/receipts` store fits (its `put` takes both a
 * provider-signed receipt, kept as pending, and a countersigned one).
 */
export interface ReceiptSink {
  put(receipt: SignedRecord<WorkReceipt> | CountersignedRecord<WorkReceipt>, options?: AbortOptions): Promise<unknown>
}

/** What the provider meters a run from. */
export interface MeterInput {
  /** wall time of the run, ms */
  wallMs: number
  /** units the executor reported, if any */
  reported?: number
  /** the quoted price (its `unit` says what a unit is) */
  price: Price
  /** GPUs the provider devotes to a job */
  gpus: number
  /** true for the final count (the receipt), false while the job runs */
  final?: boolean
}

/** Options of the work service. Every field is optional. */
export interface WorkInit {
  /**
   * Protocol id
   *
   * @default '/shoal/work/1.0.0'
   */
  protocol?: string
  /** Runs jobs. Without one the node only requests work (quote requests are declined). */
  executor?: Executor
  /** Decides what to quote; default: `priceBidPolicy({ price })` when `price` is set */
  bidPolicy?: BidPolicy
  /** The price the default bid policy asks */
  price?: Price
  /**
   * Jobs run at once
   *
   * @default 4
   */
  concurrency?: number
  /**
   * Admitted jobs that may wait for a slot when every slot is taken; they
   * start first in, first out as slots free, and their requesters get
   * progress frames of zero units while they wait. Past it, an assignment
   * gets a busy reply with the estimated wait (`ProviderBusyError.retryAfterMs`).
   * 0 refuses every assignment beyond `concurrency`.
   *
   * @default 256
   */
  maxQueued?: number
  /** Where receipts are stored; default: `components.receipts` if present, else kept in memory only */
  receipts?: ReceiptSink
  /**
   * Largest inline job input, bytes
   *
   * @default 1048576
   */
  maxInputBytes?: number
  /**
   * Largest inline job output, bytes
   *
   * @default 1048576
   */
  maxOutputBytes?: number
  /**
   * Time one exchange (quote, countersign) may take, ms
   *
   * @default 10000
   */
  stepTimeoutMs?: number
  /**
   * Time a job may run when the caller gives no deadline, ms
   *
   * @default 600000
   */
  jobTimeoutMs?: number
  /**
   * Quote lifetime, ms
   *
   * @default 60000
   */
  quoteTtlMs?: number
  /**
   * Assignment lifetime, ms
   *
   * @default 600000
   */
  assignmentTtlMs?: number
  /**
   * Finished jobs kept to answer resent assignments
   *
   * @default 4096
   */
  maxJobs?: number
  /**
   * Most a requester may owe this provider (receipts minus vouchers)
   *
   * @default 100000
   */
  maxUnpaid?: number
  /**
   * As provider: receipts a requester may leave uncountersigned (those older
   * than twice `stepTimeoutMs`) before its quote requests and assignments are
   * declined with `UnpaidReceiptsError`; it is served again once it countersigns
   *
   * @default 4
   */
  maxUnpaidJobs?: number
  /**
   * As requester: a direct run that took longer than this many times its
   * quote's eta (plus 2 s) is reported to the router as `late`; Infinity never
   *
   * @default 5
   */
  lateFactor?: number
  /**
   * As requester: pay each receipt with a cumulative voucher sent with the countersignature
   *
   * @default true
   */
  vouchers?: boolean
  /**
   * As requester: sign a voucher only once this much is owed to a provider
   * (fewer signatures for many small jobs); keep it below the provider's `maxUnpaid`
   *
   * @default 0
   */
  payEvery?: number
  /**
   * How often a time-metered job (unit `*second`) reports its units, ms
   *
   * @default 1000
   */
  meterIntervalMs?: number
  /**
   * GPUs devoted to a job, for GPU-second metering
   *
   * @default 1
   */
  gpusPerJob?: number
  /** Units of a run; default: the executor's units, else wall seconds (× GPUs for `gpu-second`) rounded up, else 1 */
  meter?(input: MeterInput): number
  /**
   * Idle work streams kept open per peer for the next job (0: a new stream per exchange)
   *
   * @default 64
   */
  maxIdleStreams?: number
  /**
   * @default 256
   */
  maxInboundStreams?: number
  /**
   * @default 256
   */
  maxOutboundStreams?: number
  /**
   * Quote requests a peer may make per second, on average (a token bucket per peer;
   * each quote costs a signature). Over it: QuoteRateLimitedError
   *
   * @default 2000
   */
  quoteRate?: number
  /**
   * Quote requests a peer may make at once before `quoteRate` applies
   *
   * @default 256
   */
  quoteBurst?: number
  /**
   * Used quotes remembered until they expire, so no quote is assigned twice even after
   * its job was evicted; when this many unexpired ones are held, new assignments are
   * refused (ProviderBusyError) until some expire
   *
   * @default 65536
   */
  maxUsedQuotes?: number
  /**
   * As requester: resume the jobs a restart cut off (saved in the datastore)
   * once the node has started; false: wait for `resumeJobs()`, so listeners
   * of `job:resumed` / `job:resume-failed` can be added first
   *
   * @default true
   */
  resumeOnStart?: boolean
  /**
   * As requester: the verify policy of a `run()` that names none (see
   * `RunOptions.verify`); false runs each job once, unchecked
   *
   * @default false
   */
  verify?: VerifyPolicy | false
  /**
   * How jobs run over relayed (limited) connections: small ones within the
   * relay's limits, after waiting for a direct connection (DCUtR) first
   * (docs/spec.md §4.8); false never runs work over a relay
   *
   * @default DEFAULT_RELAYED_JOB_POLICY
   */
  relayed?: Partial<RelayedJobPolicy> | false
  /**
   * Open work streams on limited (relayed) connections; superseded by
   * `relayed`, whose policy decides per job. Outbound, the default follows
   * `relayed`; inbound, the handler takes relayed streams unless this is
   * false, so that a provider with `relayed: false` refuses with
   * `relay-limit` rather than a reset stream
   *
   * @default true unless `relayed` is false
   */
  runOnLimitedConnection?: boolean
  /**
   * Peers known to have cheated: as requester, `run` never tries them; as provider, their quote requests are declined
   */
  offenders?(peer: PeerId): boolean
  /**
   * Clock, ms
   *
   * @default Date.now
   */
  now?(): number
}

/** What the work service uses from libp2p. `receipts` is an optional receipt store service. */
export interface WorkComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  /** counters of quotes, jobs and receipts (`shoal_work_events_total`) */
  metrics?: Metrics
  receipts?: ReceiptSink
  /** where payment state and jobs survive restarts: the payer's lanes, the payee's latest vouchers and charges, both journals */
  datastore?: Datastore
  /** the node's events: a provider that connects again gets the countersignatures it missed at once */
  events?: TypedEventTarget<Libp2pEvents>
  /**
   * The node's router, if it has one: direct runs fail over through it, so
   * providers that fail or go silent lose its trust
   */
  router?: Pick<Router, 'failover' | 'report'>
}

/** A job described by its fields; `createJob` signs it into a JobAnnouncement. */
export interface JobSpec {
  kind?: JobKind
  workload?: string
  description?: string
  requirements?: Partial<Requirements>
  /** highest acceptable price per unit */
  priceCeiling: Price
  /** most the requester pays in total */
  budget: number
  /** ms from now until the work must be done @default 600000 */
  deadlineInMs?: number
  /** the input, to put its hash and size in the announcement */
  input?: Uint8Array
}

/** Options of a job run (`assign`, `run`). */
export interface RunOptions extends AbortOptions {
  /** progress reports from the provider */
  onProgress?(progress: WorkProgress): void
  /** most units paid for; default: the job's budget divided by the price */
  maxUnits?: number
  /** fetch the output when the provider returns a location instead of the bytes */
  fetchOutput?(location: string, receipt: WorkReceipt, options: AbortOptions): Promise<Uint8Array>
  /**
   * Called once the output matched the receipt's result hash, before it is
   * countersigned: throw `ResultRejectedError` to refuse the result (the
   * provider gets the Failure; nothing is countersigned or paid)
   */
  checkResult?(run: CheckedResult, options: AbortOptions): Promise<void>
  /** `run` only: check results by redundant runs, spot checks and replays; absent or false: no verification */
  verify?: VerifyPolicy | false
}

/** A result about to be countersigned, as `RunOptions.checkResult` sees it. */
export interface CheckedResult {
  provider: PeerId
  /** the output (it hashes to the receipt's `resultHash`) */
  output: Uint8Array
  /** the receipt, signed by the provider only */
  receipt: SignedRecord<WorkReceipt>
  assignment: SignedRecord<Assignment>
}

/**
 * How `run` checks results (docs/spec.md, "Result verification"): a job is
 * verified when `redundancy` > 1, at random with `spotCheckRate`, or while
 * the first-ranked provider has fewer than `probationJobs` verified results.
 * A verified job runs on `redundancy` providers (at least `quorum`) and only
 * results `quorum` of them agree on are countersigned; a spot check of a
 * job whose answer is known checks the single run against that answer.
 */
export interface VerifyPolicy {
  /**
   * Providers a verified job runs on at once (k)
   *
   * @default 1
   */
  redundancy?: number
  /**
   * Providers that must return the same result hash (q)
   *
   * @default 2
   */
  quorum?: number
  /**
   * Share of jobs verified at random
   *
   * @default 0.1
   */
  spotCheckRate?: number
  /**
   * Results of a provider that must be verified before its jobs are spot-checked only at random
   *
   * @default 1
   */
  probationJobs?: number
  /**
   * Share of countersigned jobs whose assignment is replayed to the provider, to catch a second receipt (`recheck`)
   *
   * @default 0.1
   */
  replayCheckRate?: number
  /**
   * Random numbers in [0, 1)
   *
   * @default Math.random
   */
  random?(): number
}

/** One provider's run of a job and what proves a wrong result: the shapes `@shoal/receipts` makes evidence records of. */
export type { WorkRun, WrongResultProof }

/** Evidence of cheating found by the requester (`evidence:found`); the node turns it into a signed record. */
export type FoundEvidence =
  | { kind: 'wrong-result', proof: WrongResultProof }
  | { kind: 'equivocation', first: SignedRecord<WorkReceipt>, second: SignedRecord<WorkReceipt> }

/** What a verified run found (`RunOutcome.verification`). */
export interface Verification {
  /** every provider that returned a result */
  providers: PeerId[]
  /** those whose results agreed (the quorum, or the one that matched a known answer) */
  agreeing: PeerId[]
  /** those whose results were refused */
  rejected: PeerId[]
}

/** What `recheck` found when it replayed an assignment: the same receipt, a second one, or no answer. */
export type RecheckResult = 'same' | 'equivocation' | 'unreachable'

/** Options of `run`. */
export interface DirectRunOptions extends RunOptions {
  /** give up after this many ms overall */
  timeoutMs?: number
  /** absolute time (ms, the service clock) by which the job must be done */
  deadlineMs?: number
  /** move to the next candidate after this many ms */
  attemptTimeoutMs?: number
  /** called as each attempt succeeds or fails, before `run` settles (as the router's failover calls `onOutcome`) */
  onAttempt?(attempt: AttemptRecord<PeerId>): void
}

/** Progress of a running job. */
export interface WorkProgress {
  assignmentId: Uint8Array
  units: number
  permille: number
  message: string
}

/** A completed job as the requester holds it. */
export interface JobOutcome {
  provider: PeerId
  /** the verified output (its hash is the receipt's `resultHash`) */
  output: Uint8Array
  /** the receipt, signed by the provider and countersigned by us */
  receipt: CountersignedRecord<WorkReceipt>
  quote: SignedRecord<Quote>
  assignment: SignedRecord<Assignment>
  /** the voucher that paid for it, if vouchers are on */
  voucher?: SignedRecord<PaymentVoucher>
  /** whether the provider acknowledged the countersignature (else `resendCountersign` later) */
  acknowledged: boolean
}

/** A direct run's outcome, with every attempt made. */
export interface RunOutcome extends JobOutcome {
  attempts: Array<AttemptRecord<PeerId>>
  /** which kind of connection the assignment that produced the receipt ran on */
  connection?: ConnectionKind
  /** present when the job was verified */
  verification?: Verification
}

/** A job the provider holds a one-sided receipt for. */
export interface PendingReceipt {
  /** the requester-signed assignment: its signed request for the work */
  assignment: Uint8Array
  /** the provider-signed receipt the requester has not countersigned */
  receipt: SignedRecord<WorkReceipt>
}

/** Events of the work service. */
export interface WorkEvents {
  /** provider: a quote was signed and sent */
  'quote:issued': CustomEvent<SignedRecord<Quote>>
  /** requester: a provider offered a quote unsolicited (open market) */
  'quote:received': CustomEvent<SignedRecord<Quote>>
  /** provider: an assignment was accepted and the job started */
  'job:started': CustomEvent<OpenedAssignment>
  /** both sides: progress of a job */
  'job:progress': CustomEvent<WorkProgress>
  /** provider: a job finished and its receipt was signed (pending countersignature); a copy of the receipt with the kind of connection its assignment came on */
  'job:completed': CustomEvent<SignedRecord<WorkReceipt> & { connection?: ConnectionKind }>
  /** provider: a job failed */
  'job:failed': CustomEvent<{ assignmentId: Uint8Array, error: Error }>
  /** both sides: a receipt was countersigned (requester) or a countersigned one received (provider) */
  'receipt:countersigned': CustomEvent<CountersignedRecord<WorkReceipt>>
  /** provider: a voucher moved a lane forward */
  'voucher:accepted': CustomEvent<PayeeLane>
  /** requester: a pooled stream turned out dead mid-exchange and the exchange was sent again on a new stream */
  'stream:retried': CustomEvent<{ peer: PeerId, error: Error }>
  /** provider: a peer's request (a quote request, an assignment, a voucher...) was refused with this error, also sent to the peer */
  'request:refused': CustomEvent<RefusedRequest>
  /** requester: a job followed in the background (under way when the node stopped, or given up on by its caller without an answer) ended countersigned */
  'job:resumed': CustomEvent<ResumedJob>
  /** requester: a job under way when the node stopped could not be resumed within its deadline (fail it over, or report it) */
  'job:resume-failed': CustomEvent<ResumeFailure>
  /** requester: a verified run or a replay check caught a provider cheating */
  'evidence:found': CustomEvent<FoundEvidence>
}

/** A job followed in the background that ended countersigned (`job:resumed`). */
export interface ResumedJob {
  /** the job as it was sent: signed, or the unsigned one of direct mode */
  job: SignedRecord<JobAnnouncement> | JobAnnouncement
  outcome: JobOutcome
  /**
   * its caller had given up on it (the run failed without an answer from
   * this provider, which finished it in time after all), rather than a
   * restart cutting it off
   */
  abandoned: boolean
}

/** A job a restart interrupted that could not be resumed (`job:resume-failed`). */
export interface ResumeFailure {
  /** the job as it was sent: signed, or the unsigned one of direct mode */
  job: SignedRecord<JobAnnouncement> | JobAnnouncement
  /** the provider it was assigned to */
  provider: PeerId
  input: Uint8Array
  /** when the job must be done by, ms (the service clock) */
  deadlineMs: number
  /** why: the provider's refusal (e.g. JobInterruptedError), or the deadline */
  error: Error
}

/** A request the work service refused (`request:refused`). */
export interface RefusedRequest {
  /** who asked */
  peer: PeerId
  /** the frame refused: `quoteRequest`, `assign`, `voucher`, ... */
  kind: string
  /** the refusal's `WorkError` code (`declined`, `busy`, `rate-limited`, ...) */
  code: string
  error: Error
}

/** A job this provider is running or has queued (`runningJobs()`). */
export interface RunningJob {
  /** the assignment's record id: what a job is tracked by (one job id may be assigned to several providers) */
  assignmentId: Uint8Array
  jobId: Uint8Array
  /** the quote the assignment accepted */
  quoteId: Uint8Array
  /** the requester */
  peer: PeerId
  /** when the job started, ms (the service clock) */
  started: number
  /** the latest progress reported, if any */
  progress?: WorkProgress
  /** waiting in the queue for a slot, not running yet */
  queued: boolean
}

export { functionExecutor, commandExecutor, findProgram, TIMEOUT_STATUS } from './executor.js'
export { killAllJobProcesses, reapOrphans, trackGroup } from './process-group.js'
export type { JobGroup } from './process-group.js'
export type {
  Executor, ExecuteOptions, ExecutorProgress, ExecutorResult, FunctionExecutorOutput, CommandExecutorInit, CommandExecutor,
  MemoryLimitEnforcement
} from './executor.js'
export { detectGpus, parseNvidiaSmi, gpuClass } from './gpu.js'
export type { GpuInventory, DetectGpusOptions } from './gpu.js'
export { priceBidPolicy, matchJob } from './bid-policy.js'
export type { BidPolicy, Bid, BidContext, PriceBidPolicyInit } from './bid-policy.js'
export { VoucherLanes, VoucherBook } from './vouchers.js'
export type { PayerLane, PayeeLane } from './vouchers.js'
export { PAYER_LANES_PREFIX, PAYEE_VOUCHERS_PREFIX, CHARGES_PREFIX, decodePayerLane, decodeCharge } from './ledger.js'
export type { SavedPayerLane, SavedCharge, LedgerLoad } from './ledger.js'
export { encodeFrame, decodeFrame, decodeInlineJob } from './messages.js'
export { PROVIDER_JOBS_PREFIX, USED_QUOTES_PREFIX, RECEIPT_CHAIN_KEY, REQUESTER_JOBS_PREFIX, decodeSavedJob, decodeSavedRequest } from './journal.js'
export type { SavedJob, SavedJobState, SavedRequest, SavedRequestState, SavedUsedQuote } from './journal.js'
export type { WorkFrame, WorkFrameKind } from './messages.js'
export * from './errors.js'
export * from './constants.js'

/** Create the work service, in the js-libp2p way. */
export function work (init: WorkInit = {}): (components: WorkComponents) => Work {
  return (components) => new Work(components, init)
}
