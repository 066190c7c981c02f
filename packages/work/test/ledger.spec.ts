import assert from 'node:assert/strict'
import { MemoryDatastore } from 'datastore-core'
import fc from 'fast-check'
import { Key } from 'interface-datastore'
import {
  CHARGES_PREFIX, PAYEE_VOUCHERS_PREFIX, PAYER_LANES_PREFIX, VoucherBook, VoucherLanes, decodeCharge, decodePayerLane
} from '../src/index.js'
import { encodeCharge, encodePayerLane } from '../src/ledger.js'
import { paymentParties } from './helpers.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

describe('saved payment state', () => {
  let payerKey: PrivateKey
  let payer: PeerId
  let payee: PeerId

  before(async () => { ({ payerKey, payer, payee } = await paymentParties()) })

  it('a payer picks its lanes up after a restart: same lane, nonce and total go on', async () => {
    const datastore = new MemoryDatastore()
    const before = new VoucherLanes(payerKey, payer, Date.now, datastore)
    await before.pay(payee, 10, 'USDC')
    const last = await before.pay(payee, 5, 'USDC')

    const after = new VoucherLanes(payerKey, payer, Date.now, datastore)
    assert.deepEqual(await after.load(), { loaded: 1, skipped: [] })
    const next = await after.pay(payee, 1, 'USDC')
    assert.deepEqual(next.value.lane, last.value.lane)
    assert.deepEqual([next.value.nonce, next.value.cumulative], [3, 16])
    // the payee takes it as the next voucher of the lane, not a reused nonce
    const book = new VoucherBook(payee)
    book.accept(last)
    assert.equal(book.accept(next).cumulative, 16)
  })

  it('a payee keeps the latest voucher per lane and the charges across a restart', async () => {
    const datastore = new MemoryDatastore()
    const lanes = new VoucherLanes(payerKey, payer)
    const before = new VoucherBook(payee, datastore)
    before.charge(payer, 30, 'USDC')
    await before.saveCharge(payer, 'USDC')
    const first = await lanes.pay(payee, 10, 'USDC')
    await before.save(before.accept(first))
    await before.save(before.accept(await lanes.pay(payee, 15, 'USDC')))

    const after = new VoucherBook(payee, datastore)
    const loaded = await after.load()
    assert.deepEqual(loaded, { loaded: 2, skipped: [] })
    assert.equal(after.paid(payer, 'USDC'), 25)
    assert.equal(after.owed(payer, 'USDC'), 30)
    assert.equal(after.unpaid(payer, 'USDC'), 5)
    // the restored lane still refuses an old nonce
    assert.throws(() => after.accept(first), { name: 'VoucherNonceError' })
  })

  it('skips malformed, forged and misplaced entries with CorruptLedgerError, keeping the good ones', async () => {
    const datastore = new MemoryDatastore()
    const book = new VoucherBook(payee, datastore)
    const good = await new VoucherLanes(payerKey, payer).pay(payee, 7, 'USDC')
    await book.save(book.accept(good))
    // garbage, a voucher whose signature was altered, and a good voucher under another key
    const forged = good.bytes.slice()
    forged[forged.length - 1] ^= 1
    await datastore.put(new Key(`${PAYEE_VOUCHERS_PREFIX}/garbage`), new Uint8Array([1, 2, 3]))
    await datastore.put(new Key(`${PAYEE_VOUCHERS_PREFIX}/forged`), forged)
    await datastore.put(new Key(`${PAYEE_VOUCHERS_PREFIX}/elsewhere`), good.bytes)
    await datastore.put(new Key(`${CHARGES_PREFIX}/garbage`), new TextEncoder().encode('{"payer":1}'))
    await datastore.put(new Key(`${PAYER_LANES_PREFIX}/garbage`), new TextEncoder().encode('[]'))

    const after = new VoucherBook(payee, datastore)
    const loaded = await after.load()
    assert.equal(loaded.loaded, 1)
    assert.equal(loaded.skipped.length, 4)
    assert.ok(loaded.skipped.every(s => s.error.name === 'CorruptLedgerError'), loaded.skipped.map(s => s.error.message).join('; '))
    assert.equal(after.paid(payer, 'USDC'), 7)

    const lanes = new VoucherLanes(payerKey, payer, Date.now, datastore)
    const lanesLoaded = await lanes.load()
    assert.equal(lanesLoaded.loaded, 0)
    assert.equal(lanesLoaded.skipped[0].error.name, 'CorruptLedgerError')
  })

  it('saves the newest state when writes of one lane race', async () => {
    const datastore = new MemoryDatastore()
    const lanes = new VoucherLanes(payerKey, payer, Date.now, datastore)
    await Promise.all(Array.from({ length: 25 }, async () => lanes.pay(payee, 2, 'USDC')))
    const after = new VoucherLanes(payerKey, payer, Date.now, datastore)
    await after.load()
    const next = await after.pay(payee, 0, 'USDC')
    assert.deepEqual([next.value.nonce, next.value.cumulative], [26, 50])
  })

  it('decodes saved entries or throws CorruptLedgerError, for any bytes (property)', () => {
    const typed = (fn: () => unknown): void => {
      try {
        fn()
      } catch (err: unknown) {
        assert.equal(err instanceof Error ? err.name : err, 'CorruptLedgerError')
      }
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), bytes => {
      typed(() => decodePayerLane(bytes))
      typed(() => decodeCharge(bytes))
    }))
    // JSON of the right shape with wrong values
    const anyJson = fc.dictionary(fc.constantFrom('lane', 'payee', 'currency', 'nonce', 'cumulative', 'payer', 'owed'), fc.jsonValue())
    fc.assert(fc.property(anyJson, o => {
      const bytes = new TextEncoder().encode(JSON.stringify(o))
      typed(() => decodePayerLane(bytes))
      typed(() => decodeCharge(bytes))
    }))
  })

  it('round-trips saved lanes and charges (property)', () => {
    const text = fc.string({ minLength: 1, maxLength: 100 })
    const amount = fc.nat({ max: Number.MAX_SAFE_INTEGER })
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), text, text, amount, amount, (lane, payeeId, currency, nonce, cumulative) => {
      assert.deepEqual(decodePayerLane(encodePayerLane({ lane, payee: payeeId, currency, nonce, cumulative })), { lane, payee: payeeId, currency, nonce, cumulative })
    }))
    fc.assert(fc.property(text, fc.string({ maxLength: 100 }), amount, (payerId, currency, owed) => {
      assert.deepEqual(decodeCharge(encodeCharge({ payer: payerId, currency, owed })), { payer: payerId, currency, owed })
    }))
  })
})
