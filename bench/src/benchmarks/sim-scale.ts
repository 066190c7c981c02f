/**
 * `sim-scale`: how many full-stack peers one machine simulates. For each N,
 * a fresh process boots N peers with `createSimulation` (sim transport,
 * noise, yamux, identify, ping, kad-dht, gossipsub; geographic latency)
 * and wires them as the network would (3 bootstrap peers, 4 dials per peer,
 * half to nearby peers); it reports seconds to boot and connect, memory per
 * peer and event-loop delay.
 *
 * Baselines, in the same run:
 * - `baseline`: stock libp2p as in the issue (stock options of every module
 *   except the two a DHT needs in one process: server mode and keeping
 *   `/memory` addresses), `@libp2p/memory`, zero latency, every peer dialling
 *   4 random peers one after another;
 * - `baseline_burst` (full run only): the same, every dial at once;
 * - `baseline_stock_settings_on_sim`: stock libp2p settings (DHT bootstrap
 *   after 1 s, stock connection-manager limits, connection monitor) on the
 *   same simulated network, wiring and dial pool as `results`, to isolate
 *   what the harness's configuration buys (full run only).
 * A run still connecting after `--cap` seconds is abandoned and marked
 * `finished: false`.
 *
 * Each N runs in its own child process, so memory figures do not carry
 * over and one N that falls over does not take the others with it.
 *
 * Sharding: `--shards N` runs every `results` row in N worker threads
 * (`auto` = available cores; default 1). Whatever `--shards` says, the run
 * adds a row of 1000 peers in 2 shards (`--quick`: 50 peers in 2 shards),
 * and `gateway` compares ping RTTs within a shard, across shards (worker
 * threads, MessagePort gateway) and over a TCP gateway on 127.0.0.1 with
 * the oracle, to show what the gateway adds.
 *
 * `--sizes 100,250,500,1000`, `--baseline-sizes 50,100,200`, `--cap S`
 * (baselines), `--sim-cap S` (default max(120, 0.3 s per peer)), `--degree K`,
 * `--shards N|auto`, `--sharded-size N` (the extra sharded row).
 */

import { fork } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { memory } from '@libp2p/memory'
import { ping } from '@libp2p/ping'
import { once } from 'node:events'
import { createServer, connect } from 'node:net'
import { SimGateway, ShardedSimulation, SimNetwork, Simulation, SocketChannel, autoShards, createRng, geographicLatency, latencyModelOf, simNodeOptions } from '@shoal/sim'
import { createLibp2p } from 'libp2p'
import { describeError } from '@shoal/utils'
import { progress } from '../options.js'
import { intListOption, nearestRank, round } from '../util.js'
import type { BenchOptions, BenchResult } from '../options.js'
import type { Libp2p } from '@libp2p/interface'
import type { SimEvent } from '@shoal/sim'

type Kind = 'sim' | 'stock' | 'stock-burst' | 'stock-settings'

interface Job {
  kind: Kind
  peers: number
  /** worker threads (sim only) */
  shards: number
  degree: number
  seed: number
  /** stock only: stop after this many seconds */
  capS: number
}

interface Measurement {
  kind: Kind
  peers: number
  shards: number
  finished: boolean
  boot_s: number | null
  /** wiring only, after boot */
  wiring_s: number | null
  total_s: number | null
  dials: number
  dials_done: number
  dials_failed: number
  connections: number
  mb_per_peer: number | null
  heap_mb_per_peer: number | null
  rss_mb: number
  lag_p99_ms: number | null
  lag_max_ms: number | null
  error?: string
}

/**
 * Event-loop delay: how late a 20 ms interval timer fires. (perf_hooks'
 * monitorEventLoopDelay records nothing while microtasks keep the loop
 * from reaching its timers phase, which is what a libp2p dial storm does.)
 */
class LagProbe {
  private readonly gaps: number[] = []
  private last = performance.now()
  private readonly timer = setInterval(() => {
    const now = performance.now()
    this.gaps.push(Math.max(0, now - this.last - 20))
    this.last = now
  }, 20)

  stop (): { p99: number | null, max: number | null } {
    clearInterval(this.timer)
    // the wait since the last tick counts too: a loop blocked to the end never ticked
    this.gaps.push(Math.max(0, performance.now() - this.last - 20))
    const sorted = this.gaps.slice().sort((a, b) => a - b)
    return { p99: round(nearestRank(sorted, 0.99), 1), max: round(sorted[sorted.length - 1], 1) }
  }
}

/** Memory per peer: growth of RSS and V8 heap between `before` and `after`, divided by `peers`. */
function footprint (before: { rss: number, heap: number }, after: { rss: number, heap: number }, peers: number, heap = true): Pick<Measurement, 'mb_per_peer' | 'heap_mb_per_peer' | 'rss_mb'> {
  return {
    mb_per_peer: round((after.rss - before.rss) / 1e6 / peers, 2),
    heap_mb_per_peer: heap ? round((after.heap - before.heap) / 1e6 / peers, 2) : null,
    rss_mb: Math.round(after.rss / 1e6)
  }
}

function memoryNow (): { rss: number, heap: number } {
  (globalThis as any).gc?.()
  const m = process.memoryUsage()
  return { rss: m.rss, heap: m.heapUsed }
}

/**
 * Stock libp2p settings on the simulated network (same latency, wiring and
 * dial pool), to isolate what the harness's configuration buys.
 */
const STOCK_SETTINGS = {
  dhtStartDelayMs: 1000,
  dhtStartSpreadMs: 0,
  stack: {
    connectionMonitor: true,
    connectionManager: { maxConnections: 300, maxIncomingPendingConnections: 10, inboundConnectionThreshold: 5, dialTimeout: 10_000, addressDialTimeout: 6_000, inboundUpgradeTimeout: 10_000 }
  }
}

/** Sharded: the coordinator in this process, the peers in `job.shards` worker threads. */
async function measureSharded (job: Job): Promise<Measurement> {
  const before = memoryNow()
  const t0 = performance.now()
  const latency = await latencyModelOf({ model: 'geographic' })
  const sim = new ShardedSimulation({
    peers: job.peers,
    shards: job.shards,
    latency: { model: 'geographic' },
    seed: job.seed,
    roles: { gpu: 1, requester: 3 },
    connect: { bootstrap: 3, degree: job.degree, nearby: 0.5 },
    onProgress: (p) => {
      if (p.phase !== 'settle' && (p.done === p.total || p.done % 500 === 0)) {
        process.stderr.write(`[bench]   sim ${job.peers} (${job.shards} shards): ${p.phase} ${p.done}/${p.total}\n`)
      }
    }
  }, latency)

  try {
    await sim.start()
    const t1 = performance.now()
    const report = await connectWithin(sim, job.capS)
    const t2 = performance.now()
    // workers share this process: its RSS covers every shard
    const after = memoryNow()
    // each shard records its own event-loop delay once a second; the coordinator's loop is idle
    const loops = sim.events.ofType('loop').filter(e => e.t <= t2 - t0 + 1000)
    const p99s = loops.map(e => Number(e.p99_ms)).sort((a, b) => a - b)
    const dials = sim.events.ofType('dial')
    return {
      kind: job.kind,
      peers: job.peers,
      shards: sim.shards,
      ...wiringFigures(job, [t0, t1, t2], report, dials),
      connections: report?.connections ?? 0,
      // workers' heaps are not this thread's
      ...footprint(before, after, job.peers, false),
      lag_p99_ms: p99s.length > 0 ? round(nearestRank(p99s, 0.99), 1) : null,
      lag_max_ms: loops.length > 0 ? round(Math.max(...loops.map(e => Number(e.max_ms))), 1) : null,
      ...(report == null ? { error: `not wired after ${job.capS} s (${dials.length} dials done)` } : {})
    }
  } finally {
    await sim.stop()
  }
}

/** A simulation row's times and dials from its start `t0`, booted `t1`, wired `t2`; `report` is undefined when the wiring was capped. */
function wiringFigures (job: Job, [t0, t1, t2]: [number, number, number], report: { dials: number, failed: number } | undefined, dials: SimEvent[]): Pick<Measurement, 'finished' | 'boot_s' | 'wiring_s' | 'total_s' | 'dials' | 'dials_done' | 'dials_failed'> {
  return {
    finished: report != null && report.failed === 0,
    boot_s: round((t1 - t0) / 1000, 2),
    wiring_s: report == null ? null : round((t2 - t1) / 1000, 2),
    total_s: report == null ? null : round((t2 - t0) / 1000, 2),
    dials: report?.dials ?? job.peers * job.degree,
    dials_done: report == null ? dials.length : report.dials - report.failed,
    dials_failed: report?.failed ?? dials.filter(e => e.ok !== true).length
  }
}

/** Runs the simulation's wiring plan; undefined when it is not done within `capS` seconds. */
async function connectWithin<R> (sim: { connect(): Promise<R> }, capS: number): Promise<R | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      sim.connect(),
      new Promise<undefined>(resolve => { timer = setTimeout(resolve, capS * 1000, undefined) })
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** One full-stack simulation of `job.peers` peers, in this process (or in shards, see measureSharded). */
async function measureSim (job: Job): Promise<Measurement> {
  if (job.shards > 1) {
    return measureSharded(job)
  }

  const latency = geographicLatency()
  const before = memoryNow()
  const lag = new LagProbe()
  const t0 = performance.now()
  const sim = new Simulation({
    peers: job.peers,
    latency,
    seed: job.seed,
    roles: { gpu: 1, requester: 3 },
    connect: { bootstrap: 3, degree: job.degree, nearby: 0.5, dialTimeoutMs: job.kind === 'stock-settings' ? 10_000 : undefined },
    ...(job.kind === 'stock-settings' ? STOCK_SETTINGS : {}),
    onProgress: (p) => {
      if (p.done === p.total || p.done % 500 === 0) {
        process.stderr.write(`[bench]   sim ${job.peers}: ${p.phase} ${p.done}/${p.total}\n`)
      }
    }
  })

  try {
    await sim.start()
    const t1 = performance.now()
    const report = await connectWithin(sim, job.capS)
    const t2 = performance.now()

    const loop = lag.stop()
    const after = memoryNow()
    const dials = sim.events.ofType('dial')
    return {
      kind: job.kind,
      peers: job.peers,
      shards: 1,
      ...wiringFigures(job, [t0, t1, t2], report, dials),
      connections: report?.connections ?? sim.network.connectionCount,
      ...footprint(before, after, job.peers),
      lag_p99_ms: loop.p99,
      lag_max_ms: loop.max,
      ...(report == null ? { error: `not wired after ${job.capS} s (${dials.length} dials done)` } : {})
    }
  } finally {
    await sim.stop()
  }
}

/** Stock libp2p on the memory transport; every peer dials `degree` random peers at once. */
/** `count` stock libp2p nodes on the memory transport. */
async function startStockNodes (count: number): Promise<Libp2p[]> {
  const nodes: Libp2p[] = []
  for (let i = 0; i < count; i++) {
    nodes.push(await createLibp2p({
      addresses: { listen: [`/memory/stock-${i}`] },
      transports: [memory()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // the two non-defaults a DHT needs on an in-process transport: server mode (no public
      // address, so it would stay a client) and keeping /memory addresses (dropped as private)
      services: { identify: identify(), ping: ping(), dht: kadDHT({ clientMode: false, peerInfoMapper: passthroughMapper }), pubsub: gossipsub() }
    }))
  }
  return nodes
}

/** Each of `peers` dials `degree` random others: [dialler, dialled] pairs, seeded. */
function dialPlan (peers: number, degree: number, seed: number): Array<[number, number]> {
  const rng = createRng(seed)
  const plan: Array<[number, number]> = []
  for (let i = 0; i < peers; i++) {
    for (const j of rng.sample(Array.from({ length: peers - 1 }, (_, k) => k < i ? k : k + 1), Math.min(degree, peers - 1))) {
      plan.push([i, j])
    }
  }
  return plan
}

async function measureStock (job: Job): Promise<Measurement> {
  const before = memoryNow()
  const lag = new LagProbe()
  const t0 = performance.now()
  const nodes = await startStockNodes(job.peers)
  const t1 = performance.now()
  const plan = dialPlan(job.peers, job.degree, job.seed)

  let done = 0
  let failed = 0
  const dial = async ([i, j]: [number, number]): Promise<void> => {
    try {
      await nodes[i].dial(nodes[j].getMultiaddrs()[0])
      done++
    } catch {
      failed++
    }
  }
  // `stock`: each peer dials its peers one after another (all peers at once), as a node joining
  // a network does; `stock-burst`: every dial of every peer at the same instant
  const all = job.kind === 'stock-burst'
    ? Promise.all(plan.map(dial))
    : Promise.all(nodes.map(async (_, i) => {
      for (const pair of plan.filter(([from]) => from === i)) {
        await dial(pair)
      }
    }))
  const capped = await Promise.race([all.then(() => false), new Promise<boolean>(resolve => setTimeout(() => resolve(true), job.capS * 1000).unref())])
  const t2 = performance.now()
  const loop = lag.stop()
  const after = memoryNow()
  const connections = nodes.reduce((a, n) => a + n.getConnections().length, 0) / 2
  // a capped run is abandoned: the process exits without a graceful stop
  if (!capped) {
    await Promise.allSettled(nodes.map(async n => n.stop()))
  }

  return {
    kind: job.kind,
    peers: job.peers,
    shards: 1,
    finished: !capped && failed === 0,
    boot_s: round((t1 - t0) / 1000, 2),
    wiring_s: capped ? null : round((t2 - t1) / 1000, 2),
    total_s: capped ? null : round((t2 - t0) / 1000, 2),
    dials: plan.length,
    dials_done: done,
    dials_failed: failed,
    connections: Math.round(connections),
    ...footprint(before, after, job.peers),
    lag_p99_ms: loop.p99,
    lag_max_ms: loop.max,
    ...(capped ? { error: `not connected after ${job.capS} s (${done}/${plan.length} dials done)` } : {})
  }
}

/** Runs one job in a child process (this file), killing it after `timeoutS`. */
async function inChild (job: Job, timeoutS: number): Promise<Measurement> {
  return new Promise(resolve => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, SIM_SCALE_JOB: JSON.stringify(job) },
      execArgv: ['--expose-gc', '--max-old-space-size=8192'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc']
    })
    let result: Measurement | undefined
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000)
    child.on('message', (m: Measurement) => { result = m })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve(result ?? {
        kind: job.kind,
        peers: job.peers,
        shards: job.shards,
        finished: false,
        boot_s: null,
        wiring_s: null,
        total_s: null,
        dials: 0,
        dials_done: 0,
        dials_failed: 0,
        connections: 0,
        mb_per_peer: null,
        heap_mb_per_peer: null,
        rss_mb: 0,
        lag_p99_ms: null,
        lag_max_ms: null,
        error: signal != null ? `killed by ${signal} after ${timeoutS} s` : `exited with code ${code}`
      })
    })
  })
}

/** The headline fields first: `{ peers, connect_s, mb_per_peer, ... }`. */
function headline (m: Measurement): Record<string, unknown> {
  const { peers, mb_per_peer: mb, kind, shards, ...rest } = m
  return { peers, connect_s: m.total_s, mb_per_peer: mb, shards, ...rest }
}

/** How a run ended, for progress lines. */
function outcome (m: Measurement): string {
  if (m.finished) return `connect ${m.total_s} s`
  return m.error ?? `${m.dials_failed} of ${m.dials} dials failed${m.total_s != null ? ` (${m.total_s} s)` : ''}`
}

/** `--key 50,100` peer counts (each above 1). */
function sizes (options: BenchOptions, key: string, fallback: number[]): number[] {
  return intListOption(options, key, fallback, n => n > 1)
}

/**
 * The `results` rows: each size in `shards` shards, in its own process,
 * plus the extra sharded row. A size that does not finish ends the
 * `--shards` ladder; the extra sharded row still runs.
 */
async function measureSimRows (simSizes: number[], shards: number, shardedSize: number, degree: number, options: BenchOptions): Promise<Measurement[]> {
  const results: Measurement[] = []
  const runs: Array<{ peers: number, shards: number }> = simSizes.map(peers => ({ peers, shards }))
  if (!runs.some(x => x.peers === shardedSize && x.shards === 2)) runs.push({ peers: shardedSize, shards: 2 })

  let ladderDone = false
  for (const { peers, shards: s } of runs) {
    if (ladderDone && s === shards) continue
    progress(`sim: ${peers} full-stack peers in ${s} shard${s > 1 ? 's' : ''}, degree ${degree}`)
    // the simulation itself gets a generous cap: the goal is to see how long it takes
    const simCapS = Number(options.extra['sim-cap'] ?? Math.max(120, peers * 0.3))
    const m = await inChild({ kind: 'sim', peers, shards: s, degree, seed: options.seed, capS: simCapS }, simCapS + 60)
    progress(`sim ${peers} (${s} shards): boot ${m.boot_s} s + wiring ${m.wiring_s} s, ${m.mb_per_peer} MB/peer${m.error != null ? ` (${m.error})` : ''}`)
    results.push(m)
    if (!m.finished && m.error != null && s === shards) ladderDone = true
  }
  return results
}

/** What each baseline kind is, for progress lines. */
const BASELINES: Record<Exclude<Kind, 'sim'>, { what: string, name: string }> = {
  stock: { what: 'stock peers on @libp2p/memory, each dialling its peers in turn', name: 'stock' },
  'stock-burst': { what: 'stock peers on @libp2p/memory, every dial at once', name: 'stock burst' },
  'stock-settings': { what: 'peers with stock libp2p settings on the same simulated network', name: 'stock settings' }
}

/** One baseline `kind` at each of `peerCounts`, each in its own process, capped at `capS`. */
async function measureBaseline (kind: Exclude<Kind, 'sim'>, peerCounts: number[], degree: number, capS: number, seed: number): Promise<Measurement[]> {
  const out: Measurement[] = []
  for (const peers of peerCounts) {
    progress(`baseline: ${peers} ${BASELINES[kind].what}, cap ${capS} s`)
    const m = await inChild({ kind, peers, shards: 1, degree, seed, capS }, capS + 60)
    progress(`${BASELINES[kind].name} ${peers}: ${outcome(m)}${kind === 'stock' ? `, ${m.mb_per_peer} MB/peer` : ''}`)
    out.push(m)
  }
  return out
}

/** The simulation against the stock baseline at the largest N both reached the end of their dials (a baseline with failed dials counts, capped ones do not). */
function stockVsSim (results: Measurement[], baseline: Measurement[]): { ratio: number | null, peers: number | null } {
  const both = results.filter(m => m.total_s != null && baseline.some(b => b.total_s != null && b.peers === m.peers))
  const cmp = both[both.length - 1]
  const stockCmp = cmp == null ? undefined : baseline.find(b => b.peers === cmp.peers)
  return {
    ratio: cmp != null && stockCmp?.total_s != null && cmp.total_s != null ? round(stockCmp.total_s / cmp.total_s, 2) : null,
    peers: cmp?.peers ?? null
  }
}

export async function run (options: BenchOptions): Promise<BenchResult> {
  const simSizes = sizes(options, 'sizes', options.quick ? [50, 100] : [50, 100, 250, 500, 1000])
  const stockSizes = sizes(options, 'baseline-sizes', options.quick ? [50] : [50, 100, 200])
  const capS = Number(options.extra.cap ?? (options.quick ? 8 : 60))
  const degree = Number.parseInt(options.extra.degree ?? '4', 10)
  const shards = options.extra.shards === 'auto' ? autoShards() : Number.parseInt(options.extra.shards ?? '1', 10)
  if (!Number.isSafeInteger(shards) || shards < 1) throw new Error(`--shards must be "auto" or a positive integer, got ${options.extra.shards}`)
  const shardedSize = Number.parseInt(options.extra['sharded-size'] ?? (options.quick ? '50' : '1000'), 10)

  const results = await measureSimRows(simSizes, shards, shardedSize, degree, options)

  progress('gateway: ping RTT vs oracle within a shard, across shards and over a TCP gateway')
  const gateway = await measureGateway(options.seed, options.quick ? 10 : 40)
  progress(`gateway: ${JSON.stringify(gateway)}`)

  const baseline = await measureBaseline('stock', stockSizes, degree, capS, options.seed)
  const burst = await measureBaseline('stock-burst', options.quick ? [] : stockSizes, degree, capS, options.seed)
  // skipped by --quick to stay under a minute on a busy machine
  const sameNetwork = await measureBaseline('stock-settings', options.quick ? [] : simSizes.filter(n => n >= 100 && n <= 500), degree, capS, options.seed)

  const unsharded = results.filter(m => m.shards === 1)
  const settingsCmp = sameNetwork.map(m => {
    const ours = unsharded.find(x => x.peers === m.peers)
    return { peers: m.peers, stock_settings_s: m.total_s, sim_s: ours?.total_s ?? null, stock_settings_finished: m.finished }
  })
  const cmp = stockVsSim(unsharded, baseline)
  const at500 = results.find(m => m.peers === 500 && m.shards === shards)

  return {
    results: results.map(headline),
    baseline: baseline.map(headline),
    baseline_burst: burst.map(headline),
    baseline_stock_settings_on_sim: sameNetwork.map(headline),
    ratio_connect_s_stock_vs_sim: cmp.ratio,
    ratio_at_peers: cmp.peers,
    stock_settings_vs_sim: settingsCmp,
    goal_500_in_60s: at500 == null ? null : at500.finished && (at500.total_s ?? Infinity) <= 60,
    goal_500_under_8gb: at500 == null ? null : at500.rss_mb <= 8192,
    gateway,
    notes: 'connect_s = boot + wiring (seconds until every planned dial completed); mb_per_peer = process RSS growth / N (heap_mb_per_peer: V8 heap after gc); sim peers have a 3-bootstrap + 4-dial wiring over geographic latency (RTT, jitter, loss) and their DHT bootstrap deferred until after the wiring; baseline: stock options except kad-dht clientMode false + passthroughMapper (else the DHT never runs in one process), zero-latency @libp2p/memory, each peer dials 4 random peers in turn (baseline_burst: all at once); baseline_stock_settings_on_sim: stock settings on the same simulated network and wiring as results; unfinished runs are marked finished=false with connect_s=null; shards = worker threads of the row (their RSS is the whole process; lag = the worst shard\'s per-second p99); gateway: median |RTT - oracle| in ms (overhead_*_mean_ms: difference of the means) of warm libp2p pings (whole ms) within one shard, across two worker-thread shards (MessagePort gateway) and across a TCP gateway on 127.0.0.1 between two networks of one process'
  }
}

interface GatewayFigures {
  pings: number
  in_shard_err_ms: number | null
  cross_shard_err_ms: number | null
  tcp_gateway_err_ms: number | null
  tcp_local_err_ms: number | null
  overhead_worker_ms: number | null
  overhead_tcp_ms: number | null
  /** the same differences of the means: what stalls of a busy core add */
  overhead_worker_mean_ms: number | null
  overhead_tcp_mean_ms: number | null
}

function meanAbs (xs: number[]): number | null {
  return xs.length === 0 ? null : round(xs.reduce((a, x) => a + Math.abs(x), 0) / xs.length, 2)
}

function diff (a: number | null, b: number | null): number | null {
  return a != null && b != null ? round(a - b, 2) : null
}

/** Median of |x|: one ping stalled by a busy core must not stand for the gateway. */
function medianAbs (xs: number[]): number | null {
  const sorted = xs.map(Math.abs).sort((a, b) => a - b)
  return sorted.length === 0 ? null : round(sorted[Math.floor(sorted.length / 2)], 2)
}

/**
 * Warm ping RTTs minus the oracle's between peers of one shard and of two
 * shards (worker threads, MessagePort gateway).
 */
async function pingsAcrossShards (seed: number, pings: number): Promise<{ inShard: number[], crossShard: number[] }> {
  const latency = await latencyModelOf({ model: 'geographic' })
  const sim = new ShardedSimulation({
    peers: 8,
    shards: 2,
    latency: { model: 'geographic' },
    seed,
    links: { loss: 0, jitter: { floorMs: 0, fraction: 0 } },
    connect: { bootstrap: 2, degree: 2 },
    dhtStartDelayMs: 600_000
  }, latency)
  const inShard: number[] = []
  const crossShard: number[] = []

  try {
    await sim.start()
    await sim.connect()
    const pairs: Array<[number, number, number[]]> = [[0, 1, inShard], [0, 5, crossShard], [2, 3, inShard], [2, 6, crossShard]]
    for (const [a, b] of pairs) await sim.ping(a, b)
    for (let i = 0; i < pings; i++) {
      for (const [a, b, out] of pairs) {
        const res = await sim.ping(a, b)
        if (res.rttMs != null) out.push(res.rttMs - res.oracleMs)
      }
    }
  } finally {
    await sim.stop()
  }
  return { inShard, crossShard }
}

/**
 * Warm ping RTTs minus the link's 80 ms between two networks of this
 * process joined by a TCP gateway on 127.0.0.1 (`tcp`), and over a link
 * inside one of them (`local`).
 */
async function pingsOverTcp (seed: number, pings: number): Promise<{ tcp: number[], local: number[] }> {
  const profile = (from: string, to: string): { rttMs: number } => ({ rttMs: from === to ? 2 : 80 })
  const nets = [new SimNetwork({ linkProfile: profile, seed }), new SimNetwork({ linkProfile: profile, seed: seed + 1 })]
  const route = (address: string): { shard: number, site: string } | undefined => {
    const m = /^\/memory\/gw-(\d)-(\w+)$/.exec(address)
    return m == null ? undefined : { shard: Number(m[1]), site: m[2] }
  }
  const gateways = nets.map((network, shard) => new SimGateway({ network, shard, route }))
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  const accepted = once(server, 'connection')
  const client = connect(port, '127.0.0.1')
  await once(client, 'connect')
  const [serverSide] = await accepted
  gateways[0].addChannel(1, new SocketChannel(client))
  gateways[1].addChannel(0, new SocketChannel(serverSide))
  const key = async (i: number): Promise<any> => (await import('@libp2p/crypto/keys')).generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(i + 1))
  const make = async (net: SimNetwork, listen: string, i: number): Promise<any> => createLibp2p(simNodeOptions({
    network: net,
    site: route(listen)?.site ?? '?',
    listen,
    privateKey: await key(i),
    dhtStartDelayMs: 600_000
  }))
  const a = await make(nets[0], '/memory/gw-0-paris', 0)
  const b = await make(nets[1], '/memory/gw-1-tokyo', 1)
  const c = await make(nets[0], '/memory/gw-0-tokyo', 2)
  const tcp: number[] = []
  const local: number[] = []

  try {
    await a.dial(b.getMultiaddrs()[0])
    await a.dial(c.getMultiaddrs()[0])
    await a.services.ping.ping(b.peerId)
    await a.services.ping.ping(c.peerId)
    for (let i = 0; i < pings; i++) {
      tcp.push(await a.services.ping.ping(b.peerId) - 80)
      local.push(await a.services.ping.ping(c.peerId) - 80)
    }
  } finally {
    await Promise.allSettled([a, b, c].map(async n => n.stop()))
    gateways.forEach(g => { g.close() })
    nets.forEach(n => { n.close() })
    server.close()
  }
  return { tcp, local }
}

/**
 * What the gateway adds to an RTT: warm pings between peers of one shard
 * and of two shards (worker threads), and between two networks joined by a
 * TCP gateway, each compared with the oracle RTT.
 */
async function measureGateway (seed: number, pings: number): Promise<GatewayFigures> {
  const { inShard, crossShard } = await pingsAcrossShards(seed, pings)
  const { tcp, local } = await pingsOverTcp(seed, pings)

  const inErr = medianAbs(inShard)
  const crossErr = medianAbs(crossShard)
  const tcpErr = medianAbs(tcp)
  const localErr = medianAbs(local)
  return {
    pings,
    in_shard_err_ms: inErr,
    cross_shard_err_ms: crossErr,
    tcp_gateway_err_ms: tcpErr,
    tcp_local_err_ms: localErr,
    overhead_worker_ms: diff(crossErr, inErr),
    overhead_tcp_ms: diff(tcpErr, localErr),
    overhead_worker_mean_ms: diff(meanAbs(crossShard), meanAbs(inShard)),
    overhead_tcp_mean_ms: diff(meanAbs(tcp), meanAbs(local))
  }
}

// child mode: run one job and report it over IPC
if (process.env.SIM_SCALE_JOB != null && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const job: Job = JSON.parse(process.env.SIM_SCALE_JOB)
  // libp2p can throw from a timer while hundreds of nodes shut down (a yamux window update on a
  // closed connection); the measurement is taken by then and must not be lost to it
  process.on('uncaughtException', (err) => { process.stderr.write(`[bench]   ignored: ${describeError(err)}\n`) })
  const measure = job.kind === 'sim' || job.kind === 'stock-settings' ? measureSim : measureStock
  measure(job).then(m => {
    process.send?.(m, () => process.exit(0))
  }, (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
    process.exit(1)
  })
}
