/**
 * The requester's role: sign jobs, ask for quotes, assign them (each job is
 * then followed to its countersigned receipt by `job-exchange.ts`), take
 * quotes offered in the open market. Direct runs fail over between providers.
 */

import { BoundedMap, asError, sleep, timeoutSignal } from '@shoal/utils'
import {
  AssignmentType, JobAnnouncementType, JobKind, PaymentVoucherType, QuoteType, RECORD_VERSION, WorkReceiptType, encodeRecord, newRandomId, openCountersigned,
  openRecord, priceMismatch, requirementsOf, signRecord
} from '@shoal/records'
import { AllCandidatesFailedError, failover } from '@shoal/router'
import { LATE_GRACE_MS } from './constants.js'
import { stepOptions } from './context.js'
import { ProviderBusyError, QuoteDeclinedError, QuoteUnacceptableError, RelayLimitError, UnknownJobError, WorkError, WrongPeerError } from './errors.js'
import { answered } from './channel.js'
import { CountersignResender } from './countersign-resend.js'
import { exchangeCountersign, exchangeJob } from './job-exchange.js'
import { RequesterJournal } from './journal.js'
import { isQueuedProgress } from './job-queue.js'
import { Payer } from './payer.js'
import { checkRelayFit } from './relayed.js'
import { StreamPool } from './stream-pool.js'
import { EMPTY, equal, hex, recordFailure, sha256 } from './utils.js'
import { QuorumRun, VerificationMemory, answerKey, knownAnswerCheck, verifySettings } from './verify.js'
import type { Channel } from './channel.js'
import type { WorkContext } from './context.js'
import type { DirectRunOptions, JobOutcome, JobSpec, RecheckResult, RunOptions, RunOutcome, WorkProgress } from './index.js'
import type { SavedRequest } from './journal.js'
import type { VerifySettings } from './verify.js'
import type { VoucherLanes } from './vouchers.js'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { Assignment, CountersignedRecord, JobAnnouncement, PaymentVoucher, Quote, SignedRecord, WorkReceipt } from '@shoal/records'
import type { AttemptFailure, AttemptRecord, RouterChoice } from '@shoal/router'

/** A quote offered in the open market is assigned as is only if it stays valid this much longer, ms (else a fresh one is asked for). */
const HELD_QUOTE_MARGIN_MS = 2_000

/** Longest wait between tries to reach the provider of a job resumed after a restart, ms. */
const RESUME_MAX_DELAY_MS = 10_000

/** Least wait before resending to a busy provider, ms: a provider answering `retry_after_ms` of 1 cannot make us spin. */
const MIN_BUSY_WAIT_MS = 50

/** A busy provider's wait is stretched by up to this fraction at random, so requesters told the same wait do not all come back at once. */
const BUSY_WAIT_JITTER = 0.25

/** A job as the requester sends it: a signed announcement, or inline (unsigned) in direct mode. */
export type JobToSend = SignedRecord<JobAnnouncement> | JobAnnouncement

/** The requester role of the work service. */
export class Requester {
  private readonly ctx: WorkContext
  private readonly lanes: VoucherLanes
  private readonly pool: StreamPool
  private readonly payer: Payer
  /** our jobs by job id (hex) */
  private readonly ownJobs: BoundedMap<string, JobToSend>
  /** assignments made (or being signed), by quote id (hex), so a resend reuses the same one */
  private readonly assignments: BoundedMap<string, Promise<SignedRecord<Assignment>>>
  /** quotes offered for our jobs in the open market, by job id (hex) */
  private readonly offers: BoundedMap<string, Array<SignedRecord<Quote>>>
  /** quotes whose assignment a provider never answered (the stream broke), by job id (hex) and provider */
  private readonly unanswered: BoundedMap<string, SignedRecord<Quote>>
  /** what survives a restart: the jobs being followed, and countersignatures not yet acknowledged */
  private readonly journal: RequesterJournal
  private readonly resender: CountersignResender
  /** results verified per provider, and answers quorums agreed on */
  private readonly verification: VerificationMemory
  /** aborted on stop: resumed jobs end (they resume again at the next start) */
  private stopping = new AbortController()
  /** jobs an earlier run was following, waiting for `resumeJobs()` */
  private toResume: SavedRequest[] = []
  /** assignments followed in the background (resumed, or given up on without an answer), by id (hex) */
  private readonly following = new Set<string>()

  constructor (ctx: WorkContext, lanes: VoucherLanes, pool: StreamPool) {
    this.ctx = ctx
    this.lanes = lanes
    this.pool = pool
    this.ownJobs = new BoundedMap(ctx.settings.maxJobs)
    this.assignments = new BoundedMap(ctx.settings.maxJobs)
    this.offers = new BoundedMap(ctx.settings.maxJobs)
    this.unanswered = new BoundedMap(ctx.settings.maxJobs)
    this.payer = new Payer(ctx, lanes)
    this.journal = new RequesterJournal(ctx.components.datastore, ctx.settings.maxInputBytes)
    this.verification = new VerificationMemory(ctx)
    this.resender = new CountersignResender(ctx, {
      send: async (peer, receipt, voucher, options) => this.resendCountersign(peer, receipt, voucher, options),
      forget: async assignmentId => this.journal.forget(assignmentId)
    })
  }

  /**
   * Take up what an earlier run saved: countersignatures the provider did
   * not acknowledge are sent again, and the jobs that were under way wait
   * for `resumeJobs()`.
   */
  async restore (): Promise<void> {
    this.stopping = new AbortController()
    this.resender.start()
    await this.verification.load()
    const loaded = await this.journal.load()
    for (const { key, error } of loaded.skipped) {
      this.ctx.log.error('skipped saved request %s - %e', key, error)
    }
    this.toResume = []
    for (const saved of loaded.requests) {
      if (saved.state === 'assigned' && saved.checked === true) {
        // its check (the quorum, the known answer) ended with the stop: it is not countersigned unchecked
        await this.forget(sha256(saved.assignment))
        continue
      }
      if (saved.state === 'assigned') {
        this.toResume.push(saved)
        continue
      }
      try {
        const receipt = await openCountersigned(WorkReceiptType, saved.receipt as Uint8Array, { ignoreTime: true })
        const voucher = saved.voucher == null ? undefined : await openRecord(PaymentVoucherType, saved.voucher, { ignoreTime: true })
        this.resender.schedule(receipt, voucher)
      } catch (err: unknown) {
        // it does not open: nothing can ever be sent of it
        this.ctx.log.error('could not take up a saved countersignature - %e', err)
        await this.forget(sha256(saved.assignment))
      }
    }
  }

  /**
   * Resume, in the background, each job that was under way when the node
   * stopped: its assignment is sent again (the provider answers with the
   * job's result, or joins the job still running), then it is countersigned
   * and paid as usual (`job:resumed`), or it fails within its deadline
   * (`job:resume-failed`, for the caller to fail over). Resolves to how many.
   */
  async resumeJobs (): Promise<number> {
    const pending = this.toResume
    this.toResume = []
    for (const saved of pending) {
      try {
        await this.resume(saved)
      } catch (err: unknown) {
        this.ctx.log.error('could not resume a saved job - %e', err)
        await this.forget(sha256(saved.assignment))
      }
    }
    return pending.length
  }

  /** `peer` connected: countersignatures it has not acknowledged go now. */
  wake (peer: PeerId): void {
    this.resender.wake(peer)
  }

  /** End resumed jobs and re-sends (both go on at the next start). */
  stop (): void {
    this.stopping.abort(new WorkError('work service stopped'))
    this.resender.stop()
  }

  /** Countersigned receipts waiting to be re-sent to providers that have not acknowledged them. */
  unacknowledged (): Array<CountersignedRecord<WorkReceipt>> {
    return this.resender.receipts()
  }

  /** Sign a job announcement for `spec`. */
  async createJob (spec: JobSpec): Promise<SignedRecord<JobAnnouncement>> {
    const job = await signRecord(JobAnnouncementType, this.jobValue(spec), this.ctx.components.privateKey)
    this.rememberJob(job)
    return job
  }

  /** Ask `peer` for a signed quote for `job`. */
  async requestQuote (peer: PeerId, job: JobToSend, options: AbortOptions = {}): Promise<SignedRecord<Quote>> {
    return this.pool.withChannel(peer, options, async channel => {
      checkRelayFit(this.ctx, { inputBytes: ('bytes' in job ? job.value : job).inputBytes }, channel.limits)
      return this.exchangeQuote(channel, peer, job, options)
    })
  }

  /** Accept `quote` and run the job; a resend of the same quote carries the same assignment. */
  async assign (quote: SignedRecord<Quote>, input: Uint8Array, options: RunOptions = {}): Promise<JobOutcome> {
    return this.pool.withChannel(quote.signer, options, async channel => {
      checkRelayFit(this.ctx, { inputBytes: input.byteLength, durationMs: quote.value.etaMs }, channel.limits)
      return this.exchangeJob(channel, quote, input, options)
    })
  }

  /**
   * Direct mode: quote (or take the quote it offered in the open market) and
   * assign on each candidate in turn until one completes the job; known
   * offenders are never tried. With `verify`, the job may run on several
   * providers, or be checked against a known answer (`verify.ts`), and its
   * assignment may be replayed afterwards in the background (`recheck`).
   */
  async run (target: PeerId | PeerId[], job: SignedRecord<JobAnnouncement> | JobSpec, input: Uint8Array, options: DirectRunOptions = {}): Promise<RunOutcome> {
    const candidates = this.notOffenders(Array.isArray(target) ? target : [target])
    const verify = options.verify ?? this.ctx.settings.verify
    // a capture is a recording, not a computation: two honest providers never record the same bytes, and no run
    // can be checked against another (proof of recording is provenance's, not a quorum's)
    const kind = 'bytes' in job ? job.value.kind : job.kind
    if (verify !== false && kind !== JobKind.CAPTURE) {
      // a verified job is signed: wrong-result evidence shows the signed job the runs were for
      const signed = 'bytes' in job ? job : await this.createJob({ ...job, input })
      return this.runVerified(candidates, signed, input, options, verifySettings(verify))
    }
    // a spec goes inline and unsigned: the signed assignment is what binds the requester
    const toSend = 'bytes' in job ? job : this.jobValue({ ...job, input })
    if (!('bytes' in toSend)) {
      this.rememberJob(toSend)
    }
    return this.runOnCandidates(candidates, toSend, input, options)
  }

  /** One run on `candidates`: alone when there is one and no attempt timeout, else with failover. */
  private async runOnCandidates (candidates: PeerId[], job: JobToSend, input: Uint8Array, options: DirectRunOptions): Promise<RunOutcome> {
    const timeout = this.timeLeft(options)
    if (candidates.length === 1 && options.attemptTimeoutMs == null) {
      return this.runAlone(candidates[0], job, input, options, timeout)
    }
    return this.runWithFailover(candidates, job, input, options, timeout)
  }

  /** `candidates` without known offenders; none left is an AllCandidatesFailedError. */
  private notOffenders (candidates: PeerId[]): PeerId[] {
    const offenders = this.ctx.settings.offenders
    const left = offenders == null ? candidates : candidates.filter(peer => !offenders(peer))
    if (left.length === 0) {
      throw new AllCandidatesFailedError(candidates.length === 0 ? 'no candidate' : `no candidate: all ${candidates.length} are known offenders`)
    }
    return left
  }

  /**
   * A run under a verify policy: on k providers until a quorum agrees when
   * redundancy asks for it, a spot check falls due or the first-ranked
   * provider is on probation (a single run checked against the known answer
   * instead, when there is one); then, sampled, a replay check.
   */
  private async runVerified (candidates: PeerId[], job: SignedRecord<JobAnnouncement>, input: Uint8Array, options: DirectRunOptions, policy: VerifySettings): Promise<RunOutcome> {
    const onProbation = this.verification.verifiedCount(candidates[0]) < policy.probationJobs
    const due = policy.redundancy > 1 || onProbation || policy.random() < policy.spotCheckRate
    let outcome: RunOutcome
    const key = answerKey(job, input)
    const known = key == null ? undefined : this.verification.knownAnswer(key)
    // a check only sampled (probation, spot check) with no known answer and too few candidates for a quorum cannot
    // be made: the job runs unverified rather than fail; redundancy the caller asked for is never dropped
    const possible = policy.redundancy > 1 || known != null || candidates.length >= policy.quorum
    if (!due || !possible) {
      outcome = await this.runOnCandidates(candidates, job, input, options)
    } else if (policy.redundancy <= 1 && known != null) {
      this.ctx.count('known_answer_check')
      outcome = await this.runOnCandidates(candidates, job, input, { ...options, checkResult: knownAnswerCheck(this.ctx, this.verification, known, job, options.checkResult) })
      outcome = { ...outcome, verification: { providers: [outcome.provider], agreeing: [outcome.provider], rejected: [] } }
    } else {
      this.ctx.count('redundant_run')
      const quorum = new QuorumRun(this.ctx, this.verification, this, { candidates, job, input, options, quorum: policy.quorum, timeoutMs: this.timeLeft(options), sampled: policy.redundancy <= 1 })
      outcome = await quorum.run(Math.max(policy.redundancy, policy.quorum))
    }
    if (policy.random() < policy.replayCheckRate) {
      this.recheck(outcome).catch((err: unknown) => { this.ctx.log.error('replay check failed - %e', err) })
    }
    return outcome
  }

  /** One slot of a verified run (`QuorumRun`): the failover over `candidates`, trying only those `claim` hands it. */
  async runSlot (candidates: PeerId[], job: SignedRecord<JobAnnouncement>, input: Uint8Array, options: DirectRunOptions, claim: (peer: PeerId) => boolean): Promise<RunOutcome> {
    return this.runWithFailover(candidates, job, input, options, this.timeLeft(options), claim)
  }

  /**
   * Replay a countersigned job's assignment to its provider, which must
   * answer with the same receipt (docs/spec.md §4): a different one it
   * signed for the same assignment is an equivocation (`evidence:found`).
   * Nothing is countersigned or paid again.
   */
  async recheck (outcome: JobOutcome, options: AbortOptions = {}): Promise<RecheckResult> {
    const first = outcome.receipt.record
    let second: SignedRecord<WorkReceipt>
    try {
      const bytes = await this.pool.withChannel(outcome.provider, options, async channel => {
        const step = stepOptions(this.ctx.settings, options)
        // a replay joins the finished job before its input is looked at: none is sent again
        await channel.send({ kind: 'assign', body: { assignment: outcome.assignment.bytes, input: EMPTY } }, step)
        while (true) {
          const frame = await channel.expect(['progress', 'result'], step)
          if (frame.kind === 'result') {
            return frame.body.receipt
          }
        }
      })
      second = await openRecord(WorkReceiptType, bytes, { ignoreTime: true })
    } catch (err: unknown) {
      this.ctx.log('replay check of %p had no answer - %e', outcome.provider, err)
      return 'unreachable'
    }
    if (!second.signer.equals(first.signer) || !equal(second.value.assignmentId, first.value.assignmentId)) {
      return 'unreachable'
    }
    if (equal(encodeRecord(WorkReceiptType, second.value), encodeRecord(WorkReceiptType, first.value))) {
      return 'same'
    }
    this.ctx.count('equivocation_found')
    this.ctx.emit('evidence:found', { kind: 'equivocation', first, second })
    return 'equivocation'
  }

  /** Send a countersigned receipt (and voucher) again. */
  async resendCountersign (peer: PeerId, receipt: CountersignedRecord<WorkReceipt>, voucher?: SignedRecord<PaymentVoucher>, options: AbortOptions = {}): Promise<number> {
    return this.pool.withChannel(peer, options, async channel => exchangeCountersign(this.lanes, channel, receipt, voucher, stepOptions(this.ctx.settings, options)))
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

  /**
   * A quote `peer` offered for `job` in the open market, still valid for a
   * while and not assigned yet, if any. An assigned one would resend its
   * assignment: a second run of the job would replay the first (failed or
   * not) instead of asking for a fresh quote.
   */
  private heldOffer (peer: PeerId, job: JobAnnouncement): SignedRecord<Quote> | undefined {
    const usableUntil = this.ctx.now() + HELD_QUOTE_MARGIN_MS
    return this.offers.get(hex(job.jobId))?.find(q => q.signer.equals(peer) && q.value.expiresMs > usableUntil && !this.assignments.has(hex(q.id)))
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
    this.offers.set(key, list)
    this.ctx.emit('quote:received', quote)
    return quote
  }

  // ------------------------------------------------------------------ direct mode

  /** The caller's `timeoutMs`, shortened to what is left before its `deadlineMs`. */
  private timeLeft (options: DirectRunOptions): number | undefined {
    if (options.deadlineMs == null) {
      return options.timeoutMs
    }
    const left = Math.max(0, options.deadlineMs - this.ctx.now())
    return options.timeoutMs == null ? left : Math.min(options.timeoutMs, left)
  }

  /** One candidate, no attempt timeout: its own error reaches the caller, not a failover summary. */
  private async runAlone (peer: PeerId, job: JobToSend, input: Uint8Array, options: DirectRunOptions, timeout?: number): Promise<RunOutcome> {
    const signals = [options.signal, timeout != null ? timeoutSignal(timeout) : undefined].filter((s): s is AbortSignal => s != null)
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals)
    const started = performance.now()
    let outcome: JobOutcome & Pick<RunOutcome, 'connection'>
    try {
      outcome = await this.runOn(peer, job, input, { ...options, signal }, this.waitUntil(timeout))
    } catch (err: unknown) {
      if (options.signal?.aborted !== true) {
        const error = asError(err)
        // a job too big for the relay costs the provider nothing, like a decline in a failover
        if (error.name !== RelayLimitError.name) {
          this.report(peer, error.name === 'TimeoutError' ? 'timeout' : 'failure')
        }
        this.onAttempt(options, { candidate: peer, ok: false, error, cancelled: false, elapsed: performance.now() - started })
      }
      throw err
    }
    this.report(peer, 'success')
    const attempt = { candidate: peer, ok: true, cancelled: false, elapsed: performance.now() - started }
    this.onAttempt(options, attempt)
    return { ...outcome, attempts: [attempt] }
  }

  /**
   * Several candidates: the router's failover when the node has a router,
   * which records every outcome in its trust (a provider that claimed free
   * slots and then failed loses more); else the bare failover.
   */
  private async runWithFailover (candidates: PeerId[], job: JobToSend, input: Uint8Array, options: DirectRunOptions, timeout?: number, claim?: (peer: PeerId) => boolean): Promise<RunOutcome> {
    const router = this.ctx.router
    // an attempt whose result is checked before it is countersigned (a quorum) may wait for other providers once
    // its own result came: its time limit ends with the result, so the wait is not counted against the provider
    const attemptLimit = options.attemptTimeoutMs
    const holdsResults = options.checkResult != null && attemptLimit != null
    const failoverOptions = { signal: options.signal, timeoutMs: timeout, attemptTimeoutMs: holdsResults ? undefined : attemptLimit }
    // a busy candidate is waited for only once every candidate was tried: a free one may take the job at once
    const until = this.waitUntil(timeout)
    let tried = 0
    const waitFor = (): number | undefined => {
      tried++
      return tried >= candidates.length ? until : undefined
    }
    const untilAttempt = (): number | undefined => {
      const end = waitFor()
      return end == null || options.attemptTimeoutMs == null ? end : Math.min(end, performance.now() + options.attemptTimeoutMs)
    }
    // a slot of a verified run tries only the candidates no other slot took: the others are passed over as declined, at no cost to them
    const runOn = async (peer: PeerId, runOptions: RunOptions): Promise<JobOutcome & Pick<RunOutcome, 'connection'>> => {
      if (claim?.(peer) === false) {
        throw new CandidateTakenError()
      }
      const check = runOptions.checkResult
      if (!holdsResults || check == null) {
        return this.runOn(peer, job, input, runOptions, untilAttempt())
      }
      const limit = new AbortController()
      const timer = setTimeout(() => { limit.abort(new DOMException('the attempt timed out', 'TimeoutError')) }, attemptLimit)
      const signal = runOptions.signal == null ? limit.signal : AbortSignal.any([runOptions.signal, limit.signal])
      try {
        return await this.runOn(peer, job, input, { ...runOptions, signal, checkResult: async (run, o) => { clearTimeout(timer); await check(run, o) } }, untilAttempt())
      } finally {
        clearTimeout(timer)
      }
    }
    if (router == null) {
      const routed = await failover(candidates, async (peer, signal) => runOn(peer, { ...options, signal }), { ...failoverOptions, onOutcome: attempt => { this.onAttempt(options, attempt) } })
      return { ...routed.result, attempts: routed.attempts.filter(attempted) }
    }
    // a provider that reported progress before it failed took the job: it was slow, not silent;
    // one that only said the job was queued was alive but had no room in time: busy
    const progressed = new Set<string>()
    const queued = new Set<string>()
    const attempt = async (choice: RouterChoice, signal: AbortSignal): Promise<JobOutcome> => {
      const onProgress = (p: WorkProgress): void => {
        (isQueuedProgress(p) ? queued : progressed).add(choice.candidate.id)
        options.onProgress?.(p)
      }
      return runOn(choice.peerId, { ...options, onProgress, signal })
    }
    const classifyFailure = (error: Error | undefined, choice: RouterChoice): AttemptFailure => {
      const failure = attemptFailure(error)
      if (failure !== 'silent') {
        return failure
      }
      return progressed.has(choice.candidate.id) ? 'slow' : queued.has(choice.candidate.id) ? 'busy' : failure
    }
    const routed = await router.failover(candidates.map(callerOrdered), attempt, {
      ...failoverOptions,
      classifyFailure,
      onOutcome: attempt => { this.onAttempt(options, { ...attempt, candidate: attempt.candidate.peerId }) }
    })
    return { ...routed.result, attempts: routed.attempts.map(attempt => ({ ...attempt, candidate: attempt.candidate.peerId })).filter(attempted) }
  }

  /** The caller's `onAttempt`: a callback that throws must not stall the failover that calls it. */
  private onAttempt (options: DirectRunOptions, attempt: AttemptRecord<PeerId>): void {
    if (!attempted(attempt)) {
      return
    }
    try {
      options.onAttempt?.(attempt)
    } catch (err) {
      this.ctx.log.error('onAttempt callback failed - %e', err)
    }
  }

  /**
   * A provider that took more than `lateFactor` x its quote's eta (+ 2 s)
   * promised speed it did not deliver: the router hears it (`late`), so a
   * provider that advertises free slots and delivers at a crawl loses trust.
   */
  private reportIfLate (peer: PeerId, quote: SignedRecord<Quote>, elapsedMs: number): void {
    if (elapsedMs > this.ctx.settings.lateFactor * quote.value.etaMs + LATE_GRACE_MS) {
      this.ctx.log('%p took %d ms for a job it quoted %d ms for', peer, Math.round(elapsedMs), quote.value.etaMs)
      this.report(peer, 'late')
    }
  }

  /** Tell the node's router (if it has one) how a provider did on work sent outside its failover. */
  private report (peer: PeerId, event: 'success' | 'failure' | 'timeout' | 'late'): void {
    try {
      this.ctx.router?.report(peer, event)
    } catch (err) {
      this.ctx.log.error('router report failed - %e', err)
    }
  }

  /**
   * Quote and assign on `peer`. A busy reply with an estimated wait is
   * waited out (jittered) and the same assignment sent again, while the
   * wait ends before `until` (performance.now ms; absent: never waited):
   * a second assignment to one provider for one job would give it two
   * receipts for the job.
   */
  private async runOn (peer: PeerId, job: JobToSend, input: Uint8Array, options: RunOptions, until?: number): Promise<JobOutcome & Pick<RunOutcome, 'connection'>> {
    const value = 'bytes' in job ? job.value : job
    // a quote the provider offered on the board is as binding as one we ask for: assign it, no second round trip
    // (taken once: a retry on a fresh stream resends the same assignment, which the offer is then assigned to)
    // an assignment of this job this provider never answered may have run there: it is sent again, not a second one
    // (two receipts of one job by one provider are an equivocation)
    const unanswered = `${hex(value.jobId)}/${peer.toString()}`
    let quote = this.unanswered.get(unanswered) ?? this.heldOffer(peer, value)
    // lateness counts until the result came, not the wait a check of it adds (a quorum waiting for other providers)
    let resultAt: number | undefined
    const check = options.checkResult
    const timed: RunOptions = check == null ? options : { ...options, checkResult: async (run, o) => { resultAt ??= performance.now(); await check(run, o) } }
    while (true) {
      const started = performance.now()
      resultAt = undefined
      try {
        const outcome = await this.pool.withChannel(peer, options, async channel => {
          // over a relay, a job that cannot fit is not even quoted; its time on the relay is the quoted one. An
          // assignment the provider never answered goes again whatever the connection: it may be running there
          const resending = quote != null && this.unanswered.get(unanswered) === quote
          if (!resending) checkRelayFit(this.ctx, { inputBytes: input.byteLength }, channel.limits)
          quote ??= await this.exchangeQuote(channel, peer, job, options)
          if (!resending) checkRelayFit(this.ctx, { inputBytes: input.byteLength, durationMs: quote.value.etaMs }, channel.limits)
          const done = await this.exchangeJob(channel, quote, input, timed, job)
          this.ctx.count(`${channel.connection}_run`)
          return { ...done, connection: channel.connection }
        })
        this.unanswered.delete(unanswered)
        this.reportIfLate(peer, outcome.quote, (resultAt ?? performance.now()) - started)
        return outcome
      } catch (err: unknown) {
        if (quote != null && this.assignments.has(hex(quote.id)) && !answered(err)) {
          this.unanswered.set(unanswered, quote)
        } else {
          this.unanswered.delete(unanswered)
        }
        const wait = busyWait(err, until)
        if (wait == null || options.signal?.aborted === true) {
          throw err
        }
        this.ctx.log('%p is busy, sending the %s again in %d ms', peer, quote == null ? 'quote request' : 'assignment', wait)
        await sleep(wait, options.signal)
      }
    }
  }

  /** Until when (performance.now ms) a busy provider may be waited for: the job's time left, else the job timeout. */
  private waitUntil (timeout?: number): number {
    return performance.now() + (timeout ?? this.ctx.settings.jobTimeoutMs)
  }

  // ------------------------------------------------------------------ jobs and quotes

  /** The announcement value for `spec`, with a fresh job id. */
  private jobValue (spec: JobSpec): JobAnnouncement {
    const now = Math.floor(this.ctx.now())
    const deadline = now + (spec.deadlineInMs ?? this.ctx.settings.assignmentTtlMs)
    return {
      version: RECORD_VERSION,
      jobId: newRandomId(),
      requester: this.ctx.self,
      kind: spec.kind ?? JobKind.GPU_INFERENCE,
      requirements: requirementsOf(spec.requirements),
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
    this.ownJobs.set(hex(value.jobId), job)
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
    const mismatch = ceiling == null ? { reason: 'the job has no price ceiling' } : priceMismatch(ceiling, q.price)
    if (mismatch != null || q.price == null) {
      throw new QuoteUnacceptableError(`quote does not fit the price ceiling: ${mismatch?.reason ?? 'no price'}`)
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
      this.assignments.set(key, assignment)
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

  /**
   * Assign `quote` on `channel` and follow the job to its countersigned
   * receipt (`job-exchange.ts`). The job is saved in the journal before the
   * assignment leaves, and forgotten once the provider acknowledged the
   * countersignature (or, unless `keep`, once this send failed: the caller
   * moves on); an unacknowledged countersignature is re-sent in the background.
   */
  private async exchangeJob (channel: Channel, quote: SignedRecord<Quote>, input: Uint8Array, options: RunOptions, job?: JobToSend, keep = false, abandoned = false): Promise<JobOutcome> {
    const sent = job ?? this.ownJobs.get(hex(quote.value.jobId))
    const value = sent == null ? undefined : 'bytes' in sent ? sent.value : sent
    const assignment = await this.assignmentFor(quote, input, options, value)
    const saved: SavedRequest | undefined = sent == null
      ? undefined
      : { state: 'assigned', job: 'bytes' in sent ? sent.bytes : encodeRecord(JobAnnouncementType, sent), inline: !('bytes' in sent), quote: quote.bytes, assignment: assignment.bytes, input, paid: this.payer.paid(hex(assignment.id)), abandoned: abandoned || undefined, checked: options.checkResult != null || undefined }
    await this.save(saved)
    try {
      const outcome = await exchangeJob(this.ctx, this.lanes, {
        channel,
        quote,
        assignment,
        input,
        options,
        job: value,
        // paid for this assignment so far: streamed while it ran, or on an earlier send of it (never pay twice)
        payment: this.payer.forAssignment(assignment.id, quote.signer, saved == null ? undefined : async paid => { saved.paid = paid; await this.save(saved) }),
        onCountersigned: async (receipt, voucher) => {
          await this.save(saved == null ? undefined : { ...saved, state: 'countersigned', input: undefined, receipt: receipt.bytes, voucher: voucher?.bytes })
        }
      })
      if (outcome.acknowledged) {
        await this.forget(assignment.id)
      } else {
        this.resender.schedule(outcome.receipt, outcome.voucher)
      }
      return outcome
    } catch (err: unknown) {
      // the caller moves on (fails over, or gives up); a job cut off by this node stopping resumes at its next start
      if (!keep && !this.stopping.signal.aborted) {
        // a checked run's result cannot be fetched again and checked: left uncountersigned, like a refused one
        if (saved == null || answered(err) || saved.checked === true) {
          await this.forget(assignment.id)
        } else {
          // no answer: the provider may be running it, or have run it. Followed in the background until its
          // assignment expires, so a provider that did the work in time is countersigned and paid, not left pending
          const abandoned: SavedRequest = { ...saved, abandoned: true }
          await this.save(abandoned)
          this.resume(abandoned).catch((e: unknown) => { this.ctx.log.error('could not follow up job - %e', e) })
        }
      }
      throw err
    }
  }

  /** Save a request in the journal; a journal that fails is logged, never fails the job. */
  private async save (saved?: SavedRequest): Promise<void> {
    if (saved == null) {
      return
    }
    await this.journal.save(saved).catch((err: unknown) => { this.ctx.log.error('could not save request - %e', err) })
  }

  private async forget (assignmentId: Uint8Array): Promise<void> {
    await this.journal.forget(assignmentId).catch((err: unknown) => { this.ctx.log.error('could not forget request - %e', err) })
  }

  /**
   * Resume a saved job: send its assignment again until the provider
   * answers, within the job's deadline. Runs in the background.
   */
  private async resume (saved: SavedRequest): Promise<void> {
    const assignment = await openRecord(AssignmentType, saved.assignment, { ignoreTime: true })
    const quote = await openRecord(QuoteType, assignment.value.quote, { ignoreTime: true })
    const job: JobToSend = saved.inline ? JobAnnouncementType.codec.decode(saved.job) : await openRecord(JobAnnouncementType, saved.job, { ignoreTime: true })
    const value = 'bytes' in job ? job.value : job
    const input = saved.input as Uint8Array
    this.rememberJob(job)
    this.assignments.set(hex(quote.id), Promise.resolve(assignment))
    const key = hex(assignment.id)
    this.payer.setPaid(key, saved.paid)
    if (this.following.has(key)) {
      return
    }
    this.following.add(key)
    const deadlineMs = Math.min(value.deadlineMs, assignment.value.expiresMs)
    const stopping = this.stopping.signal
    void (async () => {
      // tried until the assignment expires, not only until the job's deadline: a job the provider finished in time
      // while this node was down (or after its caller gave up) is countersigned and paid all the same (a provider
      // ends a run at the job's deadline)
      const signal = AbortSignal.any([stopping, timeoutSignal(Math.max(0, assignment.value.expiresMs - this.ctx.now()))])
      let error: Error = new WorkError('job not resumed')
      // after a caller gave up, its own retry may be on the way: give it a moment first
      let wait = saved.abandoned === true ? this.ctx.settings.stepTimeoutMs : 0
      try {
        for (let attempt = 0; !signal.aborted; attempt++) {
          await sleep(wait, signal).catch(() => {})
          if (signal.aborted) {
            break
          }
          try {
            const outcome = await this.pool.withChannel(quote.signer, { signal }, async channel => this.exchangeJob(channel, quote, input, { signal }, job, true, saved.abandoned === true))
            this.ctx.count('job_resumed')
            this.ctx.emit('job:resumed', { job, outcome, abandoned: saved.abandoned === true })
            return
          } catch (err: unknown) {
            error = asError(err)
            if (answered(err)) {
              break
            }
            // the provider is not reachable yet (it, or this node, is still starting): again shortly
            wait = Math.min(RESUME_MAX_DELAY_MS, 500 * 2 ** attempt)
          }
        }
        if (stopping.aborted) {
          return
        }
        await this.forget(assignment.id)
        this.ctx.count('job_resume_failed')
        this.ctx.log('resumed job %s failed on %p - %e', hex(value.jobId), quote.signer, error)
        // a job its caller had given up on has ended for it already: nobody fails it over
        if (saved.abandoned !== true) {
          this.ctx.emit('job:resume-failed', { job, provider: quote.signer, input, deadlineMs, error })
        }
      } finally {
        this.following.delete(key)
      }
    })()
  }

  private ownJob (jobId: Uint8Array): JobAnnouncement | undefined {
    const own = this.ownJobs.get(hex(jobId))
    return own == null ? undefined : 'bytes' in own ? own.value : own
  }
}

/** A candidate another slot of a verified run took (or the run was decided): passed over as declined, at no cost to it. */
class CandidateTakenError extends QuoteDeclinedError {
  constructor () {
    super('candidate taken by another run of this job')
  }
}

/** Whether an attempt was made: not a candidate passed over because another slot of a verified run took it. */
function attempted (attempt: AttemptRecord<unknown>): boolean {
  return !(attempt.error instanceof CandidateTakenError)
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

/**
 * How long to wait before sending to a busy provider again: its
 * `retryAfterMs`, stretched at random by up to a quarter, when that still
 * ends before `until` (performance.now ms); undefined when `err` is no busy
 * reply with a wait or the time does not allow it.
 */
export function busyWait (err: unknown, until: number | undefined, now = performance.now(), random = Math.random): number | undefined {
  if (until == null || !(err instanceof ProviderBusyError) || err.retryAfterMs == null) {
    return undefined
  }
  const wait = Math.max(MIN_BUSY_WAIT_MS, err.retryAfterMs)
  const left = until - now
  if (wait >= left) {
    return undefined
  }
  return Math.min(Math.ceil(wait * (1 + BUSY_WAIT_JITTER * random())), Math.floor(left))
}


/**
 * How a failed attempt counts against the provider: a busy refusal or
 * silence (no answer in time) after claiming free slots is what the router
 * punishes hardest; a decline costs nothing (the job does not fit, or its
 * time is up); any other answer of the protocol (a payment or record
 * problem, an interrupted job) says nothing about its slots, and
 * neither does a connection that broke or could not be made: that is how a
 * crash or a restart looks, which an honest provider has too.
 */
export function attemptFailure (error: Error | undefined): AttemptFailure {
  if (error instanceof ProviderBusyError || error?.name === ProviderBusyError.name) {
    return 'busy'
  }
  // a job too big for the relay to a provider is declined: the next candidate may be reachable directly
  if (error instanceof QuoteDeclinedError || error?.name === QuoteDeclinedError.name || error?.name === RelayLimitError.name) {
    return 'declined'
  }
  if (error instanceof WorkError || (error != null && error.name !== 'TimeoutError' && error.name !== 'AbortError')) {
    return 'failed'
  }
  return 'silent'
}
