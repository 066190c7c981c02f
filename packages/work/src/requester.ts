/**
 * The requester's role: sign jobs, ask for quotes, assign them, follow the
 * job's progress (paying time-metered work as it accrues), check the result
 * and receipt, countersign and pay. Direct runs fail over between providers.
 */

import {
  AssignmentType, JobAnnouncementType, JobKind, QuoteType, RECORD_VERSION, RecordError, WorkReceiptType,
  countersign, encodeRecord, newRandomId, openRecord, signRecord
} from '@shoal/records'
import { failover } from '@shoal/router'
import { remember, stepOptions } from './context.js'
import { MAX_STALE_ACKS } from './constants.js'
import {
  InvalidMessageError, InvalidReceiptError, QuoteUnacceptableError, ResultHashMismatchError, UnknownJobError, WrongPeerError, errorFromFailure
} from './errors.js'
import { Payer } from './payer.js'
import { StreamPool } from './stream-pool.js'
import { EMPTY, equal, hex, isTimeMetered, recordFailure, samePrice, sha256 } from './utils.js'
import type { Channel } from './channel.js'
import type { WorkContext } from './context.js'
import type { DirectRunOptions, JobOutcome, JobSpec, RunOptions, RunOutcome, WorkProgress } from './index.js'
import type { WorkFrame } from './messages.js'
import type { AssignmentPayment } from './payer.js'
import type { VoucherLanes } from './vouchers.js'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type {
  Assignment, CountersignedRecord, JobAnnouncement, PaymentVoucher, Price, Quote, SignedRecord, WorkReceipt
} from '@shoal/records'
import type { RouterChoice } from '@shoal/router'

/** A job as the requester sends it: a signed announcement, or inline (unsigned) in direct mode. */
export type JobToSend = SignedRecord<JobAnnouncement> | JobAnnouncement

type ResultBody = Extract<WorkFrame, { kind: 'result' }>['body']

/** One send of an assignment and what the steps of its exchange share. */
interface JobExchange {
  channel: Channel
  quote: SignedRecord<Quote>
  assignment: SignedRecord<Assignment>
  provider: PeerId
  price: Price
  job?: JobAnnouncement
  options: RunOptions
  /** bounds one step (a voucher, the countersignature) */
  step: AbortOptions
  /** bounds the whole job: the caller's signal, else the job timeout */
  jobSignal: AbortSignal
  /** when the assignment left (performance.now), bounding what time-metered work can have accrued */
  sentAt: number
  payment: AssignmentPayment
}

/** The requester role of the work service. */
export class Requester {
  private readonly ctx: WorkContext
  private readonly lanes: VoucherLanes
  private readonly pool: StreamPool
  private readonly payer: Payer
  /** our jobs by job id (hex) */
  private readonly ownJobs = new Map<string, JobToSend>()
  /** assignments made (or being signed), by quote id (hex), so a resend reuses the same one */
  private readonly assignments = new Map<string, Promise<SignedRecord<Assignment>>>()
  /** quotes offered for our jobs in the open market, by job id (hex) */
  private readonly offers = new Map<string, Array<SignedRecord<Quote>>>()

  constructor (ctx: WorkContext, lanes: VoucherLanes, pool: StreamPool) {
    this.ctx = ctx
    this.lanes = lanes
    this.pool = pool
    this.payer = new Payer(ctx, lanes)
  }

  /** Sign a job announcement for `spec`. */
  async createJob (spec: JobSpec): Promise<SignedRecord<JobAnnouncement>> {
    const job = await signRecord(JobAnnouncementType, this.jobValue(spec), this.ctx.components.privateKey)
    this.rememberJob(job)
    return job
  }

  /** Ask `peer` for a signed quote for `job`. */
  async requestQuote (peer: PeerId, job: JobToSend, options: AbortOptions = {}): Promise<SignedRecord<Quote>> {
    return this.pool.withChannel(peer, options, async channel => this.exchangeQuote(channel, peer, job, options))
  }

  /** Accept `quote` and run the job; a resend of the same quote carries the same assignment. */
  async assign (quote: SignedRecord<Quote>, input: Uint8Array, options: RunOptions = {}): Promise<JobOutcome> {
    return this.pool.withChannel(quote.signer, options, async channel => this.exchangeJob(channel, quote, input, options))
  }

  /** Direct mode: quote and assign on each candidate in turn until one completes the job. */
  async run (target: PeerId | PeerId[], job: SignedRecord<JobAnnouncement> | JobSpec, input: Uint8Array, options: DirectRunOptions = {}): Promise<RunOutcome> {
    // a spec goes inline and unsigned: the signed assignment is what binds the requester
    const toSend = 'bytes' in job ? job : this.jobValue({ ...job, input })
    if (!('bytes' in toSend)) {
      this.rememberJob(toSend)
    }
    const candidates = Array.isArray(target) ? target : [target]
    const timeout = this.timeLeft(options)
    if (candidates.length === 1 && options.attemptTimeout == null) {
      return this.runAlone(candidates[0], toSend, input, options, timeout)
    }
    return this.runWithFailover(candidates, toSend, input, options, timeout)
  }

  /** Send a countersigned receipt (and voucher) again. */
  async resendCountersign (peer: PeerId, receipt: CountersignedRecord<WorkReceipt>, voucher?: SignedRecord<PaymentVoucher>, options: AbortOptions = {}): Promise<number> {
    return this.pool.withChannel(peer, options, async channel => this.exchangeCountersign(channel, receipt, voucher, stepOptions(this.ctx.settings, options)))
  }

  /** Send a voucher on its own; resolves to the lane total the payee now holds. */
  async sendVoucher (peer: PeerId, voucher: SignedRecord<PaymentVoucher> | Uint8Array, options: AbortOptions = {}): Promise<number> {
    const bytes = voucher instanceof Uint8Array ? voucher : voucher.bytes
    return this.pool.withChannel(peer, options, async channel => {
      const step = stepOptions(this.ctx.settings, options)
      await channel.send({ kind: 'voucher', body: { voucher: bytes } }, step)
      const ack = await channel.expect(['ack'], step)
      return ack.body.paid
    })
  }

  /** Quotes providers offered for our job in the open market. */
  offersFor (jobId: Uint8Array): Array<SignedRecord<Quote>> {
    return [...(this.offers.get(hex(jobId)) ?? [])]
  }

  /** Open market: a provider offers `bytes`, a quote for one of our jobs; kept if it is acceptable. */
  async onQuoteOffered (remote: PeerId, bytes: Uint8Array): Promise<SignedRecord<Quote>> {
    let quote: SignedRecord<Quote>
    try {
      quote = await openRecord(QuoteType, bytes, { now: this.ctx.now })
    } catch (err) {
      throw recordFailure(err, 'quote')
    }
    const key = hex(quote.value.jobId)
    const job = this.ownJobs.get(key)
    if (job == null) {
      throw new UnknownJobError('no such job of ours')
    }
    this.checkQuote(quote, remote, 'bytes' in job ? job.value : job)
    const list = this.offers.get(key) ?? []
    if (list.length < 64) {
      list.push(quote)
    }
    remember(this.offers, key, list, this.ctx.settings.maxJobs)
    this.ctx.emit('quote:received', quote)
    return quote
  }

  // ------------------------------------------------------------------ direct mode

  /** The caller's `timeout`, shortened to what is left before its `deadline`. */
  private timeLeft (options: DirectRunOptions): number | undefined {
    if (options.deadline == null) {
      return options.timeout
    }
    const left = Math.max(0, options.deadline - this.ctx.now())
    return options.timeout == null ? left : Math.min(options.timeout, left)
  }

  /** One candidate, no attempt timeout: its own error reaches the caller, not a failover summary. */
  private async runAlone (peer: PeerId, job: JobToSend, input: Uint8Array, options: DirectRunOptions, timeout?: number): Promise<RunOutcome> {
    const signals = [options.signal, timeout != null ? AbortSignal.timeout(timeout) : undefined].filter((s): s is AbortSignal => s != null)
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals)
    const started = performance.now()
    let outcome: JobOutcome
    try {
      outcome = await this.runOn(peer, job, input, { ...options, signal })
    } catch (err: unknown) {
      if (options.signal?.aborted !== true) {
        this.report(peer, err instanceof Error && err.name === 'TimeoutError' ? 'timeout' : 'failure')
      }
      throw err
    }
    this.report(peer, 'success')
    return { ...outcome, attempts: [{ candidate: peer, ok: true, cancelled: false, elapsed: performance.now() - started }] }
  }

  /**
   * Several candidates: the router's failover when the node has a router,
   * which records every outcome in its trust (a provider that claimed free
   * slots and then failed loses more); else the bare failover.
   */
  private async runWithFailover (candidates: PeerId[], job: JobToSend, input: Uint8Array, options: DirectRunOptions, timeout?: number): Promise<RunOutcome> {
    const router = this.ctx.router
    const failoverOptions = { signal: options.signal, timeout, attemptTimeout: options.attemptTimeout }
    if (router == null) {
      const routed = await failover(candidates, async (peer, signal) => this.runOn(peer, job, input, { ...options, signal }), failoverOptions)
      return { ...routed.result, attempts: routed.attempts }
    }
    const routed = await router.failover(candidates.map(callerOrdered), async (choice, signal) => this.runOn(choice.peerId, job, input, { ...options, signal }), failoverOptions)
    return { ...routed.result, attempts: routed.attempts.map(attempt => ({ ...attempt, candidate: attempt.candidate.peerId })) }
  }

  /** Tell the node's router (if it has one) how a provider did on work sent outside its failover. */
  private report (peer: PeerId, event: 'success' | 'failure' | 'timeout'): void {
    try {
      this.ctx.router?.report(peer, event)
    } catch (err) {
      this.ctx.log.error('router report failed - %e', err)
    }
  }

  private async runOn (peer: PeerId, job: JobToSend, input: Uint8Array, options: RunOptions): Promise<JobOutcome> {
    return this.pool.withChannel(peer, options, async channel => {
      const quote = await this.exchangeQuote(channel, peer, job, options)
      return this.exchangeJob(channel, quote, input, options, 'bytes' in job ? job.value : job)
    })
  }

  // ------------------------------------------------------------------ jobs and quotes

  /** The announcement value for `spec`, with a fresh job id. */
  private jobValue (spec: JobSpec): JobAnnouncement {
    const now = Math.floor(this.ctx.now())
    const deadline = now + (spec.deadlineIn ?? this.ctx.settings.assignmentTtlMs)
    return {
      version: RECORD_VERSION,
      jobId: newRandomId(),
      requester: this.ctx.self,
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

  private rememberJob (job: JobToSend): void {
    const value = 'bytes' in job ? job.value : job
    remember(this.ownJobs, hex(value.jobId), job, this.ctx.settings.maxJobs)
  }

  private async exchangeQuote (channel: Channel, peer: PeerId, job: JobToSend, options: AbortOptions): Promise<SignedRecord<Quote>> {
    const step = stepOptions(this.ctx.settings, options)
    const body = 'bytes' in job
      ? { job: job.bytes, inlineJob: EMPTY }
      : { job: EMPTY, inlineJob: encodeRecord(JobAnnouncementType, job) }
    await channel.send({ kind: 'quoteRequest', body }, step)
    const reply = await channel.expect(['quote'], step)
    let quote: SignedRecord<Quote>
    try {
      quote = await openRecord(QuoteType, reply.body.quote, { now: this.ctx.now })
    } catch (err) {
      throw recordFailure(err, 'quote')
    }
    this.checkQuote(quote, peer, 'bytes' in job ? job.value : job)
    return quote
  }

  private checkQuote (quote: SignedRecord<Quote>, peer: PeerId, job: JobAnnouncement): void {
    const q = quote.value
    if (!equal(q.provider, peer.toMultihash().bytes) || !equal(q.requester, this.ctx.self)) {
      throw new WrongPeerError('quote is between other peers')
    }
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

  private async assignmentFor (quote: SignedRecord<Quote>, input: Uint8Array, options: RunOptions, job?: JobAnnouncement): Promise<SignedRecord<Assignment>> {
    const key = hex(quote.id)
    let assignment = this.assignments.get(key)
    if (assignment == null) {
      // remembered before it is signed: two sends of one quote at once must carry one assignment
      assignment = this.signAssignment(quote, input, options, job)
      remember(this.assignments, key, assignment, this.ctx.settings.maxJobs)
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
    const budget = (job ?? this.ownJob(q.jobId))?.budget
    let maxUnits = options.maxUnits ?? (budget != null && perUnit > 0 ? Math.floor(budget / perUnit) : Math.max(1, q.estUnits))
    maxUnits = Math.max(1, maxUnits)
    const now = Math.floor(this.ctx.now())
    return signRecord(AssignmentType, {
      version: RECORD_VERSION,
      jobId: q.jobId,
      requester: this.ctx.self,
      provider: q.provider,
      quote: quote.bytes,
      maxUnits,
      inputHash: sha256(input),
      createdMs: now,
      expiresMs: now + this.ctx.settings.assignmentTtlMs,
      nonce: newRandomId()
    }, this.ctx.components.privateKey)
  }

  private ownJob (jobId: Uint8Array): JobAnnouncement | undefined {
    const own = this.ownJobs.get(hex(jobId))
    return own == null ? undefined : 'bytes' in own ? own.value : own
  }

  // ------------------------------------------------------------------ one job

  /** Assign, follow the job to its result, check it, countersign and pay. */
  private async exchangeJob (channel: Channel, quote: SignedRecord<Quote>, input: Uint8Array, options: RunOptions, job?: JobAnnouncement): Promise<JobOutcome> {
    const assignment = await this.assignmentFor(quote, input, options, job)
    // the job itself may take long: only the caller's signal bounds it, else the job timeout
    const step = stepOptions(this.ctx.settings, options)
    const jobSignal = options.signal ?? AbortSignal.timeout(this.ctx.settings.jobTimeoutMs)
    const sentAt = performance.now()
    await channel.send({ kind: 'assign', body: { assignment: assignment.bytes, input } }, { signal: jobSignal })
    const exchange: JobExchange = {
      channel,
      quote,
      assignment,
      provider: quote.signer,
      price: quote.value.price as Price,
      job,
      options,
      step,
      jobSignal,
      sentAt,
      // paid for this assignment so far: streamed while it ran, or on an earlier send of it (never pay twice)
      payment: this.payer.forAssignment(assignment.id, quote.signer)
    }
    const result = await this.awaitResult(exchange)
    const receipt = await this.openReceipt(exchange, result.receipt)
    const output = await this.verifiedOutput(exchange, result, receipt.value)
    return this.countersignAndPay(exchange, receipt, output)
  }

  /** Read frames until the result: progress is forwarded (and time-metered work paid), stale acks skipped. */
  private async awaitResult (exchange: JobExchange): Promise<ResultBody> {
    while (true) {
      const frame = await exchange.channel.expect(['progress', 'result', 'ack', 'error'], { signal: exchange.jobSignal })
      switch (frame.kind) {
        case 'result':
          return frame.body
        case 'ack':
          continue
        case 'error': {
          const err = errorFromFailure(frame.body.code, frame.body.message)
          // a streamed voucher overtaken by a later one (another job's) is covered by it
          if (err.name === 'VoucherNonceError') {
            continue
          }
          throw err
        }
        case 'progress':
          await this.onProgress(exchange, frame.body)
      }
    }
  }

  private async onProgress (exchange: JobExchange, body: Extract<WorkFrame, { kind: 'progress' }>['body']): Promise<void> {
    const { assignment, price } = exchange
    if (!equal(body.assignmentId, assignment.id)) {
      throw new InvalidMessageError('progress for another assignment')
    }
    const progress: WorkProgress = { assignmentId: assignment.id, units: body.units, permille: body.permille, message: body.message }
    exchange.options.onProgress?.(progress)
    this.ctx.emit('job:progress', progress)
    const accrued = Math.min(progress.units, assignment.value.maxUnits, this.verifiableUnits(exchange)) * price.perUnit
    const voucher = await exchange.payment.accrued(accrued, price.currency, exchange.quote.value.jobId)
    if (voucher != null) {
      await exchange.channel.send({ kind: 'voucher', body: { voucher: voucher.bytes } }, exchange.step)
    }
  }

  /**
   * Units that can have accrued so far by what we can check ourselves:
   * time-metered units up to the time elapsed since the assignment left,
   * times the slots the job asked for. Other units (tokens, jobs) are paid
   * only on the result, so a provider's claims in progress reports are never paid.
   */
  private verifiableUnits (exchange: JobExchange): number {
    const { price, quote, job, sentAt } = exchange
    if (!isTimeMetered(price.unit)) {
      return 0
    }
    return Math.ceil((performance.now() - sentAt) / 1000) * this.slotsOf(price, quote.value.jobId, job)
  }

  /** Units of time-metered work that may accrue per second of a job: its GPUs for `gpu-second`, else 1. */
  private slotsOf (price: Price, jobId: Uint8Array, job?: JobAnnouncement): number {
    if (price.unit !== 'gpu-second') {
      return 1
    }
    return Math.max(1, (job ?? this.ownJob(jobId))?.requirements?.gpuCount ?? 1)
  }

  /** Open the provider's receipt and check it is for this assignment, at the quoted price, within its units. */
  private async openReceipt (exchange: JobExchange, bytes: Uint8Array): Promise<SignedRecord<WorkReceipt>> {
    const { quote, assignment } = exchange
    let receipt: SignedRecord<WorkReceipt>
    try {
      receipt = await openRecord(WorkReceiptType, bytes, { now: this.ctx.now })
    } catch (err: unknown) {
      if (err instanceof RecordError) {
        throw new InvalidReceiptError(`receipt: ${err.name}: ${err.message}`, { cause: err })
      }
      throw err
    }
    const r = receipt.value
    if (!equal(r.provider, quote.value.provider) || !equal(r.requester, this.ctx.self)) {
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
    return receipt
  }

  /** The output, fetched if it is at a location, and checked against the receipt's result hash. */
  private async verifiedOutput (exchange: JobExchange, result: ResultBody, receipt: WorkReceipt): Promise<Uint8Array> {
    let output = result.output
    if (output.byteLength === 0 && result.location !== '') {
      if (exchange.options.fetchOutput == null) {
        throw new InvalidReceiptError(`output is at ${result.location} and no fetchOutput was given`)
      }
      output = await exchange.options.fetchOutput(result.location, receipt, { signal: exchange.jobSignal })
    }
    if (!equal(sha256(output), receipt.resultHash)) {
      const err = new ResultHashMismatchError('output does not hash to the receipt\'s resultHash')
      // tell the provider why it gets no countersignature, then give up on it
      await exchange.channel.fail(err, exchange.step).catch(() => {})
      throw err
    }
    return output
  }

  private async countersignAndPay (exchange: JobExchange, receipt: SignedRecord<WorkReceipt>, output: Uint8Array): Promise<JobOutcome> {
    const { provider, quote, assignment, options } = exchange
    const both = await countersign(receipt, this.ctx.components.privateKey)
    await this.ctx.store(both, options)
    this.ctx.emit('receipt:countersigned', both)
    const r = receipt.value
    const voucher = r.price == null ? undefined : await exchange.payment.settle(r.total, r.price.currency, r.jobId)
    let acknowledged = false
    try {
      await this.exchangeCountersign(exchange.channel, both, voucher, exchange.step)
      acknowledged = true
    } catch (err) {
      // the work is done and we hold both copies; the provider can get the countersignature again
      this.ctx.log('countersignature to %p not acknowledged - %e', provider, err)
    }
    return { provider, output, receipt: both, quote, assignment, voucher, acknowledged }
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
    } catch (err: unknown) {
      // a voucher overtaken by a later one on another stream is stale, not wrong: the later one covers it
      if (err instanceof Error && err.name === 'VoucherNonceError' && voucher != null) {
        const lane = this.lanes.lane(receipt.record.signer, voucher.value.currency)
        if (lane.nonce > voucher.value.nonce) {
          return lane.cumulative
        }
      }
      throw err
    }
  }
}

/** A router choice for a provider the caller put in order itself: the router did not score it, only hears how it did. */
function callerOrdered (peerId: PeerId): RouterChoice {
  const id = peerId.toString()
  return {
    peerId,
    input: { peerId },
    candidate: { id },
    score: 0,
    breakdown: { rtt: 0, rttSource: 'assumed', latency: 0, transfer: 0, queue: 0, compute: 0, lossPenalty: 0, reputationFactor: 1, total: 0 },
    reasons: [],
    explain: `${id}: in the caller's order`
  }
}
