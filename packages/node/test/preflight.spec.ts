import { strict as assert } from 'node:assert'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseNvidiaSmi } from '@shoal/work'
import { resolveConfig } from '../src/config.js'
import { ConfigError } from '../src/errors.js'
import { checkExecutor, gpusToOffer, preflight } from '../src/preflight.js'
import type { GpuInventory } from '@shoal/work'

const H200: GpuInventory = { found: true, gpus: parseNvidiaSmi('NVIDIA H200, 143771 MiB\nNVIDIA H200, 143771 MiB\n') }
const RTX_4090: GpuInventory = { found: true, gpus: parseNvidiaSmi('NVIDIA GeForce RTX 4090, 24564 MiB\n') }
const NONE: GpuInventory = { found: false, reason: 'no GPU found: nvidia-smi is not installed', gpus: [] }

async function configError (fn: () => unknown): Promise<ConfigError> {
  try {
    await fn()
  } catch (err: unknown) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`)
    return err
  }
  assert.fail('expected a ConfigError')
}

describe('preflight: a provider\'s start-up checks', () => {
  let dir: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-preflight-'))
  })

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  describe('the executor command', () => {
    it('resolves a relative command against the config file\'s directory, not the working directory', async () => {
      await writeFile(join(dir, 'run-job.sh'), '#!/bin/sh\ncat\n', { mode: 0o755 })
      const executor = await checkExecutor({ type: 'command', command: './run-job.sh' }, { configDir: dir })
      assert.deepEqual(executor, { type: 'command', command: join(dir, 'run-job.sh') })
    })

    it('names the field and where it looked when the command does not exist', async () => {
      const err = await configError(() => checkExecutor({ type: 'command', command: './run-job.sh' }, { configDir: dir }))
      assert.equal(err.field, 'provider.executor.command')
      assert.equal(err.message, `provider.executor.command: ./run-job.sh not found (resolved to ${join(dir, 'run-job.sh')}, relative to the config file's directory)`)
    })

    it('refuses a command that is not executable, or a directory', async () => {
      await writeFile(join(dir, 'job.sh'), '#!/bin/sh\ncat\n', { mode: 0o644 })
      await mkdir(join(dir, 'jobs'))
      assert.match((await configError(() => checkExecutor({ type: 'command', command: join(dir, 'job.sh') }))).message, /^provider\.executor\.command: .*job\.sh is not executable: chmod \+x it$/)
      assert.match((await configError(() => checkExecutor({ type: 'command', command: './jobs' }, { configDir: dir }))).message, /is not a file/)
    })

    it('looks a bare name up in PATH', async () => {
      await writeFile(join(dir, 'my-model'), '#!/bin/sh\ncat\n', { mode: 0o755 })
      const found = await checkExecutor({ type: 'command', command: 'my-model', args: ['--fast'] }, { path: dir })
      assert.deepEqual(found, { type: 'command', command: join(dir, 'my-model'), args: ['--fast'] })
      const err = await configError(() => checkExecutor({ type: 'command', command: 'no-such-model' }, { path: dir }))
      assert.match(err.message, /^provider\.executor\.command: no-such-model not found in PATH/)
    })

    it('leaves the echo executor alone', async () => {
      assert.deepEqual(await checkExecutor({ type: 'echo' }), { type: 'echo' })
    })
  })

  describe('the GPUs offered', () => {
    it('offers the detected GPUs when the config lists none', () => {
      assert.deepEqual(gpusToOffer([], H200), [{ model: 'NVIDIA H200', vramMib: 143771, count: 2, class: 'datacenter-140g' }])
    })

    it('refuses to start with no GPU listed and none detected, naming provider.gpus and why', async () => {
      const err = await configError(() => gpusToOffer([], NONE))
      assert.equal(err.field, 'provider.gpus')
      assert.match(err.message, /none listed and none detected \(no GPU found: nvidia-smi is not installed\)/)
    })

    it('checks listed GPUs against the detected ones: model, memory, count', async () => {
      const listed = [{ model: 'RTX 4090', vramMib: 24576 }]
      assert.deepEqual(gpusToOffer(listed, RTX_4090), listed)
      const model = await configError(() => gpusToOffer(listed, H200))
      assert.equal(model.field, 'provider.gpus[0].model')
      assert.match(model.message, /RTX 4090 is not on this machine \(nvidia-smi lists: NVIDIA H200 143771 MiB x2\)/)
      assert.equal((await configError(() => gpusToOffer([{ model: 'RTX 4090', vramMib: 49152 }], RTX_4090))).field, 'provider.gpus[0].vramMib')
      assert.equal((await configError(() => gpusToOffer([{ model: 'H200', vramMib: 143771, count: 4 }], H200))).field, 'provider.gpus[0].count')
      assert.deepEqual(gpusToOffer([{ model: 'h200', vramMib: 143771, count: 1 }], H200), [{ model: 'h200', vramMib: 143771, count: 1 }])
    })

    it('warns, naming provider.gpus, and offers the listed GPUs where nothing can be detected', () => {
      const lines: string[] = []
      const listed = [{ model: 'RTX 4090', vramMib: 24576 }]
      assert.deepEqual(gpusToOffer(listed, NONE, line => lines.push(line)), listed)
      assert.equal(lines.length, 1)
      assert.match(lines[0], /^provider\.gpus: 1 GPU kind\(s\) listed but not checked \(no GPU found: nvidia-smi is not installed\)/)
    })
  })

  it('fills in a gpu-provider\'s config with the detection injected, and leaves other roles alone', async () => {
    const config = resolveConfig({ role: 'gpu-provider', provider: { executor: { type: 'echo' } } })
    const checked = await preflight(config, { detectGpus: async () => H200 })
    assert.equal(checked.provider?.gpus?.[0].model, 'NVIDIA H200')
    const requester = resolveConfig({})
    assert.equal(await preflight(requester, { detectGpus: async () => assert.fail('a requester detects no GPU') }), requester)
  })

  it('checks a capture provider\'s executor too, without asking for GPUs', async () => {
    await writeFile(join(dir, 'capture.sh'), '#!/bin/sh\ncat\n')
    // writeFile's mode is filtered by the umask; chmod is not
    await chmod(join(dir, 'capture.sh'), 0o755)
    const config = resolveConfig({ role: 'capture-provider', provider: { sensors: ['video'], executor: { type: 'command', command: './capture.sh' } } })
    const checked = await preflight(config, { configDir: dir, detectGpus: async () => assert.fail('a capture provider detects no GPU') })
    assert.deepEqual(checked.provider?.executor, { type: 'command', command: join(dir, 'capture.sh') })
  })
})
