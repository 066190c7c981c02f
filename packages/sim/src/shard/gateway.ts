/**
 * The gateway between the sim networks of different shards. A connection
 * whose ends live in two shards is two halves: each holds its own end and
 * the pipe it writes to. The sender's pipe applies the link model (delay,
 * jitter, bandwidth, loss, cuts) exactly as for a local link; at delivery
 * time the packet is handed to the gateway, framed, and the receiving shard
 * delivers it to its end unchanged.
 */

import { ConnectionFailedError } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { breakOnAbort, deferred, Kind, Pipe, SimMultiaddrConnection } from '../transport/connection.js'
import { LinkResetError, LinkTimeoutError } from '../transport/errors.js'
import { silentLogger } from '../harness/logger.js'
import { decodeFrame, encodeFrame, FLAG_FROM_DIALER, FLAG_TIMEOUT, FrameKind } from './frame.js'
import { InvalidGatewayFrameError } from './errors.js'
import { asError } from '../error-text.js'
import type { GatewayChannel } from './channel.js'
import type { GatewayFrame, SynPayload } from './frame.js'
import type { Deferred, Item, PipeOwner, SimEndpoint } from '../transport/connection.js'
import type { OpenConnection, RemoteDialer, SimListenerEntry, SimNetwork } from '../transport/network.js'
import type { AbortOptions, Logger } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Where a listen address lives. */
export interface GatewayRoute {
  /** the shard whose network holds the listener */
  shard: number
  /** the listener's site (link profile key) */
  site: string
}

/** Options of a {@link SimGateway}. */
export interface SimGatewayInit {
  /** this shard's network */
  network: SimNetwork
  /** this shard's index */
  shard: number
  /**
   * Where any peer's listen address lives: a pure function every shard
   * computes alike from the seed (no lookup traffic). Undefined for an
   * address no peer has.
   */
  route(address: string): GatewayRoute | undefined
  /** told about frames that were dropped as invalid */
  onInvalidFrame?(err: Error, fromShard: number): void
  log?: Logger
}

/** Gateway counters. */
export interface GatewayStats {
  framesSent: number
  framesReceived: number
  bytesSent: number
  invalidFrames: number
  /** frames for a connection this shard no longer knows (closed meanwhile) */
  strayFrames: number
  /**
   * virtual time: frames whose delivery time fell before the end of the
   * window they were received in (closer than the lookahead), delivered at
   * the window's end
   */
  clampedFrames?: number
}

/** virtual time: a frame received, waiting for the end of its round to be scheduled */
interface Inbound {
  peer: number
  frame: GatewayFrame
  /** its place among the frames of `peer` (cumulative, invalid ones counted): the order it was sent in */
  k: number
}

/** virtual time: what this gateway sent since it was last asked, per destination shard */
export interface GatewaySent {
  /** frames sent to each shard since the start (cumulative) */
  count: Record<number, number>
  /** the earliest delivery time of a frame sent to each shard since the last report */
  minAt: Record<number, number>
}

type Side = 'dialer' | 'listener'

/** This shard's half of a connection with another shard. */
class GatewayHalf implements PipeOwner, OpenConnection {
  broken = false
  established: boolean
  readonly pipe: Pipe
  readonly end?: SimMultiaddrConnection
  readonly inboundHalf: boolean
  readonly listener?: SimListenerEntry
  readonly opened?: Deferred<SimMultiaddrConnection>

  constructor (
    private readonly gateway: SimGateway,
    readonly key: number,
    readonly origin: number,
    readonly id: number,
    /** the shard holding the other half */
    readonly peerShard: number,
    readonly side: Side,
    local: SimEndpoint,
    remote: SimEndpoint,
    listener?: SimListenerEntry
  ) {
    this.inboundHalf = side === 'listener'
    this.listener = listener
    this.established = side === 'listener'
    this.pipe = new Pipe(this, local, remote, item => { this.forward(item) })

    if (side === 'dialer') {
      this.opened = deferred()
    }

    if (side === 'dialer' || listener != null) {
      this.end = new SimMultiaddrConnection({
        pipe: this.pipe,
        direction: side === 'dialer' ? 'outbound' : 'inbound',
        remoteAddr: remote.addr,
        log: local.log.newScope(`connection:${origin}-${id}`),
        maxMessageSize: gateway.network.maxMessageSize
      })
      this.end.addEventListener('close', () => {
        this.maybeDone()
      })
    }
  }

  get network (): SimNetwork {
    return this.gateway.network
  }

  /** virtual time: packets are handed over one lookahead before they arrive */
  get handoverLeadMs (): number {
    return this.gateway.lookaheadMs
  }

  /** A packet left this shard's pipe at its delivery time: hand it over. */
  private forward (item: Item): void {
    this.gateway.send(this.peerShard, {
      kind: item.kind as number as FrameKind,
      flags: this.side === 'dialer' ? FLAG_FROM_DIALER : 0,
      origin: this.origin,
      id: this.id,
      data: item.kind === Kind.Data ? item.data?.subarray() : undefined,
      syn: item.kind === Kind.Syn ? this.gateway.synOf(this) : undefined,
      deliverAt: this.gateway.timed ? item.at : undefined
    })
    this.maybeDone()
  }

  /** A frame from the other half arrived. */
  receive (frame: GatewayFrame): void {
    const end = this.end
    const live = end != null && (end.status === 'open' || end.status === 'closing')

    switch (frame.kind) {
      case FrameKind.Data:
        if (live) end.onData(frame.data ?? new Uint8Array(0))
        break
      case FrameKind.Fin:
        if (live) end.onTransportClosed()
        break
      case FrameKind.Rst:
        if (!this.established) {
          this.break(new ConnectionFailedError('Connection refused'), false, false)
        } else if (live) {
          end.onRemoteReset()
        }
        break
      case FrameKind.SynAck:
        if (this.side === 'dialer' && !this.established && end != null) {
          this.established = true
          this.pipe.send(Kind.Ack)
          this.opened?.resolve(end)
        }
        break
      case FrameKind.Ack:
        if (this.side === 'listener' && end != null && (this.listener == null || this.listener.closed || !this.listener.accept(end))) {
          end.abort(new LinkResetError('Listener closed'))
        }
        break
      case FrameKind.Break:
        this.break((frame.flags & FLAG_TIMEOUT) !== 0
          ? new LinkTimeoutError(`Connection ${frame.origin}-${frame.id} timed out in shard ${this.peerShard}`)
          : new LinkResetError(`Connection ${frame.origin}-${frame.id} reset in shard ${this.peerShard}`), true, false)
        return
      default:
        break
    }

    this.maybeDone()
  }

  async open (options: AbortOptions): Promise<SimMultiaddrConnection> {
    const opened = this.opened as Deferred<SimMultiaddrConnection>
    breakOnAbort(options, opened.promise, err => { this.break(err, false) })

    this.network.connectionOpened(this, this.pipe.from.site, this.pipe.to.site)
    this.pipe.send(Kind.Syn)
    return opened.promise
  }

  /**
   * The network tore the connection down: this end sees the error, and
   * (unless the break came from there) the other half is told to do the same.
   */
  break (err: Error, notify = true, tellPeer = true): void {
    if (this.broken) {
      return
    }

    this.broken = true
    this.pipe.dispose()
    this.network.connectionClosed(this, err)
    this.gateway.forget(this)

    if (tellPeer) {
      this.gateway.send(this.peerShard, {
        kind: FrameKind.Break,
        flags: (this.side === 'dialer' ? FLAG_FROM_DIALER : 0) | (err.name === 'LinkTimeoutError' ? FLAG_TIMEOUT : 0),
        origin: this.origin,
        id: this.id
      })
    }

    if (!this.established) {
      this.opened?.reject(err)
    }

    if ((notify || this.established) && this.end != null && (this.end.status === 'open' || this.end.status === 'closing')) {
      this.end.abort(err)
    }
  }

  onDrain (): void {
    this.end?.safeDispatchEvent('drain')
  }

  /** Both directions done on this side: forget the half (the other half does the same on its side). */
  private maybeDone (): void {
    if (this.broken) {
      return
    }

    const end = this.end

    if ((end == null || (end.status !== 'open' && end.status !== 'closing')) && this.pipe.pending === 0 && this.established) {
      this.broken = true
      this.pipe.dispose()
      this.network.connectionClosed(this)
      this.gateway.forget(this)
    } else if (end == null && this.pipe.pending === 0 && this.pipe.closed) {
      // a refused SYN: the RST has left
      this.broken = true
      this.pipe.dispose()
      this.gateway.forget(this)
    }
  }
}

function keyOf (origin: number, id: number): number {
  return origin * 0x1_0000_0000 + id
}

/**
 * Connects one shard's {@link SimNetwork} to the other shards' through
 * {@link GatewayChannel}s. Installs itself as the network's remote dialer:
 * a dial to a listen address that the `route` function places in another
 * shard goes through the gateway, with the same semantics as a local dial
 * (handshake over the links, refusal when nobody listens, cuts, resets).
 *
 * @example
 *
 * ```TypeScript
 * const gateway = new SimGateway({ network, shard: 0, route: (addr) => routes.get(addr) })
 * gateway.addChannel(1, new SocketChannel(socket))
 * ```
 */
export class SimGateway implements RemoteDialer {
  readonly network: SimNetwork
  readonly shard: number
  readonly stats: GatewayStats = { framesSent: 0, framesReceived: 0, bytesSent: 0, invalidFrames: 0, strayFrames: 0 }
  private readonly init: SimGatewayInit
  private readonly channels = new Map<number, GatewayChannel>()
  private readonly halves = new Map<number, GatewayHalf>()
  private readonly syns = new Map<number, SynPayload>()
  private nextId = 0
  private readonly log?: Logger
  /** virtual time: the lookahead, ms (0: packets are handed over when they arrive, the wall-clock way) */
  lookaheadMs = 0
  private timedMode = false
  private readonly sentTo = new Map<number, number>()
  private readonly receivedFrom = new Map<number, number>()
  private minAtTo = new Map<number, number>()
  private inbox: Inbound[] = []
  private waiter?: { expect: Record<number, number>, resolve: () => void }

  constructor (init: SimGatewayInit) {
    this.init = init
    this.network = init.network
    this.shard = init.shard
    this.log = init.log
    init.network.remote = this
  }

  /**
   * Virtual time, for shards advancing together in rounds (see
   * `barrier.ts`): packets are handed over `lookaheadMs` before they arrive,
   * stamped with their delivery time; received frames wait in an inbox
   * until {@link SimGateway.flush} schedules them on `clock`. Called again
   * to set another lookahead; the clamped-frame count carries on.
   */
  useVirtualTime (lookaheadMs: number): void {
    this.timedMode = true
    this.lookaheadMs = lookaheadMs
    this.stats.clampedFrames ??= 0
  }

  /** Whether frames carry their delivery time (virtual time). */
  get timed (): boolean {
    return this.timedMode
  }

  /** virtual time: frames received from each shard since the start */
  receivedCount (peer: number): number {
    return this.receivedFrom.get(peer) ?? 0
  }

  /**
   * virtual time: resolves once `expect[peer]` frames (cumulative) have
   * arrived from each shard, or its channel is gone.
   */
  async whenReceived (expect: Record<number, number>): Promise<void> {
    if (this.satisfied(expect)) return
    await new Promise<void>(resolve => { this.waiter = { expect, resolve } })
  }

  private satisfied (expect: Record<number, number>): boolean {
    return Object.entries(expect).every(([peer, n]) => this.receivedCount(Number(peer)) >= n || !this.channels.has(Number(peer)))
  }

  private checkWaiter (): void {
    const waiter = this.waiter
    if (waiter != null && this.satisfied(waiter.expect)) {
      this.waiter = undefined
      waiter.resolve()
    }
  }

  /** virtual time: frames sent per shard (cumulative) and the earliest delivery time since the last call */
  takeSent (): GatewaySent {
    const sent: GatewaySent = { count: Object.fromEntries(this.sentTo), minAt: Object.fromEntries(this.minAtTo) }
    this.minAtTo = new Map()
    return sent
  }

  /**
   * virtual time: schedules the frames of the inbox that the rounds so far
   * sent (`expect`: how many from each shard, cumulative) on `clock` at its
   * delivery time, or at `windowEnd` (`performance.now()` scale) when that
   * is later (the frame was quicker than the lookahead), in a deterministic
   * order: by delivery time, then sending shard, then the order it sent them in.
   */
  flush (clock: { at(at: number, fn: () => void): unknown }, windowEnd: number, expect: Record<number, number>): void {
    // exactly the frames of the rounds that are over: a quicker shard's frames of the round
    // under way may be here already, and taking them now would depend on real timing
    const inbox: Inbound[] = []
    const later: Inbound[] = []
    for (const f of this.inbox) {
      (f.k < (expect[f.peer] ?? 0) ? inbox : later).push(f)
    }
    this.inbox = later
    inbox.sort((a, b) => (a.frame.deliverAt as number) - (b.frame.deliverAt as number) || a.peer - b.peer || a.k - b.k)

    for (const { peer, frame } of inbox) {
      const at = frame.deliverAt as number
      if (at < windowEnd) {
        this.stats.clampedFrames = (this.stats.clampedFrames ?? 0) + 1
      }
      clock.at(Math.max(at, windowEnd), () => { this.dispatch(peer, frame) })
    }
  }

  /** Carries frames to and from shard `peer` over `channel`. */
  addChannel (peer: number, channel: GatewayChannel): void {
    this.channels.set(peer, channel)
    channel.attach({
      frame: (bytes) => { this.onFrame(peer, bytes) },
      error: (err) => {
        this.stats.invalidFrames++
        this.log?.error('invalid frame from shard %d - %e', peer, err)
        this.init.onInvalidFrame?.(err, peer)
      },
      close: () => { this.onChannelClosed(peer, channel) }
    })
  }

  /** Closes every channel; connections through them break. */
  close (): void {
    for (const [peer, channel] of [...this.channels]) {
      channel.close()
      this.onChannelClosed(peer, channel)
    }
  }

  /** Connections with another shard currently open on this side. */
  get openHalves (): number {
    return this.halves.size
  }

  siteOf (address: string): string | undefined {
    const route = this.init.route(address)
    return route == null || route.shard === this.shard ? undefined : route.site
  }

  async dial (dialer: SimEndpoint, address: string, remoteAddr: Multiaddr, options: AbortOptions): Promise<SimMultiaddrConnection> {
    const route = this.init.route(address)

    if (route == null || !this.channels.has(route.shard)) {
      throw new ConnectionFailedError(`No simulated listener at ${address}`)
    }

    const id = this.nextId
    this.nextId = (this.nextId + 1) % 0x1_0000_0000
    const key = keyOf(this.shard, id)
    const remote: SimEndpoint = { site: route.site, addr: remoteAddr, log: dialer.log }
    const half = new GatewayHalf(this, key, this.shard, id, route.shard, 'dialer', dialer, remote)
    this.halves.set(key, half)
    this.syns.set(key, { address, site: dialer.site, dialerAddr: dialer.addr.toString() })
    return half.open(options)
  }

  /** @internal the SYN payload of a dialer half */
  synOf (half: GatewayHalf): SynPayload | undefined {
    const syn = this.syns.get(half.key)
    this.syns.delete(half.key)
    return syn
  }

  /** @internal */
  forget (half: GatewayHalf): void {
    if (this.halves.get(half.key) === half) {
      this.halves.delete(half.key)
    }
    this.syns.delete(half.key)
  }

  /** @internal */
  send (peer: number, frame: GatewayFrame): void {
    const channel = this.channels.get(peer)

    if (channel == null) {
      return
    }

    if (this.timedMode) {
      // a BREAK or anything else sent outside a pipe: one lookahead away, the quickest a packet travels
      const at = frame.deliverAt ?? performance.now() + this.lookaheadMs
      frame.deliverAt = at
      this.sentTo.set(peer, (this.sentTo.get(peer) ?? 0) + 1)
      this.minAtTo.set(peer, Math.min(this.minAtTo.get(peer) ?? Infinity, at))
    }

    const bytes = encodeFrame(frame)
    this.stats.framesSent++
    this.stats.bytesSent += bytes.byteLength
    channel.send(bytes)
  }

  private onFrame (peer: number, bytes: Uint8Array): void {
    let frame: GatewayFrame

    if (this.timedMode) {
      this.receivedFrom.set(peer, (this.receivedFrom.get(peer) ?? 0) + 1)
      this.checkWaiter()
    }

    try {
      frame = decodeFrame(bytes)
    } catch (err: unknown) {
      this.stats.invalidFrames++
      this.log?.error('invalid frame from shard %d - %e', peer, err)
      this.init.onInvalidFrame?.(asError(err), peer)
      return
    }

    this.stats.framesReceived++

    if (this.timedMode) {
      if (frame.deliverAt === undefined) {
        this.stats.invalidFrames++
        this.init.onInvalidFrame?.(new InvalidGatewayFrameError('frame without a delivery time on virtual time'), peer)
        return
      }
      this.inbox.push({ peer, frame, k: (this.receivedFrom.get(peer) ?? 1) - 1 })
      return
    }

    this.dispatch(peer, frame)
  }

  private dispatch (peer: number, frame: GatewayFrame): void {
    const fromDialer = (frame.flags & FLAG_FROM_DIALER) !== 0
    const key = keyOf(frame.origin, frame.id)

    if (frame.kind === FrameKind.Syn && fromDialer && frame.origin === peer) {
      this.accept(peer, key, frame)
      return
    }

    const half = this.halves.get(key)

    // a frame must come from the shard holding the other half, in the right direction
    if (half == null || half.peerShard !== peer || fromDialer !== (half.side === 'listener')) {
      this.stats.strayFrames++
      return
    }

    half.receive(frame)
  }

  private accept (peer: number, key: number, frame: GatewayFrame): void {
    const syn = frame.syn as SynPayload

    if (this.halves.has(key)) {
      this.stats.strayFrames++
      return
    }

    let dialerAddr: Multiaddr

    try {
      dialerAddr = multiaddr(syn.dialerAddr)
    } catch (err: unknown) {
      this.stats.invalidFrames++
      this.init.onInvalidFrame?.(asError(err), peer)
      return
    }

    const entry = this.network.listenerAt(syn.address)
    const open = entry != null && !entry.closed
    const local: SimEndpoint = {
      site: entry?.site ?? this.init.route(syn.address)?.site ?? syn.site,
      peerId: entry?.peerId,
      addr: entry != null ? multiaddr(`${syn.address}/p2p/${entry.peerId}`) : multiaddr(syn.address),
      log: entry?.log ?? this.log ?? silentLogger.forComponent('shoal:sim:gateway')
    }
    const remote: SimEndpoint = { site: syn.site, addr: dialerAddr, log: local.log }
    const half = new GatewayHalf(this, key, frame.origin, frame.id, peer, 'listener', local, remote, open ? entry : undefined)
    this.halves.set(key, half)

    if (open) {
      this.network.connectionOpened(half, local.site, remote.site)
      half.pipe.send(Kind.SynAck)
    } else {
      // nobody listens (any more): refused, as a local SYN to a closed listener
      half.established = false
      half.pipe.send(Kind.Rst)
    }
  }

  private onChannelClosed (peer: number, channel: GatewayChannel): void {
    if (this.channels.get(peer) !== channel) {
      return
    }

    this.channels.delete(peer)
    this.checkWaiter()

    for (const half of [...this.halves.values()]) {
      if (half.peerShard === peer) {
        half.break(new LinkResetError(`Gateway to shard ${peer} closed`), true, false)
      }
    }
  }
}
