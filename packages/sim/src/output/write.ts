import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { eventsToCsv, rowsToCsv } from './csv.js'
import { summarize } from './summary.js'
import { cdfPlot, worldMap } from './svg.js'
import type { RunSummary } from './summary.js'
import type { RunResult } from '../scenario/driver.js'

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

  return plots
}

/**
 * Writes a run to `dir`: `run.json` (scenario, summary, peers, events),
 * `events.csv`, `peers.csv`, `summary.json` and the SVG plots. Returns the
 * summary and the files written.
 */
export async function writeRun (dir: string, result: RunResult): Promise<{ summary: RunSummary, files: string[] }> {
  await mkdir(dir, { recursive: true })
  const summary = summarize(result)
  const files: Record<string, string> = {
    'run.json': JSON.stringify({ scenario: result.scenario, summary, peers: result.peers, links: result.links, events: result.events }, null, 1),
    'summary.json': JSON.stringify(summary, null, 2) + '\n',
    'events.csv': eventsToCsv(result.events),
    'peers.csv': rowsToCsv(result.peers as unknown as Array<Record<string, unknown>>, ['index', 'peer_id', 'role', 'region', 'site', 'country', 'lat', 'lon', 'bootstrap', 'state', 'error']),
    ...runPlots(result)
  }

  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(dir, name), text)
  }

  return { summary, files: Object.keys(files) }
}
