/**
 * The requester's side of payment: when to sign a voucher and for how
 * much. The vouchers themselves are signed on the lanes of `vouchers.ts`.
 */

import { BoundedMap } from '@shoal/utils'
import { hex } from './utils.js'
import type { WorkContext } from './context.js'
import type { VoucherLanes } from './vouchers.js'
import type { PeerId } from '@libp2p/interface'
import type { PaymentVoucher, SignedRecord } from '@shoal/records'

/** Amounts owed to one provider in one currency this turn, paid by one voucher. */
interface PayBatch {
  amount: number
  voucher?: Promise<SignedRecord<PaymentVoucher>>
}

/**
 * Decides what the requester pays: never twice for one assignment, only once
 * `payEvery` is owed, and with one voucher for all receipts of one turn.
 */
export class Payer {
  private readonly ctx: WorkContext
  private readonly lanes: VoucherLanes
  /** amount paid per assignment id (hex), so a resent assignment is not paid again */
  private readonly paidFor: BoundedMap<string, number>
  /** amounts owed per provider and currency not yet in a voucher (see payEvery) */
  private readonly unvouched = new Map<string, number>()
  /** the voucher being gathered this turn per provider and currency (see `pay`) */
  private readonly batches = new Map<string, PayBatch>()

  constructor (ctx: WorkContext, lanes: VoucherLanes) {
    this.ctx = ctx
    this.lanes = lanes
    this.paidFor = new BoundedMap(ctx.settings.maxJobs)
  }

  /** Whether the requester pays with vouchers at all (`vouchers` option). */
  get enabled (): boolean {
    return this.ctx.settings.payWithVouchers
  }

  /** Owed amounts below this wait for more (`payEvery` option). */
  get payEvery (): number {
    return this.ctx.settings.payEvery
  }

  /**
   * The payment of one send of an assignment to `provider`; `save` keeps
   * what it has paid before each voucher is signed (the requester's journal),
   * so a resumed job never pays twice what a voucher already covered.
   */
  forAssignment (assignmentId: Uint8Array, provider: PeerId, save?: (paid: number) => Promise<void>): AssignmentPayment {
    return new AssignmentPayment(this, hex(assignmentId), provider, save)
  }

  /** Paid so far for the assignment `key` (by any send of it). */
  paid (key: string): number {
    return this.paidFor.get(key) ?? 0
  }

  /** Record that the assignment `key` is paid up to `amount` (never less than recorded: what was paid stays paid). */
  setPaid (key: string, amount: number): void {
    this.paidFor.set(key, Math.max(this.paid(key), amount))
  }

  /** Sign a voucher for `amount` right away (a payment streamed with the work). */
  async payNow (provider: PeerId, amount: number, currency: string, jobId: Uint8Array): Promise<SignedRecord<PaymentVoucher>> {
    return this.lanes.pay(provider, amount, currency, jobId)
  }

  /** Pay `amount` owed to `provider`: a voucher once at least `payEvery` is owed, else just remember it. */
  async pay (provider: PeerId, amount: number, currency: string, jobId: Uint8Array): Promise<SignedRecord<PaymentVoucher> | undefined> {
    const key = `${provider.toString()}/${currency}`
    const owed = (this.unvouched.get(key) ?? 0) + amount
    if (owed < this.ctx.settings.payEvery) {
      this.unvouched.set(key, owed)
      return undefined
    }
    this.unvouched.delete(key)
    // receipts paid in the same turn of the event loop share one voucher covering them all:
    // vouchers are cumulative, so one signature does the work of many
    let batch = this.batches.get(key)
    if (batch == null) {
      const pending: PayBatch = { amount: 0 }
      pending.voucher = new Promise<void>(resolve => { setImmediate(resolve) }).then(async () => {
        this.batches.delete(key)
        return this.lanes.pay(provider, pending.amount, currency, jobId)
      })
      this.batches.set(key, pending)
      batch = pending
    }
    batch.amount += owed
    return batch.voucher
  }
}

/**
 * What one send of an assignment has paid. Every read and update of the
 * amount paid is synchronous, so a concurrent send of the same assignment
 * never pays it again.
 */
export class AssignmentPayment {
  private readonly payer: Payer
  private readonly key: string
  private readonly provider: PeerId
  private readonly save?: (paid: number) => Promise<void>
  private paid: number

  constructor (payer: Payer, key: string, provider: PeerId, save?: (paid: number) => Promise<void>) {
    this.payer = payer
    this.key = key
    this.provider = provider
    this.save = save
    this.paid = payer.paid(key)
  }

  /**
   * As the work streams: a voucher for what `accrued` exceeds the amount
   * paid, once that is at least `payEvery`; undefined when nothing is due.
   */
  async accrued (accrued: number, currency: string, jobId: Uint8Array): Promise<SignedRecord<PaymentVoucher> | undefined> {
    this.paid = Math.max(this.paid, this.payer.paid(this.key))
    const due = accrued - this.paid
    if (!this.payer.enabled || due <= 0 || due < this.payer.payEvery) {
      return undefined
    }
    this.paid = accrued
    this.payer.setPaid(this.key, accrued)
    // saved before it is signed: a voucher lost in a crash is covered by the next (they are cumulative), one paid twice is not
    await this.save?.(accrued)
    return this.payer.payNow(this.provider, due, currency, jobId)
  }

  /** On the result: pay the rest of `total`, batched with the other receipts of this turn. */
  async settle (total: number, currency: string, jobId: Uint8Array): Promise<SignedRecord<PaymentVoucher> | undefined> {
    this.paid = Math.max(this.paid, this.payer.paid(this.key))
    if (!this.payer.enabled || total <= this.paid) {
      return undefined
    }
    const due = total - this.paid
    this.paid = total
    this.payer.setPaid(this.key, total)
    await this.save?.(total)
    return this.payer.pay(this.provider, due, currency, jobId)
  }
}
