/**
 * The requester's re-sends of countersignatures: a countersigned receipt
 * (and the voucher paying it) the provider did not acknowledge is sent
 * again with backoff until it is, until the provider answers that it will
 * not take it, or until the provider can no longer hold the job.
 */

import { errorMessage } from '@shoal/utils'
import { answered } from './channel.js'
import { FAILURE_CODE } from './constants.js'
import { ProviderBusyError, WorkError } from './errors.js'
import { hex } from './utils.js'
import type { WorkContext } from './context.js'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { CountersignedRecord, PaymentVoucher, SignedRecord, WorkReceipt } from '@shoal/records'

/** First wait before a re-send, ms; it doubles per attempt. */
const FIRST_DELAY_MS = 1_000
/** Longest wait between re-sends, ms. */
const MAX_DELAY_MS = 60_000

/** What the re-sender uses of the requester. */
export interface ResendTarget {
  /** send the countersignature (and voucher) on a work stream; resolves once acknowledged */
  send(peer: PeerId, receipt: CountersignedRecord<WorkReceipt>, voucher: SignedRecord<PaymentVoucher> | undefined, options: AbortOptions): Promise<number>
  /** the re-send ended (acknowledged, refused, or given up): forget it */
  forget(assignmentId: Uint8Array): Promise<void>
}

/** Re-sends unacknowledged countersignatures in the background. */
export class CountersignResender {
  private readonly ctx: WorkContext
  private readonly target: ResendTarget
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>()
  /** every receipt being re-sent, by id (hex) */
  private readonly sending = new Map<string, CountersignedRecord<WorkReceipt>>()
  /** what each pending re-send sends, and its next attempt */
  private readonly waiting = new Map<string, { receipt: CountersignedRecord<WorkReceipt>, voucher?: SignedRecord<PaymentVoucher>, until: number, attempt: number }>()
  private stopped = false

  constructor (ctx: WorkContext, target: ResendTarget) {
    this.ctx = ctx
    this.target = target
  }

  /** Countersignatures waiting to be re-sent. */
  get pending (): number {
    return this.timers.size
  }

  /** The receipts whose countersignature waits to be re-sent (or is on its way). */
  receipts (): Array<CountersignedRecord<WorkReceipt>> {
    return [...this.sending.values()]
  }

  /**
   * Re-send `receipt` until it is acknowledged; after the assignment's
   * lifetime past the receipt's end the provider need not hold the job, and
   * the re-sends stop.
   */
  schedule (receipt: CountersignedRecord<WorkReceipt>, voucher?: SignedRecord<PaymentVoucher>): void {
    const key = hex(receipt.id)
    if (this.stopped || this.timers.has(key)) {
      return
    }
    const until = receipt.record.value.endedMs + this.ctx.settings.assignmentTtlMs
    this.sending.set(key, receipt)
    this.later(key, receipt, voucher, until, 0)
  }

  /** `peer` is reachable again (it connected): its re-sends go now instead of after their backoff. */
  wake (peer: PeerId): void {
    for (const [key, pending] of this.waiting) {
      if (pending.receipt.record.signer.equals(peer)) {
        clearTimeout(this.timers.get(key))
        this.timers.set(key, setTimeout(() => { void this.resend(key, pending.receipt, pending.voucher, pending.until, pending.attempt) }, 0))
      }
    }
  }

  /** Take re-sends again (after `stop()`, when the service starts again). */
  start (): void {
    this.stopped = false
  }

  stop (): void {
    this.stopped = true
    for (const timer of this.timers.values()) {
      clearTimeout(timer)
    }
    this.timers.clear()
    this.waiting.clear()
    this.sending.clear()
  }

  private later (key: string, receipt: CountersignedRecord<WorkReceipt>, voucher: SignedRecord<PaymentVoucher> | undefined, until: number, attempt: number): void {
    const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt)
    const timer = setTimeout(() => { void this.resend(key, receipt, voucher, until, attempt) }, delay)
    timer.unref?.()
    this.timers.set(key, timer)
    this.waiting.set(key, { receipt, voucher, until, attempt })
  }

  private async resend (key: string, receipt: CountersignedRecord<WorkReceipt>, voucher: SignedRecord<PaymentVoucher> | undefined, until: number, attempt: number): Promise<void> {
    if (!this.waiting.has(key)) {
      return
    }
    // in flight: a wake meanwhile does not send it twice
    this.waiting.delete(key)
    const provider = receipt.record.signer
    const assignmentId = receipt.record.value.assignmentId
    try {
      this.ctx.count('countersign_resent')
      await this.target.send(provider, receipt, voucher, { signal: AbortSignal.timeout(this.ctx.settings.stepTimeoutMs) })
      this.ctx.log('countersignature of %s acknowledged by %p on re-send %d', key, provider, attempt + 1)
    } catch (err: unknown) {
      if (this.stopped) {
        return
      }
      // a broken stream, a busy or failing provider: it may take it later; only an answer about the receipt ends it
      if ((!answered(err) || err instanceof ProviderBusyError || (err instanceof WorkError && err.code === FAILURE_CODE.internal)) && this.ctx.now() < until) {
        this.later(key, receipt, voucher, until, attempt + 1)
        return
      }
      // refused (the provider does not know it, or will not take it), or past the time it holds jobs
      this.ctx.count('countersign_given_up')
      this.ctx.log.error('gave up re-sending the countersignature of %s to %p - %s', key, provider, errorMessage(err))
    }
    this.timers.delete(key)
    this.sending.delete(key)
    await this.target.forget(assignmentId).catch((err: unknown) => { this.ctx.log.error('could not forget request %s - %e', key, err) })
  }
}
