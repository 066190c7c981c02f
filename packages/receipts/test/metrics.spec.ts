import assert from 'node:assert/strict'
import { MemoryDatastore } from 'datastore-core'
import { countingMetrics, party } from '@shoal/test-support'
import { DatastoreReceiptStore } from '../src/index.js'
import { makeReceipt } from './fixtures/receipts.js'


describe('receipt store metrics', () => {
  it('counts receipts appended, equivocations found and pending receipts stored and expired in shoal_receipts_events_total', async () => {
    const { metrics, counts } = countingMetrics()
    let clock = 1_000
    const store = new DatastoreReceiptStore({ datastore: new MemoryDatastore(), metrics }, { pendingTtlMs: 1_000, now: () => clock })
    await store.start()
    try {
      const [provider, requester, other] = await Promise.all([party(), party(), party()])
      const assignmentId = new Uint8Array(32).fill(7)
      await store.put((await makeReceipt(provider, requester, { assignmentId, units: 1 })).countersigned)
      await store.put((await makeReceipt(provider, requester, { assignmentId, units: 9 })).countersigned)
      await store.put((await makeReceipt(provider, other)).signed)
      clock += 1_000
      assert.equal(await store.expirePending(), 1)

      assert.deepEqual(counts.get('shoal_receipts_events_total'), {
        receipt_appended: 2,
        'equivocation_found:assignment': 1,
        pending_stored: 1,
        pending_expired: 1
      })
    } finally {
      await store.stop()
    }
  })

  it('works without metrics', async () => {
    const store = new DatastoreReceiptStore({ datastore: new MemoryDatastore() })
    await store.start()
    const [provider, requester] = await Promise.all([party(), party()])
    const stored = await store.put((await makeReceipt(provider, requester)).countersigned)
    assert.equal(stored.seq, 0)
    await store.stop()
  })
})
