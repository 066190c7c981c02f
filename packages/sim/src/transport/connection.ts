/**
 * A simulated TCP connection: two directed pipes, each a FIFO of chunks with
 * delivery times planned by {@link planChunk}, and the two
 * `MultiaddrConnection` ends libp2p upgrades.
 */

import { ConnectionFailedError } from '@libp2p/interface'
import { AbstractMultiaddrConnection } from '@libp2p/utils'
import { LinkResetError, LinkTimeoutError } from './errors.js'
import { backlogBytes, backlogFallsTo, giveUpAfter, planChunk } from './link-model.js'
import { asError } from '../error-text.js'
import type { DirectionParams, DirectionState } from './link-model.js'
import type { LinkStats, SimListenerEntry, SimNetwork } from './network.js'
import type { ScheduledTask } from './scheduler.js'
import type { AbortOptions, Logger, MessageStreamDirection, PeerId } from '@libp2p/interface'
import type { AbstractMultiaddrConnectionInit, SendResult } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Uint8ArrayList } from 'uint8arraylist'

/** What travels on a pipe: data or a TCP control packet. */
export enum Kind {
  Data,
  /** orderly close, after all data (TCP FIN) */
  Fin,
  /** abortive close (TCP RST) */
  Rst,
  /** handshake: dialer to listener */
  Syn,
  /** handshake: listener to dialer */
  SynAck,
  /** handshake: dialer to listener; the listener accepts on it */
  Ack
}

/** A chunk or control packet in flight on a pipe. */
export interface Item {
  at: number
  sentAt: number
  kind: Kind
  data?: Uint8ArrayList
}

/** One side of a connection as the network sees it. */
export interface SimEndpoint {
  site: string
  /** unknown for the remote side of a connection to another shard */
  peerId?: PeerId
  /** the address this side is known by, used as the other side's `remoteAddr` */
  addr: Multiaddr
  log: Logger
  /** the simulated peer (index) this side belongs to, which the CPU model charges for what it receives */
  owner?: number
}

/**
 * What a pipe belongs to: a whole connection in one network, or one half of
 * a connection whose other end lives in another shard.
 */
export interface PipeOwner {
  readonly network: SimNetwork
  readonly broken: boolean
  break(err: Error, notify?: boolean): void
  onDrain(from: SimEndpoint): void
  /**
   * Hand packets to the receiver this many ms before their delivery time
   * (cuts are checked then): a gateway half to another shard on virtual
   * time, which passes the packet on with its delivery time. @default 0
   */
  readonly handoverLeadMs?: number
}

/** One direction of a connection. */
export class Pipe {
  private readonly items: Item[] = []
  private head = 0
  private readonly state: DirectionState = { txFreeAt: -Infinity, lastDeliverAt: -Infinity }
  private params?: DirectionParams
  private paramsVersion = -1
  private task?: ScheduledTask
  private drainTask?: ScheduledTask
  private giveUpTask?: ScheduledTask
  private stalledSince?: number
  /** nothing more is sent: a FIN or RST has been queued, or a chunk can never arrive */
  public closed = false
  private readonly stats: LinkStats

  constructor (
    private readonly link: PipeOwner,
    public readonly from: SimEndpoint,
    public readonly to: SimEndpoint,
    private readonly receive: (item: Item) => void
  ) {
    this.deliver = this.deliver.bind(this)
    this.stats = link.network.linkStats(from.site, to.site)
  }

  get pending (): number {
    return this.items.length - this.head
  }

  currentParams (): DirectionParams {
    const network = this.link.network

    if (this.params == null || this.paramsVersion !== network.profileVersion) {
      this.params = network.directionParams(this.from.site, this.to.site)
      this.paramsVersion = network.profileVersion
    }

    return this.params
  }

  /** Queue a chunk or control packet; returns false when the send buffer is over its high-water mark. */
  send (kind: Kind, data?: Uint8ArrayList): boolean {
    if (this.closed || this.link.broken) {
      return true
    }

    const network = this.link.network
    const now = network.scheduler.now()
    const params = this.currentParams()
    const bytes = data?.byteLength ?? 0
    const plan = planChunk(this.state, now, bytes, params, network.tcp, network.random)

    if (kind === Kind.Data) {
      this.stats.bytes += bytes
      this.stats.chunks++
    }

    this.stats.retransmits += plan.retransmits
    this.stats.serializationMs += plan.txDone - plan.txStart

    if (plan.breakAt != null) {
      // every byte behind the undeliverable one is stuck too, until the
      // sender's retransmissions run out and it gives up on the connection
      this.closed = true
      this.stats.timeouts++
      network.scheduler.schedule(plan.breakAt, () => {
        this.link.break(new LinkTimeoutError(`Segment from ${this.from.site} to ${this.to.site} lost ${network.tcp.maxRetransmits + 1} times`))
      })
      return true
    }

    if (kind === Kind.Fin || kind === Kind.Rst) {
      this.closed = true
    }

    this.enqueue({ at: plan.deliverAt, sentAt: plan.txStart, kind, data })

    if (params.bytesPerMs !== Infinity && backlogBytes(this.state, now, params) > network.highWaterMark) {
      this.scheduleDrain(params)
      return false
    }

    return true
  }

  /**
   * Abortive close: bytes not yet on the wire are discarded and a RST follows
   * whatever is already in flight, without waiting for the send queue.
   */
  reset (): void {
    if (this.closed || this.link.broken) {
      return
    }

    this.closed = true
    const now = this.link.network.scheduler.now()

    while (this.pending > 0 && this.items[this.items.length - 1].sentAt > now) {
      this.items.pop()
    }

    const last = this.pending > 0 ? this.items[this.items.length - 1].at : -Infinity
    this.enqueue({ at: Math.max(now + this.currentParams().oneWayMs, last), sentAt: now, kind: Kind.Rst })
  }

  /** The link between the sites has been healed: resend what the cut held back. */
  resume (): void {
    if (this.stalledSince == null) {
      return
    }

    const network = this.link.network

    if (network.isCut(this.from.site, this.to.site)) {
      return
    }

    this.stalledSince = undefined
    this.giveUpTask?.cancel()
    this.giveUpTask = undefined

    // held segments are retransmitted now and arrive one propagation delay
    // later, still in order
    const earliest = network.scheduler.now() + this.currentParams().oneWayMs
    let previous = -Infinity

    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i]
      item.at = Math.max(item.at, earliest, previous)
      previous = item.at
    }

    this.state.lastDeliverAt = Math.max(this.state.lastDeliverAt, previous)
    this.scheduleHead()
  }

  /** Stop every timer; nothing more is delivered. */
  dispose (): void {
    this.closed = true
    this.task?.cancel()
    this.drainTask?.cancel()
    this.giveUpTask?.cancel()
    this.task = this.drainTask = this.giveUpTask = undefined
    this.items.length = 0
    this.head = 0
    this.link.network.unstall(this)
  }

  private enqueue (item: Item): void {
    this.items.push(item)

    if (this.pending === 1 && this.stalledSince == null) {
      this.scheduleHead()
    }
  }

  private scheduleHead (): void {
    this.task?.cancel()
    this.task = undefined

    if (this.pending > 0) {
      this.task = this.link.network.scheduler.schedule(this.items[this.head].at - (this.link.handoverLeadMs ?? 0), this.deliver, this.to.owner)
    }
  }

  private scheduleDrain (params: DirectionParams): void {
    if (this.drainTask != null) {
      return
    }

    const network = this.link.network
    const at = backlogFallsTo(this.state, network.highWaterMark / 2, params)

    this.drainTask = network.scheduler.schedule(at, () => {
      this.drainTask = undefined

      if (backlogBytes(this.state, network.scheduler.now(), params) > network.highWaterMark) {
        // more was queued since: wait for the new low-water time
        this.scheduleDrain(params)
        return
      }

      this.link.onDrain(this.from)
    })
  }

  private deliver (): void {
    this.task = undefined
    const network = this.link.network

    if (network.isCut(this.from.site, this.to.site)) {
      this.stall()
      return
    }

    const due = network.scheduler.now() + network.scheduler.slack + (this.link.handoverLeadMs ?? 0)

    // the head was due when the task fired; the rest go if they are due too
    do {
      const item = this.items[this.head]
      this.items[this.head] = undefined as unknown as Item
      this.head++

      if (this.head === this.items.length) {
        this.items.length = 0
        this.head = 0
      } else if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head)
        this.head = 0
      }

      try {
        this.receive(item)
      } catch (err: unknown) {
        // a receiver that throws would otherwise leave the rest of this
        // direction undelivered forever; fail the connection visibly instead
        this.link.break(asError(err))
      }

      if (this.link.broken) {
        return
      }
    } while (this.pending > 0 && this.items[this.head].at <= due)

    this.scheduleHead()
  }

  private stall (): void {
    if (this.stalledSince != null) {
      return
    }

    const network = this.link.network
    this.stalledSince = network.scheduler.now()
    network.stall(this)

    // TCP keeps retransmitting into the void and gives up when its
    // retransmissions run out, exactly as for heavy loss
    const params = this.currentParams()
    this.giveUpTask = network.scheduler.schedule(this.stalledSince + giveUpAfter(params.rtoMs, network.tcp.maxRetransmits), () => {
      this.giveUpTask = undefined
      this.link.break(new LinkTimeoutError(`Link from ${this.from.site} to ${this.to.site} cut for too long`))
    })
  }
}

/** Options of a {@link SimMultiaddrConnection}. */
export interface SimMultiaddrConnectionInit extends AbstractMultiaddrConnectionInit {
  /** the direction this end writes to */
  pipe: Pipe
}

/** One end of a simulated connection, handed to the libp2p upgrader. */
export class SimMultiaddrConnection extends AbstractMultiaddrConnection {
  private readonly pipe: Pipe

  constructor (init: SimMultiaddrConnectionInit) {
    super(init)
    this.pipe = init.pipe
  }

  sendData (data: Uint8ArrayList): SendResult {
    const canSendMore = this.pipe.send(Kind.Data, data)

    return {
      sentBytes: data.byteLength,
      canSendMore
    }
  }

  sendReset (): void {
    this.pipe.reset()
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    this.pipe.send(Kind.Fin)
    options?.signal?.throwIfAborted()
  }

  sendPause (): void {
    // like the memory transport: no read back-pressure; yamux's windows bound what is in flight
  }

  sendResume (): void {
  }
}

/** Called on the listening side once the handshake completes; false refuses the connection. */
export interface AcceptHandler {
  (maConn: SimMultiaddrConnection): boolean
}

/** A promise with its settle functions. */
export interface Deferred<T> {
  promise: Promise<T>
  resolve(value: T): void
  reject(err: Error): void
}

/** A promise settled from outside. */
export function deferred<T> (): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (err: Error) => void
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

/**
 * Until `opened` settles, an abort of `options.signal` breaks the dial
 * with the abort's reason (throws at once if it is aborted already).
 */
export function breakOnAbort (options: AbortOptions, opened: Promise<unknown>, breakDial: (err: Error) => void): void {
  const signal = options.signal

  if (signal == null) {
    return
  }

  signal.throwIfAborted()
  const onAbort = (): void => {
    breakDial(signal.reason ?? new ConnectionFailedError('Dial aborted'))
  }
  signal.addEventListener('abort', onAbort, { once: true })
  opened.finally(() => {
    signal.removeEventListener('abort', onAbort)
  }).catch(() => {})
}

let nextConnectionId = 0

/**
 * A connection between a dialer and a listener. Opens with a three-way
 * handshake carried over the pipes themselves, so connecting costs one RTT
 * for the dialer (1.5 for the listener to accept), and loss and cuts apply.
 */
export class SimConnection implements PipeOwner {
  public readonly id: number
  public readonly network: SimNetwork
  public readonly pipes: [Pipe, Pipe]
  public readonly ends: [SimMultiaddrConnection, SimMultiaddrConnection]
  public broken = false
  private established = false
  private readonly opened: Deferred<SimMultiaddrConnection>
  public readonly listener: SimListenerEntry

  constructor (network: SimNetwork, dialer: SimEndpoint, listener: SimEndpoint, entry: SimListenerEntry, maxMessageSize: number) {
    this.id = nextConnectionId++
    this.network = network
    this.listener = entry
    this.opened = deferred()

    this.pipes = [
      new Pipe(this, dialer, listener, item => { this.onItem(1, item) }),
      new Pipe(this, listener, dialer, item => { this.onItem(0, item) })
    ]

    this.ends = [
      this.createEnd(0, 'outbound', listener, dialer.log, maxMessageSize),
      this.createEnd(1, 'inbound', dialer, listener.log, maxMessageSize)
    ]
  }

  /** Start the handshake; resolves with the dialer's end once the SYN-ACK arrives. */
  async open (options: AbortOptions): Promise<SimMultiaddrConnection> {
    breakOnAbort(options, this.opened.promise, err => { this.break(err, false) })

    this.network.connectionOpened(this, this.pipes[0].from.site, this.pipes[0].to.site)
    this.pipes[0].send(Kind.Syn)

    return this.opened.promise
  }

  /**
   * Tear the connection down from the network's side (retransmissions
   * exhausted, node gone): both ends see the error, nothing more is
   * delivered.
   */
  break (err: Error, notify = true): void {
    if (this.broken) {
      return
    }

    this.broken = true
    this.pipes[0].dispose()
    this.pipes[1].dispose()
    this.network.connectionClosed(this, err)

    if (!this.established) {
      this.opened.reject(err)
    }

    if (notify || this.established) {
      for (const end of this.ends) {
        if (end.status === 'open' || end.status === 'closing') {
          end.abort(err)
        }
      }
    }
  }

  onDrain (from: SimEndpoint): void {
    const end = this.pipes[0].from === from ? this.ends[0] : this.ends[1]
    end.safeDispatchEvent('drain')
  }

  private createEnd (index: 0 | 1, direction: MessageStreamDirection, remote: SimEndpoint, log: Logger, maxMessageSize: number): SimMultiaddrConnection {
    const end = new SimMultiaddrConnection({
      pipe: this.pipes[index],
      direction,
      remoteAddr: remote.addr,
      log: log.newScope(`connection:${this.id}`),
      maxMessageSize
    })

    end.addEventListener('close', () => {
      this.maybeDone()
    })

    return end
  }

  private maybeDone (): void {
    if (this.broken) {
      return
    }

    const [a, b] = this.ends

    if (a.status !== 'open' && a.status !== 'closing' && b.status !== 'open' && b.status !== 'closing' &&
      this.pipes[0].pending === 0 && this.pipes[1].pending === 0) {
      this.broken = true
      this.pipes[0].dispose()
      this.pipes[1].dispose()
      this.network.connectionClosed(this)
    }
  }

  /** An item arrived at end `index`. */
  private onItem (index: 0 | 1, item: Item): void {
    const end = this.ends[index]

    switch (item.kind) {
      case Kind.Data:
        if (end.status === 'open' || end.status === 'closing') {
          end.onData(item.data as Uint8ArrayList)
        }
        break
      case Kind.Fin:
        if (end.status === 'open' || end.status === 'closing') {
          end.onTransportClosed()
        }
        break
      case Kind.Rst:
        if (!this.established) {
          this.break(new ConnectionFailedError('Connection refused'), false)
        } else if (end.status === 'open' || end.status === 'closing') {
          end.onRemoteReset()
        }
        break
      case Kind.Syn:
        if (!this.listener.closed) {
          this.pipes[1].send(Kind.SynAck)
        } else {
          this.pipes[1].send(Kind.Rst)
        }
        break
      case Kind.SynAck:
        this.established = true
        this.pipes[0].send(Kind.Ack)
        this.opened.resolve(this.ends[0])
        break
      case Kind.Ack:
        if (this.listener.closed || !this.listener.accept(this.ends[1])) {
          this.ends[1].abort(new LinkResetError('Listener closed'))
        }
        break
    }

    this.maybeDone()
  }
}

