import assert from 'node:assert/strict'
import { PaymentVoucherType, signRecord } from '@shoal/records'
import { party } from '@shoal/test-support'
import { VoucherBook, VoucherLanes } from '../src/index.js'
import { Payee } from '../src/payee.js'
import { somePeer, stubContext } from './helpers.js'
import type { StubContext } from './helpers.js'
import type { PayeeLane } from '../src/index.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

describe('provider payments', () => {
  let provider: StubContext
  let book: VoucherBook
  let payee: Payee
  let payerKey: PrivateKey
  let payer: PeerId
  let lanes: VoucherLanes

  beforeEach(async () => {
    provider = await stubContext()
    book = new VoucherBook(provider.peerId)
    payee = new Payee(provider.ctx, book)
    ;({ key: payerKey, peerId: payer } = await party())
    lanes = new VoucherLanes(payerKey, payer)
  })

  it('credits a voucher to its payer\'s lane and tells listeners', async () => {
    const accepted: PayeeLane[] = []
    provider.events.addEventListener('voucher:accepted', evt => { accepted.push(evt.detail) })
    const voucher = await lanes.pay(provider.peerId, 30, 'USDC')
    const lane = await payee.accept(payer, voucher.bytes, 'USDC')
    assert.equal(lane.cumulative, 30)
    assert.equal(book.paid(payer, 'USDC'), 30)
    assert.deepEqual(accepted.map(l => l.cumulative), [30])
  })

  it('acknowledges the latest voucher sent again without crediting it twice', async () => {
    const voucher = await lanes.pay(provider.peerId, 30, 'USDC')
    await payee.accept(payer, voucher.bytes)
    const again = await payee.accept(payer, voucher.bytes)
    assert.equal(again.cumulative, 30)
    assert.equal(book.paid(payer, 'USDC'), 30)
  })

  it('settles vouchers of one lane arriving together by the newest, which covers the others', async () => {
    const older = await lanes.pay(provider.peerId, 10, 'USDC')
    const newer = await lanes.pay(provider.peerId, 5, 'USDC')
    const [a, b] = await Promise.all([payee.accept(payer, older.bytes), payee.accept(payer, newer.bytes)])
    assert.deepEqual([a.cumulative, b.cumulative, a.nonce], [15, 15, 2])
    assert.equal(book.paid(payer, 'USDC'), 15)
  })

  it('checks vouchers arriving together one by one when the newest is forged, crediting only the genuine ones', async () => {
    const genuine = await lanes.pay(provider.peerId, 10, 'USDC')
    const forged = (await lanes.pay(provider.peerId, 990, 'USDC')).bytes.slice()
    forged[forged.length - 1] ^= 1
    const [ok, refused] = await Promise.allSettled([payee.accept(payer, genuine.bytes), payee.accept(payer, forged)])
    assert.equal(ok.status === 'fulfilled' ? ok.value.cumulative : undefined, 10)
    assert.equal(refused.status === 'rejected' ? refused.reason.name : undefined, 'InvalidVoucherError')
    assert.equal(book.paid(payer, 'USDC'), 10)
  })

  it('refuses a reused nonce (VoucherNonceError) and a lower total (VoucherAmountError)', async () => {
    const first = await lanes.pay(provider.peerId, 10, 'USDC')
    await payee.accept(payer, first.bytes)
    const reused = await signRecord(PaymentVoucherType, { ...first.value, cumulative: 20 }, payerKey)
    await assert.rejects(payee.accept(payer, reused.bytes), { name: 'VoucherNonceError' })
    const lower = await signRecord(PaymentVoucherType, { ...first.value, nonce: 2, cumulative: 5 }, payerKey)
    await assert.rejects(payee.accept(payer, lower.bytes), { name: 'VoucherAmountError' })
  })

  it('refuses a voucher from another payer than the sender, in another currency than the receipt, or that does not decode (InvalidVoucherError)', async () => {
    const voucher = await lanes.pay(provider.peerId, 10, 'USDC')
    const other = await somePeer()
    await assert.rejects(payee.accept(other, voucher.bytes), { name: 'InvalidVoucherError' })
    await assert.rejects(payee.accept(payer, voucher.bytes, 'EUR'), { name: 'InvalidVoucherError' })
    await assert.rejects(payee.accept(payer, new Uint8Array([1, 2, 3])), { name: 'InvalidVoucherError' })
    assert.equal(book.paid(payer), 0)
  })

  it('refuses the vouchers still waiting when the service stops', async () => {
    const voucher = await lanes.pay(provider.peerId, 10, 'USDC')
    const waiting = payee.accept(payer, voucher.bytes)
    payee.stop()
    await assert.rejects(waiting, { name: 'WorkError' })
    assert.equal(book.paid(payer), 0)
  })
})
