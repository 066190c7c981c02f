import { readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { extname } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { isGeohash } from '@shoal/records'
import { parse as parseYaml } from 'yaml'
import { errorCode, errorMessage } from '@shoal/utils'
import { API_HOST, API_PORT, CAPTURE_PRICE_UNIT, GPU_PRICE_UNIT, LISTEN_ADDRESSES, ROLE, SHUTDOWN_GRACE_MS } from './constants.js'
import { ConfigError } from './errors.js'
import { LOG_FORMATS, LOG_LEVELS } from './log.js'
import type { LogFormat, LogLevel } from './log.js'
import type { RelayedJobPolicy } from '@shoal/work'

/**
 * What a node does on the network. Every role runs the same services (so
 * every node relays gossip, answers DHT queries and keeps receipts); the role
 * switches what it offers and a few defaults.
 *
 * - `requester`: submits jobs, offers nothing
 * - `gpu-provider`: advertises GPUs and runs jobs (needs `provider.gpus` and `provider.executor`)
 * - `capture-provider`: advertises sensors for data-capture bounties (needs `provider.sensors`)
 * - `bootstrap`: a public way in: DHT server and circuit relay server
 */
export type ShoalRole = 'requester' | 'gpu-provider' | 'capture-provider' | 'bootstrap'

/** Every role, in the order `--help` lists them. */
export const ROLES: readonly ShoalRole[] = ['requester', 'gpu-provider', 'capture-provider', 'bootstrap']

/** One kind of GPU a provider offers. */
export interface GpuConfig {
  /** model name, e.g. `RTX 4090` (≤ 64 characters) */
  model: string
  /** memory per GPU in MiB (1 … 2^24) */
  vramMib: number
  /** how many of them (1 … 1024) @default 1 */
  count?: number
  /** matching class, e.g. `consumer-24g` @default derived from model and memory */
  class?: string
}

/** A price per unit of work. */
export interface PriceConfig {
  /** price per unit in the smallest unit of the currency (integer ≥ 0) */
  perUnit: number
  /** currency code (≤ 16 characters) */
  currency: string
  /** unit of work, e.g. `gpu-second` (≤ 32 characters) */
  unit: string
}

/**
 * How a provider runs a job. `command` runs a program (job input on stdin,
 * result on stdout); `echo` returns the input (demos and tests).
 */
export type ExecutorConfig =
  | { type: 'command', command: string, args?: string[], timeoutMs?: number }
  | { type: 'echo' }

/** What a provider offers (roles `gpu-provider` and `capture-provider`). */
export interface ProviderConfig {
  /** geohash of where the provider is (≤ 12 characters; empty = anywhere) @default '' */
  region?: string
  /** GPUs offered (≤ 64 entries) */
  gpus?: GpuConfig[]
  /** sensors offered for capture jobs, e.g. `camera-4k` (≤ 16 entries of ≤ 64 characters) */
  sensors?: string[]
  /** jobs run at once (1 … 4096) @default 1 */
  concurrency?: number
  /** asking price @default { perUnit: 1, currency: 'USDC', unit: 'gpu-second' } */
  price?: PriceConfig
  /** how jobs are run */
  executor?: ExecutorConfig
}

/** Kademlia DHT settings. */
export interface DhtConfig {
  /**
   * `server` answers queries from the start; `client` never does; `auto`
   * becomes a server once the node has a public address that is not a relay's (kad-dht's own switch)
   *
   * @default 'auto' ('server' for the bootstrap role)
   */
  mode?: 'auto' | 'server' | 'client'
  /**
   * keep private and loopback addresses in DHT records (LAN and local testnets);
   * off on the public network so peers are not handed addresses they cannot dial
   *
   * @default false
   */
  allowPrivateAddresses?: boolean
}

/** NAT traversal settings. */
export interface ReachabilityConfig {
  /** ask peers whether our addresses are publicly dialable (@libp2p/autonat) @default true */
  autonat?: boolean
  /** listen through circuit relays when not publicly dialable (@libp2p/circuit-relay-v2 transport) @default true */
  relayClient?: boolean
  /** relay for other peers (circuit relay v2 server) @default false (true for the bootstrap role) */
  relayServer?: boolean
  /** upgrade relayed connections to direct ones by hole punching (@libp2p/dcutr) @default true */
  holePunching?: boolean
  /**
   * how jobs run over relayed (limited) connections: the policy's fields
   * over its defaults, or false to never run one over a relay
   *
   * @default {} (the work service's defaults: small jobs run over a relay)
   */
  relayedJobs?: Partial<RelayedJobPolicy> | false
}

/** The fields of `reachability.relayedJobs` and the largest value of each number. */
const RELAYED_JOB_LIMITS = { maxInputBytes: 2 ** 30, maxOutputBytes: 2 ** 30, upgradeWaitMs: 600_000 } as const

/** Check `reachability.relayedJobs`: true reads as the defaults, false as never. */
function parseRelayedJobs (value: unknown, field: string): Partial<RelayedJobPolicy> | false {
  if (value === false) return false
  if (value === true) return {}
  const o = object(value, field, ['enabled', ...Object.keys(RELAYED_JOB_LIMITS)])
  const policy: Partial<RelayedJobPolicy> = {}
  if (o.enabled !== undefined) policy.enabled = boolean(o.enabled, `${field}.enabled`)
  for (const [key, max] of Object.entries(RELAYED_JOB_LIMITS) as Array<[keyof typeof RELAYED_JOB_LIMITS, number]>) {
    if (o[key] !== undefined) policy[key] = integer(o[key], `${field}.${key}`, 0, max)
  }
  return policy
}

/**
 * A node's configuration: the shape of the config file (JSON or YAML). Every
 * field is optional; the role fills in the defaults.
 */
export interface ShoalNodeConfig {
  /** what the node does @default 'requester' */
  role?: ShoalRole
  /** where identity, datastore and `api.json` live (the CLI defaults it to `$XDG_DATA_HOME/shoal`) */
  dataDir?: string
  /** multiaddrs to listen on @default ['/ip4/0.0.0.0/tcp/0'] */
  listen?: string[]
  /** multiaddrs to announce instead of the listen addresses (e.g. a public IP behind port forwarding) @default [] */
  announce?: string[]
  /** peers to join through, each a multiaddr ending in `/p2p/<peer id>` @default [] */
  bootstrap?: string[]
  /** find peers on the local network with mDNS @default true */
  mdns?: boolean
  /** port of the local HTTP API; 0 = a free port @default 7460 */
  apiPort?: number
  /**
   * address the HTTP API binds to (an IP address, or `localhost`); anything
   * but loopback (e.g. `0.0.0.0` in a container) makes every route except
   * `/health` and `/metrics` require the API token
   *
   * @default '127.0.0.1'
   */
  apiHost?: string
  /** Prometheus metrics (libp2p's and Shoal's) @default true */
  metrics?: boolean
  /**
   * the defences against dishonest peers (`shoalServices({ defences })`):
   * results checked before they are countersigned, evidence of cheating
   * gossiped and acted on, budgets that grow with receipts, the free-rider
   * limit @default true
   */
  defences?: boolean
  /**
   * on SIGINT/SIGTERM, how long running jobs may take to finish before they
   * are handed back to their requesters (0 hands them back at once), ms
   *
   * @default 10000
   */
  shutdownGraceMs?: number
  /** operator log lines written to stderr: `error`, `warn`, `info` or `debug` @default 'info' */
  logLevel?: LogLevel
  /** `text` (one line: time level event key=value...) or `json` (one object per line) @default 'text' */
  logFormat?: LogFormat
  /** DHT settings */
  dht?: DhtConfig
  /** NAT traversal settings */
  reachability?: ReachabilityConfig
  /** what this node offers (provider roles) */
  provider?: ProviderConfig
}

/** A configuration with every default filled in. */
export interface ResolvedConfig {
  role: ShoalRole
  dataDir?: string
  listen: string[]
  announce: string[]
  bootstrap: string[]
  mdns: boolean
  apiPort: number
  apiHost: string
  metrics: boolean
  defences: boolean
  shutdownGraceMs: number
  logLevel: LogLevel
  logFormat: LogFormat
  dht: Required<DhtConfig>
  reachability: Required<ReachabilityConfig>
  provider?: ProviderConfig
}

const TOP_LEVEL_KEYS = ['role', 'dataDir', 'listen', 'announce', 'bootstrap', 'mdns', 'apiPort', 'apiHost', 'metrics', 'defences', 'shutdownGraceMs', 'logLevel', 'logFormat', 'dht', 'reachability', 'provider']
const MAX_SAFE = Number.MAX_SAFE_INTEGER

type Json = Record<string, unknown>

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)?.slice(0, 40) ?? String(value)}`
}

function isObject (value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function object (value: unknown, field: string, keys: string[]): Json {
  if (!isObject(value)) {
    throw new ConfigError(field, `expected an object, got ${describe(value)}`)
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw new ConfigError(field === '' ? key : `${field}.${key}`, `unknown option (expected one of: ${keys.join(', ')})`)
    }
  }
  return value
}

/** A required field that is absent reads `field: missing`, not "got undefined". */
function required (value: unknown, field: string): void {
  if (value === undefined) throw new ConfigError(field, 'missing')
}

function string (value: unknown, field: string, maxLength: number, allowEmpty = false): string {
  required(value, field)
  if (typeof value !== 'string') {
    throw new ConfigError(field, `expected a string, got ${describe(value)}`)
  }
  if (!allowEmpty && value.length === 0) {
    throw new ConfigError(field, 'must not be empty')
  }
  if (value.length > maxLength) {
    throw new ConfigError(field, `longer than ${maxLength} characters`)
  }
  return value
}

function boolean (value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') {
    throw new ConfigError(field, `expected true or false, got ${describe(value)}`)
  }
  return value
}

function integer (value: unknown, field: string, min: number, max: number): number {
  required(value, field)
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ConfigError(field, `expected an integer, got ${describe(value)}`)
  }
  if (value < min || value > max) {
    throw new ConfigError(field, `must be between ${min} and ${max}`)
  }
  return value
}

function oneOf<T extends string> (value: unknown, field: string, choices: readonly T[]): T {
  if (value === undefined) throw new ConfigError(field, `missing (expected one of ${choices.join(', ')})`)
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new ConfigError(field, `expected one of ${choices.join(', ')}, got ${describe(value)}`)
  }
  return value as T
}

function array<T> (value: unknown, field: string, maxEntries: number, item: (v: unknown, f: string) => T): T[] {
  if (!Array.isArray(value)) {
    throw new ConfigError(field, `expected a list, got ${describe(value)}`)
  }
  if (value.length > maxEntries) {
    throw new ConfigError(field, `more than ${maxEntries} entries`)
  }
  return value.map((v, i) => item(v, `${field}[${i}]`))
}

/** Check a multiaddr string; bootstrap addresses must also name the peer. */
function multiaddrString (value: unknown, field: string, needsPeerId = false): string {
  const str = string(value, field, 1024)
  let components
  try {
    components = multiaddr(str).getComponents()
  } catch {
    throw new ConfigError(field, `not a multiaddr: ${JSON.stringify(str)}`)
  }
  if (needsPeerId && !components.some(c => c.name === 'p2p')) {
    throw new ConfigError(field, 'a bootstrap address must end in /p2p/<peer id>')
  }
  return str
}

/** A listen address one of the node's transports can use: TCP, or a circuit relay. */
function listenAddress (value: unknown, field: string): string {
  const str = multiaddrString(value, field)
  const names = multiaddr(str).getComponents().map(c => c.name)
  const tcp = names.length === 2 && ['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(names[0]) && names[1] === 'tcp'
  if (!tcp && !names.includes('p2p-circuit')) {
    throw new ConfigError(field, `${str}: no transport of this node listens on such an address (it listens on TCP, /ip4/<address>/tcp/<port> or /ip6/<address>/tcp/<port>, and on circuit relays, /p2p-circuit)`)
  }
  return str
}

function parseGpu (value: unknown, field: string): GpuConfig {
  const o = object(value, field, ['model', 'vramMib', 'count', 'class'])
  const gpu: GpuConfig = {
    model: string(o.model, `${field}.model`, 64),
    vramMib: integer(o.vramMib, `${field}.vramMib`, 1, 2 ** 24)
  }
  if (o.count !== undefined) gpu.count = integer(o.count, `${field}.count`, 1, 1024)
  if (o.class !== undefined) {
    gpu.class = string(o.class, `${field}.class`, 64)
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(gpu.class)) throw new ConfigError(`${field}.class`, 'lowercase letters, digits, ".", "_" and "-" only')
  }
  return gpu
}

function parseExecutor (value: unknown, field: string): ExecutorConfig {
  if (!isObject(value)) {
    throw new ConfigError(field, `expected an object, got ${describe(value)}`)
  }
  const type = oneOf(value.type, `${field}.type`, ['command', 'echo'] as const)
  if (type === 'echo') {
    object(value, field, ['type'])
    return { type }
  }
  const o = object(value, field, ['type', 'command', 'args', 'timeoutMs'])
  const executor: ExecutorConfig = { type, command: string(o.command, `${field}.command`, 4096) }
  if (o.args !== undefined) executor.args = array(o.args, `${field}.args`, 256, (v, f) => string(v, f, 4096, true))
  if (o.timeoutMs !== undefined) executor.timeoutMs = integer(o.timeoutMs, `${field}.timeoutMs`, 1, MAX_SAFE)
  return executor
}

function parseProvider (value: unknown, field: string): ProviderConfig {
  const o = object(value, field, ['region', 'gpus', 'sensors', 'concurrency', 'price', 'executor'])
  const provider: ProviderConfig = {}
  if (o.region !== undefined) {
    provider.region = string(o.region, `${field}.region`, 12, true)
    if (provider.region !== '' && !isGeohash(provider.region)) {
      throw new ConfigError(`${field}.region`, 'not a geohash')
    }
  }
  if (o.gpus !== undefined) provider.gpus = array(o.gpus, `${field}.gpus`, 64, parseGpu)
  if (o.sensors !== undefined) provider.sensors = array(o.sensors, `${field}.sensors`, 16, (v, f) => string(v, f, 64))
  if (o.concurrency !== undefined) provider.concurrency = integer(o.concurrency, `${field}.concurrency`, 1, 4096)
  if (o.price !== undefined) {
    const p = object(o.price, `${field}.price`, ['perUnit', 'currency', 'unit'])
    provider.price = {
      perUnit: integer(p.perUnit, `${field}.price.perUnit`, 0, MAX_SAFE),
      currency: string(p.currency, `${field}.price.currency`, 16),
      unit: string(p.unit, `${field}.price.unit`, 32)
    }
  }
  if (o.executor !== undefined) provider.executor = parseExecutor(o.executor, `${field}.executor`)
  return provider
}

/**
 * Validate a parsed config object (from JSON, YAML or code). Returns a clean
 * copy; throws `ConfigError` naming the first bad field, and nothing else,
 * whatever the input.
 */
export function parseConfig (input: unknown): ShoalNodeConfig {
  const o = object(input, '', TOP_LEVEL_KEYS)
  const config: ShoalNodeConfig = {}
  if (o.role !== undefined) config.role = oneOf(o.role, 'role', ROLES)
  if (o.dataDir !== undefined) config.dataDir = string(o.dataDir, 'dataDir', 4096)
  if (o.listen !== undefined) config.listen = array(o.listen, 'listen', 32, (v, f) => listenAddress(v, f))
  if (o.announce !== undefined) config.announce = array(o.announce, 'announce', 32, (v, f) => multiaddrString(v, f))
  if (o.bootstrap !== undefined) config.bootstrap = array(o.bootstrap, 'bootstrap', 256, (v, f) => multiaddrString(v, f, true))
  if (o.mdns !== undefined) config.mdns = boolean(o.mdns, 'mdns')
  if (o.defences !== undefined) config.defences = boolean(o.defences, 'defences')
  if (o.apiPort !== undefined) config.apiPort = integer(o.apiPort, 'apiPort', 0, 65535)
  if (o.apiHost !== undefined) {
    config.apiHost = string(o.apiHost, 'apiHost', 255)
    if (isIP(config.apiHost) === 0 && config.apiHost !== 'localhost') throw new ConfigError('apiHost', `expected an IP address (e.g. 127.0.0.1 or 0.0.0.0) or localhost, got ${describe(config.apiHost)}`)
  }
  if (o.metrics !== undefined) config.metrics = boolean(o.metrics, 'metrics')
  if (o.shutdownGraceMs !== undefined) config.shutdownGraceMs = integer(o.shutdownGraceMs, 'shutdownGraceMs', 0, 3_600_000)
  if (o.logLevel !== undefined) config.logLevel = oneOf(o.logLevel, 'logLevel', LOG_LEVELS)
  if (o.logFormat !== undefined) config.logFormat = oneOf(o.logFormat, 'logFormat', LOG_FORMATS)
  if (o.dht !== undefined) {
    const d = object(o.dht, 'dht', ['mode', 'allowPrivateAddresses'])
    config.dht = {}
    if (d.mode !== undefined) config.dht.mode = oneOf(d.mode, 'dht.mode', ['auto', 'server', 'client'] as const)
    if (d.allowPrivateAddresses !== undefined) config.dht.allowPrivateAddresses = boolean(d.allowPrivateAddresses, 'dht.allowPrivateAddresses')
  }
  if (o.reachability !== undefined) {
    const keys = ['autonat', 'relayClient', 'relayServer', 'holePunching'] as const
    const r = object(o.reachability, 'reachability', [...keys, 'relayedJobs'])
    config.reachability = {}
    for (const key of keys) {
      if (r[key] !== undefined) config.reachability[key] = boolean(r[key], `reachability.${key}`)
    }
    if (r.relayedJobs !== undefined) config.reachability.relayedJobs = parseRelayedJobs(r.relayedJobs, 'reachability.relayedJobs')
  }
  if (o.provider !== undefined) config.provider = parseProvider(o.provider, 'provider')
  return config
}

/**
 * Parse config file text. The format follows the file name (`.json`, else
 * YAML, which also reads JSON). Throws `ConfigError` only.
 */
export function parseConfigText (text: string, fileName = 'config.yaml'): ShoalNodeConfig {
  let value: unknown
  if (extname(fileName).toLowerCase() === '.json') {
    try {
      value = JSON.parse(text)
    } catch (err: unknown) {
      throw new ConfigError('', `${fileName} is not valid JSON: ${errorMessage(err)}`)
    }
  } else {
    try {
      // a cap on aliases keeps a "billion laughs" file from eating the memory
      value = parseYaml(text, { maxAliasCount: 100, prettyErrors: true, logLevel: 'error' })
    } catch (err: unknown) {
      throw new ConfigError('', `${fileName} is not valid YAML: ${errorMessage(err).split('\n')[0]}`)
    }
  }
  if (value === null || value === undefined) {
    // an empty file is a valid "all defaults" config
    return {}
  }
  return parseConfig(value)
}

/** Read and validate a config file; a missing or unreadable file is a `ConfigError` too. */
export async function loadConfigFile (path: string): Promise<ShoalNodeConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err: unknown) {
    throw new ConfigError('', `cannot read config file ${path}: ${errorCode(err) ?? errorMessage(err)}`)
  }
  try {
    return parseConfigText(text, path)
  } catch (err) {
    if (err instanceof ConfigError && err.field !== '') {
      const wrapped = new ConfigError(err.field, `${err.message.slice(err.field.length + 2)} (in ${path})`)
      throw wrapped
    }
    throw err
  }
}

/** Config sections merged field by field across layers. */
const NESTED_SECTIONS = new Set(['dht', 'reachability', 'provider'])

/**
 * Merge config layers (later wins; nested `dht`, `reachability` and
 * `provider` merge field by field) and fill in the role's defaults. Checks
 * what depends on the role (a GPU provider needs GPUs and an executor).
 */
export function resolveConfig (...layers: ShoalNodeConfig[]): ResolvedConfig {
  const layered: Record<string, unknown> = {}
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue
      layered[key] = NESTED_SECTIONS.has(key) ? { ...(layered[key] as object | undefined), ...(value as object) } : value
    }
  }
  // each layer is a checked ShoalNodeConfig, and so is a merge of them
  const merged = layered as ShoalNodeConfig
  const role = merged.role ?? ROLE
  const isBootstrap = role === 'bootstrap'
  const resolved: ResolvedConfig = {
    role,
    dataDir: merged.dataDir,
    listen: merged.listen ?? [...LISTEN_ADDRESSES],
    announce: merged.announce ?? [],
    bootstrap: merged.bootstrap ?? [],
    mdns: merged.mdns ?? true,
    apiPort: merged.apiPort ?? API_PORT,
    apiHost: merged.apiHost ?? API_HOST,
    metrics: merged.metrics ?? true,
    defences: merged.defences ?? true,
    shutdownGraceMs: merged.shutdownGraceMs ?? SHUTDOWN_GRACE_MS,
    logLevel: merged.logLevel ?? 'info',
    logFormat: merged.logFormat ?? 'text',
    dht: {
      mode: merged.dht?.mode ?? (isBootstrap ? 'server' : 'auto'),
      allowPrivateAddresses: merged.dht?.allowPrivateAddresses ?? false
    },
    reachability: {
      autonat: merged.reachability?.autonat ?? true,
      relayClient: merged.reachability?.relayClient ?? true,
      relayServer: merged.reachability?.relayServer ?? isBootstrap,
      holePunching: merged.reachability?.holePunching ?? true,
      relayedJobs: merged.reachability?.relayedJobs ?? {}
    }
  }
  if (role === 'gpu-provider' || role === 'capture-provider') {
    const provider = merged.provider ?? {}
    // a gpu-provider may list no GPUs: `runShoalNode` offers the ones nvidia-smi detects (see preflight.ts)
    if (role === 'capture-provider' && (provider.sensors ?? []).length === 0) {
      throw new ConfigError('provider.sensors', 'the capture-provider role needs at least one sensor')
    }
    // without one it would advertise, be found, and decline every job
    if (provider.executor === undefined) {
      throw new ConfigError('provider.executor', `the ${role} role needs an executor ({ type: command, command: ... } or { type: echo })`)
    }
    resolved.provider = {
      region: provider.region ?? '',
      gpus: provider.gpus ?? [],
      sensors: provider.sensors ?? [],
      concurrency: provider.concurrency ?? 1,
      price: provider.price ?? { perUnit: 1, currency: 'USDC', unit: role === 'gpu-provider' ? GPU_PRICE_UNIT : CAPTURE_PRICE_UNIT },
      executor: provider.executor
    }
  }
  return resolved
}

/** Split a comma-separated environment value into a list, dropping empty entries. */
export function splitList (value: string): string[] {
  return value.split(',').map(s => s.trim()).filter(s => s !== '')
}

/** Environment variables the node reads, and the config field each one sets. */
export const ENVIRONMENT: ReadonlyArray<{ name: string, field: keyof ShoalNodeConfig, description: string }> = [
  { name: 'SHOAL_ROLE', field: 'role', description: 'role' },
  { name: 'SHOAL_DATA_DIR', field: 'dataDir', description: 'data directory' },
  { name: 'SHOAL_LISTEN', field: 'listen', description: 'listen multiaddrs, comma separated' },
  { name: 'SHOAL_ANNOUNCE', field: 'announce', description: 'announce multiaddrs, comma separated' },
  { name: 'SHOAL_BOOTSTRAP', field: 'bootstrap', description: 'bootstrap multiaddrs, comma separated' },
  { name: 'SHOAL_MDNS', field: 'mdns', description: 'true or false' },
  { name: 'SHOAL_API_PORT', field: 'apiPort', description: 'local HTTP API port' },
  { name: 'SHOAL_API_HOST', field: 'apiHost', description: 'address the HTTP API binds to (0.0.0.0 in a container)' },
  { name: 'SHOAL_METRICS', field: 'metrics', description: 'true or false' },
  { name: 'SHOAL_DEFENCES', field: 'defences', description: 'true or false: the defences against dishonest peers' },
  { name: 'SHOAL_SHUTDOWN_GRACE_MS', field: 'shutdownGraceMs', description: 'ms running jobs may take to finish on shutdown' },
  { name: 'SHOAL_LOG_LEVEL', field: 'logLevel', description: 'error, warn, info or debug' },
  { name: 'SHOAL_LOG_FORMAT', field: 'logFormat', description: 'text or json' },
  { name: 'SHOAL_RELAYED_JOBS', field: 'reachability', description: 'true or false: run small jobs over relayed connections (reachability.relayedJobs)' }
]

/** `true`/`1` and `false`/`0` as booleans; anything else as given, for the config check to name. */
function envBoolean (value: string): boolean | string {
  return value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value
}

/**
 * Read the `SHOAL_*` environment variables into a config layer, validated
 * like a config file (errors name the variable).
 */
export function configFromEnv (env: NodeJS.ProcessEnv = process.env): ShoalNodeConfig {
  const raw: Json = {}
  for (const { name, field } of ENVIRONMENT) {
    const value = env[name]
    if (value === undefined || value === '') continue
    try {
      if (field === 'listen' || field === 'announce' || field === 'bootstrap') {
        raw[field] = splitList(value)
      } else if (field === 'mdns' || field === 'metrics' || field === 'defences') {
        raw[field] = envBoolean(value)
      } else if (field === 'reachability') {
        // the only reachability variable: SHOAL_RELAYED_JOBS
        raw[field] = { relayedJobs: envBoolean(value) }
      } else if (field === 'apiPort' || field === 'shutdownGraceMs') {
        raw[field] = /^\d+$/.test(value) ? Number(value) : value
      } else {
        raw[field] = value
      }
      parseConfig({ [field]: raw[field] })
    } catch (err) {
      if (err instanceof ConfigError) {
        throw new ConfigError(name, err.message)
      }
      throw err
    }
  }
  return parseConfig(raw)
}
