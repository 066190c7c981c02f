import { createRng } from '../random.js'
import { restoreRandomness, seedRandomness } from '../time/seeded-random.js'
import { SIMULATION_STALL_MS, VirtualClock, wallNow } from '../time/virtual-clock.js'
import { Simulation } from '../harness/simulation.js'
import { autoShards, ShardedSimulation } from '../shard/sharded-simulation.js'
import { describeError } from '../error-text.js'
import { ScenarioError } from './errors.js'
import { scenarioLatency } from './latency-model.js'
import { scenarioPlacement } from './placement.js'
import { planTimeline } from './timeline.js'
import { round } from '../round.js'
import { resolveMarket } from '../market/config.js'
import { MarketRuntime } from '../market/market.js'
import { analyseMarket } from '../market/analysis.js'
import { placeCloudRegions } from '../market/cloud.js'
import type { MarketDriver } from '../market/driver.js'
import type { MarketSummary } from '../market/analysis.js'
import type { ResolvedMarket } from '../market/config.js'
import type { PlacedCloudRegion } from '../market/cloud.js'
import type { MarketServices } from '../market/market.js'
import type { SimServiceFactories } from '../harness/stack.js'
import type { SimNatOptions } from '../harness/nat.js'
import type { HookContext, PeerRow, RunResult, RunScenarioOptions, SimulationDriver } from './driver.js'
import type { Action } from './timeline.js'
import type { Scenario } from './types.js'
import type { SimProgress } from '../harness/simulation.js'
import type { LinkProfileOptions } from '../latency/link-profile.js'
import type { LatencyModel } from '../latency/types.js'
import type { Rng } from '../random.js'

// measurements still in flight when the run ends get this long, ms, so a
// stuck one never hangs the run
const DRAIN_MS = 15_000
// a job ends by its deadline; this much more lets its last events arrive
const DRAIN_MARGIN_MS = 2_000
const PROGRESS_INTERVAL_MS = 250
const MAX_MAP_LINKS = 300

/**
 * Runs a scenario: places and starts its peers, wires them, opens its
 * market (if it has one), then plays the timeline (job arrivals, ping
 * rounds, churn, partitions, adversaries) in real time for `durationS`,
 * lets the jobs in flight end, analyses the market, and stops. A peer that fails to start or
 * crashes is recorded in the events, never fatal; errors thrown by hooks or
 * escaping into the process are recorded as `error` events.
 */
export async function runScenario<S extends Record<string, unknown> = Record<string, unknown>> (scenario: Scenario, options: RunScenarioOptions<S> = {}): Promise<RunResult> {
  const time = timeModeOf(scenario, options)
  checkCpuModel(scenario, time)

  if (time === 'wall') {
    const result = await runOnce(scenario, options)
    result.timing.mode = 'wall'
    return result
  }

  // virtual time: every clock and timer of the process, and its randomness, belong to the run
  const wall0 = wallNow()
  seedRandomness(createRng(scenario.seed ?? 1).fork('process').nextUint32())
  const clock = new VirtualClock({ limitMs: virtualLimitMs(scenario), stallMs: SIMULATION_STALL_MS })
  clock.install()
  try {
    const result = await runOnce(scenario, options, clock)
    const wallS = (wallNow() - wall0) / 1000
    const simulatedS = clock.now() / 1000
    result.timing.mode = 'virtual'
    result.timing.wall_s = round(wallS)
    result.timing.simulated_per_wall_s = round(simulatedS / Math.max(wallS, 1e-3))
    result.timing.cpu_charged_s = round(clock.stats.cpuChargedMs / 1000)
    return result
  } finally {
    clock.uninstall()
    restoreRandomness()
  }
}

/** The clock's next failure (limit passed, stall), as a promise: what ends a stuck run's wait. */
async function clockFailure (clock: VirtualClock): Promise<never> {
  return new Promise<never>((_resolve, reject) => { clock.onFailure(reject) })
}

/** Whether the scenario charges any peer's computation (its `cpu` section). */
function cpuModelOn (scenario: Scenario): boolean {
  const cpu = scenario.cpu
  return cpu != null && ((cpu.factor ?? 0) !== 0 || Object.values(cpu.roles ?? {}).some(f => f !== 0))
}

/** The CPU model needs virtual time (a sharded run refuses it where it is made: see createDriver). */
function checkCpuModel (scenario: Scenario, time: 'virtual' | 'wall'): void {
  if (time === 'wall' && cpuModelOn(scenario)) {
    throw new ScenarioError('cpu', 'the CPU model needs virtual time (on the wall clock, computation already costs real time)')
  }
}

/**
 * Virtual time (the default) unless the scenario or the options ask for the
 * wall clock. A sharded run's shards advance together with the coordinator
 * in rounds (see `shard/rounds.ts`).
 */
function timeModeOf (scenario: Scenario, options: RunScenarioOptions<any>): 'virtual' | 'wall' {
  return options.time ?? scenario.time ?? 'virtual'
}

/** Virtual time a stuck run's peers get to stop. */
const STOP_BUDGET_MS = 600_000

/** Virtual time past which a run is stuck, not slow: the duration, every drain, and an hour for start, wiring and settling. */
function virtualLimitMs (scenario: Scenario): number {
  return scenario.durationS * 1000 * 2 + 3_600_000
}

async function runOnce<S extends Record<string, unknown>> (scenario: Scenario, options: RunScenarioOptions<S>, clock?: VirtualClock): Promise<RunResult> {
  const t0 = performance.now()
  const baseDir = options.baseDir ?? process.cwd()
  const rng = createRng(scenario.seed ?? 1)
  const { model, links } = await scenarioLatency(scenario, baseDir)
  // the market with its defaults, once: the driver, the drain and the analysis read it
  const resolved = resolveMarket(scenario)
  const { sim, market } = createDriver(scenario, options, model, links, rng, baseDir, resolved)
  if (clock != null && scenario.cpu != null) {
    // the CPU model: each peer's computation costs it, and only it, simulated time
    const cpu = scenario.cpu
    for (const peer of sim.peers) clock.setCpuFactor(peer.index, cpu.roles?.[peer.role] ?? cpu.factor ?? 0)
  }
  const stopRecordingProcessErrors = recordProcessErrors(sim)

  const play = async (): Promise<RunResult> => {
    await sim.start()
    const tStarted = performance.now()
    const connect = await sim.connect(scenario.connect ?? {})
    const tConnected = performance.now()
    // the timeline starts once the DHT has bootstrapped and the CPU is calm, else its measurements time the CPU
    const settleS = await sim.settle()
    // providers advertise once the DHT has peers; jobs start when they have (or the wait ran out)
    const opened = await market?.open()
    // hooks only run unsharded, where sim is a Simulation
    const ctx = (label: string): HookContext<S> => ({ sim: sim as Simulation<S>, scenario, rng: rng.fork(label) })
    // a market's jobs in flight when the timeline ends get until their deadline
    const drainMs = Math.max(DRAIN_MS, ...Object.values(resolved?.jobs ?? {}).map(k => k.deadlineMs + DRAIN_MARGIN_MS))
    await playTimeline(sim, scenario, planTimeline(scenario, sim, rng, options.hooks, ctx, market), options, drainMs)

    const memory = await measureMemory(sim)
    const tRun = performance.now()
    const result: RunResult = {
      scenario,
      timing: {
        start_s: round((tStarted - t0) / 1000),
        connect_s: round((tConnected - tStarted) / 1000),
        settle_s: settleS,
        market_open_s: opened?.seconds ?? 0,
        run_s: round((tRun - tConnected) / 1000 - settleS - (opened?.seconds ?? 0)),
        total_s: 0
      },
      connect,
      peers: peerRows(sim),
      events: sim.events.events,
      memory,
      links: mapLinks(sim),
      market: resolved == null ? undefined : marketSummary(sim, model, resolved)
    }

    await sim.stop()
    result.timing.total_s = round((performance.now() - t0) / 1000)
    return result
  }

  const playing = play()
  try {
    // on virtual time a stuck run (VirtualTimeLimitError, VirtualTimeStallError) ends the wait: its peers are stopped below
    return clock == null ? await playing : await Promise.race([playing, clockFailure(clock)])
  } finally {
    playing.catch(() => {})
    stopRecordingProcessErrors()
    if (clock == null) {
      await sim.stop()
    } else {
      // the stop gets a budget of virtual time past any limit; a stop that is stuck itself ends the cleanup, not the process
      clock.extendLimit(STOP_BUDGET_MS)
      await Promise.race([sim.stop(), clockFailure(clock).catch(() => {})])
    }
  }
}

/**
 * The simulation to run the scenario on, in this process or sharded when
 * asked and possible, with its market when the scenario has one.
 */
function createDriver<S extends Record<string, unknown>> (scenario: Scenario, options: RunScenarioOptions<S>, model: LatencyModel, links: LinkProfileOptions, rng: Rng, baseDir: string, resolved: ResolvedMarket | undefined): { sim: SimulationDriver, market?: MarketDriver } {
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
    nat: natOptions(scenario),
    ...options.tuning,
    onProgress: (p: SimProgress) => options.onProgress?.(p)
  }
  const apart = options.sharding?.shardHost != null && options.sharding.shardHost !== 'thread'

  if ((shards > 1 || apart) && n > 1) {
    if (scenario.nat != null) {
      throw new ScenarioError('nat', 'NAT\'d peers are simulated in one shard only: run with --shards 1')
    }
    if (options.hooks != null) {
      throw new ScenarioError('shards', 'hooks cannot run in shard workers: give services as a module (servicesModule) or run with one shard')
    }
    if (cpuModelOn(scenario)) {
      // a shard's clock does not charge computation
      throw new ScenarioError('cpu', 'the CPU model runs in one shard only: run with --shards 1')
    }

    const sharded = new ShardedSimulation({ ...common, ...options.sharding, shards, latency: scenario.latency, baseDir, services: options.servicesModule, market: resolved }, model)
    return { sim: sharded, market: sharded.market }
  }

  if (resolved == null) {
    return { sim: new Simulation<S>({ ...common, latency: model, services: options.hooks?.services }) }
  }
  // the market's Shoal services, and the hook's beside them (which win on a clash)
  const market = new MarketRuntime(resolved)
  const own = options.hooks?.services
  const sim = new Simulation<S & MarketServices>({
    ...common,
    latency: model,
    services: (peer) => ({ ...market.services(peer), ...own?.(peer) }) as SimServiceFactories<S & MarketServices>
  })
  market.attach(sim as unknown as Simulation<MarketServices>)
  return { sim, market }
}

/** The simulation's NAT options from the scenario's `nat` section. */
function natOptions (scenario: Scenario): SimNatOptions | undefined {
  const nat = scenario.nat
  return nat == null ? undefined : { share: nat.share, roles: nat.roles, holePunch: nat.holePunch, relays: nat.relays, mappingMs: nat.mappingS == null ? undefined : nat.mappingS * 1000 }
}

/** Records errors escaping into the process as `error` events until the returned function is called. */
function recordProcessErrors (sim: SimulationDriver): () => void {
  const onError = (err: unknown): void => {
    sim.events.record('error', { where: 'process', error: describeError(err) })
  }
  process.on('uncaughtException', onError)
  process.on('unhandledRejection', onError)

  return () => {
    process.off('uncaughtException', onError)
    process.off('unhandledRejection', onError)
  }
}

/**
 * Plays `actions` in real time for the scenario's duration (or until
 * `options.signal` aborts), recording what they throw, then gives the
 * measurements still in flight a bounded time to finish.
 */
async function playTimeline<S extends Record<string, unknown>> (sim: SimulationDriver, scenario: Scenario, actions: Action[], options: RunScenarioOptions<S>, drainMs: number): Promise<void> {
  const pending = new Set<Promise<void>>()
  const durationMs = scenario.durationS * 1000
  const origin = performance.now()
  sim.events.record('run:start', { duration_s: scenario.durationS })

  const track = (label: string, work: Promise<void> | void): void => {
    if (work == null) return
    const p = Promise.resolve(work).catch((err: unknown) => {
      sim.events.record('error', { where: label, error: describeError(err) })
    }).finally(() => pending.delete(p))
    pending.add(p)
  }

  const progressTimer = setInterval(() => {
    options.onProgress?.({ phase: 'run', elapsedS: Math.min(scenario.durationS, (performance.now() - origin) / 1000), durationS: scenario.durationS })
  }, PROGRESS_INTERVAL_MS)

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
      } catch (err: unknown) {
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

  // the drain's timer ends with the race: left running it would hold the process open
  const drained = new AbortController()
  await Promise.race([Promise.allSettled([...pending]), sleep(drainMs, drained.signal)])
  drained.abort()
  sim.events.record('run:end', { pending: pending.size })
  options.onProgress?.({ phase: 'run', elapsedS: scenario.durationS, durationS: scenario.durationS })
}

/** Memory at the end of the run, MB: this process plus shard processes, if any. */
async function measureMemory (sim: SimulationDriver): Promise<RunResult['memory']> {
  const mem = process.memoryUsage()
  let rss = mem.rss
  let heap = mem.heapUsed

  if (sim instanceof ShardedSimulation) {
    // asked whatever hosts the shards: on virtual time the call takes a round, and runs of one seed
    // in threads and in processes write the same log only if they make the same calls
    const stats = await sim.stats()
    if (sim.shardHost !== 'thread') {
      // shards in other processes: their memory counts too (threads share this process's)
      for (const st of stats) {
        rss += st.rssBytes ?? 0
        heap += st.heapBytes ?? 0
      }
    }
  }

  return { rss_mb: round(rss / 1e6), heap_mb: round(heap / 1e6), rss_mb_per_peer: round(rss / 1e6 / sim.peers.length) }
}

/** One row per peer, for tables and maps. */
function peerRows (sim: SimulationDriver): PeerRow[] {
  return sim.peers.map(p => ({
    index: p.index,
    peer_id: p.peerId?.toString() ?? '',
    role: p.role,
    region: p.region,
    site: p.site.name,
    country: p.site.country ?? '',
    lat: p.site.lat,
    lon: p.site.lon,
    bootstrap: p.bootstrap,
    ...(p.nat != null ? { nat: p.nat } : {}),
    ...(p.relay === true ? { relay: true } : {}),
    state: p.state === 'stopped' ? 'left' : p.state,
    error: p.error
  }))
}

/** The market's figures from the run's events, against the latency model's oracle and cloud regions. */
function marketSummary (sim: SimulationDriver, model: LatencyModel, market: ResolvedMarket): MarketSummary {
  let cloud: PlacedCloudRegion[] = []
  try {
    cloud = market.cloud === false ? [] : placeCloudRegions(market.cloud.cities, model)
  } catch (err: unknown) {
    // a city the model cannot place costs the cloud baseline, not the run's results
    sim.events.record('error', { where: 'cloud regions', error: describeError(err) })
  }
  return analyseMarket({
    events: sim.events.events,
    peers: sim.peers.map(p => ({ index: p.index, role: p.role, region: p.region, siteIndex: p.siteIndex, lat: p.site.lat, lon: p.site.lon, nat: p.nat != null })),
    rtt: (a, b) => model.rtt(a, b),
    market,
    cloud
  })
}

/** The links of the wiring with their oracle RTT (at most 300, for the map). */
function mapLinks (sim: SimulationDriver): Array<{ a: number, b: number, rtt_ms: number }> {
  const out: Array<{ a: number, b: number, rtt_ms: number }> = []
  for (const e of sim.events.events) {
    if (e.type === 'dial' && e.ok === true && typeof e.peer === 'number' && typeof e.remote === 'number') {
      out.push({ a: e.peer, b: e.remote, rtt_ms: round(sim.rtt(e.peer, e.remote)) })
      if (out.length >= MAX_MAP_LINKS) break
    }
  }
  return out
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
