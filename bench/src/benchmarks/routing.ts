/**
 * Benchmark `routing`: how close @shoal/router's choice comes to the best
 * provider, and at what probing cost.
 *
 * Peers sit at the cities of a measured latency data set (WonderNetwork by
 * default, `--latency PATH` for another), each with a small access leg. Every
 * peer runs the router's Vivaldi against real RTT samples (the data set's RTT
 * with 2% noise) from a few near and random neighbours until it converges.
 * Providers have varied load, and the load their capability records
 * advertise is stale for half of them. For each decision a random requester
 * ranks all providers with the router's CompletionTimePolicy on predicted RTT
 * and advertised load, then late-binds: probes the d best for their measured
 * RTT and current load and picks the best of those.
 *
 * Stretch = true RTT of the chosen provider / true RTT of the best provider
 * that has a free slot (oracle). Baselines in the same run: a random
 * provider, and "ping every candidate" (probe all, pick the lowest RTT with
 * a free slot).
 *
 * This runs the router's decision logic (Vivaldi, scoring, late binding) on
 * the latency model directly rather than over sockets, so 1,000 decisions
 * among 300 peers take seconds; the libp2p protocol that carries probes and
 * coordinates is covered by the router's integration tests.
 */

import { CompletionTimePolicy, LATE_BINDING_PROBES, distance, rankCandidates } from '@shoal/router'
import { createRng, loadLatency, placePeers } from '@shoal/sim'
import { progress } from '../options.js'
import { convergeVivaldi, intOption, latencySource, quantile, requireDataSet, round } from '../util.js'
import type { BenchOptions, BenchResult } from '../options.js'
import type { Coordinate, ScoreCandidate } from '@shoal/router'
import type { Rng } from '@shoal/sim'

interface Provider {
  peer: number
  concurrency: number
  busy: number
  queue: number
  /** free slots in its (possibly stale) capability record */
  advertisedFree: number
}

interface Candidate extends ScoreCandidate {
  provider: Provider
}

/** Relative error of the RTT samples peers measure. */
const NOISE = 0.02

/** Latency-critical inference: two round trips, 20 ms of compute. */
const JOB = { roundTrips: 2, computeTime: 20 }

/** The peers' true RTTs (data set plus access legs) and their noisy samples. */
interface Network {
  trueRtt(a: number, b: number): number
  measure(a: number, b: number): number
}

/** What the decisions collected, one entry per decision. */
interface Decisions {
  stretch: number[]
  randomStretch: number[]
  pingAllStretch: number[]
  completionStretch: number[]
  choseFull: number
  probes: number
}

const hasSlot = (p: Provider): boolean => p.busy < p.concurrency

/** Places `peers` at the data set's cities, each with an access leg of 0.2-2 ms. */
async function loadNetwork (path: string, peers: number, rng: Rng): Promise<Network> {
  progress(`loading ${path}`)
  const model = await loadLatency(path)
  const site = placePeers(model, peers, rng.fork('placement'))
  const access = Array.from({ length: peers }, () => rng.uniform(0.2, 2))
  const trueRtt = (a: number, b: number): number => a === b ? 0 : model.rtt(site[a], site[b]) + access[a] + access[b]
  const measure = (a: number, b: number): number => Math.max(0.1, trueRtt(a, b) * (1 + rng.normal(0, NOISE)))
  return { trueRtt, measure }
}

/** Relative error of the coordinates' distance against the true RTT, over every pair. */
function vivaldiErrors (coords: Coordinate[], trueRtt: Network['trueRtt']): number[] {
  const relErrs: number[] = []
  for (let i = 0; i < coords.length; i++) {
    for (let j = i + 1; j < coords.length; j++) {
      const real = trueRtt(i, j)
      relErrs.push(Math.abs(distance(coords[i], coords[j]) - real) / real)
    }
  }
  return relErrs
}

/** Providers with varied load; half advertise a stale free-slot count. The other peers are requesters. */
function assignProviders (peers: number, count: number, rng: Rng): { providers: Provider[], requesters: number[] } {
  const order = rng.shuffle(Array.from({ length: peers }, (_, i) => i))
  const providers: Provider[] = order.slice(0, count).map(peer => {
    const concurrency = rng.pick([1, 2, 4, 8])
    const busy = rng.int(concurrency + 1)
    const queue = busy === concurrency ? rng.int(4) : 0
    const advertisedFree = rng.bool(0.5) ? concurrency - busy : rng.int(concurrency + 1)
    return { peer, concurrency, busy, queue, advertisedFree }
  })
  return { providers, requesters: order.slice(count) }
}

/**
 * One decision of requester `req`: rank all providers on predicted RTT and
 * advertised load, probe the `d` best (late binding), choose among them.
 * Returns the chosen provider and how many were probed.
 */
function decide (req: number, providers: Provider[], coords: Coordinate[], net: Network, d: number, policy: CompletionTimePolicy): { chosen: Provider, probes: number } {
  const predicted: Candidate[] = providers.map(p => ({
    id: String(p.peer),
    provider: p,
    predictedRtt: distance(coords[req], coords[p.peer]),
    freeSlots: p.advertisedFree,
    concurrency: p.concurrency,
    reputation: 0.9
  }))
  const ranked = rankCandidates(predicted, JOB, policy).choices.slice(0, d)
  // late binding: probe the d best for measured RTT and current load
  const probed: Candidate[] = ranked.map(c => ({
    ...c.candidate,
    predictedRtt: undefined,
    rtt: net.measure(req, c.candidate.provider.peer),
    freeSlots: c.candidate.provider.concurrency - c.candidate.provider.busy,
    queueLength: c.candidate.provider.queue
  }))
  return { chosen: rankCandidates(probed, JOB, policy).choices[0].candidate.provider, probes: probed.length }
}

/** `count` decisions by random requesters, each with its baselines (a random provider, ping every one). */
function runDecisions (count: number, providers: Provider[], requesters: number[], coords: Coordinate[], net: Network, d: number, rng: Rng): Decisions {
  const { trueRtt, measure } = net
  const policy = new CompletionTimePolicy()
  const out: Decisions = { stretch: [], randomStretch: [], pingAllStretch: [], completionStretch: [], choseFull: 0, probes: 0 }
  const completion = (p: Provider, rtt: number): number => rtt * JOB.roundTrips + JOB.computeTime + (hasSlot(p) ? 0 : (p.queue + 1) * JOB.computeTime)

  for (let k = 0; k < count; k++) {
    const req = rng.pick(requesters)
    const eligible = providers.filter(hasSlot)
    const best = Math.min(...eligible.map(p => trueRtt(req, p.peer)))
    const bestCompletion = Math.min(...providers.map(p => completion(p, trueRtt(req, p.peer))))

    const { chosen, probes } = decide(req, providers, coords, net, d, policy)
    out.probes += probes
    if (!hasSlot(chosen)) {
      out.choseFull++
    }
    const chosenRtt = trueRtt(req, chosen.peer)
    out.stretch.push(chosenRtt / best)
    out.completionStretch.push(completion(chosen, chosenRtt) / bestCompletion)

    out.randomStretch.push(trueRtt(req, rng.pick(providers).peer) / best)

    const pinged = eligible.map(p => ({ p, rtt: measure(req, p.peer) })).sort((a, b) => a.rtt - b.rtt)[0]
    out.pingAllStretch.push(trueRtt(req, pinged.p.peer) / best)
  }
  return out
}

export async function run (options: BenchOptions): Promise<BenchResult> {
  const data = requireDataSet(options, ['vivaldi_median_rel_err', 'stretch_p50'])
  if ('skipped' in data) {
    return data.skipped
  }
  const { path } = data

  const peers = intOption(options, 'peers', options.quick ? 200 : 300)
  const providersCount = intOption(options, 'providers', options.quick ? 70 : 100)
  const decisions = intOption(options, 'decisions', options.quick ? 400 : 1000)
  const rounds = intOption(options, 'rounds', options.quick ? 120 : 200)
  const d = intOption(options, 'd', LATE_BINDING_PROBES)
  const rng = createRng(options.seed)

  const net = await loadNetwork(path, peers, rng)

  progress(`Vivaldi: ${peers} peers, ${rounds} rounds`)
  const coords = convergeVivaldi(peers, net.trueRtt, rng, rounds, NOISE)
  const relErrs = vivaldiErrors(coords, net.trueRtt)

  const { providers, requesters } = assignProviders(peers, providersCount, rng)

  progress(`${decisions} decisions, d = ${d}`)
  const r = runDecisions(decisions, providers, requesters, coords, net, d, rng)

  const p50 = quantile(r.stretch, 0.5)
  return {
    latency_source: latencySource(path),
    peers,
    providers: providersCount,
    decisions,
    vivaldi_rounds: rounds,
    vivaldi_median_rel_err: round(quantile(relErrs, 0.5)),
    vivaldi_p90_rel_err: round(quantile(relErrs, 0.9)),
    stretch_p50: round(p50),
    stretch_p90: round(quantile(r.stretch, 0.9)),
    stretch_p99: round(quantile(r.stretch, 0.99)),
    completion_stretch_p50: round(quantile(r.completionStretch, 0.5)),
    completion_stretch_p90: round(quantile(r.completionStretch, 0.9)),
    probes_per_decision: round(r.probes / decisions, 2),
    chose_full_provider_ratio: round(r.choseFull / decisions),
    random_stretch_p50: round(quantile(r.randomStretch, 0.5)),
    random_stretch_p90: round(quantile(r.randomStretch, 0.9)),
    pingall_stretch_p50: round(quantile(r.pingAllStretch, 0.5)),
    pingall_stretch_p90: round(quantile(r.pingAllStretch, 0.9)),
    pingall_probes_per_decision: providersCount,
    ratio_stretch_p50_vs_random: round(p50 / quantile(r.randomStretch, 0.5)),
    notes: 'stretch: true RTT of the chosen provider / true RTT of the nearest provider with a free slot; completion_stretch: expected completion time (2 RTT + queue + 20 ms compute) of the choice / the best; RTT = data set RTT between the peers\' cities + access legs of 0.2-2 ms; samples carry 2% noise'
  }
}
