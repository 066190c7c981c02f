import { strict as assert } from 'node:assert'
import { setTimeout as sleep } from 'node:timers/promises'
import { functionExecutor } from '@shoal/work'
import { createShoalNode, startProvider, submitJob } from '../src/index.js'
import { LOCAL_DHT_SERVER, PRICE, SPEC } from './fixtures/local.js'
import type { ProviderHandle, ShoalNode, SubmitJobEvent } from '../src/index.js'

const GPUS = [{ model: 'RTX 4090', vramMib: 24576 }]
const JOBS = 100
const TIMEOUT_MS = 45_000
/** Errors that mean a job ran out of its time, and nothing else */
const DEADLINE_ERRORS = new Set(['TimeoutError', 'DeadlineExceededError', 'AbortError'])

describe('a burst of jobs from one requester (in process, TCP on loopback)', function () {
  this.timeout(120_000)
  let nodes: ShoalNode[] = []
  let role: ProviderHandle | undefined

  afterEach(async () => {
    role?.stop()
    role = undefined
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  it(`${JOBS} jobs submitted at once to a 2-slot provider all complete or fail only at their deadline, run once each, and nobody is banned`, async () => {
    const runs = new Map<string, number>()
    const executor = functionExecutor(async (input: Uint8Array) => {
      const key = new TextDecoder().decode(input)
      runs.set(key, (runs.get(key) ?? 0) + 1)
      await sleep(100)
      return input
    })
    const provider = await createShoalNode({
      ...LOCAL_DHT_SERVER,
      role: 'gpu-provider',
      provider: { gpus: GPUS, price: PRICE, concurrency: 2, executor: { type: 'echo' } },
      services: { work: { executor } }
    })
    const requester = await createShoalNode(LOCAL_DHT_SERVER)
    nodes.push(provider, requester)
    assert.equal(provider.services.work.load.concurrency, 2)
    const banned: string[] = []
    provider.services.jobs.addEventListener('peer:banned', e => { banned.push(e.detail.toString()) })
    requester.services.jobs.addEventListener('peer:banned', e => { banned.push(e.detail.toString()) })
    await requester.dial(provider.getMultiaddrs()[0])
    role = startProvider(provider.services, { gpus: [{ model: 'RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 1 }], sensors: [], geohash: '', price: PRICE, concurrency: 2 })
    await role.advertised

    const spec = { ...SPEC, requirements: { gpuClass: 'consumer-24g' }, deadlineInMs: TIMEOUT_MS }
    const results = await Promise.all(Array.from({ length: JOBS }, async (_, i) => {
      const started = Date.now()
      const input = new TextEncoder().encode(`job-${i}`)
      try {
        let last: SubmitJobEvent | undefined
        for await (const event of submitJob(requester.services, { ...spec, input }, { timeoutMs: TIMEOUT_MS })) last = event
        return { ok: last?.type === 'receipt', started, ended: Date.now() }
      } catch (err: unknown) {
        return { ok: false, started, ended: Date.now(), error: err instanceof Error ? err : new Error(String(err)) }
      }
    }))

    // first: a ban cuts the connection, and every job still waiting then fails for it
    assert.deepEqual(banned, [], 'nobody banned by a job board')
    assert.equal(provider.services.jobs.isBanned(requester.peerId), false)
    const counts = new Map<string, number>()
    for (const r of results) {
      // an AllCandidatesFailedError says little: name what its attempts met
      const inner = (r.error as { errors?: Error[] } | undefined)?.errors?.map(e => `${e.name}: ${e.message.slice(0, 80)}`).join(', ')
      const what = r.ok ? 'completed' : `${r.error?.name ?? 'Error'}: ${r.error?.message.slice(0, 120) ?? ''}${inner != null ? ` (${inner})` : ''}`
      counts.set(what, (counts.get(what) ?? 0) + 1)
    }
    const summary = [...counts].map(([what, n]) => `${n} x ${what}`).join('; ')
    for (const r of results.filter(r => !r.ok)) {
      assert.ok(r.error != null && DEADLINE_ERRORS.has(r.error.name), `a job failed before its deadline: ${summary}`)
      assert.ok(r.ended - r.started >= TIMEOUT_MS, `${r.error?.name} came ${r.ended - r.started} ms after submit, before the ${TIMEOUT_MS} ms deadline`)
    }
    assert.ok([...runs.values()].every(n => n === 1), 'no job ran twice')
    assert.ok(runs.size >= results.filter(r => r.ok).length, 'every completed job ran')
    assert.equal(results.filter(r => r.ok).length, JOBS, 'with this much time every job completes')
  })
})
