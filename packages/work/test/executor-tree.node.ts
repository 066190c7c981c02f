import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { processRunning } from '@shoal/test-support'
import { commandExecutor, killAllJobProcesses, reapOrphans, TIMEOUT_STATUS } from '../src/index.js'
import type { ExecuteOptions } from '../src/index.js'

/** A wrapper that backgrounds its workload, writes the workload's pid to the file `$0`, and waits for it. */
const WAITS = 'sleep 30 & echo $! > "$0"; wait'
/** A wrapper that backgrounds its workload (which keeps our stdout open), writes its pid to `$0`, and exits. */
const LEAVES = 'sleep 30 & echo $! > "$0"; echo done'
/** {@link WAITS}, with SIGTERM ignored by the wrapper and (inherited) by the workload. */
const DEAF = 'trap "" TERM; sleep 30 & echo $! > "$0"; wait'

function options (signal = new AbortController().signal): ExecuteOptions {
  return { signal, onProgress: () => {}, quote: {} as unknown as ExecuteOptions['quote'], requester: {} as unknown as ExecuteOptions['requester'] }
}

async function poll<T> (what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 15_000
  while (true) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

async function gone (pid: number): Promise<void> {
  await poll(`process ${pid} to end`, () => processRunning(pid) ? undefined : true)
}

async function pidIn (file: string): Promise<number> {
  return poll(`a pid in ${file}`, async () => {
    const text = await readFile(file, 'utf8').catch(() => '')
    return /^\d+\n$/.test(text) ? Number(text) : undefined
  })
}

describe('command executor: the job\'s whole process tree', function () {
  this.timeout(30_000)
  let dir: string
  let pidFile: string
  const strays: number[] = []

  before(function () {
    if (process.platform === 'win32') this.skip()
  })

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-executor-'))
    pidFile = join(dir, 'workload.pid')
  })

  afterEach(async () => {
    // a failed test must not leave its workload running
    for (const pid of strays.splice(0)) {
      try { process.kill(pid, 'SIGKILL') } catch {}
    }
    const pid = await readFile(pidFile, 'utf8').catch(() => '')
    if (pid !== '') try { process.kill(Number(pid), 'SIGKILL') } catch {}
    await rm(dir, { recursive: true, force: true })
  })

  const wrapper = (script: string, init: { timeoutMs?: number, killGraceMs?: number, stateDir?: string } = {}): ReturnType<typeof commandExecutor> =>
    commandExecutor({ command: '/bin/sh', args: ['-c', script, pidFile], ...init })

  it('ends the workload a wrapper started when the job is aborted (hand-back, cancel)', async () => {
    const controller = new AbortController()
    const run = wrapper(WAITS).run(new Uint8Array(), options(controller.signal))
    const workload = await pidIn(pidFile)
    assert.ok(processRunning(workload))
    controller.abort(new Error('handed back'))
    await assert.rejects(run, { message: 'handed back' })
    await gone(workload)
  })

  it('ends the workload on timeout, reporting status 124', async () => {
    const result = await wrapper(WAITS, { timeoutMs: 300 }).run(new Uint8Array(), options())
    assert.equal(result.status, TIMEOUT_STATUS)
    await gone(await pidIn(pidFile))
  })

  it('ends the workload when the wrapper writes too much (CommandError)', async () => {
    const noisy = commandExecutor({ command: '/bin/sh', args: ['-c', 'sleep 30 & echo $! > "$0"; head -c 100000 /dev/zero; wait', pidFile], maxOutputBytes: 1000 })
    await assert.rejects(noisy.run(new Uint8Array(), options()), { name: 'CommandError' })
    await gone(await pidIn(pidFile))
  })

  it('ends a workload left running by a wrapper that exited, without waiting for the stdout it holds', async () => {
    const result = await wrapper(LEAVES).run(new Uint8Array(), options())
    assert.equal(result.status, 0)
    assert.equal(new TextDecoder().decode(result.output), 'done\n')
    await gone(await pidIn(pidFile))
  })

  it('kills a group that ignores SIGTERM once killGraceMs has passed', async () => {
    const controller = new AbortController()
    const run = wrapper(DEAF, { killGraceMs: 200 }).run(new Uint8Array(), options(controller.signal))
    const workload = await pidIn(pidFile)
    controller.abort(new Error('cancelled'))
    await assert.rejects(run, { message: 'cancelled' })
    await gone(workload)
  })

  it('killAllJobProcesses() signals every live group at once, synchronously', async () => {
    const run = wrapper(WAITS).run(new Uint8Array(), options())
    const workload = await pidIn(pidFile)
    assert.ok(killAllJobProcesses() >= 1)
    await gone(workload)
    // the wrapper died of SIGKILL
    assert.equal((await run).status, 128 + 9)
  })

  it('stop() ends the running jobs\' trees and refuses later runs', async () => {
    const executor = wrapper(WAITS)
    const run = executor.run(new Uint8Array(), options())
    const workload = await pidIn(pidFile)
    await executor.stop()
    await assert.rejects(run, { name: 'CommandError' })
    await gone(workload)
    assert.equal(executor.running, 0)
    await assert.rejects(executor.run(new Uint8Array(), options()), { name: 'CommandError' })
  })

  describe('left over by a process killed outright (stateDir)', () => {
    before(function () {
      if (!existsSync('/proc/self/stat')) this.skip()
    })

    /** Start `sh -c script` in a group of its own, as a node killed with kill -9 leaves it; its pid and start time. */
    async function leftOver (script: string): Promise<{ pid: number, startTime: string }> {
      const child = spawn('/bin/sh', ['-c', script, pidFile], { detached: true, stdio: 'ignore' })
      child.unref()
      const pid = child.pid ?? assert.fail('not started')
      strays.push(pid)
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
      return { pid, startTime: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] }
    }

    it('records each running group in stateDir until it is gone', async () => {
      const stateDir = join(dir, 'jobs-running')
      const controller = new AbortController()
      const run = wrapper(WAITS, { stateDir }).run(new Uint8Array(), options(controller.signal))
      await pidIn(pidFile)
      const records = await readdir(stateDir)
      assert.equal(records.length, 1)
      const record = JSON.parse(await readFile(join(stateDir, records[0]), 'utf8'))
      assert.equal(`${record.pid}.json`, records[0])
      assert.equal(record.command, '/bin/sh')
      controller.abort(new Error('cancelled'))
      await assert.rejects(run)
      assert.deepEqual(await readdir(stateDir), [])
    })

    it('a new executor on the stateDir kills the recorded group, grandchildren included', async () => {
      const stateDir = join(dir, 'jobs-running')
      const { pid, startTime } = await leftOver(WAITS)
      const workload = await pidIn(pidFile)
      await mkdir(stateDir)
      await writeFile(join(stateDir, `${pid}.json`), JSON.stringify({ pid, startTime, command: '/bin/sh', startedAt: new Date().toISOString() }))
      wrapper(WAITS, { stateDir })
      await gone(workload)
      await gone(pid)
      assert.deepEqual(await readdir(stateDir), [])
    })

    it('reapOrphans() deletes a record whose pid is now another process (start time differs) without killing it', async () => {
      const stateDir = join(dir, 'jobs-running')
      const { pid } = await leftOver(WAITS)
      const workload = await pidIn(pidFile)
      await mkdir(stateDir)
      await writeFile(join(stateDir, `${pid}.json`), JSON.stringify({ pid, startTime: '1', command: '/bin/sh', startedAt: new Date().toISOString() }))
      assert.equal(reapOrphans(stateDir), 0)
      assert.deepEqual(await readdir(stateDir), [])
      assert.ok(processRunning(pid))
      assert.ok(processRunning(workload))
      process.kill(-pid, 'SIGKILL')
      await gone(workload)
    })
  })
})
