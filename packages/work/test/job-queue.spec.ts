import assert from 'node:assert/strict'
import fc from 'fast-check'
import { JobQueue, isQueuedProgress } from '../src/job-queue.js'
import { busyWait } from '../src/requester.js'
import { ProviderBusyError } from '../src/errors.js'
import type { QueuedItem } from '../src/job-queue.js'

/** A queued job the test drives: what happened to it, and whether its requester still waits. */
class FakeItem implements QueuedItem {
  readonly key: string
  readonly startBy: number
  readonly etaMs: number
  wants = true
  started = false
  left?: string
  readonly told: Array<{ ahead: number, waitMs: number }> = []

  constructor (key: string, startBy = Infinity, etaMs = 100) {
    this.key = key
    this.startBy = startBy
    this.etaMs = etaMs
  }

  wanted (): boolean { return this.wants }
  notify (ahead: number, waitMs: number): void { this.told.push({ ahead, waitMs }) }
  start (): void { this.started = true }
  leave (reason: string): void { this.left = reason }
}

describe('provider job queue', () => {
  let clock = 0
  const queues: JobQueue[] = []

  function queue (maxQueued = 8, concurrency = 2): JobQueue {
    // a tick far away: the test calls tick() itself
    const q = new JobQueue({ maxQueued, concurrency, tickMs: 3_600_000, keepaliveMs: 1_000, now: () => clock })
    queues.push(q)
    return q
  }

  beforeEach(() => { clock = 0 })
  afterEach(() => { queues.splice(0).forEach(q => { q.clear() }) })

  it('starts jobs first in, first out, each exactly once, skipping those nobody wants or that can no longer start', () => {
    fc.assert(fc.property(fc.array(fc.record({ wanted: fc.boolean(), expired: fc.boolean() }), { maxLength: 30 }), jobs => {
      clock = 1000
      const q = queue(64)
      const items = jobs.map((j, i) => new FakeItem(`j${i}`, j.expired ? 999 : 5000))
      items.forEach(item => { q.push(item) })
      jobs.forEach((j, i) => { items[i].wants = j.wanted })
      const order: string[] = []
      while (q.next()) {
        order.push(items.find(item => item.started && !order.includes(item.key))?.key ?? '?')
      }
      const runnable = items.filter((_, i) => jobs[i].wanted && !jobs[i].expired).map(item => item.key)
      assert.deepEqual(order, runnable)
      assert.equal(q.size, 0)
      for (const [i, item] of items.entries()) {
        assert.ok(item.started !== (item.left != null), 'each job either starts or leaves, never both')
        assert.equal(item.left, jobs[i].expired ? 'expired' : jobs[i].wanted ? undefined : 'unwanted')
      }
      q.clear()
    }))
  })

  it('has room for maxQueued jobs, and every job is told where it stands when it joins', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 20 }), max => {
      const q = queue(max)
      const items: FakeItem[] = []
      while (q.hasRoom()) {
        const item = new FakeItem(`j${items.length}`)
        items.push(item)
        q.push(item)
      }
      assert.equal(q.size, max)
      assert.deepEqual(items.map(item => item.told[0]?.ahead), items.map((_, i) => i))
      q.clear()
      assert.ok(items.every(item => item.left === 'stopped'))
    }))
  })

  it('estimates the wait as (ahead / concurrency + 1) runs: the quote\'s eta at first, then a moving average of run times', () => {
    const q = queue(8, 2)
    assert.equal(q.waitMs(0, 300), 300)
    assert.equal(q.waitMs(4, 300), 900)
    assert.equal(q.waitMs(3), 0, 'nothing to go by: no estimate')
    q.push(new FakeItem('a', Infinity, 500))
    assert.equal(q.waitMs(1), 750, 'the first waiting job\'s eta stands in for a missing one')
    q.ran(1000)
    assert.equal(q.averageRunMs, 1000)
    assert.equal(q.waitMs(2, 1), 2000, 'history wins over the eta')
    q.ran(0)
    assert.equal(q.averageRunMs, 800)
    fc.assert(fc.property(fc.array(fc.nat({ max: 100_000 }), { minLength: 1, maxLength: 50 }), fc.nat({ max: 1000 }), (runs, ahead) => {
      const fresh = queue(8, 3)
      runs.forEach(ms => { fresh.ran(ms) })
      const avg = fresh.averageRunMs ?? -1
      assert.ok(avg >= Math.min(...runs) - 1e-6 && avg <= Math.max(...runs) + 1e-6, 'the average stays within the runs seen')
      assert.ok(fresh.waitMs(ahead + 1) >= fresh.waitMs(ahead), 'more jobs ahead never wait less')
    }))
  })

  it('answers a full queue with a busy error carrying the estimated wait', () => {
    const q = queue(1, 1)
    q.push(new FakeItem('a', Infinity, 400))
    const err = q.busyError(1)
    assert.ok(err instanceof ProviderBusyError)
    assert.equal(err.retryAfterMs, 800)
  })

  it('tells waiting jobs a changed position on the next tick, and at least every keepalive otherwise', () => {
    const q = queue(8, 1)
    const [a, b] = [new FakeItem('a'), new FakeItem('b')]
    q.push(a)
    q.push(b)
    q.tick()
    assert.deepEqual(b.told.map(t => t.ahead), [1], 'no change, no news')
    q.next()
    q.tick()
    assert.deepEqual(b.told.map(t => t.ahead), [1, 0])
    clock += 1_000
    q.tick()
    assert.deepEqual(b.told.map(t => t.ahead), [1, 0, 0], 'still waiting: it hears so')
    b.wants = false
    q.tick()
    assert.equal(b.left, 'unwanted')
    assert.equal(q.size, 0)
  })

  it('tells queued progress from a running job\'s', () => {
    assert.equal(isQueuedProgress({ units: 0, message: 'queued: 3 ahead, about 1200 ms' }), true)
    assert.equal(isQueuedProgress({ units: 1, message: 'queued: 3 ahead' }), false, 'a frame claiming units is work, whatever it says')
    assert.equal(isQueuedProgress({ units: 0, message: 'half way' }), false)
  })
})

describe('busyWait: how long a requester waits for a busy provider', () => {
  it('waits the provider\'s retryAfterMs, jittered by at most a quarter, only when that ends before the deadline', () => {
    fc.assert(fc.property(fc.nat({ max: 100_000 }), fc.nat({ max: 200_000 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (retryAfterMs, left, r) => {
      const wait = busyWait(new ProviderBusyError('full', { retryAfterMs }), 1000 + left, 1000, () => r)
      const least = Math.max(50, retryAfterMs)
      // 0 is no estimate: nothing to wait for
      if (retryAfterMs === 0 || least >= left) {
        assert.equal(wait, undefined)
        return
      }
      assert.ok(wait != null && wait >= least - 1 && wait <= Math.ceil(least * 1.25) && wait <= left)
    }))
  })

  it('never waits for other errors, a busy reply without a wait, or without a deadline', () => {
    assert.equal(busyWait(new ProviderBusyError('full'), 10_000, 0), undefined)
    assert.equal(busyWait(new Error('gone'), 10_000, 0), undefined)
    assert.equal(busyWait(new ProviderBusyError('full', { retryAfterMs: 100 }), undefined, 0), undefined)
  })
})
