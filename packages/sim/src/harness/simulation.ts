import { monitorEventLoopDelay } from 'node:perf_hooks'
import { currentVirtualClock, runAsPeer } from '../time/virtual-clock.js'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { geographicLatency } from '../latency/geographic.js'
import { linkProfileFor } from '../latency/link-profile.js'
import { describeError } from '../error-text.js'
import { createRng } from '../random.js'
import { SimNetwork } from '../transport/index.js'
import { crashPeer, joinPeer, leavePeer, partitionRegions } from './churn.js'
import { planDials, pool, randomPairs } from './connect.js'
import {
  DEFAULT_DHT_DELAY_PER_PEER_MS,
  DEFAULT_DHT_SPREAD_PER_PEER_MS,
  DEFAULT_DHT_START_DELAY_MS,
  DEFAULT_DHT_START_SPREAD_MS,
  DEFAULT_DIAL_CONCURRENCY,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_SIM_SEED,
  DEFAULT_START_CONCURRENCY
} from './constants.js'
import { SimulationConfigError, UnknownPeerError } from './errors.js'
import { EventLog } from './events.js'
import { assignRoles, placeSites, regionOf } from './placement.js'
import { lookupPeer, pingPeer } from './probes.js'
import { simNodeOptions } from './stack.js'
import { planNat, simIpAddress } from './nat.js'
import { round } from '../round.js'
import type { ConnectOptions, PlannedDial } from './connect.js'
import type { PeerRef, PeerSpec, PeerState, SimPeer } from './peer.js'
import type { LookupResult, PingOptions, PingResult, ProbeContext } from './probes.js'
import type { SimReachability, SimServiceFactories, SimServices, SimStackOptions } from './stack.js'
import type { SimNatOptions, SimNatPlan } from './nat.js'
import type { LinkProfileOptions, SiteLinkProfile } from '../latency/link-profile.js'
import type { PlacementOptions } from '../latency/placement.js'
import type { LatencyModel } from '../latency/types.js'
import type { Rng, Seed } from '../random.js'
import type { SimNetworkInit } from '../transport/index.js'
import type { AbortOptions, Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Progress of the long phases, for progress bars. */
export interface SimProgress {
  phase: 'start' | 'connect' | 'settle'
  done: number
  total: number
}

/** Options of {@link Simulation.settle}. */
export interface SettleOptions {
  /** give up waiting after this many ms @default 60 s after the last DHT starts, at least 120 s */
  maxMs?: number
  /** the event loop counts as calm when its p99 delay over a window is below this @default 50 */
  lagP99Ms?: number
  /** length of a measurement window, ms @default 1000 */
  windowMs?: number
  /** consecutive calm windows needed @default 3 */
  calmWindows?: number
}

/** Options of {@link createSimulation}. */
export interface SimulationInit<S extends Record<string, unknown> = Record<string, unknown>> {
  /** number of peers */
  peers: number
  /**
   * Role of each peer: an explicit list (one per peer), or shares by role
   * name (`{ gpu: 1, requester: 3 }`), apportioned and shuffled with the
   * seed. @default every peer is `peer`
   */
  roles?: readonly string[] | Record<string, number>
  /**
   * Where peers are: an explicit site index per peer, or placement options
   * (regions and weights) for {@link placePeers}. @default placement by population
   */
  placement?: readonly number[] | PlacementOptions
  /**
   * A region label per peer (e.g. the scenario's region names), used by
   * filters and partitions. @default the continent code of the peer's site
   */
  regions?: readonly string[]
  /** The latency model (oracle truth). @default geographicLatency() (world cities) */
  latency?: LatencyModel
  /** How RTTs become link profiles (jitter, loss, bandwidth). */
  links?: LinkProfileOptions
  /** Same seed, same placement, roles, keys, wiring and link randomness. @default 1 */
  seed?: Seed
  /**
   * Extra services per peer, e.g. Shoal's `{ jobs: jobBoard() }` for some
   * roles. Called once per peer (again on rejoin).
   */
  services?: (peer: PeerSpec) => SimServiceFactories<S>
  /** Wiring; `false` leaves peers unconnected until {@link Simulation.connect}. */
  connect?: ConnectOptions | false
  /** Overrides of the libp2p stack. */
  stack?: SimStackOptions
  /**
   * Peers behind NATs and the relays that reach them (unsharded runs
   * only). @default none: every peer is publicly reachable
   */
  nat?: SimNatOptions
  /** Options of the sim network (TCP model, timeouts). */
  network?: Omit<SimNetworkInit, 'linkProfile' | 'seed' | 'random'>
  /**
   * ms after a peer starts before its DHT bootstraps (self-query, then
   * table refresh). @default 5000 + 100 ms per peer (after the wiring)
   */
  dhtStartDelayMs?: number
  /** Spread of the DHT start over peers (ms). @default max(10000, 40 ms per peer) */
  dhtStartSpreadMs?: number
  /** Nodes created concurrently. @default 8 */
  startConcurrency?: number
  /** Called as peers start and dials complete. */
  onProgress?(progress: SimProgress): void
  /**
   * The part of a sharded simulation this instance runs (set by shard
   * workers; see {@link createShardedSimulation}): it places every peer
   * alike, but starts only the peers {@link shardOf} gives this shard, and
   * dials the others through a gateway. @default the whole simulation
   */
  shard?: { index: number, count: number }
}

/**
 * The shard that runs peer `index` of `peers` split over `shards`:
 * contiguous blocks, so every shard knows any peer's owner without asking.
 */
export function shardOf (index: number, peers: number, shards: number): number {
  return Math.min(shards - 1, Math.floor(index * shards / peers))
}

/** Result of wiring the network. */
export interface ConnectReport {
  dials: number
  failed: number
  /** wall time of the wiring in seconds */
  seconds: number
  /** connections open at the end (both ends counted once) */
  connections: number
}

/**
 * N real libp2p nodes in one process on a simulated network: placement,
 * link profiles from a latency model, the full stock stack plus the
 * caller's services, wiring, the oracle RTT, churn, partitions and an event
 * log. Create with {@link createSimulation}.
 */
export class Simulation<S extends Record<string, unknown> = Record<string, unknown>> {
  readonly peers: Array<SimPeer<S>> = []
  readonly network: SimNetwork
  readonly latency: LatencyModel
  readonly events: EventLog
  readonly link: (a: number, b: number) => SiteLinkProfile
  private readonly init: SimulationInit<S>
  private readonly rng: Rng
  private readonly byPeerId = new Map<string, number>()
  /** peer ids of other shards' peers, by index */
  private readonly remoteIds = new Map<number, string>()
  private readonly dhtDelay: number
  private readonly dhtSpread: number
  private stopped = false
  private joins = 0
  /** when (performance.now) the last peer's DHT bootstrap timer fires */
  private dhtStartsBy = 0
  private readonly lag = monitorEventLoopDelay({ resolution: 10 })
  private readonly shard: { index: number, count: number }
  private lagTimer?: ReturnType<typeof setInterval>
  private readonly probeContext: ProbeContext<S>

  /** Use {@link createSimulation}; the constructor only places peers. */
  constructor (init: SimulationInit<S>) {
    if (!Number.isSafeInteger(init.peers) || init.peers < 1) {
      throw new SimulationConfigError('peers', `must be a positive integer, got ${init.peers}`)
    }

    this.init = init
    this.rng = createRng(init.seed ?? DEFAULT_SIM_SEED)
    this.events = new EventLog()
    this.latency = init.latency ?? geographicLatency()
    this.link = linkProfileFor(this.latency, init.links)
    this.dhtDelay = init.dhtStartDelayMs ?? DEFAULT_DHT_START_DELAY_MS + DEFAULT_DHT_DELAY_PER_PEER_MS * init.peers
    this.dhtSpread = init.dhtStartSpreadMs ?? Math.max(DEFAULT_DHT_START_SPREAD_MS, DEFAULT_DHT_SPREAD_PER_PEER_MS * init.peers)

    const link = this.link
    this.shard = init.shard ?? { index: 0, count: 1 }
    this.network = new SimNetwork({
      ...init.network,
      // shards draw jitter and loss from streams of their own
      seed: this.rng.fork(this.shard.count > 1 ? `network-${this.shard.index}` : 'network').nextUint32(),
      linkProfile: (from, to) => link(Number(from), Number(to))
    })

    this.peers.push(...this.placePeers())
    this.probeContext = {
      events: this.events,
      isUp: (peer) => this.isUp(peer),
      addressOf: (peer) => this.addressOf(peer),
      peerIdOf: (peer) => this.peerIdString(peer),
      rtt: (a, b) => this.rtt(a, b)
    }
  }

  /** Every peer, placed, with its role and region, not yet started. */
  private placePeers (): Array<SimPeer<S>> {
    const init = this.init
    const sites = placeSites(init.placement, init.peers, this.latency, this.rng.fork('placement'))
    const roles = assignRoles(init.roles, init.peers, this.rng.fork('roles'))
    const bootstrap = Math.min((init.connect === false ? undefined : init.connect?.bootstrap) ?? 3, init.peers)

    if (init.regions != null && init.regions.length !== init.peers) {
      throw new SimulationConfigError('regions', `lists ${init.regions.length} regions for ${init.peers} peers`)
    }
    if (init.nat != null && this.shard.count > 1) {
      throw new SimulationConfigError('nat', 'NAT\'d peers are simulated in unsharded runs only')
    }
    const natPlan: SimNatPlan | undefined = init.nat == null ? undefined : planNat(roles, bootstrap, init.nat, this.rng.fork('nat'))

    return sites.map((siteIndex, i) => {
      const site = this.latency.sites[siteIndex]
      return {
        index: i,
        role: roles[i],
        siteIndex,
        site,
        region: init.regions?.[i] ?? regionOf(site),
        bootstrap: i < bootstrap,
        nat: natPlan?.nat.get(i),
        relay: natPlan == null ? undefined : natPlan.relays.includes(i),
        rng: this.rng.fork(`peer-${i}`),
        // DCUtR and the relay transport only handle IP addresses
        address: natPlan == null ? `/memory/peer-${i}` : simIpAddress(i),
        state: 'stopped'
      }
    })
  }

  /** Whether this instance runs peer `index` (always, unless it is one shard of several). */
  owns (index: number): boolean {
    return this.shard.count === 1 || shardOf(index, this.peers.length, this.shard.count) === this.shard.index
  }

  /** Starts every peer's node (concurrently, a few at a time); failures are reported, not thrown. */
  async start (): Promise<void> {
    this.monitorLag()
    const mine = this.peers.filter(p => this.owns(p.index))
    const total = mine.length
    let done = 0

    if (mine.length < this.peers.length) {
      // peer ids of other shards' peers, so events name them and dials can check them
      await pool(this.peers.filter(p => !this.owns(p.index)), 16, async (peer) => {
        const key = await this.keyOf(peer)
        const id = peerIdFromPrivateKey(key).toString()
        this.byPeerId.set(id, peer.index)
        this.remoteIds.set(peer.index, id)
      })
    }

    await pool(mine, this.init.startConcurrency ?? DEFAULT_START_CONCURRENCY, async (peer) => {
      await this.startPeer(peer)
      this.init.onProgress?.({ phase: 'start', done: ++done, total })
    })
  }

  /** The peer's private key; it derives from the seed so peer ids (hence DHT distances) repeat across runs. */
  private async keyOf (peer: PeerSpec): Promise<PrivateKey> {
    const seed = new Uint8Array(32)
    const keyRng = peer.rng.fork('key')
    for (let i = 0; i < 32; i += 4) {
      new DataView(seed.buffer).setUint32(i, keyRng.nextUint32())
    }

    return generateKeyPairFromSeed('Ed25519', seed)
  }

  /** The dialable address of a peer, local or in another shard. */
  private addressOf (peer: SimPeer<S>): Multiaddr {
    if (peer.node != null) {
      return peer.node.getMultiaddrs()[0] ?? multiaddr(`${peer.address}/p2p/${peer.node.peerId}`)
    }

    const id = this.remoteIds.get(peer.index)
    return multiaddr(id == null ? peer.address : `${peer.address}/p2p/${id}`)
  }

  /** Whether `peer` can be reached: running here, or in another shard (dialled blind: the coordinator planned with its state). */
  private isUp (peer: SimPeer<S>): boolean {
    return this.owns(peer.index) ? peer.node != null && peer.state === 'running' : true
  }

  private peerIdString (peer: SimPeer<S>): string | undefined {
    return peer.node?.peerId.toString() ?? this.remoteIds.get(peer.index)
  }

  private async startPeer (peer: SimPeer<S>): Promise<void> {
    const started = performance.now()

    try {
      if (peer.node == null) {
        const privateKey = await this.keyOf(peer)
        const dhtDelay = Math.round(this.dhtDelay + peer.rng.fork('dht').float() * this.dhtSpread)
        this.dhtStartsBy = Math.max(this.dhtStartsBy, performance.now() + dhtDelay)
        // the peer's code, and all it schedules, runs as this peer: the CPU model charges it
        const node = await runAsPeer(peer.index, async () => createLibp2p(simNodeOptions<S>({
          network: this.network,
          site: String(peer.siteIndex),
          listen: peer.address,
          privateKey,
          dhtStartDelayMs: dhtDelay,
          stack: this.init.stack,
          services: this.init.services?.(peer),
          reachability: this.reachabilityOf(peer)
        })))
        peer.node = node
        peer.peerId = node.peerId
        this.byPeerId.set(node.peerId.toString(), peer.index)
        this.watch(peer, node)
      } else {
        const node = peer.node
        await runAsPeer(peer.index, async () => { await node.start() })
      }

      peer.state = 'running'
      peer.error = undefined
      this.events.record('peer:started', { peer: peer.index, role: peer.role, region: peer.region, site: peer.site.name, ms: round(performance.now() - started) })
    } catch (err: unknown) {
      peer.state = 'failed'
      peer.error = describeError(err)
      this.events.record('peer:failed', { peer: peer.index, role: peer.role, error: peer.error })
    }
  }

  /** How `peer` is reached when the simulation has NATs (undefined without). */
  private reachabilityOf (peer: SimPeer<S>): SimReachability | undefined {
    if (this.init.nat == null) return undefined
    return {
      nat: peer.nat == null ? undefined : { type: peer.nat, mappingMs: this.init.nat.mappingMs },
      relay: peer.relay === true
    }
  }

  /**
   * Records a `loop` event per second with the event loop's delay: every
   * timing measured while it is high (a busy CPU) is inflated by it.
   */
  private monitorLag (): void {
    if (this.lagTimer != null || currentVirtualClock() != null) {
      // in virtual time the CPU never delays the network: there is no lag to record
      return
    }

    this.lag.enable()
    this.lagTimer = setInterval(() => {
      this.events.record('loop', { p50_ms: round(this.lag.percentile(50) / 1e6), p99_ms: round(this.lag.percentile(99) / 1e6), max_ms: round(this.lag.max / 1e6) })
      this.lag.reset()
    }, 1000)
    this.lagTimer.unref()
  }

  /**
   * Waits until every peer's DHT has bootstrapped (its delayed self-query
   * has fired) and the event loop is calm again, so that what is measured
   * next is the network, not the CPU. Returns the seconds waited.
   */
  async settle (options: SettleOptions = {}): Promise<number> {
    const started = performance.now()
    const maxMs = options.maxMs ?? Math.max(120_000, this.dhtStartsBy - started + 60_000)
    const threshold = options.lagP99Ms ?? 50
    const windowMs = options.windowMs ?? 1000
    const h = monitorEventLoopDelay({ resolution: 10 })
    h.enable()
    const virtual = currentVirtualClock() != null
    const needed = options.calmWindows ?? 3
    const total = Math.max(Math.ceil(needed * windowMs / 1000), Math.ceil((this.dhtStartsBy - started) / 1000))
    let calmRun = 0

    try {
      for (;;) {
        h.reset()
        await new Promise(resolve => setTimeout(resolve, windowMs))
        const now = performance.now()
        // in virtual time the loop's real delay is no delay of the network
        calmRun = virtual || h.percentile(99) / 1e6 < threshold ? calmRun + 1 : 0
        this.init.onProgress?.({ phase: 'settle', done: Math.min(total - 1, Math.floor((now - started) / 1000)), total })

        if ((now >= this.dhtStartsBy && calmRun >= needed) || now - started >= maxMs) {
          break
        }
      }
    } finally {
      h.disable()
    }

    const seconds = round((performance.now() - started) / 1000)
    this.events.record('settled', { seconds, calm: calmRun >= needed })
    this.init.onProgress?.({ phase: 'settle', done: total, total })
    return seconds
  }

  private watch (peer: SimPeer<S>, node: Libp2p<SimServices & S>): void {
    node.addEventListener('peer:connect', (evt) => {
      this.events.record('peer:connect', { peer: peer.index, remote: this.indexOf(evt.detail) ?? null })
    })
    node.addEventListener('peer:disconnect', (evt) => {
      this.events.record('peer:disconnect', { peer: peer.index, remote: this.indexOf(evt.detail) ?? null })
    })
  }

  private indexOf (peerId: PeerId): number | undefined {
    return this.byPeerId.get(peerId.toString())
  }

  /** The index of the peer with this peer id (as a string), here or in another shard. */
  indexOfId (peerId: string): number | undefined {
    return this.byPeerId.get(peerId)
  }

  /** The peer a reference names; throws {@link UnknownPeerError}. */
  peer (ref: PeerRef): SimPeer<S> {
    let index: number | undefined

    if (typeof ref === 'number') {
      index = ref
    } else if ('index' in ref && typeof ref.index === 'number') {
      index = ref.index
    } else {
      index = this.indexOf(ref as PeerId)
    }

    const peer = index == null ? undefined : this.peers[index]

    if (peer == null) {
      throw new UnknownPeerError(`No simulated peer ${typeof ref === 'number' ? ref : String(ref)}`)
    }

    return peer
  }

  /** Peers currently running, optionally of one role and/or region. */
  running (filter: { role?: string, region?: string } = {}): Array<SimPeer<S>> {
    return this.peers.filter(p => p.state === 'running' &&
      (filter.role == null || p.role === filter.role) &&
      (filter.region == null || p.region === filter.region))
  }

  /** Oracle truth: the RTT in ms the latency model gives between two peers' sites. */
  rtt (a: PeerRef, b: PeerRef): number {
    return this.latency.rtt(this.peer(a).siteIndex, this.peer(b).siteIndex)
  }

  /** Wires running peers as {@link planDials} plans; failed dials are recorded, not thrown. */
  async connect (options: ConnectOptions = this.init.connect === false ? {} : this.init.connect ?? {}): Promise<ConnectReport> {
    const alive = this.running().map(p => p.index)
    const plan = this.natWiring(planDials(alive, (a, b) => this.rtt(a, b), this.rng.fork('wiring'), options), alive)
    const started = performance.now()
    const failed = await this.dialAll(plan, options)
    const report: ConnectReport = {
      dials: plan.length,
      failed,
      seconds: round((performance.now() - started) / 1000),
      connections: this.network.connectionCount
    }
    this.events.record('wired', { dials: report.dials, failed: report.failed, seconds: report.seconds, connections: report.connections })
    return report
  }

  /**
   * With NATs: a NAT'd peer dials out (a dial planned towards it is turned
   * around, as it could not get in), and each NAT'd peer of `alive` dials
   * every relay of `alive` so it can reserve a slot there.
   */
  private natWiring (plan: PlannedDial[], alive: readonly number[]): PlannedDial[] {
    if (this.init.nat == null) return plan
    const natted = (i: number): boolean => this.peers[i].nat != null
    const turned = plan.map(d => natted(d.to) && !natted(d.from) ? { ...d, from: d.to, to: d.from } : d)
    const relays = alive.filter(i => this.peers[i].relay === true)
    const linked = new Set(turned.map(d => `${d.from}-${d.to}`))
    for (const from of alive.filter(natted)) {
      for (const to of relays) {
        if (!linked.has(`${from}-${to}`)) turned.push({ from, to, kind: 'relay' })
      }
    }
    return turned
  }

  private async dialAll (plan: readonly PlannedDial[], options: ConnectOptions): Promise<number> {
    let failed = 0
    let done = 0
    const timeout = options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS

    await pool(plan, options.concurrency ?? DEFAULT_DIAL_CONCURRENCY, async (dial) => {
      const from = this.peers[dial.from]
      const to = this.peers[dial.to]
      const started = performance.now()
      if (from.node == null || from.state !== 'running' || !this.isUp(to)) {
        failed++
      } else {
        try {
          await from.node.dial(this.addressOf(to), { signal: AbortSignal.timeout(timeout) })
          this.events.record('dial', { peer: dial.from, remote: dial.to, kind: dial.kind, ok: true, ms: round(performance.now() - started), oracle_rtt_ms: round(this.rtt(dial.from, dial.to)) })
        } catch (err: unknown) {
          failed++
          this.events.record('dial', { peer: dial.from, remote: dial.to, kind: dial.kind, ok: false, ms: round(performance.now() - started), error: describeError(err) })
        }
      }

      this.init.onProgress?.({ phase: 'connect', done: ++done, total: plan.length })
    })

    return failed
  }

  /**
   * Runs dials planned elsewhere (by a sharded simulation's coordinator);
   * returns how many failed. Each is recorded as a `dial` event.
   */
  async dialPlan (plan: readonly PlannedDial[], options: ConnectOptions = {}): Promise<number> {
    return this.dialAll(plan, options)
  }

  /** Pings `to` from `from` and records a `ping` event with the oracle RTT; see {@link pingPeer}. */
  async ping (from: PeerRef, to: PeerRef, options: PingOptions = {}): Promise<PingResult> {
    return pingPeer(this.probeContext, this.peer(from), this.peer(to), options)
  }

  /** Looks `to` up in `from`'s kad-dht and records a `lookup` event; see {@link lookupPeer}. */
  async lookup (from: PeerRef, to: PeerRef, options: AbortOptions = {}): Promise<LookupResult> {
    return lookupPeer(this.probeContext, this.peer(from), this.peer(to), options)
  }

  /** Pings `count` random pairs of running peers (seeded), `concurrency` at a time. */
  async measurePings (count: number, rng: Rng = this.rng.fork('pings'), concurrency = 8): Promise<PingResult[]> {
    return randomPairs(this.running(), count, rng, concurrency, async (a, b) => this.ping(a, b))
  }

  /** Crashes a peer (connections reset, node stopped); see {@link crashPeer}. Never throws. */
  async crash (ref: PeerRef, reason = 'simulated crash'): Promise<void> {
    await crashPeer(this.peer(ref), this.events, reason)
  }

  /** Stops a peer gracefully (connections closed, services stopped); see {@link leavePeer}. */
  async leave (ref: PeerRef): Promise<void> {
    await leavePeer(this.peer(ref), this.events)
  }

  /**
   * (Re)starts a stopped or crashed peer without wiring it (a sharded
   * simulation's coordinator plans its dials); returns its new state.
   */
  async restart (ref: PeerRef): Promise<PeerState> {
    const peer = this.peer(ref)

    if (peer.state !== 'running' && !this.stopped) {
      await this.startPeer(peer)
    }

    return peer.state
  }

  /** (Re)starts a stopped or crashed peer and wires it like a newcomer; see {@link joinPeer}. */
  async join (ref: PeerRef, options: ConnectOptions = this.init.connect === false ? {} : this.init.connect ?? {}): Promise<void> {
    const peer = this.peer(ref)

    if (peer.state === 'running' || this.stopped) {
      return
    }

    await joinPeer({
      sim: this,
      start: async (p) => { await this.startPeer(p) },
      joinRng: () => this.rng.fork(`join-${this.joins++}`),
      // a NAT'd newcomer dials out, and to the relays
      dial: async (plan, opts) => this.dialAll(this.natWiring([...plan], [peer.index, ...this.running().filter(p => p.relay === true).map(p => p.index)]), opts)
    }, peer, options)
  }

  /** Cuts every link between the peers of two groups of regions (see {@link SimNetwork.partition}). */
  partition (regionsA: readonly string[], regionsB: readonly string[]): void {
    partitionRegions(this.peers, regionsA, regionsB, this.events, (a, b) => { this.network.partition(a, b) })
  }

  /** Heals every cut. */
  heal (): void {
    this.network.heal()
    this.events.record('heal')
  }

  /** Stops every node and tears the network down; idempotent. */
  async stop (): Promise<void> {
    if (this.stopped) {
      return
    }

    this.stopped = true
    clearInterval(this.lagTimer)
    this.lag.disable()
    await Promise.allSettled(this.peers.map(async p => {
      if (p.state === 'running') {
        p.state = 'stopped'
        await p.node?.stop()
      }
    }))
    this.network.close()
    this.events.record('stopped')
  }
}

/**
 * Places, starts and (unless `connect: false`) wires a simulation of
 * real libp2p nodes.
 *
 * @example
 * ```ts
 * const sim = await createSimulation({
 *   peers: 100,
 *   roles: { gpu: 1, requester: 3 },
 *   placement: { regions: { EU: 0.4, NA: 0.3, AS: 0.3 } },
 *   latency: geographicLatency(),
 *   seed: 42,
 *   services: (peer) => peer.role === 'gpu' ? { work: work() } : {}
 * })
 * await sim.ping(0, 1) // { rttMs, oracleMs }
 * sim.rtt(0, 1)        // oracle truth
 * await sim.stop()
 * ```
 */
export async function createSimulation<S extends Record<string, unknown> = Record<string, unknown>> (init: SimulationInit<S>): Promise<Simulation<S>> {
  const sim = new Simulation<S>(init)
  await sim.start()

  if (init.connect !== false) {
    await sim.connect(init.connect)
  }

  return sim
}
