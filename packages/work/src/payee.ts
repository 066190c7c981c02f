/**
 * The provider's side of payment: vouchers are checked and credited to the
 * lanes of `vouchers.ts`, saved before they are acknowledged. Vouchers of one
 * lane that arrive in the same turn of the event loop are verified together.
 */

import { PaymentVoucherType, RecordError, decodeRecord, openRecord } from '@shoal/records'
import { asError } from '@shoal/utils'
import { InvalidVoucherError, VoucherNonceError, WorkError } from './errors.js'
import { equal, hex } from './utils.js'
import type { WorkContext } from './context.js'
import type { PayeeLane, VoucherBook } from './vouchers.js'
import type { PeerId } from '@libp2p/interface'
import type { PaymentVoucher, SignedRecord } from '@shoal/records'

/** A voucher waiting to be verified with the others of its lane. */
interface QueuedVoucher {
  remote: PeerId
  bytes: Uint8Array
  /** decoded, not yet verified */
  value: PaymentVoucher
  currency?: string
  resolve(lane: PayeeLane): void
  reject(err: Error): void
}

/** Accepts the vouchers requesters pay with. */
export class Payee {
  private readonly ctx: WorkContext
  private readonly book: VoucherBook
  /** vouchers received this turn of the event loop, verified together */
  private queue: QueuedVoucher[] = []
  private flush?: ReturnType<typeof setImmediate>

  constructor (ctx: WorkContext, book: VoucherBook) {
    this.ctx = ctx
    this.book = book
  }

  /** Refuse the vouchers still waiting. */
  stop (): void {
    if (this.flush != null) {
      clearImmediate(this.flush)
      this.flush = undefined
    }
    for (const queued of this.queue) {
      queued.reject(new WorkError('work service stopped'))
    }
    this.queue = []
  }

  /**
   * Accept a voucher from `remote` (in `currency`, when it pays a receipt),
   * verified together with the others of its lane that arrive in the same
   * turn: vouchers are cumulative, so when a payer's vouchers agree (a
   * higher nonce never has a lower total) the newest covers the rest and is
   * the only one whose signature is checked; the others are acknowledged as
   * covered, never credited on their own. One voucher, or vouchers that
   * disagree, are checked one by one. Resolves to the lane as it now stands.
   */
  async accept (remote: PeerId, bytes: Uint8Array, currency?: string): Promise<PayeeLane> {
    let value: PaymentVoucher
    try {
      // unverified: only to group it with its lane; nothing is credited before the signature is checked
      value = decodeRecord(PaymentVoucherType, bytes)
    } catch (err: unknown) {
      throw voucherFailure(err)
    }
    return new Promise<PayeeLane>((resolve, reject) => {
      this.queue.push({ remote, bytes, value, currency, resolve, reject })
      this.flush ??= setImmediate(() => { this.flushQueue() })
    })
  }

  private flushQueue (): void {
    this.flush = undefined
    const groups = new Map<string, QueuedVoucher[]>()
    for (const queued of this.queue) {
      const key = `${queued.remote.toString()}/${hex(queued.value.lane)}`
      const group = groups.get(key)
      if (group == null) {
        groups.set(key, [queued])
      } else {
        group.push(queued)
      }
    }
    this.queue = []
    for (const group of groups.values()) {
      void this.acceptGroup(group)
    }
  }

  private async acceptGroup (group: QueuedVoucher[]): Promise<void> {
    let rest = group
    const newest = group.length > 1 ? [...group].sort((a, b) => b.value.nonce - a.value.nonce) : []
    if (newest.length > 0 && this.agree(newest)) {
      const top = newest[0]
      try {
        const lane = await this.acceptOne(top.remote, top.bytes, top.currency)
        for (const q of group) {
          q.resolve({ ...lane })
        }
        return
      } catch (err: unknown) {
        top.reject(asError(err))
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
    // in arrival order, as if each came alone
    for (const q of rest) {
      try {
        q.resolve(await this.acceptOne(q.remote, q.bytes, q.currency))
      } catch (err: unknown) {
        q.reject(asError(err))
      }
    }
  }

  /** Whether `newest` (newest first) is one payer's lane paying us in one currency, its totals never decreasing with the nonce. */
  private agree (newest: QueuedVoucher[]): boolean {
    const top = newest[0]
    const payer = top.remote.toMultihash().bytes
    return newest.every((q, i) => equal(q.value.payer, payer) && equal(q.value.payee, this.ctx.self) &&
      q.value.currency === top.value.currency && q.currency === top.currency &&
      (i === 0 || equal(q.bytes, newest[i - 1].bytes) || (q.value.nonce < newest[i - 1].value.nonce && q.value.cumulative <= newest[i - 1].value.cumulative)))
  }

  private async acceptOne (remote: PeerId, bytes: Uint8Array, currency?: string): Promise<PayeeLane> {
    // the lane's latest voucher sent again (a resend, or one voucher paying several receipts): already verified and held
    const held = this.book.holding(remote, bytes)
    if (held != null) {
      return held
    }
    let voucher: SignedRecord<PaymentVoucher>
    try {
      voucher = await openRecord(PaymentVoucherType, bytes, { ignoreTime: true })
    } catch (err: unknown) {
      throw voucherFailure(err)
    }
    if (!equal(voucher.value.payer, remote.toMultihash().bytes)) {
      throw new InvalidVoucherError('voucher from another payer than the sender')
    }
    const lane = this.book.accept(voucher, currency)
    // saved before it is acknowledged: an acknowledged voucher survives a crash
    await this.book.save(lane)
    this.ctx.emit('voucher:accepted', lane)
    return lane
  }
}

/** A records error as the InvalidVoucherError the payer is told; anything else as it is. */
function voucherFailure (err: unknown): unknown {
  if (err instanceof RecordError) {
    return new InvalidVoucherError(`${err.name}: ${err.message}`, { cause: err })
  }
  return err
}
