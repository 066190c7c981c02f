import assert from 'node:assert/strict'
import { MemoryDatastore } from 'datastore-core'
import fc from 'fast-check'
import { Key } from 'interface-datastore'
import { party } from '@shoal/test-support'
import { createReceiptStore, verifyInclusion } from '../src/index.js'
import { makeReceipts } from './fixtures/receipts.js'
import type { TestReceipt } from './fixtures/receipts.js'

/** Every prefix verifyLog() is responsible for. */
const COVERED = ['head', 'log', 'receipt', 'seq', 'provider', 'requester', 'epoch']

describe('receipt store properties', function () {
  this.timeout(120_000)
  let pool: TestReceipt[]

  before(async () => {
    const providers = await Promise.all(Array.from({ length: 4 }, async () => party()))
    const requesters = await Promise.all(Array.from({ length: 5 }, async () => party()))
    pool = await makeReceipts(40, providers, requesters)
  })

  it('random appends, in random groups and epoch sizes, always give a log that verifies and proofs for every leaf', async () => {
    await fc.assert(fc.asyncProperty(
      fc.shuffledSubarray([...Array(40).keys()], { minLength: 1 }),
      fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 10 }),
      fc.integer({ min: 1, max: 9 }),
      fc.boolean(),
      async (order, groups, epochSize, repeat) => {
        const store = await createReceiptStore({ datastore: new MemoryDatastore(), epochSize })
        let i = 0
        let g = 0
        while (i < order.length) {
          const n = groups[g++ % groups.length]
          const chunk = order.slice(i, i + n)
          // repeats inside a group must not be appended twice
          await Promise.all([...chunk, ...(repeat ? chunk : [])].map(async j => store.put(pool[j].countersigned.bytes)))
          i += n
        }
        const v = await store.verifyLog()
        assert.deepEqual(v.problems, [])
        assert.equal(v.length, order.length)
        for (const j of order) {
          const id = pool[j].countersigned.id
          const proof = await store.proveInclusion(id)
          const root = await store.epochRoot(proof.epoch)
          assert.ok(verifyInclusion(id, proof, root.root))
        }
        await store.stop()
      }), { numRuns: 25 })
  })

  it('random tampering with any stored byte is detected', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 4 }),
      fc.nat(),
      fc.nat(),
      fc.constantFrom('flip', 'truncate', 'extend', 'delete'),
      async (n, epochSize, keySeed, byteSeed, how) => {
        const datastore = new MemoryDatastore()
        const store = await createReceiptStore({ datastore, epochSize })
        for (const r of pool.slice(0, n)) {
          await store.put(r.countersigned.bytes)
        }
        const keys: string[] = []
        for await (const key of datastore.queryKeys({})) {
          const part = key.toString().split('/')[3]
          if (COVERED.includes(part)) {
            keys.push(key.toString())
          }
        }
        keys.sort()
        const k = new Key(keys[keySeed % keys.length])
        const value = await datastore.get(k)
        if (how === 'delete') {
          await datastore.delete(k)
        } else if (how === 'truncate') {
          await datastore.put(k, value.subarray(0, byteSeed % value.byteLength))
        } else if (how === 'extend') {
          await datastore.put(k, Uint8Array.from([...value, byteSeed % 256]))
        } else {
          const bad = value.slice()
          bad[byteSeed % bad.byteLength] ^= 1 << (byteSeed % 8)
          await datastore.put(k, bad)
        }
        const v = await store.verifyLog()
        assert.equal(v.ok, false, `${how} of ${k.toString()} went unnoticed`)
        assert.ok(v.problems.length > 0)
        await store.stop()
      }), { numRuns: 150 })
  })
})
