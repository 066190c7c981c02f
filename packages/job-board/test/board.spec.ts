import assert from 'node:assert/strict'
import { NOW, party } from '@shoal/test-support'
import { JobStore, jobKey } from '../src/board.js'
import { signedAnnouncement, signedWithdrawal } from './fixtures.js'
import type { JobEntry } from '../src/board.js'
import type { Party } from '@shoal/test-support'

async function entry (p: Party, expiresMs = NOW + 60_000): Promise<JobEntry> {
  const record = await signedAnnouncement(p, { expiresMs, deadlineMs: expiresMs })
  return { record, key: jobKey(record.value.jobId), requester: p.peerId, topics: [], receivedMs: NOW, source: 'gossip' }
}

describe('JobStore', () => {
  it('evicts the oldest job when full', async () => {
    const a = await party()
    const b = await party()
    const store = new JobStore({ maxJobs: 3, maxPerRequester: 10, maxWithdrawals: 10 })
    const e1 = await entry(a)
    const e2 = await entry(b)
    const e3 = await entry(a)
    const e4 = await entry(b)
    for (const e of [e1, e2, e3]) {
      assert.deepEqual(store.add(e), [])
    }
    assert.deepEqual(store.add(e4).map(e => e.key), [e1.key])
    assert.equal(store.size, 3)
    assert.equal(store.has(e1.key), false)
    assert.equal(store.countFor(a.peerId), 1)
  })

  it('holds at most maxPerRequester jobs per requester, evicting its own oldest', async () => {
    const a = await party()
    const b = await party()
    const store = new JobStore({ maxJobs: 100, maxPerRequester: 2, maxWithdrawals: 10 })
    const other = await entry(b)
    store.add(other)
    const mine = [await entry(a), await entry(a), await entry(a)]
    store.add(mine[0])
    store.add(mine[1])
    assert.deepEqual(store.add(mine[2]).map(e => e.key), [mine[0].key])
    assert.equal(store.countFor(a.peerId), 2)
    assert.ok(store.has(other.key), 'another requester keeps its job')
  })

  it('expires jobs and withdrawals at their time and reports the next expiry', async () => {
    const a = await party()
    const store = new JobStore({ maxJobs: 10, maxPerRequester: 10, maxWithdrawals: 10 })
    const soon = await entry(a, NOW + 1000)
    const later = await entry(a, NOW + 5000)
    store.add(later)
    store.add(soon)
    assert.equal(store.nextExpiry(), NOW + 1000)
    assert.deepEqual(store.expire(NOW + 999), [])
    assert.deepEqual(store.expire(NOW + 1000).map(e => e.key), [soon.key])
    assert.equal(store.nextExpiry(), NOW + 5000)
    const w = await signedWithdrawal(a, later.record.value.jobId)
    store.addWithdrawal({ record: w, key: later.key, requester: a.hex, untilMs: NOW + 3000 })
    assert.equal(store.nextExpiry(), NOW + 3000)
    store.expire(NOW + 3000)
    assert.equal(store.getWithdrawal(later.key, a.hex), undefined)
  })

  it('remembers at most maxWithdrawals withdrawals', async () => {
    const a = await party()
    const store = new JobStore({ maxJobs: 10, maxPerRequester: 10, maxWithdrawals: 2 })
    const keys: string[] = []
    for (let i = 0; i < 5; i++) {
      const e = await entry(a)
      keys.push(e.key)
      store.addWithdrawal({ record: await signedWithdrawal(a, e.record.value.jobId), key: e.key, requester: a.hex, untilMs: NOW + 10_000 })
    }
    assert.equal(store.withdrawalCount, 2)
    assert.ok(store.getWithdrawal(keys[4], a.hex) != null)
    assert.equal(store.getWithdrawal(keys[0], a.hex), undefined)
  })

  it('keeps withdrawals per requester, so a forged one cannot shadow the real one', async () => {
    const a = await party()
    const mallory = await party()
    const store = new JobStore({ maxJobs: 10, maxPerRequester: 10, maxWithdrawals: 10 })
    const job = await entry(a)
    // anyone can sign a withdrawal naming a public job id; it is kept under its own signer
    store.addWithdrawal({ record: await signedWithdrawal(mallory, job.record.value.jobId), key: job.key, requester: mallory.hex, untilMs: NOW + 10_000 })
    assert.equal(store.getWithdrawal(job.key, a.hex), undefined, 'the forgery does not count as the requester\'s withdrawal')
    store.addWithdrawal({ record: await signedWithdrawal(a, job.record.value.jobId), key: job.key, requester: a.hex, untilMs: NOW + 10_000 })
    assert.ok(store.getWithdrawal(job.key, a.hex) != null)
    assert.ok(store.getWithdrawal(job.key, mallory.hex) != null)
  })
})
