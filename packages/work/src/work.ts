import { serviceCapabilities, setMaxListeners, TimeoutError, TypedEventEmitter } from '@libp2p/interface'
import {
  AssignmentType, JobAnnouncementType, JobKind, PaymentVoucherType, QuoteType, RECORD_VERSION, RecordError,
  WorkReceiptType, Countersigned, countersign, decodeRecord, encodeRecord, recordId, newRandomId, openAssignment, openCountersigned, openRecord, signRecord
} from '@shoal/records'
import { failover } from '@shoal/router'
import { priceBidPolicy } from './bid-policy.js'
import {
  ASSIGNMENT_TTL, CONCURRENCY, JOB_TIMEOUT, MAX_INBOUND_STREAMS, MAX_INPUT_BYTES, MAX_JOBS, MAX_OUTBOUND_STREAMS, MAX_OUTPUT_BYTES,
  MAX_IDLE_STREAMS, MAX_LISTENERS_PER_JOB, MAX_LOCATION_LENGTH, MAX_QUOTE_BUCKETS, MAX_STALE_ACKS, MAX_USED_QUOTES, METER_INTERVAL, PAYMENT_REQUIRED_STATUS, MAX_UNPAID,
  MESSAGE_OVERHEAD_BYTES, PROTOCOL, QUOTE_BURST, QUOTE_RATE, QUOTE_TTL, STEP_TIMEOUT
} from './constants.js'
import {
  AssignmentReplayedError, ExecutorError, InputMismatchError, InvalidCountersignatureError, InvalidMessageError, InvalidReceiptError,
  InvalidRecordError, InvalidVoucherError, PayloadTooLargeError, PaymentRequiredError, ProviderBusyError, QuoteDeclinedError,
  QuoteRateLimitedError, QuoteReusedError, QuoteUnacceptableError, ResultHashMismatchError, UnknownJobError, VoucherNonceError, WorkError, WrongPeerError, errorFromFailure
} from './errors.js'
import { Channel, StreamEndedError } from './channel.js'
import { decodeInlineJob } from './messages.js'
import { EMPTY, equal, hex, isTimeMetered, recordFailure, samePrice, sha256 } from './utils.js'
import { VoucherBook, VoucherLanes } from './vouchers.js'
import type { BidPolicy } from './bid-policy.js'
import type { Executor, ExecutorProgress, ExecutorResult } from './executor.js'
import type { WorkFrame } from './messages.js'
import type { PayeeLane } from './vouchers.js'
import type { AbortOptions, ComponentLogger, Connection, Logger, PeerId, PrivateKey, Startable, Stream } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { AttemptRecord, TrustEvent } from '@shoal/router'
import type {
  Assignment, CountersignedRecord, JobAnnouncement, OpenedAssignment, PaymentVoucher, Price, Quote, Requirements, SignedRecord, WorkReceipt
} from '@shoal/records'

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
  stepTimeout?: number
  /**
   * Time a job may run when the caller gives no deadline, ms
   *
   * @default 600000
   */
  jobTimeout?: number
  /**
   * Quote lifetime, ms
   *
   * @default 60000
   */
  quoteTtl?: number
  /**
   * Assignment lifetime, ms
   *
   * @default 600000
   */
  assignmentTtl?: number
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
  meterInterval?: number
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
   * Allow work over limited (relayed) connections
   *
   * @default false
   */
  runOnLimitedConnection?: boolean
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
  receipts?: ReceiptSink
  /** where payment state survives restarts: the payer's lanes, the payee's latest vouchers and charges */
  datastore?: Datastore
  /** the node's router, told how each provider did so failed ones lose its trust */
  router?: OutcomeSink
}

/** Where outcomes of work sent to providers go (the router service's `report`). */
export interface OutcomeSink {
  report(peer: PeerId, event: TrustEvent): unknown
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
  deadlineIn?: number
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
}

/** Options of `run`. */
export interface DirectRunOptions extends RunOptions {
  /** give up after this many ms overall */
  timeout?: number
  /** absolute time (ms, the service clock) by which the job must be done */
  deadline?: number
  /** move to the next candidate after this many ms */
  attemptTimeout?: number
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
  /** provider: a job finished and its receipt was signed (pending countersignature) */
  'job:completed': CustomEvent<SignedRecord<WorkReceipt>>
  /** provider: a job failed */
  'job:failed': CustomEvent<{ assignmentId: Uint8Array, error: Error }>
  /** both sides: a receipt was countersigned (requester) or a countersigned one received (provider) */
  'receipt:countersigned': CustomEvent<CountersignedRecord<WorkReceipt>>
  /** provider: a voucher moved a lane forward */
  'voucher:accepted': CustomEvent<PayeeLane>
  /** requester: a pooled stream turned out dead mid-exchange and the exchange was sent again on a new stream */
  'stream:retried': CustomEvent<{ peer: PeerId, error: Error }>
}

/** A job this provider is running (`runningJobs()`). */
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
}

interface JobEntry {
  key: string
  assignmentBytes: Uint8Array
  opened: OpenedAssignment
  requester: string
  peer: PeerId
  startedMs: number
  progress?: WorkProgress
  state: 'running' | 'done' | 'failed' | 'countersigned'
  done: Promise<void>
  receipt?: SignedRecord<WorkReceipt>
  output?: Uint8Array
  location?: string
  error?: WorkError
  countersigned?: CountersignedRecord<WorkReceipt>
  controller: AbortController
  listeners: Set<(p: WorkProgress) => void>
}

/** Amounts owed to one provider in one currency this turn, paid by one voucher. */
interface PayBatch {
  amount: number
  voucher?: Promise<SignedRecord<PaymentVoucher>>
}

/** A voucher waiting to be verified with the others of its lane (see `acceptVoucher`). */
interface QueuedVoucher {
  remote: PeerId
  bytes: Uint8Array
  /** decoded, not yet verified */
  value: PaymentVoucher
  currency?: string
  resolve(lane: PayeeLane): void
  reject(err: Error): void
}

interface IssuedQuote {
  quote: SignedRecord<Quote>
  job: JobAnnouncement
  expiresMs: number
}

/**
 * The `/shoal/work/1.0.0` protocol as a libp2p service: quotes, assignments,
 * execution with progress, results, receipts signed by both sides, and
 * cumulative payment vouchers. A node is a requester, a provider (when it
 * has an executor), or both.
 */
export class Work extends TypedEventEmitter<WorkEvents> implements Startable {
  readonly [Symbol.toStringTag] = '@shoal/work'
  readonly [serviceCapabilities]: string[] = ['@shoal/work']

  readonly protocol: string
  /** the provider's view of what requesters owe and paid */
  readonly book: VoucherBook
  /** the requester's payment lanes */
  readonly lanes: VoucherLanes

  private readonly components: WorkComponents
  private readonly log: Logger
  private readonly executor?: Executor
  private readonly bidPolicy?: BidPolicy
  private receipts?: ReceiptSink
  private receiptsResolved = false
  private routerResolved = false
  private router?: OutcomeSink
  private readonly concurrency: number
  private readonly maxInputBytes: number
  private readonly maxOutputBytes: number
  private readonly maxMessageBytes: number
  private readonly stepTimeout: number
  private readonly jobTimeout: number
  private readonly quoteTtl: number
  private readonly assignmentTtl: number
  private readonly maxJobs: number
  private readonly maxUnpaid: number
  private readonly payWithVouchers: boolean
  private readonly gpusPerJob: number
  private readonly meter?: (input: MeterInput) => number
  private readonly maxInboundStreams: number
  private readonly maxOutboundStreams: number
  private readonly runOnLimitedConnection: boolean
  private readonly now: () => number
  private readonly selfBytes: Uint8Array

  /** provider: jobs by assignment id (hex), oldest first */
  private readonly jobs = new Map<string, JobEntry>()
  /**
   * provider: quote id (hex) -> the assignment (hex) that used it and until when it could
   * still be assigned; outlives the job, so neither a replay nor a second assignment of
   * the quote runs once the job is evicted. Expired entries go: the quote is refused anyway.
   */
  private readonly usedQuotes = new Map<string, { assignment: string, until: number }>()
  private readonly maxUsedQuotes: number
  /** provider: quote requests allowed per peer, a token bucket each */
  private readonly quoteBuckets = new Map<string, { tokens: number, at: number }>()
  private readonly quoteRate: number
  private readonly quoteBurst: number
  /** provider: quotes issued, for the executor's job context */
  private readonly issued = new Map<string, IssuedQuote>()
  /** requester: our jobs by job id (hex) */
  private readonly ownJobs = new Map<string, SignedRecord<JobAnnouncement> | JobAnnouncement>()
  /** requester: assignments made (or being signed), by quote id (hex), so a resend reuses the same one */
  private readonly assignments = new Map<string, Promise<SignedRecord<Assignment>>>()
  /** requester: quotes offered for our jobs in the open market, by job id (hex) */
  private readonly offers = new Map<string, Array<SignedRecord<Quote>>>()
  /** requester: idle work streams by peer, reused by the next job */
  private readonly idle = new Map<string, Channel[]>()
  private readonly maxIdleStreams: number
  private readonly idleStreamTimeout: number
  /** requester: amount paid per assignment id (hex), so a resent assignment is not paid again */
  private readonly paidFor = new Map<string, number>()
  /** requester: amounts owed per provider and currency not yet in a voucher (see payEvery) */
  private readonly unvouched = new Map<string, number>()
  /** requester: the voucher being gathered this turn per provider and currency (see payFor) */
  private readonly payBatches = new Map<string, PayBatch>()
  private readonly payEvery: number
  private readonly meterInterval: number
  private sweeper?: ReturnType<typeof setInterval>
  /** provider: vouchers received this turn of the event loop, verified together */
  private voucherQueue: QueuedVoucher[] = []
  private voucherFlush?: ReturnType<typeof setImmediate>
  private lastReceiptId: Uint8Array = EMPTY
  private running = 0
  private started = false

  constructor (components: WorkComponents, init: WorkInit = {}) {
    super()
    this.components = components
    this.log = components.logger.forComponent('shoal:work')
    this.protocol = init.protocol ?? PROTOCOL
    this.executor = init.executor
    this.bidPolicy = init.bidPolicy ?? (init.price != null ? priceBidPolicy({ price: init.price }) : undefined)
    this.receipts = init.receipts
    this.concurrency = Math.max(1, init.concurrency ?? CONCURRENCY)
    this.maxInputBytes = init.maxInputBytes ?? MAX_INPUT_BYTES
    this.maxOutputBytes = init.maxOutputBytes ?? MAX_OUTPUT_BYTES
    this.maxMessageBytes = Math.max(this.maxInputBytes, this.maxOutputBytes) + MESSAGE_OVERHEAD_BYTES
    this.stepTimeout = init.stepTimeout ?? STEP_TIMEOUT
    this.jobTimeout = init.jobTimeout ?? JOB_TIMEOUT
    this.quoteTtl = init.quoteTtl ?? QUOTE_TTL
    this.assignmentTtl = init.assignmentTtl ?? ASSIGNMENT_TTL
    this.maxJobs = Math.max(1, init.maxJobs ?? MAX_JOBS)
    this.maxUnpaid = init.maxUnpaid ?? MAX_UNPAID
    this.payWithVouchers = init.vouchers ?? true
    this.payEvery = Math.max(0, init.payEvery ?? 0)
    this.meterInterval = Math.max(10, init.meterInterval ?? METER_INTERVAL)
    this.gpusPerJob = Math.max(1, init.gpusPerJob ?? 1)
    this.meter = init.meter
    this.maxInboundStreams = init.maxInboundStreams ?? MAX_INBOUND_STREAMS
    this.maxOutboundStreams = init.maxOutboundStreams ?? MAX_OUTBOUND_STREAMS
    this.runOnLimitedConnection = init.runOnLimitedConnection ?? false
    this.now = init.now ?? Date.now
    this.maxIdleStreams = Math.max(0, init.maxIdleStreams ?? MAX_IDLE_STREAMS)
    this.maxUsedQuotes = Math.max(1, init.maxUsedQuotes ?? MAX_USED_QUOTES)
    this.quoteRate = Math.max(0, init.quoteRate ?? QUOTE_RATE)
    this.quoteBurst = Math.max(1, init.quoteBurst ?? QUOTE_BURST)
    // the provider drops a stream idle for stepTimeout; stop reusing ours well before that
    this.idleStreamTimeout = this.stepTimeout / 2
    this.selfBytes = components.peerId.toMultihash().bytes
    this.book = new VoucherBook(components.peerId, components.datastore)
    this.lanes = new VoucherLanes(components.privateKey, components.peerId, this.now, components.datastore)
    this.handleStream = this.handleStream.bind(this)
  }

  async start (): Promise<void> {
    // payment state of earlier runs first: a voucher accepted before a restart still counts
    for (const loaded of [await this.lanes.load(), await this.book.load()]) {
      for (const { key, error } of loaded.skipped) {
        this.log.error('skipped saved payment entry %s - %e', key, error)
      }
    }
    await this.components.registrar.handle(this.protocol, this.handleStream, {
      maxInboundStreams: this.maxInboundStreams,
      maxOutboundStreams: this.maxOutboundStreams,
      runOnLimitedConnection: this.runOnLimitedConnection
    })
    this.sweeper = setInterval(() => { this.sweepIdle() }, this.idleStreamTimeout)
    this.sweeper.unref?.()
    this.started = true
  }

  async stop (): Promise<void> {
    clearInterval(this.sweeper)
    if (this.voucherFlush != null) {
      clearImmediate(this.voucherFlush)
      this.voucherFlush = undefined
    }
    for (const queued of this.voucherQueue) {
      queued.reject(new WorkError('work service stopped'))
    }
    this.voucherQueue = []
    await this.components.registrar.unhandle(this.protocol)
    for (const list of this.idle.values()) {
      list.forEach(channel => { channel.stream.abort(new StreamEndedError('work service stopped')) })
    }
    this.idle.clear()
    for (const job of this.jobs.values()) {
      job.controller.abort(new WorkError('work service stopped'))
    }
    this.started = false
  }

  isStarted (): boolean {
    return this.started
  }

  /** The jobs this provider is running now, oldest first. */
  runningJobs (): RunningJob[] {
    const out: RunningJob[] = []
    for (const job of this.jobs.values()) {
      if (job.state === 'running') {
        out.push({
          assignmentId: job.opened.assignment.id,
          jobId: job.opened.assignment.value.jobId,
          quoteId: job.opened.quote.id,
          peer: job.peer,
          started: job.startedMs,
          progress: job.progress
        })
      }
    }
    return out
  }

  /** Jobs this provider is running now. */
  get load (): { running: number, concurrency: number } {
    return { running: this.running, concurrency: this.concurrency }
  }

  // ------------------------------------------------------------------ requester

  /** Sign a job announcement for `spec` (to publish on a job board, or to send signed in direct mode). */
  async createJob (spec: JobSpec): Promise<SignedRecord<JobAnnouncement>> {
    const job = await signRecord(JobAnnouncementType, this.jobValue(spec), this.components.privateKey)
    this.remember(this.ownJobs, hex(job.value.jobId), job, this.maxJobs)
    return job
  }

  /** The announcement value for `spec`, with a fresh job id. */
  private jobValue (spec: JobSpec): JobAnnouncement {
    const now = Math.floor(this.now())
    const deadline = now + (spec.deadlineIn ?? this.assignmentTtl)
    return {
      version: RECORD_VERSION,
      jobId: newRandomId(),
      requester: this.selfBytes,
      kind: spec.kind ?? JobKind.GPU_INFERENCE,
      requirements: { gpuModel: '', gpuClass: '', minVramMib: 0, gpuCount: 0, sensors: [], region: '', maxRttMs: 0, ...spec.requirements },
      priceCeiling: spec.priceCeiling,
      budget: spec.budget,
      deadlineMs: deadline,
      createdMs: now,
      expiresMs: deadline,
      description: spec.description ?? '',
      inputHash: spec.input != null ? sha256(spec.input) : EMPTY,
      inputBytes: spec.input?.byteLength ?? 0,
      workload: spec.workload ?? ''
    }
  }

  /** Ask `peer` for a signed quote for `job`. Throws QuoteDeclinedError if it will not do it. */
  async requestQuote (peer: PeerId, job: SignedRecord<JobAnnouncement> | JobAnnouncement, options: AbortOptions = {}): Promise<SignedRecord<Quote>> {
    return this.withChannel(peer, options, async channel => this.exchangeQuote(channel, peer, job, options))
  }

  /**
   * Accept `quote` with a signed assignment and run the job: progress, result,
   * result-hash check, countersignature, voucher. Calling it again for the
   * same quote resends the same assignment, and the provider answers with
   * the same result and receipt: it never runs or charges twice.
   */
  async assign (quote: SignedRecord<Quote>, input: Uint8Array, options: RunOptions = {}): Promise<JobOutcome> {
    return this.withChannel(quote.signer, options, async channel => this.exchangeJob(channel, quote, input, options))
  }

  /**
   * Direct mode: quote, assign, result and countersigned receipt in one
   * call. With several candidates, fail over to the next one on failure or
   * after `attemptTimeout`, within `timeout` / `deadline` (uses the router's
   * failover).
   */
  async run (target: PeerId | PeerId[], job: SignedRecord<JobAnnouncement> | JobSpec, input: Uint8Array, options: DirectRunOptions = {}): Promise<RunOutcome> {
    // a spec goes inline and unsigned: the signed assignment is what binds the requester
    const toSend = 'bytes' in job ? job : this.jobValue({ ...job, input })
    if (!('bytes' in toSend)) {
      this.remember(this.ownJobs, hex(toSend.jobId), toSend, this.maxJobs)
    }
    const candidates = Array.isArray(target) ? target : [target]
    let timeout = options.timeout
    if (options.deadline != null) {
      const left = Math.max(0, options.deadline - this.now())
      timeout = timeout == null ? left : Math.min(timeout, left)
    }
    const attempt = async (peer: PeerId, signal: AbortSignal): Promise<JobOutcome> => this.runOn(peer, toSend, input, { ...options, signal })
    if (candidates.length === 1 && options.attemptTimeout == null) {
      const signals = [options.signal, timeout != null ? AbortSignal.timeout(timeout) : undefined].filter((s): s is AbortSignal => s != null)
      const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals)
      const started = performance.now()
      let outcome: JobOutcome
      try {
        outcome = await this.runOn(candidates[0], toSend, input, { ...options, signal })
      } catch (err: any) {
        if (options.signal?.aborted !== true) {
          this.report(candidates[0], err?.name === 'TimeoutError' ? 'timeout' : 'failure')
        }
        throw err
      }
      this.report(candidates[0], 'success')
      return { ...outcome, attempts: [{ candidate: candidates[0], ok: true, cancelled: false, elapsed: performance.now() - started }] }
    }
    const routed = await failover(candidates, attempt, {
      signal: options.signal,
      timeout,
      attemptTimeout: options.attemptTimeout,
      // cancelled attempts say nothing about the provider
      onOutcome: record => {
        if (!record.cancelled) {
          this.report(record.candidate, record.ok ? 'success' : record.error?.name === 'TimeoutError' ? 'timeout' : 'failure')
        }
      }
    })
    return { ...routed.result, attempts: routed.attempts }
  }

  /** Send a countersigned receipt (and voucher) again, e.g. after the first send was lost. */
  async resendCountersign (peer: PeerId, receipt: CountersignedRecord<WorkReceipt>, voucher?: SignedRecord<PaymentVoucher>, options: AbortOptions = {}): Promise<number> {
    return this.withChannel(peer, options, async channel => this.exchangeCountersign(channel, receipt, voucher, this.stepOptions(options)))
  }

  /** Send a voucher on its own; resolves to the lane total the payee now holds. */
  async sendVoucher (peer: PeerId, voucher: SignedRecord<PaymentVoucher> | Uint8Array, options: AbortOptions = {}): Promise<number> {
    const bytes = voucher instanceof Uint8Array ? voucher : voucher.bytes
    return this.withChannel(peer, options, async channel => {
      const step = this.stepOptions(options)
      await channel.send({ kind: 'voucher', body: { voucher: bytes } }, step)
      const ack = await channel.expect(['ack'], step)
      return ack.body.paid
    })
  }

  /** Quotes providers offered for our job in the open market. */
  offersFor (jobId: Uint8Array): Array<SignedRecord<Quote>> {
    return [...(this.offers.get(hex(jobId)) ?? [])]
  }

  private async runOn (peer: PeerId, job: SignedRecord<JobAnnouncement> | JobAnnouncement, input: Uint8Array, options: RunOptions): Promise<JobOutcome> {
    return this.withChannel(peer, options, async channel => {
      const quote = await this.exchangeQuote(channel, peer, job, options)
      return this.exchangeJob(channel, quote, input, options, 'bytes' in job ? job.value : job)
    })
  }

  /**
   * Run `fn` on a work stream to `peer`: an idle one from the pool, else a
   * new one. A stream that finished its exchange cleanly goes back to the
   * pool, saving the stream setup of the next job. If a pooled stream turns
   * out dead (the provider dropped it while idle), `fn` runs again on a
   * fresh stream: every step is idempotent, so a resend is always safe.
   */
  private async withChannel<T> (peer: PeerId, options: AbortOptions, fn: (channel: Channel) => Promise<T>): Promise<T> {
    let channel = this.takeIdle(peer)
    const reused = channel != null
    channel ??= await this.open(peer, options)
    try {
      const result = await fn(channel)
      this.giveIdle(peer, channel)
      return result
    } catch (err: any) {
      channel.stream.abort(err)
      // retry only a stream that died under us: a timeout or refusal would recur, and resending waits twice as long
      if (!reused || options.signal?.aborted === true || err?.name === 'TimeoutError' || err?.name === 'AbortError' || (err instanceof WorkError && !(err instanceof StreamEndedError))) {
        throw err
      }
      this.log('pooled stream to %p failed, retrying on a new one - %e', peer, err)
      this.emit('stream:retried', { peer, error: err })
      const fresh = await this.open(peer, options)
      try {
        const result = await fn(fresh)
        this.giveIdle(peer, fresh)
        return result
      } catch (err: any) {
        fresh.stream.abort(err)
        throw err
      }
    }
  }

  private takeIdle (peer: PeerId): Channel | undefined {
    const key = peer.toString()
    const list = this.idle.get(key)
    const now = performance.now()
    while (list != null && list.length > 0) {
      const channel = list.pop() as Channel
      if (channel.usable() && now - channel.idleSince < this.idleStreamTimeout) {
        return channel
      }
      channel.stream.abort(new StreamEndedError('idle too long'))
    }
    return undefined
  }

  /** Close pooled streams idle too long, before the provider drops them. */
  private sweepIdle (): void {
    const now = performance.now()
    for (const [key, list] of this.idle) {
      const keep = list.filter(channel => channel.usable() && now - channel.idleSince < this.idleStreamTimeout)
      for (const channel of list) {
        if (!keep.includes(channel)) {
          channel.stream.close().catch(() => {})
        }
      }
      if (keep.length === 0) {
        this.idle.delete(key)
      } else {
        this.idle.set(key, keep)
      }
    }
  }

  private giveIdle (peer: PeerId, channel: Channel): void {
    const key = peer.toString()
    let list = this.idle.get(key)
    if (list == null) {
      list = []
      this.idle.set(key, list)
    }
    if (!channel.usable() || list.length >= this.maxIdleStreams || !this.started) {
      channel.stream.close().catch(() => {})
      return
    }
    channel.idleSince = performance.now()
    list.push(channel)
  }

  private async open (peer: PeerId, options: AbortOptions): Promise<Channel> {
    const signal = options.signal ?? AbortSignal.timeout(this.stepTimeout)
    setMaxListeners(Infinity, signal)
    const stream = await this.components.connectionManager.openStream(peer, this.protocol, {
      signal,
      runOnLimitedConnection: this.runOnLimitedConnection,
      maxOutboundStreams: this.maxOutboundStreams,
      negotiateFully: false
    })
    return new Channel(stream, this.maxMessageBytes, this.stepTimeout)
  }

  private stepOptions (options: AbortOptions): AbortOptions {
    return { signal: options.signal ?? AbortSignal.timeout(this.stepTimeout) }
  }

  private async exchangeQuote (channel: Channel, peer: PeerId, job: SignedRecord<JobAnnouncement> | JobAnnouncement, options: AbortOptions): Promise<SignedRecord<Quote>> {
    const step = this.stepOptions(options)
    const body = 'bytes' in job
      ? { job: job.bytes, inlineJob: EMPTY }
      : { job: EMPTY, inlineJob: encodeRecord(JobAnnouncementType, job) }
    const value = 'bytes' in job ? job.value : job
    await channel.send({ kind: 'quoteRequest', body }, step)
    const reply = await channel.expect(['quote'], step)
    let quote: SignedRecord<Quote>
    try {
      quote = await openRecord(QuoteType, reply.body.quote, { now: this.now })
    } catch (err) {
      throw recordFailure(err, 'quote')
    }
    this.checkQuote(quote, peer, value)
    return quote
  }

  private checkQuote (quote: SignedRecord<Quote>, peer: PeerId, job?: JobAnnouncement): void {
    const q = quote.value
    if (!equal(q.provider, peer.toMultihash().bytes) || !equal(q.requester, this.selfBytes)) {
      throw new WrongPeerError('quote is between other peers')
    }
    if (job != null) {
      if (!equal(q.jobId, job.jobId)) {
        throw new WrongPeerError('quote is for another job')
      }
      const ceiling = job.priceCeiling
      if (ceiling == null || q.price == null || q.price.currency !== ceiling.currency || q.price.unit !== ceiling.unit || q.price.perUnit > ceiling.perUnit) {
        throw new QuoteUnacceptableError('quote is above the price ceiling or in another currency or unit')
      }
      if (q.estUnits * q.price.perUnit > job.budget) {
        throw new QuoteUnacceptableError('quote exceeds the budget')
      }
    }
  }

  private async exchangeJob (channel: Channel, quote: SignedRecord<Quote>, input: Uint8Array, options: RunOptions, job?: JobAnnouncement): Promise<JobOutcome> {
    const assignment = await this.assignmentFor(quote, input, options, job)
    const provider = quote.signer
    const step = this.stepOptions(options)
    // the job itself may take long: only the caller's signal bounds it, else the job timeout
    const jobSignal = options.signal ?? AbortSignal.timeout(this.jobTimeout)
    const sentAt = performance.now()
    await channel.send({ kind: 'assign', body: { assignment: assignment.bytes, input } }, { signal: jobSignal })

    const price = quote.value.price as Price
    // paid for this assignment so far: streamed while it ran, or on an earlier send of it (never pay twice)
    const paidKey = hex(assignment.id)
    let paidDuringJob = this.paidFor.get(paidKey) ?? 0
    let result
    while (true) {
      const frame = await channel.expect(['progress', 'result', 'ack', 'error'], { signal: jobSignal })
      if (frame.kind === 'result') {
        result = frame.body
        break
      }
      if (frame.kind === 'ack') {
        continue
      }
      if (frame.kind === 'error') {
        const err = errorFromFailure(frame.body.code, frame.body.message)
        // a streamed voucher overtaken by a later one (another job's) is covered by it
        if (err.name === 'VoucherNonceError') {
          continue
        }
        throw err
      }
      if (!equal(frame.body.assignmentId, assignment.id)) {
        throw new InvalidMessageError('progress for another assignment')
      }
      const progress: WorkProgress = { assignmentId: assignment.id, units: frame.body.units, permille: frame.body.permille, message: frame.body.message }
      options.onProgress?.(progress)
      this.emit('job:progress', progress)
      // pay as the work streams only for what we can check, so the provider is never owed much and we
      // never pay for claims: time-metered units up to the time elapsed since the assignment left,
      // times the slots the job asked for; other units (tokens, jobs) only on the result. Never beyond what was agreed
      const verifiable = isTimeMetered(price.unit) ? Math.ceil((performance.now() - sentAt) / 1000) * this.slotsOf(price, quote.value.jobId, job) : 0
      const accrued = Math.min(progress.units, assignment.value.maxUnits, verifiable) * price.perUnit
      // read and update the paid amount synchronously: a concurrent send of the same assignment must not pay it again
      paidDuringJob = Math.max(paidDuringJob, this.paidFor.get(paidKey) ?? 0)
      if (this.payWithVouchers && accrued - paidDuringJob > 0 && accrued - paidDuringJob >= this.payEvery) {
        const amount = accrued - paidDuringJob
        paidDuringJob = accrued
        this.remember(this.paidFor, paidKey, paidDuringJob, this.maxJobs)
        const voucher = await this.lanes.pay(provider, amount, price.currency, quote.value.jobId)
        await channel.send({ kind: 'voucher', body: { voucher: voucher.bytes } }, step)
      }
    }

    let receipt: SignedRecord<WorkReceipt>
    try {
      receipt = await openRecord(WorkReceiptType, result.receipt, { now: this.now })
    } catch (err: any) {
      if (err instanceof RecordError) {
        throw new InvalidReceiptError(`receipt: ${err.name}: ${err.message}`, { cause: err })
      }
      throw err
    }
    const r = receipt.value
    if (!equal(r.provider, quote.value.provider) || !equal(r.requester, this.selfBytes)) {
      throw new InvalidReceiptError('receipt is between other peers')
    }
    if (!equal(r.assignmentId, assignment.id) || !equal(r.jobId, quote.value.jobId)) {
      throw new InvalidReceiptError('receipt is for another assignment')
    }
    if (!samePrice(r.price, quote.value.price)) {
      throw new InvalidReceiptError('receipt price differs from the quote')
    }
    if (r.units > assignment.value.maxUnits) {
      throw new InvalidReceiptError(`receipt charges ${r.units} units, assignment allows ${assignment.value.maxUnits}`)
    }

    let output = result.output
    if (output.byteLength === 0 && result.location !== '') {
      if (options.fetchOutput == null) {
        throw new InvalidReceiptError(`output is at ${result.location} and no fetchOutput was given`)
      }
      output = await options.fetchOutput(result.location, r, { signal: jobSignal })
    }
    if (!equal(sha256(output), r.resultHash)) {
      const err = new ResultHashMismatchError('output does not hash to the receipt\'s resultHash')
      // tell the provider why it gets no countersignature, then give up on it
      await channel.fail(err, step).catch(() => {})
      throw err
    }

    const both = await countersign(receipt, this.components.privateKey)
    await this.store(both, options)
    this.emit('receipt:countersigned', both)
    paidDuringJob = Math.max(paidDuringJob, this.paidFor.get(paidKey) ?? 0)
    let voucher: SignedRecord<PaymentVoucher> | undefined
    if (this.payWithVouchers && r.total > paidDuringJob && r.price != null) {
      this.remember(this.paidFor, paidKey, r.total, this.maxJobs)
      voucher = await this.payFor(provider, r.total - paidDuringJob, r.price.currency, r.jobId)
    }

    let acknowledged = false
    try {
      await this.exchangeCountersign(channel, both, voucher, step)
      acknowledged = true
    } catch (err) {
      // the work is done and we hold both copies; the provider can get the countersignature again
      this.log('countersignature to %p not acknowledged - %e', provider, err)
    }
    return { provider, output, receipt: both, quote, assignment, voucher, acknowledged }
  }

  /** Units of time-metered work that may accrue per second of a job: its GPUs for `gpu-second`, else 1. */
  private slotsOf (price: Price, jobId: Uint8Array, job?: JobAnnouncement): number {
    if (price.unit !== 'gpu-second') {
      return 1
    }
    const own = job ?? this.ownJobs.get(hex(jobId))
    const value = own == null ? undefined : 'bytes' in own ? own.value : own
    return Math.max(1, value?.requirements?.gpuCount ?? 1)
  }

  /** Pay `amount` owed to `provider`: a voucher once at least `payEvery` is owed, else just remember it. */
  private async payFor (provider: PeerId, amount: number, currency: string, jobId: Uint8Array): Promise<SignedRecord<PaymentVoucher> | undefined> {
    const key = `${provider.toString()}/${currency}`
    const owed = (this.unvouched.get(key) ?? 0) + amount
    if (owed < this.payEvery) {
      this.unvouched.set(key, owed)
      return undefined
    }
    this.unvouched.delete(key)
    // receipts paid in the same turn of the event loop share one voucher covering them all:
    // vouchers are cumulative, so one signature does the work of many
    let batch = this.payBatches.get(key)
    if (batch == null) {
      const pending: PayBatch = { amount: 0 }
      pending.voucher = new Promise<void>(resolve => { setImmediate(resolve) }).then(async () => {
        this.payBatches.delete(key)
        return this.lanes.pay(provider, pending.amount, currency, jobId)
      })
      this.payBatches.set(key, pending)
      batch = pending
    }
    batch.amount += owed
    return batch.voucher
  }

  private async exchangeCountersign (channel: Channel, receipt: CountersignedRecord<WorkReceipt>, voucher: SignedRecord<PaymentVoucher> | undefined, options: AbortOptions): Promise<number> {
    await channel.send({ kind: 'countersign', body: { receipt: receipt.bytes, voucher: voucher?.bytes ?? EMPTY } }, options)
    try {
      // acks of vouchers sent while the job ran may come first: skip to the one naming this receipt
      for (let skipped = 0; ; skipped++) {
        const ack = await channel.expect(['ack'], options)
        if (equal(ack.body.id, receipt.id)) {
          return ack.body.paid
        }
        if (skipped >= MAX_STALE_ACKS) {
          throw new InvalidMessageError('no acknowledgement of the countersigned receipt')
        }
      }
    } catch (err: any) {
      // a voucher overtaken by a later one on another stream is stale, not wrong: the later one covers it
      if (err?.name === 'VoucherNonceError' && voucher != null) {
        const lane = this.lanes.lane(receipt.record.signer, voucher.value.currency)
        if (lane.nonce > voucher.value.nonce) {
          return lane.cumulative
        }
      }
      throw err
    }
  }

  private async assignmentFor (quote: SignedRecord<Quote>, input: Uint8Array, options: RunOptions, job?: JobAnnouncement): Promise<SignedRecord<Assignment>> {
    const key = hex(quote.id)
    let assignment = this.assignments.get(key)
    if (assignment == null) {
      // remembered before it is signed: two sends of one quote at once must carry one assignment
      assignment = this.signAssignment(quote, input, options, job)
      this.remember(this.assignments, key, assignment, this.maxJobs)
      const signing = assignment
      signing.catch(() => {
        if (this.assignments.get(key) === signing) {
          this.assignments.delete(key)
        }
      })
    }
    return assignment
  }

  private async signAssignment (quote: SignedRecord<Quote>, input: Uint8Array, options: RunOptions, job?: JobAnnouncement): Promise<SignedRecord<Assignment>> {
    const q = quote.value
    const perUnit = q.price?.perUnit ?? 0
    const own = this.ownJobs.get(hex(q.jobId))
    const budget = job?.budget ?? (own == null ? undefined : 'bytes' in own ? own.value.budget : own.budget)
    let maxUnits = options.maxUnits ?? (budget != null && perUnit > 0 ? Math.floor(budget / perUnit) : Math.max(1, q.estUnits))
    maxUnits = Math.max(1, maxUnits)
    const now = Math.floor(this.now())
    return signRecord(AssignmentType, {
      version: RECORD_VERSION,
      jobId: q.jobId,
      requester: this.selfBytes,
      provider: q.provider,
      quote: quote.bytes,
      maxUnits,
      inputHash: sha256(input),
      createdMs: now,
      expiresMs: now + this.assignmentTtl,
      nonce: newRandomId()
    }, this.components.privateKey)
  }

  /** Tell the node's router (if it has one) how a provider did. */
  private report (peer: PeerId, event: TrustEvent): void {
    if (!this.routerResolved) {
      this.routerResolved = true
      // libp2p's components throw for a service that is not configured; the router is optional
      try {
        this.router = this.components.router
      } catch {}
    }
    try {
      this.router?.report(peer, event)
    } catch (err: any) {
      this.log.error('router report failed - %e', err)
    }
  }

  private async store (receipt: SignedRecord<WorkReceipt> | CountersignedRecord<WorkReceipt>, options: AbortOptions): Promise<void> {
    if (!this.receiptsResolved) {
      this.receiptsResolved = true
      // libp2p's components throw for a service that is not configured; the store is optional
      try {
        this.receipts ??= this.components.receipts
      } catch {}
    }
    if (this.receipts == null) {
      return
    }
    try {
      await this.receipts.put(receipt, options)
    } catch (err) {
      this.log.error('could not store receipt - %e', err)
    }
  }

  // ------------------------------------------------------------------ provider

  /**
   * Open market: answer a job announced on the job board with a quote, sent
   * to the requester, if the bid policy bids. Wire it to the job board's
   * `job:announced` event. Resolves to the quote, or undefined if declined.
   */
  async onJobAnnounced (job: SignedRecord<JobAnnouncement> | Uint8Array, options: AbortOptions = {}): Promise<SignedRecord<Quote> | undefined> {
    let opened: SignedRecord<JobAnnouncement>
    try {
      opened = job instanceof Uint8Array ? await openRecord(JobAnnouncementType, job, { now: this.now }) : job
    } catch (err) {
      throw recordFailure(err, 'job')
    }
    const quote = await this.makeQuote(opened.value, opened.signer)
    if (quote == null) {
      return undefined
    }
    await this.withChannel(opened.signer, options, async channel => {
      const step = this.stepOptions(options)
      await channel.send({ kind: 'quote', body: { quote: quote.bytes } }, step)
      await channel.expect(['ack'], step)
    })
    return quote
  }

  /** One-sided receipts: jobs done whose requester has not countersigned (with its signed assignment as evidence). */
  pendingReceipts (): PendingReceipt[] {
    const out: PendingReceipt[] = []
    for (const job of this.jobs.values()) {
      if (job.state === 'done' && job.receipt != null) {
        out.push({ assignment: job.assignmentBytes, receipt: job.receipt })
      }
    }
    return out
  }

  private async makeQuote (job: JobAnnouncement, requester: PeerId): Promise<SignedRecord<Quote> | undefined> {
    if (this.executor == null || this.bidPolicy == null) {
      return undefined
    }
    if (!equal(job.requester, requester.toMultihash().bytes)) {
      throw new WrongPeerError('job announced by another peer')
    }
    this.takeQuoteToken(requester)
    const now = Math.floor(this.now())
    const bid = await this.bidPolicy.bid(job, { running: this.running, concurrency: this.concurrency, requester, now })
    if (bid == null) {
      return undefined
    }
    const expiresMs = now + Math.max(1, Math.min(this.quoteTtl, Math.max(1, job.deadlineMs - now)))
    const quote = await signRecord(QuoteType, {
      version: RECORD_VERSION,
      jobId: job.jobId,
      requester: job.requester,
      provider: this.selfBytes,
      price: bid.price,
      estUnits: bid.estUnits,
      etaMs: bid.etaMs,
      freeSlots: Math.max(0, this.concurrency - this.running),
      createdMs: now,
      expiresMs,
      nonce: newRandomId()
    }, this.components.privateKey)
    this.pruneIssued(now)
    this.issued.set(hex(quote.id), { quote, job, expiresMs })
    this.emit('quote:issued', quote)
    return quote
  }

  /**
   * Forget quotes from the oldest while the record is full or they have
   * expired. Quotes are issued in (nearly) expiry order, so the walk stops
   * at the first one still wanted: walking the whole record on every quote
   * once it was full cost more than signing the quote.
   */
  private pruneIssued (now: number): void {
    const max = this.maxJobs * 4
    for (const [key, q] of this.issued) {
      if (q.expiresMs >= now && this.issued.size < max) {
        break
      }
      this.issued.delete(key)
    }
  }

  private async handleStream (stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer
    const channel = new Channel(stream, this.maxMessageBytes, this.stepTimeout)
    const tasks = new Set<Promise<void>>()
    // a requester keeps a stream open between jobs; drop it after stepTimeout without a frame
    // while no job of it runs (a job bounds itself). One timer per stream, re-armed per frame:
    // a timeout signal per read costs more than the rest of the bookkeeping of a job
    const idle = new AbortController()
    const timer = setTimeout(function expire () {
      if (tasks.size > 0) {
        timer.refresh()
        return
      }
      idle.abort(new TimeoutError('work stream idle'))
    }, this.stepTimeout)
    try {
      while (true) {
        let frame: WorkFrame | undefined
        try {
          frame = await channel.next(idle)
        } catch (err) {
          if (err instanceof InvalidMessageError) {
            await channel.fail(err).catch(() => {})
          }
          if (idle.signal.aborted && tasks.size === 0) {
            break
          }
          throw err
        }
        timer.refresh()
        if (frame == null) {
          break
        }
        if (frame.kind === 'assign') {
          const body = frame.body
          const task: Promise<void> = this.onAssign(channel, remote, body.assignment, body.input).finally(() => { tasks.delete(task) })
          tasks.add(task)
          continue
        }
        try {
          await this.onFrame(channel, remote, frame)
        } catch (err) {
          if (!(err instanceof WorkError)) {
            throw err
          }
          this.log('refused %s from %p - %e', frame.kind, remote, err)
          await channel.fail(err)
        }
      }
      await Promise.all([...tasks])
      await stream.close(this.stepOptions({})).catch(() => {})
    } catch (err: any) {
      this.log('work stream from %p failed - %e', remote, err)
      stream.abort(err)
    } finally {
      clearTimeout(timer)
    }
  }

  private async onFrame (channel: Channel, remote: PeerId, frame: WorkFrame): Promise<void> {
    // sends without a signal time out lazily (see Channel)
    const step: AbortOptions = {}
    switch (frame.kind) {
      case 'quoteRequest': {
        const job = await this.openJob(frame.body.job, frame.body.inlineJob)
        const quote = await this.makeQuote(job, remote)
        if (quote == null) {
          throw new QuoteDeclinedError('no bid for this job')
        }
        await channel.send({ kind: 'quote', body: { quote: quote.bytes } }, step)
        return
      }
      case 'countersign': {
        const { id, paid } = await this.onCountersign(remote, frame.body.receipt, frame.body.voucher)
        // acks name what they acknowledge: a voucher's ack may still be in flight on this stream
        await channel.send({ kind: 'ack', body: { id, paid } }, step)
        return
      }
      case 'voucher': {
        const lane = await this.acceptVoucher(remote, frame.body.voucher)
        await channel.send({ kind: 'ack', body: { id: recordId(frame.body.voucher), paid: lane.cumulative } }, step)
        return
      }
      case 'quote': {
        // open market: a provider offers a quote for one of our jobs
        let quote: SignedRecord<Quote>
        try {
          quote = await openRecord(QuoteType, frame.body.quote, { now: this.now })
        } catch (err) {
          throw recordFailure(err, 'quote')
        }
        const job = this.ownJobs.get(hex(quote.value.jobId))
        if (job == null) {
          throw new UnknownJobError('no such job of ours')
        }
        this.checkQuote(quote, remote, 'bytes' in job ? job.value : job)
        const list = this.offers.get(hex(quote.value.jobId)) ?? []
        if (list.length < 64) {
          list.push(quote)
        }
        this.remember(this.offers, hex(quote.value.jobId), list, this.maxJobs)
        this.emit('quote:received', quote)
        await channel.send({ kind: 'ack', body: { id: quote.id, paid: 0 } }, step)
        return
      }
      case 'error':
        this.log('peer %p reports %s: %s', remote, frame.body.code, frame.body.message)
        return
      default:
        throw new InvalidMessageError(`unexpected ${frame.kind}`)
    }
  }

  /** The job of a quote request: a signed announcement, or an inline one checked like one (values, size, time). */
  private async openJob (signed: Uint8Array, inline: Uint8Array): Promise<JobAnnouncement> {
    try {
      if (signed.byteLength > 0) {
        return (await openRecord(JobAnnouncementType, signed, { now: this.now })).value
      }
      return decodeInlineJob(inline, this.now())
    } catch (err) {
      throw recordFailure(err, 'job')
    }
  }

  private async onAssign (channel: Channel, remote: PeerId, assignmentBytes: Uint8Array, input: Uint8Array): Promise<void> {
    const step: AbortOptions = {}
    const forward = (p: WorkProgress): void => {
      channel.send({ kind: 'progress', body: { assignmentId: p.assignmentId, units: p.units, permille: p.permille, message: p.message } }, step).catch(() => {})
    }
    let job: JobEntry
    try {
      job = await this.admit(remote, assignmentBytes, input, forward)
    } catch (err) {
      if (!(err instanceof WorkError)) {
        this.log.error('assignment from %p failed - %e', remote, err)
        await channel.fail(new WorkError('internal error'), step).catch(() => {})
        return
      }
      this.log('refused assignment from %p - %e', remote, err)
      await channel.fail(err, step).catch(() => {})
      return
    }

    try {
      await job.done
    } finally {
      job.listeners.delete(forward)
    }
    if (job.error != null || job.receipt == null || job.output == null) {
      await channel.fail(job.error ?? new ExecutorError('job failed'), step).catch(() => {})
      return
    }
    await channel.send({ kind: 'result', body: { receipt: job.receipt.bytes, output: job.output, location: job.location ?? '' } }, step).catch((err) => {
      this.log('could not send result to %p - %e', remote, err)
    })
  }

  /** Accept an assignment (or find the job it already started) and start the job. */
  private async admit (remote: PeerId, assignmentBytes: Uint8Array, input: Uint8Array, listener: (p: WorkProgress) => void): Promise<JobEntry> {
    if (this.executor == null) {
      throw new QuoteDeclinedError('this node runs no jobs')
    }
    if (input.byteLength > this.maxInputBytes) {
      throw new PayloadTooLargeError(`input is ${input.byteLength} bytes, limit is ${this.maxInputBytes}`)
    }
    const key = hex(sha256(assignmentBytes))
    const existing = this.jobs.get(key)
    if (existing != null) {
      if (existing.requester !== remote.toString()) {
        throw new WrongPeerError('assignment belongs to another requester')
      }
      // a resend joins the running job; bounded, so resends cannot pile up listeners
      if (existing.listeners.size >= MAX_LISTENERS_PER_JOB) {
        throw new ProviderBusyError('too many resends of this assignment in flight')
      }
      existing.listeners.add(listener)
      return existing
    }

    let opened: OpenedAssignment
    try {
      opened = await this.openAssignment(assignmentBytes)
    } catch (err) {
      throw recordFailure(err, 'assignment')
    }
    const a = opened.assignment.value
    if (!equal(a.provider, this.selfBytes)) {
      throw new WrongPeerError('assignment is for another provider')
    }
    if (!equal(a.requester, remote.toMultihash().bytes)) {
      throw new WrongPeerError('assignment is from another requester than the sender')
    }
    // re-check after the await: a concurrent resend of the same assignment may have started it
    const raced = this.jobs.get(key)
    if (raced != null) {
      raced.listeners.add(listener)
      return raced
    }
    const quoteKey = hex(opened.quote.id)
    const now = this.now()
    const used = this.usedQuotes.get(quoteKey)
    if (used != null && used.until >= now) {
      if (used.assignment === key) {
        throw new AssignmentReplayedError('assignment was executed before; its result is no longer kept')
      }
      throw new QuoteReusedError('quote was accepted by another assignment')
    }
    // a quote can be assigned until then; the used-quote record must outlive that
    const assignableUntil = opened.quote.value.expiresMs + this.assignmentTtl
    if (assignableUntil < now) {
      throw new InvalidRecordError('quote is too old to be assigned')
    }
    if (a.inputHash.byteLength > 0 && !equal(a.inputHash, sha256(input))) {
      throw new InputMismatchError()
    }
    if (this.running >= this.concurrency) {
      throw new ProviderBusyError(`running ${this.running} of ${this.concurrency} jobs`)
    }
    const currency = opened.quote.value.price?.currency ?? ''
    if (this.book.unpaid(remote, currency) > this.maxUnpaid) {
      throw new PaymentRequiredError(`owes ${this.book.unpaid(remote, currency)} ${currency}, limit is ${this.maxUnpaid}`)
    }

    this.useQuote(quoteKey, key, assignableUntil, now)

    const controller = new AbortController()
    const entry: JobEntry = {
      key,
      assignmentBytes,
      opened,
      requester: remote.toString(),
      peer: remote,
      startedMs: now,
      state: 'running',
      done: Promise.resolve(),
      controller,
      // listen before the executor starts: it may report progress synchronously
      listeners: new Set([listener])
    }
    this.addJob(entry)
    this.running++
    this.emit('job:started', opened)
    entry.done = this.execute(entry, remote, input).finally(() => { this.running-- })
    return entry
  }

  /**
   * Open an assignment. When the quote inside is byte for byte one this
   * node signed and still holds, its signature is not verified again (the
   * same checks as `openAssignment` otherwise): one signature check less per job.
   */
  private async openAssignment (bytes: Uint8Array): Promise<OpenedAssignment> {
    const assignment = await openRecord(AssignmentType, bytes, { now: this.now })
    const issued = this.issued.get(hex(sha256(assignment.value.quote)))
    if (issued == null || !equal(issued.quote.bytes, assignment.value.quote)) {
      return openAssignment(bytes, { now: this.now })
    }
    const a = assignment.value
    const q = issued.quote.value
    if (!equal(a.jobId, q.jobId) || !equal(a.provider, q.provider) || !equal(a.requester, q.requester)) {
      throw new InvalidRecordError('assignment and quote disagree on the job or the peers')
    }
    return { assignment, quote: issued.quote }
  }

  private addJob (entry: JobEntry): void {
    this.jobs.set(entry.key, entry)
    if (this.jobs.size <= this.maxJobs) {
      return
    }
    // evict the oldest finished job; its quote stays in usedQuotes, so a replay is refused, never re-run
    for (const [key, job] of this.jobs) {
      if (job.state !== 'running') {
        this.jobs.delete(key)
        break
      }
    }
  }

  /**
   * Record that `quoteKey` was used by `assignment`. Throws ProviderBusyError
   * when the record is full of unexpired quotes: forgetting one would let it be
   * assigned again.
   */
  private useQuote (quoteKey: string, assignment: string, until: number, now: number): void {
    // entries come roughly in expiry order: drop expired ones from the front
    for (const [key, entry] of this.usedQuotes) {
      if (entry.until >= now) {
        break
      }
      this.usedQuotes.delete(key)
    }
    if (this.usedQuotes.size >= this.maxUsedQuotes) {
      for (const [key, entry] of this.usedQuotes) {
        if (entry.until < now) {
          this.usedQuotes.delete(key)
        }
      }
      if (this.usedQuotes.size >= this.maxUsedQuotes) {
        throw new ProviderBusyError(`${this.usedQuotes.size} assigned quotes not yet expired`)
      }
    }
    this.usedQuotes.set(quoteKey, { assignment, until })
  }

  /** Take a token from `peer`'s quote bucket, or throw QuoteRateLimitedError. */
  private takeQuoteToken (peer: PeerId): void {
    const key = peer.toString()
    const now = this.now()
    let bucket = this.quoteBuckets.get(key)
    if (bucket == null) {
      if (this.quoteBuckets.size >= MAX_QUOTE_BUCKETS) {
        // a bucket that refilled says nothing: forget those first
        for (const [k, b] of this.quoteBuckets) {
          if (b.tokens + (now - b.at) * this.quoteRate / 1000 >= this.quoteBurst) {
            this.quoteBuckets.delete(k)
          }
        }
        if (this.quoteBuckets.size >= MAX_QUOTE_BUCKETS) {
          const oldest = this.quoteBuckets.keys().next().value
          if (oldest != null) {
            this.quoteBuckets.delete(oldest)
          }
        }
      }
      bucket = { tokens: this.quoteBurst, at: now }
      this.quoteBuckets.set(key, bucket)
    } else {
      bucket.tokens = Math.min(this.quoteBurst, bucket.tokens + Math.max(0, now - bucket.at) * this.quoteRate / 1000)
      bucket.at = now
    }
    if (bucket.tokens < 1) {
      throw new QuoteRateLimitedError(`more than ${this.quoteRate} quote requests per second`)
    }
    bucket.tokens -= 1
  }

  private async execute (entry: JobEntry, remote: PeerId, input: Uint8Array): Promise<void> {
    const executor = this.executor as Executor
    const a = entry.opened.assignment.value
    const q = entry.opened.quote.value
    const price = q.price as Price
    const startedMs = Math.max(1, Math.floor(this.now()))
    const t0 = performance.now()
    const timeLeft = Math.max(1, Math.min(this.jobTimeout, a.expiresMs - this.now()))
    // a timer on the job's own controller: cheaper than AbortSignal.any over a timeout signal
    const deadline = setTimeout(() => { entry.controller.abort(new TimeoutError(`job ran out of its ${timeLeft} ms`)) }, timeLeft)
    const signal = entry.controller.signal
    setMaxListeners(Infinity, signal)
    const assignmentId = entry.opened.assignment.id
    const meter = this.meter ?? defaultMeter
    let reported: number | undefined
    const unitsNow = (final = false): number => Math.min(Math.max(0, Math.floor(meter({ wallMs: performance.now() - t0, reported, price, gpus: this.gpusPerJob, final }))), a.maxUnits)
    let last = { permille: 0, message: '' }
    let stoppedUnpaid = false

    // tell the requester what it owes so far, and stop the job once it owes more than maxUnpaid
    const publish = (): void => {
      const progress: WorkProgress = { assignmentId, units: unitsNow(), permille: last.permille, message: last.message }
      entry.progress = progress
      for (const listener of entry.listeners) {
        listener(progress)
      }
      this.emit('job:progress', progress)
      if (!stoppedUnpaid && this.book.unpaid(remote, price.currency) + progress.units * price.perUnit > this.maxUnpaid) {
        stoppedUnpaid = true
        entry.controller.abort(new PaymentRequiredError(`owes more than ${this.maxUnpaid}; job stopped`))
      }
    }
    const onProgress = (p: ExecutorProgress): void => {
      if (p.units != null && Number.isFinite(p.units)) {
        reported = p.units
      }
      last = {
        permille: Math.max(0, Math.min(1000, Math.floor(p.permille ?? last.permille))),
        message: (p.message ?? '').slice(0, 500)
      }
      publish()
    }
    // time-metered work accrues without the executor saying so
    const ticker = isTimeMetered(price.unit) ? setInterval(publish, this.meterInterval) : undefined

    let result: ExecutorResult
    try {
      result = await executor.run(input, { signal, onProgress, job: this.issued.get(hex(entry.opened.quote.id))?.job, quote: q, requester: remote })
      if (!(result?.output instanceof Uint8Array)) {
        throw new ExecutorError('executor returned no output')
      }
      if (result.output.byteLength > this.maxOutputBytes) {
        throw new PayloadTooLargeError(`output is ${result.output.byteLength} bytes, limit is ${this.maxOutputBytes}; return a location instead`)
      }
      if (result.location != null && (result.location === '' || result.location.length > MAX_LOCATION_LENGTH || result.outputHash?.byteLength !== 32 || result.output.byteLength !== 0)) {
        throw new ExecutorError('an output at a location needs a location of 1..1024 characters, a 32-byte outputHash and no inline output')
      }
    } catch (err: any) {
      if (stoppedUnpaid) {
        // the work done so far is still owed: receipt it, with no output and status 402
        result = { output: EMPTY, units: reported, status: PAYMENT_REQUIRED_STATUS }
      } else {
        clearInterval(ticker)
        entry.state = 'failed'
        entry.error = err instanceof WorkError ? err : new ExecutorError(`executor failed: ${err?.message ?? err}`, { cause: err })
        this.emit('job:failed', { assignmentId, error: entry.error })
        return
      }
    } finally {
      clearInterval(ticker)
      clearTimeout(deadline)
    }

    if (result.units != null) {
      reported = result.units
    }
    const units = unitsNow(true)
    const endedMs = Math.max(startedMs, Math.floor(this.now()))
    try {
      const receipt = await signRecord(WorkReceiptType, {
        version: RECORD_VERSION,
        jobId: a.jobId,
        assignmentId,
        requester: a.requester,
        provider: this.selfBytes,
        units,
        price,
        total: units * price.perUnit,
        resultHash: result.location != null ? result.outputHash as Uint8Array : sha256(result.output),
        startedMs,
        endedMs,
        status: Number.isInteger(result.status) ? result.status : 1,
        prev: this.lastReceiptId
      }, this.components.privateKey)
      this.lastReceiptId = receipt.id
      entry.receipt = receipt
      entry.output = result.output
      entry.location = result.location ?? ''
      entry.state = 'done'
      this.book.charge(remote, receipt.value.total, receipt.value.price?.currency ?? '')
      await Promise.all([this.store(receipt, {}), this.book.saveCharge(remote, receipt.value.price?.currency ?? '')])
      this.emit('job:completed', receipt)
    } catch (err: any) {
      entry.state = 'failed'
      entry.error = err instanceof WorkError ? err : new ExecutorError(`could not sign receipt: ${err?.message ?? err}`, { cause: err })
      this.emit('job:failed', { assignmentId, error: entry.error })
    }
  }

  private async onCountersign (remote: PeerId, bytes: Uint8Array, voucherBytes: Uint8Array): Promise<{ id: Uint8Array, paid: number }> {
    let both: CountersignedRecord<WorkReceipt>
    try {
      // our own receipt inside was signed here: only the countersignature needs checking
      const assignmentId = receiptAssignmentId(bytes)
      const own = assignmentId == null ? undefined : this.jobs.get(hex(assignmentId))?.receipt
      both = await openCountersigned(WorkReceiptType, bytes, { ignoreTime: true, knownRecord: own })
    } catch (err: any) {
      if (err instanceof RecordError) {
        throw new InvalidCountersignatureError(`${err.name}: ${err.message}`, { cause: err })
      }
      throw err
    }
    const r = both.record.value
    if (!equal(r.provider, this.selfBytes)) {
      throw new InvalidReceiptError('receipt of another provider')
    }
    const job = this.jobs.get(hex(r.assignmentId))
    if (job?.receipt == null || !equal(job.receipt.bytes, both.record.bytes)) {
      throw new UnknownJobError('no such receipt issued here')
    }
    if (job.state !== 'countersigned') {
      job.state = 'countersigned'
      job.countersigned = both
      await this.store(both, {})
      this.emit('receipt:countersigned', both)
    }
    if (voucherBytes.byteLength > 0) {
      const lane = await this.acceptVoucher(remote, voucherBytes, r.price?.currency)
      return { id: both.id, paid: lane.cumulative }
    }
    return { id: both.id, paid: this.book.paid(remote, r.price?.currency) }
  }

  /**
   * Accept a voucher, verified together with the others of its lane that
   * arrive in the same turn of the event loop: vouchers are cumulative, so
   * when a payer's vouchers agree (a higher nonce never has a lower total)
   * the newest covers the rest and is the only one whose signature is
   * checked; the others are acknowledged as covered, never credited on
   * their own. One voucher, or vouchers that disagree, are checked one by one.
   */
  private async acceptVoucher (remote: PeerId, bytes: Uint8Array, currency?: string): Promise<PayeeLane> {
    let value: PaymentVoucher
    try {
      // unverified: only to group it with its lane; nothing is credited before the signature is checked
      value = decodeRecord(PaymentVoucherType, bytes)
    } catch (err: any) {
      if (err instanceof RecordError) {
        throw new InvalidVoucherError(`${err.name}: ${err.message}`, { cause: err })
      }
      throw err
    }
    return new Promise<PayeeLane>((resolve, reject) => {
      this.voucherQueue.push({ remote, bytes, value, currency, resolve, reject })
      this.voucherFlush ??= setImmediate(() => { this.flushVouchers() })
    })
  }

  private flushVouchers (): void {
    this.voucherFlush = undefined
    const groups = new Map<string, QueuedVoucher[]>()
    for (const queued of this.voucherQueue) {
      const key = `${queued.remote.toString()}/${hex(queued.value.lane)}`
      const group = groups.get(key)
      if (group == null) {
        groups.set(key, [queued])
      } else {
        group.push(queued)
      }
    }
    this.voucherQueue = []
    for (const group of groups.values()) {
      void this.acceptVoucherGroup(group)
    }
  }

  private async acceptVoucherGroup (group: QueuedVoucher[]): Promise<void> {
    let rest = group
    if (group.length > 1) {
      const newest = [...group].sort((a, b) => b.value.nonce - a.value.nonce)
      const top = newest[0]
      const payer = top.remote.toMultihash().bytes
      const agree = newest.every((q, i) => equal(q.value.payer, payer) && equal(q.value.payee, this.selfBytes) &&
        q.value.currency === top.value.currency && q.currency === top.currency &&
        (i === 0 || equal(q.bytes, newest[i - 1].bytes) || (q.value.nonce < newest[i - 1].value.nonce && q.value.cumulative <= newest[i - 1].value.cumulative)))
      if (agree) {
        try {
          const lane = await this.acceptOneVoucher(top.remote, top.bytes, top.currency)
          for (const q of group) {
            q.resolve({ ...lane })
          }
          return
        } catch (err: any) {
          top.reject(err)
          rest = group.filter(q => q !== top)
          if (err instanceof VoucherNonceError) {
            // the lane is past the newest: it is past all the others too (refused, so nothing to verify)
            for (const q of rest) {
              q.reject(new VoucherNonceError(`nonce ${q.value.nonce} is not above the lane's`))
            }
            return
          }
        }
      }
    }
    // in arrival order, as if each came alone
    for (const q of rest) {
      try {
        q.resolve(await this.acceptOneVoucher(q.remote, q.bytes, q.currency))
      } catch (err: any) {
        q.reject(err)
      }
    }
  }

  private async acceptOneVoucher (remote: PeerId, bytes: Uint8Array, currency?: string): Promise<PayeeLane> {
    // the lane's latest voucher sent again (a resend, or one voucher paying several receipts): already verified and held
    const held = this.book.holding(remote, bytes)
    if (held != null) {
      return held
    }
    let voucher: SignedRecord<PaymentVoucher>
    try {
      voucher = await openRecord(PaymentVoucherType, bytes, { ignoreTime: true })
    } catch (err: any) {
      if (err instanceof RecordError) {
        throw new InvalidVoucherError(`${err.name}: ${err.message}`, { cause: err })
      }
      throw err
    }
    if (!equal(voucher.value.payer, remote.toMultihash().bytes)) {
      throw new InvalidVoucherError('voucher from another payer than the sender')
    }
    const lane = this.book.accept(voucher, currency)
    // saved before it is acknowledged: an acknowledged voucher survives a crash
    await this.book.save(lane)
    this.emit('voucher:accepted', lane)
    return lane
  }

  // ------------------------------------------------------------------ helpers

  private emit<K extends keyof WorkEvents> (type: K, detail: WorkEvents[K] extends CustomEvent<infer D> ? D : never): void {
    if (this.listenerCount(type) === 0) {
      return
    }
    try {
      this.safeDispatchEvent(type, { detail })
    } catch (err) {
      this.log.error('event listener for %s threw - %e', type, err)
    }
  }

  private remember<V> (map: Map<string, V>, key: string, value: V, max: number): void {
    map.set(key, value)
    if (map.size > max) {
      const oldest = map.keys().next().value
      if (oldest != null) {
        map.delete(oldest)
      }
    }
  }
}

/**
 * Default metering: the executor's units, else wall seconds (× GPUs for
 * `gpu-second`) rounded up, else one per job (accrued when it finishes).
 */
export function defaultMeter (input: MeterInput): number {
  if (input.reported != null && Number.isFinite(input.reported)) {
    return Math.max(0, Math.ceil(input.reported))
  }
  const unit = input.price.unit
  if (unit === 'gpu-second') {
    return Math.max(1, Math.ceil(input.wallMs * input.gpus / 1000))
  }
  if (isTimeMetered(unit)) {
    return Math.max(1, Math.ceil(input.wallMs / 1000))
  }
  return input.final === false ? 0 : 1
}

/** The assignment id inside countersigned receipt bytes, read without checking signatures (a lookup key only). */
function receiptAssignmentId (bytes: Uint8Array): Uint8Array | undefined {
  try {
    return decodeRecord(WorkReceiptType, Countersigned.decode(bytes).envelope).assignmentId
  } catch {
    return undefined
  }
}
