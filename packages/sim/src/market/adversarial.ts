/**
 * What the adversaries of a market run achieved against each group of
 * peers: the defended ones (running the defences) and the undefended ones
 * (the same run's baseline, `market.defences: 'alternate'`). Pure: read
 * from the run's events, like the rest of the analysis.
 */

import { quantile } from '../latency/calibrate.js'
import { isDefended, isProvider, ownEntry } from './config.js'
import { peerGeohash } from './market.js'
import type { AnalysisPeer } from './analysis.js'
import type { ResolvedMarket } from './config.js'
import type { SimEvent } from '../harness/events.js'

/** The two groups of peers under `market.defences`. */
export type DefenceGroup = 'defended' | 'undefended'

/** The defence figures of one group. */
export interface AdversarialFigures {
  /** jobs of honest requesters of the group */
  honest_jobs: number
  /** of those, jobs that ended with a countersigned receipt */
  honest_completed: number
  /** honest_completed / honest_jobs */
  honest_job_success_ratio: number | null
  /** completed jobs of honest requesters whose output was not the honest one / completed jobs */
  wrong_results_accepted_ratio: number | null
  /** provider runs started for honest requesters' jobs / their completed jobs (1 = no extra runs) */
  verification_cost_ratio: number | null
  /** spam announcements on the boards of the group's honest providers / (spam sent x those providers) */
  spam_reaching_honest_ratio: number | null
  /** offenders proven anywhere in the run */
  offenders: number
  /** honest peers some node holds evidence against (framed): should be 0 */
  honest_peers_proven: number
  /** p90 over proven offenders of the jobs the group's honest requesters assigned to it after it was proven */
  offender_cut_off_jobs: number | null
  /** mean over searches from requesters in a sybil-attacked cell of the share of that cell's honest providers found (of at most k) */
  discovery_recall_under_sybil: number | null
}

/** The jobs of one group that touched one behaviour's peers (as requester or as a provider that was assigned or ran them). */
export interface AttackFigures {
  jobs: number
  completed: number
  /** completed / jobs */
  success_ratio: number | null
  /** completed jobs whose output was not the honest one */
  wrong_accepted: number
}

/** One row per behaviour of the run. */
export interface AttackRow {
  behaviour: string
  peers: number
  per_group: Record<DefenceGroup, AttackFigures>
}

/** Everything {@link analyseAdversaries} found. */
export interface AdversarialSummary {
  per_group: Record<DefenceGroup, AdversarialFigures>
  per_attack: AttackRow[]
  spam: { sent: number, by_variant: Record<string, number>, landed: number }
  notes: string[]
}

/** What one job did, as the adversarial figures need it. */
interface JobTrace {
  requester?: number
  completed: boolean
  wrong: boolean
  /** providers assigned, failed over from, that ran or served it */
  providers: Set<number>
  /** provider runs started for it */
  runs: number
}

const GROUPS: readonly DefenceGroup[] = ['defended', 'undefended']

function finite (v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

function ratioOf (n: number, d: number): number | null {
  return d > 0 ? Math.round(n / d * 1000) / 1000 : null
}

/** Reads the adversarial figures of a market run from its events. Never throws on odd events. */
export function analyseAdversaries (events: readonly SimEvent[], peers: readonly AnalysisPeer[], market: ResolvedMarket): AdversarialSummary {
  const groupOf = (index: number): DefenceGroup => isDefended(market, index) ? 'defended' : 'undefended'
  const adversaries = new Map<number, Set<string>>()
  const jobs = new Map<string, JobTrace>()
  const proven = new Map<number, number>()
  const assigned: Array<{ t: number, provider: number, requester: number }> = []
  const searches: Array<{ requester: number, found: Set<number> }> = []
  const cells = new Set<string>()
  const spam = { sent: 0, by_variant: {} as Record<string, number>, landed: 0 }
  const landed = new Map<number, number>()
  const trace = (job: string): JobTrace => {
    let t = jobs.get(job)
    if (t == null) {
      t = { completed: false, wrong: false, providers: new Set(), runs: 0 }
      jobs.set(job, t)
    }
    return t
  }

  for (const e of events) {
    const peer = finite(e.peer)
    const provider = finite(e.provider)
    const job = typeof e.job === 'string' ? e.job : undefined
    switch (e.type) {
      case 'adversary':
        if (peer !== undefined && typeof e.behaviour === 'string') adversaries.set(peer, (adversaries.get(peer) ?? new Set()).add(e.behaviour))
        break
      case 'job:arrival':
        if (job !== undefined) trace(job).requester = peer
        break
      case 'job:assigned':
        if (job !== undefined && provider !== undefined) {
          trace(job).providers.add(provider)
          if (peer !== undefined) assigned.push({ t: e.t, provider, requester: peer })
        }
        break
      case 'job:failover':
        if (job !== undefined && provider !== undefined) trace(job).providers.add(provider)
        break
      case 'job:completed':
        if (job !== undefined) {
          const t = trace(job)
          t.completed = true
          t.wrong = e.wrong === true
          if (provider !== undefined) t.providers.add(provider)
        }
        break
      case 'work:start':
        // sim job ids are unique in a run: the provider's run is the requester's job
        if (job !== undefined && peer !== undefined) {
          const t = trace(job)
          t.runs++
          t.providers.add(peer)
        }
        break
      case 'job:candidates':
        if (peer !== undefined && typeof e.found_peers === 'string') {
          searches.push({ requester: peer, found: new Set(e.found_peers.split(',').map(Number).filter(Number.isFinite)) })
        }
        break
      case 'sybil:cell':
        if (typeof e.cell === 'string' && e.cell !== '') cells.add(e.cell)
        break
      case 'spam:sent':
        spam.sent++
        if (typeof e.variant === 'string') spam.by_variant[e.variant] = (spam.by_variant[e.variant] ?? 0) + 1
        break
      case 'spam:landed':
        if (peer !== undefined) {
          spam.landed++
          landed.set(peer, (landed.get(peer) ?? 0) + 1)
        }
        break
      case 'offender:proven': {
        const offender = finite(e.offender)
        if (offender !== undefined && !proven.has(offender)) proven.set(offender, e.t)
        break
      }
    }
  }

  const honest = (index: number | undefined): index is number => index !== undefined && !adversaries.has(index)
  const honestProviders = peers.filter(p => honest(p.index) && isProviderPeer(market, p))
  const geohash = new Map(peers.map(p => [p.index, peerGeohash({ site: p })]))

  const figuresOf = (group: DefenceGroup): AdversarialFigures => {
    const own = [...jobs.values()].filter(t => honest(t.requester) && groupOf(t.requester) === group)
    const done = own.filter(t => t.completed)
    const providers = honestProviders.filter(p => groupOf(p.index) === group)
    const spamLanded = providers.reduce((n, p) => n + (landed.get(p.index) ?? 0), 0)
    const cutOff = [...proven].map(([offender, t]) => assigned.filter(a => a.provider === offender && a.t > t && honest(a.requester) && groupOf(a.requester) === group).length)
    return {
      honest_jobs: own.length,
      honest_completed: done.length,
      honest_job_success_ratio: ratioOf(done.length, own.length),
      wrong_results_accepted_ratio: ratioOf(done.filter(t => t.wrong).length, done.length),
      verification_cost_ratio: ratioOf(own.reduce((n, t) => n + t.runs, 0), done.length),
      spam_reaching_honest_ratio: ratioOf(spamLanded, spam.sent * providers.length),
      offenders: proven.size,
      honest_peers_proven: [...proven.keys()].filter(p => honest(p)).length,
      offender_cut_off_jobs: cutOff.length === 0 ? null : Math.round(quantile(cutOff, 0.9) * 1000) / 1000,
      discovery_recall_under_sybil: recall(group)
    }
  }

  /** Mean share of an attacked cell's honest providers its honest requesters' searches found. */
  const recall = (group: DefenceGroup): number | null => {
    const shares: number[] = []
    for (const cell of cells) {
      const inCell = new Set(honestProviders.filter(p => geohash.get(p.index)?.startsWith(cell) === true).map(p => p.index))
      if (inCell.size === 0) continue
      for (const s of searches) {
        if (!honest(s.requester) || groupOf(s.requester) !== group || geohash.get(s.requester)?.startsWith(cell) !== true) continue
        shares.push([...s.found].filter(i => inCell.has(i)).length / Math.min(market.k, inCell.size))
      }
    }
    return shares.length === 0 ? null : Math.round(shares.reduce((a, b) => a + b, 0) / shares.length * 1000) / 1000
  }

  const behaviours = new Map<string, Set<number>>()
  for (const [index, names] of adversaries) {
    for (const name of names) behaviours.set(name, (behaviours.get(name) ?? new Set()).add(index))
  }
  const perAttack: AttackRow[] = [...behaviours].sort(([a], [b]) => a.localeCompare(b)).map(([behaviour, members]) => {
    const touching = [...jobs.values()].filter(t => (t.requester !== undefined && members.has(t.requester)) || [...t.providers].some(p => members.has(p)))
    const row = (group: DefenceGroup): AttackFigures => {
      const own = touching.filter(t => t.requester !== undefined && groupOf(t.requester) === group)
      const done = own.filter(t => t.completed)
      return { jobs: own.length, completed: done.length, success_ratio: ratioOf(done.length, own.length), wrong_accepted: done.filter(t => t.wrong).length }
    }
    return { behaviour, peers: members.size, per_group: { defended: row('defended'), undefended: row('undefended') } }
  })

  const notes: string[] = []
  if (market.defences !== 'alternate') notes.push(`defences are '${market.defences}': only one group has peers, the other's figures are empty`)
  if (proven.size === 0) notes.push('no offender was proven (no offender:proven event): offender_cut_off_jobs is null')
  if (behaviours.has('equivocator')) notes.push('equivocators are honest in effect: the work service answers a replayed assignment without running it again')
  return {
    per_group: Object.fromEntries(GROUPS.map(g => [g, figuresOf(g)])) as Record<DefenceGroup, AdversarialFigures>,
    per_attack: perAttack,
    spam,
    notes
  }
}

function isProviderPeer (market: ResolvedMarket, peer: AnalysisPeer): boolean {
  const role = ownEntry(market.roles, peer.role)
  return role != null && isProvider(role)
}
