import { strict as assert } from 'node:assert'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LOCAL_CONFIG, ShoalProcesses } from './fixtures/cli-process.js'

// dist/test/provider.node.js -> the repository's examples/full-node
const EXAMPLES = fileURLToPath(new URL('../../../../examples/full-node/', import.meta.url))
const GPU_PROVIDER_YAML = join(EXAMPLES, 'gpu-provider.yaml')

const LOCAL = LOCAL_CONFIG

/** Flags that keep a node started from an example file on loopback with free ports. */
const LOOPBACK_FLAGS = ['--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--no-mdns']

/** A non-loopback IPv4 address of this machine, if it has one. */
function ownAddress (): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address
    }
  }
  return undefined
}

describe('a provider\'s start-up: executor and GPU checks, the API bind address (separate processes)', function () {
  this.timeout(120_000)
  let root: string
  let shoal: ShoalProcesses
  /** PATH with only a fake nvidia-smi in front of the system's tools */
  let fakeGpuPath: (smiOutput: string) => Promise<string>
  /** PATH without any nvidia-smi */
  let noGpuPath: string

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'shoal-provider-'))
    shoal = new ShoalProcesses({ env: { XDG_DATA_HOME: join(root, 'xdg') } })
    noGpuPath = join(root, 'empty-bin')
    await mkdir(noGpuPath)
    fakeGpuPath = async (smiOutput) => {
      const bin = join(root, 'fake-bin')
      await mkdir(bin, { recursive: true })
      await writeFile(join(bin, 'nvidia-smi'), `#!/bin/sh\nprintf '%s\\n' '${smiOutput}'\n`)
      await chmod(join(bin, 'nvidia-smi'), 0o755)
      return `${bin}:/usr/bin:/bin`
    }
  })

  afterEach(async () => {
    shoal.killAll()
    await rm(root, { recursive: true, force: true })
  })

  async function writeConfig (name: string, config: unknown): Promise<string> {
    const path = join(root, name)
    await writeFile(path, JSON.stringify(config))
    return path
  }

  async function runJson (args: string[]): Promise<any> {
    const result = await shoal.run([...args, '--json'])
    assert.equal(result.code, 0, `shoal ${args.join(' ')} failed: ${result.stderr}`)
    return JSON.parse(result.stdout)
  }

  it('the README\'s gpu-provider.yaml starts from any directory: ./run-job.sh is found next to it and a job runs through it', async () => {
    const cwd = join(root, 'elsewhere')
    await mkdir(cwd)
    const provider = await shoal.start(join(root, 'provider'), ['--config', GPU_PROVIDER_YAML, ...LOOPBACK_FLAGS], {
      cwd,
      env: { PATH: await fakeGpuPath('NVIDIA GeForce RTX 4090, 24564 MiB') }
    })
    assert.match(provider.stdout(), /gpu {7}RTX 4090 24576 MiB x1/)
    assert.doesNotMatch(provider.stderr(), /warning/, 'the listed GPU is the one nvidia-smi reports')

    const providerId = await runJson(['id', '--data-dir', provider.dataDir])
    const local = await writeConfig('local.json', LOCAL)
    const requester = await shoal.start(join(root, 'requester'), ['--config', local, '--bootstrap', providerId.addrs[0]])
    const submitted = await shoal.run(['job', 'submit', '--data-dir', requester.dataDir, '--workload', 'echo', '--gpu-class', 'consumer-24g', '--region', 'u33d', '--input', '-', '--timeout', '60000', '--json'], { stdin: 'hello shoal' })
    assert.equal(submitted.code, 0, `job submit failed: ${submitted.stderr}`)
    const final = JSON.parse(submitted.stdout)
    assert.equal(final.stage, 'receipt')
    assert.equal(Buffer.from(final.output, 'base64').toString(), 'HELLO SHOAL', 'the example run-job.sh upper-cases its input')
    assert.equal(await requester.stop(), 0)
    assert.equal(await provider.stop(), 0)
  })

  it('a missing, non-executable or absent executor command stops the start (exit 2) naming provider.executor.command', async () => {
    const config = { ...LOCAL, role: 'gpu-provider', provider: { gpus: [{ model: 'RTX 4090', vramMib: 24576 }], executor: { type: 'command', command: './run-job.sh' } } }
    const file = await writeConfig('gpu.json', config)
    const env = { PATH: noGpuPath }
    const missing = await shoal.run(['node', 'start', '--config', file, '--data-dir', join(root, 'a')], { env })
    assert.equal(missing.code, 2, missing.stderr)
    assert.match(missing.stderr, new RegExp(`^shoal: ConfigError: provider\\.executor\\.command: \\./run-job\\.sh not found \\(resolved to ${join(root, 'run-job.sh')}, `, 'm'))
    await assert.rejects(readFile(join(root, 'a', 'api.json')), 'the node did not start')

    await writeFile(join(root, 'run-job.sh'), '#!/bin/sh\ncat\n')
    await chmod(join(root, 'run-job.sh'), 0o644)
    const notExecutable = await shoal.run(['node', 'start', '--config', file, '--data-dir', join(root, 'b')], { env })
    assert.equal(notExecutable.code, 2, notExecutable.stderr)
    assert.match(notExecutable.stderr, /ConfigError: provider\.executor\.command: \.\/run-job\.sh is not executable .*chmod \+x/)

    const noCommand = await writeConfig('no-command.json', { ...config, provider: { ...config.provider, executor: { type: 'command' } } })
    const absent = await shoal.run(['node', 'start', '--config', noCommand, '--data-dir', join(root, 'c')], { env })
    assert.equal(absent.code, 2, absent.stderr)
    assert.match(absent.stderr, /ConfigError: provider\.executor\.command: missing \(in .*no-command\.json\)/)
    assert.doesNotMatch(absent.stderr, /undefined/)
  })

  it('GPUs: the detected ones are offered when none are listed, listed ones must be on the machine, no nvidia-smi is a warning, neither is an error', async () => {
    const echo = { ...LOCAL, role: 'gpu-provider', provider: { executor: { type: 'echo' } } }
    const unlisted = await writeConfig('unlisted.json', echo)
    const listed = await writeConfig('listed.json', { ...echo, provider: { ...echo.provider, gpus: [{ model: 'RTX 4090', vramMib: 24576 }] } })
    const h200 = await fakeGpuPath('NVIDIA H200, 143771 MiB')

    // none listed, nvidia-smi finds an H200: it is offered, as its class
    const detected = await shoal.start(join(root, 'detected'), ['--config', unlisted], { env: { PATH: h200 } })
    assert.match(detected.stdout(), /gpu {7}NVIDIA H200 143771 MiB x1/)
    const status = await runJson(['status', '--data-dir', detected.dataDir])
    assert.deepEqual(status.capabilities[0]?.gpus, [{ model: 'NVIDIA H200', class: 'datacenter-140g', vramMib: 143771, count: 1 }])
    assert.equal(await detected.stop(), 0)

    // an RTX 4090 listed on a machine whose nvidia-smi lists an H200: refused
    const absent = await shoal.run(['node', 'start', '--config', listed, '--data-dir', join(root, 'absent')], { env: { PATH: h200 } })
    assert.equal(absent.code, 2, absent.stderr)
    assert.match(absent.stderr, /ConfigError: provider\.gpus\[0\]\.model: RTX 4090 is not on this machine \(nvidia-smi lists: NVIDIA H200 143771 MiB x1\)/)

    // listed, and no nvidia-smi at all (trying a GPU config on a laptop): a warning naming the field, then it runs
    const unchecked = await shoal.start(join(root, 'unchecked'), ['--config', listed], { env: { PATH: noGpuPath } })
    assert.match(unchecked.stderr(), /warn +preflight note="provider\.gpus: 1 GPU kind\(s\) listed but not checked \(no GPU found: nvidia-smi is not installed\)/)
    assert.match(unchecked.stdout(), /gpu {7}RTX 4090 24576 MiB x1/)
    assert.equal(await unchecked.stop(), 0)

    // neither listed nor detected
    const none = await shoal.run(['node', 'start', '--config', unlisted, '--data-dir', join(root, 'none')], { env: { PATH: noGpuPath } })
    assert.equal(none.code, 2, none.stderr)
    assert.match(none.stderr, /ConfigError: provider\.gpus: none listed and none detected \(no GPU found: nvidia-smi is not installed\); list the GPUs to offer in provider\.gpus/)
  })

  it('the API bound to 0.0.0.0: /metrics and /health answer on the machine\'s own address without a token, the other routes want it, the CLI goes on working', async function () {
    const address = ownAddress()
    if (address === undefined) {
      this.skip() // no non-loopback IPv4 interface on this machine: nothing to scrape from
    }
    const local = await writeConfig('local.json', LOCAL)

    // the default binds loopback only: not reachable on the machine's own address
    const loopback = await shoal.start(join(root, 'loopback'), ['--config', local])
    const loopbackInfo = JSON.parse(await readFile(join(loopback.dataDir, 'api.json'), 'utf8'))
    assert.equal(loopbackInfo.host, '127.0.0.1')
    await assert.rejects(fetch(`http://${address}:${loopbackInfo.port}/health`))
    assert.equal(await loopback.stop(), 0)

    const node = await shoal.start(join(root, 'open'), ['--config', local, '--api-host', '0.0.0.0'])
    assert.match(node.stdout(), /api {7}http:\/\/0\.0\.0\.0:\d+/)
    const info = JSON.parse(await readFile(join(node.dataDir, 'api.json'), 'utf8'))
    assert.equal(info.host, '127.0.0.1', 'api.json names an address the CLI can connect to')
    const base = `http://${address}:${info.port}`

    const metrics = await fetch(`${base}/metrics`)
    assert.equal(metrics.status, 200)
    assert.match(await metrics.text(), /libp2p_|shoal_/)
    assert.equal((await fetch(`${base}/health`)).status, 200)

    for (const path of ['/status', '/peers', '/receipts', '/jobs', '/id']) {
      const res = await fetch(`${base}${path}`)
      assert.equal(res.status, 401, `${path} without the token`)
      assert.match((await res.json()).message, /API token .*only \/health and \/metrics are open/)
    }
    const withToken = await fetch(`${base}/status`, { headers: { authorization: `Bearer ${info.token}` } })
    assert.equal(withToken.status, 200)
    assert.equal((await withToken.json()).peerId, info.peerId)

    // the CLI on the same machine reads api.json (token included)
    assert.equal((await runJson(['status', '--data-dir', node.dataDir])).peerId, info.peerId)
    assert.equal(await node.stop(), 0)
  })

  it('an API address that is not this machine\'s stops the start naming apiHost', async () => {
    const local = await writeConfig('local.json', LOCAL)
    const result = await shoal.run(['node', 'start', '--config', local, '--data-dir', join(root, 'x'), '--api-host', '203.0.113.9'])
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /ConfigError: apiHost: cannot bind the HTTP API to 203\.0\.113\.9: not an address of this machine/)
    const bad = await shoal.run(['node', 'start', '--config', local, '--data-dir', join(root, 'y'), '--api-host', 'every where'])
    assert.equal(bad.code, 2, bad.stderr)
    assert.match(bad.stderr, /ConfigError: --api-host: expected an IP address/)
  })
})
