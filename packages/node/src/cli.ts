#!/usr/bin/env node
// first: says what to do on a Node.js older than 22, before libp2p is loaded
import './cli/node-version.js'
import { createWriteStream } from 'node:fs'
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { parseArgs } from 'node:util'
import { errorCode, errorMessage, errorName } from '@shoal/utils'
import { killAllJobProcesses } from '@shoal/work'
import { decodeCaptureProof, verifyCaptureProof } from '@shoal/provenance'
import { isCidString, verdictToJson } from './capture.js'
import type { CaptureVerdictJson } from './capture.js'
import { call, getJson, getText, locateApi, ndjson, tokenRefused } from './cli/client.js'
import { duration, shortPeer, table, time } from './cli/format.js'
import { configFromEnv, ENVIRONMENT, loadConfigFile, parseConfig, resolveConfig, ROLES } from './config.js'
import { API_PORT, SHUTDOWN_TIMEOUT_MS } from './constants.js'
import { runShoalNode } from './daemon.js'
import { defaultDataDir } from './data-dir.js'
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_NODE_VERSION } from './cli/exit-codes.js'
import { MIN_NODE_MAJOR } from './cli/node-version.js'
import { ApiError, ConfigError, FATAL_CONFIG_ERRORS, OPERATOR_ERRORS } from './errors.js'
import { VERSION } from './version.js'
import type { IdJson, JobProgress, LogVerificationJson } from './api.js'
import type { ShoalNodeConfig } from './config.js'
import type { ShoalDaemon } from './daemon.js'
import type { FileHandle } from 'node:fs/promises'
import type { NodeStatus, PeerStatus, ReceiptJson } from './status.js'

const HELP = `shoal ${VERSION}: run and inspect a Shoal node

Usage:
  shoal node start [options]        start a node (runs until Ctrl-C)
  shoal status [--json]             peers, topics, capabilities, live jobs, recent receipts
  shoal peers [--json]              connected peers
  shoal id [--json]                 this node's peer id and addresses
  shoal jobs [--json]               jobs in flight on this node
  shoal job submit [job options]    submit a job and follow it until the receipt comes back
  shoal receipts list [--json]      countersigned receipts (--pending: awaiting countersignature)
  shoal receipts verify [--json]    walk the hash-linked receipt log (--signatures: re-check every signature)
  shoal receipts export [--out F]   every receipt with its signed bytes, one JSON object per line
  shoal metrics                     the node's Prometheus metrics
  shoal capture verify FILE|CID     verify a capture proof (a file of its bytes or base64), or the one the node holds for CID
  shoal capture export CID          the capture proof the node holds for footage CID, as bytes (--out F)

Options of \`node start\` (flags override SHOAL_* variables, which override the config file):
  --config F          JSON or YAML config file (SHOAL_CONFIG)
  --data-dir D        identity, datastore and api.json (default $XDG_DATA_HOME/shoal or ~/.local/share/shoal)
  --role R            ${ROLES.join(' | ')} (default requester)
  --listen MA         listen multiaddr, repeatable (default /ip4/0.0.0.0/tcp/0)
  --announce MA       announce multiaddr, repeatable
  --bootstrap MA      bootstrap peer /…/p2p/<peer id>, repeatable
  --api-port P        HTTP API port, 0 = any free port (default ${API_PORT})
  --api-host A        address the HTTP API binds to (default 127.0.0.1; 0.0.0.0 in a container:
                      then every route but /health and /metrics needs the token in api.json)
  --no-mdns           no local-network discovery
  --shutdown-grace MS on Ctrl-C/SIGTERM, let running jobs finish this long (default 10000)
                      before handing them back to their requesters; a second Ctrl-C exits at once
  --log-level L       error | warn | info | debug: what the node logs to stderr (default info)
  --log-format F      text | json: one line per event, as text or as a JSON object (default text)

Options of the read commands:
  --data-dir D        data dir of the node to ask (finds its API in api.json)
  --config F          ... or the config file that names the data dir
  --api-port P        ask the node on this port instead
  --json              machine-readable output

Options of \`job submit\`:
  --workload W        what to run, e.g. llama-7b (required)
  --input F           input file, or - for stdin
  --units N           expected units of work (default 1)
  --max-price N       price ceiling per unit (default 10)
  --currency C        (default USDC)   --unit U   (default gpu-second; capture-second with --sensor only)
  --gpu-class C       GPU class wanted (default consumer-24g)   --min-vram MiB   GPU memory needed
  --sensor S          a sensor the capture job needs, repeatable (instead of a GPU class)
  --region G          geohash near which to run (default: anywhere)
  --timeout MS        give up after this long (default 120000)
  --seconds N         a capture job (--sensor): record N seconds (input {"seconds": N}; --units defaults to N)
  --out F             write the job's output to F (default: stdout; progress and the receipt go to stderr)
  --api-token T       the node's API token (default: the "token" in api.json of the node's data dir)

Options of \`capture verify\`:
  --api               FILE only: verify through the running node too, which fetches the footage over bitswap
                      (a CID is always verified by the node; offline, a FILE is checked without its footage)
  --json              the verdict as JSON
  Exit codes: 0 verified, 1 refused, 2 an error (unreadable file, no node, no proof held for CID)

Exit codes:
  0  done
  ${EXIT_FAILURE}  an unexpected error, a failed job, a receipt log that does not verify, or a failure that may clear
     up (port in use, data dir in use by another node, node unreachable): shoal.service restarts it
  ${EXIT_CONFIG}  fix the command line, the config or the data dir first (ConfigError, IdentityError, StoreError,
     DataDirError): starting again unchanged fails the same way, so shoal.service does not restart
  ${EXIT_NODE_VERSION}  Node.js older than ${MIN_NODE_MAJOR}: run \`npx shoal\` in the repository (the project's Node) or install Node ${MIN_NODE_MAJOR}+

Environment: ${ENVIRONMENT.map(e => e.name).join(', ')}, SHOAL_CONFIG

Examples:
  shoal node start                                   # zero config: requester, free TCP port, mDNS
  shoal node start --config gpu.yaml                 # a GPU provider as described in gpu.yaml
  shoal node start --role bootstrap --listen /ip4/0.0.0.0/tcp/4001
  shoal node start --bootstrap /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW...
  shoal status
  shoal peers --json | jq '.[].peerId'
  echo 'hello' | shoal job submit --workload echo --gpu-class consumer-24g --input -    # prints hello
  shoal job submit --workload echo --input prompt.txt --out answer.txt
  shoal receipts verify && shoal receipts export --out receipts.ndjson
  curl -s 127.0.0.1:${API_PORT}/metrics
`

/** Options every command understands. */
/** `shoal capture verify` could not tell (an unreadable file, no node, no proof held): not a refusal (1). */
const EXIT_CAPTURE_ERROR = 2

const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  'api-port': { type: 'string' }
} as const

const START_OPTIONS = {
  ...COMMON_OPTIONS,
  role: { type: 'string' },
  listen: { type: 'string', multiple: true },
  announce: { type: 'string', multiple: true },
  bootstrap: { type: 'string', multiple: true },
  'no-mdns': { type: 'boolean' },
  'shutdown-grace': { type: 'string' },
  'api-host': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' }
} as const

const JOB_OPTIONS = {
  ...COMMON_OPTIONS,
  workload: { type: 'string' },
  input: { type: 'string' },
  units: { type: 'string' },
  'max-price': { type: 'string' },
  currency: { type: 'string' },
  unit: { type: 'string' },
  'min-vram': { type: 'string' },
  'gpu-class': { type: 'string' },
  sensor: { type: 'string', multiple: true },
  region: { type: 'string' },
  timeout: { type: 'string' },
  out: { type: 'string' },
  'api-token': { type: 'string' },
  seconds: { type: 'string' }
} as const

const CAPTURE_OPTIONS = {
  ...COMMON_OPTIONS,
  api: { type: 'boolean' },
  out: { type: 'string' },
  'api-token': { type: 'string' }
} as const

const RECEIPT_OPTIONS = {
  ...COMMON_OPTIONS,
  limit: { type: 'string' },
  pending: { type: 'boolean' },
  signatures: { type: 'boolean' },
  out: { type: 'string' }
} as const

class UsageError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

function print (line = ''): void {
  process.stdout.write(line + '\n')
}

function intOption (value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d{1,15}$/.test(value)) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`)
  return Number(value)
}

/** The config layers of `node start`: file (from --config or SHOAL_CONFIG), environment, flags. */
async function startConfig (values: CliValues): Promise<ShoalNodeConfig[]> {
  const layers: ShoalNodeConfig[] = []
  const file = configFile(values)
  if (file !== undefined) layers.push(await loadConfigFile(file))
  layers.push(configFromEnv())
  const flags: Record<string, unknown> = {}
  if (values.role !== undefined) flags.role = values.role
  if (values['data-dir'] !== undefined) flags.dataDir = values['data-dir']
  if (values.listen !== undefined) flags.listen = values.listen
  if (values.announce !== undefined) flags.announce = values.announce
  if (values.bootstrap !== undefined) flags.bootstrap = values.bootstrap
  if (values['no-mdns'] === true) flags.mdns = false
  const apiPort = text(values['api-port'])
  if (apiPort !== undefined) flags.apiPort = /^\d+$/.test(apiPort) ? Number(apiPort) : apiPort
  if (values['api-host'] !== undefined) flags.apiHost = values['api-host']
  const grace = text(values['shutdown-grace'])
  if (grace !== undefined) flags.shutdownGraceMs = /^\d+$/.test(grace) ? Number(grace) : grace
  if (values['log-level'] !== undefined) flags.logLevel = values['log-level']
  if (values['log-format'] !== undefined) flags.logFormat = values['log-format']
  try {
    layers.push(parseConfig(flags))
  } catch (err) {
    if (err instanceof ConfigError) {
      // name the flag the operator typed, not the config field
      const flag = err.field.replace(/\[\d+\]$/, '').replace(/[A-Z]/g, c => `-${c.toLowerCase()}`).replace('mdns', 'no-mdns').replace('shutdown-grace-ms', 'shutdown-grace')
      throw new ConfigError(`--${flag}`, err.message.slice(err.field.length + 2))
    }
    throw err
  }
  return layers
}

/** The config file of `node start`: --config, else SHOAL_CONFIG. */
function configFile (values: CliValues): string | undefined {
  const file = text(values.config) ?? process.env.SHOAL_CONFIG
  return file !== undefined && file !== '' ? file : undefined
}

/** The data dir a read command asks about: --data-dir, the config file's, SHOAL_DATA_DIR, or the default (`named: false`). */
async function readDataDir (values: CliValues): Promise<{ dir: string, named: boolean }> {
  const dataDir = text(values['data-dir'])
  if (dataDir !== undefined) return { dir: dataDir, named: true }
  const file = configFile(values)
  if (file !== undefined) {
    const config = await loadConfigFile(file)
    if (config.dataDir !== undefined) return { dir: config.dataDir, named: true }
  }
  const env = process.env.SHOAL_DATA_DIR
  return env !== undefined && env !== '' ? { dir: env, named: true } : { dir: defaultDataDir(), named: false }
}

async function api (values: CliValues): Promise<Awaited<ReturnType<typeof locateApi>>> {
  const { dir, named } = await readDataDir(values)
  return locateApi(dir, { port: intOption(text(values['api-port']), 'api-port'), named, token: text(values['api-token']) })
}

async function nodeStart (values: CliValues): Promise<void> {
  const file = configFile(values)
  // however this process exits (a second Ctrl-C, the shutdown time limit, a crash), no job it
  // runs outlives it: each job's process group gets SIGKILL; after a clean stop none is left
  process.on('exit', () => { killAllJobProcesses() })
  // a stop asked for while the node starts (systemctl stop, docker stop) is held until it is up,
  // then carried out like any other: the default handler would kill it mid-start, store open
  const early: NodeJS.Signals[] = []
  const holdSignal = (signal: NodeJS.Signals): void => {
    early.push(signal)
    if (early.length > 1) {
      process.stderr.write(`shoal: second ${signal} while starting: exiting now\n`)
      process.exit(130)
    }
  }
  process.on('SIGINT', holdSignal)
  process.on('SIGTERM', holdSignal)
  let daemon: ShoalDaemon
  try {
    daemon = await runShoalNode(resolveConfig(...await startConfig(values)), {
      // ./run-job.sh in a config file means next to that file, wherever the node is started from
      configDir: file !== undefined ? dirname(file) : undefined
    })
  } finally {
    process.off('SIGINT', holdSignal)
    process.off('SIGTERM', holdSignal)
  }
  const { node, config } = daemon
  if (values.json === true) {
    print(JSON.stringify({ peerId: node.peerId.toString(), role: config.role, addrs: node.getMultiaddrs().map(String), apiPort: daemon.api.port, apiHost: daemon.api.host, dataDir: daemon.dataDir }))
  } else {
    print(`shoal node ${VERSION} started`)
    print(`  peer id   ${node.peerId.toString()}`)
    print(`  role      ${config.role}`)
    for (const addr of node.getMultiaddrs()) print(`  listening ${addr.toString()}`)
    print(`  api       http://${daemon.api.host.includes(':') ? `[${daemon.api.host}]` : daemon.api.host}:${daemon.api.port}  (/status /health /metrics)`)
    for (const gpu of config.provider?.gpus ?? []) print(`  gpu       ${gpu.model} ${gpu.vramMib} MiB x${gpu.count ?? 1}`)
    print(`  data dir  ${daemon.dataDir}`)
    print(`Press Ctrl-C to stop. Logs (${config.logLevel} and above) go to stderr.`)
  }

  await new Promise<void>((resolve) => {
    let signals = 0
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++
      if (signals > 1) {
        process.stderr.write(`shoal: second ${signal}: killing running jobs and exiting now without a clean shutdown\n`)
        process.exit(130)
      }
      process.stderr.write(`shoal: ${signal}: stopping (no new work; running jobs get ${config.shutdownGraceMs} ms to finish, then are handed back; withdrawing advertisements, flushing stores); ${signal} again to force\n`)
      const limit = config.shutdownGraceMs + SHUTDOWN_TIMEOUT_MS
      const timer = setTimeout(() => {
        process.stderr.write(`shoal: shutdown took more than ${limit} ms, exiting\n`)
        process.exit(1)
      }, limit)
      timer.unref()
      daemon.stop({ log: (line) => { process.stderr.write(`shoal: ${line}\n`) } }).then(() => {
        process.stderr.write('shoal: stopped\n')
        resolve()
      }, (err) => {
        process.stderr.write(`shoal: error while stopping: ${errorMessage(err)}\n`)
        process.exitCode = 1
        resolve()
      })
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    if (early.length > 0) onSignal(early[0])
  })
}

async function status (values: CliValues): Promise<void> {
  const s = await getJson<NodeStatus>(await api(values), '/status')
  if (values.json === true) {
    print(JSON.stringify(s, null, 2))
    return
  }
  print(`peer id    ${s.peerId}`)
  print(`role       ${s.role}   (shoal ${s.version}, ${s.status}, up ${duration(s.uptimeMs)}, DHT ${s.dhtMode})`)
  print('addresses')
  for (const a of s.addrs) print(`  ${a}`)
  const r = s.reachability
  print(`reachability ${r.status}   (connections: ${r.connections.direct} direct, ${r.connections.relayed} relayed; since start: ${r.relayedOpened} relayed opened, ${r.directUpgrades} upgraded to direct)`)
  print(r.relays.length === 0 ? '  relays: (none)' : `  relays: ${r.relays.join(', ')}`)
  for (const a of r.relayed) print(`  ${a}`)
  print(`peers (${s.peers.length})`)
  print(table(['PEER', 'DIRECTION', 'RTT', 'ADDRESS'], s.peers.map(p => [p.peerId, p.direction, p.rttMs != null ? `${p.rttMs}ms` : '-', p.addrs[0] ?? ''])))
  print(`topics (${s.topics.length})`)
  print(s.topics.length === 0 ? '  (none)' : s.topics.map(t => `  ${t}`).join('\n'))
  print(`advertised capabilities (${s.capabilities.length})`)
  print(s.capabilities.length === 0 ? '  (none)' : s.capabilities.map(c => `  ${JSON.stringify(c)}`).join('\n'))
  print(`live jobs (${s.jobs.length})`)
  print(s.jobs.length === 0 ? '  (none)' : s.jobs.map(j => `  ${JSON.stringify(j)}`).join('\n'))
  print(`receipts (${s.receipts.count} in the log; latest ${s.receipts.recent.length})`)
  print(receiptTable(s.receipts.recent))
  const offenders = s.offenders ?? []
  print(`proven offenders (${offenders.length}): never chosen, asked or served`)
  if (offenders.length > 0) print(table(['PEER', 'EVIDENCE', 'REPORTED BY', 'JOB'], offenders.map(o => [o.peerId, o.kind, o.reporter, o.jobId.slice(0, 16)])))
  const missing = Object.entries(s.services).filter(([, on]) => !on).map(([name]) => name)
  if (missing.length > 0) print(`not running: ${missing.join(', ')}`)
}

function receiptTable (receipts: ReceiptJson[]): string {
  return table(['ID', 'JOB', 'PROVIDER', 'REQUESTER', 'UNITS', 'TOTAL', 'ADDED'],
    receipts.map(r => [r.id.slice(0, 12), r.jobId.slice(0, 12), shortPeer(r.provider), shortPeer(r.requester), String(r.units), `${r.total} ${r.currency ?? ''}`.trim(), time(r.addedAt)]))
}

async function peers (values: CliValues): Promise<void> {
  const list = await getJson<PeerStatus[]>(await api(values), '/peers')
  if (values.json === true) {
    print(JSON.stringify(list, null, 2))
    return
  }
  print(table(['PEER', 'DIRECTION', 'RTT', 'ADDRESSES'], list.map(p => [p.peerId, p.direction, p.rttMs != null ? `${p.rttMs}ms` : '-', p.addrs.join(' ')])))
}

async function id (values: CliValues): Promise<void> {
  const info = await getJson<IdJson>(await api(values), '/id')
  if (values.json === true) {
    print(JSON.stringify(info, null, 2))
    return
  }
  print(info.peerId)
  for (const a of info.addrs) print(`  ${a}`)
}

async function jobs (values: CliValues): Promise<void> {
  const list = await getJson<unknown[]>(await api(values), '/jobs')
  if (values.json === true) {
    print(JSON.stringify(list, null, 2))
    return
  }
  print(list.length === 0 ? 'no jobs in flight' : list.map(j => JSON.stringify(j)).join('\n'))
}

async function readInput (path: string): Promise<Buffer> {
  if (path === '-') {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks)
  }
  try {
    return await readFile(path)
  } catch (err: unknown) {
    throw new UsageError(`cannot read --input ${path}: ${errorCode(err) ?? errorMessage(err)}`)
  }
}

async function jobSubmit (values: CliValues): Promise<void> {
  if (values.workload === undefined && values.seconds === undefined) throw new UsageError('job submit needs --workload (e.g. --workload echo)')
  const inputPath = text(values.input)
  const input = inputPath !== undefined ? await readInput(inputPath) : Buffer.alloc(0)
  const request: Record<string, unknown> = {
    workload: values.workload,
    input: input.toString('base64'),
    units: intOption(text(values.units), 'units') ?? 1,
    maxPricePerUnit: intOption(text(values['max-price']), 'max-price') ?? 10,
    currency: values.currency ?? 'USDC',
    // unset: the node prices a capture job per capture-second, a GPU job per gpu-second
    unit: values.unit,
    minVramMib: intOption(text(values['min-vram']), 'min-vram'),
    gpuClass: values['gpu-class'] ?? (values.sensor === undefined ? 'consumer-24g' : ''),
    sensors: values.sensor ?? [],
    region: values.region ?? '',
    timeoutMs: intOption(text(values.timeout), 'timeout') ?? 120_000,
    seconds: intOption(text(values.seconds), 'seconds')
  }
  if (request.seconds !== undefined && values.units === undefined) request.units = request.seconds
  const outPath = text(values.out)
  // a file next to the target, opened before the job is paid for so a bad path fails first; it
  // replaces the target only once the output is in, so a failed job leaves an earlier answer alone
  const partial = outPath !== undefined ? `${outPath}.partial` : undefined
  const out = partial !== undefined ? await open(partial, 'w', 0o644).catch((err: unknown) => { throw new UsageError(`cannot write --out ${outPath}: ${errorCode(err) ?? errorMessage(err)}`) }) : undefined
  let written = false
  try {
    written = await submitAndFollow(values, request, out)
  } finally {
    await out?.close()
    if (partial !== undefined && outPath !== undefined) {
      if (written) await rename(partial, outPath)
      else await rm(partial, { force: true })
    }
  }
}

/** Submit through `POST /jobs`, stream its progress to stderr, and write the output to `out` or stdout; resolves to whether `out` got it. */
async function submitAndFollow (values: CliValues, request: Record<string, unknown>, out: FileHandle | undefined): Promise<boolean> {
  const info = await api(values)
  const res = await call(info, 'POST', '/jobs', request)
  if (res.status === 401) throw tokenRefused(info)
  if (res.status >= 400) {
    let body = ''
    for await (const chunk of res.body) body += chunk.toString()
    let message = body.trim()
    try { const parsed = JSON.parse(body); message = `${parsed.error}: ${parsed.message}` } catch {}
    throw new ApiError(`job submit: ${message}`, res.status)
  }
  // progress on stderr, line by line as the node streams it, so stdout carries only the job's output
  const started = Date.now()
  const interactive = process.stderr.isTTY && values.json !== true
  let last: SubmitEventJson | undefined
  for await (const event of ndjson<SubmitEventJson>(res.body)) {
    last = event
    const line = `[${duration(Date.now() - started).padStart(6)}] ${event.stage}${event.message != null ? `: ${event.message}` : ''}`
    if (values.json !== true) {
      process.stderr.write(interactive ? `\r\x1b[2K${line}` : `${line}\n`)
      if (interactive && (event.stage === 'receipt' || event.stage === 'failed')) process.stderr.write('\n')
    }
  }
  if (last?.stage === 'failed' || last === undefined) {
    throw new ApiError(`job failed: ${last?.error ?? 'no answer'}: ${last?.message ?? ''}`)
  }
  const output = Buffer.from(typeof last.output === 'string' ? last.output : '', 'base64')
  await out?.writeFile(output)
  if (values.json === true) {
    print(JSON.stringify(last, null, 2))
    return out !== undefined
  }
  if (last.receipt != null) process.stderr.write(receiptTable([last.receipt]) + '\n')
  if (out !== undefined) process.stderr.write(`wrote the job's output (${output.byteLength} bytes) to ${text(values.out)}\n`)
  else process.stdout.write(output)
  return out !== undefined
}

/** Parsed command-line options (node:util parseArgs values). */
type CliValues = Record<string, string | boolean | Array<string | boolean> | undefined>

/** A string option's value (undefined when absent). */
function text (value: CliValues[string]): string | undefined {
  return typeof value === 'string' ? value : undefined
}

/** A line of `POST /jobs`: the last one names the error or carries the receipt. */
type SubmitEventJson = JobProgress & { error?: string, receipt?: ReceiptJson }

async function receipts (sub: string | undefined, values: CliValues): Promise<void> {
  const info = await api(values)
  if (sub === 'list' || sub === undefined) {
    const query = new URLSearchParams()
    const limit = intOption(text(values.limit), 'limit')
    if (limit !== undefined) query.set('limit', String(limit))
    if (values.pending === true) query.set('state', 'pending')
    const list = await getJson<ReceiptJson[]>(info, `/receipts?${query.toString()}`)
    if (values.json === true) print(JSON.stringify(list, null, 2))
    else print(receiptTable(list))
    return
  }
  if (sub === 'verify') {
    const result = await getJson<LogVerificationJson>(info, `/receipts/verify${values.signatures === true ? '?signatures=true' : ''}`)
    if (values.json === true) print(JSON.stringify(result, null, 2))
    else {
      print(result.ok ? `receipt log OK: ${result.length} entries, head ${result.head.hash}` : `receipt log has ${result.problems.length} problem(s):`)
      for (const p of result.problems) print(`  ${p.seq ?? '-'} ${p.key}: ${p.reason}`)
    }
    if (result.ok !== true) process.exitCode = 1
    return
  }
  if (sub === 'export') {
    const res = await call(info, 'GET', '/receipts/export')
    if (res.status >= 400) throw new ApiError(`receipts export: HTTP ${res.status}`, res.status)
    const outPath = text(values.out)
    const out = outPath !== undefined ? createWriteStream(outPath, { mode: 0o644 }) : process.stdout
    let count = 0
    for await (const chunk of res.body) {
      count += chunk.toString().split('\n').length - 1
      out.write(chunk)
    }
    if (out !== process.stdout) {
      await new Promise<void>((resolve, reject) => { out.end((err?: Error | null) => { err != null ? reject(err) : resolve() }) })
      process.stderr.write(`exported ${count} receipt(s) to ${values.out}\n`)
    }
    return
  }
  throw new UsageError(`unknown command: receipts ${sub} (expected list, verify or export)`)
}

/** Whether a file's bytes are base64 text rather than the proof's own bytes. */
function isBase64Text (bytes: Uint8Array): boolean {
  const text = Buffer.from(bytes).toString('latin1').trim()
  return text.length > 0 && /^[A-Za-z0-9+/=\s_-]+$/.test(text)
}

/** `shoal capture verify FILE|CID` and `shoal capture export CID`: resolves with the exit code (0 verified, 1 refused). */
async function capture (sub: string | undefined, target: string | undefined, values: CliValues): Promise<number> {
  if (target === undefined) throw new UsageError(`capture ${sub ?? ''} needs a FILE or a CID`)
  if (sub === 'export') {
    if (!isCidString(target)) throw new UsageError(`not a CID: ${target}`)
    const info = await api(values)
    const res = await call(info, 'GET', `/captures/${target}`)
    if (res.status === 401) throw tokenRefused(info)
    const chunks: Buffer[] = []
    for await (const chunk of res.body) chunks.push(chunk)
    const body = Buffer.concat(chunks)
    if (res.status >= 400) throw new ApiError(`capture export: ${apiMessage(body)}`, res.status)
    const outPath = text(values.out)
    if (outPath !== undefined) await writeFile(outPath, body)
    else process.stdout.write(body)
    return 0
  }
  if (sub !== 'verify') throw new UsageError(`unknown command: capture ${sub ?? ''} (expected verify or export)`)
  let file: Uint8Array | undefined
  try {
    file = await readFile(target)
  } catch (err: unknown) {
    if (!isCidString(target) || errorCode(err) !== 'ENOENT') throw new ApiError(`cannot read ${target}: ${errorCode(err) ?? errorMessage(err)}`)
  }
  let verdict: CaptureVerdictJson
  if (file !== undefined) {
    const proof = isBase64Text(file) ? Buffer.from(Buffer.from(file).toString('latin1').trim(), 'base64') : file
    try {
      // what does not even decode is no proof: an error (2), not a refusal (1)
      decodeCaptureProof(proof)
    } catch (err: unknown) {
      throw new ApiError(`${target} is not a capture proof: ${errorMessage(err)}`)
    }
    if (values.api === true) {
      verdict = await postJson<CaptureVerdictJson>(await api(values), '/captures/verify', { proof: Buffer.from(proof).toString('base64') })
    } else {
      try {
        verdict = verdictToJson(await verifyCaptureProof(proof, undefined))
      } catch (err: unknown) {
        throw new ApiError(`${target} is not a capture proof: ${errorMessage(err)}`)
      }
    }
  } else {
    const info = await api(values)
    verdict = await getJson<CaptureVerdictJson>(info, `/captures/${target}/verify`)
  }
  if (values.json === true) print(JSON.stringify(verdict, null, 2))
  else printVerdict(verdict, file !== undefined && values.api !== true)
  return verdict.ok ? 0 : 1
}

/** The error message of an API error body. */
function apiMessage (body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8'))
    return `${parsed.error}: ${parsed.message}`
  } catch {
    return body.toString('utf8').trim()
  }
}

/** POST a JSON body and read a JSON answer; an error status is an `ApiError`. */
async function postJson<T> (info: Awaited<ReturnType<typeof api>>, path: string, body: unknown): Promise<T> {
  const res = await call(info, 'POST', path, body)
  if (res.status === 401) throw tokenRefused(info)
  const chunks: Buffer[] = []
  for await (const chunk of res.body) chunks.push(chunk)
  const answer = Buffer.concat(chunks)
  if (res.status >= 400) throw new ApiError(`${path}: ${apiMessage(answer)}`, res.status)
  return JSON.parse(answer.toString('utf8')) as T
}

function printVerdict (v: CaptureVerdictJson, offline: boolean): void {
  print(`capture ${v.ok ? 'VERIFIED' : 'REFUSED'}: ${v.verifiedSeconds} of ${v.claimedSeconds} second(s) verified${offline ? ' (offline: footage not checked; --api to fetch it through the node)' : ''}`)
  if (v.cid !== undefined) print(`  footage   ${v.cid}`)
  if (v.capturer !== undefined) print(`  capturer  ${v.capturer}`)
  if (v.jobId !== undefined && v.jobId !== '') print(`  job       ${v.jobId}`)
  if (v.startedMs !== undefined) print(`  recorded  ${time(v.startedMs)} for ${duration(v.durationMs ?? 0)} at ${v.geohash ?? '?'}, ${v.mediaType ?? '?'}, sensors ${(v.sensors ?? []).join(', ') || '(none)'}`)
  print(`reasons (${v.reasons.length})`)
  for (const r of v.reasons) {
    const about = [r.witness !== undefined ? `witness ${shortPeer(r.witness)}` : '', r.chunk !== undefined ? `chunk ${r.chunk}` : ''].filter(a => a !== '').join(', ')
    print(`  ${r.code}${r.fatal ? ' (fatal)' : ''}${about !== '' ? ` [${about}]` : ''}: ${r.explain}`)
  }
  print(`witnesses (${v.witnesses.length})`)
  const ms = (n: number | undefined): string => n != null ? `${Math.round(n * 10) / 10}ms` : '-'
  if (v.witnesses.length > 0) {
    print(table(['WITNESS', 'ACCEPTED', 'RTT', 'FLOOR', 'CEILING', 'CELL', 'CODE'], v.witnesses.map(w => [w.witness === '' ? '(unreadable)' : w.witness, w.accepted ? 'yes' : 'no', ms(w.rttMs), ms(w.floorMs), ms(w.ceilingMs), w.geohash ?? '-', w.code ?? ''])))
  }
}

async function metrics (values: CliValues): Promise<void> {
  process.stdout.write(await getText(await api(values), '/metrics'))
}

/** Run the CLI with these arguments; resolves with the exit code. */
export async function main (argv: string[]): Promise<number> {
  const [command, sub] = argv
  const rest = argv.slice(command === 'node' || command === 'job' || command === 'receipts' || command === 'capture' ? 2 : 1)
  const options = command === 'node' ? START_OPTIONS : command === 'job' ? JOB_OPTIONS : command === 'receipts' ? RECEIPT_OPTIONS : command === 'capture' ? CAPTURE_OPTIONS : COMMON_OPTIONS
  try {
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      print(HELP)
      return command === undefined ? EXIT_CONFIG : 0
    }
    if (command === '--version' || command === 'version') {
      print(VERSION)
      return 0
    }
    let values: CliValues
    let positionals: string[]
    try {
      ({ values, positionals } = parseArgs({ args: rest, options, strict: true, allowPositionals: command === 'capture' }))
    } catch (err: unknown) {
      throw new UsageError(errorMessage(err))
    }
    if (values.help === true) {
      print(HELP)
      return 0
    }
    switch (command) {
      case 'node':
        if (sub !== 'start') throw new UsageError(`unknown command: node ${sub ?? ''} (expected node start)`)
        await nodeStart(values)
        break
      case 'status': await status(values); break
      case 'peers': await peers(values); break
      case 'id': await id(values); break
      case 'jobs': await jobs(values); break
      case 'metrics': await metrics(values); break
      case 'job':
        if (sub !== 'submit') throw new UsageError(`unknown command: job ${sub ?? ''} (expected job submit)`)
        await jobSubmit(values)
        break
      case 'receipts': await receipts(sub, values); break
      case 'capture':
        if (positionals.length > 1) throw new UsageError(`capture ${sub ?? ''} takes one FILE or CID, got ${positionals.length}`)
        try {
          return await capture(sub, positionals[0], values)
        } catch (err: unknown) {
          if (errorName(err) === 'UsageError') throw err
          // an error is not a refusal: exit 2, so a script tells "refused" (1) from "could not tell"
          process.stderr.write(`shoal: ${errorName(err) ?? 'Error'}: ${errorMessage(err)}\n`)
          return EXIT_CAPTURE_ERROR
        }
      default: throw new UsageError(`unknown command: ${command}`)
    }
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err: unknown) {
    const name = errorName(err)
    if (name === 'UsageError') {
      process.stderr.write(`shoal: ${errorMessage(err)}\nRun \`shoal --help\` for usage.\n`)
      return EXIT_CONFIG
    }
    if (name != null && OPERATOR_ERRORS.has(name)) {
      process.stderr.write(`shoal: ${name}: ${errorMessage(err)}\n`)
      return FATAL_CONFIG_ERRORS.has(name) ? EXIT_CONFIG : EXIT_FAILURE
    }
    // an unexpected failure: say what it was first, then the trace for a bug report
    process.stderr.write(`shoal: unexpected error: ${errorMessage(err)}\n${process.env.SHOAL_DEBUG != null ? `${err instanceof Error ? err.stack : String(err)}\n` : '(set SHOAL_DEBUG=1 for the stack trace)\n'}`)
    return EXIT_FAILURE
  }
}

/**
 * Exit once stdout and stderr have handed everything to the OS. A pipe takes
 * 64 KiB at a time, so exiting at once would cut `shoal receipts list --json | jq`
 * short; the process is still ended explicitly, since a started node's
 * services and the API client's keep-alive sockets would keep it running.
 */
function exitWhenFlushed (code: number): void {
  process.exitCode = code
  let pending = 2
  const flushed = (): void => { if (--pending === 0) process.exit(code) }
  process.stdout.write('', flushed)
  process.stderr.write('', flushed)
}

// a reader that went away (`shoal receipts list | head`) is not an error of ours
// a reader that went away (`shoal receipts list | head`) is not an error of ours; a running node
// whose output or log pipe closed goes on (its stop drains), only without that output
const serving = process.argv[2] === 'node'
process.stdout.on('error', (err: unknown) => {
  if (errorCode(err) === 'EPIPE' && !serving) process.exit(process.exitCode ?? 0)
})
process.stderr.on('error', () => {})

main(process.argv.slice(2)).then(exitWhenFlushed, (err) => {
  process.stderr.write(`shoal: ${errorMessage(err)}\n`)
  exitWhenFlushed(EXIT_FAILURE)
})
