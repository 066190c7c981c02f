import { strict as assert } from 'node:assert'
import { functionExecutor } from '@shoal/work'
import { createShoalNode, drainShoalNode } from '../src/index.js'
import { LOCAL, PRICE, SPEC } from './fixtures/local.js'
import type { ShoalNode } from '../src/index.js'
import type { ExecuteOptions } from '@shoal/work'


/** An executor whose jobs run until the test releases them (or they are aborted). */
function heldExecutor (): { executor: ReturnType<typeof functionExecutor>, started: Promise<void>, release(): void, runs(): number } {
  let release!: () => void
  let markStarted!: () => void
  const released = new Promise<void>(resolve => { release = resolve })
  const started = new Promise<void>(resolve => { markStarted = resolve })
  let runs = 0
  const executor = functionExecutor(async (input: Uint8Array, options: ExecuteOptions) => {
    runs++
    markStarted()
    await new Promise<void>((resolve, reject) => {
      released.then(resolve, reject)
      options.signal.addEventListener('abort', () => { reject(options.signal.reason) }, { once: true })
    })
    return input
  })
  return { executor, started, release, runs: () => runs }
}

async function provider (executor: ReturnType<typeof functionExecutor>, concurrency = 1): Promise<ShoalNode> {
  return createShoalNode({
    ...LOCAL,
    role: 'gpu-provider',
    provider: { gpus: [{ model: 'RTX 4090', vramMib: 24576 }], price: PRICE, concurrency, executor: { type: 'echo' } },
    services: { work: { executor } }
  })
}

describe('graceful shutdown and provider load (in process)', function () {
  this.timeout(60_000)
  let nodes: ShoalNode[] = []
  let releases: Array<() => void> = []

  afterEach(async () => {
    releases.forEach(release => { release() })
    releases = []
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  async function pair (concurrency = 1): Promise<{ requester: ShoalNode, provider: ShoalNode, held: ReturnType<typeof heldExecutor> }> {
    const held = heldExecutor()
    releases.push(held.release)
    const p = await provider(held.executor, concurrency)
    const requester = await createShoalNode(LOCAL)
    nodes.push(p, requester)
    await requester.dial(p.getMultiaddrs()[0])
    return { requester, provider: p, held }
  }

  it('the router answers load queries with the work service\'s real free slots', async () => {
    const { requester, provider: p, held } = await pair(2)
    const before = await requester.services.router.probe(p.peerId, { load: true })
    assert.deepEqual(before.load, { freeSlots: 2, concurrency: 2, queueLength: 0 })

    const job = requester.services.work.run(p.peerId, SPEC, new TextEncoder().encode('one'))
    await held.started
    const during = await requester.services.router.probe(p.peerId, { load: true })
    assert.deepEqual(during.load, { freeSlots: 1, concurrency: 2, queueLength: 0 })

    held.release()
    await job
    const after = await requester.services.router.probe(p.peerId, { load: true })
    assert.equal(after.load?.freeSlots, 2)

    // a requester runs no jobs: it answers coordinates, not load
    const back = await p.services.router.probe(requester.peerId, { load: true })
    assert.equal(back.load, undefined)
  })

  it('late binding prefers the provider with a free slot over one whose slot a job holds', async () => {
    const busy = await pair(1)
    const idle = await provider(functionExecutor(input => input))
    nodes.push(idle)
    await busy.requester.dial(idle.getMultiaddrs()[0])
    const requester = busy.requester

    const running = requester.services.work.run(busy.provider.peerId, SPEC, new Uint8Array([1]))
    await busy.held.started
    // both claim a free slot (as their capability records would); only a probe shows which one has it
    const candidates = [busy.provider, idle].map(n => ({ peerId: n.peerId, price: 1, freeSlots: 1, concurrency: 1 }))
    for (const first of [candidates, [...candidates].reverse()]) {
      const decision = await requester.services.router.choose(first, { computeTime: 60_000 }, { probes: 2 })
      assert.equal(decision.probes, 2)
      assert.equal(decision.choices[0].peerId.toString(), idle.peerId.toString(), decision.choices.map(c => c.reasons.join(', ')).join(' | '))
      const probed = decision.choices.find(c => c.peerId.equals(busy.provider.peerId))
      assert.equal(probed?.probe?.load?.freeSlots, 0)
    }
    busy.held.release()
    await running
  })

  it('a drain refuses new work, reports no free slot, lets the running job finish and waits for its countersignature', async () => {
    const { requester, provider: p, held } = await pair(2)
    const running = requester.services.work.run(p.peerId, SPEC, new TextEncoder().encode('finish me'))
    await held.started

    const drained = drainShoalNode(p, { timeoutMs: 30_000 })
    // new work is refused with a typed error the requester can fail over on
    const job = await requester.services.work.createJob({ ...SPEC, input: new Uint8Array([2]) })
    await assert.rejects(requester.services.work.requestQuote(p.peerId, job), { name: 'ProviderBusyError', message: /shutting down/ })
    assert.equal((await requester.services.router.probe(p.peerId, { load: true })).load?.freeSlots, 0)
    assert.equal(held.runs(), 1)

    held.release()
    const outcome = await running
    assert.equal(new TextDecoder().decode(outcome.output), 'finish me')
    const result = await drained
    assert.deepEqual(result, { finished: true, handedBack: 0, withdrawn: false })
    // the provider holds the countersigned receipt before it stops
    const stored = await p.services.receipts.get(outcome.receipt.id)
    assert.equal(stored.state, 'countersigned')
  })

  it('a job still running when the grace period ends is handed back and the requester fails over', async () => {
    const slow = await pair(1)
    const other = await provider(functionExecutor(input => input))
    nodes.push(other)
    const requester = slow.requester
    await requester.dial(other.getMultiaddrs()[0])

    const run = requester.services.work.run([slow.provider.peerId, other.peerId], SPEC, new TextEncoder().encode('hand me back'), { timeoutMs: 30_000, attemptTimeoutMs: 25_000, verify: false })
    await slow.held.started
    const result = await drainShoalNode(slow.provider, { timeoutMs: 100 })
    assert.equal(result.finished, false)
    assert.equal(result.handedBack, 1)

    const outcome = await run
    assert.equal(outcome.provider.toString(), other.peerId.toString(), 'the job moved to the other provider')
    assert.equal(new TextDecoder().decode(outcome.output), 'hand me back')
    assert.equal(outcome.attempts[0].ok, false)
    assert.equal(outcome.attempts[0].error?.name, 'ProviderBusyError')
    assert.match(outcome.attempts[0].error?.message ?? '', /shut down before the job finished/)
    assert.ok(await requester.services.receipts.has(outcome.receipt.id))
  })
})
