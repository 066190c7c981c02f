import type { NatType } from '../transport/index.js'
import type { AdversarySpec, Scenario } from './types.js'
import type { ConnectOptions } from '../harness/connect.js'
import type { EventLog, SimEvent } from '../harness/events.js'
import type { ConnectReport, SettleOptions, SimProgress, Simulation, SimulationInit } from '../harness/simulation.js'
import type { PeerSpec, PeerState, SimPeer } from '../harness/peer.js'
import type { PingResult } from '../harness/probes.js'
import type { SimServiceFactories } from '../harness/stack.js'
import type { Site } from '../latency/types.js'
import type { Rng } from '../random.js'
import type { ShardedSimulation, ShardedSimulationInit } from '../shard/sharded-simulation.js'
import type { ServicesModule } from '../shard/protocol.js'
import type { MarketSummary } from '../market/analysis.js'

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
  services?(peer: PeerSpec): SimServiceFactories<S>
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
  /** index of its site in the latency model */
  siteIndex: number
  site: Site
  bootstrap: boolean
  /** the NAT it sits behind, if any */
  nat?: NatType
  /** whether it runs a circuit relay server */
  relay?: boolean
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
  /**
   * When the peers' DHTs bootstrap (see {@link SimulationInit}): sooner than
   * the default for short runs, e.g. a benchmark's quick mode
   */
  tuning?: Pick<SimulationInit, 'dhtStartDelayMs' | 'dhtStartSpreadMs'>
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
  /**
   * The clock, overriding the scenario's `time`: `virtual` (simulated time,
   * the default) or `wall` (the real clock). See {@link Scenario.time}.
   */
  time?: 'virtual' | 'wall'
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
  /** the NAT it sits behind (runs with NATs) */
  nat?: NatType
  /** whether it ran a circuit relay server (runs with NATs) */
  relay?: boolean
  state: string
  error?: string
}

/**
 * How long the run's phases took, s, on the run's clock: simulated seconds
 * in virtual time, real ones on the wall clock.
 */
export interface RunTiming {
  start_s: number
  connect_s: number
  settle_s: number
  market_open_s: number
  run_s: number
  total_s: number
  /** the clock the phases were measured on */
  mode?: 'virtual' | 'wall'
  /** virtual time: real seconds the whole run took */
  wall_s?: number
  /** virtual time: simulated seconds per real second (above 1: faster than real time) */
  simulated_per_wall_s?: number
  /** virtual time: simulated seconds the CPU model charged to peers */
  cpu_charged_s?: number
}

/** Everything a run measured. */
export interface RunResult {
  scenario: Scenario
  /** wall time of the run phases, s */
  timing: RunTiming
  connect: ConnectReport
  peers: PeerRow[]
  events: SimEvent[]
  /** memory at the end of the run (before stopping), MB: this process plus shard processes, if any */
  memory: { rss_mb: number, heap_mb: number, rss_mb_per_peer: number }
  /** a few links with their oracle RTT, for the map */
  links: Array<{ a: number, b: number, rtt_ms: number }>
  /** what the market achieved, when the scenario has one (see `analyseMarket`) */
  market?: MarketSummary
}
