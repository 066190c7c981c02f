import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { simTransport } from '../transport/index.js'
import { DEFAULT_DIAL_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_INCOMING_PENDING } from './constants.js'
import { simLogger } from './logger.js'
import type { NatInit, SimNetwork } from '../transport/index.js'
import type { GossipSub, GossipsubOpts } from '@libp2p/gossipsub'
import type { Identify, IdentifyInit } from '@libp2p/identify'
import type { KadDHT, KadDHTInit } from '@libp2p/kad-dht'
import type { PrivateKey } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Libp2pOptions, ServiceFactoryMap } from 'libp2p'

/** The stock services every simulated peer runs. */
export interface SimServices {
  identify: Identify
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
}

/**
 * Factories of the caller's services. Each gets the node's components with
 * the stock services (`SimServices`) beside the caller's, so a service that
 * needs the DHT or pubsub is typed as it is, with no cast.
 */
export type SimServiceFactories<S extends Record<string, unknown>> = Pick<ServiceFactoryMap<SimServices & S>, keyof S>

/** Overrides of the simulated libp2p stack; every field is optional. */
export interface SimStackOptions {
  /** kad-dht options, merged over the simulation defaults (server mode, addresses kept). */
  dht?: Partial<KadDHTInit>
  /** gossipsub options. */
  gossipsub?: Partial<GossipsubOpts>
  /** identify options. */
  identify?: IdentifyInit
  /** libp2p connection manager options, merged over the simulation defaults. */
  connectionManager?: Libp2pOptions['connectionManager']
  /**
   * Run libp2p's connection monitor (a ping every 10 s on every
   * connection). Off by default: it doubles as background load.
   *
   * @default false
   */
  connectionMonitor?: boolean
}

/** What one peer's libp2p node is built from. */
export interface SimNodeParams<S extends Record<string, unknown>> {
  network: SimNetwork
  /** the transport's site key of this peer */
  site: string
  listen: string
  privateKey: PrivateKey
  /** ms before the DHT's first self-query (and table refresh) */
  dhtStartDelayMs: number
  stack?: SimStackOptions
  /** the caller's extra services (Shoal services) */
  services?: SimServiceFactories<S>
  /** set when the simulation has NATs: how this peer is reached */
  reachability?: SimReachability
}

/** How a peer of a simulation with NATs is reached. */
export interface SimReachability {
  /** the NAT it sits behind, if any */
  nat?: NatInit
  /** whether it runs a circuit relay server */
  relay: boolean
}

/** Reservations one simulated relay holds at most (the stock 15 would turn most NAT'd peers of a large run away). */
const RELAY_MAX_RESERVATIONS = 1024

/**
 * libp2p options of one simulated peer: the full stock stack (noise, yamux,
 * identify, ping, kad-dht, gossipsub) on the sim transport, configured for
 * hundreds of nodes in one process without changing any protocol:
 * - the DHT's first self-query, which gates its routing-table refresh, is
 *   delayed per peer so the DHT bootstraps after the wiring instead of
 *   every node flooding the network at once;
 * - the DHT runs in server mode and keeps `/memory` addresses (the stock
 *   mapper drops them as private, so DHT peers could never be dialled);
 * - ping accepts a few concurrent streams per connection (stock: one), for
 *   the harness's RTT measurements;
 * - the connection manager accepts the bursts of inbound dials bootstrap
 *   peers see and waits longer for a dial on a busy event loop;
 * - loggers are silent unless `DEBUG` is set.
 *
 * In a simulation with NATs (`reachability` set) every peer can dial
 * relayed addresses (circuit relay transport) and take part in DCUtR
 * (its `listen` address should be an IP one: DCUtR and the relay
 * transport handle no other); a NAT'd peer sits behind its NAT,
 * listens on `/p2p-circuit` (reserving on the relays it connects to) and
 * is a DHT client (nobody could dial it to query it); a relay runs the
 * circuit relay server.
 */
export function simNodeOptions<S extends Record<string, unknown>> (params: SimNodeParams<S>): Libp2pOptions<SimServices & S> {
  const stack = params.stack ?? {}
  const reach = params.reachability
  const listen = reach?.nat == null ? [params.listen] : [params.listen, '/p2p-circuit']
  const transport = simTransport({ network: params.network, site: params.site, nat: reach?.nat })
  const reachServices = reach == null
    ? {}
    : { dcutr: dcutr(), ...(reach.relay ? { circuitRelay: circuitRelayServer({ reservations: { maxReservations: RELAY_MAX_RESERVATIONS } }) } : {}) }

  return {
    privateKey: params.privateKey,
    // libp2p announces a public IP listen address only once AutoNAT verified it; the sim has no AutoNAT, so
    // every peer announces its own (a NAT'd peer's stands for its NAT's observed address, which DCUtR sends)
    addresses: reach == null ? { listen } : { listen, appendAnnounce: [params.listen] },
    transports: reach == null ? [transport] : [transport, circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: stack.connectionMonitor ?? false },
    connectionManager: {
      maxConnections: DEFAULT_MAX_CONNECTIONS,
      maxIncomingPendingConnections: DEFAULT_MAX_INCOMING_PENDING,
      // every simulated peer shares one "host": a per-host rate limit would refuse them
      inboundConnectionThreshold: Number.MAX_SAFE_INTEGER,
      dialTimeout: DEFAULT_DIAL_TIMEOUT_MS,
      // the per-address and inbound upgrade timeouts (stock 6 s, 10 s) end noise handshakes queued on a busy loop
      addressDialTimeout: DEFAULT_DIAL_TIMEOUT_MS,
      inboundUpgradeTimeout: DEFAULT_DIAL_TIMEOUT_MS,
      ...stack.connectionManager
    },
    logger: simLogger(),
    services: {
      identify: identify(stack.identify),
      // several harness pings may share a connection; stock allows one outbound ping stream
      ping: ping({ maxOutboundStreams: 8, maxInboundStreams: 8 }),
      dht: kadDHT({
        clientMode: reach?.nat != null,
        peerInfoMapper: passthroughMapper,
        initialQuerySelfInterval: params.dhtStartDelayMs,
        ...stack.dht
      }),
      pubsub: gossipsub(stack.gossipsub),
      ...reachServices,
      ...params.services
    } as unknown as ServiceFactoryMap<SimServices & S>
  }
}
