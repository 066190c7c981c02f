import { ConnectionFailedError, serviceCapabilities, transportSymbol, TypedEventEmitter, setMaxListeners } from '@libp2p/interface'
import { currentPeer } from '../time/virtual-clock.js'
import { CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { Memory, TCP } from '@multiformats/multiaddr-matcher'
import { SimConnection } from './connection.js'
import { LinkResetError, NatRefusedError } from './errors.js'
import { NatMapping } from './nat.js'
import { asError } from '../error-text.js'
import type { SimEndpoint, SimMultiaddrConnection } from './connection.js'
import type { NatInit } from './nat.js'
import type { RemoteDialer, SimListenerEntry, SimNetwork } from './network.js'
import type { ComponentLogger, Connection, CreateListenerOptions, DialTransportOptions, Listener, ListenerEvents, Logger, PeerId, Transport, UpgraderOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What the sim transport needs from libp2p. */
export interface SimTransportComponents {
  peerId: PeerId
  logger: ComponentLogger
}

/** Options for {@link simTransport}. */
export interface SimTransportInit {
  /** the network this node is attached to */
  network: SimNetwork

  /**
   * The site this node sits at: the key passed to the network's
   * `linkProfile` for every connection it dials or accepts. Several nodes may
   * share a site (a city, a data centre).
   */
  site: string

  /** passed to the upgrader for every connection */
  upgraderOptions?: UpgraderOptions

  /**
   * The NAT this node sits behind: inbound dials fail with
   * `NatRefusedError` unless it allows them (see {@link NatMapping}).
   * @default none (publicly reachable)
   */
  nat?: NatInit
}

/** Addresses the sim transport takes: `/memory/<id>`, and `/ip4|6/<ip>/tcp/<port>` (for code that wants IP addresses, e.g. DCUtR's public-address check). */
function isSimAddress (ma: Multiaddr): boolean {
  return Memory.exactMatch(ma) || TCP.exactMatch(ma)
}

/** The network-level key of a dialable address: `/memory/<id>` without `/p2p`. */
function addressKey (ma: Multiaddr): string {
  const hasPeer = ma.getComponents().some(c => c.code === CODE_P2P)
  return (hasPeer ? ma.decapsulate('/p2p') : ma).toString()
}

let nextOutgoing = 0

/**
 * A libp2p transport over a {@link SimNetwork}: `/memory/<id>` addresses
 * (so the address manager and identify treat them like the memory
 * transport's), with every byte delayed, throttled and lost as the link
 * profile between the two sites says.
 */
export class SimTransport implements Transport {
  readonly [transportSymbol] = true
  readonly [Symbol.toStringTag] = '@shoal/sim-transport'
  readonly [serviceCapabilities]: string[] = ['@libp2p/transport']

  public readonly site: string
  private readonly network: SimNetwork
  private readonly components: SimTransportComponents
  private readonly init: SimTransportInit
  private readonly log: Logger
  /** listen addresses of this node, for the `remoteAddr` its peers see */
  public readonly listening = new Set<string>()
  /** the NAT in front of this node, if any */
  public readonly nat?: NatMapping
  /** the simulated peer this transport belongs to (the one being created when it was), for the CPU model */
  public readonly owner = currentPeer()

  constructor (components: SimTransportComponents, init: SimTransportInit) {
    this.components = components
    this.init = init
    this.network = init.network
    this.site = init.site
    this.log = components.logger.forComponent('shoal:sim:transport')
    this.nat = init.nat == null ? undefined : new NatMapping(init.nat)
  }

  async dial (ma: Multiaddr, options: DialTransportOptions): Promise<Connection> {
    options.signal.throwIfAborted()

    const key = addressKey(ma)
    const entry = this.network.listenerAt(key)
    // an address no local listener holds may belong to a peer of another shard
    const remoteSite = entry == null ? this.network.remote?.siteOf(key) : undefined

    if ((entry == null && remoteSite == null) || entry?.closed === true) {
      throw new ConnectionFailedError(`No simulated listener at ${ma}`)
    }

    const toSite = entry?.site ?? remoteSite as string

    if (this.network.isCut(this.site, toSite)) {
      await this.network.blackholeDial(options)
      throw new ConnectionFailedError(`Link from ${this.site} to ${toSite} is cut`)
    }

    // only runs with NATs pay for the check (an await would reorder same-time events of runs without)
    if (entry != null && (this.nat != null || entry.nat != null)) {
      await this.traverseNat(entry, toSite, options)
    }

    const own = this.listening.values().next().value
    const dialer: SimEndpoint = {
      site: this.site,
      peerId: this.components.peerId,
      addr: multiaddr(`${own ?? `/memory/outgoing-${nextOutgoing++}`}/p2p/${this.components.peerId}`),
      log: this.log,
      owner: this.owner
    }

    if (entry == null) {
      const maConn = await (this.network.remote as RemoteDialer).dial(dialer, key, ma, options)
      return this.upgrade(maConn, options)
    }
    const listener: SimEndpoint = {
      site: entry.site,
      peerId: entry.peerId,
      addr: multiaddr(`${key}/p2p/${entry.peerId}`),
      log: entry.log,
      owner: entry.owner
    }

    const connection = new SimConnection(this.network, dialer, listener, entry, this.network.maxMessageSize)
    const maConn = await connection.open(options)
    return this.upgrade(maConn, options)
  }

  /**
   * Our NAT maps the way back from the remote; the remote's NAT, if any,
   * must let us in. The check is made once the SYN would arrive (one-way
   * delay later), so a hole punch whose two dials cross gets through.
   */
  private async traverseNat (entry: SimListenerEntry, toSite: string, options: DialTransportOptions): Promise<void> {
    const scheduler = this.network.scheduler
    this.nat?.outbound(entry.peerId.toString(), scheduler.now())

    if (entry.nat == null) {
      return
    }

    const me = this.components.peerId.toString()
    if (!entry.nat.admits(me, scheduler.now()) && entry.nat.type !== 'symmetric') {
      await this.network.delay(this.network.directionParams(this.site, toSite).oneWayMs, options)
    }
    if (!entry.nat.admits(me, scheduler.now())) {
      throw new NatRefusedError(`${entry.peerId} is behind a NAT (${entry.nat.type}) with no mapping for ${me}`)
    }
  }

  private async upgrade (maConn: SimMultiaddrConnection, options: DialTransportOptions): Promise<Connection> {
    try {
      options.signal.throwIfAborted()

      return await options.upgrader.upgradeOutbound(maConn, {
        ...options,
        ...this.init.upgraderOptions
      })
    } catch (err: unknown) {
      maConn.abort(asError(err))
      throw err
    }
  }

  createListener (options: CreateListenerOptions): Listener {
    return new SimListener(this, this.network, this.components, options, this.init.upgraderOptions)
  }

  listenFilter (multiaddrs: Multiaddr[]): Multiaddr[] {
    return multiaddrs.filter(isSimAddress)
  }

  dialFilter (multiaddrs: Multiaddr[]): Multiaddr[] {
    return multiaddrs.filter(isSimAddress)
  }
}

class SimListener extends TypedEventEmitter<ListenerEvents> implements Listener {
  private address?: string
  private entry?: SimListenerEntry
  private readonly shutdownController: AbortController

  constructor (
    private readonly transport: SimTransport,
    private readonly network: SimNetwork,
    private readonly components: SimTransportComponents,
    private readonly options: CreateListenerOptions,
    private readonly upgraderOptions?: UpgraderOptions
  ) {
    super()
    this.shutdownController = new AbortController()
    setMaxListeners(Infinity, this.shutdownController.signal)
  }

  async listen (ma: Multiaddr): Promise<void> {
    const value = ma.getComponents()[0]?.value
    const address = TCP.exactMatch(ma) ? addressKey(ma) : value == null || value === '' ? this.network.newAddress() : `/memory/${value}`
    const log = this.components.logger.forComponent('shoal:sim:listener')

    const entry: SimListenerEntry = {
      site: this.transport.site,
      peerId: this.components.peerId,
      log,
      closed: false,
      owner: this.transport.owner,
      nat: this.transport.nat,
      accept: (maConn) => this.onConnection(maConn)
    }

    this.network.register(address, entry)
    this.address = address
    this.entry = entry
    this.transport.listening.add(address)

    queueMicrotask(() => {
      this.safeDispatchEvent('listening')
    })
  }

  private onConnection (maConn: SimMultiaddrConnection): boolean {
    if (this.shutdownController.signal.aborted) {
      return false
    }

    this.options.upgrader.upgradeInbound(maConn, {
      ...this.upgraderOptions,
      signal: this.shutdownController.signal
    })
      .catch(err => {
        maConn.abort(err)
      })

    return true
  }

  getAddrs (): Multiaddr[] {
    return this.address == null ? [] : [multiaddr(this.address)]
  }

  updateAnnounceAddrs (): void {
  }

  async close (): Promise<void> {
    if (this.address != null && this.entry != null) {
      this.transport.listening.delete(this.address)
      this.network.unregister(this.address, this.entry, new LinkResetError('Listener closed'))
    }

    this.shutdownController.abort()

    queueMicrotask(() => {
      this.safeDispatchEvent('close')
    })
  }
}

/**
 * A libp2p transport factory attaching the node to a simulated network at a
 * site.
 *
 * @example
 *
 * ```TypeScript
 * const network = new SimNetwork({ linkProfile: () => ({ rttMs: 100 }) })
 * const node = await createLibp2p({
 *   addresses: { listen: ['/memory/a'] },
 *   transports: [simTransport({ network, site: 'paris' })],
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()]
 * })
 * ```
 */
export function simTransport (init: SimTransportInit): (components: SimTransportComponents) => Transport {
  return (components) => new SimTransport(components, init)
}
