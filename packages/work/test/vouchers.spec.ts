import assert from 'node:assert/strict'
import { PaymentVoucherType, openRecord, signRecord } from '@shoal/records'
import fc from 'fast-check'
import { MAX_LANES_PER_PAYER, VoucherBook, VoucherLanes } from '../src/index.js'
import { paymentParties, somePeer } from './helpers.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

describe('payment lanes', () => {
  let payerKey: PrivateKey
  let payer: PeerId
  let payee: PeerId

  before(async () => { ({ payerKey, payer, payee } = await paymentParties()) })

  it('issues cumulative vouchers with strictly increasing nonces, one lane per payee and currency', async () => {
    const lanes = new VoucherLanes(payerKey, payer)
    const a = await lanes.pay(payee, 10, 'USDC')
    const b = await lanes.pay(payee, 5, 'USDC')
    const c = await lanes.pay(payee, 7, 'EUR')
    assert.deepEqual([a.value.nonce, a.value.cumulative], [1, 10])
    assert.deepEqual([b.value.nonce, b.value.cumulative], [2, 15])
    assert.deepEqual(a.value.lane, b.value.lane)
    assert.notDeepEqual(a.value.lane, c.value.lane)
    assert.deepEqual([c.value.nonce, c.value.cumulative], [1, 7])
    // they are valid signed records
    await openRecord(PaymentVoucherType, b.bytes)
  })

  it('never reuses a nonce when vouchers are signed concurrently', async () => {
    const lanes = new VoucherLanes(payerKey, payer)
    const all = await Promise.all(Array.from({ length: 20 }, async () => lanes.pay(payee, 1, 'USDC')))
    assert.deepEqual(all.map(v => v.value.nonce).sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i + 1))
    assert.equal(Math.max(...all.map(v => v.value.cumulative)), 20)
  })

  it('refuses a negative or fractional amount', async () => {
    const lanes = new VoucherLanes(payerKey, payer)
    await assert.rejects(lanes.pay(payee, -1, 'USDC'), { name: 'InvalidVoucherError' })
    await assert.rejects(lanes.pay(payee, 1.5, 'USDC'), { name: 'InvalidVoucherError' })
  })

  it('the payee book keeps the latest voucher and refuses reused nonces and lower totals', async () => {
    const lanes = new VoucherLanes(payerKey, payer)
    const book = new VoucherBook(payee)
    const v1 = await lanes.pay(payee, 10, 'USDC')
    const v2 = await lanes.pay(payee, 10, 'USDC')
    book.charge(payer, 25, 'USDC')
    assert.equal(book.accept(v2).cumulative, 20)
    assert.throws(() => book.accept(v1), { name: 'VoucherNonceError' })
    assert.throws(() => book.accept(v2), { name: 'VoucherNonceError' })
    const lower = await signRecord(PaymentVoucherType, { ...v2.value, nonce: 3, cumulative: 19 }, payerKey)
    assert.throws(() => book.accept(lower), { name: 'VoucherAmountError' })
    const otherCurrency = await signRecord(PaymentVoucherType, { ...v2.value, nonce: 4, cumulative: 30, currency: 'EUR' }, payerKey)
    assert.throws(() => book.accept(otherCurrency), { name: 'InvalidVoucherError' })
    assert.equal(book.paid(payer), 20)
    assert.equal(book.unpaid(payer, 'USDC'), 5)
    assert.deepEqual(book.lanes(payer)[0].voucher, v2.bytes)

    // a voucher in a made-up currency pays nothing of what is owed in USDC
    const fake = await signRecord(PaymentVoucherType, { ...v2.value, lane: new Uint8Array(16).fill(9), nonce: 1, cumulative: Number.MAX_SAFE_INTEGER, currency: 'X' }, payerKey)
    book.accept(fake)
    assert.equal(book.unpaid(payer, 'USDC'), 5)
  })

  it('refuses a voucher for another payee', async () => {
    const other = await somePeer()
    const v = await new VoucherLanes(payerKey, payer).pay(other, 1, 'USDC')
    assert.throws(() => new VoucherBook(payee).accept(v), { name: 'InvalidVoucherError' })
  })

  it('accepts exactly the vouchers that move a lane forward, whatever the order (property)', async () => {
    const lanes = new VoucherLanes(payerKey, payer)
    const issued = []
    for (let i = 0; i < 12; i++) {
      issued.push(await lanes.pay(payee, i % 3, 'USDC'))
    }
    fc.assert(fc.property(fc.shuffledSubarray(issued, { minLength: 1 }), order => {
      const book = new VoucherBook(payee)
      let best = { nonce: 0, cumulative: 0 }
      for (const v of order) {
        const forward = v.value.nonce > best.nonce && v.value.cumulative >= best.cumulative
        if (forward) {
          book.accept(v)
          best = v.value
        } else {
          assert.throws(() => book.accept(v), (err: Error) => err.name === 'VoucherNonceError' || err.name === 'VoucherAmountError')
        }
        assert.equal(book.paid(payer), best.cumulative)
      }
    }))
  })
})

describe('payee book bounds', () => {
  it('refuses a payer more lanes than MAX_LANES_PER_PAYER', async () => {
    const { payerKey, payer, payee } = await paymentParties()
    const book = new VoucherBook(payee)
    const lanes = new VoucherLanes(payerKey, payer)
    const first = await lanes.pay(payee, 1, 'USDC')
    for (let i = 0; i < MAX_LANES_PER_PAYER; i++) {
      book.accept(await signRecord(PaymentVoucherType, { ...first.value, lane: new Uint8Array(16).fill(i + 1) }, payerKey))
    }
    const extra = await signRecord(PaymentVoucherType, { ...first.value, lane: new Uint8Array(16).fill(200) }, payerKey)
    assert.throws(() => book.accept(extra), { name: 'InvalidVoucherError' })
  })
})
