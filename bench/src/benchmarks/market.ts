/**
 * Benchmark `market`: a whole Shoal job market in the simulator, against the
 * best placement possible (the oracle), a random pick among the same
 * candidates, and a central cloud.
 *
 * Setup. One scenario run (`runScenario` of `@shoal/sim`, as `shoal-sim run`
 * does it) on a measured latency data set (WonderNetwork by default,
 * `--latency PATH` for another; skipped with a reason when absent). Peers are
 * placed at the data set's cities by population, per continent; 30 %
 * (quick) or 20 % (full) are GPU providers (2 slots, price 1, a compute model per job kind:
 * inference 2 s + 0.5 s per unit, render 5 s + 1 s per unit, log-normal
 * jitter 0.2), the rest requesters. Every peer runs `shoalServices()` for
 * its role: providers advertise through discovery and quote jobs announced
 * on the board; each job of the workload (Poisson arrivals) goes through
 * `submitJob` at a random running requester: signed, published, quoted,
 * ranked, run over `/shoal/work/1.0.0` with failover, the receipt
 * countersigned and stored, the voucher paid.
 *
 * Churn. 30 % of the GPU providers crash (connections reset, state lost)
 * a third into the run and rejoin later: jobs running on them fail over.
 *
 * Baselines in the same run. Requesters pick with the router's ranking on
 * even jobs and at random among the same accepted candidates on odd ones
 * (`choice: 'alternate'`): `random_e2e_stretch_p50` is the random half. The
 * oracle of each job is the eligible provider, up and with a free slot at
 * arrival, that would finish soonest: `roundTrips` (2) x its true RTT + its
 * compute time for this job (the same jitter the provider's executor drew).
 * The cloud baseline sends the same job to the nearest of 20 hyperscaler
 * GPU regions (true RTT; no queueing, no discovery: an idealised cloud), and
 * `under_10ms_ratio` is the share of jobs served by a provider under 10 ms
 * RTT away (for the cloud: whose nearest region is). Stretch = completion
 * time (arrival to countersigned receipt) / oracle time.
 *
 * Sizes. Full: 200 peers, 90 s at 0.25 jobs/s (inference and render).
 * `--quick`: 60 peers, 20 s at 1 job/s (inference), the DHT bootstrapped
 * early. Both in one shard (on virtual time one thread is quicker than 2 shards in rounds: 55 vs 65 s for --quick). Knobs: `--peers N`, `--duration S`, `--rate R`, `--shards N`,
 * `--churn F` (share of GPU providers that crash, 0.3), `--gpu-share F`, `--time virtual|wall`.
 *
 * Why these rates: every provider that can serve a job announced on the
 * board quotes it, over a connection of its own to the requester (noise
 * handshake, identify), and all the peers share the machine's 2 cores. At
 * 200 peers with 60 providers and 2 jobs/s that is 120 quotes a second,
 * most on new connections, and the event loops fall tens of seconds
 * behind (every job then times out). A real network spreads that work over
 * 200 machines; here it is kept near 20 quotes a second.
 *
 * The simulator runs on virtual time (`--time virtual`, the default):
 * the machine's CPU is not in any delay. `--time wall` runs it on the wall
 * clock, where on a busy CPU every delay grows (`loop_lag_p99_ms` says how
 * busy it was; null on virtual time).
 */

import { runScenario } from '@shoal/sim'
import { progress } from '../options.js'
import { clockOption, intOption, latencySource, numOption, requireDataSet, round } from '../util.js'
import type { BenchOptions, BenchResult } from '../options.js'
import type { ComputeModel, MarketFigures, MarketJobKind, RunResult, Scenario } from '@shoal/sim'

const FIGURES = ['job_success_ratio', 'e2e_stretch_p50', 'e2e_stretch_p90', 'random_e2e_stretch_p50', 'cloud_completion_p50_ms', 'shoal_completion_p50_ms', 'under_10ms_ratio']

/** Share of peers per continent (the data set's cities are weighted by population within each). */
export const CONTINENTS: Array<[string, number]> = [['EU', 0.32], ['NA', 0.28], ['AS', 0.26], ['SA', 0.07], ['OC', 0.07]]
/** A GPU provider's compute time per job kind. */
const COMPUTE: Record<string, ComputeModel> = {
  inference: { fixedMs: 2000, perUnitMs: 500, jitter: 0.2 },
  render: { fixedMs: 5000, perUnitMs: 1000, jitter: 0.2 }
}
/** What each job kind asks for. */
const JOBS: Record<string, MarketJobKind> = {
  inference: { units: 2, deadlineS: 20 },
  render: { units: 4, deadlineS: 40 }
}

interface Settings {
  peers: number
  durationS: number
  rate: number
  shards: number
  churn: number
  /** share of the peers that are GPU providers */
  gpuShare: number
  quick: boolean
}

function settingsOf (options: BenchOptions): Settings {
  const quick = options.quick
  return {
    peers: intOption(options, 'peers', quick ? 60 : 200),
    durationS: intOption(options, 'duration', quick ? 20 : 90),
    rate: numOption(options, 'rate', quick ? 1 : 0.25),
    gpuShare: numOption(options, 'gpu-share', quick ? 0.3 : 0.2),
    shards: intOption(options, 'shards', 1),
    churn: numOption(options, 'churn', 0.3),
    quick
  }
}

/** Peers and roles per continent: `peers` apportioned by share, about 30 % GPU providers in each. */
function regionsOf (peers: number, gpuShare: number): Scenario['regions'] {
  const counts = CONTINENTS.map(([, share]) => Math.floor(share * peers))
  for (let i = 0; counts.reduce((a, b) => a + b, 0) < peers; i = (i + 1) % counts.length) counts[i]++
  return Object.fromEntries(CONTINENTS.map(([name], i) => {
    const gpu = Math.max(1, Math.round(gpuShare * counts[i]))
    return [name, { peers: counts[i], roles: { gpu, requester: counts[i] - gpu } }]
  }))
}

/** The benchmark's scenario. */
export function marketScenario (set: Settings, latencyPath: string, seed: number): Scenario {
  const crashAtS = Math.round(set.durationS / 3)
  const kinds = set.quick ? ['inference'] : ['inference', 'render']
  return {
    name: 'market-bench',
    description: 'GPU providers and requesters on measured Internet RTTs, providers crashing mid-job, router and random choice on alternate jobs',
    seed,
    durationS: set.durationS,
    latency: { model: 'measured', path: latencyPath },
    links: { loss: 'distance', bandwidthMbps: 100 },
    regions: regionsOf(set.peers, set.gpuShare),
    connect: { bootstrap: 3, degree: 4, nearby: 0.5 },
    workload: { jobs: { ratePerS: set.rate, from: ['requester'], kinds } },
    churn: set.churn > 0 ? [{ atS: crashAtS, action: 'crash', role: 'gpu', fraction: set.churn, rejoinAfterS: Math.max(5, Math.round(set.durationS / 3)) }] : [],
    market: {
      roles: {
        gpu: {
          slots: 2,
          pricePerUnit: 1,
          compute: Object.fromEntries(kinds.map(k => [k, COMPUTE[k]]))
        }
      },
      jobs: Object.fromEntries(kinds.map(k => [k, JOBS[k]])),
      choice: 'alternate',
      advertiseWaitS: set.quick ? 5 : 30
    }
  }
}

/** The median over the run of the event loop's p99 lag, ms: how busy the machine was. */
export function loopLagP99 (result: RunResult): number | null {
  const start = result.events.find(e => e.type === 'run:start')?.t ?? 0
  const lags = result.events.filter(e => e.type === 'loop' && e.t >= start).map(e => Number(e.p99_ms)).filter(Number.isFinite).sort((a, b) => a - b)
  return lags.length === 0 ? null : lags[Math.floor(lags.length / 2)]
}

function pick (f: MarketFigures | undefined): Record<string, unknown> {
  if (f == null) return {}
  return {
    jobs: f.jobs,
    completed: f.completed,
    job_success_ratio: round(f.job_success_ratio ?? NaN, 3),
    e2e_stretch_p50: f.e2e_stretch_p50,
    e2e_stretch_p90: f.e2e_stretch_p90,
    completion_p50_ms: f.completion_ms.p50
  }
}

export async function run (options: BenchOptions): Promise<BenchResult> {
  const data = requireDataSet(options, FIGURES)
  if ('skipped' in data) return data.skipped
  const set = settingsOf(options)
  const scenario = marketScenario(set, data.path, options.seed)
  progress(`market: ${set.peers} peers (${Object.values(scenario.regions).reduce((n, r) => n + (r.roles?.gpu ?? 0), 0)} GPU providers), ${set.durationS} s at ${set.rate} jobs/s, ${set.shards} shard(s), ${Math.round(set.churn * 100)} % of providers crash at ${Math.round(set.durationS / 3)} s`)
  let last = ''
  const result = await runScenario(scenario, {
    shards: set.shards,
    time: clockOption(options),
    tuning: set.quick ? { dhtStartDelayMs: 1_500, dhtStartSpreadMs: 2_000 } : undefined,
    onProgress: (p) => {
      const line = p.phase === 'run' ? `run ${Math.floor(p.elapsedS / 10) * 10}/${p.durationS} s` : `${p.phase} ${p.done}/${p.total}`
      if (line !== last && (p.phase === 'run' || p.done === p.total)) progress(`  ${line}`)
      last = line
    }
  })
  const m = result.market
  if (m == null) throw new Error('the run has no market summary')
  const router = m.per_choice.router
  const random = m.per_choice.random
  const crashed = result.events.filter(e => e.type === 'peer:crashed').length
  const failedOver = m.rows.filter(r => r.failovers > 0)

  return {
    latency_source: latencySource(data.path),
    peers: set.peers,
    shards: set.shards,
    duration_s: set.durationS,
    jobs: m.jobs,
    job_success_ratio: m.job_success_ratio,
    eligible_jobs: m.eligible_jobs,
    eligible_success_ratio: m.eligible_success_ratio,
    e2e_stretch_p50: router?.e2e_stretch_p50 ?? null,
    e2e_stretch_p90: router?.e2e_stretch_p90 ?? null,
    random_e2e_stretch_p50: random?.e2e_stretch_p50 ?? null,
    random_e2e_stretch_p90: random?.e2e_stretch_p90 ?? null,
    ratio_stretch_p50_vs_random: router?.e2e_stretch_p50 != null && random?.e2e_stretch_p50 != null ? round(router.e2e_stretch_p50 / random.e2e_stretch_p50, 3) : null,
    shoal_completion_p50_ms: m.shoal_completion_p50_ms,
    cloud_completion_p50_ms: m.cloud_completion_p50_ms,
    ratio_completion_vs_cloud: m.ratio,
    under_10ms_ratio: m.under_10ms_ratio,
    cloud_under_10ms_ratio: m.cloud_under_10ms_ratio,
    oracle_p50_ms: m.oracle_ms_p50,
    first_quote_p50_ms: m.first_quote_ms_p50,
    providers_crashed: crashed,
    jobs_failed_over: failedOver.length,
    jobs_failed_over_completed: failedOver.filter(r => r.outcome === 'completed').length,
    failure_reasons: m.failure_reasons,
    receipts: m.receipts.count,
    payments: m.payments.count,
    by_choice: { router: pick(router), random: pick(random) },
    goal_success: (m.job_success_ratio ?? 0) >= 0.99,
    goal_stretch_p50: (router?.e2e_stretch_p50 ?? Infinity) <= 1.2,
    goal_stretch_p90: (router?.e2e_stretch_p90 ?? Infinity) <= 2.0,
    loop_lag_p99_ms: loopLagP99(result),
    timing: result.timing,
    notes: 'stretch: completion (arrival to countersigned receipt) / oracle (eligible provider up with a free slot at arrival that finishes soonest: 2 x true RTT + its compute for the job); e2e_stretch_*: jobs ranked by the router, random_*: alternate jobs with a random order of the same accepted candidates; cloud: the nearest of 20 GPU cloud regions by true RTT, 2 x RTT + the same compute, no queueing; under_10ms: provider (or nearest cloud region) under 10 ms RTT from the requester'
  }
}
