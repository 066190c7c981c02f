/**
 * Payment lanes. The payer signs cumulative vouchers with a strictly
 * increasing nonce; the payee keeps only the latest per lane, as in a
 * payment channel: the last voucher is all a chain would need to settle.
 */

import { PaymentVoucherType, RECORD_VERSION, newRandomId, openRecord, signRecord } from '@shoal/records'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { errorMessage } from '@shoal/utils'
import { CorruptLedgerError, InvalidVoucherError, VoucherAmountError, VoucherNonceError } from './errors.js'
import { CHARGES_PREFIX, LedgerWriter, PAYEE_VOUCHERS_PREFIX, PAYER_LANES_PREFIX, decodeCharge, decodePayerLane, encodeCharge, encodePayerLane, ledgerKey } from './ledger.js'
import { MAX_LANES_PER_PAYER } from './constants.js'
import { equal } from './utils.js'
import type { LedgerLoad } from './ledger.js'
import type { AbortOptions, PeerId, PrivateKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type { PaymentVoucher, SignedRecord } from '@shoal/records'

/** The payer's state of one lane. */
export interface PayerLane {
  lane: Uint8Array
  payee: string
  currency: string
  nonce: number
  cumulative: number
}

/**
 * The payer side: one lane per (payee, currency), vouchers issued in order.
 * With a datastore, a lane's nonce and total are saved before a voucher
 * carrying them is signed, and `load()` picks the lanes up after a restart.
 */
export class VoucherLanes {
  private readonly key: PrivateKey
  private readonly payer: Uint8Array
  private readonly lanes = new Map<string, PayerLane>()
  private readonly now: () => number
  private readonly writer?: LedgerWriter

  constructor (key: PrivateKey, payer: PeerId, now: () => number = Date.now, datastore?: Datastore) {
    this.key = key
    this.payer = payer.toMultihash().bytes
    this.now = now
    this.writer = datastore == null ? undefined : new LedgerWriter(datastore)
  }

  /** Take up the lanes an earlier run saved; malformed entries are skipped. */
  async load (options?: AbortOptions): Promise<LedgerLoad> {
    const result: LedgerLoad = { loaded: 0, skipped: [] }
    await this.writer?.read(PAYER_LANES_PREFIX, value => {
      const saved = decodePayerLane(value)
      const id = `${saved.payee}/${saved.currency}`
      return {
        key: ledgerKey(PAYER_LANES_PREFIX, saved.payee, saved.currency),
        apply: () => {
          if ((this.lanes.get(id)?.nonce ?? -1) < saved.nonce) {
            this.lanes.set(id, saved)
          }
        }
      }
    }, result, options)
    return result
  }

  /** The lane to `payee` in `currency`, made on first use. */
  lane (payee: PeerId, currency: string): PayerLane {
    const id = `${payee.toString()}/${currency}`
    let lane = this.lanes.get(id)
    if (lane == null) {
      lane = { lane: newRandomId(), payee: payee.toString(), currency, nonce: 0, cumulative: 0 }
      this.lanes.set(id, lane)
    }
    return lane
  }

  /**
   * Sign a voucher adding `amount` to the lane's cumulative total. Nonce and
   * total move before the signature is made, so concurrent calls never reuse a nonce.
   */
  async pay (payee: PeerId, amount: number, currency: string, jobId?: Uint8Array): Promise<SignedRecord<PaymentVoucher>> {
    if (!Number.isSafeInteger(amount) || amount < 0) {
      throw new InvalidVoucherError('amount must be a non-negative safe integer')
    }
    const lane = this.lane(payee, currency)
    lane.nonce++
    lane.cumulative += amount
    const { nonce, cumulative } = lane
    // saved before the voucher exists: after a crash the lane never goes back to a nonce or total already signed
    await this.writer?.write(ledgerKey(PAYER_LANES_PREFIX, lane.payee, currency), () => encodePayerLane(lane))
    return signRecord(PaymentVoucherType, {
      version: RECORD_VERSION,
      lane: lane.lane,
      payer: this.payer,
      payee: payee.toMultihash().bytes,
      nonce,
      cumulative,
      currency,
      jobId: jobId ?? new Uint8Array(),
      createdMs: Math.max(1, Math.floor(this.now()))
    }, this.key)
  }

  /** All lanes (copies). */
  list (): PayerLane[] {
    return [...this.lanes.values()].map(l => ({ ...l }))
  }
}

/** The payee's view of one lane: its latest voucher. */
export interface PayeeLane {
  payer: string
  lane: Uint8Array
  currency: string
  nonce: number
  cumulative: number
  /** the latest voucher's signed bytes: what settlement needs */
  voucher: Uint8Array
}

interface Account {
  /** charged, per currency */
  owed: Map<string, number>
  lanes: Map<string, PayeeLane>
}

/**
 * The payee side: accepts only vouchers that move a lane forward (higher
 * nonce, no lower total) and tracks what each payer owes. With a datastore,
 * `save()` keeps each lane's latest voucher and `saveCharge()` each payer's
 * charges, and `load()` takes them up after a restart.
 */
export class VoucherBook {
  private readonly payee: Uint8Array
  private readonly accounts = new Map<string, Account>()
  private readonly writer?: LedgerWriter

  constructor (payee: PeerId, datastore?: Datastore) {
    this.payee = payee.toMultihash().bytes
    this.writer = datastore == null ? undefined : new LedgerWriter(datastore)
  }

  /**
   * Take up what an earlier run saved: every saved voucher is verified again
   * (a malformed or forged one is skipped), and the charges are restored.
   */
  async load (options?: AbortOptions): Promise<LedgerLoad> {
    const result: LedgerLoad = { loaded: 0, skipped: [] }
    await this.writer?.read(PAYEE_VOUCHERS_PREFIX, async value => {
      let voucher: SignedRecord<PaymentVoucher>
      try {
        voucher = await openRecord(PaymentVoucherType, value, { ignoreTime: true })
      } catch (err: unknown) {
        throw new CorruptLedgerError(`saved voucher does not open: ${errorMessage(err)}`, { cause: err })
      }
      const payer = voucher.signer.toString()
      const laneKey = uint8ArrayToString(voucher.value.lane, 'base64')
      return {
        key: ledgerKey(PAYEE_VOUCHERS_PREFIX, payer, laneKey),
        apply: () => {
          if ((this.accounts.get(payer)?.lanes.get(laneKey)?.nonce ?? -1) < voucher.value.nonce) {
            this.accept(voucher)
          }
        }
      }
    }, result, options)
    await this.writer?.read(CHARGES_PREFIX, value => {
      const saved = decodeCharge(value)
      return {
        key: ledgerKey(CHARGES_PREFIX, saved.payer, saved.currency),
        apply: () => {
          const owed = this.account(saved.payer).owed
          owed.set(saved.currency, Math.max(owed.get(saved.currency) ?? 0, saved.owed))
        }
      }
    }, result, options)
    return result
  }

  /** Save `lane`'s latest voucher (a no-op without a datastore); resolves once it is saved. */
  async save (lane: PayeeLane, options?: AbortOptions): Promise<void> {
    const held = this.accounts.get(lane.payer)?.lanes
    const laneKey = uint8ArrayToString(lane.lane, 'base64')
    await this.writer?.write(ledgerKey(PAYEE_VOUCHERS_PREFIX, lane.payer, laneKey), () => held?.get(laneKey)?.voucher ?? lane.voucher, options)
  }

  /** Save what `payer` was charged in `currency` (a no-op without a datastore); resolves once it is saved. */
  async saveCharge (payer: PeerId | string, currency: string, options?: AbortOptions): Promise<void> {
    const id = payer.toString()
    await this.writer?.write(ledgerKey(CHARGES_PREFIX, id, currency), () => encodeCharge({ payer: id, currency, owed: this.owed(id, currency) }), options)
  }

  private account (payer: string): Account {
    let account = this.accounts.get(payer)
    if (account == null) {
      account = { owed: new Map(), lanes: new Map() }
      this.accounts.set(payer, account)
    }
    return account
  }

  /**
   * Accept a verified voucher, or throw VoucherNonceError (nonce not above
   * the lane's latest), VoucherAmountError (total below the latest) or
   * InvalidVoucherError (another payee, or another currency on the lane).
   */
  accept (voucher: SignedRecord<PaymentVoucher>, expectedCurrency?: string): PayeeLane {
    const v = voucher.value
    if (!equal(v.payee, this.payee)) {
      throw new InvalidVoucherError('voucher is for another payee')
    }
    if (expectedCurrency != null && v.currency !== expectedCurrency) {
      throw new InvalidVoucherError(`voucher is in ${v.currency}, expected ${expectedCurrency}`)
    }
    const payer = voucher.signer.toString()
    const account = this.account(payer)
    const laneKey = uint8ArrayToString(v.lane, 'base64')
    const lane = account.lanes.get(laneKey)
    if (lane == null && account.lanes.size >= MAX_LANES_PER_PAYER) {
      throw new InvalidVoucherError(`payer already has ${MAX_LANES_PER_PAYER} lanes`)
    }
    if (lane != null) {
      if (v.currency !== lane.currency) {
        throw new InvalidVoucherError(`lane is in ${lane.currency}, voucher in ${v.currency}`)
      }
      if (v.nonce <= lane.nonce) {
        throw new VoucherNonceError(`nonce ${v.nonce} is not above the lane's ${lane.nonce}`)
      }
      if (v.cumulative < lane.cumulative) {
        throw new VoucherAmountError(`cumulative ${v.cumulative} is below the lane's ${lane.cumulative}`)
      }
    }
    const next: PayeeLane = { payer, lane: v.lane, currency: v.currency, nonce: v.nonce, cumulative: v.cumulative, voucher: voucher.bytes }
    account.lanes.set(laneKey, next)
    return { ...next }
  }

  /** The lane whose latest voucher is exactly `bytes` (an accepted voucher sent again), if any. */
  holding (payer: PeerId | string, bytes: Uint8Array): PayeeLane | undefined {
    for (const lane of this.accounts.get(payer.toString())?.lanes.values() ?? []) {
      if (equal(lane.voucher, bytes)) {
        return { ...lane }
      }
    }
    return undefined
  }

  /** Record that `payer` owes `amount` more of `currency` (a receipt was issued). */
  charge (payer: PeerId | string, amount: number, currency: string): void {
    const owed = this.account(payer.toString()).owed
    owed.set(currency, (owed.get(currency) ?? 0) + amount)
  }

  /**
   * Total of the latest vouchers on `payer`'s lanes in `currency` (all lanes
   * when no currency is given). Amounts in different currencies never
   * offset each other: a voucher in a made-up currency pays nothing.
   */
  paid (payer: PeerId | string, currency?: string): number {
    let sum = 0
    for (const lane of this.accounts.get(payer.toString())?.lanes.values() ?? []) {
      if (currency == null || lane.currency === currency) {
        sum += lane.cumulative
      }
    }
    return sum
  }

  /** What `payer` was charged in `currency` (in all currencies when none is given). */
  owed (payer: PeerId | string, currency?: string): number {
    const owed = this.accounts.get(payer.toString())?.owed
    if (owed == null) {
      return 0
    }
    if (currency != null) {
      return owed.get(currency) ?? 0
    }
    let sum = 0
    for (const amount of owed.values()) {
      sum += amount
    }
    return sum
  }

  /** Charged minus paid in `currency` (negative when the payer paid ahead). */
  unpaid (payer: PeerId | string, currency: string): number {
    return this.owed(payer, currency) - this.paid(payer, currency)
  }

  /** The latest voucher of every lane of `payer` (or of all payers). */
  lanes (payer?: PeerId | string): PayeeLane[] {
    const accounts = payer != null ? [this.accounts.get(payer.toString())] : [...this.accounts.values()]
    return accounts.flatMap(a => a == null ? [] : [...a.lanes.values()].map(l => ({ ...l })))
  }
}
