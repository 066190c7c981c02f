/**
 * Messages between a sharded simulation's coordinator and its shards
 * (worker threads, child processes or remote processes). Everything here
 * is structured-cloned or `v8.serialize`d.
 */

import type { ConnectOptions, PlannedDial } from '../harness/connect.js'
import type { SimEvent } from '../harness/events.js'
import type { SettleOptions, SimProgress, SimulationInit } from '../harness/simulation.js'
import type { PeerState } from '../harness/peer.js'
import type { LookupResult, PingResult } from '../harness/probes.js'
import type { ScenarioLatency } from '../scenario/types.js'
import type { JobArrival } from '../scenario/driver.js'
import type { MarketOpened } from '../market/driver.js'
import type { ResolvedMarket } from '../market/config.js'
import type { AdversaryOptions } from '../market/adversaries/registry.js'
import type { MessagePort } from 'node:worker_threads'

/**
 * The clock of control messages (`event.abs`, the `clock` call):
 * `performance.timeOrigin + performance.now()`, comparable across processes.
 */
export function absoluteNow (): number {
  return performance.timeOrigin + performance.now()
}

/**
 * Where shard workers find the services of each peer: a module they import
 * and the name of its export, a function `(peer: PeerSpec, options) =>
 * ServiceFactoryMap`. Workers cannot receive functions, so the stack is
 * named, not passed.
 */
export interface ServicesModule {
  /** an absolute path, a `file:` URL or a package name the worker can import */
  module: string
  /** @default 'services' */
  export?: string
  /** second argument of the function (structured-cloned) */
  options?: unknown
}

/** What every shard builds its part of the simulation from: the same for all shards. */
export interface ShardPlan extends Omit<SimulationInit, 'latency' | 'services' | 'onProgress' | 'shard'> {
  /** the latency model, as in a scenario @default { model: 'geographic' } */
  latency?: ScenarioLatency
  /** folder relative latency paths resolve against @default process.cwd() */
  baseDir?: string
  services?: ServicesModule
  /** the scenario's market: every shard runs the Shoal services and flows of its own peers */
  market?: ResolvedMarket
}

/** `workerData` of a shard worker. */
export interface ShardWorkerData {
  plan: ShardPlan
  shard: number
  shards: number
  /** one port per other shard, for the gateway (`gateway: 'port'`) */
  ports: Array<{ peer: number, port: MessagePort }>
  /**
   * How shards carry frames: `port` (MessagePorts between threads) or `tcp`
   * (sockets on 127.0.0.1, the path shards on other machines would use).
   */
  gateway: 'port' | 'tcp'
  /** virtual time (absent: the wall clock) */
  time?: ShardTime
}

/** What a shard in a child process or on another machine receives first: its part of the run. */
export type ShardInit = Omit<ShardWorkerData, 'ports'>

/**
 * A sharded run on virtual time: the shard installs its own virtual clock,
 * seeds its randomness with `seed`, and advances only as far as each
 * `run` message lets it (see `barrier.ts`).
 */
export interface ShardTime {
  /** seed of the shard's process-wide randomness (Math.random, crypto.getRandomValues) */
  seed: number
}

/** A coordinator call that takes effect in the shard at the coordinator's virtual time `at` (`performance.now()` scale). */
export interface TimedCall {
  id: number
  method: keyof ShardMethods
  args: unknown[]
  at: number
}

/** Virtual time: one round, from the coordinator to a shard. */
export interface RunRound {
  op: 'run'
  /** the lookahead, ms: the least time a packet takes between two shards */
  lookaheadMs: number
  /** run every timer before this time (`performance.now()` scale, exclusive), then report `done` */
  horizon: number
  /** frames to receive from each shard (cumulative since the start) before the round starts */
  expect: Record<number, number>
  /** calls to run in this round, each at its time */
  calls: TimedCall[]
}

/** Virtual time: a shard ran its round and is idle until `nextAt`. */
export interface RoundDone {
  op: 'done'
  /** the shard's next timer (`performance.now()` scale), Infinity if none */
  nextAt: number
  /** frames sent to each shard since the start */
  sent: Record<number, number>
  /** the earliest delivery time of the frames sent to each shard in this round */
  minAt: Record<number, number>
  /** frames the shard received closer than the lookahead, in total */
  clamped: number
}

/** Where a shard's TCP gateway listens, as the other shards reach it. */
export interface GatewayAddress {
  host: string
  port: number
}

/** State of one of the shard's peers after a change. */
export interface PeerStatus {
  index: number
  state: PeerState
  peerId?: string
  error?: string
}

/** Counters of a shard. */
export interface ShardStats {
  shard: number
  peers: number
  /** connections open in this shard's network (a cross-shard one counted by its dialer's shard) */
  connections: number
  bytes: number
  gatewayFramesSent: number
  gatewayBytesSent: number
  gatewayInvalidFrames: number
  /** the shard's process memory (a worker thread reports its whole process) */
  rssBytes?: number
  heapBytes?: number
}

/** The requests a shard answers. */
export interface ShardMethods {
  start(): PeerStatus[]
  dial(plan: PlannedDial[], options: ConnectOptions): number
  settle(options: SettleOptions): number
  ping(from: number, to: number, warm: boolean, timeoutMs?: number): PingResult
  lookup(from: number, to: number): LookupResult
  crash(index: number, reason: string): PeerStatus
  leave(index: number): PeerStatus
  restart(index: number): PeerStatus
  partition(sitesA: string[], sitesB: string[]): void
  heal(): void
  stats(): ShardStats
  stop(): void
  /** the shard's clock, `performance.timeOrigin + performance.now()` (answered at once, even while building) */
  clock(): number
  /** the market: its providers start advertising and bidding */
  marketOpen(): MarketOpened
  /** the market: submit a job at its requester (answered when it ends, as events) */
  marketSubmit(job: JobArrival): void
  /** the market: turn a behaviour on at these peers; false when the market does not play it */
  marketAdversary(behaviour: string, peers: number[], options?: AdversaryOptions): boolean
}

/** What a shard answers to `method`. */
export type ShardResult<M extends keyof ShardMethods> = ReturnType<ShardMethods[M]>

/** The shard's side of {@link ShardMethods}: each request answered asynchronously. */
export type ShardHandlers = { [M in keyof ShardMethods]: (...args: Parameters<ShardMethods[M]>) => Promise<ShardResult<M>> }

/** Coordinator to shard. */
export type ToShard = {
  [M in keyof ShardMethods]: { op: 'call', id: number, method: M, args: Parameters<ShardMethods[M]> }
}[keyof ShardMethods]
  /** `gateway: 'tcp'`: the gateway address of every shard; connect to those below your index */
  | { op: 'mesh', addresses: GatewayAddress[] }
  /** a shard in a child process or on another machine: the plan and its index */
  | { op: 'init', data: ShardInit }
  | RunRound

/** Shard to coordinator. */
export type FromShard =
  /** built; on virtual time, with the least one-way delay of a packet from this shard to another (ms) */
  | { op: 'ready', minDelayMs?: number }
  | RoundDone
  /** a remote shard's first message on its control connection */
  | { op: 'join', version: number }
  /**
   * `gateway: 'tcp'`: this shard's gateway listens at `port`, on `host`
   * (absent: the address the coordinator sees the shard's control
   * connection come from)
   */
  | { op: 'listening', host?: string, port: number }
  | { op: 'result', id: number, value: unknown }
  | { op: 'error', id: number, name: string, message: string }
  /** `abs`: `performance.timeOrigin + performance.now()` when it happened (virtual time: `performance.now()`) */
  | { op: 'event', abs: number, event: SimEvent }
  | { op: 'progress', progress: SimProgress }
  | { op: 'fatal', name: string, message: string }
