/**
 * A search's ranking: which held result comes first, and when it may come
 * out without a lookup, fetch or probe still running overtaking it. Without
 * a query coordinate results come by level (where the signed record says the
 * provider is); with one, by estimated RTT; with confirmation, measured
 * results first by measured RTT (see `confirmedRtt`), then the others by
 * estimate. The README's "Search order" and "Confirmed by measurement"
 * explain why.
 */

import { CONFIRM_ESTIMATE_SLACK, FETCH_ROUND_TRIPS } from './constants.js'
import { covered, levelOf } from './search-state.js'
import type { HeldResult, SearchState } from './search-state.js'
import type { NearbyProvider } from './index.js'
import type { NearbyQuery } from './match.js'

/** Whether `a` should come before `b` when both may be yielded. */
export function before (a: HeldResult, b: HeldResult, query: NearbyQuery, search: SearchState): boolean {
  if (search.confirm != null) {
    // measured first, by measurement; the others after, by estimate
    const ma = a.probe === 'measured'
    const mb = b.probe === 'measured'
    if (ma !== mb) {
      return ma
    }
    const ra = ma ? confirmedRtt(a.result, search) : rankRtt(a.result)
    const rb = mb ? confirmedRtt(b.result, search) : rankRtt(b.result)
    if (ra !== rb) {
      return ra < rb
    }
  } else if (query.coordinate != null) {
    const ea = rankRtt(a.result)
    const eb = rankRtt(b.result)
    if (ea !== eb) {
      return ea < eb
    }
  }
  const la = levelOf(a, search)
  const lb = levelOf(b, search)
  return la !== lb ? la < lb : a.order < b.order
}

/**
 * When `held` may be yielded (performance.now() time; Infinity: not until
 * something else changes). Only lookups and candidates at its level or
 * finer hold it back: levels come finest first, as the issue asks.
 */
export function readyAt (held: HeldResult, search: SearchState, query: NearbyQuery, now: number): number {
  const level = levelOf(held, search)
  if (query.coordinate == null) {
    return finerLevelsDone(level, search) ? now : Infinity
  }
  let rtt = rankRtt(held.result)
  let at = now
  if (search.confirm != null) {
    if (held.probe === 'running') {
      return Infinity
    }
    if (held.probe === 'measured') {
      rtt = confirmedRtt(held.result, search)
      at = Math.max(at, probesDoneAt(held, rtt, search))
    } else if (search.held.some(other => other.probe === 'running')) {
      // unmeasured results come after every measured one
      return Infinity
    }
  }
  return Math.max(at, examinedAt(level, rtt, search))
}

/** Without a coordinate: whether no lookup or candidate finer than `level` still runs. */
function finerLevelsDone (level: number, search: SearchState): boolean {
  for (const [cell, pending] of search.pendingCells) {
    if (pending.level < level && !covered(cell, search)) {
      return false
    }
  }
  for (const running of search.running.values()) {
    if (running.level < level) {
      return false
    }
  }
  return true
}

/** When no running probe can measure below a result ranked at `rtt` any more. */
function probesDoneAt (held: HeldResult, rtt: number, search: SearchState): number {
  let at = -Infinity
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
  return at
}

/**
 * When no lookup or fetch at `level` or finer can bring a provider with an
 * RTT below `rtt` any more: a lookup only once it ends (or a complete
 * listing covers its cell), a fetch once it has run its round trips at
 * that RTT plus the search's fetch overhead.
 */
function examinedAt (level: number, rtt: number, search: SearchState): number {
  for (const [cell, pending] of search.pendingCells) {
    if (pending.level <= level && pending.floor < rtt && !covered(cell, search)) {
      return Infinity
    }
  }
  const overhead = fetchOverhead(search)
  let at = -Infinity
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
export function rankRtt (result: NearbyProvider): number {
  return result.estimatedRttMs ?? Infinity
}

/**
 * The RTT a measured result is ranked by: its measurement `m`, except that
 * the part of `m` above `trustRatio` x its estimate counts only beyond the
 * largest event-loop lag `L` this search has seen (what the requester's
 * own CPU may have added to the sample): `max(min(m, trustRatio x e),
 * m - L)`. On a calm loop that is `m`.
 */
export function confirmedRtt (result: NearbyProvider, search: SearchState): number {
  const measured = result.measuredRttMs ?? Infinity
  const plausible = Math.min(measured, (search.confirm?.trustRatio ?? Infinity) * (result.estimatedRttMs ?? Infinity))
  return Math.max(plausible, measured - (search.lag?.max ?? 0))
}

/**
 * What a fetch takes beyond its round trips here and now: the upper
 * quartile of the completed fetches' excess (0 before any completed).
 */
export function fetchOverhead (search: SearchState): number {
  if (search.overheads.length === 0) {
    return 0
  }
  const sorted = [...search.overheads].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) * 0.75)]
}
