import { strict as assert } from 'node:assert'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { access, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { parse as parseYaml } from 'yaml'
import { loadConfigFile, resolveConfig } from '../src/config.js'
import { preflight } from '../src/preflight.js'

// dist/test/testnet.node.js -> the repository's examples/full-node
const EXAMPLES = fileURLToPath(new URL('../../../../examples/full-node/', import.meta.url))
const COMPOSE = join(EXAMPLES, 'compose.yaml')

interface Service { volumes?: string[], environment?: Record<string, string>, command?: string[] }

interface Exec { code: number, stdout: string, stderr: string }

/** Run a program to its exit; never rejects (a missing program is code 127). */
async function exec (command: string, args: string[], options: { timeoutMs?: number, input?: string } = {}): Promise<Exec> {
  return new Promise(resolve => {
    const child = execFile(command, args, { cwd: EXAMPLES, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err == null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 127
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err?.message ?? '') })
    })
    child.stdin?.end(options.input)
  })
}

async function compose (): Promise<Record<string, Service>> {
  // `<<: *node` merge keys, as Docker Compose reads them
  const file = parseYaml(await readFile(COMPOSE, 'utf8'), { merge: true }) as { services: Record<string, Service> }
  return file.services
}

describe('the Docker testnet (examples/full-node/compose.yaml)', function () {
  this.timeout(30_000)

  it('starts from a clean clone: every file it mounts is in the repository, nothing to export first, and the bootstrap address names the committed test key', async () => {
    const text = await readFile(COMPOSE, 'utf8')
    assert.doesNotMatch(text, /\$\{[A-Z_]+:\?/, 'no variable must be set before `up`')
    const services = await compose()
    assert.deepEqual(Object.keys(services).sort(), ['bootstrap', 'provider', 'requester'])
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]
        if (!source.startsWith('.')) continue
        await access(join(EXAMPLES, source)).catch(() => assert.fail(`${name} mounts ${source}, which is not in the repository`))
      }
    }
    const key = privateKeyFromProtobuf(await readFile(join(EXAMPLES, 'testnet-keys', 'bootstrap.key')))
    const bootstrapAddr = `/dns4/bootstrap/tcp/4001/p2p/${peerIdFromPrivateKey(key).toString()}`
    assert.ok(services.bootstrap.volumes?.includes('./testnet-keys/bootstrap.key:/data/identity.key:ro'), 'the bootstrap node runs with the committed key')
    assert.equal(services.provider.environment?.SHOAL_BOOTSTRAP, bootstrapAddr)
    assert.equal(services.requester.environment?.SHOAL_BOOTSTRAP, bootstrapAddr)
    assert.match(await readFile(join(EXAMPLES, 'testnet-keys', 'README.md'), 'utf8'), /PUBLIC TEST MATERIAL/)
  })

  it('the containers bind the API to 0.0.0.0, and the provider\'s config passes its start-up checks as mounted', async () => {
    assert.match(await readFile(join(EXAMPLES, 'Dockerfile'), 'utf8'), /^ENV SHOAL_API_HOST=0\.0\.0\.0$/m)
    const services = await compose()
    const provider = services.provider
    assert.equal(provider.environment?.SHOAL_CONFIG, '/config/testnet-provider.yaml')
    // run-job.sh is mounted next to the config in /config, as it sits next to it here
    assert.ok(provider.volumes?.includes('./run-job.sh:/config/run-job.sh:ro'))
    const warnings: string[] = []
    const config = await preflight(resolveConfig(await loadConfigFile(join(EXAMPLES, 'testnet-provider.yaml'))), {
      configDir: EXAMPLES,
      detectGpus: async () => ({ found: false, reason: 'no GPU found: nvidia-smi is not installed', gpus: [] }),
      warn: line => warnings.push(line)
    })
    assert.deepEqual(config.provider?.executor, { type: 'command', command: join(EXAMPLES, 'run-job.sh'), timeoutMs: 60_000 })
    assert.equal(warnings.length, 1, 'no nvidia-smi in the container: one warning, not a refusal')
  })

  it('validates with `docker compose config` where the compose plugin is installed', async function () {
    const version = await exec('docker', ['compose', 'version'])
    if (version.code !== 0) {
      this.test!.title += ` (skipped: no docker compose here: ${version.stderr.trim().split('\n')[0]})`
      this.skip()
    }
    const result = await exec('docker', ['compose', '-f', COMPOSE, 'config', '--quiet'])
    assert.equal(result.code, 0, result.stderr)
  })

  it('runs: bootstrap, provider and requester come up with one command, a job gets a receipt on both sides, /metrics is scraped across containers', async function () {
    const info = await exec('docker', ['info', '--format', '{{.ServerVersion}}'])
    const version = await exec('docker', ['compose', 'version'])
    if (info.code !== 0 || version.code !== 0) {
      const why = info.code !== 0 ? `\`docker info\` fails, no Docker daemon: ${info.stderr.trim().split('\n').pop() ?? ''}` : 'no docker compose plugin'
      this.test!.title += ` (skipped: ${why})`
      this.skip()
    }
    this.timeout(20 * 60_000)
    const project = `shoal-test-${randomBytes(4).toString('hex')}`
    const dc = async (args: string[], options?: { timeoutMs?: number, input?: string }): Promise<Exec> => exec('docker', ['compose', '-f', COMPOSE, '-p', project, ...args], options)
    const cli = ['node', 'packages/node/dist/src/cli.js']
    try {
      const up = await dc(['up', '-d', '--build', '--wait'], { timeoutMs: 15 * 60_000 })
      assert.equal(up.code, 0, `docker compose up failed: ${up.stderr}`)

      const submitted = await dc(['exec', '-T', 'requester', ...cli, 'job', 'submit', '--workload', 'echo', '--gpu-class', 'consumer-24g', '--input', '-', '--timeout', '90000', '--json'], { input: 'hello testnet', timeoutMs: 120_000 })
      assert.equal(submitted.code, 0, `job submit failed: ${submitted.stderr}`)
      const final = JSON.parse(submitted.stdout)
      assert.equal(final.stage, 'receipt')
      assert.equal(Buffer.from(final.output, 'base64').toString(), 'HELLO TESTNET', 'the provider ran run-job.sh')

      const receipts = await dc(['exec', '-T', 'provider', ...cli, 'receipts', 'list', '--json'])
      assert.equal(receipts.code, 0, receipts.stderr)
      assert.ok((JSON.parse(receipts.stdout) as Array<{ id: string }>).some(r => r.id === final.receipt.id), 'the provider keeps the receipt')

      // another container scrapes the provider as Prometheus would; the private routes want the token
      const scrape = "Promise.all(['/metrics', '/status'].map(p => fetch('http://provider:7460' + p).then(r => r.status))).then(s => console.log(JSON.stringify(s)))"
      const statuses = await dc(['exec', '-T', 'requester', 'node', '-e', scrape])
      assert.equal(statuses.code, 0, statuses.stderr)
      assert.deepEqual(JSON.parse(statuses.stdout), [200, 401])
    } finally {
      await dc(['down', '--volumes', '--timeout', '5'], { timeoutMs: 120_000 })
    }
  })
})
