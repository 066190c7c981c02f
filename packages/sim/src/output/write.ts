import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { eventsToCsv, rowsToCsv } from './csv.js'
import { summarize } from './summary.js'
import { cdfPlot, linePlot, PALETTE, worldMap } from './svg.js'
import type { RunSummary } from './summary.js'
import type { MapKey } from './svg.js'
import type { JobRow, MarketSummary } from '../market/analysis.js'
import type { PeerRow, RunResult } from '../scenario/driver.js'

/** Columns of `jobs.csv`, in order. */
const JOB_COLUMNS: ReadonlyArray<keyof JobRow> = ['job', 'kind', 'requester', 'region', 'arrival_s', 'outcome', 'reason', 'provider', 'ms', 'rtt_ms', 'failovers',
  'oracle_provider', 'oracle_ms', 'oracle_busy', 'stretch', 'cloud_region', 'cloud_rtt_ms', 'cloud_ms', 'first_quote_ms', 'connection', 'upgraded']
/** Flow lines drawn at most on the job map (an SVG of many more is too heavy to open). */
const MAX_FLOWS = 2_000
/** Stretch bins of the job map: upper bound, legend label, colour. */
const STRETCH_BINS: ReadonlyArray<{ max: number, label: string, color: string }> = [
  { max: 1.25, label: 'stretch ≤ 1.25', color: PALETTE[2] },
  { max: 2, label: 'stretch ≤ 2', color: PALETTE[0] },
  { max: 4, label: 'stretch ≤ 4', color: PALETTE[4] },
  { max: Infinity, label: 'stretch > 4', color: PALETTE[1] }
]
const NO_ORACLE = { label: 'no oracle', color: '#999' }
const FAILED = { label: 'failed (at requester)', color: PALETTE[7] }

/** The plots of a run, as SVG text by file name. */
export function runPlots (result: RunResult): Record<string, string> {
  const events = result.events
  const pings = events.filter(e => e.type === 'ping' && e.ok === true && typeof e.rtt_ms === 'number')
  const dials = events.filter(e => e.type === 'dial' && e.ok === true)
  const name = result.scenario.name
  const plots: Record<string, string> = {}

  plots['rtt-cdf.svg'] = cdfPlot({
    title: `Round-trip time: libp2p ping vs latency model — ${name}`,
    subtitle: `${result.peers.length} peers, seed ${result.scenario.seed ?? 1}; random pairs of running peers`,
    xLabel: 'RTT (ms)',
    series: [
      { label: 'measured (libp2p ping)', values: pings.map(e => Number(e.rtt_ms)) },
      { label: 'oracle (latency model)', values: pings.map(e => Number(e.oracle_rtt_ms)), dashed: true }
    ],
    clipQuantile: 0.99
  })

  plots['rtt-error-cdf.svg'] = cdfPlot({
    title: `Ping RTT relative error vs oracle — ${name}`,
    subtitle: 'error = (measured − oracle) / oracle; loss shows as retransmission-timeout outliers',
    xLabel: 'relative error (measured − oracle) / oracle',
    series: [{ label: 'ping pairs', values: pings.map(e => (Number(e.rtt_ms) - Number(e.oracle_rtt_ms)) / Number(e.oracle_rtt_ms)) }],
    clipQuantile: 0.98
  })

  plots['connect-cdf.svg'] = cdfPlot({
    title: `Time to dial a peer (handshake, noise, yamux) — ${name}`,
    subtitle: 'wall time of libp2p dial during the initial wiring, by kind of link',
    xLabel: 'dial time (ms)',
    series: ['bootstrap', 'nearby', 'random'].map(kind => ({ label: kind, values: dials.filter(e => e.kind === kind).map(e => Number(e.ms)) })).filter(s => s.values.length > 0),
    clipQuantile: 0.99
  })

  const byIndex = new Map(result.peers.map(p => [p.index, p]))
  // label the links with the shortest and longest RTTs and a few in between, not all of them
  const sorted = [...result.links].sort((a, b) => a.rtt_ms - b.rtt_ms)
  const labelled = new Set<typeof sorted[number]>()
  for (let k = 0; k < 8 && sorted.length > 0; k++) {
    labelled.add(sorted[Math.round(k * (sorted.length - 1) / 7)])
  }
  plots['world-map.svg'] = worldMap({
    title: `Peers and links — ${name}`,
    subtitle: `${result.peers.length} peers by region; ${result.links.length} links of the initial wiring, some labelled with their oracle RTT`,
    peers: result.peers.map(p => ({ lat: p.lat, lon: p.lon, group: p.region })),
    links: result.links.flatMap(l => {
      const a = byIndex.get(l.a)
      const b = byIndex.get(l.b)
      return a == null || b == null ? [] : [{ a, b, label: labelled.has(l) ? `${Math.round(l.rtt_ms)} ms` : undefined }]
    })
  })

  if (result.market != null) Object.assign(plots, marketPlots(result.market, result.peers, name))
  return plots
}

/** The market's plots: completion CDFs, success over time, and a map of who served whom. */
function marketPlots (market: MarketSummary, peers: readonly PeerRow[], name: string): Record<string, string> {
  const rows = market.rows
  const done = rows.filter(r => r.outcome === 'completed' || r.outcome === 'late')
  const values = (pick: (r: JobRow) => number | null, of: readonly JobRow[]): number[] => of.flatMap(r => { const v = pick(r); return v == null ? [] : [v] })
  const plots: Record<string, string> = {}

  plots['completion-cdf.svg'] = cdfPlot({
    title: `Job completion time: Shoal vs oracle vs cloud — ${name}`,
    subtitle: `${market.jobs} jobs, ${market.completed + market.late} completed; arrival to receipt; oracle and cloud over every job that has one`,
    xLabel: 'completion time (ms)',
    series: [
      { label: 'Shoal (measured)', values: values(r => r.ms, done) },
      { label: 'oracle (best provider)', values: values(r => r.oracle_ms, rows), dashed: true },
      { label: 'cloud (nearest region)', values: values(r => r.cloud_ms, rows), dashed: true }
    ],
    clipQuantile: 0.99
  })

  const t = market.over_time
  plots['success-over-time.svg'] = linePlot({
    title: `Jobs completed within their deadline, over time — ${name}`,
    subtitle: `by arrival, ${t.bucket_s.toFixed(1)} s buckets; dashed marks: churn, partitions, heals`,
    xLabel: 'arrival time (s after the run started)',
    yLabel: 'success ratio',
    series: [{ label: 'completed in deadline / jobs', points: t.buckets.map(b => [b.start_s + t.bucket_s / 2, b.ratio] as const) }],
    marks: t.marks.map(k => ({ x: k.t_s, label: k.label }))
  })

  const byIndex = new Map(peers.map(p => [p.index, p]))
  const colorOf = (stretch: number | null): string => stretch == null ? NO_ORACLE.color : (STRETCH_BINS.find(b => stretch <= b.max) ?? STRETCH_BINS[STRETCH_BINS.length - 1]).color
  const flows = done.slice(0, MAX_FLOWS).flatMap(r => {
    const a = r.requester == null ? undefined : byIndex.get(r.requester)
    const b = r.provider == null ? undefined : byIndex.get(r.provider)
    return a == null || b == null ? [] : [{ a, b, color: colorOf(r.stretch) }]
  })
  const failed = rows.filter(r => r.outcome === 'failed').flatMap(r => {
    const a = r.requester == null ? undefined : byIndex.get(r.requester)
    return a == null ? [] : [{ lat: a.lat, lon: a.lon, color: FAILED.color }]
  })
  const keys: MapKey[] = [...STRETCH_BINS, NO_ORACLE].map(b => ({ label: b.label, color: b.color, shape: 'line' as const }))
  keys.push({ label: FAILED.label, color: FAILED.color, shape: 'cross' })
  plots['job-flows.svg'] = worldMap({
    title: `Who served whom — ${name}`,
    subtitle: `a line from requester to provider per completed job${done.length > MAX_FLOWS ? ` (first ${MAX_FLOWS} of ${done.length})` : ''}, coloured by stretch vs the oracle; crosses: failed jobs`,
    peers: peers.map(p => ({ lat: p.lat, lon: p.lon, group: p.region })),
    links: flows,
    marks: failed,
    keys
  })
  return plots
}

/**
 * Writes a run to `dir`: `run.json` (scenario, summary, peers, events),
 * `events.csv`, `peers.csv`, `summary.json`, with a market `jobs.csv`,
 * and the SVG plots. Returns the summary and the files written.
 */
export async function writeRun (dir: string, result: RunResult): Promise<{ summary: RunSummary, files: string[] }> {
  await mkdir(dir, { recursive: true })
  const summary = summarize(result)
  const files: Record<string, string> = {
    'run.json': JSON.stringify({ scenario: result.scenario, summary, peers: result.peers, links: result.links, events: result.events }, null, 1),
    'summary.json': JSON.stringify(summary, null, 2) + '\n',
    'events.csv': eventsToCsv(result.events),
    'peers.csv': rowsToCsv(result.peers as unknown as Array<Record<string, unknown>>, ['index', 'peer_id', 'role', 'region', 'site', 'country', 'lat', 'lon', 'bootstrap', ...(result.scenario.nat != null ? ['nat', 'relay'] : []), 'state', 'error']),
    ...(result.market == null ? {} : { 'jobs.csv': rowsToCsv(result.market.rows as unknown as Array<Record<string, unknown>>, JOB_COLUMNS) }),
    ...runPlots(result)
  }

  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(dir, name), text)
  }

  return { summary, files: Object.keys(files) }
}
