/**
 * The discovery service, a shell over its roles: the advertiser
 * (advertiser.ts) signs and provides our record, the capability protocol
 * (capability-protocol.ts) serves it and fetches others', and each
 * `findNearby` is one search (search.ts, ranked by ranking.ts) that
 * measures its nearest candidates with the RTT probe (rtt-probe.ts).
 */

import { peerDiscoverySymbol, serviceCapabilities, serviceDependencies, setMaxListeners } from '@libp2p/interface'
import { MAX_CAPABILITY_TTL_MS, RecordError } from '@shoal/records'
import { optionalService } from '@shoal/utils'
import { TypedEventEmitter } from 'main-event'
import { Advertiser } from './advertiser.js'
import { CapabilityProtocol } from './capability-protocol.js'
import {
  CONFIRM_CANDIDATES_PER_RESULT, CONFIRM_PROBES, CONFIRM_TRUST_RATIO, DENY_SIZE,
  DENY_TTL_MS, FETCH_CONCURRENCY, FETCH_TIMEOUT_MS, SEARCH_RESULTS,
  LOOKUP_CONCURRENCY, LOOKUP_TIMEOUT_MS, MAX_CANDIDATES_PER_CELL, MAX_ENTRIES_PER_CELL,
  MAX_FETCHES_PER_QUERY, PRECISIONS, PROVIDE_CONCURRENCY,
  PROVIDE_TIMEOUT_MS, RECORD_CACHE_SIZE, RECORD_CACHE_TTL_MS, RECORD_TTL_MS,
  REFRESH_FRACTION, SKIP_TTL_MS, WATCH_INTERVAL_MS, LOOP_LAG_PERIOD_MS, MAX_INBOUND_STREAMS, MAX_OUTBOUND_STREAMS,
  PING_PROTOCOL, NEWCOMER_CANDIDATES_FACTOR, NEWCOMER_SHARE, ADDRESS_CHANGE_DEBOUNCE_MS
} from './constants.js'
import { InvalidQueryError, MissingDhtError, NotStartedError } from './errors.js'
import { MAX_GEOHASH_PRECISION } from './geohash.js'
import { searchLevels } from './keys.js'
import { LoopLag } from './loop-lag.js'
import { queryClass } from './match.js'
import { DenyList, RecordCache } from './record-cache.js'
import { RttProbe } from './rtt-probe.js'
import { Search } from './search.js'
import { positiveInt, timeoutSignal } from './utils.js'
import type {
  AdvertiseResult, ConfirmOptions, DiscoveryComponents, DiscoveryEvents, DiscoveryInit, DiscoveryStats,
  FindNearbyOptions, NearbyProvider, Offer
} from './index.js'
import type { AdvertisedKey } from './keys.js'
import type { NearbyQuery } from './match.js'
import type { SearchContext, SearchParams } from './search-state.js'
import type { AbortOptions, Logger, PeerDiscovery, PeerId, PeerInfo, Startable } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { CapabilityRecord, SignedRecord } from '@shoal/records'

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
  private readonly precisions: number[]
  private readonly searchWorld: boolean
  private readonly maxCandidatesPerCell: number
  private readonly maxEntriesPerCell: number
  private readonly maxFetchesPerQuery: number
  private readonly lookupConcurrency: number
  private readonly fetchConcurrency: number
  private readonly lookupTimeoutMs: number
  private readonly fetchTimeoutMs: number
  private readonly denyTtlMs: number
  private readonly skipTtlMs: number
  private readonly confirm: ConfirmOptions
  private readonly watch?: { query: NearbyQuery, k?: number, intervalMs?: number }
  private readonly random: () => number
  private readonly standing?: (peer: PeerId) => number
  private readonly newcomerShare: number
  private readonly advertiser: Advertiser
  private readonly protocol: CapabilityProtocol
  private readonly probe: RttProbe
  private readonly cache: RecordCache
  private readonly denied: DenyList
  /** how late timers run while searches measure (see ranking.ts `confirmedRtt`) */
  private readonly loopLag = new LoopLag(LOOP_LAG_PERIOD_MS)

  private started = false
  private dht?: KadDHT
  private watchTimer?: ReturnType<typeof setTimeout>
  private shutdown = new AbortController()

  constructor (components: DiscoveryComponents, init: DiscoveryInit = {}) {
    super()
    this.components = components
    this.log = components.logger.forComponent('shoal:discovery')
    this.precisions = [...new Set(init.precisions ?? PRECISIONS)].sort((a, b) => b - a)
    if (this.precisions.length === 0 || this.precisions.some(p => !Number.isInteger(p) || p < 0 || p > MAX_GEOHASH_PRECISION)) {
      throw new InvalidQueryError(`precisions must be integers in 0..${MAX_GEOHASH_PRECISION}`)
    }
    this.searchWorld = init.searchWorld ?? true
    this.maxCandidatesPerCell = init.maxCandidatesPerCell ?? MAX_CANDIDATES_PER_CELL
    this.maxEntriesPerCell = init.maxEntriesPerCell ?? MAX_ENTRIES_PER_CELL
    this.maxFetchesPerQuery = init.maxFetchesPerQuery ?? MAX_FETCHES_PER_QUERY
    this.lookupConcurrency = init.lookupConcurrency ?? LOOKUP_CONCURRENCY
    this.fetchConcurrency = init.fetchConcurrency ?? FETCH_CONCURRENCY
    this.lookupTimeoutMs = init.lookupTimeoutMs ?? LOOKUP_TIMEOUT_MS
    this.fetchTimeoutMs = init.fetchTimeoutMs ?? FETCH_TIMEOUT_MS
    this.denyTtlMs = init.denyTtlMs ?? DENY_TTL_MS
    this.skipTtlMs = init.skipTtlMs ?? SKIP_TTL_MS
    this.confirm = init.confirm ?? {}
    this.watch = init.watch
    this.random = init.random ?? Math.random
    this.standing = init.standing
    this.newcomerShare = init.newcomerShare ?? NEWCOMER_SHARE
    if (Number.isNaN(this.newcomerShare) || this.newcomerShare < 0 || this.newcomerShare > 1) {
      throw new InvalidQueryError('newcomerShare must be in 0..1')
    }
    const now = init.now ?? Date.now
    this.advertiser = new Advertiser(components, {
      precisions: this.precisions,
      recordTtlMs: Math.min(init.recordTtlMs ?? RECORD_TTL_MS, MAX_CAPABILITY_TTL_MS),
      refreshFraction: init.refreshFraction ?? REFRESH_FRACTION,
      provideConcurrency: init.provideConcurrency ?? PROVIDE_CONCURRENCY,
      provideTimeoutMs: init.provideTimeoutMs ?? PROVIDE_TIMEOUT_MS,
      addressChangeDebounceMs: init.addressChangeDebounceMs ?? ADDRESS_CHANGE_DEBOUNCE_MS,
      now,
      dht: () => this.requireDht(),
      isStarted: () => this.started,
      shutdown: () => this.shutdown.signal,
      events: this,
      stats: this.stats,
      log: this.log
    })
    this.protocol = new CapabilityProtocol(components, {
      fetchTimeoutMs: this.fetchTimeoutMs,
      maxInboundStreams: init.maxInboundStreams ?? MAX_INBOUND_STREAMS,
      maxOutboundStreams: init.maxOutboundStreams ?? MAX_OUTBOUND_STREAMS,
      now,
      record: () => this.advertiser.currentRecord,
      stats: this.stats,
      log: this.log
    })
    this.probe = new RttProbe(components, { timeoutMs: this.fetchTimeoutMs })
    this.cache = new RecordCache({ ttlMs: init.recordCacheTtlMs ?? RECORD_CACHE_TTL_MS, size: init.recordCacheSize ?? RECORD_CACHE_SIZE, now })
    this.denied = new DenyList({ size: init.denySize ?? DENY_SIZE, now })
    // the counters are `stats`: the registry reads them when it is scraped
    components.metrics?.registerCounterGroup('shoal_discovery_operations_total', {
      label: 'operation',
      help: 'Discovery provides, lookups and record fetches, the DHT messages they sent, records rejected and served',
      calculate: () => ({ ...this.stats })
    })
  }

  /** libp2p registers us as a peer discovery module: matching providers reach the peer store. */
  get [peerDiscoverySymbol] (): PeerDiscovery {
    return this
  }

  async start (): Promise<void> {
    const dht = this.components.dht
    if (typeof dht?.provide !== 'function' || typeof dht.findProviders !== 'function') {
      throw new MissingDhtError('no kad-dht service named "dht"')
    }
    this.dht = dht
    this.shutdown = new AbortController()
    setMaxListeners(Infinity, this.shutdown.signal)
    await this.protocol.start()
    this.components.events?.addEventListener('self:peer:update', this.onSelfUpdate)
    this.started = true
  }

  /** Our own peer record changed (addresses, e.g. after a relay reservation): the advertiser lists the new ones. */
  private readonly onSelfUpdate = (): void => {
    this.advertiser.addressesChanged()
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
    this.components.events?.removeEventListener('self:peer:update', this.onSelfUpdate)
    this.shutdown.abort()
    this.advertiser.stop()
    clearTimeout(this.watchTimer)
    await this.protocol.stop()
    this.cache.clear()
    this.denied.clear()
  }

  isStarted (): boolean {
    return this.started
  }

  /** The record we currently serve, if advertising. */
  get currentRecord (): SignedRecord<CapabilityRecord> | undefined {
    return this.advertiser.currentRecord
  }

  /** The keys we are advertised under. */
  get advertisedKeys (): AdvertisedKey[] {
    return this.advertiser.advertisedKeys
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
    return this.advertiser.advertise(offer, options)
  }

  /** Change some fields of the current offer and advertise again. */
  async update (changes: Partial<Offer>, options: AbortOptions = {}): Promise<AdvertiseResult> {
    if (!this.started) {
      throw new NotStartedError()
    }
    return this.advertiser.update(changes, options)
  }

  /**
   * Stop advertising: stop serving our record and stop re-providing our
   * keys. Provider records already stored on DHT peers cannot be deleted
   * remotely; they expire there (kad-dht's provider validity), and a searcher
   * that reaches us in the meantime gets no record and skips us.
   */
  async withdraw (options: AbortOptions = {}): Promise<void> {
    return this.advertiser.withdraw(this.dht, options)
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
   * results are out, what still runs is aborted. The order is ranking.ts's.
   */
  async * findNearby (query: NearbyQuery, options: FindNearbyOptions = {}): AsyncGenerator<NearbyProvider, void, undefined> {
    const params = this.searchParams(query, options)
    yield * new Search(this.searchContext(this.requireDht(), params), params).run()
  }

  /** What a search uses of the service. */
  private searchContext (dht: KadDHT, params: SearchParams): SearchContext {
    return {
      peerId: this.components.peerId,
      dht,
      log: this.log,
      stats: this.stats,
      protocol: this.protocol,
      probe: this.probe,
      cache: this.cache,
      denied: this.denied,
      loopLag: this.loopLag,
      precisions: this.precisions,
      // with standing, a crowded cell is examined deeper, to see past sybils (within the query's fetches)
      maxCandidatesPerCell: this.standing == null
        ? this.maxCandidatesPerCell
        : Math.max(this.maxCandidatesPerCell, Math.min(params.maxFetches, NEWCOMER_CANDIDATES_FACTOR * this.maxCandidatesPerCell)),
      standing: this.standing,
      maxEntriesPerCell: this.maxEntriesPerCell,
      lookupConcurrency: this.lookupConcurrency,
      fetchConcurrency: this.fetchConcurrency,
      lookupTimeoutMs: this.lookupTimeoutMs,
      // late bound: tests replace these on the service
      fetchRecord: async (peer, opts) => this.fetchRecord(peer, opts),
      measureRtt: async (peer, opts) => this.measureRtt(peer, opts),
      pingProtocol: () => this.pingProtocol(),
      reject: (peer, err) => { this.reject(peer, err) },
      announce: (result) => { this.announce(result) },
      random: this.random
    }
  }

  /** Check a search's query and options (InvalidQueryError before any lookup). */
  private searchParams (query: NearbyQuery, options: FindNearbyOptions): SearchParams {
    const capabilityClass = queryClass(query)
    const k = positiveInt('k', options.k, SEARCH_RESULTS)
    const maxFetches = positiveInt('maxFetches', options.maxFetches, this.maxFetchesPerQuery)
    this.requireDht()
    const levels = searchLevels(query.geohash, this.precisions, this.searchWorld)
    const confirm = { ...this.confirm, ...options.confirm }
    const candidates = confirm.candidates ?? CONFIRM_CANDIDATES_PER_RESULT * k
    const probes = confirm.probes ?? CONFIRM_PROBES
    if (!Number.isSafeInteger(candidates) || candidates < 0) {
      throw new InvalidQueryError('confirm.candidates must be a non-negative integer')
    }
    positiveInt('confirm.probes', probes, CONFIRM_PROBES)
    const trustRatio = confirm.trustRatio ?? CONFIRM_TRUST_RATIO
    if (Number.isNaN(trustRatio) || trustRatio < 1) {
      throw new InvalidQueryError('confirm.trustRatio must be at least 1')
    }
    const signal = options.signal == null ? this.shutdown.signal : AbortSignal.any([this.shutdown.signal, options.signal])
    setMaxListeners(Infinity, signal)
    return {
      query,
      capabilityClass,
      levels,
      k,
      maxFetches,
      newcomerQuota: this.standing == null ? undefined : Math.ceil(this.newcomerShare * k),
      confirm: query.coordinate != null && candidates > 0 ? { candidates, probes, trustRatio } : undefined,
      signal,
      onProgress: options.onProgress
    }
  }

  /**
   * Ask `peer` for its current record over `/shoal/capability/1.0.0` and
   * verify it: signature, values and time (by @shoal/records), and that
   * it is `peer`'s own record. Throws a RecordError, NoRecordError or
   * WrongProviderError.
   */
  async fetchRecord (peer: PeerId | PeerInfo, options: AbortOptions = {}): Promise<SignedRecord<CapabilityRecord>> {
    return this.protocol.fetchRecord(peer, options)
  }

  /**
   * Measure the RTT to `peer`, ms: the minimum of `probes` sequential
   * probes (libp2p ping rounds on one stream, whose opening counts as a
   * sample too, if the node has ping; else capability requests), over an
   * existing connection if there is one. Throws if every probe fails.
   */
  async measureRtt (peer: PeerId, options: AbortOptions & { probes?: number } = {}): Promise<number> {
    const probes = Math.max(1, options.probes ?? CONFIRM_PROBES)
    const protocol = this.pingProtocol()
    const signal = timeoutSignal(this.fetchTimeoutMs, options.signal)
    if (protocol != null) {
      return this.probe.rounds(peer, protocol, probes, signal)
    }
    // no ping service: time capability requests, one after another
    let best = Infinity
    for (let i = 0; i < probes; i++) {
      const record = await this.fetchRecord(peer, { signal })
      best = Math.min(best, this.protocol.streamMs(record) ?? Infinity)
    }
    if (!Number.isFinite(best)) {
      throw new Error(`could not measure ${peer}`)
    }
    return best
  }

  private requireDht (): KadDHT {
    if (!this.started || this.dht == null) {
      throw new NotStartedError()
    }
    return this.dht
  }

  /** The protocol id of the node's ping service, undefined without one. */
  private pingProtocol (): string | undefined {
    const ping = optionalService(this.components, 'ping')
    if (ping == null) {
      return undefined
    }
    return typeof ping.protocol === 'string' ? ping.protocol : PING_PROTOCOL
  }

  private announce (result: NearbyProvider): void {
    this.safeDispatchEvent('provider:found', { detail: result })
    this.safeDispatchEvent('peer', { detail: { id: result.peerId, multiaddrs: result.multiaddrs } })
  }

  /** Skip a peer for a while: long for a bad record, short for a peer that may just be away. */
  private reject (peer: PeerId, err: Error): void {
    const id = peer.toString()
    const bad = err instanceof RecordError || err.name === 'WrongProviderError'
    this.denied.add(id, bad ? this.denyTtlMs : this.skipTtlMs)
    this.cache.delete(id)
    this.stats.rejected++
    this.log('rejected %p - %s: %s', peer, err.name, err.message)
    this.safeDispatchEvent('record:rejected', { detail: { peerId: peer, error: err } })
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
        this.scheduleWatch(watch.intervalMs ?? WATCH_INTERVAL_MS)
      })()
    }, delay)
    this.watchTimer.unref?.()
  }
}
