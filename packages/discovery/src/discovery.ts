/**
 * The discovery service: advertises our signed CapabilityRecord under
 * (capability class, geohash cell) provider keys in the kad-dht, answers
 * `/shoal/capability/1.0.0` with it, and finds nearby providers by widening
 * through cells.
 */

import { isPeerId, peerDiscoverySymbol, serviceCapabilities, serviceDependencies, setMaxListeners } from '@libp2p/interface'
import { randomBytes } from 'node:crypto'
import { PriorityQueue, Queue, byteStream, lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { CapabilityRecordType, MAX_ADDR_LENGTH, MAX_ADDRS, MAX_CAPABILITY_TTL_MS, RECORD_VERSION, RecordError, RecordTooLargeError, openRecord, signRecord } from '@shoal/records'
import { TypedEventEmitter } from 'main-event'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { CustomProgressEvent } from 'progress-events'
import {
  CAPABILITY_PROTOCOL, DEFAULT_DENY_SIZE, DEFAULT_DENY_TTL, DEFAULT_DHT_SERVICE, DEFAULT_FETCH_CONCURRENCY,
  DEFAULT_FETCH_TIMEOUT, DEFAULT_K, DEFAULT_LOOKUP_CONCURRENCY, DEFAULT_LOOKUP_TIMEOUT, DEFAULT_MAX_CANDIDATES_PER_CELL,
  DEFAULT_MAX_ENTRIES_PER_CELL, DEFAULT_MAX_FETCHES_PER_QUERY, DEFAULT_PRECISIONS, DEFAULT_PROVIDE_CONCURRENCY,
  DEFAULT_PROVIDE_TIMEOUT, DEFAULT_RECORD_CACHE_SIZE, DEFAULT_RECORD_CACHE_TTL, DEFAULT_RECORD_TTL,
  DEFAULT_REFRESH_FRACTION, DEFAULT_SKIP_TTL, FETCH_ROUND_TRIPS, MAX_INBOUND_STREAMS, MAX_OUTBOUND_STREAMS,
  COMPLETE_LISTING_QUORUM, CONFIRM_ESTIMATE_SLACK, CONFIRM_REFINE_ROUNDS, DEFAULT_CONFIRM_CANDIDATES_PER_RESULT, DEFAULT_CONFIRM_PROBES, DEFAULT_CONFIRM_TRUST_RATIO, DEFAULT_PING_SERVICE, LOOP_LAG_PERIOD_MS, PING_LENGTH, PING_PROTOCOL
} from './constants.js'
import { InvalidQueryError, MissingDhtError, NoRecordError, NotStartedError, WrongProviderError } from './errors.js'
import { isValidGeohash, MAX_GEOHASH_PRECISION } from './geohash.js'
import { advertisementKeys, capabilityKey, searchLevels } from './keys.js'
import { LoopLag } from './loop-lag.js'
import { cellRttFloor, checkAdvertisement, estimateRtt, matchRecord, queryClass } from './match.js'
import type { AdvertisedKey, SearchLevel } from './keys.js'
import type { LagWatch } from './loop-lag.js'
import type { NearbyQuery } from './match.js'
import type {
  AbortOptions, ComponentLogger, Connection, Logger, PeerDiscovery, PeerDiscoveryEvents, PeerId, PeerInfo,
  PrivateKey, Startable, Stream
} from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CapabilityRecord, Gpu, NetworkCoordinate, Price, SignedRecord } from '@shoal/records'
import type { ProgressEvent, ProgressOptions } from 'progress-events'

/** What the service needs from the node. The kad-dht is looked up by name (`init.dhtService`). */
export interface DiscoveryComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  addressManager: AddressManager
  logger: ComponentLogger
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
   * Name of libp2p's ping service on the node, used to measure candidates
   *
   * @default 'ping'
   */
  pingService?: string
  /**
   * Confirm the nearest candidates by measuring their RTT (see ConfirmOptions); `findNearby` may override it
   *
   * @default { candidates: 2 x k, probes: 1 }
   */
  confirm?: ConfirmOptions
  /**
   * Name of the kad-dht service on the node (`services: { dht: kadDHT() }`)
   *
   * @default 'dht'
   */
  dhtService?: string
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
  recordTtl?: number
  /**
   * Fraction of the lifetime after which the record is re-signed
   *
   * @default 0.5
   */
  refreshFraction?: number
  /** @default 3 */
  provideConcurrency?: number
  /** @default 30_000 */
  provideTimeout?: number
  /**
   * Provider entries examined per cell per search (see DEFAULT_MAX_CANDIDATES_PER_CELL)
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
  lookupTimeout?: number
  /** @default 5_000 */
  fetchTimeout?: number
  /** @default 60_000 */
  recordCacheTtl?: number
  /** @default 1024 */
  recordCacheSize?: number
  /** @default 600_000 */
  denyTtl?: number
  /** @default 60_000 */
  skipTtl?: number
  /** @default 4096 */
  denySize?: number
  /** @default 4 */
  maxInboundStreams?: number
  /** @default 4 */
  maxOutboundStreams?: number
  /** A search run periodically while started; its results feed the peer store ('peer' events). */
  watch?: { query: NearbyQuery, k?: number, interval?: number }
  /** The clock, ms (inject in tests and simulations) @default Date.now */
  now?(): number
  /** Randomness in [0, 1) used to sample crowded cells @default Math.random */
  random?(): number
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
 * its probe rounds are done, and again whenever a later sample lowers it;
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

/** Counters since start. */
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

interface CachedRecord {
  record: SignedRecord<CapabilityRecord>
  fetchedAt: number
}

interface SearchState {
  seen: Set<string>
  fetches: number
  maxFetches: number
  lookups: number
  messages: number
  rejected: number
  skipped: number
  lastPrecision: number
  /** record fetches, nearest cells first */
  fetchSlots: PriorityQueue<void, { priority: number, signal: AbortSignal }>
  /** the levels searched, finest first */
  levels: SearchLevel[]
  /**
   * cells whose lookup has not ended, with their level, the RTT floor of
   * anyone in them, and what ends the lookup once a listing covers the cell
   */
  pendingCells: Map<string, { level: number, floor: number, covered: AbortController }>
  /**
   * cells a holder listed completely (fewer entries than the caps, all
   * examined): a pending lookup of a cell inside one cannot bring a provider
   * not already examined, so it holds no result back
   */
  complete: Set<string>
  /**
   * how much longer than their round trips (FETCH_ROUND_TRIPS with a dial,
   * 1 over an open connection) x their estimated RTT this search's
   * completed fetches took (dial, handshakes and a busy CPU), ms
   */
  overheads: number[]
  /** candidates being examined: finest level they may be at, RTT floor, when their fetch started */
  running: Map<string, { level: number, floor: number, startedAt?: number, roundTrips?: number }>
  /** every cell each candidate was listed under */
  listings: Map<string, Array<{ found: FoundUnder, level: number }>>
  /** verified matching results not yet yielded */
  held: HeldResult[]
  arrivals: number
  /** results wanted */
  k: number
  /** level index of each result yielded */
  yielded: number[]
  /** confirmation of this search (a query coordinate and candidates > 0), else undefined */
  confirm?: { candidates: number, probes: number, trustRatio: number }
  /** estimated RTT of every verified matching result, to rank a new one among them */
  estimates: number[]
  /** the event loop's lateness while this search measures candidates (with confirm) */
  lag?: LagWatch
  /** something changed: the search may yield */
  wake(): void
  onProgress?(evt: FindNearbyProgressEvents): void
}

/** A ping stream opened beside a record fetch, and how long opening it took (ms). */
interface OpenedPing {
  stream: Stream
  openMs: number
}

interface HeldResult {
  result: NearbyProvider
  /** level index it was examined under */
  level: number
  /** arrival order */
  order: number
  /** confirmation probe: running, measured (`result.measuredRttMs`), failed, or not probed */
  probe?: 'running' | 'measured' | 'failed'
  /** while the probe runs: the lowest sample so far (the RTT is at most this), ms */
  bound?: number
  /** while the probe runs: when its last ping round was sent (performance.now()) */
  lastRoundAt?: number
}

function positiveInt (name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new InvalidQueryError(`${name} must be a positive integer`)
  }
  return v
}

function isAbort (err: any, signal?: AbortSignal): boolean {
  return signal?.aborted === true || err?.name === 'AbortError'
}

/**
 * Finds nearby GPU and capture providers through the kad-dht: see the
 * package README and docs/spec.md §3.
 */
export class Discovery extends TypedEventEmitter<DiscoveryEvents> implements Startable, PeerDiscovery {
  readonly [Symbol.toStringTag] = '@shoal/discovery'
  readonly [serviceCapabilities]: string[] = ['@shoal/discovery']
  readonly [serviceDependencies]: string[] = ['@libp2p/kad-dht']

  /** Statistics since start. */
  readonly stats: DiscoveryStats = { provides: 0, provideMessages: 0, lookups: 0, lookupMessages: 0, fetches: 0, rejected: 0, served: 0 }

  private readonly components: DiscoveryComponents
  private readonly log: Logger
  private readonly dhtService: string
  private readonly precisions: number[]
  private readonly searchWorld: boolean
  private readonly recordTtl: number
  private readonly refreshFraction: number
  private readonly provideConcurrency: number
  private readonly provideTimeout: number
  private readonly maxCandidatesPerCell: number
  private readonly maxEntriesPerCell: number
  private readonly maxFetchesPerQuery: number
  private readonly lookupConcurrency: number
  private readonly fetchConcurrency: number
  private readonly lookupTimeout: number
  private readonly fetchTimeout: number
  private readonly recordCacheTtl: number
  private readonly recordCacheSize: number
  /** RTT measured while fetching a record (see fetchRecord) */
  private readonly measured = new WeakMap<SignedRecord<CapabilityRecord>, number>()
  /** how late timers run while searches measure (see confirmedRtt) */
  private readonly loopLag = new LoopLag(LOOP_LAG_PERIOD_MS)
  private readonly denyTtl: number
  private readonly skipTtl: number
  private readonly denySize: number
  private readonly maxInboundStreams: number
  private readonly maxOutboundStreams: number
  private readonly pingService: string
  private readonly confirm: ConfirmOptions
  private readonly watch?: { query: NearbyQuery, k?: number, interval?: number }
  private readonly now: () => number
  private readonly random: () => number

  private started = false
  private dht?: KadDHT
  private offer?: Offer
  private record?: SignedRecord<CapabilityRecord>
  private lastSeq = 0
  private readonly advertised = new Map<string, AdvertisedKey>()
  private refreshTimer?: ReturnType<typeof setTimeout>
  private watchTimer?: ReturnType<typeof setTimeout>
  private shutdown = new AbortController()
  private queue: Promise<unknown> = Promise.resolve()
  private readonly cache = new Map<string, CachedRecord>()
  private readonly denied = new Map<string, number>()

  constructor (components: DiscoveryComponents, init: DiscoveryInit = {}) {
    super()
    this.components = components
    this.log = components.logger.forComponent('shoal:discovery')
    this.dhtService = init.dhtService ?? DEFAULT_DHT_SERVICE
    this.precisions = [...new Set(init.precisions ?? DEFAULT_PRECISIONS)].sort((a, b) => b - a)
    if (this.precisions.length === 0 || this.precisions.some(p => !Number.isInteger(p) || p < 0 || p > MAX_GEOHASH_PRECISION)) {
      throw new InvalidQueryError(`precisions must be integers in 0..${MAX_GEOHASH_PRECISION}`)
    }
    this.searchWorld = init.searchWorld ?? true
    this.recordTtl = Math.min(init.recordTtl ?? DEFAULT_RECORD_TTL, MAX_CAPABILITY_TTL_MS)
    this.refreshFraction = init.refreshFraction ?? DEFAULT_REFRESH_FRACTION
    this.provideConcurrency = init.provideConcurrency ?? DEFAULT_PROVIDE_CONCURRENCY
    this.provideTimeout = init.provideTimeout ?? DEFAULT_PROVIDE_TIMEOUT
    this.maxCandidatesPerCell = init.maxCandidatesPerCell ?? DEFAULT_MAX_CANDIDATES_PER_CELL
    this.maxEntriesPerCell = init.maxEntriesPerCell ?? DEFAULT_MAX_ENTRIES_PER_CELL
    this.maxFetchesPerQuery = init.maxFetchesPerQuery ?? DEFAULT_MAX_FETCHES_PER_QUERY
    this.lookupConcurrency = init.lookupConcurrency ?? DEFAULT_LOOKUP_CONCURRENCY
    this.fetchConcurrency = init.fetchConcurrency ?? DEFAULT_FETCH_CONCURRENCY
    this.lookupTimeout = init.lookupTimeout ?? DEFAULT_LOOKUP_TIMEOUT
    this.fetchTimeout = init.fetchTimeout ?? DEFAULT_FETCH_TIMEOUT
    this.recordCacheTtl = init.recordCacheTtl ?? DEFAULT_RECORD_CACHE_TTL
    this.recordCacheSize = init.recordCacheSize ?? DEFAULT_RECORD_CACHE_SIZE
    this.denyTtl = init.denyTtl ?? DEFAULT_DENY_TTL
    this.skipTtl = init.skipTtl ?? DEFAULT_SKIP_TTL
    this.denySize = init.denySize ?? DEFAULT_DENY_SIZE
    this.maxInboundStreams = init.maxInboundStreams ?? MAX_INBOUND_STREAMS
    this.maxOutboundStreams = init.maxOutboundStreams ?? MAX_OUTBOUND_STREAMS
    this.pingService = init.pingService ?? DEFAULT_PING_SERVICE
    this.confirm = init.confirm ?? {}
    this.watch = init.watch
    this.now = init.now ?? Date.now
    this.random = init.random ?? Math.random
    this.handleRequest = this.handleRequest.bind(this)
  }

  /** libp2p registers us as a peer discovery module: matching providers reach the peer store. */
  get [peerDiscoverySymbol] (): PeerDiscovery {
    return this
  }

  async start (): Promise<void> {
    const dht = (this.components as unknown as Record<string, unknown>)[this.dhtService] as KadDHT | undefined
    if (dht == null || typeof dht.provide !== 'function' || typeof dht.findProviders !== 'function') {
      throw new MissingDhtError(`no kad-dht service named "${this.dhtService}"`)
    }
    this.dht = dht
    this.shutdown = new AbortController()
    setMaxListeners(Infinity, this.shutdown.signal)
    await this.components.registrar.handle(CAPABILITY_PROTOCOL, this.handleRequest, {
      maxInboundStreams: this.maxInboundStreams,
      maxOutboundStreams: this.maxOutboundStreams
    })
    this.started = true
  }

  afterStart (): void {
    if (this.watch != null) {
      this.scheduleWatch(0)
    }
  }

  /** Withdraw while the DHT and its datastore still run. */
  async beforeStop (): Promise<void> {
    await this.withdraw().catch(err => { this.log.error('could not withdraw - %e', err) })
  }

  async stop (): Promise<void> {
    this.started = false
    this.shutdown.abort()
    clearTimeout(this.refreshTimer)
    clearTimeout(this.watchTimer)
    await this.components.registrar.unhandle(CAPABILITY_PROTOCOL)
    this.cache.clear()
    this.denied.clear()
  }

  isStarted (): boolean {
    return this.started
  }

  /** The record we currently serve, if advertising. */
  get currentRecord (): SignedRecord<CapabilityRecord> | undefined {
    return this.record
  }

  /** The keys we are advertised under. */
  get advertisedKeys (): AdvertisedKey[] {
    return [...this.advertised.values()]
  }

  /**
   * Sign a record of `offer` and advertise it. Only keys not already
   * advertised are provided: changing the price or free slots costs no DHT
   * operation, only moving or changing classes does. The DHT re-provides our
   * keys itself; we re-sign the record before it expires.
   */
  async advertise (offer: Offer, options: AbortOptions = {}): Promise<AdvertiseResult> {
    if (!this.started) {
      throw new NotStartedError()
    }
    return this.serialize(async () => {
      this.offer = offer
      const record = await this.sign(offer)
      return this.syncKeys(record, options)
    })
  }

  /** Change some fields of the current offer and advertise again. */
  async update (changes: Partial<Offer>, options: AbortOptions = {}): Promise<AdvertiseResult> {
    if (this.offer == null) {
      throw new NoRecordError('nothing advertised yet')
    }
    return this.advertise({ ...this.offer, ...changes }, options)
  }

  /**
   * Stop advertising: stop serving our record and stop re-providing our
   * keys. Provider records already stored on DHT peers cannot be deleted
   * remotely; they expire there (kad-dht's provider validity), and a searcher
   * that reaches us in the meantime gets no record and skips us.
   */
  async withdraw (options: AbortOptions = {}): Promise<void> {
    // after any advertise or refresh in flight, which would otherwise set the
    // record and keys again once this has cleared them
    return this.serialize(async () => {
      clearTimeout(this.refreshTimer)
      const keys = [...this.advertised.values()]
      this.record = undefined
      this.offer = undefined
      this.advertised.clear()
      if (this.dht != null) {
        for (const key of keys) {
          await this.dht.cancelReprovide(key.cid, options).catch(err => { this.log('could not cancel reprovide of %s - %e', key.text, err) })
        }
      }
      if (keys.length > 0) {
        this.safeDispatchEvent('advertisement:withdrawn', { detail: keys })
      }
    })
  }

  /**
   * Find verified providers matching `query`, nearest cells first: the
   * query's cell and its 8 neighbours at the finest precision, then the
   * same one character coarser, and so on, until `k` are found or the
   * search is exhausted. The world cell is looked up beside the finest level
   * and lookups of a coarser level start while the finer ones still run
   * (`lookupConcurrency` at once), but a result never comes before the
   * finer levels could still produce one: without a query coordinate,
   * results of a level (where the signed record says the provider is) come
   * as verified once every finer level is done; with one, a result comes as
   * soon as no lookup or fetch still running at its level or finer could
   * give a provider with a lower estimated RTT (see `cellRttFloor` and
   * `FETCH_ROUND_TRIPS`), so results come roughly sorted by estimated RTT.
   * A lookup of a cell inside one that a holder listed completely holds
   * nothing back (see the README's "Complete listings"). With a query
   * coordinate the best `confirm.candidates` by estimate are also measured
   * (`measureRtt`) and results are ranked by the measured RTT, its excess
   * over `trustRatio` x the estimate discounted by the loop lag seen (see
   * `ConfirmOptions` and the README's "Confirmed by measurement"). Once `k`
   * results are out, what still runs is aborted.
   */
  async * findNearby (query: NearbyQuery, options: FindNearbyOptions = {}): AsyncGenerator<NearbyProvider, void, undefined> {
    const capabilityClass = queryClass(query)
    const k = positiveInt('k', options.k, DEFAULT_K)
    const maxFetches = positiveInt('maxFetches', options.maxFetches, this.maxFetchesPerQuery)
    this.requireDht()
    const levels = searchLevels(query.geohash, this.precisions, this.searchWorld)
    const confirm = { ...this.confirm, ...options.confirm }
    const candidates = confirm.candidates ?? DEFAULT_CONFIRM_CANDIDATES_PER_RESULT * k
    const probes = confirm.probes ?? DEFAULT_CONFIRM_PROBES
    if (!Number.isSafeInteger(candidates) || candidates < 0) {
      throw new InvalidQueryError('confirm.candidates must be a non-negative integer')
    }
    positiveInt('confirm.probes', probes, DEFAULT_CONFIRM_PROBES)
    const trustRatio = confirm.trustRatio ?? DEFAULT_CONFIRM_TRUST_RATIO
    if (Number.isNaN(trustRatio) || trustRatio < 1) {
      throw new InvalidQueryError('confirm.trustRatio must be at least 1')
    }
    const controller = new AbortController()
    const signal = AbortSignal.any(options.signal == null ? [controller.signal, this.shutdown.signal] : [controller.signal, this.shutdown.signal, options.signal])
    setMaxListeners(Infinity, controller.signal, signal)
    let finished = false
    let dirty = false
    let notify: (() => void) | undefined
    const search: SearchState = {
      seen: new Set([this.components.peerId.toString()]),
      fetches: 0,
      maxFetches,
      lookups: 0,
      messages: 0,
      rejected: 0,
      skipped: 0,
      lastPrecision: -1,
      fetchSlots: new PriorityQueue({ concurrency: this.fetchConcurrency }),
      levels,
      pendingCells: new Map(),
      complete: new Set(),
      overheads: [],
      running: new Map(),
      listings: new Map(),
      held: [],
      arrivals: 0,
      k,
      yielded: [],
      confirm: query.coordinate != null && candidates > 0 ? { candidates, probes, trustRatio } : undefined,
      estimates: [],
      lag: query.coordinate != null && candidates > 0 ? this.loopLag.watch() : undefined,
      wake: () => {
        dirty = true
        const n = notify
        notify = undefined
        n?.()
      },
      onProgress: (evt) => {
        if (!finished) {
          options.onProgress?.(evt)
        }
      }
    }
    let found = 0
    let timer: ReturnType<typeof setTimeout> | undefined
    signal.addEventListener('abort', search.wake, { once: true })

    try {
      signal.throwIfAborted()
      // FIFO: the finest level's cells and the coarsest cell (the world)
      // first, then the levels between. The coarsest cell is one lookup that
      // often lists every provider of a sparse class (a holder answers with
      // all it has), while a sparse fine cell's lookup only ends when it
      // converges: listed completely, the world stops the fine cells from
      // holding results back.
      const lookups = new Queue<void, { signal: AbortSignal }>({ concurrency: this.lookupConcurrency })
      const order = levels.map((level, index) => ({ level, index }))
      if (order.length > 2) {
        order.splice(1, 0, ...order.splice(order.length - 1, 1))
      }
      for (const { level, index } of order) {
        for (const cell of level.cells) {
          search.pendingCells.set(cell, { level: index, floor: cellRttFloor(query.geohash, cell), covered: new AbortController() })
          void lookups.add(async () => this.lookupCell(level, index, cell, capabilityClass, query, search, signal), { signal })
            .catch(err => { if (!signal.aborted) this.log('lookup of %s/%s failed - %e', capabilityClass, cell, err) })
            .finally(() => {
              search.pendingCells.delete(cell)
              search.wake()
            })
        }
      }

      while (true) {
        signal.throwIfAborted()
        dirty = false
        const now = performance.now()
        let next = Infinity
        let best: HeldResult | undefined
        for (const held of search.held) {
          const at = this.readyAt(held, search, query, now)
          if (at > now) {
            next = Math.min(next, at)
          } else if (best == null || this.before(held, best, query, search)) {
            best = held
          }
        }
        if (best != null) {
          search.held.splice(search.held.indexOf(best), 1)
          const result = { ...best.result, found: this.finestListing(best, search, capabilityClass) }
          search.yielded.push(this.levelOf(best, search))
          this.announce(result)
          yield result
          if (++found >= k) {
            return
          }
          continue
        }
        if (search.pendingCells.size === 0 && search.running.size === 0 && search.held.length === 0) {
          return
        }
        if (dirty) {
          continue
        }
        await new Promise<void>(resolve => {
          notify = resolve
          if (Number.isFinite(next)) {
            timer = setTimeout(search.wake, Math.max(1, Math.ceil(next - now)))
          }
        })
        clearTimeout(timer)
      }
    } finally {
      clearTimeout(timer)
      search.lag?.stop()
      signal.removeEventListener('abort', search.wake)
      controller.abort()
      search.fetchSlots.abort()
      search.onProgress?.(new CustomProgressEvent('shoal:discovery:done', {
        found, lookups: search.lookups, messages: search.messages, fetches: search.fetches, rejected: search.rejected, skipped: search.skipped, lastPrecision: search.lastPrecision
      }))
      finished = true
    }
  }

  /**
   * Ask `peer` for its current record over `/shoal/capability/1.0.0` and
   * verify it: signature, values and time (by @shoal/records), and that
   * it is `peer`'s own record. Throws a RecordError, NoRecordError or
   * WrongProviderError.
   */
  async fetchRecord (peer: PeerId | PeerInfo, options: AbortOptions = {}): Promise<SignedRecord<CapabilityRecord>> {
    const id = isPeerId(peer) ? peer : peer.id
    const signal = AbortSignal.any(options.signal == null ? [AbortSignal.timeout(this.fetchTimeout)] : [AbortSignal.timeout(this.fetchTimeout), options.signal])
    setMaxListeners(Infinity, signal)
    this.stats.fetches++
    // dial first, so the stream alone times one round trip
    await this.connect(peer, signal)
    const opened = performance.now()
    const stream = await this.components.connectionManager.openStream(id, CAPABILITY_PROTOCOL, { signal })
    let bytes: Uint8Array
    let streamMs: number
    try {
      const lp = lpStream(stream, { maxDataLength: CapabilityRecordType.maxSize })
      bytes = (await lp.read({ signal })).subarray()
      streamMs = performance.now() - opened
      await stream.close({ signal }).catch(() => {})
    } catch (err: any) {
      stream.abort(err)
      if (err?.name === 'UnexpectedEOFError') {
        throw new NoRecordError(`${id} answered without a record`)
      }
      if (err?.name === 'InvalidDataLengthError' || err?.name === 'InvalidDataLengthLengthError') {
        throw new RecordTooLargeError(`${id} sent more than ${CapabilityRecordType.maxSize} bytes`)
      }
      throw err
    }
    const record = await openRecord(CapabilityRecordType, bytes, { now: this.now, signal })
    if (!record.signer.equals(id)) {
      throw new WrongProviderError(`${id} served the record of ${record.signer}`)
    }
    this.measured.set(record, streamMs)
    return record
  }

  /** Dial `peer` unless a connection is open: at the addresses of its provider entry if it has some. */
  private async connect (peer: PeerId | PeerInfo, signal: AbortSignal): Promise<void> {
    const id = isPeerId(peer) ? peer : peer.id
    if (this.components.connectionManager.getConnections(id).length > 0) {
      return
    }
    const target = !isPeerId(peer) && peer.multiaddrs.length > 0
      ? peer.multiaddrs.map(ma => ma.toString().includes('/p2p/') ? ma : ma.encapsulate(`/p2p/${id.toString()}`))
      : id
    await this.components.connectionManager.openConnection(target, { signal })
  }

  private requireDht (): KadDHT {
    if (!this.started || this.dht == null) {
      throw new NotStartedError()
    }
    return this.dht
  }

  private async serialize<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    return run
  }

  private async sign (offer: Offer): Promise<SignedRecord<CapabilityRecord>> {
    if (!isValidGeohash(offer.geohash)) {
      throw new InvalidQueryError('offer.geohash must be a geohash')
    }
    const now = this.now()
    const seq = Math.max(this.lastSeq + 1, now)
    const concurrency = offer.concurrency ?? 1
    const addrs = (offer.addrs ?? this.components.addressManager.getAddresses())
      .map(ma => ma.bytes)
      .filter(b => b.byteLength > 0 && b.byteLength <= MAX_ADDR_LENGTH)
      .slice(0, MAX_ADDRS)
    const value: CapabilityRecord = {
      version: RECORD_VERSION,
      provider: this.components.peerId.toMultihash().bytes,
      seq,
      gpus: offer.gpus ?? [],
      sensors: offer.sensors ?? [],
      geohash: offer.geohash,
      coordinate: offer.coordinate,
      price: offer.price,
      concurrency,
      freeSlots: offer.freeSlots ?? concurrency,
      addrs,
      createdMs: now,
      expiresMs: now + this.recordTtl
    }
    const record = await signRecord(CapabilityRecordType, value, this.components.privateKey)
    this.lastSeq = seq
    this.record = record
    this.scheduleRefresh()
    this.safeDispatchEvent('record:signed', { detail: record })
    return record
  }

  private scheduleRefresh (): void {
    clearTimeout(this.refreshTimer)
    this.refreshTimer = setTimeout(() => {
      const offer = this.offer
      if (!this.started || offer == null) {
        return
      }
      this.serialize(async () => {
        if (this.offer !== offer) {
          return
        }
        const record = await this.sign(offer)
        const result = await this.syncKeys(record, { signal: this.shutdown.signal })
        this.log('refreshed record seq %d, %d keys re-provided', record.value.seq, result.provided.length)
      }).catch(err => {
        this.log.error('refresh failed - %e', err)
        this.scheduleRefresh()
      })
    }, Math.max(1, Math.floor(this.recordTtl * this.refreshFraction)))
    this.refreshTimer.unref?.()
  }

  /** Provide the keys of `record` not yet advertised; cancel those it no longer has. */
  private async syncKeys (record: SignedRecord<CapabilityRecord>, options: AbortOptions): Promise<AdvertiseResult> {
    const dht = this.requireDht()
    const keys = advertisementKeys(record.value, this.precisions)
    const wanted = new Set(keys.map(k => k.text))

    for (const [text, key] of this.advertised) {
      if (!wanted.has(text)) {
        this.advertised.delete(text)
        await dht.cancelReprovide(key.cid, options).catch(err => { this.log('could not cancel reprovide of %s - %e', text, err) })
      }
    }

    const todo = keys.filter(k => !this.advertised.has(k.text))
    const failed: AdvertisedKey[] = []
    let messages = 0
    const slots = new Queue<void, AbortOptions>({ concurrency: this.provideConcurrency })

    await Promise.all(todo.map(async key => slots.add(async () => {
      const signal = AbortSignal.any(options.signal == null ? [AbortSignal.timeout(this.provideTimeout)] : [AbortSignal.timeout(this.provideTimeout), options.signal])
      setMaxListeners(Infinity, signal)
      let stored = 0
      this.stats.provides++
      try {
        for await (const event of dht.provide(key.cid, { signal })) {
          if (event.name === 'SEND_QUERY') {
            messages++
            this.stats.provideMessages++
          } else if (event.name === 'PEER_RESPONSE' && event.messageName === 'ADD_PROVIDER') {
            stored++
          }
        }
      } catch (err) {
        this.log('provide of %s failed - %e', key.text, err)
      }
      if (stored > 0) {
        this.advertised.set(key.text, key)
      } else {
        failed.push(key)
      }
    }, { signal: options.signal }).catch(() => {
      // aborted while queued
      if (!failed.includes(key)) {
        failed.push(key)
      }
    })))

    this.log('advertised %s under %d keys (%d provided now, %d failed, %d messages)', record.value.seq, keys.length, todo.length - failed.length, failed.length, messages)
    return { record, keys, provided: todo.filter(k => !failed.includes(k)), failed, messages }
  }

  /** The finest level (index) a provider was listed at. */
  private levelOf (held: HeldResult, search: SearchState): number {
    const listed = search.listings.get(held.result.peerId.toString()) ?? []
    return listed.reduce((min, l) => Math.min(min, l.level), held.level)
  }

  /** Whether `a` should come before `b` when both may be yielded. */
  private before (a: HeldResult, b: HeldResult, query: NearbyQuery, search: SearchState): boolean {
    if (search.confirm != null) {
      // measured first, by measurement; the others after, by estimate
      const ma = a.probe === 'measured'
      const mb = b.probe === 'measured'
      if (ma !== mb) {
        return ma
      }
      const ra = ma ? this.confirmedRtt(a.result, search) : this.rankRtt(a.result)
      const rb = mb ? this.confirmedRtt(b.result, search) : this.rankRtt(b.result)
      if (ra !== rb) {
        return ra < rb
      }
    } else if (query.coordinate != null) {
      const ea = this.rankRtt(a.result)
      const eb = this.rankRtt(b.result)
      if (ea !== eb) {
        return ea < eb
      }
    }
    const la = this.levelOf(a, search)
    const lb = this.levelOf(b, search)
    return la !== lb ? la < lb : a.order < b.order
  }

  /**
   * When `held` may be yielded (performance.now() time; Infinity: not until
   * something else changes). Only lookups and candidates at its level or
   * finer hold it back: levels come finest first, as the issue asks.
   */
  private readyAt (held: HeldResult, search: SearchState, query: NearbyQuery, now: number): number {
    const level = this.levelOf(held, search)
    if (query.coordinate == null) {
      for (const [cell, pending] of search.pendingCells) {
        if (pending.level < level && !this.covered(cell, search)) {
          return Infinity
        }
      }
      for (const running of search.running.values()) {
        if (running.level < level) {
          return Infinity
        }
      }
      return now
    }
    let rtt = this.rankRtt(held.result)
    let at = now
    if (search.confirm != null) {
      if (held.probe === 'running') {
        return Infinity
      }
      if (held.probe === 'measured') {
        rtt = this.confirmedRtt(held.result, search)
        for (const other of search.held) {
          if (other === held || other.probe !== 'running') {
            continue
          }
          // a sample of it already below: it comes first
          if ((other.bound ?? Infinity) < rtt) {
            return Infinity
          }
          // an estimate not plausibly below: it will not beat it
          if ((other.result.estimatedRttMs ?? 0) >= CONFIRM_ESTIMATE_SLACK * rtt) {
            continue
          }
          // its last round out for longer than `rtt` will not come back below it
          if (other.lastRoundAt == null || !Number.isFinite(rtt)) {
            return Infinity
          }
          at = Math.max(at, other.lastRoundAt + rtt)
        }
      } else {
        // unmeasured results come after every measured one
        if (search.held.some(other => other.probe === 'running')) {
          return Infinity
        }
      }
    }
    const overhead = this.fetchOverhead(search)
    for (const [cell, pending] of search.pendingCells) {
      if (pending.level <= level && pending.floor < rtt && !this.covered(cell, search)) {
        return Infinity
      }
    }
    for (const running of search.running.values()) {
      if (running.level > level || running.floor >= rtt) {
        continue
      }
      if (running.startedAt == null || !Number.isFinite(rtt)) {
        return Infinity
      }
      at = Math.max(at, running.startedAt + rtt * (running.roundTrips ?? FETCH_ROUND_TRIPS) + overhead)
    }
    return at
  }

  /** The RTT a result is ranked by. */
  private rankRtt (result: NearbyProvider): number {
    return result.estimatedRttMs ?? Infinity
  }

  /**
   * The RTT a measured result is ranked by: its measurement `m`, except that
   * the part of `m` above `trustRatio` x its estimate counts only beyond the
   * largest event-loop lag `L` this search has seen (what the requester's
   * own CPU may have added to the sample): `max(min(m, trustRatio x e),
   * m - L)`. On a calm loop that is `m`.
   */
  private confirmedRtt (result: NearbyProvider, search: SearchState): number {
    const measured = result.measuredRttMs ?? Infinity
    const plausible = Math.min(measured, (search.confirm?.trustRatio ?? Infinity) * (result.estimatedRttMs ?? Infinity))
    return Math.max(plausible, measured - (search.lag?.max ?? 0))
  }

  /**
   * What a fetch takes beyond its round trips here and now: the upper
   * quartile of the completed fetches' excess (0 before any completed).
   */
  private fetchOverhead (search: SearchState): number {
    if (search.overheads.length === 0) {
      return 0
    }
    const sorted = [...search.overheads].sort((a, b) => a - b)
    return sorted[Math.floor((sorted.length - 1) * 0.75)]
  }

  /** Whether a holder listed a cell containing `cell` completely. */
  private covered (cell: string, search: SearchState): boolean {
    for (const c of search.complete) {
      if (cell.startsWith(c)) {
        return true
      }
    }
    return false
  }

  /** The finest level a provider listed under `cell` (a cell of level `index`) may be at. */
  private possibleLevel (cell: string, index: number, levels: SearchLevel[]): number {
    for (let j = 0; j < index; j++) {
      if (levels[j].cells.some(c => c.startsWith(cell))) {
        return j
      }
    }
    return index
  }

  /** The finest level one of whose cells holds the record's (signed) location. */
  private recordLevel (record: CapabilityRecord, levels: SearchLevel[], fallback: number): number {
    for (let j = 0; j < fallback; j++) {
      const p = levels[j].precision
      if (p > 0 && record.geohash.length >= p && levels[j].cells.includes(record.geohash.slice(0, p))) {
        return j
      }
    }
    return fallback
  }

  /** The finest cell that listed the provider and that its record lies in. */
  private finestListing (held: HeldResult, search: SearchState, capabilityClass: string): FoundUnder {
    const listed = [...(search.listings.get(held.result.peerId.toString()) ?? [])].sort((a, b) => a.level - b.level)
    for (const { found } of listed) {
      try {
        checkAdvertisement(held.result.record.value, capabilityClass, found.cell)
        return found
      } catch {
        // listed under a cell it is not in: not a place it was found
      }
    }
    return held.result.found
  }

  /** Look up one cell and examine (fetch, verify, match) the providers it lists, within the caps. */
  private async lookupCell (level: SearchLevel, index: number, cell: string, capabilityClass: string, query: NearbyQuery, search: SearchState, signal: AbortSignal): Promise<void> {
    if (signal.aborted || search.fetches >= search.maxFetches) {
      return
    }
    // k verified results from finer levels already: as when levels ran one
    // after another, a coarser level is not searched (saves its DHT lookups)
    const finer = search.yielded.filter(l => l < index).length + search.held.filter(h => this.levelOf(h, search) < index).length
    if (finer >= search.k) {
      return
    }
    // inside a cell listed completely: nothing new to find (see markComplete)
    const pending = search.pendingCells.get(cell)
    if (pending == null || pending.covered.signal.aborted) {
      return
    }
    const dht = this.requireDht()
    const lookupSignal = AbortSignal.any([signal, pending.covered.signal, AbortSignal.timeout(this.lookupTimeout)])
    setMaxListeners(Infinity, lookupSignal)
    const found: FoundUnder = { capabilityClass, cell, precision: level.precision, home: cell === level.cells[0] && level.precision > 0 }
    const floor = pending.floor
    const possible = this.possibleLevel(cell, index, search.levels)
    // precision of the listing: among candidates at the same RTT floor, fetch the better located first
    const priority = -Math.round(floor) * 100 + level.precision
    let entries = 0
    let examined = 0
    let capped = false
    /** holders whose whole answer fit under the caps */
    const holders = new Set<string>()
    let ended = false
    search.lookups++
    search.lastPrecision = search.lastPrecision < 0 ? level.precision : Math.min(search.lastPrecision, level.precision)
    this.stats.lookups++

    try {
      for await (const event of dht.findProviders(capabilityKey(capabilityClass, cell), { signal: lookupSignal })) {
        if (event.name === 'SEND_QUERY') {
          search.messages++
          this.stats.lookupMessages++
          continue
        }
        if (event.name === 'PEER_RESPONSE' && event.providers.length > 0) {
          // a holder's answer is all it has: if nothing of it is left
          // unexamined (its PROVIDER event follows), the cell is listed
          if (event.providers.length >= this.maxEntriesPerCell) {
            capped = true
          } else {
            holders.add(event.from.toString())
          }
          // a further holder listing nobody new gets no PROVIDER event
          if (event.providers.every(p => search.seen.has(p.id.toString()) || this.isDenied(p.id.toString()))) {
            this.markComplete(cell, holders, capped, ended, search)
          }
          continue
        }
        if (event.name !== 'PROVIDER') {
          this.markComplete(cell, holders, capped, ended, search)
          continue
        }
        // a crowded cell is sampled at random (an attacker cannot sort
        // itself first), with providers we already trust ahead of the rest
        const batch = this.shuffle(event.providers.slice(0, Math.max(0, this.maxEntriesPerCell - entries)))
        if (batch.length < event.providers.length) {
          capped = true
        }
        entries += batch.length
        batch.sort((a, b) => Number(this.cached(b.id) != null) - Number(this.cached(a.id) != null))

        for (const info of batch) {
          const id = info.id.toString()
          if (search.seen.has(id)) {
            // already claimed by another cell (maybe a coarser one, whose
            // lookup answered first): remember the finer place it is listed
            const listed = search.listings.get(id)
            if (listed != null && !listed.some(l => l.found.cell === cell)) {
              listed.push({ found, level: index })
              const running = search.running.get(id)
              if (running != null) {
                running.level = Math.min(running.level, possible)
                running.floor = Math.max(running.floor, floor)
              }
            }
            continue
          }
          if (this.isDenied(id)) {
            search.skipped++
            continue
          }
          if (examined >= this.maxCandidatesPerCell) {
            search.skipped++
            capped = true
            continue
          }
          search.seen.add(id)
          search.listings.set(id, [{ found, level: index }])
          search.running.set(id, { level: possible, floor })
          examined++
          void search.fetchSlots.add(async () => this.examine(info, found, index, query, search, signal), { priority, signal })
            .catch(err => { if (!signal.aborted) this.log('examining %p failed - %e', info.id, err) })
            .finally(() => {
              search.running.delete(id)
              search.wake()
            })
        }
        this.markComplete(cell, holders, capped, ended, search)
        if (entries >= this.maxEntriesPerCell || examined >= this.maxCandidatesPerCell) {
          break
        }
      }
      // the DHT has nothing more for this cell (and not because the caps cut it short)
      ended = entries < this.maxEntriesPerCell && examined < this.maxCandidatesPerCell
    } catch (err: any) {
      if (!signal.aborted && !pending.covered.signal.aborted) {
        this.log('lookup of %s/%s ended - %e', capabilityClass, cell, err)
      }
    }
    this.markComplete(cell, holders, capped, ended, search)
    search.onProgress?.(new CustomProgressEvent('shoal:discovery:lookup', { cell, precision: level.precision, entries, examined }))
  }

  /**
   * Note what a cell's listing says so far. Complete (a holder answered
   * under the caps and every entry is examined): a finer cell's lookup no
   * longer holds results back. Covering (complete, and either
   * `COMPLETE_LISTING_QUORUM` holders answered so or the cell's own lookup
   * has ended): the lookups of the cells inside it end, as each would run
   * to convergence, many DHT requests, to find no provider not already
   * examined. One holder alone does not end them while others may still
   * answer: a stale or lying holder's short list cannot hide the providers
   * the finer cells list (kad-dht itself stops a lookup once it has
   * `kBucketSize` providers, from however few holders).
   */
  private markComplete (cell: string, holders: Set<string>, capped: boolean, ended: boolean, search: SearchState): void {
    if (capped || holders.size === 0) {
      return
    }
    if (!search.complete.has(cell)) {
      search.complete.add(cell)
      search.wake()
    }
    if (ended || holders.size >= COMPLETE_LISTING_QUORUM) {
      for (const [other, pending] of search.pendingCells) {
        if (other !== cell && other.startsWith(cell)) {
          pending.covered.abort()
        }
      }
    }
  }

  private async examine (info: PeerInfo, found: FoundUnder, level: number, query: NearbyQuery, search: SearchState, signal: AbortSignal): Promise<void> {
    if (signal.aborted) {
      return
    }
    const id = info.id.toString()
    let record = this.cached(info.id)
    let fetchMs = 0
    // with confirmation, the ping stream is opened beside the record's (see openPing)
    const pingProtocol = search.confirm != null ? this.pingProtocol() : undefined
    let pinger: Promise<OpenedPing> | undefined
    let confirming = false

    try {
      if (record == null) {
        if (search.fetches >= search.maxFetches) {
          search.skipped++
          search.seen.delete(id)
          // a listing with someone left unexamined is no longer complete
          search.complete.clear()
          return
        }
        search.fetches++
        const start = performance.now()
        // over a connection already open, a fetch is one round trip (the stream's), not a cold dial's
        const connected = this.components.connectionManager.getConnections(info.id).length > 0
        const roundTrips = connected ? 1 : FETCH_ROUND_TRIPS
        const running = search.running.get(id)
        if (running != null) {
          running.startedAt = start
          running.roundTrips = roundTrips
        }
        if (pingProtocol != null) {
          // the ping stream is negotiated beside the record's stream, on the same connection
          if (!connected) {
            await this.connect(info, this.probeSignal(signal))
          }
          pinger = this.openPing(info.id, pingProtocol, signal)
        }
        record = await this.fetchRecord(info, { signal })
        fetchMs = performance.now() - start
        this.remember(record)
        const estimate = estimateRtt(query.coordinate, record.value.coordinate)
        if (estimate != null) {
          search.overheads.push(Math.max(0, fetchMs - estimate * roundTrips))
        }
      }
      checkAdvertisement(record.value, found.capabilityClass, found.cell)
    } catch (err: any) {
      this.releasePing(pinger)
      if (isAbort(err, signal)) {
        return
      }
      search.rejected++
      if (err.name === 'AdvertisementMismatchError') {
        // the record is genuine and stays cached: it may fit another key (a provider that moved)
        this.stats.rejected++
      } else {
        this.reject(info.id, err)
      }
      search.onProgress?.(new CustomProgressEvent('shoal:discovery:rejected', { peerId: info.id, cell: found.cell, error: err }))
      return
    }

    try {
      const match = matchRecord(query, record.value)
      if (!match.matches) {
        search.onProgress?.(new CustomProgressEvent('shoal:discovery:unmatched', { peerId: info.id, reason: match.reason }))
        return
      }
      if (signal.aborted) {
        return
      }
      const estimatedRttMs = estimateRtt(query.coordinate, record.value.coordinate)
      const held: HeldResult = {
        level: this.recordLevel(record.value, search.levels, level),
        order: search.arrivals++,
        result: {
          peerId: info.id,
          record,
          multiaddrs: this.addressesOf(record, info),
          found,
          reasons: match.reasons,
          estimatedRttMs,
          measuredRttMs: search.confirm == null && fetchMs > 0 ? this.measured.get(record) : undefined,
          fetchMs
        }
      }
      search.held.push(held)
      if (search.confirm != null) {
        // among the best `candidates` by estimate of all verified so far: measure it
        const estimate = estimatedRttMs ?? Infinity
        const rank = search.estimates.filter(e => e < estimate).length
        search.estimates.push(estimate)
        if (rank < search.confirm.candidates) {
          confirming = true
          this.confirmResult(held, search, signal, pinger, fetchMs > 0 ? this.measured.get(record) : undefined)
        }
      }
    } finally {
      if (!confirming) {
        this.releasePing(pinger)
      }
    }
  }

  /**
   * Probe a verified result in the background; the search waits for it
   * where it could change the order. The record's own stream time (`sample`)
   * and the ping stream's opening (one round trip each, plus processing)
   * count as samples too.
   */
  private confirmResult (held: HeldResult, search: SearchState, signal: AbortSignal, opened?: Promise<OpenedPing>, sample?: number): void {
    held.probe = 'running'
    held.bound = sample
    const probes = search.confirm?.probes ?? DEFAULT_CONFIRM_PROBES
    const peer = held.result.peerId
    // without a stream opened beside the fetch (a cached record, or opening it failed): a stream of its own
    const measure = (opened ?? Promise.reject(new Error('no ping stream'))).then(
      async ({ stream, openMs }) => {
        held.bound = Math.min(held.bound ?? Infinity, openMs)
        search.wake()
        // after the `probes` rounds the result is measured; rounds beyond refine it while the search
        // still waits for something else, and never hold anything back
        let rounds = 0
        return Math.min(openMs, await this.pingOn(stream, peer, probes + CONFIRM_REFINE_ROUNDS, this.probeSignal(signal), (startedAt, rtt) => {
          if (rtt == null) {
            if (rounds === probes - 1) {
              held.lastRoundAt = startedAt
            }
            return
          }
          rounds++
          held.bound = Math.min(held.bound ?? Infinity, rtt)
          if (rounds >= probes) {
            this.noteMeasured(held, held.bound, search)
          }
          search.wake()
        }, () => search.held.includes(held)))
      },
      async () => this.measureRtt(peer, { probes, signal })
    )
    void measure
      .then(rtt => {
        this.noteMeasured(held, Math.min(rtt, sample ?? Infinity), search)
      }, err => {
        if (held.probe === 'measured') {
          // a refining round failed: the rounds before count
          return
        }
        held.probe = 'failed'
        if (!isAbort(err, signal)) {
          this.log('could not measure %p - %e', held.result.peerId, err)
        }
      })
      .finally(() => { search.wake() })
  }

  /** Keep a candidate's lowest measured RTT, and report it when it is new or lower. */
  private noteMeasured (held: HeldResult, rtt: number, search: SearchState): void {
    const before = held.probe === 'measured' ? held.result.measuredRttMs ?? Infinity : Infinity
    held.probe = 'measured'
    if (rtt < before) {
      held.result.measuredRttMs = rtt
      search.onProgress?.(new CustomProgressEvent('shoal:discovery:measured', { peerId: held.result.peerId, rttMs: rtt, estimatedRttMs: held.result.estimatedRttMs }))
    }
  }

  /**
   * Measure the RTT to `peer`, ms: the minimum of `probes` sequential
   * probes (libp2p ping rounds on one stream, whose opening counts as a
   * sample too, if the node has ping; else capability requests), over an
   * existing connection if there is one. Throws if every probe fails.
   */
  async measureRtt (peer: PeerId, options: AbortOptions & { probes?: number } = {}): Promise<number> {
    const probes = Math.max(1, options.probes ?? DEFAULT_CONFIRM_PROBES)
    const protocol = this.pingProtocol()
    const signal = AbortSignal.any(options.signal == null ? [AbortSignal.timeout(this.fetchTimeout)] : [AbortSignal.timeout(this.fetchTimeout), options.signal])
    setMaxListeners(Infinity, signal)
    if (protocol != null) {
      return this.pingRounds(peer, protocol, probes, signal)
    }
    // no ping service: time capability requests, one after another
    let best = Infinity
    for (let i = 0; i < probes; i++) {
      const record = await this.fetchRecord(peer, { signal })
      best = Math.min(best, this.measured.get(record) ?? Infinity)
    }
    if (!Number.isFinite(best)) {
      throw new Error(`could not measure ${peer}`)
    }
    return best
  }

  /**
   * `probes` rounds of the ping protocol on ONE stream (the protocol allows
   * repeated payloads on a stream, and a dialer keeps at most one ping stream
   * per peer), each timed from send to echo: 1 + probes round trips in all,
   * not 2 per probe as separate `ping()` calls would cost. The opening (its
   * protocol negotiation is a round trip) is a sample too. Returns the
   * minimum, since CPU delays only ever add.
   */
  private async pingRounds (peer: PeerId, protocol: string, probes: number, signal: AbortSignal): Promise<number> {
    const start = performance.now()
    const stream = await this.components.connectionManager.openStream(peer, protocol, { signal })
    const openMs = performance.now() - start
    return Math.min(openMs, await this.pingOn(stream, peer, probes, signal))
  }

  /**
   * Up to `probes` ping rounds on an open ping stream, which is closed after;
   * after the first, only while `more()` says so. `onRound` hears when each
   * round is sent (`rtt` undefined) and its RTT.
   */
  private async pingOn (stream: Stream, peer: PeerId, probes: number, signal: AbortSignal, onRound?: (startedAt: number, rtt?: number) => void, more?: () => boolean): Promise<number> {
    try {
      const bytes = byteStream(stream)
      let best = Infinity
      for (let i = 0; i < probes && (i === 0 || more?.() !== false); i++) {
        const data = randomBytes(PING_LENGTH)
        const start = performance.now()
        await bytes.write(data, { signal })
        onRound?.(start)
        const echo = await bytes.read({ bytes: PING_LENGTH, signal })
        const rtt = performance.now() - start
        if (!uint8ArrayEquals(echo.subarray(), data)) {
          throw new Error(`wrong ping echo from ${peer}`)
        }
        best = Math.min(best, rtt)
        onRound?.(start, rtt)
      }
      // close hands our end to the muxer; the measurement does not wait for it
      stream.close().catch(err => { stream.abort(err) })
      return best
    } catch (err: any) {
      stream.abort(err)
      throw err
    }
  }

  /** The protocol id of the node's ping service, undefined without one. */
  private pingProtocol (): string | undefined {
    const ping = (this.components as unknown as Record<string, unknown>)[this.pingService] as { protocol?: unknown } | undefined
    if (ping == null) {
      return undefined
    }
    return typeof ping.protocol === 'string' ? ping.protocol : PING_PROTOCOL
  }

  /** The search's signal, bounded by `fetchTimeout`, for one measurement. */
  private probeSignal (signal: AbortSignal): AbortSignal {
    const out = AbortSignal.any([AbortSignal.timeout(this.fetchTimeout), signal])
    setMaxListeners(Infinity, out)
    return out
  }

  /**
   * Open a ping stream on the connection a record fetch just opened, beside
   * the record's stream: its protocol negotiation (a round trip, timed as a
   * first sample) runs while the record is read and verified, so a
   * confirmation costs only its ping rounds once the record is in. This
   * libp2p negotiates a stream's protocol before returning it
   * (`negotiateFully: false` is not honoured), so overlapping is how to
   * spare that round trip.
   */
  private openPing (peer: PeerId, protocol: string, signal: AbortSignal): Promise<OpenedPing> {
    const start = performance.now()
    const opened = this.components.connectionManager.openStream(peer, protocol, { signal: this.probeSignal(signal) })
      .then(stream => ({ stream, openMs: performance.now() - start }))
    // whoever uses it handles a failure; it may also be dropped unused when the search ends
    opened.catch(() => {})
    return opened
  }

  /** Close a ping stream opened for a candidate that is not measured after all. */
  private releasePing (opened?: Promise<OpenedPing>): void {
    opened?.then(({ stream }) => {
      stream.close().catch(err => { stream.abort(err) })
    }, () => {})
  }

  private announce (result: NearbyProvider): void {
    this.safeDispatchEvent('provider:found', { detail: result })
    this.safeDispatchEvent('peer', { detail: { id: result.peerId, multiaddrs: result.multiaddrs } })
  }

  private addressesOf (record: SignedRecord<CapabilityRecord>, info: PeerInfo): Multiaddr[] {
    const out = new Map<string, Multiaddr>()
    for (const bytes of record.value.addrs) {
      try {
        const ma = multiaddr(bytes)
        out.set(ma.toString(), ma)
      } catch {
        // an address we cannot parse is the provider's loss, not an error
      }
    }
    for (const ma of info.multiaddrs) {
      out.set(ma.toString(), ma)
    }
    return [...out.values()]
  }

  private cached (peer: PeerId): SignedRecord<CapabilityRecord> | undefined {
    const entry = this.cache.get(peer.toString())
    if (entry == null) {
      return undefined
    }
    const now = this.now()
    if (now - entry.fetchedAt > this.recordCacheTtl || entry.record.value.expiresMs <= now) {
      this.cache.delete(peer.toString())
      return undefined
    }
    return entry.record
  }

  private remember (record: SignedRecord<CapabilityRecord>): void {
    const id = record.signer.toString()
    this.cache.delete(id)
    this.cache.set(id, { record, fetchedAt: this.now() })
    while (this.cache.size > this.recordCacheSize) {
      this.cache.delete(this.cache.keys().next().value as string)
    }
  }

  private isDenied (id: string): boolean {
    const until = this.denied.get(id)
    if (until == null) {
      return false
    }
    if (until <= this.now()) {
      this.denied.delete(id)
      return false
    }
    return true
  }

  /** Skip a peer for a while: long for a bad record, short for a peer that may just be away. */
  private reject (peer: PeerId, err: Error): void {
    const id = peer.toString()
    const bad = err instanceof RecordError || err.name === 'WrongProviderError'
    this.denied.delete(id)
    this.denied.set(id, this.now() + (bad ? this.denyTtl : this.skipTtl))
    while (this.denied.size > this.denySize) {
      this.denied.delete(this.denied.keys().next().value as string)
    }
    this.cache.delete(id)
    this.stats.rejected++
    this.log('rejected %p - %s: %s', peer, err.name, err.message)
    this.safeDispatchEvent('record:rejected', { detail: { peerId: peer, error: err } })
  }

  private shuffle<T> (items: T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1))
      const t = out[i]
      out[i] = out[j]
      out[j] = t
    }
    return out
  }

  private scheduleWatch (delay: number): void {
    const watch = this.watch
    if (watch == null || !this.started) {
      return
    }
    this.watchTimer = setTimeout(() => {
      void (async () => {
        try {
          for await (const result of this.findNearby(watch.query, { k: watch.k, signal: this.shutdown.signal })) {
            this.log.trace('watch found %p', result.peerId)
          }
        } catch (err) {
          this.log('watch search failed - %e', err)
        }
        this.scheduleWatch(watch.interval ?? 5 * 60_000)
      })()
    }, delay)
    this.watchTimer.unref?.()
  }

  private async handleRequest (stream: Stream, connection: Connection): Promise<void> {
    const record = this.record
    const signal = AbortSignal.timeout(this.fetchTimeout)
    setMaxListeners(Infinity, signal)
    try {
      if (record != null) {
        const lp = lpStream(stream)
        await lp.write(record.bytes, { signal })
        this.stats.served++
      }
      await stream.close({ signal })
    } catch (err: any) {
      this.log('could not serve record to %p - %e', connection.remotePeer, err)
      stream.abort(err)
    }
  }
}
