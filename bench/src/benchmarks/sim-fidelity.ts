/**
 * `sim-fidelity`: does the simulation transport reproduce the RTTs it is
 * given? One real libp2p node (noise, yamux, identify, ping) per measured
 * city of a latency data set, linked by the sim transport with each pair's
 * measured RTT; libp2p ping between many pairs is compared with the data
 * set. The same run measures the libp2p stack's own ping overhead over the
 * plain `@libp2p/memory` transport (the baseline) and over the sim transport
 * at zero RTT, and reports the geographic latency model's error on pairs left
 * out of its fit.
 *
 * The simulated part runs on virtual time (`--time virtual`, the default):
 * the RTTs measured are the transport's, with no CPU of this machine in
 * them. `--time wall` measures on the real clock, as before. The baselines
 * (the stack's ping cost over `@libp2p/memory` and over the sim transport
 * at zero RTT) measure CPU, so they always run on the wall clock.
 *
 * `--latency PATH` (file or WonderNetwork-style folder), `--sites N`,
 * `--pairs N`, `--pings N`, `--concurrency N`, `--time virtual|wall`.
 */

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { memory } from '@libp2p/memory'
import { ping } from '@libp2p/ping'
import { SimNetwork, calibrateGeographic, createRng, loadLatencyDataset, pool, simTransport } from '@shoal/sim'
import { createLibp2p } from 'libp2p'
import { describeError } from '@shoal/utils'
import { progress } from '../options.js'
import { clockOption, intOption, latencySource, onSimClock, quantile, requireDataSet, round } from '../util.js'
import type { BenchOptions, BenchResult } from '../options.js'
import type { Identify } from '@libp2p/identify'
import type { Connection, Libp2p, StreamMessageEvent, Transport } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { LatencyDataset, Rng } from '@shoal/sim'

type PingNode = Libp2p<{ identify: Identify, ping: Ping }>

async function createPingNode (transport: (components: any) => Transport, listen: string): Promise<PingNode> {
  return createLibp2p({
    addresses: { listen: [listen] },
    transports: [transport],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: { identify: identify(), ping: ping() }
  })
}

/**
 * RTTs of the ping protocol timed with `performance.now()`: 32 bytes out on
 * a `/ipfs/ping/1.0.0` stream, the echo back. The ping service reports whole
 * milliseconds (`Date.now()`), which alone is a 5-10% error on the many
 * pairs under 20 ms; this measures the same exchange at sub-ms resolution.
 */
async function echoRtts (connection: Connection, protocol: string, count: number, signal: AbortSignal): Promise<number[]> {
  const stream = await connection.newStream(protocol, { signal })
  const rtts: number[] = []

  try {
    for (let i = 0; i < count; i++) {
      const payload = crypto.getRandomValues(new Uint8Array(32))
      const echoed = new Promise<void>((resolve, reject) => {
        let received = 0
        const onMessage = (evt: StreamMessageEvent): void => {
          received += evt.data.byteLength

          if (received >= payload.byteLength) {
            stream.removeEventListener('message', onMessage)
            stream.removeEventListener('close', onClose)
            resolve()
          }
        }
        const onClose = (): void => {
          stream.removeEventListener('message', onMessage)
          reject(new Error('ping stream closed before the echo'))
        }
        stream.addEventListener('message', onMessage)
        stream.addEventListener('close', onClose)
      })
      const start = performance.now()
      stream.send(payload)
      await echoed
      rtts.push(performance.now() - start)
    }
  } finally {
    await stream.close().catch(() => {})
  }

  return rtts
}

/** Median ping RTT (as ping reports it) and median wall time of a whole `ping()` call. */
interface StackOverhead {
  ping_rtt_median_ms: number
  ping_call_median_ms: number
}

/** {@link StackOverhead} between two fresh nodes on `transport`. */
async function stackOverhead (transport: () => (components: any) => Transport, listen: [string, string], pings: number): Promise<StackOverhead> {
  const a = await createPingNode(transport(), listen[0])
  const b = await createPingNode(transport(), listen[1])

  try {
    await a.dial(b.getMultiaddrs()[0])
    const rtts: number[] = []
    const calls: number[] = []

    for (let i = 0; i < pings; i++) {
      const start = performance.now()
      rtts.push(await a.services.ping.ping(b.peerId))
      calls.push(performance.now() - start)
    }

    return { ping_rtt_median_ms: quantile(rtts, 0.5), ping_call_median_ms: quantile(calls, 0.5) }
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
}

function geoModelError (dataset: LatencyDataset, seed: number): { geo_model_median_rel_err: number | null, geo: Record<string, unknown> } {
  try {
    const r = calibrateGeographic(dataset, { seed, holdout: 0.2 })
    return {
      geo_model_median_rel_err: round(r.median_rel_err),
      geo: {
        test_pairs: r.test_pairs,
        p90_rel_err: round(r.p90_rel_err),
        plain_median_rel_err: round(r.plain_median_rel_err),
        linear_fit_median_rel_err: round(r.linear_fit_median_rel_err),
        backbone_median_rel_err: round(r.backbone_median_rel_err),
        backbone_p90_rel_err: round(r.backbone_p90_rel_err)
      }
    }
  } catch (err) {
    return { geo_model_median_rel_err: null, geo: { error: describeError(err) } }
  }
}

/** The sites to simulate (at most `maxSites` of those with measured pairs) and the pairs among them to ping (at most `maxPairs`). */
function choosePairs (dataset: LatencyDataset, maxSites: number, maxPairs: number, rng: Rng): { sites: number[], pairs: LatencyDataset['pairs'], rttOf(a: number, b: number): number } {
  const measured = new Map<string, number>()
  const measuredSites = new Set<number>()

  for (const p of dataset.pairs) {
    if (p.a !== p.b && p.rttMs > 0) {
      measured.set(`${p.a},${p.b}`, p.rttMs)
      measuredSites.add(p.a)
      measuredSites.add(p.b)
    }
  }

  const allSites = [...measuredSites].sort((a, b) => a - b)
  const sites = allSites.length > maxSites ? rng.fork('sites').sample(allSites, maxSites).sort((a, b) => a - b) : allSites
  const chosen = new Set(sites)
  const candidates = dataset.pairs.filter(p => p.a !== p.b && p.rttMs > 0 && chosen.has(p.a) && chosen.has(p.b))
  const pairs = candidates.length > maxPairs ? rng.fork('pairs').sample(candidates, maxPairs) : candidates

  const rttOf = (a: number, b: number): number => {
    if (a === b) {
      return 1
    }

    return measured.get(a < b ? `${a},${b}` : `${b},${a}`) ?? measured.get(`${b},${a}`) ?? NaN
  }

  return { sites, pairs, rttOf }
}

/** One ping node per site on `network`, started one after another. */
async function bootNodes (network: SimNetwork, sites: number[]): Promise<{ nodes: Map<number, PingNode>, bootS: number }> {
  const nodes = new Map<number, PingNode>()
  const bootStart = performance.now()

  for (const site of sites) {
    nodes.set(site, await createPingNode(simTransport({ network, site: String(site) }), `/memory/site-${site}`))
  }

  const bootS = (performance.now() - bootStart) / 1000
  progress(`${nodes.size} nodes started in ${bootS.toFixed(1)} s`)
  return { nodes, bootS }
}

/** Per-pair errors of the measured RTT against the data set's. */
interface PairErrors {
  serviceErrs: number[]
  relErrs: number[]
  absErrs: number[]
  signedErrs: number[]
  modelRtts: number[]
  failed: number
}

/** Dials each pair, pings it `pings` times with `ping()` and with the timed echo, and records the errors. */
async function measurePairs (nodes: Map<number, PingNode>, pairs: LatencyDataset['pairs'], pings: number, concurrency: number): Promise<PairErrors> {
  const out: PairErrors = { serviceErrs: [], relErrs: [], absErrs: [], signedErrs: [], modelRtts: [], failed: 0 }
  let done = 0

  await pool(pairs, concurrency, async (pair) => {
    const a = nodes.get(pair.a)
    const b = nodes.get(pair.b)

    if (a == null || b == null) {
      return
    }

    try {
      const signal = AbortSignal.timeout(30_000)
      const connection = await a.dial(b.getMultiaddrs()[0], { signal })
      const serviceRtts: number[] = []

      for (let i = 0; i < pings; i++) {
        serviceRtts.push(await a.services.ping.ping(b.peerId, { signal }))
      }

      const rtts = await echoRtts(connection, '/ipfs/ping/1.0.0', pings, signal)
      await connection.close()

      const want = pair.rttMs
      const got = quantile(rtts, 0.5)
      out.serviceErrs.push(Math.abs(quantile(serviceRtts, 0.5) - want) / want)
      out.relErrs.push(Math.abs(got - want) / want)
      out.absErrs.push(Math.abs(got - want))
      out.signedErrs.push(got - want)
      out.modelRtts.push(want)
    } catch (err) {
      out.failed++
      progress(`pair ${pair.a}-${pair.b} failed: ${describeError(err)}`)
    }

    if (++done % 50 === 0) {
      progress(`${done}/${pairs.length} pairs`)
    }
  })

  return out
}

/** The baseline: the stack's ping over `@libp2p/memory`, and over the sim transport at zero RTT. */
async function measureBaselines (pings: number, seed: number): Promise<{ memory: StackOverhead, sim: StackOverhead }> {
  progress('baseline: ping overhead of the stack over @libp2p/memory and over the sim transport at zero RTT')
  const memoryOverhead = await stackOverhead(() => memory(), ['/memory/sim-fidelity-baseline-a', '/memory/sim-fidelity-baseline-b'], pings)
  const zeroNetwork = new SimNetwork({ seed })
  const simOverhead = await stackOverhead(() => simTransport({ network: zeroNetwork, site: 'here' }), ['/memory/zero-a', '/memory/zero-b'], pings)
  zeroNetwork.close()
  return { memory: memoryOverhead, sim: simOverhead }
}

export async function run (options: BenchOptions): Promise<BenchResult> {
  const data = requireDataSet(options, ['rtt_median_rel_err', 'rtt_p90_rel_err', 'geo_model_median_rel_err'])
  if ('skipped' in data) {
    return data.skipped
  }
  const { path } = data

  const maxSites = intOption(options, 'sites', options.quick ? 40 : 1000)
  const maxPairs = intOption(options, 'pairs', options.quick ? 150 : 800)
  const pingsPerPair = intOption(options, 'pings', 3)
  const concurrency = intOption(options, 'concurrency', options.quick ? 8 : 12)
  const rng = createRng(options.seed)

  progress(`loading ${path}`)
  const dataset = await loadLatencyDataset(path)
  const { sites, pairs, rttOf } = choosePairs(dataset, maxSites, maxPairs, rng)
  progress(`${dataset.sites.length} sites, ${dataset.pairs.length} measured pairs; simulating ${sites.length} sites, pinging ${pairs.length} pairs x ${pingsPerPair}`)

  // the RTT only: jitter and loss would measure the data set's noise, not the transport's fidelity
  // the simulated part, on virtual time by default: what is measured is the network, not this machine's CPU
  const clock = clockOption(options)
  const { value: { errs, bootS, measureS, totals, nodeCount }, figures } = await onSimClock(clock, options.seed, async () => {
    const network = new SimNetwork({
      seed: options.seed,
      linkProfile: (from, to) => ({ rttMs: rttOf(Number(from), Number(to)) })
    })

    const { nodes, bootS } = await bootNodes(network, sites)

    const measureStart = performance.now()
    const errs = await measurePairs(nodes, pairs, pingsPerPair, concurrency)
    const measureS = (performance.now() - measureStart) / 1000
    const totals = network.totals()
    await Promise.all([...nodes.values()].map(async node => node.stop()))
    network.close()
    return { errs, bootS, measureS, totals, nodeCount: nodes.size }
  })

  const baseline = await measureBaselines(options.quick ? 30 : 100, options.seed)

  progress('calibrating the geographic model on held-out pairs')
  const geo = geoModelError(dataset, options.seed)

  return {
    latency_source: latencySource(path),
    ...figures,
    sites_simulated: nodeCount,
    sites_in_data_set: dataset.sites.length,
    pairs_measured: errs.relErrs.length,
    pairs_failed: errs.failed,
    pings_per_pair: pingsPerPair,
    rtt_median_rel_err: round(quantile(errs.relErrs, 0.5), 6),
    rtt_p90_rel_err: round(quantile(errs.relErrs, 0.9), 6),
    ping_service_median_rel_err: round(quantile(errs.serviceErrs, 0.5)),
    ping_service_p90_rel_err: round(quantile(errs.serviceErrs, 0.9)),
    pairs_under_20ms: errs.modelRtts.filter(r => r < 20).length,
    rtt_median_abs_err_ms: round(quantile(errs.absErrs, 0.5), 2),
    rtt_median_bias_ms: round(quantile(errs.signedErrs, 0.5), 2),
    data_set_rtt_median_ms: round(quantile(errs.modelRtts, 0.5), 1),
    boot_s: round(bootS, 1),
    measure_s: round(measureS, 1),
    // both on the run's clock (simulated seconds in virtual time)
    bytes_per_pair: round(totals.bytes / Math.max(1, errs.relErrs.length), 0),
    ...geo,
    baseline: {
      transport: '@libp2p/memory',
      ping_rtt_median_ms: round(baseline.memory.ping_rtt_median_ms, 2),
      ping_call_median_ms: round(baseline.memory.ping_call_median_ms, 3)
    },
    sim_zero_rtt: {
      ping_rtt_median_ms: round(baseline.sim.ping_rtt_median_ms, 2),
      ping_call_median_ms: round(baseline.sim.ping_call_median_ms, 3)
    },
    ratio_ping_call_sim_zero_rtt_vs_memory: round(baseline.sim.ping_call_median_ms / baseline.memory.ping_call_median_ms, 2),
    notes: 'rtt_* errors: |RTT of the /ipfs/ping/1.0.0 exchange timed with performance.now() - data set RTT| / data set RTT per pair (median of the pings); ping_service_*: the same with the RTT ping.ping() reports, in whole ms; data set RTT = mean of the avg of both directions; links carry the RTT only (no jitter or loss)'
  }
}
