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
 * adds a row of 1000 peers in 2 shards (`--quick`: 30 peers in 2 shards),
 * and `gateway` compares ping RTTs within a shard, across shards (worker
 * threads, MessagePort gateway) and over a TCP gateway on 127.0.0.1 with
 * the oracle, to show what the gateway adds.
 *
 * Speed of simulation (simulated seconds per real second, on virtual
 * time; each row in its own process too):
 * - `world_100`: `examples/simulation/world-100.json` with
 *   `runScenario(scenario, { shards: 1 })`, for the whole run and per
 *   phase (boot+wire, settle, the timeline alone), with the market's
 *   `job_success_ratio` to show it did the work;
 * - `peers_1000`: `--steady-peers` (1000) full-stack peers booted and wired
 *   as the `results` rows are, every peer's DHT bootstrapped, then a steady
 *   period of `--steady-s` (60) simulated seconds: gossipsub heartbeats on
 *   a topic every peer joined, a message and a round of `--ping-pairs` (30)
 *   random pings every `--ping-every-s` (5); speed of each phase, RSS. The
 *   goal: the steady period faster than real time at 1000 peers;
 * - `wire_virtual_vs_wall`: the same boot+wire of `--wire-size` (250) peers
 *   on the wall clock and on virtual time (a steady period on the wall
 *   clock would be 1.0x by definition).
 * `--only speed` runs these rows alone; `--quick` runs `world_100` and
 * `wire_virtual_vs_wall` only when `--world-duration S` / `--wire-size N`
 * ask for them, and steadies 40 peers for 10 s. `SIM_SCALE_PROF=DIR` makes
 * every child write a V8 CPU profile to DIR; the speed rows' children also
 * print where their phases start.
 *
 * `--sizes 100,250,500,1000`, `--baseline-sizes 50,100,200`, `--cap S`
 * (baselines), `--sim-cap S` (default max(120, 0.3 s per peer)), `--degree K`,
 * `--shards N|auto`, `--sharded-size N` (the extra sharded row),
 * `--world-duration S`, `--steady-peers N`, `--steady-s S`, `--ping-pairs N`,
 * `--ping-every-s S`, `--dht-delay-s S` / `--dht-spread-s S` (the steady
 * row's DHT start), `--steady-cap S`, `--wire-size N`.
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
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SimGateway, ShardedSimulation, SimNetwork, Simulation, SocketChannel, autoShards, createRng, geographicLatency, latencyModelOf, parseScenario, runScenario, simNodeOptions, wallNow } from '@shoal/sim'
import { createLibp2p } from 'libp2p'
import { describeError, sleep } from '@shoal/utils'
import { progress } from '../options.js'
import { intListOption, intOption, nearestRank, numOption, onSimClock, repoRoot, round, speedOf } from '../util.js'
import type { BenchClock } from '../util.js'
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

/** A job of the speed rows (see {@link measureSteady} and {@link measureWorld}), run in a child process too. */
type SpeedJob = SteadyJob | WorldJob

interface SteadyJob {
  kind: 'steady'
  peers: number
  degree: number
  seed: number
  time: BenchClock
  /** simulated seconds of the steady period; 0 stops after the wiring */
  steadyS: number
  /** a ping round every this many simulated seconds */
  pingEveryS: number
  /** random pairs pinged per round */
  pingPairs: number
  /** the DHT's first self-query, ms after a peer starts (plus a seeded spread); harness defaults when unset */
  dhtStartDelayMs?: number
  dhtStartSpreadMs?: number
}

interface WorldJob {
  kind: 'world'
  seed: number
  /** the scenario's duration, overridden (e.g. shorter for --quick) */
  durationS?: number
  /** the DHT's start, sooner than the harness default for a short run */
  tuning?: { dhtStartDelayMs: number, dhtStartSpreadMs: number }
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

// taken before any virtual clock patches process.hrtime
const hrtimeBigint = process.hrtime.bigint
function monotonicUs (): number {
  return Number(hrtimeBigint() / 1000n)
}

/** Simulated and real seconds of one phase of a run, and their ratio (above 1: faster than real time). */
interface PhaseSpeed {
  simulated_s: number | null
  wall_s: number | null
  simulated_s_per_wall_s: number | null
  /**
   * CPU seconds this process spent (user + system, every thread: GC
   * helpers too). Steadier than wall_s on a shared machine: cpu_s well
   * below wall_s means the process waited for a core.
   */
  cpu_s?: number | null
}

/**
 * Marks of a run's phases on both clocks: `performance.now()` (simulated
 * time while a virtual clock is installed) and {@link wallNow} (real).
 * Every mark must be taken on the same clock as the others.
 */
class PhaseMarks {
  private readonly marks = new Map<string, { sim: number, wall: number, cpu: number }>()

  /** Marks `name` now, unless it is marked already. */
  mark (name: string): void {
    if (this.marks.has(name)) return
    const cpu = process.cpuUsage()
    this.marks.set(name, { sim: performance.now(), wall: wallNow(), cpu: (cpu.user + cpu.system) / 1e6 })
    if (process.env.SIM_SCALE_PROF != null) {
      // the monotonic clock of V8's CPU profiles, µs: where each phase starts in a profile
      process.stderr.write(`[bench]   mark ${name} ${monotonicUs()}\n`)
    }
  }

  has (name: string): boolean {
    return this.marks.has(name)
  }

  /** From mark `from` to mark `to`; nulls when either is missing. */
  between (from: string, to: string): PhaseSpeed {
    const a = this.marks.get(from)
    const b = this.marks.get(to)
    if (a == null || b == null) return { simulated_s: null, wall_s: null, simulated_s_per_wall_s: null, cpu_s: null }
    return { ...speedOf((b.sim - a.sim) / 1000, (b.wall - a.wall) / 1000), cpu_s: round(b.cpu - a.cpu, 1) }
  }
}


/** The gossipsub topic every peer of a steady run joins, so heartbeats keep a mesh. */
const STEADY_TOPIC = 'shoal-sim-scale'

interface SteadyMeasurement {
  kind: 'steady'
  peers: number
  time: BenchClock
  finished: boolean
  dials: number
  dials_failed: number
  connections: number
  /** start and wiring of every peer */
  boot_wire: PhaseSpeed
  /** from the end of the wiring until every peer's DHT has bootstrapped */
  dht_settle: PhaseSpeed | null
  /** the steady period: the figure the goal is about */
  steady: PhaseSpeed | null
  ping_rounds: number
  pings_ok: number
  pings_failed: number
  /** median |libp2p ping RTT - oracle RTT| of the steady period's pings, ms */
  ping_err_p50_ms: number | null
  messages_published: number
  /** deliveries of the published messages / (messages x (peers - 1)) */
  gossip_delivery_ratio: number | null
  dht_table_mean: number | null
  gossip_mesh_mean: number | null
  /** connections open at the end (the DHT's bootstrap opens many beside the wiring's) */
  connections_end: number
  rss_mb: number
  /** V8 heap after a full GC */
  heap_mb: number
  error?: string
}

/** RSS and V8 heap (after a full GC), MB. */
function memoryFigures (): { rss_mb: number, heap_mb: number } {
  const m = memoryNow()
  return { rss_mb: Math.round(m.rss / 1e6), heap_mb: Math.round(m.heap / 1e6) }
}

/**
 * One full-stack simulation of `job.peers` peers (as the `results` rows
 * build it) booted and wired on `job.time`, then (unless `steadyS` is 0)
 * every peer's DHT bootstrapped and a steady period of `steadyS` simulated
 * seconds: gossipsub heartbeats on one topic every peer joined, a message
 * published and a round of random pings every `pingEveryS`, the DHT
 * answering whatever is asked of it. Reports each phase's speed.
 */
async function measureSteady (job: SteadyJob): Promise<SteadyMeasurement> {
  const marks = new PhaseMarks()
  const { value } = await onSimClock(job.time, job.seed, async () => {
    marks.mark('start')
    const sim = new Simulation({
      peers: job.peers,
      latency: geographicLatency(),
      seed: job.seed,
      roles: { gpu: 1, requester: 3 },
      connect: { bootstrap: 3, degree: job.degree, nearby: 0.5 },
      dhtStartDelayMs: job.dhtStartDelayMs,
      dhtStartSpreadMs: job.dhtStartSpreadMs,
      onProgress: (p) => {
        if (p.done === p.total || p.done % (p.phase === 'settle' ? 5 : 500) === 0) {
          process.stderr.write(`[bench]   steady ${job.peers} (${job.time}): ${p.phase} ${p.done}/${p.total}\n`)
        }
      }
    })

    try {
      await sim.start()
      const report = await sim.connect()
      marks.mark('wired')
      const base = { finished: report.failed === 0, dials: report.dials, dials_failed: report.failed, connections: report.connections }
      if (job.steadyS === 0) {
        return { ...base, ...emptySteady(), connections_end: report.connections, ...memoryFigures() }
      }

      for (const peer of sim.running()) peer.node?.services.pubsub.subscribe(STEADY_TOPIC)
      await sim.settle()
      marks.mark('settled')
      process.stderr.write(`[bench]   steady ${job.peers}: DHT bootstrapped, steady period of ${job.steadyS} simulated s\n`)
      const steady = await steadyPeriod(sim, job)
      marks.mark('steady')
      const running = sim.running()
      const tables = running.map(p => (p.node?.services.dht as { routingTable?: { size: number } } | undefined)?.routingTable?.size).filter((n): n is number => n != null)
      const meshes = running.map(p => (p.node?.services.pubsub as { getMeshPeers?: (topic: string) => string[] } | undefined)?.getMeshPeers?.(STEADY_TOPIC).length).filter((n): n is number => n != null)
      return {
        ...base,
        ...steady,
        dht_table_mean: tables.length === 0 ? null : round(tables.reduce((a, b) => a + b, 0) / tables.length, 1),
        gossip_mesh_mean: meshes.length === 0 ? null : round(meshes.reduce((a, b) => a + b, 0) / meshes.length, 1),
        connections_end: sim.network.connectionCount,
        ...memoryFigures()
      }
    } finally {
      await sim.stop()
    }
  })

  return {
    kind: 'steady',
    peers: job.peers,
    time: job.time,
    ...value,
    boot_wire: marks.between('start', 'wired'),
    dht_settle: marks.has('settled') ? marks.between('wired', 'settled') : null,
    steady: marks.has('steady') ? marks.between('settled', 'steady') : null
  }
}

type SteadyFigures = Pick<SteadyMeasurement, 'ping_rounds' | 'pings_ok' | 'pings_failed' | 'ping_err_p50_ms' | 'messages_published' | 'gossip_delivery_ratio' | 'dht_table_mean' | 'gossip_mesh_mean'>

function emptySteady (): SteadyFigures {
  return { ping_rounds: 0, pings_ok: 0, pings_failed: 0, ping_err_p50_ms: null, messages_published: 0, gossip_delivery_ratio: null, dht_table_mean: null, gossip_mesh_mean: null }
}

/**
 * `job.steadyS` seconds (on the run's clock) of a wired, bootstrapped
 * network: at its start and every `pingEveryS` after, a random peer
 * publishes on the topic and `pingPairs` random pairs are pinged (as a
 * scenario's ping rounds do).
 */
async function steadyPeriod (sim: Simulation, job: SteadyJob): Promise<Omit<SteadyFigures, 'dht_table_mean' | 'gossip_mesh_mean'>> {
  const rng = createRng(job.seed).fork('steady')
  const errors: number[] = []
  let ok = 0
  let failed = 0
  let delivered = 0
  let published = 0
  const onMessage = (): void => { delivered++ }
  const running = sim.running()
  for (const peer of running) peer.node?.services.pubsub.addEventListener('message', onMessage)
  const origin = performance.now()
  let rounds = 0

  // rounds at 0, every, 2 x every... before the end, so the last one's message and pings have time to arrive
  for (let n = 0, t = 0; t < job.steadyS; n++, t += job.pingEveryS) {
    await sleep(origin + t * 1000 - performance.now())
    const from = rng.pick(running)
    published++
    from.node?.services.pubsub.publish(STEADY_TOPIC, new TextEncoder().encode(`steady ${n}`)).catch(() => {})
    rounds++
    sim.measurePings(job.pingPairs, rng.fork(`round-${n}`)).then(results => {
      for (const r of results) {
        if (r.rttMs == null) {
          failed++
        } else {
          ok++
          errors.push(Math.abs(r.rttMs - r.oracleMs))
        }
      }
    }, () => { failed += job.pingPairs })
  }
  await sleep(origin + job.steadyS * 1000 - performance.now())
  // a round still in flight at the end is not waited for: it would stretch the period
  for (const peer of running) peer.node?.services.pubsub.removeEventListener('message', onMessage)
  errors.sort((a, b) => a - b)
  return {
    ping_rounds: rounds,
    pings_ok: ok,
    pings_failed: failed,
    ping_err_p50_ms: errors.length === 0 ? null : round(nearestRank(errors, 0.5), 2),
    messages_published: published,
    gossip_delivery_ratio: published === 0 ? null : round(delivered / (published * (running.length - 1)), 3)
  }
}

/** How often `runScenario` reports the timeline's progress, simulated s. */
const RUN_PROGRESS_S = 0.25

interface WorldMeasurement {
  kind: 'world'
  peers: number
  duration_s: number
  finished: boolean
  /** the whole run: start, wiring, settle, market opening, timeline, drain, stop */
  whole: PhaseSpeed
  boot_wire: PhaseSpeed
  /** the DHT's bootstrap (settle) and the market's opening (providers advertising) */
  settle_open: PhaseSpeed
  /** the timeline alone (jobs, pings, churn, partition), from its first progress report to its end */
  timeline: PhaseSpeed
  jobs: number | null
  completed: number | null
  job_success_ratio: number | null
  pings_ok: number
  rss_mb: number
  error?: string
}

/**
 * The world-100 example scenario (`examples/simulation/world-100.json`) run
 * as `shoal-sim run` would, in one shard on virtual time; phases are marked
 * by the run's progress reports (each at most 1 simulated s late; the
 * timeline from its first report, 0.25 s in, to its last, 0.25 s before
 * the end).
 */
async function measureWorld (job: WorldJob): Promise<WorldMeasurement> {
  const root = repoRoot()
  if (root == null) throw new Error('repository root not found')
  const dir = join(root, 'examples', 'simulation')
  const path = join(dir, 'world-100.json')
  const scenario = parseScenario(await readFile(path, 'utf8'), path)
  scenario.seed = job.seed
  if (job.durationS != null) scenario.durationS = job.durationS
  const marks = new PhaseMarks()
  let last = ''

  const result = await runScenario(scenario, {
    shards: 1,
    baseDir: dir,
    tuning: job.tuning,
    onProgress: (p) => {
      marks.mark(p.phase)
      // the run reports every 250 simulated ms from 0.25 s; its last report before the end is at durationS - 0.25
      // (the final one comes after the drain)
      if (p.phase === 'run' && p.elapsedS >= p.durationS - RUN_PROGRESS_S - 1e-6) marks.mark('run:end')
      const line = p.phase === 'run' ? `run ${Math.floor(p.elapsedS / 10) * 10}/${p.durationS} s` : `${p.phase} ${p.done}/${p.total}`
      if (line !== last && (p.phase === 'run' || p.done === p.total)) process.stderr.write(`[bench]   world-100: ${line}\n`)
      last = line
    }
  })
  const t = result.timing
  const m = result.market
  return {
    kind: 'world',
    peers: result.peers.length,
    duration_s: scenario.durationS,
    finished: true,
    // the run's own figures: total_s on its virtual clock, wall_s on the real one
    whole: speedOf(t.total_s, t.wall_s ?? NaN),
    boot_wire: marks.between('start', 'settle'),
    settle_open: marks.between('settle', 'run'),
    timeline: marks.between('run', 'run:end'),
    jobs: m?.jobs ?? null,
    completed: m?.completed ?? null,
    job_success_ratio: m?.job_success_ratio == null ? null : round(m.job_success_ratio, 3),
    pings_ok: result.events.filter(e => e.type === 'ping' && e.ok === true).length,
    rss_mb: Math.round(result.memory.rss_mb)
  }
}

/** Runs one job in a child process (this file), killing it after `timeoutS`. */
async function inChild (job: Job, timeoutS: number): Promise<Measurement> {
  return inChildOf(job, timeoutS, (error) => ({
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
    error
  }))
}

/** Runs any job in a child process (this file); `failed(error)` stands for a child that sent nothing. */
async function inChildOf<R> (job: Job | SpeedJob, timeoutS: number, failed: (error: string) => R): Promise<R> {
  return new Promise(resolve => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, SIM_SCALE_JOB: JSON.stringify(job) },
      execArgv: ['--expose-gc', '--max-old-space-size=8192', ...childExecArgv()],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc']
    })
    let result: R | undefined
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000)
    child.on('message', (m: R) => { result = m })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve(result ?? failed(signal != null ? `killed by ${signal} after ${timeoutS} s` : `exited with code ${code}`))
    })
  })
}

/** `SIM_SCALE_PROF=DIR`: children write V8 CPU profiles there (`--cpu-prof`), to see what a row spends its CPU on. */
function childExecArgv (): string[] {
  const dir = process.env.SIM_SCALE_PROF
  return dir == null || dir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`]
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

/**
 * The steady row's DHT start: a peer's first self-query this long after it
 * starts (plus 20 ms per peer), plus up to the spread. On virtual time the
 * wiring takes ~20 simulated ms per peer (1000 peers: 20.6 s), not the
 * harness default's 100 ms per peer of a busy wall clock; the DHT still
 * bootstraps after it.
 */
const STEADY_DHT_DELAY_S = 2
const STEADY_DHT_DELAY_PER_PEER_MS = 20
const STEADY_DHT_SPREAD_S = 10

const SPEED_NOTES = 'simulated_s_per_wall_s = simulated seconds / real seconds of a phase on virtual time (above 1: faster than real time); world_100: examples/simulation/world-100.json in one shard (timeline = the scenario\'s durationS of jobs, pings, churn and partition, from 0.25 s to durationS - 0.25 s; boot_wire and settle_open (DHT bootstrap and the market\'s advertising) marked by progress reports, up to 1 simulated s late; cpu_s = CPU seconds of the process in the phase); peers_1000: --steady-peers full-stack peers wired as results are, every peer joined to one gossipsub topic, DHT bootstrapped (dht_settle), then --steady-s simulated s with a gossipsub message and --ping-pairs random pings every --ping-every-s s (steady, the goal\'s figure); wire_virtual_vs_wall: the same boot+wire of --wire-size peers on the wall clock and on virtual time (real seconds of each, and their ratio)'

/** The speed rows: world-100, the steady network of `--steady-peers`, and boot+wire on both clocks. */
interface SpeedRows {
  world_100: WorldMeasurement
  peers_1000: SteadyMeasurement
  /** null with --quick */
  wire_virtual_vs_wall: { peers: number, wall_clock: PhaseSpeed, virtual: PhaseSpeed, wall_s_ratio_wall_vs_virtual: number | null } | null
}

function failedSteady (job: SteadyJob, error: string): SteadyMeasurement {
  const none = { simulated_s: null, wall_s: null, simulated_s_per_wall_s: null }
  return { kind: 'steady', peers: job.peers, time: job.time, finished: false, dials: 0, dials_failed: 0, connections: 0, boot_wire: none, dht_settle: null, steady: null, ...emptySteady(), connections_end: 0, rss_mb: 0, heap_mb: 0, error }
}

function speedLine (s: PhaseSpeed | null): string {
  return s == null ? 'n/a' : `${s.simulated_s} simulated s in ${s.wall_s} s (${s.simulated_s_per_wall_s}x)`
}

async function measureSpeedRows (options: BenchOptions, degree: number): Promise<SpeedRows> {
  const quick = options.quick
  const seed = options.seed
  // the scenario's own duration unless asked (--quick runs world-100 only when asked)
  const worldDuration = options.extra['world-duration'] == null ? undefined : numOption(options, 'world-duration', 60)
  const worldJob: WorldJob = {
    kind: 'world',
    seed,
    durationS: worldDuration,
    // a short run has no time to wait for the harness's DHT start (5 s + 100 ms per peer)
    tuning: quick ? { dhtStartDelayMs: 1_500, dhtStartSpreadMs: 2_000 } : undefined
  }
  const failedWorld = (error: string): WorldMeasurement => ({
    kind: 'world', peers: 0, duration_s: worldDuration ?? 0, finished: false,
    whole: speedOf(NaN, NaN), boot_wire: speedOf(NaN, NaN), settle_open: speedOf(NaN, NaN), timeline: speedOf(NaN, NaN),
    jobs: null, completed: null, job_success_ratio: null, pings_ok: 0, rss_mb: 0, error
  })
  let world: WorldMeasurement
  if (quick && options.extra['world-duration'] == null) {
    // its DHT bootstrap and the market's advertising alone take minutes of CPU: a full-run row (or --world-duration S)
    world = failedWorld('full run only (--quick stays under a minute): pass --world-duration S to run it')
    progress('world-100: skipped by --quick')
  } else {
    progress(`world-100: examples/simulation/world-100.json in one shard on virtual time${worldDuration != null ? `, ${worldDuration} s` : ''}`)
    world = await inChildOf<WorldMeasurement>(worldJob, quick ? 240 : 1800, failedWorld)
    progress(`world-100: whole ${speedLine(world.whole)}, timeline ${speedLine(world.timeline)}, job_success_ratio ${world.job_success_ratio}${world.error != null ? ` (${world.error})` : ''}`)
  }

  const steadyPeers = intOption(options, 'steady-peers', quick ? 40 : 1000)
  const steadyJob: SteadyJob = {
    kind: 'steady',
    peers: steadyPeers,
    degree,
    seed,
    time: 'virtual',
    steadyS: numOption(options, 'steady-s', quick ? 10 : 60),
    pingEveryS: numOption(options, 'ping-every-s', 5),
    pingPairs: intOption(options, 'ping-pairs', 30),
    dhtStartDelayMs: numOption(options, 'dht-delay-s', STEADY_DHT_DELAY_S + STEADY_DHT_DELAY_PER_PEER_MS * steadyPeers / 1000) * 1000,
    dhtStartSpreadMs: numOption(options, 'dht-spread-s', STEADY_DHT_SPREAD_S) * 1000
  }
  progress(`steady: ${steadyJob.peers} full-stack peers on virtual time, ${steadyJob.steadyS} simulated s steady (pings of ${steadyJob.pingPairs} pairs and a gossipsub message every ${steadyJob.pingEveryS} s)`)
  const steady = await inChildOf(steadyJob, numOption(options, 'steady-cap', quick ? 120 : 3600), error => failedSteady(steadyJob, error))
  progress(`steady ${steady.peers}: boot+wire ${speedLine(steady.boot_wire)}, DHT settle ${speedLine(steady.dht_settle)}, steady ${speedLine(steady.steady)}, ${steady.rss_mb} MB${steady.error != null ? ` (${steady.error})` : ''}`)

  const wirePeers = intOption(options, 'wire-size', 250)
  if (quick && options.extra['wire-size'] == null) {
    progress('boot+wire on both clocks: skipped by --quick (--wire-size N runs it)')
    return { world_100: world, peers_1000: steady, wire_virtual_vs_wall: null }
  }
  const wireJob = (time: BenchClock): SteadyJob => ({ kind: 'steady', peers: wirePeers, degree, seed, time, steadyS: 0, pingEveryS: 5, pingPairs: 0 })
  progress(`boot+wire of ${wirePeers} peers on the wall clock, then on virtual time`)
  const [wallJob, virtualJob] = [wireJob('wall'), wireJob('virtual')]
  const onWall = await inChildOf(wallJob, 600, error => failedSteady(wallJob, error))
  const onVirtual = await inChildOf(virtualJob, 600, error => failedSteady(virtualJob, error))
  const ratio = onWall.boot_wire.wall_s != null && onVirtual.boot_wire.wall_s != null ? round(onWall.boot_wire.wall_s / Math.max(onVirtual.boot_wire.wall_s, 1e-3), 2) : null
  progress(`boot+wire ${wirePeers}: wall clock ${speedLine(onWall.boot_wire)}, virtual ${speedLine(onVirtual.boot_wire)}`)

  return {
    world_100: world,
    peers_1000: steady,
    wire_virtual_vs_wall: { peers: wirePeers, wall_clock: onWall.boot_wire, virtual: onVirtual.boot_wire, wall_s_ratio_wall_vs_virtual: ratio }
  }
}

export async function run (options: BenchOptions): Promise<BenchResult> {
  const degree = Number.parseInt(options.extra.degree ?? '4', 10)
  if (options.extra.only === 'speed') {
    return { ...await measureSpeedRows(options, degree), notes: SPEED_NOTES }
  }
  const simSizes = sizes(options, 'sizes', options.quick ? [30] : [50, 100, 250, 500, 1000])
  const stockSizes = sizes(options, 'baseline-sizes', options.quick ? [30] : [50, 100, 200])
  const capS = Number(options.extra.cap ?? (options.quick ? 8 : 60))
  const shards = options.extra.shards === 'auto' ? autoShards() : Number.parseInt(options.extra.shards ?? '1', 10)
  if (!Number.isSafeInteger(shards) || shards < 1) throw new Error(`--shards must be "auto" or a positive integer, got ${options.extra.shards}`)
  const shardedSize = Number.parseInt(options.extra['sharded-size'] ?? (options.quick ? '30' : '1000'), 10)

  const results = await measureSimRows(simSizes, shards, shardedSize, degree, options)

  progress('gateway: ping RTT vs oracle within a shard, across shards and over a TCP gateway')
  const gateway = await measureGateway(options.seed, options.quick ? 10 : 40)
  progress(`gateway: ${JSON.stringify(gateway)}`)

  const baseline = await measureBaseline('stock', stockSizes, degree, capS, options.seed)
  const burst = await measureBaseline('stock-burst', options.quick ? [] : stockSizes, degree, capS, options.seed)
  // skipped by --quick to stay under a minute on a busy machine
  const sameNetwork = await measureBaseline('stock-settings', options.quick ? [] : simSizes.filter(n => n >= 100 && n <= 500), degree, capS, options.seed)

  const speed = await measureSpeedRows(options, degree)

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
    ...speed,
    goal_1000_faster_than_real_time: speed.peers_1000.peers >= 1000 && speed.peers_1000.steady?.simulated_s_per_wall_s != null ? speed.peers_1000.steady.simulated_s_per_wall_s > 1 : null,
    notes_speed: SPEED_NOTES,
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
  const job: Job | SpeedJob = JSON.parse(process.env.SIM_SCALE_JOB)
  // libp2p can throw from a timer while hundreds of nodes shut down (a yamux window update on a
  // closed connection); the measurement is taken by then and must not be lost to it
  process.on('uncaughtException', (err) => { process.stderr.write(`[bench]   ignored: ${describeError(err)}\n`) })
  const measured: Promise<unknown> = job.kind === 'steady'
    ? measureSteady(job)
    : job.kind === 'world'
      ? measureWorld(job)
      : job.kind === 'sim' || job.kind === 'stock-settings' ? measureSim(job) : measureStock(job)
  measured.then(m => {
    if (process.send == null) {
      // run by hand (e.g. under a profiler): the result on stdout
      process.stdout.write(`${JSON.stringify(m)}\n`, () => process.exit(0))
      return
    }
    process.send(m, () => process.exit(0))
  }, (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
    process.exit(1)
  })
}
