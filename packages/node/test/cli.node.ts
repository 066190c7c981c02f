import { strict as assert } from 'node:assert'
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { accessSync, constants } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LOCAL_CONFIG, ShoalProcesses } from './fixtures/cli-process.js'
import { waitFor } from './fixtures/wait.js'
import type { ShoalNodeProcess, ShoalResult } from './fixtures/cli-process.js'
import type { ChildProcess } from 'node:child_process'

// dist/test/cli.node.js -> dist/src/cli.js
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url))
// writes countersigned receipts into a data dir's store until killed (the crash test's writer)
const WRITER = fileURLToPath(new URL('./fixtures/receipt-writer.js', import.meta.url))

/** Loopback only, no mDNS, no NAT machinery, DHT server with private addresses: a local testnet. */
const LOCAL = LOCAL_CONFIG

const PROVIDER = {
  ...LOCAL,
  role: 'gpu-provider',
  provider: {
    gpus: [{ model: 'RTX 4090', vramMib: 24576 }],
    price: { perUnit: 2, currency: 'USDC', unit: 'gpu-second' },
    // the command executor, with the running node as the program: no dependency on the host's tools
    executor: { type: 'command', command: process.execPath, args: ['-e', 'process.stdin.pipe(process.stdout)'] }
  }
}

/** Echo after a delay: the job input on stdin comes back on stdout `process.argv[1]` ms after stdin ends. */
const SLOW_ECHO = "const c = []; process.stdin.on('data', d => c.push(d)).on('end', () => setTimeout(() => process.stdout.write(Buffer.concat(c)), Number(process.argv[1])))"

/** SLOW_ECHO whose output is the input `process.argv[2]` times over: a big output from a small input. */
const SLOW_REPEAT = "const c = []; process.stdin.on('data', d => c.push(d)).on('end', () => setTimeout(() => process.stdout.write(Buffer.concat(c).toString().repeat(Number(process.argv[2]))), Number(process.argv[1])))"

type Running = ShoalNodeProcess
type Result = ShoalResult

describe('shoal CLI (separate processes)', function () {
  this.timeout(120_000)
  let root: string
  let processes: ShoalProcesses
  // processes a test spawns by hand (another Node, the receipt writer)
  let children: ChildProcess[] = []

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'shoal-cli-'))
    processes = new ShoalProcesses({ env: { XDG_DATA_HOME: join(root, 'xdg') } })
  })

  afterEach(async () => {
    processes.killAll()
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
    children = []
    await rm(root, { recursive: true, force: true })
  })

  async function writeConfig (name: string, config: unknown): Promise<string> {
    const path = join(root, name)
    await writeFile(path, JSON.stringify(config))
    return path
  }

  /** A `shoal` process with the test's XDG_DATA_HOME; `stdin` written and closed. */
  function spawnCli (args: string[], stdin?: string): ChildProcess {
    return processes.spawn(args, { stdin })
  }

  async function run (args: string[], stdin?: string): Promise<Result> {
    return processes.run(args, { stdin })
  }

  async function runJson (args: string[]): Promise<any> {
    const result = await run([...args, '--json'])
    assert.equal(result.code, 0, `shoal ${args.join(' ')} failed: ${result.stderr}`)
    return JSON.parse(result.stdout)
  }

  /** Start a node on `<root>/<name>` and wait until its API answers and its start lines are out. */
  async function startNode (name: string, configPath: string, extra: string[] = []): Promise<Running> {
    return processes.start(join(root, name), ['--config', configPath, ...extra])
  }

  async function stopNode (node: Running): Promise<number | null> {
    return node.stop()
  }

  it('three nodes join through a bootstrap node, a job gets a countersigned receipt on both sides, restarts keep identity and receipts', async () => {
    const local = await writeConfig('local.json', LOCAL)
    const bootstrap = await startNode('bootstrap', local, ['--role', 'bootstrap'])
    const bootId = await runJson(['id', '--data-dir', bootstrap.dataDir])
    const bootAddr = bootId.addrs[0]
    assert.match(bootAddr, /\/p2p\//)

    const providerConfig = await writeConfig('provider.json', PROVIDER)
    let provider = await startNode('provider', providerConfig, ['--bootstrap', bootAddr])
    const requester = await startNode('requester', local, ['--bootstrap', bootAddr])
    const providerId = (await runJson(['id', '--data-dir', provider.dataDir])).peerId
    const requesterId = (await runJson(['id', '--data-dir', requester.dataDir])).peerId

    // everyone sees everyone (the bootstrap node's DHT introduces provider and requester)
    await waitFor('the bootstrap node to see both', async () => {
      const peers: any[] = await runJson(['peers', '--data-dir', bootstrap.dataDir])
      const ids = peers.map(p => p.peerId)
      return ids.includes(providerId) && ids.includes(requesterId) ? true : undefined
    })
    const status = await runJson(['status', '--data-dir', requester.dataDir])
    assert.equal(status.peerId, requesterId)
    assert.equal(status.role, 'requester')
    assert.ok(status.peers.some((p: any) => p.peerId === bootId.peerId))
    const providerStatus = await waitFor('the provider to advertise', async () => {
      const s = await runJson(['status', '--data-dir', provider.dataDir])
      return s.capabilities.length > 0 ? s : undefined
    })
    assert.equal(providerStatus.capabilities[0].gpus[0].class, 'consumer-24g')
    assert.ok(providerStatus.topics.length > 0, 'a GPU provider subscribes to the GPU job topics')

    // submit a job with the CLI and follow it until the receipt
    const submitted = await run(['job', 'submit', '--data-dir', requester.dataDir, '--workload', 'echo', '--gpu-class', 'consumer-24g', '--input', '-', '--timeout', '60000', '--json'], 'hello shoal')
    assert.equal(submitted.code, 0, `job submit failed: ${submitted.stderr}`)
    const final = JSON.parse(submitted.stdout)
    assert.equal(final.stage, 'receipt')
    assert.equal(Buffer.from(final.output, 'base64').toString(), 'hello shoal')
    const receiptId = final.receipt.id

    // the countersigned receipt is in both nodes' stores
    const mine: any[] = await runJson(['receipts', 'list', '--data-dir', requester.dataDir])
    assert.deepEqual(mine.map(r => r.id), [receiptId])
    assert.equal(mine[0].state, 'countersigned')
    assert.equal(mine[0].provider, providerId)
    assert.equal(mine[0].requester, requesterId)
    const theirs = await waitFor('the provider to store the countersigned receipt', async () => {
      const list: any[] = await runJson(['receipts', 'list', '--data-dir', provider.dataDir])
      return list.length > 0 ? list : undefined
    })
    assert.deepEqual(theirs.map(r => r.id), [receiptId])
    assert.equal((await runJson(['receipts', 'verify', '--data-dir', provider.dataDir])).ok, true)

    // /metrics answers with libp2p's and Shoal's metrics
    const metrics = await run(['metrics', '--data-dir', requester.dataDir])
    assert.equal(metrics.code, 0, metrics.stderr)
    assert.match(metrics.stdout, /libp2p_data_transfer_bytes_total/)
    assert.match(metrics.stdout, /shoal_node_receipt_log_length 1/)
    assert.match(metrics.stdout, /shoal_node_jobs_total\{role="requester",outcome="completed"\} 1/)

    // restart the provider: same identity, the receipt is still there
    assert.equal(await stopNode(provider), 0, provider.stderr())
    provider = await startNode('provider', providerConfig, ['--bootstrap', bootAddr])
    assert.equal((await runJson(['id', '--data-dir', provider.dataDir])).peerId, providerId)
    const after: any[] = await runJson(['receipts', 'list', '--data-dir', provider.dataDir])
    assert.deepEqual(after.map(r => r.id), [receiptId])
    assert.equal((await runJson(['receipts', 'verify', '--data-dir', provider.dataDir])).ok, true)

    // a clean shutdown on SIGTERM removes api.json and exits 0
    assert.equal(await stopNode(requester), 0, requester.stderr())
    await assert.rejects(readFile(join(requester.dataDir, 'api.json')))
  })

  it('SIGTERM mid-job: the provider finishes the running job, the receipt reaches both sides, then it exits cleanly', async () => {
    const local = await writeConfig('local.json', LOCAL)
    const slowConfig = await writeConfig('slow.json', { ...PROVIDER, provider: { ...PROVIDER.provider, executor: { type: 'command', command: process.execPath, args: ['-e', SLOW_ECHO, '4000'] } } })
    const provider = await startNode('provider', slowConfig)
    const providerId = await runJson(['id', '--data-dir', provider.dataDir])
    const requester = await startNode('requester', local, ['--bootstrap', providerId.addrs[0]])
    await waitFor('the provider to advertise', async () => {
      const s = await runJson(['status', '--data-dir', provider.dataDir])
      return s.capabilities.length > 0 ? true : undefined
    })

    const submit = run(['job', 'submit', '--data-dir', requester.dataDir, '--workload', 'slow-echo', '--gpu-class', 'consumer-24g', '--input', '-', '--timeout', '60000', '--json'], 'finish before you go')
    await waitFor('the job to run on the provider', async () => {
      const jobs: any[] = await runJson(['jobs', '--data-dir', provider.dataDir])
      return jobs.some(j => j.side === 'provider') ? true : undefined
    })
    provider.child.kill('SIGTERM')

    const submitted = await submit
    assert.equal(submitted.code, 0, `job submit failed: ${submitted.stderr}`)
    const final = JSON.parse(submitted.stdout)
    assert.equal(final.stage, 'receipt')
    assert.equal(Buffer.from(final.output, 'base64').toString(), 'finish before you go')
    assert.equal(await provider.exited, 0, provider.stderr())
    assert.match(provider.stderr(), /draining: 1 running job/)
    assert.doesNotMatch(provider.stderr(), /handed back \d+ job/)

    // the provider stored the countersigned receipt before its store closed
    const restarted = await startNode('provider', slowConfig)
    const theirs: any[] = await runJson(['receipts', 'list', '--data-dir', restarted.dataDir])
    assert.deepEqual(theirs.map(r => [r.id, r.state]), [[final.receipt.id, 'countersigned']])
    assert.equal(await stopNode(restarted), 0)
    assert.equal(await stopNode(requester), 0)
  })

  it('a bad config exits non-zero naming the bad field', async () => {
    const bad = await writeConfig('bad.json', { ...LOCAL, listen: ['localhost:4001'] })
    const result = await run(['node', 'start', '--config', bad, '--data-dir', join(root, 'bad')])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /ConfigError: listen\[0\]: not a multiaddr/)
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
  })

  it('an unusable listen address exits 2 naming the field and the address, not as an unexpected error', async () => {
    const local = await writeConfig('local.json', LOCAL)
    // TEST-NET-3: on no interface of this machine
    const absent = await run(['node', 'start', '--config', local, '--data-dir', join(root, 'absent'), '--listen', '/ip4/203.0.113.1/tcp/1'])
    assert.equal(absent.code, 2, absent.stderr)
    assert.match(absent.stderr, /^shoal: ConfigError: listen\[0\]: cannot listen on \/ip4\/203\.0\.113\.1\/tcp\/1: EADDRNOTAVAIL, no network interface of this machine has that address/)
    assert.doesNotMatch(absent.stderr, /unexpected error|faultTolerance/)

    const quic = await writeConfig('quic.json', { ...LOCAL, listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/0.0.0.0/udp/4001/quic-v1'] })
    const unsupported = await run(['node', 'start', '--config', quic, '--data-dir', join(root, 'quic')])
    assert.equal(unsupported.code, 2, unsupported.stderr)
    assert.match(unsupported.stderr, /ConfigError: listen\[1\]: \/ip4\/0\.0\.0\.0\/udp\/4001\/quic-v1: no transport of this node listens on such an address/)

    const garbage = await run(['node', 'start', '--config', local, '--data-dir', join(root, 'garbage'), '--listen', 'garbage'])
    assert.equal(garbage.code, 2)
    assert.match(garbage.stderr, /ConfigError: --listen: not a multiaddr: "garbage"/)
  })

  it('on a Node.js older than 22 it says which Node to use and exits 3', async function () {
    // the machine's own `node`: the first on PATH outside this repository (npm puts the project's first)
    const repo = fileURLToPath(new URL('../../../../', import.meta.url))
    const systemNode = (process.env.PATH ?? '').split(delimiter)
      .filter(dir => dir !== '' && !resolvePath(dir).startsWith(repo))
      .map(dir => join(dir, 'node'))
      .find(file => { try { accessSync(file, constants.X_OK); return true } catch { return false } })
    if (systemNode === undefined) {
      this.test!.title += ' (skipped: no node on PATH outside the repository)'
      this.skip()
    }
    const version = execFileSync(systemNode, ['--version'], { encoding: 'utf8' }).trim()
    if (Number(version.slice(1).split('.')[0]) >= 22) {
      this.test!.title += ` (skipped: the machine's node is ${version}, not older than 22)`
      this.skip()
    }
    const child = spawn(systemNode, [CLI, 'node', 'start', '--data-dir', join(root, 'old')], { env: { ...process.env, SHOAL_DATA_DIR: '', XDG_DATA_HOME: join(root, 'xdg') }, stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    let stderr = ''
    child.stderr?.on('data', (d) => { stderr += d })
    const code = await new Promise<number | null>(resolve => child.on('exit', resolve))
    assert.equal(code, 3)
    assert.match(stderr, new RegExp(`^shoal: Node\\.js 22 or later is needed \\(this is ${version.slice(1).replace(/\./g, '\\.')} at `))
    assert.match(stderr, /npx shoal/)
    assert.match(stderr, /node_modules\/\.bin\/node/)
    assert.doesNotMatch(stderr, /withResolvers/)
  })

  it('job submit takes an input as large as a job may have: the API body limit is the job input limit, not 64 KiB', async () => {
    const provider = await startNode('provider', await writeConfig('provider.json', PROVIDER))
    const providerId = await runJson(['id', '--data-dir', provider.dataDir])
    const requester = await startNode('requester', await writeConfig('local.json', LOCAL), ['--bootstrap', providerId.addrs[0]])
    // 600 KiB of text: 800 KiB of base64 in the request body, echoed back whole
    const input = randomBytes(450 * 1024).toString('base64')
    const result = await run(['job', 'submit', '--data-dir', requester.dataDir, '--workload', 'echo', '--gpu-class', 'consumer-24g', '--input', '-', '--timeout', '60000'], input)
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stdout, input)
    assert.equal(await stopNode(requester), 0)
    assert.equal(await stopNode(provider), 0)
  })

  it('job submit streams progress on stderr and puts the output on stdout (complete through a pipe), in --out or as --json; --api-port finds or asks for the token', async () => {
    // slots for back-to-back jobs: a slot may still be held while the last receipt is countersigned
    const slowConfig = await writeConfig('slow.json', { ...PROVIDER, provider: { ...PROVIDER.provider, concurrency: 4, executor: { type: 'command', command: process.execPath, args: ['-e', SLOW_REPEAT, '3000', '8'] } } })
    const provider = await startNode('provider', slowConfig)
    const providerId = await runJson(['id', '--data-dir', provider.dataDir])
    const repeated = (input: string): string => input.repeat(8)
    const local = await writeConfig('local.json', LOCAL)
    const requester = await startNode('requester', local, ['--bootstrap', providerId.addrs[0]])
    await waitFor('the provider to advertise', async () => {
      const s = await runJson(['status', '--data-dir', provider.dataDir])
      return s.capabilities.length > 0 ? true : undefined
    })
    const job = ['job', 'submit', '--workload', 'slow-echo', '--gpu-class', 'consumer-24g', '--timeout', '60000']

    // more than 200 KiB of output: a pipe takes 64 KiB at a time, so all of it arrives only if the CLI waits for it
    const small = randomBytes(30 * 1024).toString('base64')
    const big = repeated(small)
    const child = spawnCli([...job, '--data-dir', requester.dataDir, '--input', '-'], small)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d) => { stdout += d })
    child.stderr?.on('data', (d) => { stderr += d })
    const exited = new Promise<number | null>(resolve => child.on('exit', resolve))
    await waitFor('the job to run on the provider', async () => {
      const jobs: any[] = await runJson(['jobs', '--data-dir', provider.dataDir])
      return jobs.some(j => j.side === 'provider') ? true : undefined
    })
    // while the job runs, its stages are already on stderr and nothing is on stdout yet
    assert.equal(child.exitCode, null)
    assert.match(stderr, /\] announced: /)
    assert.match(stderr, new RegExp(`\\] routed: best of 1: ${providerId.peerId}`))
    assert.equal(stdout, '')
    assert.equal(await exited, 0, stderr)
    assert.ok(stdout.length > 200 * 1024)
    assert.equal(stdout, big, 'the whole output, exactly')
    const stages = [...stderr.matchAll(/^\[ *[\dms ]+\] ([a-z-]+)/gm)].map(m => m[1])
    // in this order (a stage may repeat, e.g. routed again after a retry)
    const firsts = ['created', 'announced', 'routed', 'result', 'receipt'].map(stage => stages.indexOf(stage))
    assert.ok(firsts.every((at, i) => at >= 0 && (i === 0 || at > firsts[i - 1])), `stages out of order: ${stages.join(', ')}`)
    assert.match(stderr, /countersigned/)

    // --json: one JSON document on stdout, parsed whole
    const asJson = await run([...job, '--data-dir', requester.dataDir, '--input', '-', '--json'], small)
    assert.equal(asJson.code, 0, asJson.stderr)
    assert.ok(asJson.stdout.length > 200 * 1024)
    const final = JSON.parse(asJson.stdout)
    assert.equal(final.stage, 'receipt')
    assert.equal(Buffer.from(final.output, 'base64').toString(), big)

    // --out: the output in the file, stdout empty
    const outFile = join(root, 'out.txt')
    const toFile = await run([...job, '--data-dir', requester.dataDir, '--input', '-', '--out', outFile], 'into a file')
    assert.equal(toFile.code, 0, toFile.stderr)
    assert.equal(toFile.stdout, '')
    assert.equal(await readFile(outFile, 'utf8'), repeated('into a file'))
    assert.match(toFile.stderr, new RegExp(`wrote the job's output \\(88 bytes\\) to ${outFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
    const badOut = await run([...job, '--data-dir', requester.dataDir, '--out', join(root, 'no', 'such', 'dir', 'out')])
    assert.equal(badOut.code, 2)
    assert.match(badOut.stderr, /cannot write --out .*ENOENT/)

    // --api-port alone: the default data dir has no api.json, so no token; the error says what to pass
    const info = JSON.parse(await readFile(join(requester.dataDir, 'api.json'), 'utf8'))
    const port = String(info.port)
    const noToken = await run([...job, '--api-port', port, '--input', '-'], 'hi')
    assert.equal(noToken.code, 1)
    assert.match(noToken.stderr, new RegExp(`ApiError: the node on 127\\.0\\.0\\.1:${port} refused the request: it needs the API token .* no token was sent: .*xdg/shoal/api\\.json does not exist\\. Pass the node's data dir \\(--data-dir D, or the --config F that names it\\), or --api-token T`))
    const wrongToken = await run([...job, '--api-port', port, '--api-token', 'wrong', '--input', '-'], 'hi')
    assert.equal(wrongToken.code, 1)
    assert.match(wrongToken.stderr, /the token given with --api-token is not its token/)
    // --api-port with the node's data dir, or with its token
    const withDir = await run([...job, '--api-port', port, '--data-dir', requester.dataDir, '--input', '-'], 'by data dir')
    assert.equal(withDir.code, 0, withDir.stderr)
    assert.equal(withDir.stdout, repeated('by data dir'))
    const withToken = await run([...job, '--api-port', port, '--api-token', info.token, '--input', '-'], 'by token')
    assert.equal(withToken.code, 0, withToken.stderr)
    assert.equal(withToken.stdout, repeated('by token'))

    assert.equal(await stopNode(requester), 0)
    assert.equal(await stopNode(provider), 0)
  })

  it('receipts list --json through a pipe is complete JSON past 128 KiB', async () => {
    // fill a data dir's store with receipts, then serve it with `shoal node start`
    const dataDir = join(root, 'many')
    const writer = spawn(process.execPath, [WRITER, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(writer)
    const acked = new Set<string>()
    let buffered = ''
    const enough = new Promise<void>((resolve) => {
      writer.stdout?.on('data', (d) => {
        buffered += d
        const lines = buffered.split('\n')
        buffered = lines.pop() ?? ''
        for (const line of lines) if (line.startsWith('ack ')) acked.add(line.slice(4))
        if (acked.size >= 600) resolve()
      })
    })
    await enough
    writer.kill('SIGKILL')
    await new Promise(resolve => writer.once('exit', resolve))
    const node = await startNode('many', await writeConfig('local.json', LOCAL))

    const result = await run(['receipts', 'list', '--json', '--data-dir', node.dataDir])
    assert.equal(result.code, 0, result.stderr)
    assert.ok(Buffer.byteLength(result.stdout) > 200 * 1024, `only ${Buffer.byteLength(result.stdout)} bytes`)
    const list: any[] = JSON.parse(result.stdout)
    const ids = new Set(list.map(r => r.id))
    assert.ok([...acked].every(id => ids.has(id)), 'every receipt the store acknowledged is listed')

    // a reader that stops early (`shoal receipts export | head`) ends the CLI quietly, mid-stream
    const head = spawnCli(['receipts', 'export', '--data-dir', node.dataDir])
    let headErr = ''
    head.stderr?.on('data', (d) => { headErr += d })
    head.stdout?.once('data', () => { head.stdout?.destroy() })
    const headCode = await new Promise<number | null>(resolve => head.on('exit', resolve))
    assert.equal(headCode, 0, headErr)
    assert.equal(headErr, '')
    assert.equal(await stopNode(node), 0)
  })

  it('a bad flag exits non-zero naming the flag', async () => {
    const local = await writeConfig('local.json', LOCAL)
    const result = await run(['node', 'start', '--config', local, '--data-dir', join(root, 'x'), '--role', 'miner'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /ConfigError: --role: expected one of/)
  })

  it('an occupied port exits non-zero with a clear message', async () => {
    const server = createServer()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as any).port
    try {
      const config = await writeConfig('busy.json', { ...LOCAL, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
      const result = await run(['node', 'start', '--config', config, '--data-dir', join(root, 'busy')])
      assert.equal(result.code, 1)
      assert.match(result.stderr, /PortInUseError: .*address already in use/)

      const apiBusy = await writeConfig('api-busy.json', { ...LOCAL, apiPort: port })
      const second = await run(['node', 'start', '--config', apiBusy, '--data-dir', join(root, 'api-busy')])
      assert.equal(second.code, 1)
      assert.match(second.stderr, /PortInUseError: cannot start the HTTP API/)
    } finally {
      server.close()
    }
  })

  it('an unreadable data dir or a corrupt identity exits non-zero and is left untouched', async () => {
    const local = await writeConfig('local.json', LOCAL)
    const notADir = join(root, 'file')
    await writeFile(notADir, 'not a directory')
    const result = await run(['node', 'start', '--config', local, '--data-dir', notADir])
    assert.equal(result.code, 2, 'exit 2: fix it first, a restart cannot help')
    assert.match(result.stderr, /DataDirError: .*not a directory/)

    const corrupt = join(root, 'corrupt')
    const first = await startNode('corrupt', local)
    assert.equal(await stopNode(first), 0)
    await writeFile(join(corrupt, 'identity.key'), 'garbage')
    const again = await run(['node', 'start', '--config', local, '--data-dir', corrupt])
    assert.equal(again.code, 2, 'exit 2: the systemd unit does not restart it')
    assert.match(again.stderr, /IdentityError: .*corrupt/)
    assert.equal(await readFile(join(corrupt, 'identity.key'), 'utf8'), 'garbage', 'the key file is never replaced')
  })

  it('a corrupt datastore exits non-zero and is not wiped', async () => {
    const local = await writeConfig('local.json', LOCAL)
    const node = await startNode('store', local)
    assert.equal(await stopNode(node), 0)
    const current = join(node.dataDir, 'datastore', 'CURRENT')
    await writeFile(current, 'garbage without newline')
    const result = await run(['node', 'start', '--config', local, '--data-dir', node.dataDir])
    assert.equal(result.code, 2, 'exit 2: the systemd unit does not restart it')
    assert.match(result.stderr, /StoreError: .*corrupt/)
    assert.equal(await readFile(current, 'utf8'), 'garbage without newline')
  })

  it('a job with no --region reaches a provider with one, and a capture job (--sensor only) hires a GPU-less capture provider', async () => {
    const bootstrap = await startNode('bootstrap', await writeConfig('local.json', LOCAL), ['--role', 'bootstrap'])
    const bootAddr = (await runJson(['id', '--data-dir', bootstrap.dataDir])).addrs[0]
    // examples/full-node/gpu-provider.yaml and capture-provider.yaml, with executors this host has
    const gpu = await startNode('gpu', await writeConfig('gpu.json', {
      ...LOCAL,
      role: 'gpu-provider',
      provider: { region: 'u33d', gpus: [{ model: 'RTX 4090', vramMib: 24576, count: 1 }], concurrency: 1, price: { perUnit: 2, currency: 'USDC', unit: 'gpu-second' }, executor: { type: 'echo' } }
    }), ['--bootstrap', bootAddr])
    const capture = await startNode('capture', await writeConfig('capture.json', {
      ...LOCAL,
      role: 'capture-provider',
      provider: { region: 'u33db', sensors: ['video', 'gnss'], price: { perUnit: 1, currency: 'USDC', unit: 'capture-second' }, executor: { type: 'echo' } }
    }), ['--bootstrap', bootAddr])
    // the requester has no region: it searches from nowhere in particular. Its defences are off: the capture
    // provider answers with echo, not a proof of recording, and this test is about who gets the job
    // (capture-job.node.ts pays a real capture its verified seconds)
    const requester = await startNode('requester', await writeConfig('requester.json', { ...LOCAL, defences: false }), ['--bootstrap', bootAddr])
    const ids = await Promise.all([gpu, capture].map(async n => (await runJson(['id', '--data-dir', n.dataDir])).peerId))
    for (const node of [gpu, capture]) {
      await waitFor('the provider to advertise', async () => {
        const s = await runJson(['status', '--data-dir', node.dataDir])
        return s.capabilities.length > 0 ? s : undefined
      })
    }

    // the README's own job: echo 'hello' | shoal job submit --workload echo --gpu-class consumer-24g --input -
    const readme = await run(['job', 'submit', '--data-dir', requester.dataDir, '--workload', 'echo', '--gpu-class', 'consumer-24g', '--input', '-', '--timeout', '60000', '--json'], 'hello\n')
    assert.equal(readme.code, 0, `job submit failed: ${readme.stderr}`)
    const gpuJob = JSON.parse(readme.stdout)
    assert.equal(gpuJob.stage, 'receipt')
    assert.equal(gpuJob.receipt.provider, ids[0])
    assert.equal(Buffer.from(gpuJob.output, 'base64').toString(), 'hello\n')

    // a capture job: sensors and no GPU flag, priced per capture-second like the capture provider
    const captured = await run(['job', 'submit', '--data-dir', requester.dataDir, '--workload', 'echo', '--sensor', 'video', '--input', '-', '--timeout', '60000', '--json'], 'frame')
    assert.equal(captured.code, 0, `job submit failed: ${captured.stderr}`)
    const captureJob = JSON.parse(captured.stdout)
    assert.equal(captureJob.stage, 'receipt')
    assert.equal(captureJob.receipt.provider, ids[1])
    assert.equal(captureJob.receipt.state, 'countersigned')
    assert.equal(Buffer.from(captureJob.output, 'base64').toString(), 'frame')
    const theirs = await waitFor('the capture provider to store the countersigned receipt', async () => {
      const list: any[] = await runJson(['receipts', 'list', '--data-dir', capture.dataDir])
      return list.length > 0 ? list : undefined
    })
    assert.deepEqual(theirs.map(r => r.id), [captureJob.receipt.id])
  })

  it('read commands without a running node say so', async () => {
    const result = await run(['status', '--data-dir', join(root, 'nothing')])
    assert.equal(result.code, 1)
    assert.match(result.stderr, /ApiError: no running node found/)
  })
})
