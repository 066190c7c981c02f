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

/** One countersignature being re-sent. */
interface Resend {
  receipt: CountersignedRecord<WorkReceipt>
  voucher?: SignedRecord<PaymentVoucher>
  /** after this (ms, the service clock) the provider need not hold the job: no more re-sends */
  until: number
  /** re-sends made so far */
  attempt: number
  /** the next re-send, while one waits; unset while one is on its way */
  timer?: ReturnType<typeof setTimeout>
}

/** Re-sends unacknowledged countersignatures in the background. */
export class CountersignResender {
  private readonly ctx: WorkContext
  private readonly target: ResendTarget
  /** every countersignature being re-sent, by receipt id (hex) */
  private readonly resends = new Map<string, Resend>()
  private stopped = false

  constructor (ctx: WorkContext, target: ResendTarget) {
    this.ctx = ctx
    this.target = target
  }

  /** Countersignatures waiting to be re-sent. */
  get pending (): number {
    return this.resends.size
  }

  /** The receipts whose countersignature waits to be re-sent (or is on its way). */
  receipts (): Array<CountersignedRecord<WorkReceipt>> {
    return [...this.resends.values()].map(r => r.receipt)
  }

  /**
   * Re-send `receipt` until it is acknowledged; after the assignment's
   * lifetime past the receipt's end the provider need not hold the job, and
   * the re-sends stop.
   */
  schedule (receipt: CountersignedRecord<WorkReceipt>, voucher?: SignedRecord<PaymentVoucher>): void {
    const key = hex(receipt.id)
    if (this.stopped || this.resends.has(key)) {
      return
    }
    const resend: Resend = { receipt, voucher, until: receipt.record.value.endedMs + this.ctx.settings.assignmentTtlMs, attempt: 0 }
    this.resends.set(key, resend)
    this.later(key, resend, FIRST_DELAY_MS)
  }

  /** `peer` is reachable again (it connected): its re-sends go now instead of after their backoff. */
  wake (peer: PeerId): void {
    for (const [key, resend] of this.resends) {
      // one on its way (no timer) is not sent twice
      if (resend.timer != null && resend.receipt.record.signer.equals(peer)) {
        this.later(key, resend, 0)
      }
    }
  }

  /** Take re-sends again (after `stop()`, when the service starts again). */
  start (): void {
    this.stopped = false
  }

  stop (): void {
    this.stopped = true
    for (const resend of this.resends.values()) {
      clearTimeout(resend.timer)
    }
    this.resends.clear()
  }

  private later (key: string, resend: Resend, delay: number): void {
    clearTimeout(resend.timer)
    resend.timer = setTimeout(() => { void this.resend(key, resend) }, delay)
    resend.timer.unref?.()
  }

  private async resend (key: string, resend: Resend): Promise<void> {
    resend.timer = undefined
    const { receipt, voucher } = resend
    const provider = receipt.record.signer
    try {
      this.ctx.count('countersign_resent')
      await this.target.send(provider, receipt, voucher, { signal: AbortSignal.timeout(this.ctx.settings.stepTimeoutMs) })
      this.ctx.log('countersignature of %s acknowledged by %p on re-send %d', key, provider, resend.attempt + 1)
    } catch (err: unknown) {
      if (this.stopped) {
        return
      }
      // a broken stream, a busy or failing provider: it may take it later; only an answer about the receipt ends it
      if ((!answered(err) || err instanceof ProviderBusyError || (err instanceof WorkError && err.code === FAILURE_CODE.internal)) && this.ctx.now() < resend.until) {
        resend.attempt++
        this.later(key, resend, Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** resend.attempt))
        return
      }
      // refused (the provider does not know it, or will not take it), or past the time it holds jobs
      this.ctx.count('countersign_given_up')
      this.ctx.log.error('gave up re-sending the countersignature of %s to %p - %s', key, provider, errorMessage(err))
    }
    this.resends.delete(key)
    await this.target.forget(receipt.record.value.assignmentId).catch((err: unknown) => { this.ctx.log.error('could not forget request %s - %e', key, err) })
  }
}
