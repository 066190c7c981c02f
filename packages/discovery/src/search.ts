/**
 * One search (`Discovery#findNearby`), like kad-dht's query path: look up
 * the query's cells, finest first, examine (fetch, verify, match) the
 * providers they list, measure the nearest candidates, and yield results in
 * the order ranking.ts decides.
 */

import { setMaxListeners } from '@libp2p/interface'
import { PriorityQueue, Queue } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { CustomProgressEvent } from 'progress-events'
import { CONFIRM_REFINE_ROUNDS, COMPLETE_LISTING_QUORUM, DEFAULT_CONFIRM_PROBES, FETCH_ROUND_TRIPS } from './constants.js'
import { capabilityKey } from './keys.js'
import { cellRttFloor, checkAdvertisement, estimateRtt, matchRecord } from './match.js'
import { before, readyAt } from './ranking.js'
import { finestListing, levelOf, possibleLevel, recordLevel } from './search-state.js'
import { errorName, isAbort, toError } from './utils.js'
import type { CapabilityProtocol } from './capability-protocol.js'
import type { DiscoveryStats, FindNearbyProgressEvents, FoundUnder, NearbyProvider } from './index.js'
import type { SearchLevel } from './keys.js'
import type { LoopLag } from './loop-lag.js'
import type { NearbyQuery } from './match.js'
import type { DenyList, RecordCache } from './record-cache.js'
import type { OpenedPing, RttProbe } from './rtt-probe.js'
import type { HeldResult, SearchConfirm, SearchState } from './search-state.js'
import type { AbortOptions, Logger, PeerId, PeerInfo } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CapabilityRecord, SignedRecord } from '@shoal/records'

/** What a search uses of the service: its roles, memory and limits. */
export interface SearchContext {
  peerId: PeerId
  dht: KadDHT
  log: Logger
  /** counters shared with the service (`lookups`, `lookupMessages`, `rejected`) */
  stats: DiscoveryStats
  protocol: CapabilityProtocol
  probe: RttProbe
  cache: RecordCache
  denied: DenyList
  loopLag: LoopLag
  maxCandidatesPerCell: number
  maxEntriesPerCell: number
  lookupConcurrency: number
  fetchConcurrency: number
  lookupTimeoutMs: number
  /** the service's (tests replace it on the service) */
  fetchRecord(peer: PeerInfo, options: AbortOptions): Promise<SignedRecord<CapabilityRecord>>
  /** the service's (tests replace it on the service) */
  measureRtt(peer: PeerId, options: AbortOptions & { probes?: number }): Promise<number>
  /** the ping protocol to probe with, undefined without a ping service */
  pingProtocol(): string | undefined
  /** skip a peer that served a bad record or none */
  reject(peer: PeerId, err: Error): void
  /** a result is out: tell the node */
  announce(result: NearbyProvider): void
  random(): number
}

/** A search's parameters, checked by the service. */
export interface SearchParams {
  query: NearbyQuery
  capabilityClass: string
  levels: SearchLevel[]
  k: number
  maxFetches: number
  confirm?: SearchConfirm
  signal: AbortSignal
  onProgress?(evt: FindNearbyProgressEvents): void
}

/** One run of `findNearby`. */
export class Search {
  private readonly ctx: SearchContext
  private readonly params: SearchParams
  private readonly state: SearchState
  private readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private finished = false
  private dirty = false
  private notify?: () => void

  constructor (ctx: SearchContext, params: SearchParams) {
    this.ctx = ctx
    this.params = params
    this.signal = AbortSignal.any([this.controller.signal, params.signal])
    setMaxListeners(Infinity, this.controller.signal, this.signal)
    this.state = {
      seen: new Set([ctx.peerId.toString()]),
      fetches: 0,
      maxFetches: params.maxFetches,
      lookups: 0,
      messages: 0,
      rejected: 0,
      skipped: 0,
      lastPrecision: -1,
      fetchSlots: new PriorityQueue({ concurrency: ctx.fetchConcurrency }),
      levels: params.levels,
      pendingCells: new Map(),
      complete: new Set(),
      overheads: [],
      running: new Map(),
      listings: new Map(),
      held: [],
      arrivals: 0,
      k: params.k,
      yielded: [],
      confirm: params.confirm,
      estimates: [],
      lag: params.confirm != null ? ctx.loopLag.watch() : undefined,
      wake: () => {
        this.dirty = true
        const n = this.notify
        this.notify = undefined
        n?.()
      },
      onProgress: (evt) => {
        if (!this.finished) {
          params.onProgress?.(evt)
        }
      }
    }
  }

  /** Yield up to `k` results, nearest first; what still runs is aborted when done. */
  async * run (): AsyncGenerator<NearbyProvider, void, undefined> {
    const search = this.state
    const signal = this.signal
    let found = 0
    let timer: ReturnType<typeof setTimeout> | undefined
    signal.addEventListener('abort', search.wake, { once: true })

    try {
      signal.throwIfAborted()
      this.startLookups()

      while (true) {
        signal.throwIfAborted()
        this.dirty = false
        const now = performance.now()
        const { best, next } = this.nextReady(now)
        if (best != null) {
          yield this.take(best)
          if (++found >= search.k) {
            return
          }
          continue
        }
        if (search.pendingCells.size === 0 && search.running.size === 0 && search.held.length === 0) {
          return
        }
        if (this.dirty) {
          continue
        }
        await new Promise<void>(resolve => {
          this.notify = resolve
          if (Number.isFinite(next)) {
            timer = setTimeout(search.wake, Math.max(1, Math.ceil(next - now)))
          }
        })
        clearTimeout(timer)
      }
    } finally {
      clearTimeout(timer)
      this.end(found)
    }
  }

  /**
   * Queue every cell's lookup. FIFO: the finest level's cells and the
   * coarsest cell (the world) first, then the levels between. The coarsest
   * cell is one lookup that often lists every provider of a sparse class (a
   * holder answers with all it has), while a sparse fine cell's lookup only
   * ends when it converges: listed completely, the world stops the fine
   * cells from holding results back.
   */
  private startLookups (): void {
    const { query, capabilityClass, levels } = this.params
    const search = this.state
    const signal = this.signal
    const lookups = new Queue<void, { signal: AbortSignal }>({ concurrency: this.ctx.lookupConcurrency })
    const order = levels.map((level, index) => ({ level, index }))
    if (order.length > 2) {
      order.splice(1, 0, ...order.splice(order.length - 1, 1))
    }
    for (const { level, index } of order) {
      for (const cell of level.cells) {
        search.pendingCells.set(cell, { level: index, floor: cellRttFloor(query.geohash, cell), covered: new AbortController() })
        void lookups.add(async () => this.lookupCell(level, index, cell), { signal })
          .catch(err => { if (!signal.aborted) this.ctx.log('lookup of %s/%s failed - %e', capabilityClass, cell, err) })
          .finally(() => {
            search.pendingCells.delete(cell)
            search.wake()
          })
      }
    }
  }

  /** The first held result that may come out now, and when the next one may (performance.now() time). */
  private nextReady (now: number): { best?: HeldResult, next: number } {
    const { query } = this.params
    let next = Infinity
    let best: HeldResult | undefined
    for (const held of this.state.held) {
      const at = readyAt(held, this.state, query, now)
      if (at > now) {
        next = Math.min(next, at)
      } else if (best == null || before(held, best, query, this.state)) {
        best = held
      }
    }
    return { best, next }
  }

  /** Take a result out of the held ones, found under the finest cell that listed it. */
  private take (held: HeldResult): NearbyProvider {
    const search = this.state
    search.held.splice(search.held.indexOf(held), 1)
    const result = { ...held.result, found: finestListing(held, search, this.params.capabilityClass) }
    search.yielded.push(levelOf(held, search))
    this.ctx.announce(result)
    return result
  }

  /** Abort what still runs and report the summary. */
  private end (found: number): void {
    const search = this.state
    search.lag?.stop()
    this.signal.removeEventListener('abort', search.wake)
    this.controller.abort()
    search.fetchSlots.abort()
    search.onProgress?.(new CustomProgressEvent('shoal:discovery:done', {
      found, lookups: search.lookups, messages: search.messages, fetches: search.fetches, rejected: search.rejected, skipped: search.skipped, lastPrecision: search.lastPrecision
    }))
    this.finished = true
  }

  /** Look up one cell and examine (fetch, verify, match) the providers it lists, within the caps. */
  private async lookupCell (level: SearchLevel, index: number, cell: string): Promise<void> {
    const { capabilityClass } = this.params
    const search = this.state
    const signal = this.signal
    if (signal.aborted || search.fetches >= search.maxFetches) {
      return
    }
    // k verified results from finer levels already: as when levels ran one
    // after another, a coarser level is not searched (saves its DHT lookups)
    const finer = search.yielded.filter(l => l < index).length + search.held.filter(h => levelOf(h, search) < index).length
    if (finer >= search.k) {
      return
    }
    // inside a cell listed completely: nothing new to find (see markComplete)
    const pending = search.pendingCells.get(cell)
    if (pending == null || pending.covered.signal.aborted) {
      return
    }
    const lookupSignal = AbortSignal.any([signal, pending.covered.signal, AbortSignal.timeout(this.ctx.lookupTimeoutMs)])
    setMaxListeners(Infinity, lookupSignal)
    const found: FoundUnder = { capabilityClass, cell, precision: level.precision, home: cell === level.cells[0] && level.precision > 0 }
    const floor = pending.floor
    const possible = possibleLevel(cell, index, search.levels)
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
    this.ctx.stats.lookups++

    try {
      for await (const event of this.ctx.dht.findProviders(capabilityKey(capabilityClass, cell), { signal: lookupSignal })) {
        if (event.name === 'SEND_QUERY') {
          search.messages++
          this.ctx.stats.lookupMessages++
          continue
        }
        if (event.name === 'PEER_RESPONSE' && event.providers.length > 0) {
          // a holder's answer is all it has: if nothing of it is left
          // unexamined (its PROVIDER event follows), the cell is listed
          if (event.providers.length >= this.ctx.maxEntriesPerCell) {
            capped = true
          } else {
            holders.add(event.from.toString())
          }
          // a further holder listing nobody new gets no PROVIDER event
          if (event.providers.every(p => search.seen.has(p.id.toString()) || this.ctx.denied.has(p.id.toString()))) {
            this.markComplete(cell, holders, capped, ended)
          }
          continue
        }
        if (event.name !== 'PROVIDER') {
          this.markComplete(cell, holders, capped, ended)
          continue
        }
        // a crowded cell is sampled at random (an attacker cannot sort
        // itself first), with providers we already trust ahead of the rest
        const batch = this.shuffle(event.providers.slice(0, Math.max(0, this.ctx.maxEntriesPerCell - entries)))
        if (batch.length < event.providers.length) {
          capped = true
        }
        entries += batch.length
        batch.sort((a, b) => Number(this.ctx.cache.get(b.id) != null) - Number(this.ctx.cache.get(a.id) != null))

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
          if (this.ctx.denied.has(id)) {
            search.skipped++
            continue
          }
          if (examined >= this.ctx.maxCandidatesPerCell) {
            search.skipped++
            capped = true
            continue
          }
          search.seen.add(id)
          search.listings.set(id, [{ found, level: index }])
          search.running.set(id, { level: possible, floor })
          examined++
          void search.fetchSlots.add(async () => this.examine(info, found, index), { priority, signal })
            .catch(err => { if (!signal.aborted) this.ctx.log('examining %p failed - %e', info.id, err) })
            .finally(() => {
              search.running.delete(id)
              search.wake()
            })
        }
        this.markComplete(cell, holders, capped, ended)
        if (entries >= this.ctx.maxEntriesPerCell || examined >= this.ctx.maxCandidatesPerCell) {
          break
        }
      }
      // the DHT has nothing more for this cell (and not because the caps cut it short)
      ended = entries < this.ctx.maxEntriesPerCell && examined < this.ctx.maxCandidatesPerCell
    } catch (err) {
      if (!signal.aborted && !pending.covered.signal.aborted) {
        this.ctx.log('lookup of %s/%s ended - %e', capabilityClass, cell, err)
      }
    }
    this.markComplete(cell, holders, capped, ended)
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
  private markComplete (cell: string, holders: Set<string>, capped: boolean, ended: boolean): void {
    const search = this.state
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

  /** Fetch (or reuse), verify and match one listed provider, and hold it as a result if it matches. */
  private async examine (info: PeerInfo, found: FoundUnder, level: number): Promise<void> {
    const signal = this.signal
    if (signal.aborted) {
      return
    }
    let record = this.ctx.cache.get(info.id)
    // with confirmation, the ping stream is opened beside the record's (see RttProbe#open)
    const pingProtocol = this.state.confirm != null ? this.ctx.pingProtocol() : undefined
    const fetch: Fetch = { fetchMs: 0 }
    try {
      if (record == null) {
        if (!this.claimFetch(info.id)) {
          return
        }
        record = await this.fetch(info, fetch, pingProtocol)
      }
      checkAdvertisement(record.value, found.capabilityClass, found.cell)
    } catch (err) {
      this.ctx.probe.release(fetch.pinger)
      if (!isAbort(err, signal)) {
        this.rejected(info.id, found, err)
      }
      return
    }

    let confirming = false
    try {
      confirming = this.hold(info, found, level, record, fetch)
    } finally {
      if (!confirming) {
        this.ctx.probe.release(fetch.pinger)
      }
    }
  }

  /** Count a fetch against the search's budget; false (and the provider skipped) when it is spent. */
  private claimFetch (peer: PeerId): boolean {
    const search = this.state
    if (search.fetches >= search.maxFetches) {
      search.skipped++
      search.seen.delete(peer.toString())
      // a listing with someone left unexamined is no longer complete
      search.complete.clear()
      return false
    }
    search.fetches++
    return true
  }

  /**
   * Fetch and verify a provider's record, timing it for the ranking (see
   * `readyAt`), and, with confirmation, open a ping stream beside it.
   */
  private async fetch (info: PeerInfo, fetch: Fetch, pingProtocol?: string): Promise<SignedRecord<CapabilityRecord>> {
    const search = this.state
    const signal = this.signal
    const start = performance.now()
    // over a connection already open, a fetch is one round trip (the stream's), not a cold dial's
    const connected = this.ctx.protocol.isConnected(info.id)
    const roundTrips = connected ? 1 : FETCH_ROUND_TRIPS
    const running = search.running.get(info.id.toString())
    if (running != null) {
      running.startedAt = start
      running.roundTrips = roundTrips
    }
    if (pingProtocol != null) {
      // the ping stream is negotiated beside the record's stream, on the same connection
      if (!connected) {
        await this.ctx.protocol.connect(info, this.ctx.probe.signal(signal))
      }
      fetch.pinger = this.ctx.probe.open(info.id, pingProtocol, signal)
    }
    const record = await this.ctx.fetchRecord(info, { signal })
    fetch.fetchMs = performance.now() - start
    this.ctx.cache.set(record)
    const estimate = estimateRtt(this.params.query.coordinate, record.value.coordinate)
    if (estimate != null) {
      search.overheads.push(Math.max(0, fetch.fetchMs - estimate * roundTrips))
    }
    return record
  }

  /** Count a provider entry that did not give a valid record for its key. */
  private rejected (peer: PeerId, found: FoundUnder, err: unknown): void {
    const error = toError(err)
    this.state.rejected++
    if (errorName(err) === 'AdvertisementMismatchError') {
      // the record is genuine and stays cached: it may fit another key (a provider that moved)
      this.ctx.stats.rejected++
    } else {
      this.ctx.reject(peer, error)
    }
    this.state.onProgress?.(new CustomProgressEvent('shoal:discovery:rejected', { peerId: peer, cell: found.cell, error }))
  }

  /**
   * Hold a verified record as a result if it matches the query, and start
   * measuring it if it is among the best `confirm.candidates` by estimate.
   * Returns whether it is measured (and so uses the fetch's ping stream).
   */
  private hold (info: PeerInfo, found: FoundUnder, level: number, record: SignedRecord<CapabilityRecord>, fetch: Fetch): boolean {
    const search = this.state
    const { query } = this.params
    const match = matchRecord(query, record.value)
    if (!match.matches) {
      search.onProgress?.(new CustomProgressEvent('shoal:discovery:unmatched', { peerId: info.id, reason: match.reason }))
      return false
    }
    if (this.signal.aborted) {
      return false
    }
    const estimatedRttMs = estimateRtt(query.coordinate, record.value.coordinate)
    const streamMs = fetch.fetchMs > 0 ? this.ctx.protocol.streamMs(record) : undefined
    const held: HeldResult = {
      level: recordLevel(record.value, search.levels, level),
      order: search.arrivals++,
      result: {
        peerId: info.id,
        record,
        multiaddrs: addressesOf(record, info),
        found,
        reasons: match.reasons,
        estimatedRttMs,
        measuredRttMs: search.confirm == null ? streamMs : undefined,
        fetchMs: fetch.fetchMs
      }
    }
    search.held.push(held)
    if (search.confirm == null) {
      return false
    }
    // among the best `candidates` by estimate of all verified so far: measure it
    const estimate = estimatedRttMs ?? Infinity
    const rank = search.estimates.filter(e => e < estimate).length
    search.estimates.push(estimate)
    if (rank >= search.confirm.candidates) {
      return false
    }
    this.confirm(held, fetch.pinger, streamMs)
    return true
  }

  /**
   * Probe a verified result in the background; the search waits for it
   * where it could change the order. The record's own stream time (`sample`)
   * and the ping stream's opening (one round trip each, plus processing)
   * count as samples too.
   */
  private confirm (held: HeldResult, opened?: Promise<OpenedPing>, sample?: number): void {
    const search = this.state
    const signal = this.signal
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
        return Math.min(openMs, await this.ctx.probe.pingOn(stream, peer, probes + CONFIRM_REFINE_ROUNDS, this.ctx.probe.signal(signal), (startedAt, rtt) => {
          if (rtt == null) {
            if (rounds === probes - 1) {
              held.lastRoundAt = startedAt
            }
            return
          }
          rounds++
          held.bound = Math.min(held.bound ?? Infinity, rtt)
          if (rounds >= probes) {
            this.measured(held, held.bound)
          }
          search.wake()
        }, () => search.held.includes(held)))
      },
      async () => this.ctx.measureRtt(peer, { probes, signal })
    )
    void measure
      .then(rtt => {
        this.measured(held, Math.min(rtt, sample ?? Infinity))
      }, err => {
        if (held.probe === 'measured') {
          // a refining round failed: the rounds before count
          return
        }
        held.probe = 'failed'
        if (!isAbort(err, signal)) {
          this.ctx.log('could not measure %p - %e', held.result.peerId, err)
        }
      })
      .finally(() => { search.wake() })
  }

  /**
   * Keep a candidate's lowest measured RTT, and report it when it is new or
   * lower. A result already yielded keeps the RTT it went out with: a
   * refining round still in flight when it was yielded is not reported, so
   * the last report of a result is its `measuredRttMs`.
   */
  private measured (held: HeldResult, rtt: number): void {
    if (held.probe === 'measured' && !this.state.held.includes(held)) {
      return
    }
    const before = held.probe === 'measured' ? held.result.measuredRttMs ?? Infinity : Infinity
    held.probe = 'measured'
    if (rtt < before) {
      held.result.measuredRttMs = rtt
      this.state.onProgress?.(new CustomProgressEvent('shoal:discovery:measured', { peerId: held.result.peerId, rttMs: rtt, estimatedRttMs: held.result.estimatedRttMs }))
    }
  }

  private shuffle<T> (items: T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.ctx.random() * (i + 1))
      const t = out[i]
      out[i] = out[j]
      out[j] = t
    }
    return out
  }
}

/** A record fetch in progress: its time, and the ping stream opened beside it. */
interface Fetch {
  fetchMs: number
  pinger?: Promise<OpenedPing>
}

/** A provider's addresses: its record's (those that parse) and its provider entry's. */
function addressesOf (record: SignedRecord<CapabilityRecord>, info: PeerInfo): Multiaddr[] {
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
