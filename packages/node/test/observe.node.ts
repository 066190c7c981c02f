import { strict as assert } from 'node:assert'
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseConfig, readApiInfo, resolveConfig } from '../src/index.js'
import { runShoalNode } from '../src/daemon.js'
import { createNodeLogger, formatLogLine } from '../src/log.js'
import { jobOutcome, MAX_CURRENCY_LABELS, NodeObserver, receiptOutcome } from '../src/observe.js'
import { TIMEOUT_STATUS } from '@shoal/work'
import { LOCAL_DHT_SERVER, PRICE } from './fixtures/local.js'
import { waitFor } from './fixtures/wait.js'
import type { ShoalDaemon } from '../src/daemon.js'
import type { ShoalNodeMetrics } from '../src/metrics.js'

// dist/test/observe.node.js -> dist/src/cli.js
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url))

/** A local testnet node with metrics and the HTTP API on a free port. */
const LOCAL = { ...LOCAL_DHT_SERVER, metrics: true, apiPort: 0 }

const PROVIDER = { ...LOCAL, role: 'gpu-provider', provider: { gpus: [{ model: 'RTX 4090', vramMib: 24576 }], price: PRICE, executor: { type: 'echo' } } }

/** Log lines captured from a daemon, parsed (the daemon writes JSON lines). */
class LogCapture {
  readonly lines: Array<Record<string, unknown>> = []
  write (line: string): boolean {
    for (const l of line.split('\n')) if (l !== '') this.lines.push(JSON.parse(l))
    return true
  }

  events (event: string): Array<Record<string, unknown>> {
    return this.lines.filter(l => l.event === event)
  }
}

/** One sample of a Prometheus text exposition: `name{labels} value`. */
function sample (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$/.exec(line)
    if (m == null || m[1] !== name) continue
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map(x => [x[1], x[2]]))
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4])
  }
  return undefined
}

describe('what the node says: operator log and metrics of both roles (in process, real HTTP API)', function () {
  this.timeout(90_000)
  let root: string
  let daemons: ShoalDaemon[] = []

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'shoal-observe-'))
  })

  afterEach(async () => {
    await Promise.all(daemons.map(async d => d.stop({ graceMs: 0 })))
    daemons = []
    await rm(root, { recursive: true, force: true })
  })

  // @libp2p/prometheus-metrics keeps one metric map per process, cleared by each new node:
  // every node here registers its metrics before the next one is created
  async function start (name: string, config: Record<string, unknown>, log: LogCapture): Promise<ShoalDaemon> {
    const daemon = await runShoalNode(resolveConfig(parseConfig({ ...config, dataDir: join(root, name), logFormat: 'json', logLevel: 'debug' })), { logStream: log })
    daemons.push(daemon)
    return daemon
  }

  async function get (daemon: ShoalDaemon, path: string): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${daemon.api.port}${path}`)
    assert.equal(res.status, 200, `GET ${path}`)
    return res.text()
  }

  /** Submit a job through the requester's HTTP API; resolves with the last NDJSON event. */
  async function submit (requester: ShoalDaemon, input: string): Promise<any> {
    const info = await readApiInfo(requester.dataDir)
    assert.ok(info != null)
    const res = await fetch(`http://127.0.0.1:${requester.api.port}/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workload: 'echo', gpuClass: 'consumer-24g', input: Buffer.from(input).toString('base64'), timeoutMs: 60_000 })
    })
    const events = (await res.text()).trim().split('\n')
    return JSON.parse(events[events.length - 1])
  }

  it('a job leaves one served line on the provider, one requested line on the requester, and job, latency, receipt and payment series on both', async () => {
    const providerLog = new LogCapture()
    const requesterLog = new LogCapture()
    const provider = await start('provider', PROVIDER, providerLog)
    const requester = await start('requester', { ...LOCAL, bootstrap: [`${provider.node.getMultiaddrs()[0].toString()}`] }, requesterLog)
    const advertised = await waitFor('the provider to log its advertisement', () => providerLog.events('provider:advertised')[0])
    assert.equal(advertised.gpus, '1xconsumer-24g')

    const final = await submit(requester, 'hello logs')
    assert.equal(final.stage, 'receipt', JSON.stringify(final))
    const jobId: string = final.jobId
    assert.ok(final.receipt.total > 0, 'the job is paid for')
    const providerId = provider.node.peerId.toString()
    const requesterId = requester.node.peerId.toString()

    // the requester's line: job id, provider, duration, outcome
    const requested = requesterLog.events('job:requested')
    assert.equal(requested.length, 1)
    assert.equal(requested[0].level, 'info')
    assert.equal(requested[0].jobId, jobId)
    assert.equal(requested[0].provider, providerId)
    assert.equal(requested[0].outcome, 'completed')
    assert.equal(typeof requested[0].durationMs, 'number')
    assert.equal(requested[0].total, final.receipt.total)
    assert.equal(requesterLog.events('voucher:sent').length, 1)
    assert.equal(requesterLog.events('voucher:sent')[0].payee, providerId)

    // the provider's line: job id, requester, duration, outcome, units and total
    const served = await waitFor('the served line', () => providerLog.events('job:served').length > 0 ? providerLog.events('job:served') : undefined)
    assert.equal(served.length, 1)
    assert.equal(served[0].jobId, jobId)
    assert.equal(served[0].requester, requesterId)
    assert.equal(served[0].outcome, 'completed')
    assert.equal(served[0].status, 0)
    assert.equal(typeof served[0].durationMs, 'number')
    assert.equal(served[0].units, final.receipt.units)
    assert.equal(served[0].total, final.receipt.total)
    assert.equal(served[0].currency, 'USDC')

    // receipts and payments on both sides
    await waitFor('the provider to store the countersigned receipt', () => providerLog.events('receipt:stored').some(l => l.state === 'countersigned') ? true : undefined)
    assert.ok(requesterLog.events('receipt:stored').some(l => l.state === 'countersigned' && l.id === final.receipt.id))
    const accepted = await waitFor('the voucher to be accepted', () => providerLog.events('voucher:accepted')[0])
    assert.equal(accepted.payer, requesterId)
    assert.equal(accepted.amount, final.receipt.total)
    assert.ok(providerLog.events('peer:connected').some(l => l.peer === requesterId))

    const mine = await get(requester, '/metrics')
    const theirs = await get(provider, '/metrics')
    assert.equal(sample(mine, 'shoal_node_jobs_total', { role: 'requester', outcome: 'completed' }), 1)
    assert.equal(sample(theirs, 'shoal_node_jobs_total', { role: 'provider', outcome: 'completed' }), 1)
    assert.equal(sample(mine, 'shoal_node_job_duration_seconds_count', { role: 'requester' }), 1)
    assert.equal(sample(theirs, 'shoal_node_job_duration_seconds_count', { role: 'provider' }), 1)
    assert.equal(sample(theirs, 'shoal_node_job_duration_seconds_bucket', { role: 'provider', le: '+Inf' }), 1)
    assert.equal(sample(mine, 'shoal_node_receipts_total', { state: 'countersigned' }), 1)
    assert.equal(sample(theirs, 'shoal_node_receipts_total', { state: 'countersigned' }), 1)
    assert.equal(sample(mine, 'shoal_node_vouchers_total', { direction: 'sent' }), 1)
    assert.equal(sample(theirs, 'shoal_node_vouchers_total', { direction: 'accepted' }), 1)
    assert.equal(sample(mine, 'shoal_node_payments_total', { direction: 'sent', currency: 'USDC' }), final.receipt.total)
    assert.equal(sample(theirs, 'shoal_node_payments_total', { direction: 'accepted', currency: 'USDC' }), final.receipt.total)
    assert.equal(sample(theirs, 'shoal_node_jobs_running', { role: 'provider' }), 0)
    assert.equal(sample(theirs, 'shoal_node_job_slots_free'), 1)
    assert.equal(sample(theirs, 'shoal_node_jobs_queued'), 0)

    // every HELP line is written in words: none is its metric's name, none uses `_` for spaces
    for (const text of [mine, theirs]) {
      const helps = text.split('\n').filter(l => l.startsWith('# HELP '))
      assert.ok(helps.length > 20)
      for (const line of helps) {
        const [, name, help] = /^# HELP (\S+) (.*)$/.exec(line) ?? []
        assert.notEqual(help, name, line)
        assert.match(help, / /, `HELP of ${name} has no space: ${line}`)
      }
    }
    assert.match(theirs, /# HELP shoal_node_receipts_total Work receipts stored by this node, by state/)
  })

  it('a job whose program exits non-zero: a warn line with outcome failed and the status on both sides, and failed in both roles\' job counters', async () => {
    const providerLog = new LogCapture()
    const requesterLog = new LogCapture()
    // the executor exits non-zero: every run fails
    const failing = { ...PROVIDER, provider: { ...PROVIDER.provider, executor: { type: 'command', command: process.execPath, args: ['-e', 'process.exit(3)'] } } }
    const provider = await start('provider', failing, providerLog)
    const requester = await start('requester', { ...LOCAL, bootstrap: [provider.node.getMultiaddrs()[0].toString()] }, requesterLog)
    await waitFor('the provider to log its advertisement', () => providerLog.events('provider:advertised')[0])

    // the run is paid for (a receipt with the exit status), but the work failed
    const final = await submit(requester, 'this fails')
    assert.equal(final.stage, 'receipt', JSON.stringify(final))
    const requested = requesterLog.events('job:requested')
    assert.equal(requested.length, 1)
    assert.equal(requested[0].level, 'warn')
    assert.equal(requested[0].jobId, final.jobId)
    assert.equal(requested[0].outcome, 'failed')
    assert.equal(requested[0].status, 3)
    const served = await waitFor('the served line', () => providerLog.events('job:served')[0])
    assert.equal(providerLog.events('job:served').length, 1)
    assert.equal(served.level, 'warn')
    assert.equal(served.jobId, final.jobId)
    assert.equal(served.requester, requester.node.peerId.toString())
    assert.equal(served.outcome, 'failed')
    assert.equal(served.status, 3)

    const mine = await get(requester, '/metrics')
    const theirs = await get(provider, '/metrics')
    assert.equal(sample(mine, 'shoal_node_jobs_total', { role: 'requester', outcome: 'failed' }), 1)
    assert.equal(sample(theirs, 'shoal_node_jobs_total', { role: 'provider', outcome: 'failed' }), 1)
    assert.equal(sample(theirs, 'shoal_node_jobs_total', { role: 'provider', outcome: 'completed' }), undefined)
  })

  it('a refused quote request is logged with its reason and counted by reason', async () => {
    const providerLog = new LogCapture()
    const provider = await start('provider', PROVIDER, providerLog)
    const requester = await start('requester', LOCAL, new LogCapture())
    await requester.node.dial(provider.node.getMultiaddrs()[0])
    // the provider asks PRICE.perUnit: a ceiling below it is refused
    const job = await requester.node.services.work.createJob({ priceCeiling: { ...PRICE, perUnit: PRICE.perUnit - 1 }, budget: 10, workload: 'cheap', requirements: { gpuClass: 'consumer-24g' } })
    await assert.rejects(requester.node.services.work.requestQuote(provider.node.peerId, job))

    const refused = await waitFor('the refusal line', () => providerLog.events('work:refused')[0])
    assert.equal(refused.peer, requester.node.peerId.toString())
    assert.equal(refused.request, 'quoteRequest')
    assert.equal(refused.reason, 'declined')
    const metrics = await get(provider, '/metrics')
    assert.equal(sample(metrics, 'shoal_node_refused_total', { source: 'work', reason: String(refused.reason) }), 1)
  })

  it('garbage on a job topic: each rejected message is logged with its reason and counted, and the sender is banned', async () => {
    const providerLog = new LogCapture()
    const provider = await start('provider', PROVIDER, providerLog)
    const requester = await start('requester', LOCAL, new LogCapture())
    await requester.node.dial(provider.node.getMultiaddrs()[0])
    const topic = provider.node.services.jobs.getTopics()[0]
    const providerId = provider.node.peerId.toString()
    await waitFor('the requester to see the provider on the topic', () => requester.node.services.pubsub.getSubscribers(topic).some(p => p.toString() === providerId) ? true : undefined)

    for (let i = 0; i < 10 && providerLog.events('peer:banned').length === 0; i++) {
      await requester.node.services.pubsub.publish(topic, new TextEncoder().encode(`not a job ${i}`)).catch(() => {})
      await waitFor('the rejection', () => providerLog.events('job-board:refused').length > i || providerLog.events('peer:banned').length > 0 ? true : undefined)
    }
    const rejected = providerLog.events('job-board:refused')
    assert.ok(rejected.length > 0)
    for (const line of rejected) {
      assert.equal(line.peer, requester.node.peerId.toString())
      assert.equal(line.reason, 'malformed')
      assert.equal(line.via, 'gossip')
      assert.equal(line.topic, topic)
    }
    const banned = providerLog.events('peer:banned')
    assert.equal(banned.length, 1)
    assert.equal(banned[0].level, 'warn')
    assert.equal(banned[0].peer, requester.node.peerId.toString())
    const metrics = await get(provider, '/metrics')
    assert.equal(sample(metrics, 'shoal_node_refused_total', { source: 'job-board', reason: 'malformed' }), rejected.length)
  })

  it('shoal node start --log-format json --log-level debug: JSON lines on stderr, stdout left to the command; a bad value names the flag', async () => {
    const provider = await start('provider', PROVIDER, new LogCapture())
    const config = join(root, 'local.json')
    await writeFile(config, JSON.stringify(LOCAL))
    const child = spawn(process.execPath, [CLI, 'node', 'start', '--config', config, '--data-dir', join(root, 'cli'), '--bootstrap', provider.node.getMultiaddrs()[0].toString(), '--log-format', 'json', '--log-level', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    const exited = new Promise<number | null>(resolve => child.on('exit', resolve))
    try {
      const line = await waitFor('a peer:connected line on stderr', () => stderr.split('\n').find(l => l.includes('"peer:connected"')))
      const entry = JSON.parse(line)
      assert.equal(entry.level, 'debug')
      assert.equal(entry.peer, provider.node.peerId.toString())
      assert.ok(!Number.isNaN(Date.parse(entry.time)))
      assert.match(stdout, /shoal node .* started/)
      assert.doesNotMatch(stdout, /peer:connected/)
    } finally {
      child.kill('SIGTERM')
      await exited
    }

    const bad = spawn(process.execPath, [CLI, 'node', 'start', '--config', config, '--data-dir', join(root, 'bad'), '--log-format', 'xml'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let badErr = ''
    bad.stderr.on('data', (d) => { badErr += d })
    assert.equal(await new Promise(resolve => bad.on('exit', resolve)), 2)
    assert.match(badErr, /ConfigError: --log-format: expected one of text, json, got string "xml"/)
  })

  it('writes text lines (time level event key=value) or JSON objects, and nothing below its level', () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5)
    assert.equal(formatLogLine('text', at, 'info', 'job:served', { jobId: 'ab', peer: '12D3', durationMs: 5, error: 'Timeout: too slow', skipped: undefined }),
      '2026-01-02T03:04:05.000Z info  job:served jobId=ab peer=12D3 durationMs=5 error="Timeout: too slow"')
    assert.deepEqual(JSON.parse(formatLogLine('json', at, 'warn', 'peer:banned', { peer: 'x' })), { time: '2026-01-02T03:04:05.000Z', level: 'warn', event: 'peer:banned', peer: 'x' })

    const out: string[] = []
    const logger = createNodeLogger({ level: 'warn', format: 'text', stream: { write: (l: string) => out.push(l) }, now: () => at })
    logger.info('job:served')
    logger.debug('job:started')
    logger.warn('receipt:expired', { id: 'cd' })
    logger.error('oops')
    assert.deepEqual(out.map(l => l.split(' ')[1]), ['warn', 'error'])
    assert.ok(out.every(l => l.endsWith('\n')))
  })

  it('a text value a peer could send cannot split a line or carry terminal escapes', () => {
    const line = formatLogLine('text', 0, 'info', 'work:refused', { error: 'bad\nfake line', name: 'x\u001b[31mred', plain: 'ok' })
    assert.equal(line.split('\n').length, 1)
    assert.ok(!line.includes('\u001b'), line)
    assert.match(line, /plain=ok$/)
  })

  it('gives at most MAX_CURRENCY_LABELS currencies a payments label of their own; later ones are counted as other', () => {
    const labels: string[] = []
    const metrics = { payments: { inc: (l: { currency: string }) => { labels.push(l.currency) } } } as unknown as ShoalNodeMetrics
    const observer = new NodeObserver(createNodeLogger({ stream: { write: () => {} } }), metrics)
    for (let i = 0; i < MAX_CURRENCY_LABELS + 5; i++) {
      observer.voucherAccepted({ payer: 'p', lane: new Uint8Array([i]), cumulative: 1, nonce: 1, currency: `C${i}`, voucher: new Uint8Array() })
    }
    observer.voucherAccepted({ payer: 'p', lane: new Uint8Array([0]), cumulative: 2, nonce: 2, currency: 'C0', voucher: new Uint8Array() })
    assert.equal(new Set(labels).size, MAX_CURRENCY_LABELS + 1)
    assert.deepEqual(labels.slice(MAX_CURRENCY_LABELS, MAX_CURRENCY_LABELS + 5), Array(5).fill('other'))
    assert.equal(labels.at(-1), 'C0', 'a currency with a label keeps it')
  })

  it('a job that ended without a receipt: the outcome its error stands for, and the error, on a warn line', () => {
    const out: string[] = []
    const observer = new NodeObserver(createNodeLogger({ format: 'json', stream: { write: (l: string) => out.push(l) } }), {})
    const timeout = Object.assign(new Error('no result within 60000 ms'), { name: 'TimeoutError' })
    observer.jobEnded({ role: 'provider', jobId: 'ab', peer: '12D3', startedAt: 1000, endedAt: 3500, outcome: jobOutcome(timeout), error: timeout })
    assert.deepEqual(JSON.parse(out[0]), { time: JSON.parse(out[0]).time, level: 'warn', event: 'job:served', jobId: 'ab', requester: '12D3', durationMs: 2500, outcome: 'timeout', error: 'TimeoutError: no result within 60000 ms' })
    assert.equal(jobOutcome(Object.assign(new Error('stop'), { name: 'AbortError' })), 'aborted')
    assert.equal(jobOutcome(new Error('executor broke')), 'failed')
    assert.deepEqual([0, 3, TIMEOUT_STATUS].map(receiptOutcome), ['completed', 'failed', 'timeout'])
  })
})
