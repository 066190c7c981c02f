import { isAbsolute, resolve } from 'node:path'
import { geographicLatency } from '../latency/geographic.js'
import { loadLatency } from '../latency/load.js'
import { placePeers } from '../latency/placement.js'
import { worldCities } from '../latency/world-cities.js'
import { createRng } from '../random.js'
import { Simulation } from '../harness/simulation.js'
import { autoShards, ShardedSimulation } from '../shard/sharded-simulation.js'
import type { ShardedSimulationInit } from '../shard/sharded-simulation.js'
import { ScenarioError } from './errors.js'
import type { AdversarySpec, ChurnEvent, Scenario, ScenarioLatency } from './types.js'
import type { ConnectOptions } from '../harness/connect.js'
import type { ConnectReport, PeerSpec, PeerState, PingResult, SettleOptions, SimPeer, SimProgress } from '../harness/simulation.js'
import type { EventLog } from '../harness/events.js'
import type { ServicesModule } from '../shard/protocol.js'
import type { Site } from '../latency/types.js'
import type { SimEvent } from '../harness/events.js'
import type { LinkProfileOptions } from '../latency/link-profile.js'
import type { LatencyModel } from '../latency/types.js'
import type { Rng } from '../random.js'
import type { ServiceFactoryMap } from 'libp2p'

/** A job arrival of the workload. */
export interface JobArrival {
  /** `job-<n>`, unique in the run */
  id: string
  kind: string
  /** index of the submitting peer */
  peer: number
  /** scheduled time, s after the wiring */
  atS: number
}

/** What hooks are given. */
export interface HookContext<S extends Record<string, unknown> = Record<string, unknown>> {
  sim: Simulation<S>
  scenario: Scenario
  /** a generator of the hook's own, forked from the seed */
  rng: Rng
}

/** Code a scenario plugs in; JSON names what, hooks say how. */
export interface ScenarioHooks<S extends Record<string, unknown> = Record<string, unknown>> {
  /** extra libp2p services per peer (Shoal services, by role) */
  services?(peer: PeerSpec): ServiceFactoryMap<S>
  /**
   * Handles a job arrival, e.g. publishes it on the job board and records
   * its completion. Without it arrivals are only recorded.
   */
  workload?(job: JobArrival, ctx: HookContext<S>): void | Promise<void>
  /** Turns peers adversarial; without it they are only recorded. */
  adversary?(spec: AdversarySpec, peers: Array<SimPeer<S>>, ctx: HookContext<S>): void | Promise<void>
}

/** A peer as a scenario run sees it, in one process or in a shard. */
export interface DriverPeer {
  index: number
  role: string
  region: string
  site: Site
  bootstrap: boolean
  state: PeerState
  error?: string
  peerId?: { toString(): string }
}

/**
 * What a scenario run needs of a simulation: implemented by
 * {@link Simulation} (one process) and {@link ShardedSimulation} (worker
 * threads).
 */
export interface SimulationDriver {
  readonly peers: readonly DriverPeer[]
  readonly events: EventLog
  start(): Promise<void>
  connect(options?: ConnectOptions): Promise<ConnectReport>
  settle(options?: SettleOptions): Promise<number>
  running(filter?: { role?: string, region?: string }): DriverPeer[]
  rtt(a: number, b: number): number
  measurePings(count: number, rng?: Rng, concurrency?: number): Promise<PingResult[]>
  crash(ref: number, reason?: string): Promise<void>
  leave(ref: number): Promise<void>
  join(ref: number, options?: ConnectOptions): Promise<void>
  partition(regionsA: readonly string[], regionsB: readonly string[]): void
  heal(): void
  stop(): Promise<void>
}

/** Progress of a run, for progress bars. */
export type RunProgress = SimProgress | { phase: 'run', elapsedS: number, durationS: number } | { phase: 'stop', done: number, total: number }

/** Options of {@link runScenario}. */
export interface RunScenarioOptions<S extends Record<string, unknown> = Record<string, unknown>> {
  /** folder that relative paths of the scenario are resolved against @default process.cwd() */
  baseDir?: string
  hooks?: ScenarioHooks<S>
  onProgress?(progress: RunProgress): void
  /** ends the run early (the results so far are kept) */
  signal?: AbortSignal
  /**
   * Worker threads to run the peers in; `'auto'` = available cores. With
   * more than one, hooks cannot be used (workers cannot receive functions):
   * give services as a {@link ServicesModule}. @default 1
   */
  shards?: number | 'auto'
  /** the per-peer services for a sharded run */
  servicesModule?: ServicesModule
  /**
   * Where shards run and how they are reached (see
   * {@link ShardedSimulationInit}): `shardHost: 'process'` forks child
   * processes, `'remote'` waits on `listen` for `shards` processes started
   * with `shoal-sim shard --join`. With either, even one shard is run apart.
   */
  sharding?: Pick<ShardedSimulationInit, 'shardHost' | 'listen' | 'joinTimeoutMs' | 'onListening' | 'onShardJoined' | 'gateway'>
}

/** One peer of a finished run, for tables and maps. */
export interface PeerRow {
  index: number
  peer_id: string
  role: string
  region: string
  site: string
  country: string
  lat: number
  lon: number
  bootstrap: boolean
  state: string
  error?: string
}

/** Everything a run measured. */
export interface RunResult {
  scenario: Scenario
  /** wall time of the run phases, s */
  timing: { start_s: number, connect_s: number, settle_s: number, run_s: number, total_s: number }
  connect: ConnectReport
  peers: PeerRow[]
  events: SimEvent[]
  /** memory at the end of the run (before stopping), MB: this process plus shard processes, if any */
  memory: { rss_mb: number, heap_mb: number, rss_mb_per_peer: number }
  /** a few links with their oracle RTT, for the map */
  links: Array<{ a: number, b: number, rtt_ms: number }>
}

function resolvePath (path: string, baseDir: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path)
}

/** Builds the scenario's latency model and link options. */
export async function scenarioLatency (scenario: Scenario, baseDir = process.cwd()): Promise<{ model: LatencyModel, links: LinkProfileOptions }> {
  const model = await latencyModelOf(scenario.latency, baseDir)
  const links: LinkProfileOptions = {}
  if (typeof scenario.links?.loss === 'number') links.loss = scenario.links.loss
  if (scenario.links?.bandwidthMbps != null) links.bandwidthBps = scenario.links.bandwidthMbps * 125_000
  return { model, links }
}

/**
 * Builds a latency model from its description (as in a scenario); relative
 * paths resolve against `baseDir`. Throws {@link ScenarioError}.
 */
export async function latencyModelOf (spec: ScenarioLatency | undefined, baseDir = process.cwd()): Promise<LatencyModel> {
  const l = spec ?? { model: 'geographic' as const }
  let model: LatencyModel

  try {
    if (l.model === 'measured') {
      model = await loadLatency(resolvePath(l.path, baseDir))
    } else {
      const backbone = l.backbone != null ? await loadLatency(resolvePath(l.backbone, baseDir)) : undefined
      model = geographicLatency({
        sites: worldCities({ minPopulation: l.minPopulation }),
        lastMileMs: l.lastMileMs,
        backbone
      })
    }
  } catch (err: any) {
    throw new ScenarioError(l.model === 'measured' ? 'latency.path' : 'latency', err?.message ?? String(err))
  }

  return model
}

/** Places the scenario's peers region by region: site index and role per peer, shuffled. */
export function scenarioPlacement (scenario: Scenario, model: LatencyModel, rng: Rng): { sites: number[], roles: string[], regions: string[] } {
  const peers: Array<{ site: number, role: string, region: string }> = []

  for (const [region, spec] of Object.entries(scenario.regions)) {
    if (spec.peers === 0) continue
    let sites: number[]

    try {
      sites = placePeers(model, spec.peers, rng.fork(`region-${region}`), { regions: { [region]: 1 } })
    } catch (err: any) {
      throw new ScenarioError(`regions.${region}`, err?.message ?? String(err))
    }

    const roles: string[] = []
    for (const [role, count] of Object.entries(spec.roles ?? { peer: spec.peers })) {
      for (let k = 0; k < count; k++) roles.push(role)
    }
    rng.fork(`roles-${region}`).shuffle(roles)
    sites.forEach((site, i) => peers.push({ site, role: roles[i], region }))
  }

  rng.fork('order').shuffle(peers)
  return { sites: peers.map(p => p.site), roles: peers.map(p => p.role), regions: peers.map(p => p.region) }
}

function select<P extends DriverPeer> (peers: P[], spec: { fraction?: number, count?: number, role?: string, region?: string }, rng: Rng): P[] {
  const matching = peers.filter(p => (spec.role == null || p.role === spec.role) && (spec.region == null || p.region === spec.region))
  const n = spec.count ?? Math.round((spec.fraction ?? 0) * matching.length)
  return rng.sample(matching, Math.min(n, matching.length))
}

interface Action {
  atMs: number
  seq: number
  label: string
  run(): Promise<void> | void
}

/**
 * Runs a scenario: places and starts its peers, wires them, then plays the
 * timeline (job arrivals, ping rounds, churn, partitions, adversaries) in
 * real time for `durationS`, and stops. A peer that fails to start or
 * crashes is recorded in the events, never fatal; errors thrown by hooks or
 * escaping into the process are recorded as `error` events.
 */
export async function runScenario<S extends Record<string, unknown> = Record<string, unknown>> (scenario: Scenario, options: RunScenarioOptions<S> = {}): Promise<RunResult> {
  const t0 = performance.now()
  const baseDir = options.baseDir ?? process.cwd()
  const rng = createRng(scenario.seed ?? 1)
  const { model, links } = await scenarioLatency(scenario, baseDir)
  const placement = scenarioPlacement(scenario, model, rng.fork('placement'))
  const n = placement.sites.length
  const shards = options.shards === 'auto' ? autoShards() : options.shards ?? 1
  const common = {
    peers: n,
    placement: placement.sites,
    roles: placement.roles,
    regions: placement.regions,
    links,
    seed: scenario.seed ?? 1,
    connect: scenario.connect ?? {},
    onProgress: (p: SimProgress) => options.onProgress?.(p)
  }
  let sim: SimulationDriver

  const apart = options.sharding?.shardHost != null && options.sharding.shardHost !== 'thread'

  if ((shards > 1 || apart) && n > 1) {
    if (options.hooks != null) {
      throw new ScenarioError('shards', 'hooks cannot run in shard workers: give services as a module (servicesModule) or run with one shard')
    }

    sim = new ShardedSimulation({ ...common, ...options.sharding, shards, latency: scenario.latency, baseDir, services: options.servicesModule }, model)
  } else {
    sim = new Simulation<S>({ ...common, latency: model, services: options.hooks?.services })
  }

  const onError = (err: unknown): void => {
    sim.events.record('error', { where: 'process', error: `${(err as any)?.name ?? 'Error'}: ${(err as any)?.message ?? String(err)}` })
  }
  process.on('uncaughtException', onError)
  process.on('unhandledRejection', onError)

  try {
    await sim.start()
    const tStarted = performance.now()
    const connect = await sim.connect(scenario.connect ?? {})
    const tConnected = performance.now()
    // the timeline starts once the DHT has bootstrapped and the CPU is calm, else its measurements time the CPU
    const settleS = await sim.settle()
    // hooks only run unsharded, where sim is a Simulation
    const ctx = (label: string): HookContext<S> => ({ sim: sim as Simulation<S>, scenario, rng: rng.fork(label) })
    const actions = planTimeline(scenario, sim, rng, options.hooks, ctx)
    const pending = new Set<Promise<void>>()
    const durationMs = scenario.durationS * 1000
    const origin = performance.now()
    sim.events.record('run:start', { duration_s: scenario.durationS })

    const track = (label: string, work: Promise<void> | void): void => {
      if (work == null) return
      const p = Promise.resolve(work).catch(err => {
        sim.events.record('error', { where: label, error: `${err?.name ?? 'Error'}: ${err?.message ?? String(err)}` })
      }).finally(() => pending.delete(p))
      pending.add(p)
    }

    const progressTimer = setInterval(() => {
      options.onProgress?.({ phase: 'run', elapsedS: Math.min(scenario.durationS, (performance.now() - origin) / 1000), durationS: scenario.durationS })
    }, 250)

    try {
      for (const action of actions) {
        if (isAborted(options.signal)) break
        const wait = action.atMs - (performance.now() - origin)
        if (wait > 0) {
          await sleep(wait, options.signal)
        }
        if (isAborted(options.signal)) break
        try {
          track(action.label, action.run())
        } catch (err: any) {
          track(action.label, Promise.reject(err))
        }
      }

      const rest = durationMs - (performance.now() - origin)
      if (rest > 0 && !isAborted(options.signal)) {
        await sleep(rest, options.signal)
      }
    } finally {
      clearInterval(progressTimer)
    }

    // let measurements in flight finish, but never hang the run on them
    await Promise.race([Promise.allSettled([...pending]), sleep(15_000)])
    sim.events.record('run:end', { pending: pending.size })
    options.onProgress?.({ phase: 'run', elapsedS: scenario.durationS, durationS: scenario.durationS })

    const mem = process.memoryUsage()
    let rss = mem.rss
    let heap = mem.heapUsed

    if (sim instanceof ShardedSimulation && sim.shardHost !== 'thread') {
      // shards in other processes: their memory counts too (threads share this process's)
      for (const st of await sim.stats()) {
        rss += st.rssBytes ?? 0
        heap += st.heapBytes ?? 0
      }
    }

    const tRun = performance.now()
    const result: RunResult = {
      scenario,
      timing: {
        start_s: round((tStarted - t0) / 1000),
        connect_s: round((tConnected - tStarted) / 1000),
        settle_s: settleS,
        run_s: round((tRun - tConnected) / 1000 - settleS),
        total_s: 0
      },
      connect,
      peers: [],
      events: sim.events.events,
      memory: { rss_mb: round(rss / 1e6), heap_mb: round(heap / 1e6), rss_mb_per_peer: round(rss / 1e6 / n) },
      links: mapLinks(sim)
    }

    result.peers = sim.peers.map(p => ({
      index: p.index,
      peer_id: p.peerId?.toString() ?? '',
      role: p.role,
      region: p.region,
      site: p.site.name,
      country: p.site.country ?? '',
      lat: p.site.lat,
      lon: p.site.lon,
      bootstrap: p.bootstrap,
      state: p.state === 'stopped' ? 'left' : p.state,
      error: p.error
    }))
    await sim.stop()
    result.timing.total_s = round((performance.now() - t0) / 1000)
    return result
  } finally {
    process.off('uncaughtException', onError)
    process.off('unhandledRejection', onError)
    await sim.stop()
  }
}

/** The links of the wiring with their oracle RTT (at most 300, for the map). */
function mapLinks (sim: SimulationDriver): Array<{ a: number, b: number, rtt_ms: number }> {
  const out: Array<{ a: number, b: number, rtt_ms: number }> = []
  for (const e of sim.events.events) {
    if (e.type === 'dial' && e.ok === true && typeof e.peer === 'number' && typeof e.remote === 'number') {
      out.push({ a: e.peer, b: e.remote, rtt_ms: round(sim.rtt(e.peer, e.remote)) })
      if (out.length >= 300) break
    }
  }
  return out
}

function planTimeline<S extends Record<string, unknown>> (scenario: Scenario, sim: SimulationDriver, rng: Rng, hooks: ScenarioHooks<S> | undefined, ctx: (label: string) => HookContext<S>): Action[] {
  const actions: Action[] = []
  let seq = 0
  const at = (atS: number, label: string, run: () => Promise<void> | void): void => {
    actions.push({ atMs: atS * 1000, seq: seq++, label, run })
  }
  const durationS = scenario.durationS

  const jobs = scenario.workload?.jobs
  if (jobs != null && jobs.ratePerS > 0) {
    const arrivals = rng.fork('workload')
    const kinds = jobs.kinds ?? ['job']
    const hookCtx = ctx('workload-hook')
    let t = arrivals.exponential(jobs.ratePerS)
    for (let k = 0; t < durationS; k++, t += arrivals.exponential(jobs.ratePerS)) {
      const atS = t
      const kind = arrivals.pick(kinds)
      const draw = arrivals.float()
      at(atS, 'workload', () => {
        const candidates = sim.running().filter(p => jobs.from == null || jobs.from.includes(p.role))
        if (candidates.length === 0) {
          sim.events.record('job:dropped', { job: `job-${k}`, kind, reason: 'no running submitter' })
          return
        }
        const peer = candidates[Math.floor(draw * candidates.length)]
        const job: JobArrival = { id: `job-${k}`, kind, peer: peer.index, atS: round(atS) }
        sim.events.record('job:arrival', { peer: peer.index, job: job.id, kind, role: peer.role })
        return hooks?.workload?.(job, hookCtx)
      })
    }
  }

  const pings = scenario.workload?.pings
  if (pings != null && pings.pairs > 0) {
    const pingRng = rng.fork('pings')
    for (let t = pings.everyS, round = 0; t <= durationS; t += pings.everyS, round++) {
      const r = pingRng.fork(`round-${round}`)
      at(t, 'pings', async () => {
        await sim.measurePings(pings.pairs, r)
      })
    }
  }

  const churnRng = rng.fork('churn');
  (scenario.churn ?? []).forEach((c: ChurnEvent, i) => {
    const r = churnRng.fork(i)
    at(c.atS, `churn[${i}]`, async () => {
      const pool = c.action === 'join'
        ? sim.peers.filter(p => p.state === 'stopped' || p.state === 'crashed')
        : sim.running()
      const chosen = select(pool, c, r)
      sim.events.record('churn', { index: i, action: c.action, peers: chosen.length, role: c.role ?? null, region: c.region ?? null })
      await Promise.all(chosen.map(async p => {
        if (c.action === 'crash') await sim.crash(p.index, `churn[${i}]`)
        else if (c.action === 'leave') await sim.leave(p.index)
        else await sim.join(p.index)
      }))
      if (c.rejoinAfterS != null && c.action !== 'join') {
        setTimeout(() => {
          void Promise.all(chosen.map(async p => sim.join(p.index))).catch(() => {})
        }, c.rejoinAfterS * 1000).unref()
      }
    })
  });

  (scenario.partitions ?? []).forEach((p, i) => {
    at(p.atS, `partitions[${i}]`, () => {
      sim.partition(p.a, p.b)
    })
    if (p.healAtS != null && p.healAtS <= durationS) {
      at(p.healAtS, `partitions[${i}].heal`, () => { sim.heal() })
    }
  })

  const advRng = rng.fork('adversaries');
  (scenario.adversaries ?? []).forEach((a, i) => {
    const r = advRng.fork(i)
    at(a.fromS ?? 0, `adversaries[${i}]`, async () => {
      const chosen = select(sim.running(), a, r)
      for (const p of chosen) {
        sim.events.record('adversary', { peer: p.index, behaviour: a.behaviour, role: p.role })
      }
      await hooks?.adversary?.(a, chosen as Array<SimPeer<S>>, ctx(`adversary-${i}`))
    })
  })

  return actions.sort((x, y) => x.atMs - y.atMs || x.seq - y.seq)
}

function isAborted (signal?: AbortSignal): boolean {
  return signal?.aborted === true
}

async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

function round (x: number): number {
  return Math.round(x * 1000) / 1000
}
