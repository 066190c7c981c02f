import { round } from '../round.js'
import type { HookContext, JobArrival, ScenarioHooks, SimulationDriver, DriverPeer } from './driver.js'
import type { Scenario } from './types.js'
import type { MarketDriver } from '../market/driver.js'
import type { SimPeer } from '../harness/peer.js'
import type { Rng } from '../random.js'

/** One thing the timeline does at a scheduled time. */
export interface Action {
  atMs: number
  /** order of planning, to keep actions at the same time in plan order */
  seq: number
  /** where an error it throws is recorded */
  label: string
  run(): Promise<void> | void
}

/** What each planner of the timeline is given. */
interface Planner<S extends Record<string, unknown>> {
  scenario: Scenario
  sim: SimulationDriver
  rng: Rng
  hooks?: ScenarioHooks<S>
  ctx(label: string): HookContext<S>
  /** the market, when the scenario has one: it submits the jobs and plays the behaviours it knows */
  market?: MarketDriver
  /** schedule `run` at `atS` seconds */
  at(atS: number, label: string, run: () => Promise<void> | void): void
}

/**
 * The scenario's timeline, in time order: job arrivals, ping rounds, churn,
 * partitions and adversaries. Every random draw forks `rng` by a fixed
 * label, so the same seed plans the same timeline.
 */
export function planTimeline<S extends Record<string, unknown>> (scenario: Scenario, sim: SimulationDriver, rng: Rng, hooks: ScenarioHooks<S> | undefined, ctx: (label: string) => HookContext<S>, market?: MarketDriver): Action[] {
  const actions: Action[] = []
  let seq = 0
  const planner: Planner<S> = {
    scenario,
    sim,
    rng,
    hooks,
    ctx,
    market,
    at: (atS, label, run) => { actions.push({ atMs: atS * 1000, seq: seq++, label, run }) }
  }

  planWorkload(planner)
  planPings(planner)
  planChurn(planner)
  planPartitions(planner)
  planAdversaries(planner)

  return actions.sort((x, y) => x.atMs - y.atMs || x.seq - y.seq)
}

/** Job arrivals: a Poisson process at `ratePerS`, each from a running submitter. */
function planWorkload<S extends Record<string, unknown>> ({ scenario, sim, rng, hooks, ctx, market, at }: Planner<S>): void {
  const jobs = scenario.workload?.jobs
  if (jobs == null || !(jobs.ratePerS > 0)) return

  const arrivals = rng.fork('workload')
  const kinds = jobs.kinds ?? ['job']
  const hookCtx = ctx('workload-hook')
  let t = arrivals.exponential(jobs.ratePerS)
  for (let k = 0; t < scenario.durationS; k++, t += arrivals.exponential(jobs.ratePerS)) {
    const atS = t
    const kind = arrivals.pick(kinds)
    const draw = arrivals.float()
    at(atS, 'workload', () => {
      const candidates = sim.running().filter(p => jobs.from == null || jobs.from.includes(p.role))
      if (candidates.length === 0) {
        sim.events.record('job:dropped', { job: `job-${k}`, kind, reason: 'no running submitter' })
        return
      }
      const peer = candidates[Math.floor(draw * candidates.length)]
      const job: JobArrival = { id: `job-${k}`, kind, peer: peer.index, atS: round(atS) }
      sim.events.record('job:arrival', { peer: peer.index, job: job.id, kind, role: peer.role })
      // a hook of the caller's takes the job; else the market runs it
      return hooks?.workload != null ? hooks.workload(job, hookCtx) : market?.submit(job)
    })
  }
}

/** Ping rounds: `pairs` random pairs every `everyS`. */
function planPings<S extends Record<string, unknown>> ({ scenario, sim, rng, at }: Planner<S>): void {
  const pings = scenario.workload?.pings
  if (pings == null || !(pings.pairs > 0)) return

  const pingRng = rng.fork('pings')
  for (let t = pings.everyS, n = 0; t <= scenario.durationS; t += pings.everyS, n++) {
    const r = pingRng.fork(`round-${n}`)
    at(t, 'pings', async () => {
      await sim.measurePings(pings.pairs, r)
    })
  }
}

/** Churn: crash, leave or join a selection of peers, and rejoin them later if asked. */
function planChurn<S extends Record<string, unknown>> ({ scenario, sim, rng, at }: Planner<S>): void {
  const churnRng = rng.fork('churn')
  ;(scenario.churn ?? []).forEach((c, i) => {
    const r = churnRng.fork(i)
    at(c.atS, `churn[${i}]`, async () => {
      const pool = c.action === 'join'
        ? sim.peers.filter(p => p.state === 'stopped' || p.state === 'crashed')
        : sim.running()
      const chosen = select(pool, c, r)
      sim.events.record('churn', { index: i, action: c.action, peers: chosen.length, role: c.role ?? null, region: c.region ?? null })
      await Promise.all(chosen.map(async p => {
        if (c.action === 'crash') await sim.crash(p.index, `churn[${i}]`)
        else if (c.action === 'leave') await sim.leave(p.index)
        else await sim.join(p.index)
      }))
      if (c.rejoinAfterS != null && c.action !== 'join') {
        setTimeout(() => {
          void Promise.all(chosen.map(async p => sim.join(p.index))).catch(() => {})
        }, c.rejoinAfterS * 1000).unref()
      }
    })
  })
}

/** Partitions: cut between two groups of regions, healed at `healAtS` if within the run. */
function planPartitions<S extends Record<string, unknown>> ({ scenario, sim, at }: Planner<S>): void {
  (scenario.partitions ?? []).forEach((p, i) => {
    at(p.atS, `partitions[${i}]`, () => {
      sim.partition(p.a, p.b)
    })
    if (p.healAtS != null && p.healAtS <= scenario.durationS) {
      at(p.healAtS, `partitions[${i}].heal`, () => { sim.heal() })
    }
  })
}

/** Adversaries: a selection of running peers, recorded, handed to the adversary hook. */
function planAdversaries<S extends Record<string, unknown>> ({ scenario, sim, rng, hooks, ctx, market, at }: Planner<S>): void {
  const advRng = rng.fork('adversaries')
  ;(scenario.adversaries ?? []).forEach((a, i) => {
    const r = advRng.fork(i)
    at(a.fromS ?? 0, `adversaries[${i}]`, async () => {
      const chosen = select(sim.running(), a, r)
      for (const p of chosen) {
        sim.events.record('adversary', { peer: p.index, behaviour: a.behaviour, role: p.role })
      }
      if (hooks?.adversary != null) {
        await hooks.adversary(a, chosen as Array<SimPeer<S>>, ctx(`adversary-${i}`))
      } else if (market != null && !await market.adversary(a.behaviour, chosen.map(p => p.index), { cell: a.cell })) {
        sim.events.record('adversary:unplayed', { behaviour: a.behaviour, peers: chosen.length, reason: 'the market does not play this behaviour; give an adversary hook' })
      }
    })
  })
}

/** `count` (or `fraction` of the) peers matching role and region, drawn with `rng`. */
function select<P extends DriverPeer> (peers: P[], spec: { fraction?: number, count?: number, role?: string, region?: string }, rng: Rng): P[] {
  const matching = peers.filter(p => (spec.role == null || p.role === spec.role) && (spec.region == null || p.region === spec.region))
  const n = spec.count ?? Math.round((spec.fraction ?? 0) * matching.length)
  return rng.sample(matching, Math.min(n, matching.length))
}
