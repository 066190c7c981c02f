import { strict as assert } from 'node:assert'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { processRunning } from '@shoal/test-support'
import { createShoalNode } from '../src/index.js'
import { LOCAL_CONFIG, ShoalProcesses } from './fixtures/cli-process.js'
import { LOCAL, PRICE, SPEC } from './fixtures/local.js'
import { waitFor } from './fixtures/wait.js'
import type { ShoalNodeProcess } from './fixtures/cli-process.js'
import type { ShoalNode } from '../src/index.js'

/** A job wrapper as examples/full-node/run-job.sh could be: it backgrounds the workload, writes its pid to `$0`, and waits. */
const WRAPPER = 'sleep 60 & echo $! > "$0"; wait'

describe('a provider node\'s jobs end with it (shoal node start, separate process)', function () {
  this.timeout(120_000)
  let root: string
  let processes: ShoalProcesses
  let requester: ShoalNode | undefined
  let workload: number | undefined

  before(function () {
    if (process.platform === 'win32') this.skip()
  })

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'shoal-job-tree-'))
    processes = new ShoalProcesses({ env: { XDG_DATA_HOME: join(root, 'xdg') } })
  })

  afterEach(async () => {
    processes.killAll()
    await requester?.stop()
    requester = undefined
    if (workload !== undefined) try { process.kill(workload, 'SIGKILL') } catch {}
    workload = undefined
    await rm(root, { recursive: true, force: true })
  })

  /** A provider CLI process whose command executor is {@link WRAPPER}, running one job; the workload's pid. */
  async function providerRunningAJob (args: string[] = []): Promise<{ provider: ShoalNodeProcess, workload: number, job: Promise<unknown> }> {
    const pidFile = join(root, 'workload.pid')
    const config = join(root, 'provider.json')
    await writeFile(config, JSON.stringify({
      ...LOCAL_CONFIG,
      role: 'gpu-provider',
      provider: { gpus: [{ model: 'RTX 4090', vramMib: 24576 }], price: PRICE, executor: { type: 'command', command: '/bin/sh', args: ['-c', WRAPPER, pidFile] } }
    }))
    const provider = await processes.start(join(root, 'provider'), ['--config', config, '--json', ...args])
    const id = JSON.parse(provider.stdout().split('\n').find(line => line.startsWith('{')) ?? '{}')
    requester = await createShoalNode(LOCAL)
    await requester.dial(multiaddr(id.addrs[0]))
    const job = requester.services.work.run(peerIdFromString(id.peerId), SPEC, new TextEncoder().encode('work'), { timeoutMs: 60_000 })
    job.catch(() => {})
    workload = await waitFor('the job\'s workload to start', async () => {
      const text = await readFile(pidFile, 'utf8').catch(() => '')
      return /^\d+\n$/.test(text) ? Number(text) : undefined
    })
    assert.ok(processRunning(workload))
    return { provider, workload, job }
  }

  it('a second SIGINT exits at once and leaves no process of the running job', async () => {
    const { provider, workload } = await providerRunningAJob()
    provider.child.kill('SIGINT')
    await waitFor('the first SIGINT to be taken', () => /SIGINT: stopping/.test(provider.stderr()) ? true : undefined)
    provider.child.kill('SIGINT')
    assert.equal(await provider.exited, 130)
    await waitFor(`the workload ${workload} to end`, () => processRunning(workload) ? undefined : true)
  })

  it('a clean stop hands the job back and ends the wrapper and its workload; the running-jobs record goes', async () => {
    const { provider, workload, job } = await providerRunningAJob(['--shutdown-grace', '200'])
    assert.equal((await readdir(join(provider.dataDir, 'jobs-running'))).length, 1)
    assert.equal(await provider.stop(), 0)
    await assert.rejects(job)
    assert.equal(processRunning(workload), false)
    assert.deepEqual(await readdir(join(provider.dataDir, 'jobs-running')), [])
  })

  it('a provider killed with SIGKILL leaves its job running; the next start on the data dir ends it', async () => {
    const { provider, workload } = await providerRunningAJob()
    provider.child.kill('SIGKILL')
    await provider.exited
    assert.ok(processRunning(workload), 'no handler runs on SIGKILL')
    const config = join(root, 'provider.json')
    const restarted = await processes.start(provider.dataDir, ['--config', config])
    await waitFor(`the left-over workload ${workload} to end`, () => processRunning(workload) ? undefined : true)
    assert.equal(await restarted.stop(), 0)
  })
})
