import { quantile } from '../latency/calibrate.js'
import type { RunResult } from '../scenario/driver.js'
import type { MarketSummary } from '../market/analysis.js'

/** The headline figures of a run. */
export interface RunSummary {
  name: string
  seed: number
  peers: number
  /** peers per region and role */
  regions: Record<string, Record<string, number>>
  timing: RunResult['timing']
  memory: RunResult['memory']
  connect: {
    dials: number
    failed: number
    seconds: number
    dial_ms_p50: number | null
    dial_ms_p90: number | null
    connections: number
  }
  pings: {
    count: number
    failed: number
    rtt_ms_p50: number | null
    oracle_ms_p50: number | null
    /** |measured - oracle| / oracle */
    rel_err_p50: number | null
    rel_err_p90: number | null
  }
  jobs: { arrivals: number, dropped: number }
  churn: { crashed: number, left: number, joined: number }
  partitions: number
  /** peers that failed to start */
  peers_failed: number
  /** peers not running at the end, by state */
  final_states: Record<string, number>
  /** event-loop delay during the timeline (1 s windows): high values inflate every timing */
  loop: { p99_ms_median: number | null, p99_ms_max: number | null }
  /** errors recorded from hooks or the process */
  errors: number
  event_counts: Record<string, number>
  /** the market's figures when the scenario has one (the per-job rows go to jobs.csv) */
  market?: Omit<MarketSummary, 'rows'>
}

function num (x: number): number | null {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null
}

/** Computes the {@link RunSummary} of a run. */
export function summarize (result: RunResult): RunSummary {
  const events = result.events
  const of = (type: string): typeof events => events.filter(e => e.type === type)
  const dials = of('dial').filter(e => e.ok === true).map(e => Number(e.ms))
  const pings = of('ping')
  const ok = pings.filter(e => e.ok === true && typeof e.rtt_ms === 'number')
  const rel = ok.map(e => Math.abs(Number(e.rtt_ms) - Number(e.oracle_rtt_ms)) / Number(e.oracle_rtt_ms))
  const regions: Record<string, Record<string, number>> = {}
  const states: Record<string, number> = {}

  for (const p of result.peers) {
    regions[p.region] ??= {}
    regions[p.region][p.role] = (regions[p.region][p.role] ?? 0) + 1
    states[p.state] = (states[p.state] ?? 0) + 1
  }

  const counts: Record<string, number> = {}
  for (const e of events) counts[e.type] = (counts[e.type] ?? 0) + 1
  const runStart = events.find(e => e.type === 'run:start')?.t ?? Infinity
  const loop = events.filter(e => e.type === 'loop' && e.t >= runStart).map(e => Number(e.p99_ms))

  return {
    name: result.scenario.name,
    seed: result.scenario.seed ?? 1,
    peers: result.peers.length,
    regions,
    timing: result.timing,
    memory: result.memory,
    connect: {
      dials: result.connect.dials,
      failed: result.connect.failed,
      seconds: result.connect.seconds,
      dial_ms_p50: num(quantile(dials, 0.5)),
      dial_ms_p90: num(quantile(dials, 0.9)),
      connections: result.connect.connections
    },
    pings: {
      count: pings.length,
      failed: pings.length - ok.length,
      rtt_ms_p50: num(quantile(ok.map(e => Number(e.rtt_ms)), 0.5)),
      oracle_ms_p50: num(quantile(ok.map(e => Number(e.oracle_rtt_ms)), 0.5)),
      rel_err_p50: num(quantile(rel, 0.5)),
      rel_err_p90: num(quantile(rel, 0.9))
    },
    jobs: { arrivals: counts['job:arrival'] ?? 0, dropped: counts['job:dropped'] ?? 0 },
    churn: { crashed: counts['peer:crashed'] ?? 0, left: counts['peer:left'] ?? 0, joined: counts['peer:joined'] ?? 0 },
    partitions: counts.partition ?? 0,
    peers_failed: counts['peer:failed'] ?? 0,
    final_states: states,
    loop: { p99_ms_median: num(quantile(loop, 0.5)), p99_ms_max: loop.length > 0 ? num(Math.max(...loop)) : null },
    errors: counts.error ?? 0,
    event_counts: counts,
    market: withoutRows(result.market)
  }
}

function withoutRows (market: MarketSummary | undefined): Omit<MarketSummary, 'rows'> | undefined {
  if (market == null) return undefined
  const { rows: _rows, ...figures } = market
  return figures
}

function pct (x: number | null): string {
  return x == null ? 'n/a' : `${(x * 100).toFixed(1)}%`
}

function ms (x: number | null): string {
  return x == null ? 'n/a' : `${x.toFixed(1)} ms`
}

function ratio (x: number | null): string {
  return x == null ? 'n/a' : `${x.toFixed(2)}x`
}

/** The market block of {@link formatSummary}. */
function formatMarket (m: Omit<MarketSummary, 'rows'>): string[] {
  const pay = Object.entries(m.payments.total).map(([c, v]) => `${v} ${c}`).join(', ')
  const reasons = Object.entries(m.failure_reasons).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([r, n]) => `${n} ${r}`).join(', ')
  const regionLines = Object.entries(m.per_region).map(([r, f]) =>
    `    ${r.padEnd(14)} ${String(f.jobs).padStart(5)} jobs, ok ${pct(f.job_success_ratio)}, p50 ${ms(f.completion_ms.p50)}, stretch p50 ${ratio(f.e2e_stretch_p50)}, vs cloud ${ratio(f.ratio)}`)
  return [
    `  market     ${m.jobs} jobs: ${m.completed} completed, ${m.late} late, ${m.failed} failed, ${m.unfinished} unfinished; success ${pct(m.job_success_ratio)} (${pct(m.eligible_success_ratio)} of ${m.eligible_jobs} with an eligible provider)`,
    `             completion p50 ${ms(m.completion_ms.p50)}, p90 ${ms(m.completion_ms.p90)}; stretch vs oracle p50 ${ratio(m.e2e_stretch_p50)}, p90 ${ratio(m.e2e_stretch_p90)}`,
    `             cloud p50 ${ms(m.cloud_completion_p50_ms)} vs Shoal ${ms(m.shoal_completion_p50_ms)} on ${m.cloud_pairs} jobs: Shoal / cloud per job, median ${ratio(m.ratio)}; under 10 ms RTT: Shoal ${pct(m.under_10ms_ratio)}, cloud ${pct(m.cloud_under_10ms_ratio)}`,
    `             first quote p50 ${ms(m.first_quote_ms_p50)}; ${m.failovers.total} failovers (${m.failovers.jobs} jobs); ${m.receipts.count} receipts (${m.receipts.stored} stored); ${m.payments.count} payments${pay === '' ? '' : ` (${pay})`}`,
    ...(reasons === '' ? [] : [`             failures: ${reasons}`]),
    ...(m.nat == null
      ? []
      : [`  nat        ${m.nat.nat_providers} of ${m.nat.providers} providers behind NATs (${m.nat.nat_relayed} with a relayed address): ${pct(m.nat.nat_capacity_share)} of the slots, ${pct(m.nat.nat_jobs_share)} of the jobs served; ${m.nat.jobs_relayed} jobs relayed, ${m.nat.jobs_direct_after_upgrade} direct after an upgrade, ${m.nat.relay_refused} refused for relay limits`]),
    ...regionLines,
    ...m.notes.map(n => `             note: ${n}`)
  ]
}

/** A summary as a few readable lines for a terminal. */
export function formatSummary (s: RunSummary): string {
  const regionLines = Object.entries(s.regions).map(([r, roles]) =>
    `    ${r.padEnd(14)} ${Object.entries(roles).map(([role, n]) => `${n} ${role}`).join(', ')}`)
  const states = Object.entries(s.final_states).map(([k, v]) => `${v} ${k}`).join(', ')
  return [
    `scenario ${s.name} (seed ${s.seed}): ${s.peers} peers`,
    ...regionLines,
    `  start      ${s.timing.start_s.toFixed(1)} s; wiring ${s.connect.dials} dials in ${s.connect.seconds.toFixed(1)} s (${s.connect.failed} failed), dial p50 ${ms(s.connect.dial_ms_p50)}, p90 ${ms(s.connect.dial_ms_p90)}`,
    `  settle     ${s.timing.settle_s.toFixed(1)} s (${s.timing.mode === 'virtual' ? 'DHT bootstrap' : 'DHT bootstrap, until the event loop is calm'})`,
    `  run        ${s.timing.run_s.toFixed(1)} s; total ${s.timing.total_s.toFixed(1)} s; memory ${s.memory.rss_mb.toFixed(0)} MB RSS (${s.memory.rss_mb_per_peer.toFixed(1)} MB/peer)`,
    ...(s.timing.mode === 'virtual'
      ? [`  clock      virtual: ${s.timing.total_s.toFixed(1)} simulated s in ${(s.timing.wall_s ?? 0).toFixed(1)} real s (${(s.timing.simulated_per_wall_s ?? 0).toFixed(2)}x real time)${(s.timing.cpu_charged_s ?? 0) > 0 ? `; CPU model charged ${(s.timing.cpu_charged_s ?? 0).toFixed(1)} s` : ''}`]
      : [`  clock      wall; event loop delay p99 during the run: median ${ms(s.loop.p99_ms_median)}, max ${ms(s.loop.p99_ms_max)}`]),
    `  pings      ${s.pings.count} (${s.pings.failed} failed); RTT p50 ${ms(s.pings.rtt_ms_p50)} vs oracle ${ms(s.pings.oracle_ms_p50)}; |error| p50 ${pct(s.pings.rel_err_p50)}, p90 ${pct(s.pings.rel_err_p90)}`,
    `  jobs       ${s.jobs.arrivals} arrivals, ${s.jobs.dropped} dropped`,
    `  churn      ${s.churn.crashed} crashed, ${s.churn.left} left, ${s.churn.joined} rejoined; ${s.partitions} partitions`,
    `  peers      ${states}${s.peers_failed > 0 ? `; ${s.peers_failed} failed to start` : ''}; ${s.errors} errors recorded`,
    ...(s.market == null ? [] : formatMarket(s.market))
  ].join('\n')
}
