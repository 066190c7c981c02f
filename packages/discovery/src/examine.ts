/**
 * One candidate in a search: fetch (or reuse) and verify its record, check
 * it against the key it was listed under and the query, hold it as a
 * result, and measure it if it is among the nearest by estimate.
 */

import { multiaddr } from '@multiformats/multiaddr'
import { CustomProgressEvent } from 'progress-events'
import { asError, errorName } from '@shoal/utils'
import { CONFIRM_REFINE_ROUNDS, CONFIRM_PROBES, FETCH_ROUND_TRIPS } from './constants.js'
import { checkAdvertisement, estimateRtt, matchRecord } from './match.js'
import { recordLevel } from './search-state.js'
import { isAbort } from './utils.js'
import type { FoundUnder } from './index.js'
import type { OpenedPing } from './rtt-probe.js'
import type { HeldResult, SearchRun } from './search-state.js'
import type { PeerId, PeerInfo } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CapabilityRecord, SignedRecord } from '@shoal/records'

/** Fetch (or reuse), verify and match one listed provider, and hold it as a result if it matches. */
export async function examine (run: SearchRun, info: PeerInfo, found: FoundUnder, level: number): Promise<void> {
  const signal = run.signal
  if (signal.aborted) {
    return
  }
  let record = run.ctx.cache.get(info.id)
  // with confirmation, the ping stream is opened beside the record's (see RttProbe#open)
  const pingProtocol = run.state.confirm != null ? run.ctx.pingProtocol() : undefined
  const fetch: Fetch = { fetchMs: 0 }
  try {
    if (record == null) {
      if (!claimFetch(run, info.id)) {
        return
      }
      record = await fetchCandidate(run, info, fetch, pingProtocol)
    }
    checkAdvertisement(record.value, found.capabilityClass, found.cell)
  } catch (err) {
    run.ctx.probe.release(fetch.pinger)
    if (!isAbort(err, signal)) {
      rejected(run, info.id, found, err)
    }
    return
  }

  let confirming = false
  try {
    confirming = hold(run, info, found, level, record, fetch)
  } finally {
    if (!confirming) {
      run.ctx.probe.release(fetch.pinger)
    }
  }
}

/** Count a fetch against the search's budget; false (and the provider skipped) when it is spent. */
function claimFetch (run: SearchRun, peer: PeerId): boolean {
  const search = run.state
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
async function fetchCandidate (run: SearchRun, info: PeerInfo, fetch: Fetch, pingProtocol?: string): Promise<SignedRecord<CapabilityRecord>> {
  const search = run.state
  const signal = run.signal
  const start = performance.now()
  // over a connection already open, a fetch is one round trip (the stream's), not a cold dial's
  const connected = run.ctx.protocol.isConnected(info.id)
  const roundTrips = connected ? 1 : FETCH_ROUND_TRIPS
  const running = search.running.get(info.id.toString())
  if (running != null) {
    running.startedAt = start
    running.roundTrips = roundTrips
  }
  if (pingProtocol != null) {
    // the ping stream is negotiated beside the record's stream, on the same connection
    if (!connected) {
      await run.ctx.protocol.connect(info, run.ctx.probe.signal(signal))
    }
    fetch.pinger = run.ctx.probe.open(info.id, pingProtocol, signal)
  }
  const record = await run.ctx.fetchRecord(info, { signal })
  fetch.fetchMs = performance.now() - start
  run.ctx.cache.set(record)
  const estimate = estimateRtt(run.params.query.coordinate, record.value.coordinate)
  if (estimate != null) {
    search.overheads.push(Math.max(0, fetch.fetchMs - estimate * roundTrips))
  }
  return record
}

/** Count a provider entry that did not give a valid record for its key. */
function rejected (run: SearchRun, peer: PeerId, found: FoundUnder, err: unknown): void {
  const error = asError(err)
  run.state.rejected++
  if (errorName(err) === 'AdvertisementMismatchError') {
    // the record is genuine and stays cached: it may fit another key (a provider that moved)
    run.ctx.stats.rejected++
  } else {
    run.ctx.reject(peer, error)
  }
  run.state.onProgress?.(new CustomProgressEvent('shoal:discovery:rejected', { peerId: peer, cell: found.cell, error }))
}

/**
 * Hold a verified record as a result if it matches the query, and start
 * measuring it if it is among the best `confirm.candidates` by estimate.
 * Returns whether it is measured (and so uses the fetch's ping stream).
 */
function hold (run: SearchRun, info: PeerInfo, found: FoundUnder, level: number, record: SignedRecord<CapabilityRecord>, fetch: Fetch): boolean {
  const search = run.state
  const { query } = run.params
  const match = matchRecord(query, record.value)
  if (!match.matches) {
    search.onProgress?.(new CustomProgressEvent('shoal:discovery:unmatched', { peerId: info.id, reason: match.reason }))
    return false
  }
  if (run.signal.aborted) {
    return false
  }
  const estimatedRttMs = estimateRtt(query.coordinate, record.value.coordinate)
  const streamMs = fetch.fetchMs > 0 ? run.ctx.protocol.streamMs(record) : undefined
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
  confirmResult(run, held, fetch.pinger, streamMs)
  return true
}

/**
 * Probe a verified result in the background; the search waits for it
 * where it could change the order. The record's own stream time (`sample`)
 * and the ping stream's opening (one round trip each, plus processing)
 * count as samples too.
 */
function confirmResult (run: SearchRun, held: HeldResult, opened?: Promise<OpenedPing>, sample?: number): void {
  const search = run.state
  const signal = run.signal
  held.probe = 'running'
  held.bound = sample
  const probes = search.confirm?.probes ?? CONFIRM_PROBES
  const peer = held.result.peerId
  // without a stream opened beside the fetch (a cached record, or opening it failed): a stream of its own
  const measure = (opened ?? Promise.reject(new Error('no ping stream'))).then(
    async ({ stream, openMs }) => {
      held.bound = Math.min(held.bound ?? Infinity, openMs)
      search.wake()
      // after the `probes` rounds the result is measured; rounds beyond refine it while the search
      // still waits for something else, and never hold anything back
      let rounds = 0
      return Math.min(openMs, await run.ctx.probe.pingOn(stream, peer, probes + CONFIRM_REFINE_ROUNDS, run.ctx.probe.signal(signal), (startedAt, rtt) => {
        if (rtt == null) {
          if (rounds === probes - 1) {
            held.lastRoundAt = startedAt
          }
          return
        }
        rounds++
        held.bound = Math.min(held.bound ?? Infinity, rtt)
        if (rounds >= probes) {
          noteMeasured(run, held, held.bound)
        }
        search.wake()
      }, () => search.held.includes(held)))
    },
    async () => run.ctx.measureRtt(peer, { probes, signal })
  )
  void measure
    .then(rtt => {
      noteMeasured(run, held, Math.min(rtt, sample ?? Infinity))
    }, err => {
      if (held.probe === 'measured') {
        // a refining round failed: the rounds before count
        return
      }
      held.probe = 'failed'
      if (!isAbort(err, signal)) {
        run.ctx.log('could not measure %p - %e', held.result.peerId, err)
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
function noteMeasured (run: SearchRun, held: HeldResult, rtt: number): void {
  if (held.probe === 'measured' && !run.state.held.includes(held)) {
    return
  }
  const before = held.probe === 'measured' ? held.result.measuredRttMs ?? Infinity : Infinity
  held.probe = 'measured'
  if (rtt < before) {
    held.result.measuredRttMs = rtt
    run.state.onProgress?.(new CustomProgressEvent('shoal:discovery:measured', { peerId: held.result.peerId, rttMs: rtt, estimatedRttMs: held.result.estimatedRttMs }))
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
