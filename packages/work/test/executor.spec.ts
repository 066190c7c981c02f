import assert from 'node:assert/strict'
import { commandExecutor, detectGpus, findProgram, functionExecutor, gpuClass, parseNvidiaSmi, TIMEOUT_STATUS } from '../src/index.js'
import type { ExecuteOptions } from '../src/index.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array): string => new TextDecoder().decode(b)

function options (signal = new AbortController().signal): ExecuteOptions {
  return { signal, onProgress: () => {}, quote: {} as unknown as ExecuteOptions['quote'], requester: {} as unknown as ExecuteOptions['requester'] }
}

describe('command executor', function () {
  this.timeout(20_000)

  it('feeds the input on stdin and returns stdout and the exit status', async () => {
    const cat = commandExecutor({ command: 'cat' })
    const result = await cat.run(enc('hello'), options())
    assert.equal(dec(result.output), 'hello')
    assert.equal(result.status, 0)
  })

  it('reports a non-zero exit status', async () => {
    const sh = commandExecutor({ command: '/bin/sh', args: ['-c', 'printf partial; exit 3'] })
    const result = await sh.run(new Uint8Array(), options())
    assert.equal(result.status, 3)
    assert.equal(dec(result.output), 'partial')
  })

  it('kills a program that runs too long and reports status 124', async () => {
    const slow = commandExecutor({ command: 'sleep', args: ['10'], timeoutMs: 200 })
    const result = await slow.run(new Uint8Array(), options())
    assert.equal(result.status, TIMEOUT_STATUS)
  })

  it('kills a program that writes too much (CommandError)', async () => {
    const noisy = commandExecutor({ command: '/bin/sh', args: ['-c', 'head -c 100000 /dev/zero'], maxOutputBytes: 1000 })
    await assert.rejects(noisy.run(new Uint8Array(), options()), { name: 'CommandError' })
  })

  it('fails with CommandError for a program that does not exist', async () => {
    const missing = commandExecutor({ command: 'shoal-no-such-program' })
    await assert.rejects(missing.run(new Uint8Array(), options()), { name: 'CommandError' })
  })

  it('stops the program when the job is aborted', async () => {
    const slow = commandExecutor({ command: 'sleep', args: ['10'] })
    const controller = new AbortController()
    setTimeout(() => { controller.abort(new Error('cancelled')) }, 100)
    await assert.rejects(slow.run(new Uint8Array(), options(controller.signal)), { message: 'cancelled' })
    assert.equal(slow.running, 0)
  })

  it('runs at most `concurrency` programs at once; the rest wait', async () => {
    const sh = commandExecutor({ command: '/bin/sh', args: ['-c', 'sleep 0.3; echo done'], concurrency: 2 })
    const runs = [sh.run(new Uint8Array(), options()), sh.run(new Uint8Array(), options()), sh.run(new Uint8Array(), options())]
    await new Promise(resolve => setTimeout(resolve, 100))
    assert.equal(sh.running, 2)
    assert.equal(sh.queued, 1)
    const results = await Promise.all(runs)
    assert.deepEqual(results.map(r => dec(r.output).trim()), ['done', 'done', 'done'])
    assert.equal(sh.running, 0)
  })

  it('enforces a memory limit with prlimit when installed', async function () {
    if (findProgram('prlimit') == null) {
      this.skip()
    }
    const sh = commandExecutor({ command: '/bin/sh', args: ['-c', 'echo ok'], memoryLimitMb: 64 })
    assert.equal(sh.memoryLimitEnforcement, 'prlimit')
    assert.equal(dec((await sh.run(new Uint8Array(), options())).output).trim(), 'ok')
    // a shell holding a 50 MB string in a variable cannot live within 16 MiB of address space
    const hog = commandExecutor({ command: '/bin/sh', args: ['-c', 'x=$(head -c 50000000 /dev/zero | tr "\\0" a); echo ${#x}'], memoryLimitMb: 16 })
    const result = await hog.run(new Uint8Array(), options())
    assert.notEqual(result.status, 0)
    // and the same program succeeds without the limit
    const free = commandExecutor({ command: '/bin/sh', args: ['-c', 'x=$(head -c 50000000 /dev/zero | tr "\\0" a); echo ${#x}'] })
    assert.equal(dec((await free.run(new Uint8Array(), options())).output).trim(), '50000000')
  })

  it('limits node scripts with --max-old-space-size instead', () => {
    const node = commandExecutor({ command: process.execPath, args: ['-e', '0'], memoryLimitMb: 128 })
    assert.equal(node.memoryLimitEnforcement, 'node-heap')
  })
})

describe('function executor', () => {
  it('wraps bytes into a result with status 0, and a throw into ExecutorError', async () => {
    const echo = functionExecutor(input => input)
    assert.deepEqual(await echo.run(enc('x'), options()), { output: enc('x'), status: 0 })
    const broken = functionExecutor(() => { throw new Error('boom') })
    await assert.rejects(broken.run(enc('x'), options()), { name: 'ExecutorError' })
  })
})

describe('GPU detection', () => {
  it('parses nvidia-smi output, grouping identical GPUs', () => {
    const fixture = 'NVIDIA GeForce RTX 4090, 24564 MiB\nNVIDIA GeForce RTX 4090, 24564 MiB\nNVIDIA A100-SXM4-80GB, 81920 MiB\n\ngarbage line\n, 10 MiB\nX, lots MiB\n'
    assert.deepEqual(parseNvidiaSmi(fixture), [
      { model: 'NVIDIA GeForce RTX 4090', class: 'consumer-24g', vramMib: 24564, count: 2 },
      { model: 'NVIDIA A100-SXM4-80GB', class: 'datacenter-80g', vramMib: 81920, count: 1 }
    ])
    assert.equal(gpuClass('Tesla T4', 15360), 'datacenter-15g')
  })

  it('says clearly that no GPU was found when nvidia-smi is absent', async () => {
    const inventory = await detectGpus({ command: 'shoal-no-such-nvidia-smi' })
    assert.equal(inventory.found, false)
    assert.match(inventory.found ? '' : inventory.reason, /^no GPU found: .*not installed/)
    assert.deepEqual(inventory.gpus, [])
  })

  it('reports no GPU on this machine or lists some, never throws', async () => {
    const inventory = await detectGpus()
    if (inventory.found) {
      assert.ok(inventory.gpus.length > 0)
    } else {
      assert.match(inventory.reason, /^no GPU found/)
    }
  })
})
