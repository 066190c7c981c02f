/**
 * Benchmark `discovery`: how well @shoal/discovery finds the k providers of
 * a class nearest to a requester, and how fast, on a simulated network of
 * real libp2p nodes.
 *
 * `createSimulation` places the peers at the cities of a measured latency
 * data set (WonderNetwork by default, `--latency PATH` for another) and runs
 * the full stack (noise, yamux, identify, ping, kad-dht, gossipsub) plus
 * `discovery()` on every peer. GPU providers (half `consumer-24g`, half
 * `datacenter-80g`) and capture peers (a `video` sensor) advertise a signed
 * capability record whose geohash comes from their city's coordinates.
 * After the DHT settles, random peers search for the k providers of a class
 * near them (query geohash from their own city), `--concurrency N` (4)
 * requesters at a time.
 *
 * - recall@k: share of the results whose oracle RTT (the latency model's, as
 *   the simulation applies it) is at most that of the k-th nearest matching
 *   provider, so that providers in the same city count as ties;
 * - t_first / t_fifth: time from the call to the first and k-th result;
 * - messages: DHT requests the search sent (its `shoal:discovery:done` summary).
 *
 * In the same run, from the same requester:
 * - baseline: k random providers among the entries of one global provider
 *   key per class (the world cell, advertised by discovery itself through
 *   precision 0), their records fetched and verified like discovery does;
 * - dht_lookup_ms: one plain Kademlia lookup (`getClosestPeers` of a random
 *   key, which runs to convergence like a provide or a lookup of a sparse key);
 *   `dht_find_providers_ms` is the baseline's `findProviders` alone, which
 *   stops early because the global key has many providers.
 *
 * Discovery runs with the options that suit this density (about 50
 * providers of a class over the world; see bench/README.md for why):
 * `--precisions 1` (searched and advertised; discovery's default is 1,2,3;
 * the world cell 0 is always advertised too: the baseline uses it, and the
 * search looks it up beside the 9 one-character cells, where one holder's
 * answer lists every provider of the class), Vivaldi coordinates in records
 * and queries so results come ordered by estimated RTT (`--coordinates
 * false`: none, discovery's default), `--max-candidates 64` and
 * `--max-fetches 64` (discovery's `maxCandidatesPerCell` and
 * `maxFetchesPerQuery`, defaults 20 and 48: a world list of ~50 is only
 * taken as complete if every entry is examined), `--fetch-concurrency 16`
 * (default 8). Coordinates: the router's Vivaldi run for `--vivaldi-rounds`
 * (600) rounds of 2 samples per peer on oracle RTTs (2% noise), to 4 nearest
 * and 28 random peers. `vivaldi_rel_error_p50` says how good they are, and
 * `recall_at_5_by_coordinates` what ranking every matching provider by them
 * would score, and `recall_at_5_confirm_ceiling` what measuring the best
 * `--confirm` of them by coordinates without error would score.
 * Where the rest goes: `missed_per_query` splits the k nearest matching
 * providers by oracle RTT (ties broken arbitrarily) that are not results
 * into those the search measured (and ranked below its results),
 * those among the best `--confirm` by coordinates it did not measure
 * (not fetched, not answering, or the search stopped first), and those
 * outside them (the coordinates' error);
 * `measured_rtt_excess_p50` / `_p90` is how far above the oracle RTT
 * the search's measurements were ((measured - oracle) / oracle, every
 * measured candidate): the CPU's share of a sample.
 *
 * Time. The simulated part (boot, settle, advertising, searches) runs on
 * virtual time by default (`--time virtual`, `onSimClock` in
 * bench/src/util.ts): every clock and timer of the process is simulated
 * and time only moves when the process is idle, so the CPU that 300
 * full-stack nodes spend on one shared machine no longer shows as network
 * delay. What is measured is then the network model and the protocols:
 * `t_*`, `dht_lookup_ms` and the baseline are simulated ms, an RTT a search
 * measures is the link's RTT plus its jitter and the peers' queueing of
 * other messages, nothing of this machine, and `measured_rtt_excess_*` is
 * that share. `simulated_s_per_wall_s` says how fast the run went;
 * `wall_s` is what it cost. Randomness is seeded too, so a seed gives the
 * same run on any machine (save for the order of concurrent work).
 *
 * Time dilation (`--dilate K`; default 1 on virtual time, 16 on the wall
 * clock, `--quick` 2): the way this benchmark kept the CPU out of its
 * figures on the wall clock (`--time wall`), kept so that older figures
 * can be reproduced. There, 300 full-stack nodes on one shared CPU are
 * CPU-bound, and the CPU queueing counted as network delay (a plain lookup
 * took 13.5 s undilated). Every RTT and jitter, the jitter floor and the
 * TCP RTO floor are K times longer, bandwidth K times smaller, and the
 * timeouts of kad-dht (dial, ping, incoming message floors) and of
 * discovery (provide, lookup, fetch) and of the benchmark's own waits K
 * times longer; every time reported (`t_*`, `dht_lookup_ms`, baseline) is
 * measured / K. Vivaldi runs on the dilated RTTs, so record coordinates are
 * in dilated ms, as the search's fetch timing sees them. Why 16 on the wall
 * clock: at 300 peers the loop still lagged 0.2 s of wall clock at p99 (12
 * ms simulated), and a search that measures RTTs measures that too;
 * recall@5 was 0.67 at 4, 0.77 at 8 and 0.88 at 16 (bench/README.md). On
 * virtual time there is no such lag and dilation changes nothing but the
 * run's length. `loop_lag_p99_ms` (the event loop's p99 delay during the
 * searches, wall-clock ms) is a wall-clock figure: null on virtual time.
 *
 * This measures discovery's search alone (`findNearby` from a requester
 * already in the network), not the requester's whole flow (`submitJob` of
 * @shoal/node: publish, find, rank, run, receipt): recall and time to the
 * k-th result are the search's figures, which ranking and running would blur.
 *
 * Other knobs: `--peers N`, `--gpus N`, `--captures N`, `--queries N`,
 * `--k N`, `--reveal N` (geohash characters a provider reveals, 5),
 * `--confirm N` (candidates whose RTT a search measures before ranking,
 * discovery's `confirm.candidates`, default 2 k; 0: rank by coordinates
 * only), `--probes P` (ping rounds per candidate, the minimum with the
 * record stream's and the ping stream opening's times counts; discovery's
 * default, 1), `--trust R` (discovery's `confirm.trustRatio`: a measured
 * candidate ranks by min(measured, R x estimated); default 1.5, `Infinity`
 * trusts measurements whole),
 * `--concurrency N`, `--fetch-timeout MS`, `--lookup-timeout MS`
 * (discovery's, 5,000 and 10,000, undilated), `--time virtual|wall`.
 */

import { monitorEventLoopDelay } from 'node:perf_hooks'
import { CONFIRM_PROBES, CONFIRM_TRUST_RATIO, capabilityKey, discovery, encodeGeohash, estimateRtt } from '@shoal/discovery'
import { createRng, createSimulation, loadLatency, pool } from '@shoal/sim'
import { describeError } from '@shoal/utils'
import { progress } from '../options.js'
import { clockOption, convergeVivaldi, dilated, dilatedNetwork, intListOption, intOption, latencySource, mean, numOption, onSimClock, quantile, requireDataSet, round, skipped } from '../util.js'
import type { BenchOptions, BenchResult } from '../options.js'
import type { BenchClock } from '../util.js'
import type { PeerId, PeerInfo } from '@libp2p/interface'
import type { Discovery, NearbyQuery, Offer, SearchSummary } from '@shoal/discovery'
import type { NetworkCoordinate } from '@shoal/records'
import type { LatencyModel, Rng, SimPeer, Simulation } from '@shoal/sim'

type Services = { discovery: Discovery }
type Peer = SimPeer<Services>

interface ClassSpec {
  /** capability class (`gpu:...` or `sensor:...`) */
  name: string
  /** role of the peers offering it */
  role: string
  offer: Omit<Offer, 'geohash'>
  query: Omit<NearbyQuery, 'geohash'>
}

const PRICE = { perUnit: 10, currency: 'USDC', unit: 'gpu-second' }

const CLASSES: ClassSpec[] = [
  {
    name: 'gpu:consumer-24g',
    role: 'gpu-consumer',
    offer: { gpus: [{ model: 'RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 1 }], price: PRICE, concurrency: 2 },
    query: { gpuClass: 'consumer-24g' }
  },
  {
    name: 'gpu:datacenter-80g',
    role: 'gpu-datacenter',
    offer: { gpus: [{ model: 'H100', class: 'datacenter-80g', vramMib: 81920, count: 1 }], price: PRICE, concurrency: 4 },
    query: { gpuClass: 'datacenter-80g' }
  },
  {
    name: 'sensor:video',
    role: 'capture',
    offer: { sensors: ['video'], price: { perUnit: 1, currency: 'USDC', unit: 'footage-second' } },
    query: { sensors: ['video'] }
  }
]

interface QueryResult {
  cls: string
  recall: number
  found: number
  tFirst?: number
  tFifth?: number
  messages: number
  lookups: number
  fetches: number
  /** precision of the cell each result was found under */
  precisions: number[]
  /** oracle RTT of the results / of the k nearest, means */
  rttRatio: number
  baselineRecall: number
  /** recall of the k nearest by coordinates among all matching providers: what a perfect search on these coordinates gets */
  coordinateRecall: number
  /** recall of the k nearest by oracle RTT among the best `confirm` candidates by coordinates: what perfect measurement of those gets */
  confirmRecall: number
  /** the k nearest by oracle RTT that are not results: measured by the search, among the best `confirm` by coordinates but not measured, or outside them */
  missed: { measured: number, unmeasured: number, outside: number }
  /** (measured - oracle RTT) / oracle RTT of every candidate the search measured */
  measuredExcess: number[]
  baselineMs?: number
  baselineRttRatio: number
  findProvidersMs?: number
  lookupMs?: number
  lookupMessages: number
  error?: string
}

/**
 * Recall@k with ties: a result counts when its oracle RTT is no more than
 * the k-th nearest matching provider's (several providers share a city).
 */
function recallAt (k: number, results: number[], candidates: number[], rtt: (p: number) => number): { recall: number, rttRatio: number } {
  const sorted = candidates.map(rtt).sort((a, b) => a - b)
  const want = Math.min(k, sorted.length)
  if (want === 0) {
    return { recall: NaN, rttRatio: NaN }
  }
  const threshold = sorted[want - 1] + 1e-9
  const hits = results.slice(0, k).filter(p => rtt(p) <= threshold).length
  const best = mean(sorted.slice(0, want))
  return { recall: Math.min(hits, want) / want, rttRatio: results.length === 0 ? NaN : mean(results.slice(0, k).map(rtt)) / best }
}

function geohashOf (peer: Peer, precision: number): string {
  return encodeGeohash(peer.site.lat, peer.site.lon, precision)
}

/** The run's settings, from the command line. */
interface Settings {
  quick: boolean
  peersCount: number
  gpus: number
  captures: number
  queries: number
  k: number
  reveal: number
  precisions: number[]
  coordinates: boolean
  maxCandidates: number
  maxFetches: number
  fetchConcurrency: number
  concurrency: number
  confirm?: number
  probes?: number
  trustRatio?: number
  fetchTimeoutMs: number
  lookupTimeoutMs: number
  vivaldiRounds: number
  /** the clock the simulated part runs on */
  clock: BenchClock
  dilate: number
}

function settingsOf (options: BenchOptions): Settings {
  const clock = clockOption(options)
  return {
    quick: options.quick,
    peersCount: intOption(options, 'peers', options.quick ? 40 : 300),
    gpus: intOption(options, 'gpus', options.quick ? 12 : 100),
    captures: intOption(options, 'captures', options.quick ? 6 : 50),
    queries: intOption(options, 'queries', options.quick ? 6 : 100),
    k: intOption(options, 'k', 5),
    reveal: intOption(options, 'reveal', 5),
    precisions: intListOption(options, 'precisions', [1], n => n >= 0 && n <= 12).filter(p => p > 0),
    coordinates: options.extra.coordinates !== 'false',
    maxCandidates: intOption(options, 'max-candidates', 64),
    maxFetches: intOption(options, 'max-fetches', 64),
    fetchConcurrency: intOption(options, 'fetch-concurrency', 16),
    concurrency: intOption(options, 'concurrency', 4),
    confirm: options.extra.confirm == null ? undefined : intOption(options, 'confirm', 0),
    probes: options.extra.probes == null ? undefined : intOption(options, 'probes', 3),
    trustRatio: options.extra.trust == null ? undefined : options.extra.trust === 'Infinity' ? Infinity : numOption(options, 'trust', CONFIRM_TRUST_RATIO),
    fetchTimeoutMs: intOption(options, 'fetch-timeout', 5_000),
    lookupTimeoutMs: intOption(options, 'lookup-timeout', 10_000),
    vivaldiRounds: intOption(options, 'vivaldi-rounds', 600),
    clock,
    // every network delay and protocol timer is `dilate` times longer: times are measured and reported / dilate;
    // only the wall clock needs it (to keep the shared CPU small against the network), virtual time does not
    dilate: numOption(options, 'dilate', clock === 'virtual' ? 1 : options.quick ? 2 : 16) || 1
  }
}

/** Every peer's role: GPU providers (half of each class), capture peers, plain peers, shuffled. */
function rolesOf (set: Settings, rng: Rng): string[] {
  const { gpus, captures, peersCount } = set
  if (gpus + captures > peersCount) {
    throw new RangeError(`${gpus} GPU providers and ${captures} capture peers do not fit in ${peersCount} peers`)
  }
  const roles = [
    ...Array.from({ length: gpus }, (_, i) => CLASSES[i % 2].role),
    ...Array.from({ length: captures }, () => 'capture'),
    ...Array.from({ length: peersCount - gpus - captures }, () => 'peer')
  ]
  rng.fork('roles').shuffle(roles)
  return roles
}

/** The simulation, every peer running discovery with the settings' options and dilated timeouts. */
async function startSimulation (set: Settings, model: LatencyModel, located: boolean[], roles: string[], seed: number): Promise<Simulation<Services>> {
  const { dilate } = set
  progress(`simulation: ${set.peersCount} peers (${set.gpus} GPU providers, ${set.captures} capture peers), precisions ${set.precisions.join(',')}${set.coordinates ? ', coordinates' : ''}`)
  return createSimulation<Services>({
    peers: set.peersCount,
    latency: model,
    seed,
    roles,
    ...dilatedNetwork(dilate),
    // kad-dht's own timeouts (adaptive, but with floors made for a real network)
    stack: {
      dht: {
        networkDialTimeout: { minTimeout: 5_000 * dilate, maxTimeout: 60_000 * dilate },
        pingOldContactTimeout: { minTimeout: 5_000 * dilate, maxTimeout: 60_000 * dilate },
        pingNewContactTimeout: { minTimeout: 5_000 * dilate, maxTimeout: 60_000 * dilate },
        incomingMessageTimeout: 10_000 * dilate
      }
    },
    // only cities with coordinates: a provider's geohash comes from them
    placement: { weights: (site) => located[site.id] ? (site.population ?? 1) : 0 },
    services: (peer) => ({
      discovery: discovery({
        // the world cell (0) too, so the baseline's global key exists; searches are the same either way
        precisions: [0, ...set.precisions],
        maxCandidatesPerCell: set.maxCandidates,
        maxFetchesPerQuery: set.maxFetches,
        fetchConcurrency: set.fetchConcurrency,
        confirm: { candidates: set.confirm, probes: set.probes, trustRatio: set.trustRatio },
        // provides queue behind the CPU while 150 providers advertise at once
        provideTimeoutMs: 60_000 * dilate,
        // on a CPU-bound simulation everything is slower than real time: these scale with it
        fetchTimeoutMs: set.fetchTimeoutMs * dilate,
        lookupTimeoutMs: set.lookupTimeoutMs * dilate,
        // every search starts cold, as a fresh requester's would
        recordCacheTtlMs: 1,
        random: () => peer.rng.float()
      })
    }),
    // --quick: bootstrap the DHT sooner than the harness's default (it waits ~100 ms per peer)
    ...(set.quick ? { dhtStartDelayMs: 1_500, dhtStartSpreadMs: 2_000 } : {}),
    onProgress: (p) => {
      if (p.total > 0 && (p.done === p.total || p.done % 100 === 0)) {
        progress(`  ${p.phase} ${p.done}/${p.total}`)
      }
    }
  })
}

/** Vivaldi coordinates of the running peers (by index) from oracle RTTs, as the router would converge to, and their relative error over 2,000 random pairs. */
function coordinatesOf (sim: Simulation<Services>, running: Peer[], rng: Rng, rounds: number): { coords: Map<number, NetworkCoordinate>, errors: number[] } {
  const converged = convergeVivaldi(running.length, (a, b) => sim.rtt(running[a], running[b]), rng.fork('vivaldi'), rounds)
  const coords = new Map(running.map((p, i) => [p.index, converged[i]]))
  const errors: number[] = []
  const erng = rng.fork('vivaldi-error')
  for (let n = 0; n < 2000; n++) {
    const [a, b] = erng.sample(running, 2)
    const est = estimateRtt(coords.get(a.index), coords.get(b.index))
    const truth = sim.rtt(a, b)
    if (est != null && truth > 0) errors.push(Math.abs(est - truth) / truth)
  }
  return { coords, errors }
}

/** What advertising cost, and which providers of each class advertised. */
interface Advertised {
  byClass: Map<string, number[]>
  provides: number
  provideMessages: number
  retried: number
  advertiseFailed: number
  seconds: number
}

/** Every provider advertises its offer; a provide that reached no DHT peer is retried (advertise provides only the keys still missing). */
async function advertiseAll (running: Peer[], set: Settings, coords: Map<number, NetworkCoordinate> | undefined): Promise<Advertised> {
  const providers = running.filter(p => p.role !== 'peer')
  const out: Advertised = { byClass: new Map(CLASSES.map(c => [c.name, []])), provides: 0, provideMessages: 0, retried: 0, advertiseFailed: 0, seconds: 0 }
  const tAdv = performance.now()
  // --quick: every provider at once (a small network waits on RTTs more than on the CPU)
  await pool(providers, set.quick ? 24 : 12, async (p) => {
    const cls = CLASSES.find(c => c.role === p.role)
    if (cls == null || p.node == null) {
      return
    }
    const offer = { ...cls.offer, geohash: geohashOf(p, set.reveal), coordinate: coords?.get(p.index) }
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const result = await p.node.services.discovery.advertise(offer, { signal: AbortSignal.timeout(120_000 * set.dilate) })
        out.provideMessages += result.messages
        out.provides += result.provided.length
        if (attempt === 0) out.byClass.get(cls.name)?.push(p.index)
        if (result.failed.length === 0) return
        out.retried += result.failed.length
      } catch (err) {
        progress(`  advertise of peer ${p.index} failed: ${describeError(err)}`)
      }
    }
    out.advertiseFailed++
  })
  out.seconds = (performance.now() - tAdv) / 1000
  progress(`advertised ${providers.length} providers: ${out.provides} provides, ${out.provideMessages} DHT messages, ${out.retried} retried, ${out.advertiseFailed} providers with keys missing, ${round(out.seconds, 1)} s`)
  return out
}

/** What every query needs: the simulation, settings, coordinates, who provides what, and the queries' random source. */
interface QueryContext {
  sim: Simulation<Services>
  set: Settings
  coords?: Map<number, NetworkCoordinate>
  byClass: Map<string, number[]>
  qrng: Rng
}

/** One query's requester, class, and the matching providers other than itself with their oracle RTT from it. */
interface Query {
  from: Peer
  node: NonNullable<Peer['node']>
  cls: ClassSpec
  candidates: number[]
  rtt(p: number): number
  indexOf(id: PeerId): number
}

/** 1. discovery's search for the k nearest; records its results, times, cost and what it measured. */
async function search (ctx: QueryContext, q: Query, result: QueryResult): Promise<{ found: number[], measured: Map<number, number> }> {
  const { k, reveal, precisions, dilate } = ctx.set
  const query: NearbyQuery = { ...q.cls.query, geohash: geohashOf(q.from, Math.max(reveal, ...precisions, 1)), coordinate: ctx.coords?.get(q.from.index) }
  const found: number[] = []
  let summary: SearchSummary | undefined
  /** lowest measured RTT of each candidate the search measured, in the simulation's (dilated) ms */
  const measured = new Map<number, number>()
  const t0 = performance.now()
  try {
    for await (const r of q.node.services.discovery.findNearby(query, {
      k,
      signal: AbortSignal.timeout(60_000 * dilate),
      onProgress: (evt) => {
        if (evt.type === 'shoal:discovery:done') summary = evt.detail
        if (evt.type === 'shoal:discovery:measured') measured.set(q.indexOf(evt.detail.peerId), evt.detail.rttMs)
      }
    })) {
      const ms = (performance.now() - t0) / dilate
      found.push(q.indexOf(r.peerId))
      result.precisions.push(r.found.precision)
      if (found.length === 1) result.tFirst = ms
      if (found.length === k) result.tFifth = ms
    }
  } catch (err) {
    result.error = describeError(err)
  }
  result.found = found.length
  result.messages = summary?.messages ?? 0
  result.lookups = summary?.lookups ?? 0
  result.fetches = summary?.fetches ?? 0
  return { found, measured }
}

/** Where the search's recall stands against what its coordinates and measurements allowed, and where its misses went. */
function scoreSearch (ctx: QueryContext, q: Query, found: number[], measured: Map<number, number>, result: QueryResult): void {
  const { k, confirm } = ctx.set
  const { candidates, rtt } = q
  const coords = ctx.coords
  if (coords != null) {
    const est = (p: number): number => estimateRtt(coords.get(q.from.index), coords.get(p)) ?? Infinity
    const byEstimate = [...candidates].sort((a, b) => est(a) - est(b))
    result.coordinateRecall = recallAt(k, byEstimate, candidates, rtt).recall
    const confirmSet = byEstimate.slice(0, Math.max(k, confirm ?? 2 * k))
    result.confirmRecall = recallAt(k, [...confirmSet].sort((a, b) => rtt(a) - rtt(b)), candidates, rtt).recall
    const nearest = [...candidates].sort((a, b) => rtt(a) - rtt(b)).slice(0, k)
    for (const p of nearest.filter(p => !found.includes(p))) {
      result.missed[measured.has(p) ? 'measured' : confirmSet.includes(p) ? 'unmeasured' : 'outside']++
    }
  }
  for (const [p, ms] of measured) {
    result.measuredExcess.push((ms - rtt(p)) / rtt(p))
  }
  const own = recallAt(k, found, candidates, rtt)
  result.recall = own.recall
  result.rttRatio = own.rttRatio
}

/** 2. one plain DHT lookup: getClosestPeers of a random key. */
async function plainLookup (ctx: QueryContext, q: Query, i: number, result: QueryResult): Promise<void> {
  const key = new Uint8Array(32)
  for (let b = 0; b < key.length; b++) key[b] = ctx.qrng.int(256)
  const t1 = performance.now()
  try {
    for await (const evt of q.node.services.dht.getClosestPeers(key, { signal: AbortSignal.timeout(30_000 * ctx.set.dilate) })) {
      if (evt.name === 'SEND_QUERY') result.lookupMessages++
    }
    result.lookupMs = (performance.now() - t1) / ctx.set.dilate
  } catch (err) {
    progress(`  query ${i}: getClosestPeers failed: ${describeError(err)}`)
  }
}

/** 3. baseline: k random providers of the global key, records fetched and verified. */
async function baseline (ctx: QueryContext, q: Query, i: number, result: QueryResult): Promise<void> {
  const { k, dilate } = ctx.set
  const { node, candidates, rtt } = q
  const t2 = performance.now()
  try {
    const entries = new Map<string, PeerInfo>()
    for await (const evt of node.services.dht.findProviders(capabilityKey(q.cls.name, ''), { signal: AbortSignal.timeout(30_000 * dilate) })) {
      if (evt.name === 'PROVIDER') {
        for (const info of evt.providers) {
          if (!info.id.equals(node.peerId)) entries.set(info.id.toString(), info)
        }
      }
    }
    result.findProvidersMs = (performance.now() - t2) / dilate
    const picks = ctx.qrng.sample([...entries.values()], Math.min(k, entries.size))
    const verified = await Promise.all(picks.map(async info => node.services.discovery.fetchRecord(info, { signal: AbortSignal.timeout(10_000 * dilate) }).then(() => true, () => false)))
    const chosen = picks.filter((_, j) => verified[j]).map(info => q.indexOf(info.id))
    if (chosen.length >= Math.min(k, candidates.length)) {
      result.baselineMs = (performance.now() - t2) / dilate
    }
    const base = recallAt(k, chosen, candidates, rtt)
    result.baselineRecall = base.recall
    result.baselineRttRatio = base.rttRatio
  } catch (err) {
    progress(`  query ${i}: baseline failed: ${describeError(err)}`)
  }
}

/** One query: the search, then from the same requester a plain lookup and the baseline. */
async function runQuery (ctx: QueryContext, from: Peer, cls: ClassSpec, i: number): Promise<QueryResult | undefined> {
  const node = from.node
  if (node == null) {
    return undefined
  }
  const q: Query = {
    from,
    node,
    cls,
    candidates: (ctx.byClass.get(cls.name) ?? []).filter(p => p !== from.index),
    rtt: (p: number): number => ctx.sim.rtt(from, p),
    indexOf: (id: PeerId): number => ctx.sim.peer(id).index
  }
  const result: QueryResult = { cls: cls.name, coordinateRecall: NaN, confirmRecall: NaN, missed: { measured: 0, unmeasured: 0, outside: 0 }, measuredExcess: [], recall: NaN, found: 0, messages: 0, lookups: 0, fetches: 0, precisions: [], rttRatio: NaN, baselineRecall: NaN, baselineRttRatio: NaN, lookupMessages: 0 }

  const { found, measured } = await search(ctx, q, result)
  scoreSearch(ctx, q, found, measured, result)
  await plainLookup(ctx, q, i, result)
  await baseline(ctx, q, i, result)
  return result
}

/**
 * `set.queries` queries from random requesters, the classes in turn,
 * `set.concurrency` at a time; with their time and, on the wall clock, the
 * event loop's p99 lag (null on virtual time, where the loop's real delay
 * delays nothing simulated).
 */
async function runQueries (ctx: QueryContext, running: Peer[]): Promise<{ results: QueryResult[], queriesS: number, lagP99Ms: number | null }> {
  const { set } = ctx
  const plan = Array.from({ length: set.queries }, (_, i) => ({ from: ctx.qrng.pick(running), cls: CLASSES[i % CLASSES.length] }))
  const results: QueryResult[] = []
  const lag = set.clock === 'wall' ? monitorEventLoopDelay({ resolution: 10 }) : undefined
  lag?.enable()
  const tQueries = performance.now()

  await pool(plan, set.concurrency, async (q, i) => {
    const result = await runQuery(ctx, q.from, q.cls, i)
    if (result == null) {
      return
    }
    results.push(result)
    progress(`  query ${i + 1}/${set.queries} (${results.length} done) ${q.cls.name} from ${q.from.site.name}: recall ${round(result.recall, 2)} (baseline ${round(result.baselineRecall, 2)}), ${result.found} found, first ${round(result.tFirst ?? NaN, 0)} ms, fifth ${round(result.tFifth ?? NaN, 0)} ms, lookup ${round(result.lookupMs ?? NaN, 0)} ms, ${result.messages} msgs, cells ${result.precisions.join('')}${result.error != null ? `, ${result.error}` : ''}`)
  })
  lag?.disable()
  return { results, queriesS: (performance.now() - tQueries) / 1000, lagP99Ms: lag == null ? null : lag.percentile(99) / 1e6 }
}

/** The figures over all queries, per class, and where results were found. */
function summarise (results: QueryResult[], set: Settings, byClass: Map<string, number[]>, vivaldiErrors: number[]): BenchResult {
  const { k } = set
  const pick = (f: (r: QueryResult) => number | undefined): number[] => results.map(f).filter((x): x is number => x != null && Number.isFinite(x))
  const tFifth = quantile(pick(r => r.tFifth), 0.5)
  const lookup = quantile(pick(r => r.lookupMs), 0.5)
  const recall = mean(pick(r => r.recall))
  const perClass = Object.fromEntries(CLASSES.map(c => {
    const rs = results.filter(r => r.cls === c.name)
    return [c.name, {
      providers: byClass.get(c.name)?.length ?? 0,
      queries: rs.length,
      recall_at_5: round(mean(rs.map(r => r.recall).filter(Number.isFinite)), 3),
      baseline_recall_at_5: round(mean(rs.map(r => r.baselineRecall).filter(Number.isFinite)), 3),
      t_fifth_ms: round(quantile(rs.map(r => r.tFifth).filter((x): x is number => x != null), 0.5), 0)
    }]
  }))
  const cellCounts: Record<string, number> = {}
  for (const r of results) {
    for (const p of r.precisions) cellCounts[String(p)] = (cellCounts[String(p)] ?? 0) + 1
  }

  return {
    recall_at_5: round(recall, 3),
    recall_at_5_p10: round(quantile(pick(r => r.recall), 0.1), 3),
    found_k_ratio: round(results.filter(r => r.found >= k).length / results.length, 3),
    rtt_ratio_mean: round(mean(pick(r => r.rttRatio)), 3),
    vivaldi_rel_error_p50: round(quantile(vivaldiErrors, 0.5), 3),
    recall_at_5_by_coordinates: round(mean(pick(r => r.coordinateRecall)), 3),
    recall_at_5_confirm_ceiling: round(mean(pick(r => r.confirmRecall)), 3),
    missed_per_query: Object.fromEntries((['measured', 'unmeasured', 'outside'] as const).map(m => [m, round(mean(results.map(r => r.missed[m])), 2)])),
    measured_rtt_excess_p50: round(quantile(results.flatMap(r => r.measuredExcess), 0.5), 3),
    measured_rtt_excess_p90: round(quantile(results.flatMap(r => r.measuredExcess), 0.9), 3),
    t_first_ms: round(quantile(pick(r => r.tFirst), 0.5), 0),
    t_first_p90_ms: round(quantile(pick(r => r.tFirst), 0.9), 0),
    t_fifth_ms: round(tFifth, 0),
    t_fifth_p90_ms: round(quantile(pick(r => r.tFifth), 0.9), 0),
    messages_per_query: round(mean(pick(r => r.messages)), 1),
    lookups_per_query: round(mean(pick(r => r.lookups)), 1),
    fetches_per_query: round(mean(pick(r => r.fetches)), 1),
    results_by_precision: cellCounts,
    baseline_recall_at_5: round(mean(pick(r => r.baselineRecall)), 3),
    baseline_rtt_ratio_mean: round(mean(pick(r => r.baselineRttRatio)), 3),
    baseline_t_fifth_ms: round(quantile(pick(r => r.baselineMs), 0.5), 0),
    dht_lookup_ms: round(lookup, 0),
    dht_lookup_p90_ms: round(quantile(pick(r => r.lookupMs), 0.9), 0),
    dht_lookup_messages: round(mean(pick(r => r.lookupMessages)), 1),
    dht_find_providers_ms: round(quantile(pick(r => r.findProvidersMs), 0.5), 0),
    ratio_t_fifth_vs_dht_lookup: round(tFifth / lookup, 2),
    ratio_recall_vs_baseline: round(recall / mean(pick(r => r.baselineRecall)), 2),
    goal_recall: recall >= 0.8,
    goal_t_fifth: tFifth <= 2 * lookup,
    per_class: perClass,
    errors: results.filter(r => r.error != null).length
  }
}

const SKIPPED_FIGURES = ['recall_at_5', 'baseline_recall_at_5', 't_first_ms', 't_fifth_ms', 'dht_lookup_ms']

export async function run (options: BenchOptions): Promise<BenchResult> {
  const data = requireDataSet(options, SKIPPED_FIGURES)
  if ('skipped' in data) {
    return data.skipped
  }
  const { path } = data
  const set = settingsOf(options)
  const rng = createRng(options.seed)

  progress(`loading ${path}`)
  const model = dilated(await loadLatency(path), set.dilate)
  const located = model.sites.map(s => Number.isFinite(s.lat) && Number.isFinite(s.lon))
  if (!located.some(Boolean)) {
    return skipped(`no site of ${path} has coordinates; discovery needs geohashes`, SKIPPED_FIGURES)
  }

  // the simulated part, on virtual time unless --time wall: boot, settle, advertise, search
  const { value, figures: clock } = await onSimClock(set.clock, options.seed, async () => simulate(set, model, located, rng, options.seed))

  return {
    latency_source: latencySource(path),
    peers: set.peersCount,
    running: value.running,
    gpu_providers: set.gpus,
    capture_peers: set.captures,
    queries: value.results.length,
    k: set.k,
    precisions: set.precisions,
    reveal_precision: set.reveal,
    coordinates: set.coordinates,
    max_candidates_per_cell: set.maxCandidates,
    max_fetches_per_query: set.maxFetches,
    fetch_concurrency: set.fetchConcurrency,
    query_concurrency: set.concurrency,
    confirm_candidates: set.confirm ?? 2 * set.k,
    confirm_probes: set.probes ?? CONFIRM_PROBES,
    confirm_trust_ratio: set.trustRatio ?? CONFIRM_TRUST_RATIO,
    ...clock,
    time_dilation: set.dilate,
    ...value.figures,
    advertise: { provides: value.adv.provides, dht_messages: value.adv.provideMessages, retried_provides: value.adv.retried, providers_with_missing_keys: value.adv.advertiseFailed, seconds: round(value.adv.seconds, 1) },
    // on the run's clock: simulated seconds on virtual time
    boot_s: round(value.bootS, 1),
    settle_s: value.settleS,
    queries_s: round(value.queriesS, 1),
    // wall clock only: on virtual time the loop's delay is no delay of the simulation
    loop_lag_p99_ms: value.lagP99Ms == null ? null : round(value.lagP99Ms, 1),
    notes: `recall@5: share of the 5 results whose oracle RTT is <= that of the 5th nearest matching provider (ties in a city count); rtt_ratio: mean oracle RTT of the results / of the 5 nearest; baseline: 5 random verified providers from the global key of the class (world cell, findProviders stops at 20 entries); dht_lookup_ms: getClosestPeers of a random key from the same requester; t_* and lookup: medians over queries, \`query_concurrency\` requesters searching at once (all three measurements share that load), record cache off; messages: DHT requests sent by the search; times in ${set.clock === 'virtual' ? 'simulated ms (virtual time: no CPU of this machine in them)' : 'wall-clock ms'}${set.dilate === 1 ? '' : ' / time_dilation'}`
  }
}

/** What the simulated part of a run yields. */
interface Simulated {
  running: number
  results: QueryResult[]
  figures: BenchResult
  adv: Advertised
  bootS: number
  settleS: number
  queriesS: number
  lagP99Ms: number | null
}

/** Boots the network, lets the DHT settle, advertises every provider and runs the queries (on whichever clock is installed). */
async function simulate (set: Settings, model: LatencyModel, located: boolean[], rng: Rng, seed: number): Promise<Simulated> {
  const started = performance.now()
  const sim = await startSimulation(set, model, located, rolesOf(set, rng), seed)

  try {
    const bootS = (performance.now() - started) / 1000
    const settleS = await sim.settle(set.quick ? { maxMs: 6_000 } : {})
    const running = sim.running()
    progress(`${running.length}/${set.peersCount} peers running after ${round(bootS, 1)} s boot + ${settleS} s settle`)

    const { coords, errors: vivaldiErrors } = set.coordinates ? coordinatesOf(sim, running, rng, set.vivaldiRounds) : { coords: undefined, errors: [] }

    const adv = await advertiseAll(running, set, coords)
    await sim.settle({ maxMs: set.quick ? 3_000 : 15_000 })

    const ctx: QueryContext = { sim, set, coords, byClass: adv.byClass, qrng: rng.fork('queries') }
    const { results, queriesS, lagP99Ms } = await runQueries(ctx, running)
    const figures = summarise(results, set, adv.byClass, vivaldiErrors)
    return { running: running.length, results, figures, adv, bootS, settleS, queriesS, lagP99Ms }
  } finally {
    await sim.stop()
  }
}
