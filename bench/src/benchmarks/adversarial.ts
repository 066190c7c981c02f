/**
 * Benchmark `adversarial`: a Shoal job market in the simulator with every
 * adversary behaviour at once, and the defences on half the peers, so
 * each figure has the same run's undefended figure as its baseline.
 *
 * Setup. One scenario run on a measured latency data set (WonderNetwork by
 * default, `--latency PATH`; skipped with a reason when absent), peers
 * placed per continent like `market`: 40 % GPU providers (2 slots,
 * inference 1 s + 0.25 s per unit), the rest requesters. On top:
 * - per provider-side behaviour (silent-provider, wrong-result,
 *   slow-provider, capability-liar, location-liar, equivocator) 10 % of
 *   the providers, as peers of a role named after it (so no peer plays
 *   two); the capability liars have a 12 GB GPU and claim the 24 GB class
 *   the jobs ask for;
 * - 10 % of the requesters are free riders (submitting jobs like the others);
 * - one spammer at 10x the workload's announcement rate;
 * - 20 sybils (a GPU role) advertising in the attacked cell `u` (most of
 *   Europe), never delivering.
 * `market.defences: 'alternate'`: peers of even index run the defences
 * (`shoalServices({ defences: true })`, verification on), odd ones do not
 * (`defences: false`, `verify: false`).
 *
 * Figures (per group, `defended` and `undefended`): see `AdversarialFigures`
 * of @shoal/sim; `per_attack`: per behaviour, the jobs of each group that
 * touched its peers (as requester, or as a provider assigned or running
 * them), completed, success ratio, wrong outputs accepted.
 *
 * Second phase, `discovery_under_sybil` (sybil-discovery.ts): in the
 * market run requesters rarely search the DHT (providers quote on the
 * board first), so discovery recall under the sybils is measured directly
 * in a simulation of its own: honest providers with standing at the
 * searchers (one real job each) and `--sybils` fresh keys advertising in
 * one cell, searched by defended and undefended searchers; its recall is
 * each group's `discovery_recall_under_sybil`. It runs in the full
 * benchmark, and in `--quick` only with `--sybil-phase` (about 13-20 s on
 * 2 shared cores: the quick run would pass 60 s). Knobs:
 * `--phase-honest N` (5), `--phase-searchers N` (3 quick, 6 full),
 * `--phase-k N` (5).
 *
 * Sizes. Full: 200 peers (20 of them sybils), 90 s at 0.3 jobs/s, 20 s
 * deadlines. `--quick`: 40 peers (10 of them sybils), 10 s at 0.6 jobs/s,
 * 12 s deadlines, the DHT bootstrapped early: a smoke run that every
 * behaviour is played and recorded within a minute (its few jobs are each
 * a requester's first; the defences need repeat business to show). Every
 * provider quotes every job on the board, and a 2-core machine keeps up
 * with about 20 quotes a second for all its peers (see `market`). Both in
 * one shard, on virtual time (the run costs its CPU, not its duration:
 * 60 peers took 82 s of wall clock for `--quick`, 40 take 38 s).
 * The sybil-discovery phase runs its own simulation on the wall clock.
 * Knobs: `--peers N`, `--duration S`, `--rate R`,
 * `--shards N`, `--sybils N`, `--time virtual|wall`.
 */

import { runScenario } from '@shoal/sim'
import { progress } from '../options.js'
import { clockOption, intOption, latencySource, numOption, requireDataSet } from '../util.js'
import { CONTINENTS, loopLagP99 } from './market.js'
import { sybilDiscovery } from './sybil-discovery.js'
import type { BenchOptions, BenchResult } from '../options.js'
import type { AdversarySpec, MarketRole, Scenario } from '@shoal/sim'

const FIGURES = ['defended', 'undefended', 'per_attack']

/** Provider-side behaviours, each played by 10 % of the providers. */
const PROVIDER_BEHAVIOURS = ['silent-provider', 'wrong-result', 'slow-provider', 'capability-liar', 'location-liar', 'equivocator']
/** Share of providers per provider-side behaviour, and of requesters that free-ride. */
const ADVERSARY_SHARE = 0.1
/** Share of the (non-sybil) peers that are GPU providers: with 10 % per behaviour, 6 behaviours take 60 % of them */
const GPU_SHARE = 0.5
/** What a sybil asks per unit: above the jobs' price ceiling (10), so discovery finds them but they bid on nothing. */
const SYBIL_PRICE = 1000
/** The cell the sybils advertise in: most of Europe. */
const SYBIL_CELL = 'u'
const GPU: MarketRole = { service: 'gpu', slots: 2, pricePerUnit: 1, compute: { inference: { fixedMs: 1000, perUnitMs: 250, jitter: 0.2 } } }

interface Settings {
  peers: number
  durationS: number
  rate: number
  shards: number
  sybils: number
  quick: boolean
  /** whether the sybil discovery phase runs: always in the full run, in --quick only with --sybil-phase (it would take the quick run past 60 s) */
  sybilPhase: boolean
  /** the sybil discovery phase's sizes (see sybil-discovery.ts) */
  phase: { honest: number, sybils: number, searchers: number, k: number, quick: boolean }
}

function settingsOf (options: BenchOptions): Settings {
  const quick = options.quick
  return {
    peers: intOption(options, 'peers', quick ? 40 : 200),
    durationS: intOption(options, 'duration', quick ? 10 : 90),
    rate: numOption(options, 'rate', quick ? 0.6 : 0.3),
    shards: intOption(options, 'shards', 1),
    sybils: intOption(options, 'sybils', quick ? 10 : 20),
    quick,
    sybilPhase: !quick || options.extra['sybil-phase'] === 'true',
    phase: {
      honest: intOption(options, 'phase-honest', 5),
      sybils: intOption(options, 'sybils', 20),
      searchers: intOption(options, 'phase-searchers', quick ? 3 : 6),
      k: intOption(options, 'phase-k', 5),
      quick
    }
  }
}

/**
 * Peers per continent by share; in each, 40 % providers and the rest
 * requesters, then the adversary roles taken from them round-robin over
 * the continents (so each behaviour is spread over the world).
 */
function regionsOf (set: Settings): Scenario['regions'] {
  // the sybils count among the peers: the run has `peers` nodes in all
  const others = Math.max(CONTINENTS.length, set.peers - set.sybils)
  const counts = CONTINENTS.map(([, share]) => Math.floor(share * others))
  for (let i = 0; counts.reduce((a, b) => a + b, 0) < others; i = (i + 1) % counts.length) counts[i]++
  const roles = counts.map(n => {
    const gpu = Math.max(1, Math.round(GPU_SHARE * n))
    return { gpu, requester: n - gpu } as Record<string, number>
  })
  const providers = roles.reduce((n, r) => n + r.gpu, 0)
  const requesters = roles.reduce((n, r) => n + r.requester, 0)
  let next = 0
  const take = (from: 'gpu' | 'requester', role: string, count: number): void => {
    for (let k = 0; k < count; k++) {
      // the next continent that still has an honest peer of that kind to spare
      for (let tries = 0; tries < roles.length; tries++, next = (next + 1) % roles.length) {
        if (roles[next][from] > 1) break
      }
      roles[next][from]--
      roles[next][role] = (roles[next][role] ?? 0) + 1
      next = (next + 1) % roles.length
    }
  }
  for (const behaviour of PROVIDER_BEHAVIOURS) take('gpu', behaviour, Math.max(1, Math.round(ADVERSARY_SHARE * providers)))
  take('requester', 'free-rider', Math.max(1, Math.round(ADVERSARY_SHARE * requesters)))
  take('requester', 'spammer', 1)
  const regions: Scenario['regions'] = Object.fromEntries(CONTINENTS.map(([name], i) => [name, { peers: counts[i], roles: roles[i] }]))
  // the sybils are extra peers in Europe, where the attacked cell is
  regions.EU = { peers: regions.EU.peers + set.sybils, roles: { ...regions.EU.roles, sybil: set.sybils } }
  return regions
}

/** The benchmark's scenario. */
export function adversarialScenario (set: Settings, latencyPath: string, seed: number): Scenario {
  const adversaries: AdversarySpec[] = [
    ...[...PROVIDER_BEHAVIOURS, 'free-rider', 'spammer'].map(behaviour => ({ behaviour, role: behaviour, fraction: 1 })),
    { behaviour: 'sybil', role: 'sybil', fraction: 1, cell: SYBIL_CELL }
  ]
  return {
    name: 'adversarial-bench',
    description: 'every adversary behaviour at once on measured Internet RTTs, the defences on peers of even index',
    seed,
    durationS: set.durationS,
    latency: { model: 'measured', path: latencyPath },
    links: { loss: 'distance', bandwidthMbps: 100 },
    regions: regionsOf(set),
    connect: { bootstrap: 3, degree: 4, nearby: 0.5 },
    workload: { jobs: { ratePerS: set.rate, from: ['requester', 'free-rider'], kinds: ['inference'] } },
    adversaries,
    market: {
      roles: {
        gpu: GPU,
        ...Object.fromEntries(PROVIDER_BEHAVIOURS.map(b => [b, b === 'capability-liar' ? { ...GPU, gpus: [{ model: 'RTX 3060', vramMib: 12288 }] } : GPU])),
        // sybils crowd the DHT, not the board: priced above every job's ceiling, they quote nothing (and their silence costs no CPU)
        sybil: { ...GPU, pricePerUnit: SYBIL_PRICE },
        'free-rider': { service: 'requester' },
        spammer: { service: 'requester' }
      },
      // jobs in flight at the end get until their deadline: short in the quick run
      // jobs in flight at the end get until their deadline: short in the quick run, which must end within a minute
      jobs: { inference: { units: 2, deadlineS: set.quick ? 12 : 20, gpuClass: 'consumer-24g' } },
      defences: 'alternate',
      advertiseWaitS: set.quick ? 5 : 30
    }
  }
}

export async function run (options: BenchOptions): Promise<BenchResult> {
  const data = requireDataSet(options, FIGURES)
  if ('skipped' in data) return data.skipped
  const set = settingsOf(options)
  const scenario = adversarialScenario(set, data.path, options.seed)
  progress(`adversarial: ${set.peers} peers (${set.sybils} sybils), ${set.durationS} s at ${set.rate} jobs/s, ${set.shards} shard(s), defences on even peers`)
  const result = await runScenario(scenario, {
    shards: set.shards,
    time: clockOption(options),
    tuning: set.quick ? { dhtStartDelayMs: 1_500, dhtStartSpreadMs: 2_000 } : undefined,
    onProgress: (p) => { if (p.phase !== 'run' && p.done === p.total) progress(`  ${p.phase} ${p.done}/${p.total}`) }
  })
  const m = result.market
  if (m == null) throw new Error('the run has no market summary')
  const a = m.adversarial
  const sybil = set.sybilPhase ? await sybilDiscovery(data.path, set.phase, options.seed) : undefined
  return {
    latency_source: latencySource(data.path),
    peers: set.peers,
    sybils: set.sybils,
    shards: set.shards,
    duration_s: set.durationS,
    jobs: m.jobs,
    // discovery recall comes from the direct phase: the market's requesters rarely search
    defended: { ...a.per_group.defended, discovery_recall_under_sybil: sybil?.defended.recall ?? null },
    undefended: { ...a.per_group.undefended, discovery_recall_under_sybil: sybil?.undefended.recall ?? null },
    discovery_under_sybil: sybil ?? { skipped: 'quick run: pass --sybil-phase to measure it' },
    per_attack: a.per_attack,
    spam: a.spam,
    failure_reasons: m.failure_reasons,
    unplayed: result.events.filter(e => e.type === 'adversary:unplayed').map(e => e.behaviour),
    loop_lag_p99_ms: loopLagP99(result),
    timing: result.timing,
    notes: a.notes
  }
}
