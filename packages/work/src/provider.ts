/**
 * The provider's role: quote jobs its bid policy bids on, admit assignments
 * (`admission.ts`), run them (`run-job.ts`), return results with signed
 * receipts, and take countersignatures and vouchers (`payee.ts`).
 */

import { CLOCK_SKEW_MS, Countersigned, JobAnnouncementType, QuoteType, RECORD_VERSION, RecordError, WorkReceiptType, decodeRecord, newRandomId, openAssignment, openCountersigned, openRecord, signRecord } from '@shoal/records'
import { errorMessage } from '@shoal/utils'
import { Admission } from './admission.js'
import { QUEUE_TICK_MS } from './constants.js'
import { stepOptions } from './context.js'
import {
  AssignmentReplayedError, ExecutorError, InvalidCountersignatureError, InvalidReceiptError, JobInterruptedError, QuoteDeclinedError, UnknownJobError,
  WorkError, WrongPeerError, errorOfCode
} from './errors.js'
import { JobQueue, QueuedJob } from './job-queue.js'
import { ProviderJournal } from './journal.js'
import { decodeInlineJob } from './messages.js'
import { Payee } from './payee.js'
import { checkRelayFit, connectionKind } from './relayed.js'
import { ReceiptChain, runJob, savedJob } from './run-job.js'
import { equal, hex, recordFailure, sha256 } from './utils.js'
import type { NewJob } from './admission.js'
import type { Channel } from './channel.js'
import type { WorkContext } from './context.js'
import type { Executor } from './executor.js'
import type { PendingReceipt, RunningJob, WorkProgress } from './index.js'
import type { SavedJob } from './journal.js'
import type { JobEntry } from './run-job.js'
import type { StreamPool } from './stream-pool.js'
import type { PayeeLane, VoucherBook } from './vouchers.js'
import type { AbortOptions, ConnectionLimits, PeerId } from '@libp2p/interface'
import type { CountersignedRecord, JobAnnouncement, Quote, SignedRecord, WorkReceipt } from '@shoal/records'

/** What the provider needs of a stream to answer an assignment on it. */
export type ReplyChannel = Pick<Channel, 'send' | 'fail'> & Partial<Pick<Channel, 'reachable' | 'limits'>>

interface IssuedQuote {
  quote: SignedRecord<Quote>
  job: JobAnnouncement
  expiresMs: number
}

/** The provider role of the work service. */
export class Provider {
  private readonly ctx: WorkContext
  private readonly book: VoucherBook
  private readonly pool: StreamPool
  private readonly admission: Admission
  private readonly payee: Payee
  /** jobs by assignment id (hex), oldest first */
  private readonly jobs = new Map<string, JobEntry>()
  /** quotes issued, for the executor's job context and to skip re-verifying our own signature */
  private readonly issued = new Map<string, IssuedQuote>()
  /** the receipts signed here, each naming the one before */
  private readonly chain = new ReceiptChain()
  /** what survives a restart: admitted jobs, their results, used quotes */
  private readonly journal: ProviderJournal
  private running = 0
  /** admitted jobs waiting for a slot (`job-queue.ts`) */
  private readonly queue: JobQueue
  /** jobs given a place in the queue and being saved, not in it yet */
  private queueing = 0
  /** set by `stop()`: a job still being saved then does not start */
  private stopped = false
  /** whether the send behind a progress listener can still reach its requester */
  private readonly canReach = new WeakMap<(p: WorkProgress) => void, () => boolean>()

  constructor (ctx: WorkContext, book: VoucherBook, pool: StreamPool) {
    this.ctx = ctx
    this.book = book
    this.pool = pool
    this.payee = new Payee(ctx, book)
    this.journal = new ProviderJournal(ctx.components.datastore, ctx.settings.maxOutputBytes)
    const { concurrency, maxQueued, idleStreamTimeoutMs } = ctx.settings
    this.queue = new JobQueue({ maxQueued, concurrency, tickMs: QUEUE_TICK_MS, keepaliveMs: idleStreamTimeoutMs, now: ctx.now })
    this.admission = new Admission(ctx, {
      job: key => this.jobs.get(key),
      issuedQuote: key => this.issued.get(key)?.quote,
      running: () => this.running,
      unpaid: (peer, currency) => this.book.unpaid(peer, currency),
      uncountersigned: (peer, olderThan) => this.uncountersigned(peer, olderThan),
      queueRoom: () => this.queue.hasRoom(this.queueing),
      busyWaitMs: etaMs => this.queue.waitMs(this.queue.size, etaMs),
      quoteForgotten: key => { this.journal.forgetQuote(key).catch((err: unknown) => { this.ctx.log.error('could not forget used quote %s - %e', key, err) }) }
    })
  }

  /**
   * Take up what an earlier run saved (the journal): used quotes stay used, finished jobs
   * answer resends with the same result and receipt, a job that was running
   * when the node stopped is failed as interrupted (never run again), and
   * the receipt chain goes on from its last receipt. Entries past their
   * assignment's lifetime are forgotten.
   */
  async restore (): Promise<void> {
    this.stopped = false
    const loaded = await this.journal.load()
    for (const { key, error } of loaded.skipped) {
      this.ctx.log.error('skipped saved job entry %s - %e', key, error)
    }
    const now = this.ctx.now()
    for (const used of loaded.usedQuotes) {
      if (used.until >= now) {
        this.admission.restore(used.quote, used.assignment, used.until)
      } else {
        await this.journal.forgetQuote(used.quote).catch((err: unknown) => { this.ctx.log.error('could not forget used quote %s - %e', used.quote, err) })
      }
    }
    if (loaded.chainLast.byteLength > 0) {
      this.chain.last = loaded.chainLast
    }
    // oldest first, as they were admitted; the newest `maxJobs` are kept
    const saved = loaded.jobs.sort((a, b) => a.job.startedMs - b.job.startedMs)
    for (const { key, job } of saved) {
      try {
        const entry = await this.restoreJob(key, job, now)
        if (entry == null) {
          await this.journal.forgetJob(key).catch((err: unknown) => { this.ctx.log.error('could not forget job %s - %e', key, err) })
          continue
        }
        this.addJob(entry)
      } catch (err: unknown) {
        this.ctx.log.error('skipped saved job %s - %e', key, err)
        await this.journal.forgetJob(key).catch((e: unknown) => { this.ctx.log.error('could not forget job %s - %e', key, e) })
      }
    }
  }

  /** A saved job as the job it stands for; undefined once its assignment can no longer be resent. */
  private async restoreJob (key: string, job: SavedJob, now: number): Promise<JobEntry | undefined> {
    const opened = await openAssignment(job.assignment, { ignoreTime: true })
    if (opened.assignment.value.expiresMs + CLOCK_SKEW_MS < now) {
      return undefined
    }
    const entry: JobEntry = {
      key,
      assignmentBytes: job.assignment,
      opened,
      requester: opened.assignment.signer.toString(),
      peer: opened.assignment.signer,
      startedMs: job.startedMs,
      state: job.state === 'started' ? 'failed' : job.state,
      done: Promise.resolve(),
      controller: new AbortController(),
      listeners: new Set()
    }
    if (job.receipt != null) {
      const receipt = await openRecord(WorkReceiptType, job.receipt, { ignoreTime: true })
      if (!equal(receipt.value.assignmentId, opened.assignment.id) || !equal(receipt.value.provider, this.ctx.self)) {
        throw new InvalidReceiptError('saved receipt is not ours for this assignment')
      }
      entry.receipt = receipt
      entry.output = job.output
      entry.location = job.location ?? ''
    }
    if (job.state === 'started') {
      // it was running when the node stopped: its result is lost, and it is not run again
      entry.error = new JobInterruptedError('the provider restarted while this job ran')
      await this.journal.settled(key, savedJob(entry))
    } else if (job.error != null) {
      entry.error = errorOfCode(job.error.code, job.error.message)
    }
    return entry
  }

  /** Stop running jobs and refuse the vouchers still waiting. */
  stop (): void {
    this.stopped = true
    this.payee.stop()
    this.queue.clear()
    for (const job of this.jobs.values()) {
      job.controller.abort(new JobInterruptedError('the provider stopped while this job ran'))
    }
  }

  /** Jobs running now, how many may, and how many wait for a slot. */
  get load (): { running: number, concurrency: number, queued: number } {
    return { running: this.running, concurrency: this.ctx.settings.concurrency, queued: this.queue.size }
  }

  /** The jobs running now, oldest first, then those queued (`queued: true`). */
  runningJobs (): RunningJob[] {
    const out: RunningJob[] = []
    for (const job of this.jobs.values()) {
      if (job.state === 'running' || job.state === 'queued') {
        out.push({
          queued: job.state === 'queued',
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

  /** One-sided receipts: jobs done whose requester has not countersigned. */
  pendingReceipts (): PendingReceipt[] {
    const out: PendingReceipt[] = []
    for (const job of this.jobs.values()) {
      if (job.state === 'done' && job.receipt != null) {
        out.push({ assignment: job.assignmentBytes, receipt: job.receipt })
      }
    }
    return out
  }

  /** Receipts we hold for `peer` that it has not countersigned, issued before `olderThan` (ms). */
  private uncountersigned (peer: PeerId, olderThan: number): number {
    let n = 0
    for (const job of this.jobs.values()) {
      if (job.state === 'done' && job.receipt != null && job.receipt.value.endedMs < olderThan && job.peer.equals(peer)) {
        n++
      }
    }
    return n
  }

  // ------------------------------------------------------------------ quotes

  /** Open market: bid on an announced job and push the quote to its requester. */
  async onJobAnnounced (job: SignedRecord<JobAnnouncement> | Uint8Array, options: AbortOptions = {}): Promise<SignedRecord<Quote> | undefined> {
    let opened: SignedRecord<JobAnnouncement>
    try {
      opened = job instanceof Uint8Array ? await openRecord(JobAnnouncementType, job, { now: this.ctx.now }) : job
    } catch (err) {
      throw recordFailure(err, 'job')
    }
    const quote = await this.makeQuote(opened.value, opened.signer)
    if (quote == null) {
      return undefined
    }
    await this.pool.withChannel(opened.signer, options, async channel => {
      const step = stepOptions(this.ctx.settings, options)
      await channel.send({ kind: 'quote', body: { quote: quote.bytes } }, step)
      await channel.expect(['ack'], step)
    })
    return quote
  }

  /**
   * A quote request: the job signed, or inline (checked like a signed one).
   * Throws QuoteDeclinedError without a bid, RelayLimitError when it came
   * on a relayed connection (`limits`) the job's input does not fit.
   */
  async onQuoteRequest (remote: PeerId, signed: Uint8Array, inline: Uint8Array, limits?: ConnectionLimits): Promise<SignedRecord<Quote>> {
    let job: JobAnnouncement
    try {
      job = signed.byteLength > 0
        ? (await openRecord(JobAnnouncementType, signed, { now: this.ctx.now })).value
        : decodeInlineJob(inline, this.ctx.now())
    } catch (err) {
      throw recordFailure(err, 'job')
    }
    checkRelayFit(this.ctx, { inputBytes: job.inputBytes }, limits)
    const quote = await this.makeQuote(job, remote)
    if (quote == null) {
      if (this.running >= this.ctx.settings.concurrency && !this.queue.hasRoom(this.queueing)) {
        // full: say so and when to come back, rather than decline a job we would take later
        throw this.queue.busyError(this.running)
      }
      throw new QuoteDeclinedError('no bid for this job')
    }
    return quote
  }

  private async makeQuote (job: JobAnnouncement, requester: PeerId): Promise<SignedRecord<Quote> | undefined> {
    const { executor, bidPolicy, concurrency, quoteTtlMs } = this.ctx.settings
    if (executor == null || bidPolicy == null) {
      return undefined
    }
    if (!equal(job.requester, requester.toMultihash().bytes)) {
      throw new WrongPeerError('job announced by another peer')
    }
    this.admission.checkNotOffender(requester)
    this.admission.takeQuoteToken(requester)
    this.admission.checkCountersigned(requester)
    const now = Math.floor(this.ctx.now())
    const bid = await bidPolicy.bid(job, { running: this.running, concurrency, queued: this.queue.size, maxQueued: this.ctx.settings.maxQueued, requester, now, runMs: this.queue.averageRunMs })
    if (bid == null) {
      return undefined
    }
    const expiresMs = now + Math.max(1, Math.min(quoteTtlMs, Math.max(1, job.deadlineMs - now)))
    const quote = await signRecord(QuoteType, {
      version: RECORD_VERSION,
      jobId: job.jobId,
      requester: job.requester,
      provider: this.ctx.self,
      price: bid.price,
      estUnits: bid.estUnits,
      // a job quoted while every slot is taken waits in the queue first
      etaMs: bid.etaMs + (this.running >= concurrency ? this.queue.waitMs(this.queue.size, bid.etaMs) : 0),
      freeSlots: Math.max(0, concurrency - this.running),
      createdMs: now,
      expiresMs,
      nonce: newRandomId()
    }, this.ctx.components.privateKey)
    this.pruneIssued(now)
    this.issued.set(hex(quote.id), { quote, job, expiresMs })
    this.ctx.count('quote_sent')
    this.ctx.emit('quote:issued', quote)
    return quote
  }

  /**
   * Forget quotes from the oldest while the record is full or they have
   * expired. Quotes are issued in (nearly) expiry order, so the walk stops
   * at the first one still wanted: walking the whole record on every quote
   * once it was full cost more than signing the quote.
   */
  private pruneIssued (now: number): void {
    const max = this.ctx.settings.maxJobs * 4
    for (const [key, q] of this.issued) {
      if (q.expiresMs >= now && this.issued.size < max) {
        break
      }
      this.issued.delete(key)
    }
  }

  // ------------------------------------------------------------------ jobs

  /** An assignment on `channel`: admit it (or join its job), forward progress, send the result. */
  async onAssign (channel: ReplyChannel, remote: PeerId, assignmentBytes: Uint8Array, input: Uint8Array): Promise<void> {
    const step: AbortOptions = {}
    const forward = (p: WorkProgress): void => {
      channel.send({ kind: 'progress', body: { assignmentId: p.assignmentId, units: p.units, permille: p.permille, message: p.message } }, step).catch(() => {
        // the requester is gone: a queued job nobody listens to is dropped
        this.jobs.get(hex(sha256(assignmentBytes)))?.listeners.delete(forward)
      })
    }
    this.canReach.set(forward, () => channel.reachable?.() !== false)
    let job: JobEntry
    try {
      job = await this.admit(remote, assignmentBytes, input, forward, channel.limits)
    } catch (err) {
      if (!(err instanceof WorkError)) {
        this.ctx.log.error('assignment from %p failed - %e', remote, err)
        const internal = new WorkError('internal error')
        this.ctx.count(`job_refused:${internal.code}`)
        this.ctx.emit('request:refused', { peer: remote, kind: 'assign', code: internal.code, error: internal })
        await channel.fail(internal, step).catch(() => {})
        return
      }
      this.ctx.log('refused assignment from %p - %e', remote, err)
      this.ctx.count(`job_refused:${err.code}`)
      this.ctx.emit('request:refused', { peer: remote, kind: 'assign', code: err.code, error: err })
      await channel.fail(err, step).catch(() => {})
      return
    }

    try {
      await job.done
    } finally {
      job.listeners.delete(forward)
    }
    if (job.state === 'countersigned' && job.output == null) {
      // countersigned before a restart: the requester checked the output then, and it is not kept
      await channel.fail(new AssignmentReplayedError('assignment was executed and countersigned; its output is no longer kept'), step).catch(() => {})
      return
    }
    if (job.error != null || job.receipt == null || job.output == null) {
      await channel.fail(job.error ?? new ExecutorError('job failed'), step).catch(() => {})
      return
    }
    await channel.send({ kind: 'result', body: { receipt: job.receipt.bytes, output: job.output, location: job.location ?? '' } }, step).catch((err) => {
      this.ctx.log('could not send result to %p - %e', remote, err)
    })
  }

  /** Admit an assignment (or find the job it already started) and start the job. */
  private async admit (remote: PeerId, assignmentBytes: Uint8Array, input: Uint8Array, listener: (p: WorkProgress) => void, limits?: ConnectionLimits): Promise<JobEntry> {
    const admitted = await this.admission.admit(remote, assignmentBytes, input, listener, job => this.start(job, remote, assignmentBytes, input, listener, limits))
    if (admitted.joined == null) {
      throw new WorkError('admission did not start the job')
    }
    return admitted.joined
  }

  private start (admitted: NewJob, remote: PeerId, assignmentBytes: Uint8Array, input: Uint8Array, listener: (p: WorkProgress) => void, limits?: ConnectionLimits): JobEntry {
    const { key, opened, now, until } = admitted
    const room = this.running < this.ctx.settings.concurrency ? 'running' : this.queue.hasRoom(this.queueing) ? 'queued' : undefined
    try {
      // the job's time on a relay is what this provider quoted for it (its quote counted the wait in the queue);
      // its input came with the Assign, so the relay's remaining bytes need only hold the output and the records
      checkRelayFit(this.ctx, { inputBytes: input.byteLength, inputReceived: true, durationMs: opened.quote.value.etaMs }, limits)
    } catch (err) {
      this.admission.releaseQuote(hex(opened.quote.id), key)
      throw err
    }
    if (room == null) {
      // assignments admitted at the same moment all passed admission's check: the last ones find no room
      this.admission.releaseQuote(hex(opened.quote.id), key)
      throw this.queue.busyError(this.running, opened.quote.value.etaMs)
    }
    const entry: JobEntry = {
      key,
      assignmentBytes,
      opened,
      requester: remote.toString(),
      peer: remote,
      startedMs: now,
      state: room,
      done: Promise.resolve(),
      controller: new AbortController(),
      // listen before the executor starts: it may report progress synchronously
      listeners: new Set([listener]),
      connection: connectionKind({ limits }),
      limits
    }
    this.addJob(entry)
    this.ctx.count('job_admitted')
    // the slot or the place in the queue is taken now, while the job is saved: starts admitted together must not all see it free
    if (entry.state === 'running') {
      this.running++
    } else {
      this.queueing++
    }
    entry.done = this.begin(entry, input, until)
    return entry
  }

  /** Save the admitted job, then run it or queue it: a job runs only once it would survive a restart as used. */
  private async begin (entry: JobEntry, input: Uint8Array, until: number): Promise<void> {
    const quote = hex(entry.opened.quote.id)
    try {
      await this.journal.admitted(entry.key, savedJob(entry), { quote, assignment: entry.key, until })
    } catch (err: unknown) {
      if (entry.state === 'queued') {
        this.queueing--
      }
      // nothing ran: the quote may be assigned again, and a resend is admitted afresh
      this.ctx.log.error('could not save job %s - %e', entry.key, err)
      this.admission.releaseQuote(quote, entry.key)
      this.jobs.delete(entry.key)
      if (entry.state === 'running') {
        this.running--
        this.queue.next()
      }
      entry.state = 'failed'
      entry.error = new WorkError(`could not save the job: ${errorMessage(err)}`)
      return
    }
    if (entry.state === 'queued') {
      this.queueing--
    }
    if (this.stopped) {
      // the service stopped while the job was being saved: it never starts (a restart finds it interrupted)
      if (entry.state === 'running') {
        this.running--
      }
      entry.state = 'failed'
      entry.error = new JobInterruptedError('the provider stopped before this job started')
      return
    }
    if (entry.state === 'running') {
      await this.run(entry, input)
      return
    }
    await this.enqueue(entry, input)
  }

  /** Run a job whose slot is taken (counted in `running`); when it ends, the next queued job gets the slot. */
  private async run (entry: JobEntry, input: Uint8Array): Promise<void> {
    entry.state = 'running'
    entry.startedMs = this.ctx.now()
    this.ctx.emit('job:started', entry.opened)
    const t0 = performance.now()
    await runJob(this.ctx, entry, input, {
      executor: this.ctx.settings.executor as Executor,
      book: this.book,
      job: this.issued.get(hex(entry.opened.quote.id))?.job,
      chain: this.chain,
      journal: this.journal
    }).finally(() => {
      this.running--
      this.queue.ran(performance.now() - t0)
      this.queue.next()
    })
  }

  /** Every slot is taken: the job waits in the queue until one frees, it can no longer start, or nobody waits for it. */
  private async enqueue (entry: JobEntry, input: Uint8Array): Promise<void> {
    const a = entry.opened.assignment.value
    const quote = hex(entry.opened.quote.id)
    const deadline = this.issued.get(quote)?.job.deadlineMs
    const queued = new QueuedJob(entry, {
      startBy: Math.min(a.expiresMs, deadline ?? Infinity),
      wanted: () => [...entry.listeners].some(l => this.canReach.get(l)?.() ?? true),
      run: async () => {
        this.running++
        await this.run(entry, input)
      },
      forget: () => {
        // it never ran: nothing of it is kept, and its quote may be assigned again
        this.jobs.delete(entry.key)
        this.admission.releaseQuote(quote, entry.key)
        this.journal.forgetJob(entry.key).catch((err: unknown) => { this.ctx.log.error('could not forget job %s - %e', entry.key, err) })
        this.journal.forgetQuote(quote).catch((err: unknown) => { this.ctx.log.error('could not forget used quote %s - %e', quote, err) })
        this.ctx.count('job_dropped')
      }
    })
    this.ctx.count('job_queued')
    this.queue.push(queued)
    if (this.running < this.ctx.settings.concurrency) {
      // a slot freed while this job was being saved, and found the queue empty then
      this.queue.next()
    }
    await queued.done
  }

  private addJob (entry: JobEntry): void {
    this.jobs.set(entry.key, entry)
    if (this.jobs.size <= this.ctx.settings.maxJobs) {
      return
    }
    // evict the oldest finished job; its quote stays used (see Admission), so a replay is refused, never re-run
    for (const [key, job] of this.jobs) {
      if (job.state !== 'running' && job.state !== 'queued') {
        this.jobs.delete(key)
        this.journal.forgetJob(key).catch((err: unknown) => { this.ctx.log.error('could not forget job %s - %e', key, err) })
        break
      }
    }
  }

  // ------------------------------------------------------------------ countersignatures and vouchers

  /**
   * A countersigned receipt (and the voucher paying it): saved, and
   * acknowledged with the lane's total. Anyone may deliver a valid
   * countersignature (it is evidence whoever carries it), but only the
   * requester may pay with it or learn what it paid.
   */
  async onCountersign (remote: PeerId, bytes: Uint8Array, voucherBytes: Uint8Array): Promise<{ id: Uint8Array, paid: number }> {
    const both = await this.openCountersignature(bytes)
    const r = both.record.value
    if (!equal(r.provider, this.ctx.self)) {
      throw new InvalidReceiptError('receipt of another provider')
    }
    const job = this.jobs.get(hex(r.assignmentId))
    if (job?.receipt == null || !equal(job.receipt.bytes, both.record.bytes)) {
      throw new UnknownJobError('no such receipt issued here')
    }
    const fromRequester = job.peer.equals(remote)
    if (!fromRequester && voucherBytes.byteLength > 0) {
      throw new WrongPeerError('only the requester pays for its receipt')
    }
    // kept before it is acknowledged; a second send meanwhile waits for the same keeping
    job.countersigning ??= this.keepCountersigned(job, both)
    await job.countersigning
    if (!fromRequester) {
      return { id: both.id, paid: 0 }
    }
    if (voucherBytes.byteLength > 0) {
      const lane = await this.payee.accept(remote, voucherBytes, r.price?.currency)
      return { id: both.id, paid: lane.cumulative }
    }
    return { id: both.id, paid: this.book.paid(remote, r.price?.currency) }
  }

  /** Store a countersigned receipt, then mark its job countersigned (and let the journal drop its output). */
  private async keepCountersigned (job: JobEntry, both: CountersignedRecord<WorkReceipt>): Promise<void> {
    await this.ctx.store(both, {})
    job.state = 'countersigned'
    job.countersigned = both
    await this.journal.settled(job.key, savedJob(job)).catch((err: unknown) => {
      // the receipt store holds the countersigned receipt; the journal only forgets the output later
      this.ctx.log.error('could not save countersigned job %s - %e', job.key, err)
    })
    this.ctx.count('receipt_countersigned')
    this.ctx.emit('receipt:countersigned', both)
  }

  /** A voucher on its own. */
  async onVoucher (remote: PeerId, bytes: Uint8Array): Promise<PayeeLane> {
    return this.payee.accept(remote, bytes)
  }

  private async openCountersignature (bytes: Uint8Array): Promise<CountersignedRecord<WorkReceipt>> {
    try {
      // our own receipt inside was signed here: only the countersignature needs checking
      const assignmentId = receiptAssignmentId(bytes)
      const own = assignmentId == null ? undefined : this.jobs.get(hex(assignmentId))?.receipt
      return await openCountersigned(WorkReceiptType, bytes, { ignoreTime: true, knownRecord: own })
    } catch (err: unknown) {
      if (err instanceof RecordError) {
        throw new InvalidCountersignatureError(`${err.name}: ${err.message}`, { cause: err })
      }
      throw err
    }
  }
}

/** The assignment id inside countersigned receipt bytes, read without checking signatures (a lookup key only). */
function receiptAssignmentId (bytes: Uint8Array): Uint8Array | undefined {
  try {
    return decodeRecord(WorkReceiptType, Countersigned.decode(bytes).envelope).assignmentId
  } catch {
    return undefined
  }
}
