/**
 * The provider's admission: whether a peer may have a quote (a token bucket
 * per peer) and whether an assignment may run. An assignment is refused when
 * it is not ours or not its sender's, when its quote was used already or is
 * too old, when its input differs from what was signed, when every slot is
 * taken, or when its requester owes too much or leaves too many receipts
 * uncountersigned (a free rider: no quote either); a resend of an admitted one
 * joins its job instead of running it again.
 */

import { AssignmentType, openAssignment, openRecord } from '@shoal/records'
import { TokenBucketLimiter } from '@shoal/utils'
import { MAX_LISTENERS_PER_JOB, MAX_QUOTE_BUCKETS } from './constants.js'
import {
  AssignmentReplayedError, InputMismatchError, InvalidRecordError, PayloadTooLargeError, PaymentRequiredError, ProviderBusyError,
  QuoteDeclinedError, QuoteRateLimitedError, QuoteReusedError, UnpaidReceiptsError, WrongPeerError
} from './errors.js'
import { equal, hex, recordFailure, sha256 } from './utils.js'
import type { WorkContext } from './context.js'
import type { WorkProgress } from './index.js'
import type { JobEntry } from './run-job.js'
import type { PeerId } from '@libp2p/interface'
import type { OpenedAssignment, Quote, SignedRecord } from '@shoal/records'

/** What admission reads of the provider's state. */
export interface AdmissionState {
  /** admitted jobs by assignment id (hex) */
  job(key: string): JobEntry | undefined
  /** a quote this provider signed and still holds, by its record id (hex) */
  issuedQuote(key: string): SignedRecord<Quote> | undefined
  /** jobs running now */
  running(): number
  /** whether an assignment arriving with every slot taken may wait in the queue (`job-queue.ts`) */
  queueRoom(): boolean
  /** the estimated wait of a job refused now, ms: `etaMs` is its quote's, used before any job finished */
  busyWaitMs(etaMs: number): number
  /** what `peer` owes in `currency`, charged minus paid */
  unpaid(peer: PeerId, currency: string): number
  /** receipts issued to `peer` it has not countersigned, older than `olderThan` (ms, the service clock) */
  uncountersigned?(peer: PeerId, olderThan: number): number
  /** a used quote (its id, hex) was forgotten: it has expired */
  quoteForgotten?(key: string): void
}

/** The outcome of admitting an assignment. */
export type Admitted =
  /** a resend of an assignment already admitted: the listener now follows that job */
  | { joined: JobEntry }
  /** a new job to start; its quote is now used, until `until` (ms) (with a `start` callback: the job it started, as `joined`) */
  | ({ joined?: undefined } & NewJob)

/** An admitted assignment whose job is new. */
export interface NewJob {
  key: string
  opened: OpenedAssignment
  now: number
  /** until when its quote stays used, ms */
  until: number
}

/** Decides which quote requests and assignments the provider takes. */
export class Admission {
  private readonly ctx: WorkContext
  private readonly state: AdmissionState
  /**
   * quote id (hex) -> the assignment (hex) that used it and until when it could
   * still be assigned; outlives the job, so neither a replay nor a second assignment of
   * the quote runs once the job is evicted. Expired entries go: the quote is refused anyway.
   */
  private readonly usedQuotes = new Map<string, { assignment: string, until: number }>()
  /** quote requests allowed per peer, a token bucket each */
  private readonly quoteBuckets: TokenBucketLimiter

  constructor (ctx: WorkContext, state: AdmissionState) {
    this.ctx = ctx
    this.state = state
    const { quoteRate, quoteBurst } = ctx.settings
    this.quoteBuckets = new TokenBucketLimiter({ burst: quoteBurst, perSecond: quoteRate, maxKeys: MAX_QUOTE_BUCKETS, now: () => ctx.now() })
  }

  /** Take a token from `peer`'s quote bucket, or throw QuoteRateLimitedError. */
  takeQuoteToken (peer: PeerId): void {
    if (!this.quoteBuckets.tryTake(peer.toString())) {
      throw new QuoteRateLimitedError(`more than ${this.ctx.settings.quoteRate} quote requests per second`)
    }
  }

  /**
   * Throw UnpaidReceiptsError when `peer` leaves `maxUnpaidJobs` of our
   * receipts uncountersigned. Receipts younger than two step timeouts do not
   * count: the countersignature of a job that just finished is on its way.
   */
  checkCountersigned (peer: PeerId): void {
    const { maxUnpaidJobs, stepTimeoutMs } = this.ctx.settings
    const unsigned = this.state.uncountersigned?.(peer, this.ctx.now() - 2 * stepTimeoutMs) ?? 0
    if (unsigned >= maxUnpaidJobs) {
      throw new UnpaidReceiptsError(`${unsigned} receipts not countersigned, limit is ${maxUnpaidJobs}`)
    }
  }

  /**
   * Admit an assignment from `remote`, or join the job a resend of it
   * started; `listener` then follows that job's progress. Throws the
   * `WorkError` the requester is told when it is refused.
   */
  async admit (remote: PeerId, assignmentBytes: Uint8Array, input: Uint8Array, listener: (p: WorkProgress) => void, start?: (admitted: NewJob) => JobEntry): Promise<Admitted> {
    const { settings } = this.ctx
    if (settings.executor == null) {
      throw new QuoteDeclinedError('this node runs no jobs')
    }
    if (input.byteLength > settings.maxInputBytes) {
      throw new PayloadTooLargeError(`input is ${input.byteLength} bytes, limit is ${settings.maxInputBytes}`)
    }
    const key = hex(sha256(assignmentBytes))
    const existing = this.state.job(key)
    if (existing != null) {
      return this.join(existing, remote, listener)
    }
    const opened = await this.open(remote, assignmentBytes)
    // re-check after the await: a concurrent resend of the same assignment may have started it
    const raced = this.state.job(key)
    if (raced != null) {
      return this.join(raced, remote, listener)
    }
    const now = this.ctx.now()
    const assignableUntil = this.checkQuoteUnused(opened, key, now)
    this.checkRoom(remote, opened, input)
    this.useQuote(hex(opened.quote.id), key, assignableUntil, now)
    const admitted: NewJob = { key, opened, now, until: assignableUntil }
    // started in the same turn as the quote is marked used: a resend checked in between would find the quote
    // used and no job to join, and be refused as a replay
    return start == null ? admitted : { joined: start(admitted) }
  }

  /** Take up a used quote an earlier run saved (the journal): it stays used until it expires. */
  restore (quote: string, assignment: string, until: number): void {
    if (until >= this.ctx.now()) {
      this.usedQuotes.set(quote, { assignment, until })
    }
  }

  /** A resend joins the running job; bounded, so resends cannot pile up listeners. */
  private join (existing: JobEntry, remote: PeerId, listener: (p: WorkProgress) => void): Admitted {
    if (existing.requester !== remote.toString()) {
      throw new WrongPeerError('assignment belongs to another requester')
    }
    if (existing.listeners.size >= MAX_LISTENERS_PER_JOB) {
      throw new ProviderBusyError('too many resends of this assignment in flight')
    }
    existing.listeners.add(listener)
    return { joined: existing }
  }

  /** Open the assignment and check it is for us, from its sender. */
  private async open (remote: PeerId, assignmentBytes: Uint8Array): Promise<OpenedAssignment> {
    let opened: OpenedAssignment
    try {
      opened = await this.openAssignment(assignmentBytes)
    } catch (err) {
      throw recordFailure(err, 'assignment')
    }
    const a = opened.assignment.value
    if (!equal(a.provider, this.ctx.self)) {
      throw new WrongPeerError('assignment is for another provider')
    }
    if (!equal(a.requester, remote.toMultihash().bytes)) {
      throw new WrongPeerError('assignment is from another requester than the sender')
    }
    return opened
  }

  /**
   * Open an assignment. When the quote inside is byte for byte one this
   * node signed and still holds, its signature is not verified again (the
   * same checks as `openAssignment` otherwise): one signature check less per job.
   */
  private async openAssignment (bytes: Uint8Array): Promise<OpenedAssignment> {
    const assignment = await openRecord(AssignmentType, bytes, { now: this.ctx.now })
    const issued = this.state.issuedQuote(hex(sha256(assignment.value.quote)))
    if (issued == null || !equal(issued.bytes, assignment.value.quote)) {
      return openAssignment(bytes, { now: this.ctx.now })
    }
    const a = assignment.value
    const q = issued.value
    if (!equal(a.jobId, q.jobId) || !equal(a.provider, q.provider) || !equal(a.requester, q.requester)) {
      throw new InvalidRecordError('assignment and quote disagree on the job or the peers')
    }
    return { assignment, quote: issued }
  }

  /** Refuse a replay or a second assignment of a quote, and a quote too old; resolves to until when it can be assigned. */
  private checkQuoteUnused (opened: OpenedAssignment, key: string, now: number): number {
    const used = this.usedQuotes.get(hex(opened.quote.id))
    if (used != null && used.until >= now) {
      if (used.assignment === key) {
        throw new AssignmentReplayedError('assignment was executed before; its result is no longer kept')
      }
      throw new QuoteReusedError('quote was accepted by another assignment')
    }
    // a quote can be assigned until then; the used-quote record must outlive that
    const assignableUntil = opened.quote.value.expiresMs + this.ctx.settings.assignmentTtlMs
    if (assignableUntil < now) {
      throw new InvalidRecordError('quote is too old to be assigned')
    }
    return assignableUntil
  }

  /** Refuse an input other than the signed one, a job beyond our slots and queue, and a requester owing too much or not countersigning. */
  private checkRoom (remote: PeerId, opened: OpenedAssignment, input: Uint8Array): void {
    const { concurrency, maxUnpaid } = this.ctx.settings
    const a = opened.assignment.value
    if (a.inputHash.byteLength > 0 && !equal(a.inputHash, sha256(input))) {
      throw new InputMismatchError()
    }
    const running = this.state.running()
    if (running >= concurrency && !this.state.queueRoom()) {
      throw new ProviderBusyError(`running ${running} of ${concurrency} jobs, queue full`, { retryAfterMs: this.state.busyWaitMs(opened.quote.value.etaMs) })
    }
    const currency = opened.quote.value.price?.currency ?? ''
    const unpaid = this.state.unpaid(remote, currency)
    if (unpaid > maxUnpaid) {
      throw new PaymentRequiredError(`owes ${unpaid} ${currency}, limit is ${maxUnpaid}`)
    }
    this.checkCountersigned(remote)
    this.checkNotOffender(remote)
  }

  /** Refuse a peer evidence shows cheated (`WorkInit.offenders`): no quote, no work, asked directly or on the board. */
  checkNotOffender (peer: PeerId): void {
    if (this.ctx.settings.offenders?.(peer) === true) {
      throw new QuoteDeclinedError('requester is a known offender')
    }
  }

  /**
   * Forget that `quoteKey` was used by `assignment`: its job left the queue
   * unrun because nobody waited for it, so a resend of the same assignment
   * may be admitted (and run once) later.
   */
  releaseQuote (quoteKey: string, assignment: string): void {
    if (this.usedQuotes.get(quoteKey)?.assignment === assignment) {
      this.usedQuotes.delete(quoteKey)
    }
  }

  /**
   * Record that `quoteKey` was used by `assignment`. Throws ProviderBusyError
   * when the record is full of unexpired quotes: forgetting one would let it be
   * assigned again.
   */
  private useQuote (quoteKey: string, assignment: string, until: number, now: number): void {
    const max = this.ctx.settings.maxUsedQuotes
    // entries come roughly in expiry order: drop expired ones from the front
    for (const [key, entry] of this.usedQuotes) {
      if (entry.until >= now) {
        break
      }
      this.forget(key)
    }
    if (this.usedQuotes.size >= max) {
      for (const [key, entry] of this.usedQuotes) {
        if (entry.until < now) {
          this.forget(key)
        }
      }
      if (this.usedQuotes.size >= max) {
        throw new ProviderBusyError(`${this.usedQuotes.size} assigned quotes not yet expired`)
      }
    }
    this.usedQuotes.set(quoteKey, { assignment, until })
  }

  private forget (quote: string): void {
    this.usedQuotes.delete(quote)
    this.state.quoteForgotten?.(quote)
  }
}
