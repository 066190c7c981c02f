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

import { existsSync } from 'node:fs'
import { CompletionTimePolicy, LATE_BINDING_PROBES, Vivaldi, distance, rankCandidates } from '@shoal/router'
import { createRng, loadLatency, placePeers } from '@shoal/sim'
import { progress } from '../options.js'
import { DATA_SET, intOption, latencyPath, quantile, round } from '../util.js'
import type { BenchOptions, BenchResult } from '../options.js'
import type { ScoreCandidate } from '@shoal/router'

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

export async function run (options: BenchOptions): Promise<BenchResult> {
  const path = latencyPath(options)
  if (path == null || !existsSync(path)) {
    const reason = `latency data set not found at ${options.latency ?? `../shared/data/latency/${DATA_SET}`}; pass --latency PATH`
    progress(`skipped: ${reason}`)
    return { skipped: reason, vivaldi_median_rel_err: null, stretch_p50: null }
  }

  const peers = intOption(options, 'peers', options.quick ? 200 : 300)
  const providersCount = intOption(options, 'providers', options.quick ? 70 : 100)
  const decisions = intOption(options, 'decisions', options.quick ? 400 : 1000)
  const rounds = intOption(options, 'rounds', options.quick ? 120 : 200)
  const d = intOption(options, 'd', LATE_BINDING_PROBES)
  const noise = 0.02
  const rng = createRng(options.seed)

  progress(`loading ${path}`)
  const model = await loadLatency(path)
  const site = placePeers(model, peers, rng.fork('placement'))
  const access = Array.from({ length: peers }, () => rng.uniform(0.2, 2))
  const trueRtt = (a: number, b: number): number => a === b ? 0 : model.rtt(site[a], site[b]) + access[a] + access[b]
  const measure = (a: number, b: number): number => Math.max(0.1, trueRtt(a, b) * (1 + rng.normal(0, noise)))

  // Vivaldi: each peer samples two neighbours a round from its 4 nearest and 28 random peers
  progress(`Vivaldi: ${peers} peers, ${rounds} rounds`)
  let t = 0
  const viv = Array.from({ length: peers }, () => new Vivaldi({ rng: () => rng.float(), now: () => t }))
  const neighbours = Array.from({ length: peers }, (_, i) => {
    const others = Array.from({ length: peers }, (_, j) => j).filter(j => j !== i)
    const near = [...others].sort((a, b) => trueRtt(i, a) - trueRtt(i, b)).slice(0, 4)
    return [...new Set([...near, ...rng.sample(others, 28)])]
  })
  for (let r = 0; r < rounds; r++) {
    t += 1000
    for (let i = 0; i < peers; i++) {
      for (let s = 0; s < 2; s++) {
        const j = rng.pick(neighbours[i])
        viv[i].observe(String(j), viv[j].coordinate, measure(i, j))
      }
    }
  }
  const coords = viv.map(v => v.coordinate)
  const relErrs: number[] = []
  for (let i = 0; i < peers; i++) {
    for (let j = i + 1; j < peers; j++) {
      const real = trueRtt(i, j)
      relErrs.push(Math.abs(distance(coords[i], coords[j]) - real) / real)
    }
  }

  // providers with varied load; half advertise a stale free-slot count
  const order = rng.shuffle(Array.from({ length: peers }, (_, i) => i))
  const providers: Provider[] = order.slice(0, providersCount).map(peer => {
    const concurrency = rng.pick([1, 2, 4, 8])
    const busy = rng.int(concurrency + 1)
    const queue = busy === concurrency ? rng.int(4) : 0
    const advertisedFree = rng.bool(0.5) ? concurrency - busy : rng.int(concurrency + 1)
    return { peer, concurrency, busy, queue, advertisedFree }
  })
  const requesters = order.slice(providersCount)
  const hasSlot = (p: Provider): boolean => p.busy < p.concurrency
  const policy = new CompletionTimePolicy()
  // latency-critical inference: two round trips, 20 ms of compute
  const job = { roundTrips: 2, computeTime: 20 }

  progress(`${decisions} decisions, d = ${d}`)
  const stretch: number[] = []
  const randomStretch: number[] = []
  const pingAllStretch: number[] = []
  const completionStretch: number[] = []
  let choseFull = 0
  let probes = 0
  for (let k = 0; k < decisions; k++) {
    const req = rng.pick(requesters)
    const eligible = providers.filter(hasSlot)
    const best = Math.min(...eligible.map(p => trueRtt(req, p.peer)))
    const completion = (p: Provider, rtt: number): number => rtt * job.roundTrips + job.computeTime + (hasSlot(p) ? 0 : (p.queue + 1) * job.computeTime)
    const bestCompletion = Math.min(...providers.map(p => completion(p, trueRtt(req, p.peer))))

    // predicted ranking from coordinates and advertised load
    const predicted: Candidate[] = providers.map(p => ({
      id: String(p.peer),
      provider: p,
      predictedRtt: distance(coords[req], coords[p.peer]),
      freeSlots: p.advertisedFree,
      concurrency: p.concurrency,
      reputation: 0.9
    }))
    const ranked = rankCandidates(predicted, job, policy).choices.slice(0, d)
    // late binding: probe the d best for measured RTT and current load
    const probed: Candidate[] = ranked.map(c => ({
      ...c.candidate,
      predictedRtt: undefined,
      rtt: measure(req, c.candidate.provider.peer),
      freeSlots: c.candidate.provider.concurrency - c.candidate.provider.busy,
      queueLength: c.candidate.provider.queue
    }))
    probes += probed.length
    const chosen = rankCandidates(probed, job, policy).choices[0].candidate.provider
    if (!hasSlot(chosen)) {
      choseFull++
    }
    const chosenRtt = trueRtt(req, chosen.peer)
    stretch.push(chosenRtt / best)
    completionStretch.push(completion(chosen, chosenRtt) / bestCompletion)

    randomStretch.push(trueRtt(req, rng.pick(providers).peer) / best)

    const pinged = eligible.map(p => ({ p, rtt: measure(req, p.peer) })).sort((a, b) => a.rtt - b.rtt)[0]
    pingAllStretch.push(trueRtt(req, pinged.p.peer) / best)
  }

  const p50 = quantile(stretch, 0.5)
  return {
    latency_source: path.endsWith(DATA_SET) ? DATA_SET : path,
    peers,
    providers: providersCount,
    decisions,
    vivaldi_rounds: rounds,
    vivaldi_median_rel_err: round(quantile(relErrs, 0.5)),
    vivaldi_p90_rel_err: round(quantile(relErrs, 0.9)),
    stretch_p50: round(p50),
    stretch_p90: round(quantile(stretch, 0.9)),
    stretch_p99: round(quantile(stretch, 0.99)),
    completion_stretch_p50: round(quantile(completionStretch, 0.5)),
    completion_stretch_p90: round(quantile(completionStretch, 0.9)),
    probes_per_decision: round(probes / decisions, 2),
    chose_full_provider_ratio: round(choseFull / decisions),
    random_stretch_p50: round(quantile(randomStretch, 0.5)),
    random_stretch_p90: round(quantile(randomStretch, 0.9)),
    pingall_stretch_p50: round(quantile(pingAllStretch, 0.5)),
    pingall_stretch_p90: round(quantile(pingAllStretch, 0.9)),
    pingall_probes_per_decision: providersCount,
    ratio_stretch_p50_vs_random: round(p50 / quantile(randomStretch, 0.5)),
    notes: 'stretch: true RTT of the chosen provider / true RTT of the nearest provider with a free slot; completion_stretch: expected completion time (2 RTT + queue + 20 ms compute) of the choice / the best; RTT = data set RTT between the peers\' cities + access legs of 0.2-2 ms; samples carry 2% noise'
  }
}
