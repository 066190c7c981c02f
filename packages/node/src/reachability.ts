/**
 * Whether others can reach this node, as libp2p knows it: the addresses
 * AutoNAT verified, the `/p2p-circuit` addresses a relay reservation gave
 * us, and the kind of each connection (relayed ones have `limits`). A
 * service, so it gets the address manager and the node's events.
 */

import { isPrivate } from '@libp2p/utils'
import { BoundedMap } from '@shoal/utils'
import type { Connection, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What `reachability` in `shoal status` and `GET /status` says. */
export interface ReachabilityStatus {
  /** 'public': a verified public (non-relay) address; 'relayed': reachable only through relays; 'private': neither; 'unknown': AutoNAT has not concluded */
  status: 'public' | 'relayed' | 'private' | 'unknown'
  /** this node's addresses that others can dial, verified or not, with `/p2p-circuit` ones listed in `relayed` */
  addresses: string[]
  relayed: string[]
  /** relay peers holding a reservation for us */
  relays: string[]
  /** open connections now, by kind */
  connections: { direct: number, relayed: number }
  /** since start: relayed connections opened, and peers that had a relayed connection and then got a direct one (DCUtR hole punching) */
  relayedOpened: number
  directUpgrades: number
}

/** One of the node's addresses as libp2p's address manager keeps it. */
interface NodeAddress {
  multiaddr: Multiaddr
  /** AutoNAT (or the operator, for `announce` and private addresses) confirmed it */
  verified: boolean
  /** when AutoNAT asks about it again; 0 = never asked yet */
  expires: number
}

/** What the reachability service needs of the node (libp2p's components). */
export interface ReachabilityComponents {
  addressManager: { getAddressesWithMetadata(): NodeAddress[] }
  connectionManager: { getConnections(): Connection[] }
  events: {
    addEventListener(type: 'connection:open', listener: (evt: CustomEvent<Connection>) => void): void
    removeEventListener(type: 'connection:open', listener: (evt: CustomEvent<Connection>) => void): void
  }
}

/** Peers remembered as having had a relayed connection, for counting their direct upgrades. */
const MAX_RELAYED_PEERS = 4096

/** Whether an address goes through a circuit relay. */
export function isRelayedAddress (ma: Multiaddr): boolean {
  return ma.getComponents().some(c => c.name === 'p2p-circuit')
}

/** The relay's peer id in a `/…/p2p/<relay>/p2p-circuit/…` address. */
export function relayOf (ma: Multiaddr): string | undefined {
  const components = ma.getComponents()
  const circuit = components.findIndex(c => c.name === 'p2p-circuit')
  return components.slice(0, Math.max(0, circuit)).reverse().find(c => c.name === 'p2p')?.value
}

/** Whether a connection is relayed: circuit relay v2 sets its data and time limits. */
export function isRelayedConnection (connection: Pick<Connection, 'limits' | 'remoteAddr'>): boolean {
  return connection.limits != null || isRelayedAddress(connection.remoteAddr)
}

/**
 * The reachability a node's addresses mean: public with a verified public
 * address (or one the operator announced), else relayed with a relay
 * address, else unknown while a public address awaits AutoNAT's verdict,
 * else private.
 */
export function reachabilityStatus (addresses: NodeAddress[]): ReachabilityStatus['status'] {
  const direct = addresses.filter(a => !isRelayedAddress(a.multiaddr))
  const isPublic = (a: NodeAddress): boolean => isPrivate(a.multiaddr) !== true
  if (direct.some(a => a.verified && isPublic(a))) return 'public'
  if (addresses.some(a => isRelayedAddress(a.multiaddr) && a.verified)) return 'relayed'
  // a public address AutoNAT never asked about, or will ask about again, is still open
  if (direct.some(a => isPublic(a) && a.expires <= Date.now())) return 'unknown'
  return 'private'
}

/** Tracks reachability: counts connections by kind and relayed peers that got a direct connection. */
export class Reachability implements Startable {
  private readonly components: ReachabilityComponents
  private readonly relayedPeers = new BoundedMap<string, true>(MAX_RELAYED_PEERS)
  private readonly opened = { direct: 0, relayed: 0 }
  private upgrades = 0
  private readonly onOpen: (evt: CustomEvent<Connection>) => void

  constructor (components: ReachabilityComponents) {
    this.components = components
    this.onOpen = (evt) => { this.connectionOpened(evt.detail) }
  }

  readonly [Symbol.toStringTag] = '@shoal/node/reachability'

  start (): void {
    this.components.events.addEventListener('connection:open', this.onOpen)
  }

  stop (): void {
    this.components.events.removeEventListener('connection:open', this.onOpen)
  }

  /** Count a connection that just opened. */
  connectionOpened (connection: Pick<Connection, 'limits' | 'remoteAddr' | 'remotePeer'>): void {
    const peer = connection.remotePeer.toString()
    if (isRelayedConnection(connection)) {
      this.opened.relayed++
      this.relayedPeers.set(peer, true)
      return
    }
    this.opened.direct++
    if (this.relayedPeers.has(peer)) {
      this.relayedPeers.delete(peer)
      this.upgrades++
    }
  }

  /** Connections opened since start, by kind. */
  get connectionsOpened (): { direct: number, relayed: number } {
    return { ...this.opened }
  }

  /** Peers that had a relayed connection and then got a direct one, since start. */
  get directUpgrades (): number {
    return this.upgrades
  }

  /** Where the node stands now. */
  status (): ReachabilityStatus {
    const all = this.components.addressManager.getAddressesWithMetadata()
    const addresses = [...new Set(all.map(a => a.multiaddr.toString()))]
    const relayedAddrs = all.filter(a => isRelayedAddress(a.multiaddr))
    const connections = { direct: 0, relayed: 0 }
    for (const connection of this.components.connectionManager.getConnections()) {
      connections[isRelayedConnection(connection) ? 'relayed' : 'direct']++
    }
    return {
      status: reachabilityStatus(all),
      addresses,
      relayed: [...new Set(relayedAddrs.map(a => a.multiaddr.toString()))],
      relays: [...new Set(relayedAddrs.map(a => relayOf(a.multiaddr)).filter((r): r is string => r !== undefined))],
      connections,
      relayedOpened: this.opened.relayed,
      directUpgrades: this.upgrades
    }
  }
}

/** The reachability service: `services: { reachability: reachability() }`. */
export function reachability (): (components: ReachabilityComponents) => Reachability {
  return (components) => new Reachability(components)
}
