/**
 * The `adversarial` benchmark's second phase: discovery recall under a
 * sybil crowd, measured directly. In the market run requesters rarely
 * search the DHT (providers quote on the board first), so the run's own
 * searches say little; here every searcher searches the attacked cell.
 *
 * Setup: a simulation of real libp2p peers (the simulator's stack:
 * kad-dht, gossipsub, identify, ping) running Shoal's discovery, and work
 * and a receipt store where the phase needs them, on the measured
 * latency data set, all placed in Europe. `honest` GPU providers and
 * `sybils` fresh keys (no receipts, never delivering) advertise the same
 * offer in one cell (`OFFER_GEOHASH`, in the attacked cell `u09`). Each
 * defended searcher (discovery's `standing` from its receipt store, as a
 * defended full node has it, and the default `newcomerShare`) first runs
 * one real job with every honest provider over /shoal/work/1.0.0
 * (unverified: the job only builds the relation), so its receipt store
 * holds one countersigned receipt with each: standing 1, from real
 * receipts. Undefended searchers (discovery without standing) search the
 * same cell as the baseline.
 *
 * Providers advertise and searchers search at the cell's precision (3)
 * only, not discovery's default 1,2,3: one DHT key per provider keeps
 * the phase short (three keys each made advertising half as long again).
 *
 * Figures per group: recall = honest providers among the k results /
 * min(k, honest), averaged over the group's searches.
 */

import { multiaddr } from '@multiformats/multiaddr'
import { discovery } from '@shoal/discovery'
import { receiptStore } from '@shoal/receipts'
import { JobKind } from '@shoal/records'
import { createSimulation, loadLatency, pool } from '@shoal/sim'
import { describeError } from '@shoal/utils'
import { functionExecutor, work } from '@shoal/work'
import { progress } from '../options.js'
import { round } from '../util.js'
import type { Discovery, DiscoveryComponents } from '@shoal/discovery'
import type { ReceiptStore } from '@shoal/receipts'
import type { SimPeer, SimServiceFactories } from '@shoal/sim'
import type { JobSpec, Work } from '@shoal/work'

/** The cell the sybils attack (precision 3, Paris) and the geohash every provider of it advertises. */
export const SYBIL_DISCOVERY_CELL = 'u09'
const OFFER_GEOHASH = `${SYBIL_DISCOVERY_CELL}tv`
const PRICE = { perUnit: 1, currency: 'USDC', unit: 'gpu-second' }
const GPU = { model: 'RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 1 }
/** The relation-building job each defended searcher runs with each honest provider. */
const SETUP_JOB: JobSpec = { kind: JobKind.GPU_INFERENCE, workload: 'noop', requirements: { gpuClass: 'consumer-24g' }, priceCeiling: PRICE, budget: 10 }
const SETUP_INPUT = new Uint8Array(32).fill(7)

type Services = { discovery: Discovery, work: Work, receipts: ReceiptStore }
type Peer = SimPeer<Services>
type Role = 'honest' | 'sybil' | 'defended' | 'undefended'

/** Sizes of the phase. */
export interface SybilDiscoverySettings {
  honest: number
  sybils: number
  /** searchers per group (defended and undefended) */
  searchers: number
  k: number
  quick: boolean
}

/** One group's searches. */
export interface SybilGroupFigures {
  searches: number
  /** mean of honest found / min(k, honest) */
  recall: number | null
  /** mean results per search */
  results_mean: number | null
  /** searches that threw */
  errors: number
}

/** What the phase reports (merged as `discovery_under_sybil`). */
export interface SybilDiscoveryFigures {
  cell: string
  k: number
  honest_providers: number
  sybils: number
  searchers_per_group: number
  /** honest providers with standing >= 1 at a defended searcher, summed over searchers (of honest x searchers) */
  established_pairs: number
  setup_jobs_failed: number
  defended: SybilGroupFigures
  undefended: SybilGroupFigures
  wall_s: number
  errors?: string[]
}

function rolesOf (set: SybilDiscoverySettings): Role[] {
  return [
    ...Array.from({ length: set.honest }, () => 'honest' as const),
    ...Array.from({ length: set.sybils }, () => 'sybil' as const),
    ...Array.from({ length: set.searchers }, () => 'defended' as const),
    ...Array.from({ length: set.searchers }, () => 'undefended' as const)
  ]
}

/**
 * Each role's services, the parts of `shoalServices()` the phase exercises
 * (the board, router and evidence would only add traffic on every
 * connection): providers with an echo executor, defended searchers with
 * discovery's `standing` from their receipt store, undefended ones without.
 */
function servicesOf (role: Role, random: () => number): SimServiceFactories<Services> {
  // the attacked cell's precision only: one provider key per provider, one cell and its neighbours per search
  const init = { random, precisions: [SYBIL_DISCOVERY_CELL.length] }
  const receipts = receiptStore()
  switch (role) {
    case 'honest':
      return { receipts, work: work({ price: PRICE, executor: functionExecutor(input => input), concurrency: 4 }), discovery: discovery(init) } as unknown as SimServiceFactories<Services>
    case 'defended':
      return {
        receipts,
        work: work(),
        // read when asked: libp2p adds the receipt store to the components once it is built
        discovery: (components: DiscoveryComponents & { receipts?: ReceiptStore }) => discovery({ ...init, standing: (peer) => components.receipts?.standing(peer).counterparties ?? 0 })(components)
      } as unknown as SimServiceFactories<Services>
    default:
      return { discovery: discovery(init) } as unknown as SimServiceFactories<Services>
  }
}

/** Run the phase on the latency data set at `latencyPath`. */
export async function sybilDiscovery (latencyPath: string, set: SybilDiscoverySettings, seed: number): Promise<SybilDiscoveryFigures> {
  const started = performance.now()
  const roles = rolesOf(set)
  const errors: string[] = []
  progress(`sybil discovery: ${set.honest} honest providers + ${set.sybils} sybils in ${SYBIL_DISCOVERY_CELL}, ${set.searchers} searchers per group, k=${set.k}`)
  const sim = await createSimulation<Services>({
    peers: roles.length,
    latency: await loadLatency(latencyPath),
    seed,
    roles,
    placement: { regions: { EU: 1 } },
    services: (peer) => servicesOf(peer.role as Role, () => peer.rng.fork('discovery').float()),
    startConcurrency: 16,
    ...(set.quick ? { dhtStartDelayMs: 500, dhtStartSpreadMs: 1_000 } : {})
  })
  try {
    progress(`  ${sim.running().length} peers started after ${round((performance.now() - started) / 1000, 1)} s`)
    // --quick: advertise as soon as the DHT has started (a provide fills the routing tables it needs)
    await sim.settle(set.quick ? { maxMs: 1_000, calmWindows: 1 } : { maxMs: 10_000 })
    const of = (role: Role): Peer[] => sim.running({ role })
    const honest = of('honest')
    const honestIds = new Set(honest.map(p => p.peerId?.toString()))

    // every provider advertises the same offer in the same cell: only standing tells them apart
    const advertise = pool([...honest, ...of('sybil')], 32, async (p) => {
      try {
        await p.node?.services.discovery.advertise({ geohash: OFFER_GEOHASH, gpus: [GPU], price: PRICE, concurrency: 4 }, { signal: AbortSignal.timeout(30_000) })
      } catch (err) {
        errors.push(`advertise: ${describeError(err)}`)
      }
    })
    // meanwhile one real job from each defended searcher with each honest provider: a countersigned receipt in the searcher's store
    const defended = of('defended')
    const pairs = defended.flatMap(s => honest.map(h => [s, h] as const))
    let setupFailed = 0
    const setup = pool(pairs, 16, async ([s, h]) => {
      if (s.node == null || h.node == null || h.peerId == null) return
      // a stream reset on a busy host is no refusal: try once more
      for (let attempt = 0; ; attempt++) {
        try {
          await s.node.dial(h.node.getMultiaddrs()[0] ?? multiaddr(h.address), { signal: AbortSignal.timeout(10_000) })
          await s.node.services.work.run(h.peerId, SETUP_JOB, SETUP_INPUT, { verify: false, timeoutMs: 15_000 })
          return
        } catch (err) {
          if (attempt < 1) continue
          setupFailed++
          errors.push(`setup job: ${describeError(err)}`)
          return
        }
      }
    })
    await Promise.all([advertise, setup])
    const established = pairs.filter(([s, h]) => h.peerId != null && (s.node?.services.receipts.standing(h.peerId).counterparties ?? 0) >= 1).length
    progress(`  advertised, ${established}/${pairs.length} searcher-provider pairs established after ${round((performance.now() - started) / 1000, 1)} s`)

    const searchGroup = async (searchers: Peer[]): Promise<SybilGroupFigures> => {
      const shares: number[] = []
      const counts: number[] = []
      let failed = 0
      await pool(searchers, searchers.length, async (s) => {
        if (s.node == null) return
        const found: string[] = []
        try {
          for await (const r of s.node.services.discovery.findNearby({ geohash: OFFER_GEOHASH, gpuClass: 'consumer-24g' }, { k: set.k, signal: AbortSignal.timeout(30_000) })) {
            found.push(r.peerId.toString())
          }
        } catch (err) {
          failed++
          errors.push(`search: ${describeError(err)}`)
          return
        }
        counts.push(found.length)
        shares.push(found.filter(id => honestIds.has(id)).length / Math.min(set.k, honest.length))
      })
      const mean = (xs: number[]): number | null => xs.length === 0 ? null : round(xs.reduce((a, b) => a + b, 0) / xs.length, 3)
      return { searches: searchers.length, recall: mean(shares), results_mean: mean(counts), errors: failed }
    }
    // both groups search at once, so they share the same load
    const [defendedFigures, undefendedFigures] = await Promise.all([searchGroup(defended), searchGroup(of('undefended'))])

    return {
      cell: SYBIL_DISCOVERY_CELL,
      k: set.k,
      honest_providers: honest.length,
      sybils: of('sybil').length,
      searchers_per_group: set.searchers,
      established_pairs: established,
      setup_jobs_failed: setupFailed,
      defended: defendedFigures,
      undefended: undefendedFigures,
      wall_s: round((performance.now() - started) / 1000, 1) ?? 0,
      ...(errors.length > 0 ? { errors: [...new Set(errors)].slice(0, 5) } : {})
    }
  } finally {
    await sim.stop()
  }
}
