/**
 * The work service: its lifecycle, the protocol handler dispatching each
 * frame to the requester or provider role, and the public API, which
 * delegates to the roles (`requester.ts`, `provider.ts`).
 */

import { serviceCapabilities, serviceDependencies, TimeoutError, TypedEventEmitter } from '@libp2p/interface'
import { recordId } from '@shoal/records'
import { asError, optionalService } from '@shoal/utils'
import { Channel } from './channel.js'
import { WorkContext, workSettings } from './context.js'
import { InvalidMessageError, WorkError } from './errors.js'
import { Provider } from './provider.js'
import { Requester } from './requester.js'
import { StreamPool } from './stream-pool.js'
import { VoucherBook, VoucherLanes } from './vouchers.js'
import type { WorkSettings } from './context.js'
import type {
  DirectRunOptions, JobOutcome, JobSpec, PendingReceipt, RecheckResult, RunOptions, RunOutcome, RunningJob, WorkComponents, WorkEvents, WorkInit
} from './index.js'
import type { WorkFrame } from './messages.js'
import type { AbortOptions, Connection, PeerId, Startable, Stream } from '@libp2p/interface'
import type { CountersignedRecord, JobAnnouncement, PaymentVoucher, Quote, SignedRecord, WorkReceipt } from '@shoal/records'

/**
 * The `/shoal/work/1.0.0` protocol as a libp2p service: quotes, assignments,
 * execution with progress, results, receipts signed by both sides, and
 * cumulative payment vouchers. A node is a requester, a provider (when it
 * has an executor), or both.
 */
export class Work extends TypedEventEmitter<WorkEvents> implements Startable {
  readonly [Symbol.toStringTag] = '@shoal/work'
  readonly [serviceCapabilities]: string[] = ['@shoal/work']
  /** the receipt store and the router are optional: used when the node has them */
  readonly [serviceDependencies]: string[] = []

  readonly protocol: string
  /** the provider's view of what requesters owe and paid */
  readonly book: VoucherBook
  /** the requester's payment lanes */
  readonly lanes: VoucherLanes

  private readonly components: WorkComponents
  private readonly settings: WorkSettings
  private readonly ctx: WorkContext
  private readonly pool: StreamPool
  private readonly requester: Requester
  private readonly provider: Provider

  constructor (components: WorkComponents, init: WorkInit = {}) {
    super()
    this.components = components
    this.settings = workSettings(init)
    this.protocol = this.settings.protocol
    this.ctx = new WorkContext(components, this.settings, this, init.now)
    this.ctx.receipts = init.receipts
    this.book = new VoucherBook(components.peerId, components.datastore)
    this.lanes = new VoucherLanes(components.privateKey, components.peerId, this.ctx.now, components.datastore)
    this.pool = new StreamPool(this.ctx)
    this.requester = new Requester(this.ctx, this.lanes, this.pool)
    this.provider = new Provider(this.ctx, this.book, this.pool)
    this.handleStream = this.handleStream.bind(this)
    this.onConnect = this.onConnect.bind(this)
  }

  /** A peer connected: countersignatures it missed while unreachable are sent again now. */
  private onConnect (evt: CustomEvent<PeerId>): void {
    this.requester.wake(evt.detail)
  }

  async start (): Promise<void> {
    // payment state of earlier runs first: a voucher accepted before a restart still counts
    for (const loaded of [await this.lanes.load(), await this.book.load()]) {
      for (const { key, error } of loaded.skipped) {
        this.ctx.log.error('skipped saved payment entry %s - %e', key, error)
      }
    }
    // and the jobs: a resend of an assignment admitted before the restart never runs it again
    await this.provider.restore()
    // every service exists by now, whatever order the node listed them in
    this.ctx.receipts ??= optionalService(this.components, 'receipts')
    this.ctx.router = optionalService(this.components, 'router')
    await this.components.registrar.handle(this.protocol, this.handleStream, {
      maxInboundStreams: this.settings.maxInboundStreams,
      maxOutboundStreams: this.settings.maxOutboundStreams,
      // a provider that runs nothing over relays still answers there, with relay-limit: a requester reads a decline, not a reset
      runOnLimitedConnection: this.settings.handleOnLimitedConnection
    })
    this.pool.start()
    this.components.events?.addEventListener('peer:connect', this.onConnect)
    this.ctx.started = true
    // jobs this node requested before it stopped go on (in the background, once the node runs)
    await this.requester.restore()
  }

  afterStart (): void {
    if (this.settings.resumeOnStart) {
      void this.resumeJobs()
    }
  }

  /** Before libp2p closes connections: jobs followed as requester stop here, and resume at the next start. */
  beforeStop (): void {
    this.requester.stop()
  }

  async stop (): Promise<void> {
    this.components.events?.removeEventListener('peer:connect', this.onConnect)
    await this.components.registrar.unhandle(this.protocol)
    this.requester.stop()
    this.pool.stop()
    this.provider.stop()
    this.ctx.started = false
  }

  isStarted (): boolean {
    return this.ctx.started
  }

  // ------------------------------------------------------------------ requester

  /** Sign a job announcement for `spec` (to publish on a job board, or to send signed in direct mode). */
  async createJob (spec: JobSpec): Promise<SignedRecord<JobAnnouncement>> {
    return this.requester.createJob(spec)
  }

  /** Ask `peer` for a signed quote for `job`. Throws QuoteDeclinedError if it will not do it. */
  async requestQuote (peer: PeerId, job: SignedRecord<JobAnnouncement> | JobAnnouncement, options: AbortOptions = {}): Promise<SignedRecord<Quote>> {
    return this.requester.requestQuote(peer, job, options)
  }

  /**
   * Accept `quote` with a signed assignment and run the job: progress, result,
   * result-hash check, countersignature, voucher. Calling it again for the
   * same quote resends the same assignment, and the provider answers with
   * the same result and receipt: it never runs or charges twice.
   */
  async assign (quote: SignedRecord<Quote>, input: Uint8Array, options: RunOptions = {}): Promise<JobOutcome> {
    return this.requester.assign(quote, input, options)
  }

  /**
   * Direct mode: quote, assign, result and countersigned receipt in one
   * call; a candidate that already offered a quote for the job in the open
   * market (still valid for more than 2 s) is assigned that one, not asked
   * again. With several candidates, fail over to the next one on failure or
   * after `attemptTimeoutMs`, within `timeoutMs` / `deadlineMs` (through the
   * router's failover when the node has a router, so outcomes update its trust).
   * `onAttempt` hears each attempt as it ends.
   */
  async run (target: PeerId | PeerId[], job: SignedRecord<JobAnnouncement> | JobSpec, input: Uint8Array, options: DirectRunOptions = {}): Promise<RunOutcome> {
    return this.requester.run(target, job, input, options)
  }

  /**
   * Replay a countersigned job's assignment to its provider, which must
   * answer with the same receipt: 'equivocation' (and `evidence:found`) when
   * it signed a different one, 'unreachable' when it gave none. Never
   * countersigns or pays again. `run` calls it in the background for a
   * `verify.replayCheckRate` share of its jobs.
   */
  async recheck (outcome: JobOutcome, options: AbortOptions = {}): Promise<RecheckResult> {
    return this.requester.recheck(outcome, options)
  }

  /** Send a countersigned receipt (and voucher) again, e.g. after the first send was lost. */
  async resendCountersign (peer: PeerId, receipt: CountersignedRecord<WorkReceipt>, voucher?: SignedRecord<PaymentVoucher>, options: AbortOptions = {}): Promise<number> {
    return this.requester.resendCountersign(peer, receipt, voucher, options)
  }

  /**
   * Resume the jobs this node was following as requester when it stopped
   * (saved in its datastore): each ends in `job:resumed` or
   * `job:resume-failed`. Called once the node has started unless
   * `resumeOnStart` is false (then call it once your listeners are on).
   * Resolves to how many jobs resume.
   */
  async resumeJobs (): Promise<number> {
    return this.requester.resumeJobs()
  }

  /** Countersigned receipts this requester is re-sending because their providers have not acknowledged them yet. */
  unacknowledged (): Array<CountersignedRecord<WorkReceipt>> {
    return this.requester.unacknowledged()
  }

  /** Send a voucher on its own; resolves to the lane total the payee now holds. */
  async sendVoucher (peer: PeerId, voucher: SignedRecord<PaymentVoucher> | Uint8Array, options: AbortOptions = {}): Promise<number> {
    return this.requester.sendVoucher(peer, voucher, options)
  }

  /** Quotes providers offered for our job in the open market. */
  offersFor (jobId: Uint8Array): Array<SignedRecord<Quote>> {
    return this.requester.offersFor(jobId)
  }

  // ------------------------------------------------------------------ provider

  /**
   * Open market: answer a job announced on the job board with a quote, sent
   * to the requester, if the bid policy bids. Wire it to the job board's
   * `job:announced` event. Resolves to the quote, or undefined if declined.
   */
  async onJobAnnounced (job: SignedRecord<JobAnnouncement> | Uint8Array, options: AbortOptions = {}): Promise<SignedRecord<Quote> | undefined> {
    return this.provider.onJobAnnounced(job, options)
  }

  /** One-sided receipts: jobs done whose requester has not countersigned (with its signed assignment as evidence). */
  pendingReceipts (): PendingReceipt[] {
    return this.provider.pendingReceipts()
  }

  /** The jobs this provider is running now, oldest first, then those waiting for a slot. */
  runningJobs (): RunningJob[] {
    return this.provider.runningJobs()
  }

  /** Jobs this provider is running now, how many may, and how many wait for a slot. */
  get load (): { running: number, concurrency: number, queued: number } {
    return this.provider.load
  }

  // ------------------------------------------------------------------ protocol handler

  private async handleStream (stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer
    const channel = new Channel(stream, this.settings.maxMessageBytes, this.settings.stepTimeoutMs, connection.limits)
    const tasks = new Set<Promise<void>>()
    // a requester keeps a stream open between jobs; drop it after stepTimeoutMs without a frame
    // while no job of it runs (a job bounds itself). One timer per stream, re-armed per frame:
    // a timeout signal per read costs more than the rest of the bookkeeping of a job
    const idle = new AbortController()
    const timer = setTimeout(function expire () {
      if (tasks.size > 0) {
        timer.refresh()
        return
      }
      idle.abort(new TimeoutError('work stream idle'))
    }, this.settings.stepTimeoutMs)
    try {
      while (true) {
        const frame = await this.nextFrame(channel, idle, tasks)
        if (frame == null) {
          break
        }
        timer.refresh()
        if (frame.kind === 'assign') {
          // jobs run side by side on one stream; the other frames are answered in order
          const task: Promise<void> = this.provider.onAssign(channel, remote, frame.body.assignment, frame.body.input).finally(() => { tasks.delete(task) })
          tasks.add(task)
          continue
        }
        await this.answer(channel, remote, frame)
      }
      await Promise.all([...tasks])
      await stream.close({ signal: AbortSignal.timeout(this.settings.stepTimeoutMs) }).catch(() => {})
      // closing ends only our side: a peer that does not end its own in time gets the stream reset, so none stays half open
      await endOrReset(stream, this.settings.stepTimeoutMs)
    } catch (err: unknown) {
      this.ctx.log('work stream from %p failed - %e', remote, err)
      stream.abort(asError(err))
    } finally {
      clearTimeout(timer)
    }
  }

  /** The next frame; undefined at the end of the stream, or once it went idle with no job running. */
  private async nextFrame (channel: Channel, idle: AbortController, tasks: Set<Promise<void>>): Promise<WorkFrame | undefined> {
    try {
      return await channel.next(idle)
    } catch (err) {
      if (err instanceof InvalidMessageError) {
        await channel.fail(err).catch(() => {})
      }
      if (idle.signal.aborted && tasks.size === 0) {
        return undefined
      }
      throw err
    }
  }

  /** Answer one frame; a refusal (a WorkError) is sent to the peer and the stream goes on. */
  private async answer (channel: Channel, remote: PeerId, frame: WorkFrame): Promise<void> {
    try {
      await this.dispatch(channel, remote, frame)
    } catch (err) {
      if (!(err instanceof WorkError)) {
        throw err
      }
      this.ctx.log('refused %s from %p - %e', frame.kind, remote, err)
      if (frame.kind === 'quoteRequest') {
        this.ctx.count(`quote_refused:${err.code}`)
      }
      this.ctx.emit('request:refused', { peer: remote, kind: frame.kind, code: err.code, error: err })
      await channel.fail(err)
    }
  }

  private async dispatch (channel: Channel, remote: PeerId, frame: WorkFrame): Promise<void> {
    // sends without a signal time out lazily (see Channel)
    const step: AbortOptions = {}
    switch (frame.kind) {
      case 'quoteRequest': {
        const quote = await this.provider.onQuoteRequest(remote, frame.body.job, frame.body.inlineJob, channel.limits)
        await channel.send({ kind: 'quote', body: { quote: quote.bytes } }, step)
        return
      }
      case 'countersign': {
        const { id, paid } = await this.provider.onCountersign(remote, frame.body.receipt, frame.body.voucher)
        // acks name what they acknowledge: a voucher's ack may still be in flight on this stream
        await channel.send({ kind: 'ack', body: { id, paid } }, step)
        return
      }
      case 'voucher': {
        const lane = await this.provider.onVoucher(remote, frame.body.voucher)
        await channel.send({ kind: 'ack', body: { id: recordId(frame.body.voucher), paid: lane.cumulative } }, step)
        return
      }
      case 'quote': {
        // open market: a provider offers a quote for one of our jobs
        const quote = await this.requester.onQuoteOffered(remote, frame.body.quote)
        await channel.send({ kind: 'ack', body: { id: quote.id, paid: 0 } }, step)
        return
      }
      case 'error':
        this.ctx.log('peer %p reports %s: %s', remote, frame.body.code, frame.body.message)
        return
      default:
        throw new InvalidMessageError(`unexpected ${frame.kind}`)
    }
  }
}

/** Wait up to `ms` for the remote to end its side of `stream`, then reset it. */
async function endOrReset (stream: Stream, ms: number): Promise<void> {
  if (stream.status !== 'open') {
    return
  }
  await new Promise<void>(resolve => {
    const timer = setTimeout(() => {
      stream.abort(new TimeoutError('work stream left half open'))
      resolve()
    }, ms)
    stream.addEventListener('close', () => { clearTimeout(timer); resolve() }, { once: true })
  })
}
