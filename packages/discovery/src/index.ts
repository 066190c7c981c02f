/**
 * @packageDocumentation
 *
 * Find nearby GPU and data-capture providers through the Kademlia DHT.
 * Providers advertise a signed CapabilityRecord under DHT provider keys per
 * (capability class, geohash cell) at a few precisions; searchers look up
 * their own cell, its neighbours, then coarser cells, and fetch and verify
 * each provider's record from the provider itself over
 * `/shoal/capability/1.0.0`. The key format is in docs/spec.md §3.
 *
 * @example
 *
 * ```ts
 * import { noise } from '@chainsafe/libp2p-noise'
 * import { yamux } from '@chainsafe/libp2p-yamux'
 * import { identify } from '@libp2p/identify'
 * import { kadDHT } from '@libp2p/kad-dht'
 * import { ping } from '@libp2p/ping'
 * import { tcp } from '@libp2p/tcp'
 * import { discovery } from '@shoal/discovery'
 * import { createLibp2p } from 'libp2p'
 *
 * const node = await createLibp2p({
 *   addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
 *   transports: [tcp()],
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()],
 *   services: { identify: identify(), ping: ping(), dht: kadDHT({ protocol: '/shoal/kad/1.0.0' }), discovery: discovery() }
 * })
 *
 * for await (const provider of node.services.discovery.findNearby({ geohash: 'xn76u', gpuClass: 'consumer-24g', minVramMib: 16384 }, { k: 5 })) {
 *   console.log(provider.peerId.toString(), provider.found.cell, provider.reasons)
 * }
 * ```
 */

import { Discovery } from './discovery.js'
import type { AdvertisedKey } from './keys.js'
import type { NearbyQuery } from './match.js'
import type { AbortOptions, ComponentLogger, DialProtocolOptions, DialTarget, Libp2pEvents, Metrics, PeerDiscoveryEvents, PeerId, PrivateKey, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CapabilityRecord, Gpu, NetworkCoordinate, Price, SignedRecord } from '@shoal/records'
import type { ProgressEvent, ProgressOptions } from 'progress-events'

export { Discovery } from './discovery.js'
export * from './constants.js'
export * from './errors.js'
export * from './geohash.js'
export * from './keys.js'
export * from './match.js'

/**
 * What the service needs from the node. Other services by the names
 * js-libp2p gives them, as kad-dht itself finds `ping`:
 * `services: { dht: kadDHT(), ping: ping(), discovery: discovery() }`.
 */
export interface DiscoveryComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  addressManager: AddressManager
  logger: ComponentLogger
  metrics?: Metrics
  /** the node's events: our own addresses changing (`self:peer:update`) signs the record again */
  events?: TypedEventTarget<Libp2pEvents>
  /** the kad-dht (a declared dependency: a node without one fails at start) */
  dht: KadDHT
  /** libp2p's ping service, whose protocol the confirmation probes speak; without one, they time capability requests (kad-dht needs it anyway) */
  ping?: PingService
}

/** libp2p's ping service (@libp2p/ping's `Ping`); discovery speaks the protocol it answers, `PING_PROTOCOL` if it does not say. */
export interface PingService {
  ping(peer: DialTarget, options?: DialProtocolOptions): Promise<number>
  protocol?: string
}

/**
 * Confirmation of the nearest candidates by measurement: after their records
 * are fetched and verified, the best `candidates` by estimated RTT are
 * probed `probes` times over the connection the fetch opened (libp2p ping
 * on a stream opened beside the record's, or a capability request without a
 * ping service), and results are ranked and yielded by the minimum measured
 * RTT, the record stream's and the ping stream opening's times included,
 * believed up to `trustRatio` x the estimate. Needs a query coordinate.
 */
export interface ConfirmOptions {
  /**
   * Candidates measured (0: none, rank by estimate only)
   *
   * @default 2 x k
   */
  candidates?: number
  /**
   * Ping rounds per candidate; the minimum (with the record stream's and the ping stream opening's times) counts
   *
   * @default 1
   */
  probes?: number
  /**
   * How far above `trustRatio` x its estimate a measurement may put a
   * candidate while the requester's own event loop is busy: the excess
   * counts only beyond the largest loop lag the search has seen (a sample
   * only ever overstates the RTT, and a busy CPU adds to it). On a calm
   * loop measurements count whole; `Infinity` always trusts them whole.
   *
   * @default 1.5
   */
  trustRatio?: number
}

/** Options of the discovery service; every field is optional. */
export interface DiscoveryInit {
  /**
   * Confirm the nearest candidates by measuring their RTT (see ConfirmOptions); `findNearby` may override it
   *
   * @default { candidates: 2 x k, probes: 1 }
   */
  confirm?: ConfirmOptions
  /**
   * Geohash precisions advertised and searched; 0 is the world cell
   *
   * @default [1, 2, 3]
   */
  precisions?: number[]
  /**
   * Search the world cell '' too, ranked after the coarsest precision but looked up beside the finest
   * (finds providers that reveal no location; often lists every provider of a sparse class at once)
   *
   * @default true
   */
  searchWorld?: boolean
  /**
   * Lifetime of our signed record, ms (at most 2 days)
   *
   * @default 1_800_000
   */
  recordTtlMs?: number
  /**
   * Fraction of the lifetime after which the record is re-signed
   *
   * @default 0.5
   */
  refreshFraction?: number
  /** @default 3 */
  provideConcurrency?: number
  /** @default 30_000 */
  provideTimeoutMs?: number
  /**
   * How long our addresses must stay unchanged before the record is signed
   * again listing them (a relay reservation adds a `/p2p-circuit` one), ms
   *
   * @default 1000
   */
  addressChangeDebounceMs?: number
  /**
   * Provider entries examined per cell per search (see MAX_CANDIDATES_PER_CELL)
   *
   * @default 20
   */
  maxCandidatesPerCell?: number
  /** @default 256 */
  maxEntriesPerCell?: number
  /** @default 48 */
  maxFetchesPerQuery?: number
  /** @default 10 */
  lookupConcurrency?: number
  /** @default 8 */
  fetchConcurrency?: number
  /** @default 10_000 */
  lookupTimeoutMs?: number
  /** @default 5_000 */
  fetchTimeoutMs?: number
  /** @default 60_000 */
  recordCacheTtlMs?: number
  /** @default 1024 */
  recordCacheSize?: number
  /** @default 600_000 */
  denyTtlMs?: number
  /** @default 60_000 */
  skipTtlMs?: number
  /** @default 4096 */
  denySize?: number
  /** @default 4 */
  maxInboundStreams?: number
  /** @default 4 */
  maxOutboundStreams?: number
  /** A search run periodically while started, every `intervalMs` (default 300_000); its results feed the peer store ('peer' events). */
  watch?: { query: NearbyQuery, k?: number, intervalMs?: number }
  /** The clock, ms (inject in tests and simulations) @default Date.now */
  now?(): number
  /** Randomness in [0, 1) used to sample crowded cells @default Math.random */
  random?(): number
  /**
   * How established a provider is: its distinct counterparties in
   * countersigned receipts (e.g. `p => receipts.standing(p).counterparties`).
   * Given, a search ranks by it too: established providers are examined
   * first in a crowded cell, which is examined `NEWCOMER_CANDIDATES_FACTOR`
   * times deeper (within `maxFetchesPerQuery`), and at most
   * `ceil(newcomerShare x k)` of the k results have standing 0 unless fewer
   * established ones are found. Omitted: no newcomer share (today's
   * behaviour). A local policy: the wire is unchanged.
   */
  standing?(peer: PeerId): number
  /**
   * With `standing`: the share (0..1) of a search's k results that may be
   * newcomers while established providers may still be found
   *
   * @default 0.5
   */
  newcomerShare?: number
}

/** What a provider offers; the service fills in provider, seq, times and addresses. */
export interface Offer {
  /** GPUs offered */
  gpus?: Gpu[]
  /** capture sensors offered, e.g. `video` */
  sensors?: string[]
  /** location at the precision the provider is willing to reveal ('' = anywhere) */
  geohash: string
  /** our network coordinate */
  coordinate?: NetworkCoordinate
  /** price per unit */
  price: Price
  /** jobs run at once @default 1 */
  concurrency?: number
  /** slots free now @default concurrency */
  freeSlots?: number
  /** addresses to publish @default the node's addresses */
  addrs?: Multiaddr[]
}

/** The outcome of advertising. */
export interface AdvertiseResult {
  /** the record now served */
  record: SignedRecord<CapabilityRecord>
  /** every key we are advertised under */
  keys: AdvertisedKey[]
  /** keys provided by this call (the others were already advertised) */
  provided: AdvertisedKey[]
  /** keys whose provide reached no DHT peer; retried at the next refresh */
  failed: AdvertisedKey[]
  /** DHT messages sent by this call's provide operations */
  messages: number
}

/** Where a provider was found. */
export interface FoundUnder {
  /** capability class searched */
  capabilityClass: string
  /** cell whose key listed the provider ('' = world) */
  cell: string
  /** cell length */
  precision: number
  /** whether the cell is the query's own (false: a neighbour or the world) */
  home: boolean
}

/** A verified provider matching a query. */
export interface NearbyProvider {
  /** the provider */
  peerId: PeerId
  /** its verified record (signed by `peerId`, unexpired, served by `peerId`) */
  record: SignedRecord<CapabilityRecord>
  /** addresses: the record's and the DHT's */
  multiaddrs: Multiaddr[]
  /** where it was found */
  found: FoundUnder
  /** why it matches the query */
  reasons: string[]
  /** RTT predicted from both network coordinates, ms */
  estimatedRttMs?: number
  /**
   * RTT measured, ms: with confirmation, the minimum of the ping rounds,
   * the ping stream's opening and the record's stream (results are ranked
   * by it, believed up to `confirm.trustRatio` x `estimatedRttMs` while the
   * event loop is busy); without, the time of the record's own stream on an
   * open connection (one round trip plus both ends' processing: an upper
   * bound of the RTT, informative only)
   */
  measuredRttMs?: number
  /** time to fetch the record, ms (0 when reused from cache): an upper bound of one RTT plus a dial */
  fetchMs: number
}

/** Progress of a search (through `onProgress`). */
export type FindNearbyProgressEvents =
  | ProgressEvent<'shoal:discovery:lookup', { cell: string, precision: number, entries: number, examined: number }>
  | ProgressEvent<'shoal:discovery:rejected', { peerId: PeerId, cell: string, error: Error }>
  | ProgressEvent<'shoal:discovery:unmatched', { peerId: PeerId, reason: string }>
  | ProgressEvent<'shoal:discovery:measured', MeasuredCandidate>
  | ProgressEvent<'shoal:discovery:done', SearchSummary>

/**
 * A candidate's RTT as confirmation measured it (with `confirm`): sent when
 * its probe rounds are done, and again whenever a later sample lowers it
 * (until it is yielded: a result's last report is its `measuredRttMs`);
 * whether or not the candidate ends up among the results.
 */
export interface MeasuredCandidate {
  peerId: PeerId
  /** lowest sample so far, ms (`NearbyProvider.measuredRttMs`) */
  rttMs: number
  /** RTT estimated from the coordinates, ms */
  estimatedRttMs?: number
}

/** Counts of one search. */
export interface SearchSummary {
  /** results yielded */
  found: number
  /** cells looked up */
  lookups: number
  /** DHT messages sent by the lookups */
  messages: number
  /** records fetched */
  fetches: number
  /** provider entries rejected (bad record, wrong peer, mismatch, unreachable) */
  rejected: number
  /** entries skipped: denied earlier, over a cell's cap, or over the fetch budget */
  skipped: number
  /** precision of the last level searched */
  lastPrecision: number
}

/** Options of `findNearby`. */
export interface FindNearbyOptions extends AbortOptions, ProgressOptions<FindNearbyProgressEvents> {
  /** results wanted @default 5 */
  k?: number
  /** records fetched at most @default init.maxFetchesPerQuery */
  maxFetches?: number
  /** confirmation by measurement for this search (see ConfirmOptions) @default init.confirm */
  confirm?: ConfirmOptions
}

/** Counters since start (also the `shoal_discovery_operations_total` metric, labelled by field). */
export interface DiscoveryStats {
  /** provide operations run */
  provides: number
  /** DHT messages sent by provides */
  provideMessages: number
  /** provider lookups run */
  lookups: number
  /** DHT messages sent by lookups */
  lookupMessages: number
  /** records fetched from providers */
  fetches: number
  /** records or entries rejected */
  rejected: number
  /** records served to other peers */
  served: number
}

/** Events of the discovery service. */
export interface DiscoveryEvents extends PeerDiscoveryEvents {
  /** a verified provider matched a search */
  'provider:found': CustomEvent<NearbyProvider>
  /** we signed a new record (advertise, update or refresh) */
  'record:signed': CustomEvent<SignedRecord<CapabilityRecord>>
  /** a peer's record or provider entry was rejected */
  'record:rejected': CustomEvent<{ peerId: PeerId, error: Error }>
  /** we stopped advertising */
  'advertisement:withdrawn': CustomEvent<AdvertisedKey[]>
}

/** Create the discovery service: `services: { discovery: discovery() }` (needs a kad-dht service named `dht`). */
export function discovery (init: DiscoveryInit = {}): (components: DiscoveryComponents) => Discovery {
  return (components) => new Discovery(components, init)
}
