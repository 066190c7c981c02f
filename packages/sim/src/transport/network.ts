/**
 * The shared medium of one simulation: the registry of listening endpoints,
 * the link profiles between sites, cuts, the single delivery scheduler, the
 * seeded randomness and the traffic counters.
 */

import { ListenError } from '@libp2p/interface'
import { DEFAULT_CUT_DIAL_TIMEOUT, DEFAULT_HIGH_WATER_MARK, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_RETRANSMITS, DEFAULT_MIN_RTO, DEFAULT_MSS, DEFAULT_SEED, DEFAULT_TIMER_SLACK } from './constants.js'
import { LinkResetError } from './errors.js'
import { directionParams } from './link-model.js'
import { createRng } from '../random.js'
import { Scheduler } from './scheduler.js'
import type { AcceptHandler, SimEndpoint, SimMultiaddrConnection } from './connection.js'
import type { DirectionParams, LinkProfileFunction, RandomSource, TcpModel } from './link-model.js'
import type { NatMapping } from './nat.js'
import type { Seed } from '../random.js'
import type { Clock } from './scheduler.js'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options for {@link SimNetwork}. */
export interface SimNetworkInit {
  /**
   * The path between two sites. Called once per ordered pair of sites (the
   * result is cached until {@link SimNetwork.setLinkProfile} or
   * {@link SimNetwork.invalidateProfiles}).
   *
   * @default () => ({ rttMs: 0 })
   */
  linkProfile?: LinkProfileFunction

  /**
   * Seed of the PRNG that draws jitter and loss.
   *
   * @default 1
   */
  seed?: Seed

  /** A source of uniform numbers in [0, 1) to use instead of a seeded generator. */
  random?: RandomSource

  /** Overrides of the TCP model's knobs. */
  tcp?: Partial<TcpModel>

  /**
   * A dial across a cut link fails with `ConnectionFailedError` after this
   * many ms (its SYNs vanish; real TCP would keep retrying for minutes and
   * libp2p's dial timeout would end it first).
   *
   * @default 1000
   */
  cutDialTimeoutMs?: number

  /**
   * A connection end reports back-pressure once this many bytes wait to be
   * serialized on a bandwidth-limited direction.
   *
   * @default 65536
   */
  highWaterMark?: number

  /**
   * Writes larger than this are split into chunks of at most this many bytes;
   * loss and jitter are drawn per chunk.
   *
   * @default 65536
   */
  maxMessageSize?: number

  /** Monotonic ms clock. @default performance.now */
  clock?: Clock

  /**
   * Deliver chunks that are due within this many ms when the timer fires, to
   * offset Node's millisecond timer rounding. See {@link Scheduler}.
   *
   * @default 1
   */
  timerSlackMs?: number
}

/** Traffic counters of one direction between two sites. */
export interface LinkStats {
  from: string
  to: string
  /** payload bytes handed to the link (what libp2p wrote: encrypted, framed) */
  bytes: number
  /** writes (chunks) handed to the link */
  chunks: number
  /** retransmissions simulated on this direction */
  retransmits: number
  /** connections broken because retransmissions ran out */
  timeouts: number
  /** connections dialed in this direction */
  connections: number
  /** simulated time this direction spent serializing what it carried (bytes / bandwidth), ms */
  serializationMs: number
}

/** What the network knows about a listening endpoint. */
export interface SimListenerEntry {
  site: string
  peerId: PeerId
  log: Logger
  /** the simulated peer (index) listening, for the CPU model */
  owner?: number
  accept: AcceptHandler
  /** set once the listener has closed: SYNs to it are refused */
  closed: boolean
  /** the NAT in front of the listening node, if any */
  nat?: NatMapping
}

/** A connection (or a shard's half of one) the network can tear down. */
export interface OpenConnection {
  /** the listener it was accepted by, when this network holds the accepting end */
  readonly listener?: SimListenerEntry
  /** whether this is the accepting half of a connection dialed from another shard (not counted again) */
  readonly inboundHalf?: boolean
  break(err: Error): void
}

/**
 * Where a dial to an address that no listener of this network holds goes
 * instead: the other shard of a sharded simulation that owns the address.
 */
export interface RemoteDialer {
  /** the site of the peer listening at `address`, or undefined when no shard knows the address */
  siteOf(address: string): string | undefined
  /** open a connection to `address` in another shard */
  dial(dialer: SimEndpoint, address: string, remoteAddr: Multiaddr, options: AbortOptions): Promise<SimMultiaddrConnection>
}

/** Something that stops delivering while its link is cut. */
export interface Stallable {
  resume(): void
}

function pairKey (a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`
}

/**
 * One simulated network. Every {@link simTransport} given the same network
 * can dial the others' `/memory/<id>` listen addresses, through links shaped
 * by the `linkProfile` of their sites.
 *
 * @example
 *
 * ```TypeScript
 * const network = new SimNetwork({
 *   linkProfile: (from, to) => ({ rttMs: from === to ? 1 : 80, loss: 0.001 }),
 *   seed: 42
 * })
 *
 * const node = await createLibp2p({
 *   addresses: { listen: ['/memory/tokyo-1'] },
 *   transports: [simTransport({ network, site: 'tokyo' })],
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()]
 * })
 * ```
 */
export class SimNetwork {
  /** the one timer every delivery in this network goes through */
  public readonly scheduler: Scheduler
  public readonly random: RandomSource
  public readonly tcp: TcpModel
  public readonly highWaterMark: number
  public readonly maxMessageSize: number
  public readonly cutDialTimeoutMs: number
  /** bumped whenever cached link parameters must be recomputed */
  public profileVersion = 0

  private linkProfile: LinkProfileFunction
  private readonly params = new Map<string, DirectionParams>()
  private readonly listeners = new Map<string, SimListenerEntry>()
  private readonly cuts = new Set<string>()
  private readonly stalled = new Set<Stallable>()
  private readonly open = new Set<OpenConnection>()
  private inboundHalves = 0
  /** set by a shard gateway: dials to addresses listened on in other shards */
  public remote?: RemoteDialer
  private readonly counters = new Map<string, LinkStats>()
  private nextId = 0

  constructor (init: SimNetworkInit = {}) {
    this.linkProfile = init.linkProfile ?? (() => ({ rttMs: 0 }))
    if (init.random != null) {
      this.random = init.random
    } else {
      const rng = createRng(init.seed ?? DEFAULT_SEED)
      this.random = () => rng.float()
    }

    this.tcp = {
      minRtoMs: init.tcp?.minRtoMs ?? DEFAULT_MIN_RTO,
      maxRetransmits: init.tcp?.maxRetransmits ?? DEFAULT_MAX_RETRANSMITS,
      mss: init.tcp?.mss ?? DEFAULT_MSS
    }
    this.highWaterMark = init.highWaterMark ?? DEFAULT_HIGH_WATER_MARK
    this.maxMessageSize = init.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
    this.cutDialTimeoutMs = init.cutDialTimeoutMs ?? DEFAULT_CUT_DIAL_TIMEOUT
    this.scheduler = new Scheduler({ clock: init.clock, slackMs: init.timerSlackMs ?? DEFAULT_TIMER_SLACK })
  }

  /** Replace the link profile function; live connections pick it up on their next write. */
  setLinkProfile (linkProfile: LinkProfileFunction): void {
    this.linkProfile = linkProfile
    this.invalidateProfiles()
  }

  /** Forget cached link parameters, e.g. after the profile function's data changed. */
  invalidateProfiles (): void {
    this.params.clear()
    this.profileVersion++
  }

  /** Parameters of the direction from one site to another (cached). */
  directionParams (fromSite: string, toSite: string): DirectionParams {
    const key = `${fromSite}\u0000${toSite}`
    let params = this.params.get(key)

    if (params == null) {
      params = directionParams(this.linkProfile(fromSite, toSite), this.tcp)
      this.params.set(key, params)
    }

    return params
  }

  /** A fresh listen address, unique on this network. */
  newAddress (prefix = 'sim'): string {
    return `/memory/${prefix}-${this.nextId++}`
  }

  /**
   * Cut the link between two sites in both directions. New dials fail; data
   * on existing connections is held (a black hole, as a failed route looks to
   * TCP) and resent when the link heals, unless the retransmissions run out
   * first and the connection breaks.
   */
  cut (siteA: string, siteB: string): void {
    this.cuts.add(pairKey(siteA, siteB))
  }

  /** Cut every link between a site of `groupA` and a site of `groupB`. */
  partition (groupA: Iterable<string>, groupB: Iterable<string>): void {
    const b = [...groupB]

    for (const siteA of groupA) {
      for (const siteB of b) {
        this.cut(siteA, siteB)
      }
    }
  }

  /** Heal the link between two sites, or every cut when called without arguments. */
  heal (siteA?: string, siteB?: string): void {
    if (siteA == null || siteB == null) {
      this.cuts.clear()
    } else {
      this.cuts.delete(pairKey(siteA, siteB))
    }

    for (const pipe of [...this.stalled]) {
      pipe.resume()
    }
  }

  /** Whether the link between two sites is cut. */
  isCut (siteA: string, siteB: string): boolean {
    return this.cuts.size > 0 && this.cuts.has(pairKey(siteA, siteB))
  }

  /** Counters of one direction between two sites (created on first use). */
  linkStats (fromSite: string, toSite: string): LinkStats {
    const key = `${fromSite}\u0000${toSite}`
    let stats = this.counters.get(key)

    if (stats == null) {
      stats = { from: fromSite, to: toSite, bytes: 0, chunks: 0, retransmits: 0, timeouts: 0, connections: 0, serializationMs: 0 }
      this.counters.set(key, stats)
    }

    return stats
  }

  /** Counters of every direction that carried traffic. */
  stats (): LinkStats[] {
    return [...this.counters.values()]
  }

  /** Sum of every direction's counters. */
  totals (): Omit<LinkStats, 'from' | 'to'> {
    const total = { bytes: 0, chunks: 0, retransmits: 0, timeouts: 0, connections: 0, serializationMs: 0 }

    for (const s of this.counters.values()) {
      total.bytes += s.bytes
      total.chunks += s.chunks
      total.retransmits += s.retransmits
      total.timeouts += s.timeouts
      total.connections += s.connections
      total.serializationMs += s.serializationMs
    }

    return total
  }

  /** Zero every counter. */
  resetStats (): void {
    // zeroed in place: live connections hold references to these objects
    for (const s of this.counters.values()) {
      s.bytes = s.chunks = s.retransmits = s.timeouts = s.connections = s.serializationMs = 0
    }
  }

  /** Connections currently open (handshaking included). */
  get connectionCount (): number {
    return this.open.size - this.inboundHalves
  }

  /** Tear down every connection and pending delivery, e.g. at the end of a run. */
  close (): void {
    for (const connection of [...this.open]) {
      connection.break(new LinkResetError('Simulated network closed'))
    }

    this.scheduler.clear()
  }

  /** @internal */
  register (address: string, entry: SimListenerEntry): void {
    if (this.listeners.has(address)) {
      throw new ListenError(`Simulated address ${address} already in use`)
    }

    this.listeners.set(address, entry)
  }

  /** @internal */
  unregister (address: string, entry: SimListenerEntry, err: Error): void {
    entry.closed = true

    if (this.listeners.get(address) === entry) {
      this.listeners.delete(address)
    }

    for (const connection of [...this.open]) {
      if (connection.listener === entry) {
        connection.break(err)
      }
    }
  }

  /** @internal */
  listenerAt (address: string): SimListenerEntry | undefined {
    return this.listeners.get(address)
  }

  /** @internal wait out a dial whose SYNs vanish into a cut */
  async blackholeDial (options: AbortOptions): Promise<void> {
    await this.delay(this.cutDialTimeoutMs, options)
  }

  /** @internal wait `ms` on the network's clock, unless the signal aborts first */
  async delay (ms: number, options: AbortOptions): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const task = this.scheduler.schedule(this.scheduler.now() + ms, resolve)
      options.signal?.addEventListener('abort', () => {
        task.cancel()
        reject(options.signal?.reason)
      }, { once: true })
    })
  }

  /** @internal */
  connectionOpened (connection: OpenConnection, fromSite: string, toSite: string): void {
    this.open.add(connection)

    if (connection.inboundHalf === true) {
      this.inboundHalves++
    } else {
      this.linkStats(fromSite, toSite).connections++
    }
  }

  /** @internal */
  connectionClosed (connection: OpenConnection, _err?: Error): void {
    if (this.open.delete(connection) && connection.inboundHalf === true) {
      this.inboundHalves--
    }
  }

  /** @internal */
  stall (pipe: Stallable): void {
    this.stalled.add(pipe)
  }

  /** @internal */
  unstall (pipe: Stallable): void {
    this.stalled.delete(pipe)
  }
}
