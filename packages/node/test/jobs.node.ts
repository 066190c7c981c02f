import { strict as assert } from 'node:assert'
import { functionExecutor } from '@shoal/work'
import { createShoalNode } from '../src/index.js'
import { liveJobs } from '../src/jobs.js'
import { LOCAL, PRICE, SPEC } from './fixtures/local.js'
import type { ShoalNode } from '../src/index.js'
import type { LiveJob } from '../src/jobs.js'
import type { ExecuteOptions } from '@shoal/work'


async function waitFor (check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

describe('node jobs: the jobs view and publishing (in process, TCP on loopback)', function () {
  this.timeout(60_000)
  let nodes: ShoalNode[] = []
  let release: () => void = () => {}

  afterEach(async () => {
    release()
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  it('the job board publishes the very announcement work.createJob() signed (job submit signs once)', async () => {
    const node = await createShoalNode(LOCAL)
    nodes.push(node)
    const job = await node.services.work.createJob({ ...SPEC, requirements: { gpuClass: 'consumer-24g', region: 'w21z' } })
    const published = await node.services.jobs.publish(job)
    assert.deepEqual(published.bytes, job.bytes)
    assert.deepEqual(node.services.jobs.get(job.value.jobId)?.record.bytes, job.bytes)
  })

  it('shows two assignments of one job separately in the jobs view, each until its own run ends', async () => {
    let running = 0
    const gates = new Map<string, () => void>()
    release = () => { [...gates.values()].forEach(open => { open() }) }
    // each run waits for its own release; the second input fails
    const executor = functionExecutor(async (input: Uint8Array, options: ExecuteOptions) => {
      running++
      await new Promise<void>((resolve, reject) => {
        gates.set(new TextDecoder().decode(input), resolve)
        options.signal.addEventListener('abort', () => { reject(options.signal.reason) }, { once: true })
      })
      if (new TextDecoder().decode(input) === 'fail') throw new Error('this run fails')
      return input
    })
    const provider = await createShoalNode({
      ...LOCAL,
      role: 'gpu-provider',
      provider: { gpus: [{ model: 'RTX 4090', vramMib: 24576 }], price: PRICE, concurrency: 2, executor: { type: 'echo' } },
      services: { work: { executor } }
    })
    const requester = await createShoalNode(LOCAL)
    nodes.push(provider, requester)
    await requester.dial(provider.getMultiaddrs()[0])
    // the requester-side entries a node keeps; the provider side comes from the work service
    const live = new Map<string, LiveJob>()
    const view = (): LiveJob[] => liveJobs(provider, live)

    const job = await requester.services.work.createJob(SPEC)
    const first = requester.services.work.run(provider.peerId, job, new TextEncoder().encode('one'))
    const second = requester.services.work.run(provider.peerId, job, new TextEncoder().encode('fail'))
    second.catch(() => {})
    await waitFor(() => running === 2, 'both runs to start')

    const tracked = view().filter(j => j.side === 'provider')
    assert.equal(tracked.length, 2, 'one entry per assignment')
    assert.equal(tracked[0].jobId, Buffer.from(job.value.jobId).toString('hex'))
    assert.equal(tracked[1].jobId, tracked[0].jobId)
    assert.notEqual(tracked[0].assignmentId, tracked[1].assignmentId)
    assert.ok(tracked.every(j => j.peer === requester.peerId.toString() && j.stage === 'running'))

    // the failing run ends; the other one is still tracked
    gates.get('fail')?.()
    await assert.rejects(second)
    await waitFor(() => view().length === 1, 'the failed run to leave')
    const left = view()
    assert.equal(left.length, 1)
    assert.ok(tracked.some(j => j.assignmentId === left[0].assignmentId))

    gates.get('one')?.()
    const outcome = await first
    assert.equal(new TextDecoder().decode(outcome.output), 'one')
    await waitFor(() => view().length === 0, 'the completed run to leave')
  })

  it('shows a job waiting for a slot as queued, then running', async () => {
    const gates: Array<() => void> = []
    release = () => { gates.forEach(open => { open() }) }
    const executor = functionExecutor(async (input: Uint8Array) => {
      await new Promise<void>(resolve => { gates.push(resolve) })
      return input
    })
    const provider = await createShoalNode({
      ...LOCAL,
      role: 'gpu-provider',
      provider: { gpus: [{ model: 'RTX 4090', vramMib: 24576 }], price: PRICE, concurrency: 1, executor: { type: 'echo' } },
      services: { work: { executor } }
    })
    const requester = await createShoalNode(LOCAL)
    nodes.push(provider, requester)
    await requester.dial(provider.getMultiaddrs()[0])
    const view = (): LiveJob[] => liveJobs(provider, new Map())

    const first = requester.services.work.run(provider.peerId, SPEC, new TextEncoder().encode('one'))
    await waitFor(() => gates.length === 1, 'the first run to start')
    const second = requester.services.work.run(provider.peerId, SPEC, new TextEncoder().encode('two'))
    await waitFor(() => view().length === 2, 'the second job to be admitted')
    assert.deepEqual(view().map(j => j.stage), ['running', 'queued'])
    assert.equal(provider.services.work.load.queued, 1)

    gates[0]()
    await first
    await waitFor(() => gates.length === 2, 'the queued job to start')
    assert.deepEqual(view().map(j => j.stage), ['running'])
    gates[1]()
    await second
  })
})
