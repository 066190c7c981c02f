/**
 * A simulation whose peers run in several worker threads (shards), to use
 * every core. The main thread is the coordinator: it places peers exactly
 * as every shard does, plans the wiring, routes scenario actions to the
 * shard that owns a peer (or to all shards, for cuts) and merges the
 * shards' event logs on one clock. Where shards run is in
 * `shard-hosts.ts`, the coordinator's end of one shard in
 * `shard-handle.ts`, the peers in `peer-directory.ts`.
 */

import { createServer } from 'node:net'
import { availableParallelism } from 'node:os'
import { joinPeer, partitionRegions } from '../harness/churn.js'
import { planDials, randomPairs } from '../harness/connect.js'
import { DEFAULT_SIM_SEED } from '../harness/constants.js'
import { SimulationConfigError, UnknownPeerError } from '../harness/errors.js'
import { EventLog } from '../harness/events.js'
import { Simulation } from '../harness/simulation.js'
import { latencyModelOf } from '../scenario/latency-model.js'
import { createRng } from '../random.js'
import { DEFAULT_CONTROL_PORT, DEFAULT_JOIN_TIMEOUT_MS, MAX_SHARDS } from './constants.js'
import { parseHostPort } from './control.js'
import { ShardError } from './errors.js'
import { PeerDirectory } from './peer-directory.js'
import { mergeProgress } from './progress.js'
import { absoluteNow } from './protocol.js'
import { acceptShards, spawnShards } from './shard-hosts.js'
import { justBefore } from './barrier.js'
import { RoundDriver } from './rounds.js'
import { currentVirtualClock } from '../time/virtual-clock.js'
import type { VirtualClock } from '../time/virtual-clock.js'
import type { RoundStats } from './rounds.js'
import { describeError, errorMessage } from '../error-text.js'
import { round } from '../round.js'
import type { MarketDriver } from '../market/driver.js'
import type { PeerRef, ShardedPeer } from './peer-directory.js'
import type { GatewayAddress, PeerStatus, ServicesModule, ShardInit, ShardPlan, ShardStats, FromShard } from './protocol.js'
import type { ShardHandle } from './shard-handle.js'
import type { Server } from 'node:net'
import type { ConnectOptions, PlannedDial } from '../harness/connect.js'
import type { ConnectReport, SettleOptions, SimProgress } from '../harness/simulation.js'
import type { LookupResult, PingResult } from '../harness/probes.js'
import type { LatencyModel } from '../latency/types.js'
import type { Rng } from '../random.js'

export type { ShardedPeer }

/** Options of {@link createShardedSimulation}: a {@link ShardPlan} plus the shard count. */
export interface ShardedSimulationInit extends ShardPlan {
  /** worker threads to spread the peers over; `'auto'` = available cores @default 'auto' */
  shards?: number | 'auto'
  /**
   * Where shards run: `thread` (worker threads of this process),
   * `process` (child processes of this one, `child_process.fork`) or
   * `remote` (processes anywhere that join with `shoal-sim shard --join
   * HOST:PORT`, see `listen`). Processes and remote shards always exchange
   * packets over the TCP gateway. @default 'thread'
   */
  shardHost?: 'thread' | 'process' | 'remote'
  /**
   * `shardHost: 'remote'`: the `HOST:PORT` the coordinator listens on for
   * shards to join (port 0: any free port, see `onListening`).
   * @default '0.0.0.0:7400'
   */
  listen?: string
  /** `shardHost: 'remote'`: how long to wait for every shard to join @default 600000 */
  joinTimeoutMs?: number
  /** `shardHost: 'remote'`: called once the coordinator listens, with where */
  onListening?(address: GatewayAddress): void
  /** `shardHost: 'remote'`: called as each shard joins, with its index and address */
  onShardJoined?(shard: number, address: string): void
  /**
   * How shards exchange packets: `port` (MessagePorts between threads) or
   * `tcp` (length-prefixed frames over sockets, the path shards in other
   * processes and on other machines take). @default 'port' for threads, else 'tcp'
   */
  gateway?: 'port' | 'tcp'
  /** Called as peers start and dials complete (summed over shards). */
  onProgress?(progress: SimProgress): void
  /**
   * `virtual`: the shards and the coordinator advance together on virtual
   * time, in rounds (the coordinator's thread must run on a virtual clock,
   * as `runScenario` does); `wall`: every shard on the real clock.
   * @default 'virtual' when a virtual clock is installed on this thread, else 'wall'
   */
  time?: 'virtual' | 'wall'
}

/** The least lookahead, ms: links whose delay can come closer than this have their packets clamped. */
export const MIN_LOOKAHEAD_MS = 1
/** The largest lookahead, ms (no pair of sites across shards, or very distant ones): bounds how late an answer reaches the coordinator. */
export const MAX_LOOKAHEAD_MS = 1000

/** The number of shards `--shards auto` means: the cores available to this process. */
export function autoShards (): number {
  return Math.max(1, availableParallelism())
}

// how long `stop` waits for a shard to stop its peers before closing it anyway, ms
const SHARD_STOP_TIMEOUT_MS = 20_000

/**
 * The coordinator of a sharded simulation. It has the remote-safe part of
 * {@link Simulation}'s API (peer list, oracle RTT, ping between any two
 * peers, churn, partitions, events, stop); libp2p node objects live in the
 * shards and are not reachable from here. Create with
 * {@link createShardedSimulation}.
 */
export class ShardedSimulation {
  readonly peers: ShardedPeer[]
  readonly events = new EventLog()
  readonly latency: LatencyModel
  readonly shards: number
  private readonly plan: ShardPlan
  private readonly init: ShardedSimulationInit
  private readonly directory: PeerDirectory
  private readonly handles: ShardHandle[] = []
  private readonly rng: Rng
  private joins = 0
  private stopped = false
  private connectTotal = 0
  private readonly gatewayAddresses: GatewayAddress[] = []
  private server?: Server
  /** virtual time: the coordinator's clock, and the rounds once the shards are built */
  private readonly clock?: VirtualClock
  private driver?: RoundDriver
  private readonly eventOrigin = performance.now()
  private readonly readiness = new Map<number, { minDelayMs: number, resolve: () => void, done: Promise<void> }>()

  /** Use {@link createShardedSimulation}; `latency` is the model built from `init.latency`. */
  constructor (init: ShardedSimulationInit, latency: LatencyModel) {
    const shards = init.shards === 'auto' || init.shards == null ? autoShards() : init.shards

    if (!Number.isSafeInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
      throw new SimulationConfigError('shards', `must be an integer in 1..${MAX_SHARDS}, got ${String(init.shards)}`)
    }

    if (init.shardHost != null && !['thread', 'process', 'remote'].includes(init.shardHost)) {
      throw new SimulationConfigError('shardHost', `must be "thread", "process" or "remote", got ${String(init.shardHost)}`)
    }

    if (init.shardHost != null && init.shardHost !== 'thread' && init.gateway === 'port') {
      throw new SimulationConfigError('gateway', `shards in ${init.shardHost === 'process' ? 'processes' : 'remote processes'} exchange packets over TCP, not MessagePorts`)
    }

    const clock = currentVirtualClock()
    const time = init.time ?? (clock != null ? 'virtual' : 'wall')

    if (time === 'virtual' && clock == null) {
      throw new SimulationConfigError('time', 'a sharded run on virtual time needs a virtual clock on the coordinator\'s thread (withVirtualTime, or runScenario)')
    }

    this.clock = time === 'virtual' ? clock : undefined
    const { shards: _s, onProgress: _p, gateway: _g, shardHost: _h, listen: _l, joinTimeoutMs: _j, onListening: _o, onShardJoined: _oj, time: _t, ...plan } = init
    this.init = init
    this.plan = plan
    this.latency = latency
    this.rng = createRng(init.seed ?? DEFAULT_SIM_SEED)
    // the same construction every shard runs, never started: placement, roles, regions
    const placement = new Simulation({ ...plan, latency, services: undefined, shard: undefined })
    this.shards = Math.min(shards, placement.peers.length)
    this.directory = new PeerDirectory(placement.peers, this.shards)
    this.peers = this.directory.peers
  }

  /** How shards run and exchange packets. */
  get shardHost (): 'thread' | 'process' | 'remote' {
    return this.init.shardHost ?? 'thread'
  }

  private get tcp (): boolean {
    return this.shardHost !== 'thread' || this.init.gateway === 'tcp'
  }

  /** The OS process id of shard `index` when it runs as a child process (`shardHost: 'process'`). */
  shardPid (index: number): number | undefined {
    return this.handles[index]?.link.pid
  }

  /** Whether shards and coordinator advance together on virtual time. */
  get virtualTime (): boolean {
    return this.clock != null
  }

  /** virtual time: what the rounds did (undefined on the wall clock) */
  get roundStats (): RoundStats | undefined {
    return this.driver?.stats
  }

  /** Starts the shards (threads, processes, or waits for remote ones to join), then every peer in them. */
  async start (): Promise<void> {
    const clock = this.clock

    if (clock != null) {
      // virtual time stands still while the shards start (real work: threads, processes, sockets)
      clock.setHorizon(justBefore(clock.performanceNow()), () => {})
    }

    if (this.shardHost === 'remote') {
      await this.acceptRemote()
    } else {
      const handles = spawnShards({ shards: this.shards, processes: this.shardHost === 'process', tcp: this.tcp, shardInit: i => this.shardInit(i) })
      handles.forEach(h => { this.attach(h) })
    }

    if (clock != null) {
      await this.startRounds(clock)
    } else {
      await Promise.all(this.handles.map(async h => { await h.syncClock() }))
    }

    const statuses = await Promise.allSettled(this.handles.map(async h => h.call('start')))
    statuses.forEach((s, i) => {
      if (s.status === 'fulfilled') {
        s.value.forEach(st => { this.directory.update(st) })
      } else {
        this.shardFailed(i, s.reason)
      }
    })
  }

  private shardInit (i: number): ShardInit {
    const time = this.clock == null ? undefined : { seed: createRng(this.plan.seed ?? DEFAULT_SIM_SEED).fork(`shard-${i}`).nextUint32() }
    return { plan: this.plan, shard: i, shards: this.shards, gateway: this.tcp ? 'tcp' : 'port', time }
  }

  /**
   * virtual time: waits until every shard is built, takes the lookahead
   * (the least delay of a packet between shards, from the link model) and
   * starts the rounds.
   */
  private async startRounds (clock: VirtualClock): Promise<void> {
    await Promise.all([...this.readiness.values()].map(async r => r.done))
    const least = Math.min(...[...this.readiness.values()].map(r => r.minDelayMs))
    const lookaheadMs = Math.min(MAX_LOOKAHEAD_MS, Math.max(MIN_LOOKAHEAD_MS, least))
    this.driver = new RoundDriver({
      clock,
      handles: () => this.handles,
      lookaheadMs,
      events: (events) => { for (const e of events) this.events.insert(e) },
      eventTime: (abs) => round(abs - this.eventOrigin)
    })
    for (const h of this.handles) h.driver = this.driver
    this.driver.start()
  }

  private attach (handle: ShardHandle): void {
    this.handles[handle.index] = handle
    if (this.clock != null) {
      let resolve!: () => void
      const done = new Promise<void>(r => { resolve = r })
      this.readiness.set(handle.index, { minDelayMs: Infinity, resolve, done })
    }
    handle.link.onMessage((msg: FromShard) => { this.onMessage(handle, msg) })
    handle.link.onExit((err) => {
      if (!this.stopped || handle.alive) {
        this.shardFailed(handle.index, err ?? new ShardError(handle.index, 'exited'))
      }
    })
  }

  /** Listens on `listen` and waits for `shards` shards to join; each receives the plan and its index. */
  private async acceptRemote (): Promise<void> {
    let address: { host: string, port: number }

    try {
      address = parseHostPort(this.init.listen ?? '', { host: '0.0.0.0', port: DEFAULT_CONTROL_PORT })
    } catch (err: unknown) {
      throw new SimulationConfigError('listen', errorMessage(err))
    }

    this.server = createServer()

    try {
      await acceptShards(this.server, {
        address,
        shards: this.shards,
        timeoutMs: this.init.joinTimeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS,
        shardInit: i => this.shardInit(i),
        attach: h => { this.attach(h) },
        stopped: () => this.stopped,
        onListening: this.init.onListening,
        onShardJoined: this.init.onShardJoined
      })
    } finally {
      this.server = undefined
    }
  }

  private onMessage (handle: ShardHandle, msg: FromShard): void {
    if (this.driver?.receive(handle, msg) === true || handle.answer(msg)) {
      return
    }

    switch (msg.op) {
      case 'ready': {
        const ready = this.readiness.get(handle.index)
        if (ready != null) {
          ready.minDelayMs = msg.minDelayMs ?? Infinity
          ready.resolve()
        }
        break
      }
      case 'event': {
        // re-based on this log's start, through the shard's clock offset: one timeline
        const t = this.clock != null
          ? msg.abs - this.eventOrigin
          : msg.abs - handle.clockOffset - absoluteNow() + this.events.now()
        this.events.insert({ ...msg.event, t: round(t) })
        break
      }
      case 'listening':
        this.gatewayAddresses[handle.index] = { host: msg.host ?? handle.host, port: msg.port }
        if (this.gatewayAddresses.filter(p => p != null).length === this.shards) {
          for (const h of this.handles) h.link.send({ op: 'mesh', addresses: this.gatewayAddresses })
        }
        break
      case 'progress':
        this.init.onProgress?.(mergeProgress(this.handles, handle, msg.progress, msg.progress.phase === 'start' ? this.peers.length : this.connectTotal))
        break
      case 'fatal':
        this.shardFailed(handle.index, new ShardError(handle.index, `${msg.name}: ${msg.message}`))
        break
      default:
        break
    }
  }

  /** A shard died: its peers are reported crashed, the others run on. */
  private shardFailed (index: number, err: unknown): void {
    const handle = this.handles[index]

    if (handle == null || !handle.alive) {
      return
    }

    handle.fail(err instanceof Error ? err : new ShardError(index, String(err)))
    this.readiness.get(index)?.resolve()
    this.driver?.gone(handle)

    if (this.stopped) {
      return
    }

    this.events.record('shard:failed', { shard: index, error: describeError(err) })
    this.directory.shardFailed(index, this.events)
  }

  /** The peer with this index (or peer id string); throws {@link UnknownPeerError}. */
  peer (ref: PeerRef): ShardedPeer {
    return this.directory.peer(ref)
  }

  /** Peers currently running, optionally of one role and/or region. */
  running (filter: { role?: string, region?: string } = {}): ShardedPeer[] {
    return this.directory.running(filter)
  }

  /**
   * The market of a run planned with one (`init.market`): each shard runs
   * the Shoal services and flows of its own peers; a job is submitted in
   * the shard of its requester. `undefined` without a market.
   */
  get market (): MarketDriver | undefined {
    if (this.plan.market == null) return undefined
    const alive = (): ShardHandle[] => this.handles.filter(h => h.alive)
    return {
      open: async () => {
        const opened = await Promise.all(alive().map(async h => h.call('marketOpen')))
        return {
          providers: opened.reduce((n, o) => n + o.providers, 0),
          advertised: opened.reduce((n, o) => n + o.advertised, 0),
          seconds: Math.max(0, ...opened.map(o => o.seconds))
        }
      },
      submit: async (job) => {
        await this.handles[this.peer(job.peer).shard].call('marketSubmit', job)
      },
      adversary: async (behaviour, peers, options) => {
        const byShard = new Map<number, number[]>()
        for (const index of peers) {
          const shard = this.peer(index).shard
          byShard.set(shard, [...(byShard.get(shard) ?? []), index])
        }
        const played = await Promise.all([...byShard].map(async ([shard, indices]) => this.handles[shard].call('marketAdversary', behaviour, indices, options)))
        return played.every(Boolean)
      }
    }
  }

  /** Oracle truth: the RTT in ms the latency model gives between two peers' sites. */
  rtt (a: number | { index: number }, b: number | { index: number }): number {
    return this.latency.rtt(this.peer(a).siteIndex, this.peer(b).siteIndex)
  }

  private get defaultConnect (): ConnectOptions {
    return this.plan.connect === false ? {} : this.plan.connect ?? {}
  }

  /** Wires running peers as {@link planDials} plans (the same plan as unsharded); each shard dials for its own peers. */
  async connect (options: ConnectOptions = this.defaultConnect): Promise<ConnectReport> {
    const alive = this.running().map(p => p.index)
    const plan = planDials(alive, (a, b) => this.rtt(a, b), this.rng.fork('wiring'), options)
    const started = performance.now()
    this.connectTotal = plan.length
    this.handles.forEach(h => { h.progress.connect = 0 })
    const failed = await this.dialAll(plan, options)
    const report: ConnectReport = {
      dials: plan.length,
      failed,
      seconds: round((performance.now() - started) / 1000),
      connections: await this.connectionCount()
    }
    this.events.record('wired', { dials: report.dials, failed: report.failed, seconds: report.seconds, connections: report.connections })
    return report
  }

  /** Hands each shard the dials of its own peers; returns how many failed. */
  private async dialAll (plan: readonly PlannedDial[], options: ConnectOptions): Promise<number> {
    const byShard = new Map<number, PlannedDial[]>()

    for (const dial of plan) {
      const s = this.peers[dial.from].shard
      byShard.set(s, [...(byShard.get(s) ?? []), dial])
    }

    let failed = 0
    await Promise.all([...byShard].map(async ([s, dials]) => {
      try {
        failed += await this.handles[s].call('dial', dials, options)
      } catch {
        failed += dials.length
      }
    }))
    return failed
  }

  private async connectionCount (): Promise<number> {
    return (await this.stats()).reduce((n, s) => n + s.connections, 0)
  }

  /** Counters of every live shard. */
  async stats (): Promise<ShardStats[]> {
    const out = await Promise.allSettled(this.handles.filter(h => h.alive).map(async h => h.call('stats')))
    return out.flatMap(r => r.status === 'fulfilled' ? [r.value] : [])
  }

  /** Waits until every shard's DHTs have bootstrapped and its event loop is calm; returns the seconds waited. */
  async settle (options: SettleOptions = {}): Promise<number> {
    const started = performance.now()
    await Promise.allSettled(this.handles.filter(h => h.alive).map(async h => h.call('settle', options)))
    const seconds = round((performance.now() - started) / 1000)
    this.events.record('settled', { seconds, shards: this.shards })
    return seconds
  }

  /**
   * Pings `to` from `from` (in whichever shards they are); the shard of
   * `from` records the `ping` event. `timeoutMs` bounds the dial and the
   * ping (default 10 s).
   */
  async ping (from: number | { index: number }, to: number | { index: number }, options: { warm?: boolean, timeoutMs?: number } = {}): Promise<PingResult> {
    const a = this.peer(from)
    const b = this.peer(to)

    try {
      if (a.state !== 'running' || b.state !== 'running') {
        throw new UnknownPeerError(`peer ${a.state !== 'running' ? a.index : b.index} is not running`)
      }

      return await this.handles[a.shard].call('ping', a.index, b.index, options.warm !== false, options.timeoutMs)
    } catch (err: unknown) {
      return { from: a.index, to: b.index, oracleMs: this.rtt(a, b), error: describeError(err) }
    }
  }

  /** Looks `to` up in `from`'s kad-dht, in the shard of `from` (see {@link Simulation.lookup}). */
  async lookup (from: number | { index: number }, to: number | { index: number }): Promise<LookupResult> {
    const a = this.peer(from)
    const b = this.peer(to)

    try {
      return await this.handles[a.shard].call('lookup', a.index, b.index)
    } catch (err: unknown) {
      return { from: a.index, to: b.index, found: false, responses: 0, ms: 0, error: describeError(err) }
    }
  }

  /** Pings `count` random pairs of running peers (seeded), `concurrency` at a time. */
  async measurePings (count: number, rng: Rng = this.rng.fork('pings'), concurrency = 8): Promise<PingResult[]> {
    return randomPairs(this.running(), count, rng, concurrency, async (a, b) => this.ping(a, b))
  }

  /** Crashes a peer in its shard (connections reset, node stopped). Never throws. */
  async crash (ref: number | { index: number }, reason = 'simulated crash'): Promise<void> {
    await this.changeRunning(ref, async peer => this.handles[peer.shard].call('crash', peer.index, reason))
  }

  /** Stops a peer gracefully in its shard. */
  async leave (ref: number | { index: number }): Promise<void> {
    await this.changeRunning(ref, async peer => this.handles[peer.shard].call('leave', peer.index))
  }

  /** Applies `change` to a running peer in its shard; a shard that cannot answer leaves it crashed. */
  private async changeRunning (ref: number | { index: number }, change: (peer: ShardedPeer) => Promise<PeerStatus>): Promise<void> {
    const peer = this.peer(ref)

    if (peer.state !== 'running') return

    try {
      this.directory.update(await change(peer))
    } catch (err: unknown) {
      peer.state = 'crashed'
      peer.error = describeError(err)
    }
  }

  /** (Re)starts a stopped or crashed peer in its shard and wires it like a newcomer (see {@link joinPeer}). */
  async join (ref: number | { index: number }, options: ConnectOptions = this.defaultConnect): Promise<void> {
    const peer = this.peer(ref)

    if (peer.state === 'running' || this.stopped || !this.handles[peer.shard].alive) return

    await joinPeer({
      sim: this,
      start: async (p) => {
        try {
          this.directory.update(await this.handles[p.shard].call('restart', p.index))
        } catch (err: unknown) {
          p.state = 'failed'
          p.error = describeError(err)
        }
      },
      joinRng: () => this.rng.fork(`join-${this.joins++}`),
      dial: async (plan, opts) => this.dialAll(plan, opts)
    }, peer, options)
  }

  /** Cuts every link between the peers of two groups of regions, in every shard. */
  partition (regionsA: readonly string[], regionsB: readonly string[]): void {
    partitionRegions(this.peers, regionsA, regionsB, this.events, (a, b) => { this.broadcast(async h => h.call('partition', [...a], [...b])) })
  }

  /** Heals every cut in every shard. */
  heal (): void {
    this.broadcast(h => h.call('heal'))
    this.events.record('heal')
  }

  /**
   * Sends a call to every live shard without waiting: messages to one
   * worker stay in order, so a later ping sees the cut.
   */
  private broadcast (call: (h: ShardHandle) => Promise<void>): void {
    for (const h of this.handles) {
      if (h.alive) {
        call(h).catch(() => {})
      }
    }
  }

  /** Stops every peer and every shard worker; idempotent. */
  async stop (): Promise<void> {
    if (this.stopped) {
      return
    }

    this.stopped = true
    await Promise.allSettled(this.handles.filter(h => h.alive).map(async h => {
      let timer: ReturnType<typeof setTimeout> | undefined
      // the timer is cleared once the shard answers: on virtual time a timer left behind would still fire, and move time on
      await Promise.race([h.call('stop'), new Promise(resolve => { timer = setTimeout(resolve, SHARD_STOP_TIMEOUT_MS).unref() })])
      clearTimeout(timer)
    }))
    // virtual time: no more rounds; the coordinator's clock runs free again
    await this.driver?.stop()
    this.clock?.setHorizon(Infinity)

    for (const p of this.peers) {
      if (p.state === 'running') p.state = 'stopped'
    }

    this.server?.close()
    await Promise.allSettled(this.handles.map(async h => {
      h.alive = false
      await h.link.close()
    }))
    this.events.record('stopped')
  }
}

/**
 * Places peers, starts them in `shards` worker threads (or child processes,
 * or remote shards that join, see `shardHost`) and (unless
 * `connect: false`) wires them. Every option must be plain data (workers
 * cannot receive functions): the latency model is described as in a
 * scenario, services by a {@link ServicesModule}.
 *
 * @example
 * ```ts
 * const sim = await createShardedSimulation({
 *   peers: 1000,
 *   shards: 'auto',
 *   latency: { model: 'geographic' },
 *   seed: 42,
 *   services: { module: '/abs/path/my-services.js', export: 'services' }
 * })
 * await sim.ping(0, 999) // { rttMs, oracleMs }, whichever shards they are in
 * await sim.stop()
 * ```
 */
export async function createShardedSimulation (init: ShardedSimulationInit): Promise<ShardedSimulation> {
  const model = await latencyModelOf(init.latency, init.baseDir)
  const sim = new ShardedSimulation(init, model)

  try {
    await sim.start()

    if (init.connect !== false) {
      await sim.connect(init.connect)
    }
  } catch (err) {
    await sim.stop()
    throw err
  }

  return sim
}

export type { ServicesModule }
