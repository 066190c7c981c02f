import { randomBytes } from 'node:crypto'
import { startApiServer } from './api.js'
import { defaultDataDir, removeApiInfo, writeApiInfo } from './data-dir.js'
import { createNodeLogger } from './log.js'
import { registerShoalMetrics } from './metrics.js'
import { observeNode, observeProvider } from './observe.js'
import { createJobApi, liveJobs, resumeRequestedJobs, startProviderRole } from './jobs.js'
import { createShoalNode, nodeDatastore } from './node.js'
import { createCaptureApi } from './capture.js'
import { drainShoalNode, workGate } from './drain.js'
import { preflight } from './preflight.js'
import { VERSION } from './version.js'
import type { ApiServer } from './api.js'
import type { DrainResult } from './drain.js'
import type { ResolvedConfig } from './config.js'
import type { ProviderHandle } from './flows/start-provider.js'
import type { LiveJob } from './jobs.js'
import type { NodeLogger } from './log.js'
import type { ShoalNodeMetrics } from './metrics.js'
import type { ShoalNode } from './node.js'
import type { PreflightOptions } from './preflight.js'

/** A running full node: the libp2p node, its HTTP API, and how to stop both. */
export interface ShoalDaemon {
  node: ShoalNode
  /** the config the node runs with, after the start-up checks (absolute executor command, the GPUs offered) */
  config: ResolvedConfig
  /** the data directory in use */
  dataDir: string
  /** the HTTP API */
  api: ApiServer
  /** node-level metrics */
  metrics: ShoalNodeMetrics
  /** the operator log (stderr unless `RunOptions.logStream` says otherwise) */
  logger: NodeLogger
  /**
   * Graceful shutdown: refuse new work, withdraw the advertisement, let
   * running jobs finish for up to `grace` ms (default: the config's
   * `shutdownGraceMs`) and hand back the rest, then flush and stop
   * everything. Safe to call twice (the second call waits for the first).
   */
  stop(options?: ShutdownOptions): Promise<void>
}

/** Options of `ShoalDaemon.stop()`. */
export interface ShutdownOptions {
  /** ms running jobs may take to finish before they are handed back */
  graceMs?: number
  /** progress lines for the operator */
  log?(line: string): void
  /** called with what the drain did */
  onDrained?(result: DrainResult): void
}

/** Options of `runShoalNode()` that a config file cannot carry. */
export interface RunOptions extends PreflightOptions {
  /** where the operator log goes @default process.stderr */
  logStream?: { write(line: string): unknown }
}

/**
 * Run a full node the way `shoal node start` does: a provider's start-up
 * checks (`preflight`: executor, GPUs), the node on its data directory,
 * the HTTP API, `api.json` for the CLI. On failure everything started so
 * far is stopped again before the error is thrown.
 */
export async function runShoalNode (resolved: ResolvedConfig, options: RunOptions = {}): Promise<ShoalDaemon> {
  const logger = createNodeLogger({ level: resolved.logLevel, format: resolved.logFormat, stream: options.logStream })
  // a check that passed with a caveat is an operator's warning line like any other
  const config = await preflight(resolved, { warn: line => { logger.warn('preflight', { note: line }) }, ...options })
  const dataDir = config.dataDir ?? defaultDataDir()
  // jobs a restart cut off resume once the daemon listens for how they end
  const node = await createShoalNode({ ...config, dataDir, provider: config.role === 'gpu-provider' || config.role === 'capture-provider' ? config.provider : undefined, services: { work: { resumeOnStart: false } } })
  const startedAt = Date.now()
  // hex, never base64url: a token starting with '-' reads as an option in `--api-token T`
  const token = randomBytes(24).toString('hex')
  const live = new Map<string, LiveJob>()
  // jobs submitted here and still running
  const requesting = (): number => [...live.values()].filter(j => j.side === 'requester').length
  let providerRole: ProviderHandle | undefined
  let draining = false
  let api: ApiServer
  let metrics: ShoalNodeMetrics
  let observing: ReturnType<typeof observeNode> | undefined
  const resuming = new AbortController()
  try {
    metrics = registerShoalMetrics(node, { requesting })
    observing = observeNode(node, logger, metrics)
    providerRole = startProviderRole(node, config)
    if (providerRole !== undefined) observeProvider(providerRole, logger)
    api = await startApiServer({
      node,
      port: config.apiPort,
      host: config.apiHost,
      token,
      version: VERSION,
      startedAt,
      draining: () => draining,
      jobs: createJobApi(node, live, metrics, observing.observer, config.provider?.region),
      captures: node.services.provenance !== undefined ? createCaptureApi(node.services.provenance, nodeDatastore(node)) : undefined,
      statusExtra: async () => ({ capabilities: capabilities(node), jobs: liveJobs(node, live) })
    })
    const resumed = await resumeRequestedJobs(node, live, resuming.signal, observing.observer, config.provider?.region)
    if (resumed > 0) logger.info('jobs', { note: `resuming ${resumed} job(s) requested before the restart` })
  } catch (err) {
    resuming.abort()
    providerRole?.stop()
    observing?.stop()
    await node.stop()
    throw err
  }
  await writeApiInfo(dataDir, { host: connectHost(api.host), port: api.port, token, pid: process.pid, peerId: node.peerId.toString(), startedAt })

  let stopping: Promise<void> | undefined
  return {
    node,
    config,
    dataDir,
    api,
    metrics,
    logger,
    async stop (options: ShutdownOptions = {}) {
      stopping ??= (async () => {
        const grace = options.graceMs ?? config.shutdownGraceMs
        draining = true
        // no more quotes from the job board, no re-advertising; running jobs stay listed
        providerRole?.stop()
        const running = node.services.work.load.running
        if (running > 0 || requesting() > 0) {
          options.log?.(`draining: ${running} running job(s), ${requesting()} submitted job(s); waiting up to ${grace} ms`)
        }
        const result = await drainShoalNode(node, { timeoutMs: grace, busy: () => requesting() > 0 })
        options.onDrained?.(result)
        if (result.handedBack > 0) options.log?.(`handed back ${result.handedBack} job(s) still running after ${grace} ms`)
        await removeApiInfo(dataDir)
        await api.close()
        // services stop (discovery withdraws, the receipt store drains its writes); the datastore closes last
        await node.stop()
        resuming.abort()
        // jobs node.stop() aborted: their process trees are gone before stop() resolves
        await workGate(node.services.work)?.stopExecutor()
        observing?.stop()
      })()
      await stopping
    }
  }
}

/** Where a client on this machine reaches an API bound to `host`: a wildcard bind is reached on loopback. */
export function connectHost (host: string): string {
  return host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host
}

/** What this node advertises, from the capability record discovery serves. */
function capabilities (node: ShoalNode): unknown[] {
  const record = node.services.discovery.currentRecord
  if (record === undefined) return []
  const v = record.value
  return [{
    gpus: v.gpus.map(g => ({ model: g.model, class: g.class, vramMib: g.vramMib, count: g.count })),
    sensors: v.sensors,
    geohash: v.geohash,
    price: v.price,
    concurrency: v.concurrency,
    freeSlots: v.freeSlots,
    expiresMs: v.expiresMs
  }]
}
