import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { functionExecutor, priceBidPolicy } from '../src/index.js'
import { connect, createWorkNode, dec, enc } from './helpers.js'
import type { WorkNode } from './helpers.js'
import type { JobSpec, WorkInit, WorkProgress } from '../src/index.js'

const PRICE = { perUnit: 20, currency: 'USDC', unit: 'job' }
const SPEC: JobSpec = { priceCeiling: { perUnit: 25, currency: 'USDC', unit: 'job' }, budget: 1000, workload: 'upper' }

/** Wait until `done()` holds, checking every 20 ms; fails after `ms`. */
async function until (done: () => boolean, ms = 10_000): Promise<void> {
  const signal = AbortSignal.timeout(ms)
  while (!done()) {
    signal.throwIfAborted()
    await sleep(20)
  }
}

describe('work provider queue over TCP', function () {
  this.timeout(60_000)
  let nodes: WorkNode[] = []

  async function node (init: WorkInit = {}): Promise<WorkNode> {
    const n = await createWorkNode(init)
    nodes.push(n)
    return n
  }

  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  /** An executor that upper-cases its input after `ms`, counting runs per input. */
  function countingExecutor (ms: number): { runs: Map<string, number>, executor: ReturnType<typeof functionExecutor> } {
    const runs = new Map<string, number>()
    const executor = functionExecutor(async input => {
      runs.set(dec(input), (runs.get(dec(input)) ?? 0) + 1)
      await sleep(ms)
      return enc(dec(input).toUpperCase())
    })
    return { runs, executor }
  }

  it('queues 20 parallel jobs of one requester on a 2-slot provider: all complete, each runs exactly once', async () => {
    const { runs, executor } = countingExecutor(100)
    const provider = await node({ price: PRICE, executor, concurrency: 2 })
    const requester = await node()
    await connect(requester, provider)
    const queued: WorkProgress[] = []
    let peak = 0
    provider.services.work.addEventListener('job:started', () => { peak = Math.max(peak, provider.services.work.load.running) })

    const inputs = Array.from({ length: 20 }, (_, i) => `job-${i}`)
    const outcomes = await Promise.all(inputs.map(async input => requester.services.work.run(provider.peerId, SPEC, enc(input), {
      onProgress: p => { queued.push(p) }
    })))

    assert.deepEqual(outcomes.map(o => dec(o.output)), inputs.map(i => i.toUpperCase()))
    assert.ok(outcomes.every(o => o.acknowledged))
    assert.deepEqual([...runs.values()], inputs.map(() => 1))
    assert.equal(runs.size, 20)
    assert.ok(peak <= 2, 'never more than concurrency jobs at once')
    assert.ok(queued.some(p => p.message.startsWith('queued:')), 'queued jobs heard where they stand')
    assert.ok(queued.every(p => p.units === 0), 'a queued job\'s progress owes nothing')
    assert.equal(provider.services.work.book.owed(requester.peerId), 20 * PRICE.perUnit, 'charged once per job')
    assert.deepEqual(provider.services.work.load, { running: 0, concurrency: 2, queued: 0 })
  })

  it('past maxQueued answers busy with retryAfterMs; the requester waits and succeeds when its time allows', async () => {
    const { runs, executor } = countingExecutor(300)
    const provider = await node({ bidPolicy: priceBidPolicy({ price: PRICE, etaMs: 300 }), executor, concurrency: 1, maxQueued: 1 })
    const requester = await node()
    await connect(requester, provider)
    const busy: number[] = []
    provider.services.work.addEventListener('request:refused', e => {
      if (e.detail.code === 'busy' && 'retryAfterMs' in e.detail.error && typeof e.detail.error.retryAfterMs === 'number') busy.push(e.detail.error.retryAfterMs)
    })

    const outcomes = await Promise.all(['a', 'b', 'c', 'd'].map(async input => requester.services.work.run(provider.peerId, SPEC, enc(input), { timeoutMs: 20_000 })))

    assert.deepEqual(outcomes.map(o => dec(o.output)), ['A', 'B', 'C', 'D'])
    assert.deepEqual([...runs.values()], [1, 1, 1, 1])
    assert.ok(busy.length > 0, 'some were told to come back later')
    assert.ok(busy.every(ms => ms > 0), 'every busy reply past the queue carries an estimated wait')
  })

  it('past maxQueued fails with ProviderBusyError (and its retryAfterMs) when the deadline leaves no room to wait', async () => {
    let release: () => void = () => {}
    const released = new Promise<void>(resolve => { release = resolve })
    const provider = await node({ bidPolicy: priceBidPolicy({ price: PRICE, etaMs: 5_000 }), executor: functionExecutor(async input => { await released; return input }), concurrency: 1, maxQueued: 1 })
    const requester = await node()
    await connect(requester, provider)
    const started = new Promise(resolve => { provider.services.work.addEventListener('job:started', resolve, { once: true }) })
    const first = requester.services.work.run(provider.peerId, SPEC, enc('first'))
    await started
    const second = requester.services.work.run(provider.peerId, SPEC, enc('second'))
    await until(() => provider.services.work.load.queued === 1)

    const err = await requester.services.work.run(provider.peerId, SPEC, enc('third'), { timeoutMs: 2_000 }).then(() => undefined, (err: unknown) => err)
    assert.ok(err instanceof Error)
    assert.equal(err.name, 'ProviderBusyError')
    assert.ok('retryAfterMs' in err && typeof err.retryAfterMs === 'number' && err.retryAfterMs >= 2_000, 'the wait it was told is beyond its deadline')
    release()
    assert.equal(dec((await first).output), 'first')
    assert.equal(dec((await second).output), 'second')
  })

  it('drops a queued job whose requester left, never running it; the same assignment sent again later runs once', async () => {
    let release: () => void = () => {}
    const released = new Promise<void>(resolve => { release = resolve })
    const runs: string[] = []
    const executor = functionExecutor(async input => {
      runs.push(dec(input))
      if (dec(input) === 'blocker') await released
      return enc(dec(input).toUpperCase())
    })
    const provider = await node({ price: PRICE, executor, concurrency: 1 })
    const requester = await node()
    await connect(requester, provider)
    const started = new Promise(resolve => { provider.services.work.addEventListener('job:started', resolve, { once: true }) })
    const blocker = requester.services.work.run(provider.peerId, SPEC, enc('blocker'))
    await started

    const job = await requester.services.work.createJob(SPEC)
    const quote = await requester.services.work.requestQuote(provider.peerId, job)
    const gaveUp = new AbortController()
    const waiting = requester.services.work.assign(quote, enc('queued'), {
      signal: gaveUp.signal,
      onProgress: p => { if (p.message.startsWith('queued:')) gaveUp.abort(new Error('the requester gave up')) }
    })
    await assert.rejects(waiting)
    await until(() => provider.services.work.load.queued === 0)
    assert.deepEqual(provider.services.work.runningJobs().map(j => j.queued), [false], 'only the blocker is left')

    release()
    assert.equal(dec((await blocker).output), 'BLOCKER')
    const resent = await requester.services.work.assign(quote, enc('queued'))
    assert.equal(dec(resent.output), 'QUEUED')
    assert.deepEqual(runs, ['blocker', 'queued'], 'the dropped job never ran; its resend ran once')
    assert.equal(provider.services.work.book.owed(requester.peerId), 2 * PRICE.perUnit)
  })
})
