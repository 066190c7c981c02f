/**
 * What one search knows while it runs, and where its candidates were
 * found: shared by the search (search.ts), its steps (lookup.ts,
 * examine.ts) and its ranking (ranking.ts).
 */

import { checkAdvertisement } from './match.js'
import type { CapabilityProtocol } from './capability-protocol.js'
import type { DiscoveryStats, FindNearbyProgressEvents, FoundUnder, NearbyProvider } from './index.js'
import type { SearchLevel } from './keys.js'
import type { LagWatch, LoopLag } from './loop-lag.js'
import type { NearbyQuery } from './match.js'
import type { DenyList, RecordCache } from './record-cache.js'
import type { RttProbe } from './rtt-probe.js'
import type { AbortOptions, Logger, PeerId, PeerInfo } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { PriorityQueue } from '@libp2p/utils'
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
  /**
   * the precisions providers advertise at: a listing of a cell of another
   * length (the world, unless 0 is one) does not hold the providers inside it
   */
  precisions: readonly number[]
  /** provider entries examined per cell (more with `standing`: see NEWCOMER_CANDIDATES_FACTOR) */
  maxCandidatesPerCell: number
  maxEntriesPerCell: number
  /** how established a provider is (distinct counterparties); absent: no newcomer share */
  standing?(peer: PeerId): number
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
  /** with `standing`: most of the k results that may be newcomers (standing 0) while established ones may still come */
  newcomerQuota?: number
  confirm?: SearchConfirm
  signal: AbortSignal
  onProgress?(evt: FindNearbyProgressEvents): void
}

/** What the steps of one search share: the service's side, the query, the state, and the signal that ends it. */
export interface SearchRun {
  ctx: SearchContext
  params: SearchParams
  state: SearchState
  signal: AbortSignal
}

/** Confirmation by measurement of one search (see ConfirmOptions). */
export interface SearchConfirm {
  candidates: number
  probes: number
  trustRatio: number
}

/** The state of one search. */
export interface SearchState {
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
  running: Map<string, { level: number, floor: number, startedAt?: number, roundTrips?: number, newcomer?: boolean }>
  /** every cell each candidate was listed under */
  listings: Map<string, Array<{ found: FoundUnder, level: number }>>
  /** verified matching results not yet yielded */
  held: HeldResult[]
  arrivals: number
  /** results wanted */
  k: number
  /** level index of each result yielded */
  yielded: number[]
  /** level index of each newcomer (standing 0) among them */
  yieldedNewcomers: number[]
  /** confirmation of this search (a query coordinate and candidates > 0), else undefined */
  confirm?: SearchConfirm
  /** estimated RTT of every verified matching result, to rank a new one among them */
  estimates: number[]
  /** the event loop's lateness while this search measures candidates (with confirm) */
  lag?: LagWatch
  /** something changed: the search may yield */
  wake(): void
  onProgress?(evt: FindNearbyProgressEvents): void
}

/** A verified matching result the search has not yielded yet. */
export interface HeldResult {
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

/** The finest level (index) a provider was listed at. */
export function levelOf (held: HeldResult, search: SearchState): number {
  const listed = search.listings.get(held.result.peerId.toString()) ?? []
  return listed.reduce((min, l) => Math.min(min, l.level), held.level)
}

/** Whether a holder listed a cell containing `cell` completely. */
export function covered (cell: string, search: SearchState): boolean {
  for (const c of search.complete) {
    if (cell.startsWith(c)) {
      return true
    }
  }
  return false
}

/** The finest level a provider listed under `cell` (a cell of level `index`) may be at. */
export function possibleLevel (cell: string, index: number, levels: SearchLevel[]): number {
  for (let j = 0; j < index; j++) {
    if (levels[j].cells.some(c => c.startsWith(cell))) {
      return j
    }
  }
  return index
}

/** The finest level one of whose cells holds the record's (signed) location. */
export function recordLevel (record: CapabilityRecord, levels: SearchLevel[], fallback: number): number {
  for (let j = 0; j < fallback; j++) {
    const p = levels[j].precision
    if (p > 0 && record.geohash.length >= p && levels[j].cells.includes(record.geohash.slice(0, p))) {
      return j
    }
  }
  return fallback
}

/** The finest cell that listed the provider and that its record lies in. */
export function finestListing (held: HeldResult, search: SearchState, capabilityClass: string): FoundUnder {
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

/** Whether a provider is a newcomer: it has standing 0 (never, without a `standing` callback). */
export function isNewcomer (ctx: SearchContext, peer: PeerId): boolean {
  if (ctx.standing == null) {
    return false
  }
  try {
    return !(ctx.standing(peer) >= 1)
  } catch {
    return true
  }
}

/**
 * Results finer than level `index` that count toward k: every established
 * one, and newcomers up to the quota (more of them do not stop a search
 * that may still find established providers).
 */
export function finerResults (run: SearchRun, index: number): number {
  const search = run.state
  let established = 0
  let newcomers = search.yieldedNewcomers.filter(l => l < index).length
  established += search.yielded.filter(l => l < index).length - newcomers
  for (const h of search.held) {
    if (levelOf(h, search) < index) {
      if (isNewcomer(run.ctx, h.result.peerId)) newcomers++
      else established++
    }
  }
  return established + Math.min(newcomers, run.params.newcomerQuota ?? Infinity)
}

/**
 * Whether a newcomer result may come out now: only while every
 * established provider held or still being examined keeps a place among
 * the k, and within the quota unless nothing else can come any more.
 */
export function newcomerMayGo (run: SearchRun, found: number): boolean {
  const search = run.state
  let established = 0
  for (const h of search.held) {
    if (!isNewcomer(run.ctx, h.result.peerId)) established++
  }
  for (const r of search.running.values()) {
    if (r.newcomer !== true) established++
  }
  if (established >= search.k - found) {
    return false
  }
  const exhausted = search.pendingCells.size === 0 && search.running.size === 0
  return exhausted || search.yieldedNewcomers.length < (run.params.newcomerQuota ?? Infinity)
}
