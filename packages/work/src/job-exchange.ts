/**
 * One job as the requester runs it, from the assignment to the
 * countersigned receipt: follow its progress (paying time-metered work as
 * it accrues), check the receipt and the output, countersign and pay.
 */

import { JobKind, RecordError, WorkReceiptType, countersign, openRecord } from '@shoal/records'
import { asError } from '@shoal/utils'
import { stepOptions } from './context.js'
import { MAX_STALE_ACKS } from './constants.js'
import { InvalidMessageError, InvalidReceiptError, ResultHashMismatchError, ResultRejectedError, WorkError, errorFromFailure } from './errors.js'
import { isQueuedProgress } from './job-queue.js'
import { EMPTY, equal, isTimeMetered, samePrice, sha256, unitsPerSecond } from './utils.js'
import type { Channel } from './channel.js'
import type { WorkContext } from './context.js'
import type { JobOutcome, RunOptions, WorkProgress } from './index.js'
import type { WorkFrame } from './messages.js'
import type { AssignmentPayment } from './payer.js'
import type { VoucherLanes } from './vouchers.js'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { Assignment, CountersignedRecord, JobAnnouncement, PaymentVoucher, Price, Quote, SignedRecord, WorkReceipt } from '@shoal/records'

/** Refusals of a voucher (docs/spec.md §4.5): during a job they answer a streamed voucher, not the job. */
const STREAMED_VOUCHER_REFUSALS = new Set(['VoucherNonceError', 'VoucherAmountError', 'InvalidVoucherError'])

type ResultBody = Extract<WorkFrame, { kind: 'result' }>['body']

/** What one send of an assignment starts from. */
export interface JobExchangeInit {
  channel: Channel
  quote: SignedRecord<Quote>
  assignment: SignedRecord<Assignment>
  input: Uint8Array
  options: RunOptions
  /** the job, if we know it: its GPU count bounds what gpu-second work can accrue */
  job?: JobAnnouncement
  /** what this assignment has been paid, by this send and any other */
  payment: AssignmentPayment
  /** called once the receipt is countersigned and paid, before the countersignature is sent (the requester's journal) */
  onCountersigned?(receipt: CountersignedRecord<WorkReceipt>, voucher?: SignedRecord<PaymentVoucher>): Promise<void>
}

/** Send the assignment and follow the job to its countersigned (and paid) receipt. */
export async function exchangeJob (ctx: WorkContext, lanes: VoucherLanes, init: JobExchangeInit): Promise<JobOutcome> {
  const { options } = init
  const step = stepOptions(ctx.settings, options)
  // the job itself may take long: only the caller's signal bounds it, else the job timeout
  const jobSignal = options.signal ?? AbortSignal.timeout(ctx.settings.jobTimeoutMs)
  const sentAt = performance.now()
  await init.channel.send({ kind: 'assign', body: { assignment: init.assignment.bytes, input: init.input } }, { signal: jobSignal })
  return new JobExchange(ctx, lanes, init, step, jobSignal, sentAt).run()
}

/** One send of an assignment, after it left, and what its steps share. */
class JobExchange {
  private readonly ctx: WorkContext
  private readonly lanes: VoucherLanes
  private readonly channel: Channel
  private readonly quote: SignedRecord<Quote>
  private readonly assignment: SignedRecord<Assignment>
  private readonly provider: PeerId
  private readonly price: Price
  private readonly job?: JobAnnouncement
  private readonly options: RunOptions
  /** bounds one step (a voucher, the countersignature) */
  private readonly step: AbortOptions
  /** bounds the whole job: the caller's signal, else the job timeout */
  private readonly jobSignal: AbortSignal
  /** when the assignment left, or its job last said it was queued (performance.now), bounding what time-metered work can have accrued */
  private sentAt: number
  private readonly payment: AssignmentPayment
  private readonly onCountersigned?: JobExchangeInit['onCountersigned']

  constructor (ctx: WorkContext, lanes: VoucherLanes, init: JobExchangeInit, step: AbortOptions, jobSignal: AbortSignal, sentAt: number) {
    this.ctx = ctx
    this.lanes = lanes
    this.channel = init.channel
    this.quote = init.quote
    this.assignment = init.assignment
    this.provider = init.quote.signer
    this.price = init.quote.value.price as Price
    this.job = init.job
    this.options = init.options
    this.payment = init.payment
    this.onCountersigned = init.onCountersigned
    this.step = step
    this.jobSignal = jobSignal
    this.sentAt = sentAt
  }

  /** Follow the job to its result, check it, countersign and pay. */
  async run (): Promise<JobOutcome> {
    const result = await this.awaitResult()
    const receipt = await this.openReceipt(result.receipt)
    const output = await this.verifiedOutput(result, receipt.value)
    await this.checkResult(receipt, output)
    return this.countersignAndPay(receipt, output)
  }

  /** Read frames until the result: progress is forwarded (and time-metered work paid), stale acks skipped. */
  private async awaitResult (): Promise<ResultBody> {
    while (true) {
      const frame = await this.channel.expect(['progress', 'result', 'ack', 'error'], { signal: this.jobSignal })
      switch (frame.kind) {
        case 'result':
          return frame.body
        case 'ack':
          continue
        case 'error': {
          const err = errorFromFailure(frame.body.code, frame.body.message, frame.body.retryAfterMs)
          // the answer to a voucher streamed while the job runs: the job goes on, and the
          // final voucher pays what is owed (one overtaken by a later voucher is covered by it)
          if (STREAMED_VOUCHER_REFUSALS.has(err.name)) {
            this.ctx.log('%p refused a streamed voucher - %e', this.provider, err)
            continue
          }
          throw err
        }
        case 'progress':
          await this.onProgress(frame.body)
      }
    }
  }

  private async onProgress (body: Extract<WorkFrame, { kind: 'progress' }>['body']): Promise<void> {
    const { assignment, price } = this
    if (!equal(body.assignmentId, assignment.id)) {
      throw new InvalidMessageError('progress for another assignment')
    }
    const progress: WorkProgress = { assignmentId: assignment.id, units: body.units, permille: body.permille, message: body.message }
    this.options.onProgress?.(progress)
    this.ctx.emit('job:progress', progress)
    if (isQueuedProgress(progress)) {
      // waiting for a slot is no work: time-metered units accrue from when it left the queue
      this.sentAt = performance.now()
      return
    }
    const accrued = Math.min(progress.units, assignment.value.maxUnits, this.verifiableUnits()) * price.perUnit
    const voucher = await this.payment.accrued(accrued, price.currency, this.quote.value.jobId)
    if (voucher != null) {
      await this.channel.send({ kind: 'voucher', body: { voucher: voucher.bytes } }, this.step)
    }
  }

  /**
   * Units that can have accrued so far by what we can check ourselves:
   * time-metered units up to the time elapsed since the assignment left,
   * times the slots the job asked for. Other units (tokens, jobs) are paid
   * only on the result, so a provider's claims in progress reports are never paid.
   * Nor is a capture's time: a second of footage is worth paying only once
   * its proof of recording (attestation and witnesses, which come with the
   * result) is verified, so a capture job's vouchers follow its verified
   * seconds, on the result.
   */
  private verifiableUnits (): number {
    const { price, job, sentAt } = this
    if (!isTimeMetered(price.unit) || job?.kind === JobKind.CAPTURE) {
      return 0
    }
    return Math.ceil((performance.now() - sentAt) / 1000) * slotsOf(price, job)
  }

  /** Open the provider's receipt and check it is for this assignment, at the quoted price, within its units. */
  private async openReceipt (bytes: Uint8Array): Promise<SignedRecord<WorkReceipt>> {
    const { quote, assignment } = this
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
  private async verifiedOutput (result: ResultBody, receipt: WorkReceipt): Promise<Uint8Array> {
    let output = result.output
    if (output.byteLength === 0 && result.location !== '') {
      if (this.options.fetchOutput == null) {
        throw new InvalidReceiptError(`output is at ${result.location} and no fetchOutput was given`)
      }
      output = await this.options.fetchOutput(result.location, receipt, { signal: this.jobSignal })
    }
    if (!equal(sha256(output), receipt.resultHash)) {
      const err = new ResultHashMismatchError('output does not hash to the receipt\'s resultHash')
      // tell the provider why it gets no countersignature, then give up on it
      await this.channel.fail(err, this.step).catch(() => {})
      throw err
    }
    return output
  }

  /** The caller's `checkResult`: a refusal goes to the provider as a Failure, and nothing is countersigned or paid. */
  private async checkResult (receipt: SignedRecord<WorkReceipt>, output: Uint8Array): Promise<void> {
    const check = this.options.checkResult
    if (check == null) {
      return
    }
    try {
      await check({ provider: this.provider, output, receipt, assignment: this.assignment }, { signal: this.jobSignal })
    } catch (err: unknown) {
      const refusal = err instanceof WorkError ? err : new ResultRejectedError(asError(err).message, { cause: err })
      await this.channel.fail(refusal, this.step).catch(() => {})
      throw refusal
    }
  }

  private async countersignAndPay (receipt: SignedRecord<WorkReceipt>, output: Uint8Array): Promise<JobOutcome> {
    const { provider, quote, assignment, options } = this
    const both = await countersign(receipt, this.ctx.components.privateKey)
    await this.ctx.store(both, options)
    this.ctx.count('receipt_countersigned')
    this.ctx.emit('receipt:countersigned', both)
    const r = receipt.value
    const voucher = r.price == null ? undefined : await this.payment.settle(r.total, r.price.currency, r.jobId)
    await this.onCountersigned?.(both, voucher)
    let acknowledged = false
    try {
      await exchangeCountersign(this.lanes, this.channel, both, voucher, this.step)
      acknowledged = true
    } catch (err) {
      // the work is done and we hold both copies; the provider can get the countersignature again
      this.ctx.log('countersignature to %p not acknowledged - %e', provider, err)
    }
    return { provider, output, receipt: both, quote, assignment, voucher, acknowledged }
  }
}

/** Units of time-metered work that may accrue per second of a job: its GPUs for `gpu-second`, else 1. */
function slotsOf (price: Price, job?: JobAnnouncement): number {
  return unitsPerSecond(price.unit, job?.requirements?.gpuCount ?? 1)
}

/** Send a countersigned receipt (and the voucher paying it); resolves to the lane total the provider acknowledges. */
export async function exchangeCountersign (lanes: VoucherLanes, channel: Channel, receipt: CountersignedRecord<WorkReceipt>, voucher: SignedRecord<PaymentVoucher> | undefined, options: AbortOptions): Promise<number> {
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
      const lane = lanes.lane(receipt.record.signer, voucher.value.currency)
      if (lane.nonce > voucher.value.nonce) {
        return lane.cumulative
      }
    }
    throw err
  }
}
