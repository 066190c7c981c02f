/**
 * What a market run achieved, from its events alone: each job's outcome,
 * against an oracle (the provider that would have finished it soonest,
 * knowing every RTT, every free slot and the job's own compute jitter) and
 * against a central cloud (the nearest of a few cloud regions). Pure: the
 * same events, peers and latency model give the same figures, so a run's
 * log can be analysed again later.
 */

import { matchOffer } from '@shoal/records'
import { quantile } from '../latency/calibrate.js'
import { computeMs, isProvider, jobTerms, ownEntry, providerOffer, servingRole } from './config.js'
import { peerGeohash } from './market.js'
import { analyseAdversaries } from './adversarial.js'
import type { AdversarialSummary } from './adversarial.js'
import type { PlacedCloudRegion } from './cloud.js'
import type { ResolvedMarket, ResolvedRole } from './config.js'
import type { SimEvent } from '../harness/events.js'
import type { Offer } from '@shoal/records'

/** RTT under which a job counts as served "within 10 ms", ms. */
export const NEAR_RTT_MS = 10
/** Success-over-time buckets: about this many over the run, none shorter than 1 s. */
const TIME_BUCKETS = 30
const MIN_BUCKET_MS = 1_000

/** A peer of the run, as the analysis needs it. */
export interface AnalysisPeer {
  index: number
  role: string
  region: string
  /** its site in the latency model */
  siteIndex: number
  lat: number
  lon: number
  /** whether it sits behind a NAT */
  nat?: boolean
}

/** What {@link analyseMarket} reads. */
export interface MarketAnalysisInput {
  events: readonly SimEvent[]
  peers: readonly AnalysisPeer[]
  /** oracle RTT between two sites of the latency model, ms */
  rtt(siteA: number, siteB: number): number
  market: ResolvedMarket
  /** the cloud regions placed in the latency model (none when the market has no cloud) */
  cloud: readonly PlacedCloudRegion[]
}

/** How a job ended. */
export type JobOutcome = 'completed' | 'late' | 'failed' | 'unfinished'

/** One job of the run, a row of `jobs.csv`. */
export interface JobRow {
  job: string
  kind: string
  requester: number | null
  region: string
  /** arrival, s after the run started */
  arrival_s: number
  outcome: JobOutcome
  /** why it failed (the error's name) */
  reason: string | null
  provider: number | null
  /** arrival to receipt (completed) or to failure, ms */
  ms: number | null
  /** oracle RTT from the requester to the provider that served it, ms */
  rtt_ms: number | null
  failovers: number
  oracle_provider: number | null
  oracle_ms: number | null
  /** every eligible provider was busy at arrival: the oracle ignores slots */
  oracle_busy: boolean
  /** ms / oracle_ms, completed jobs with an oracle */
  stretch: number | null
  cloud_region: string | null
  cloud_rtt_ms: number | null
  cloud_ms: number | null
  first_quote_ms: number | null
  /** how the requester picked among the candidates (`router` or `random`) */
  choice: 'router' | 'random' | null
  /** the kind of connection the completed job ran on */
  connection: 'direct' | 'relayed' | null
  /** it ran on a direct connection to a provider first reached through a relay (DCUtR) */
  upgraded: boolean
}

/** How NAT'd providers fared (a run with NATs). */
export interface NatFigures {
  providers: number
  nat_providers: number
  /** NAT'd providers' share of the providers' slots */
  nat_capacity_share: number | null
  /** share of the completed jobs (late ones too) that NAT'd providers served */
  nat_jobs_share: number | null
  /** completed jobs that ran over a relayed connection */
  jobs_relayed: number
  /** completed jobs that ran on a direct connection to a provider first reached through a relay */
  jobs_direct_after_upgrade: number
  /** attempts refused for a relay's limits (failovers and failures naming them) */
  relay_refused: number
  /** NAT'd providers whose relayed address appeared */
  nat_relayed: number
}

/** The main figures of a set of jobs (the whole run, or one region's requesters). */
export interface MarketFigures {
  jobs: number
  completed: number
  late: number
  failed: number
  unfinished: number
  /** completed within the deadline / jobs */
  job_success_ratio: number | null
  /** jobs that had an eligible provider up at arrival */
  eligible_jobs: number
  /** completed within the deadline / eligible jobs */
  eligible_success_ratio: number | null
  /** arrival to receipt of completed jobs (late ones too), ms */
  completion_ms: { p50: number | null, p90: number | null, p99: number | null }
  oracle_ms_p50: number | null
  e2e_stretch_p50: number | null
  e2e_stretch_p90: number | null
  e2e_stretch_p99: number | null
  /** jobs completed by Shoal that have a cloud figure: the pairs of the comparison */
  cloud_pairs: number
  cloud_completion_p50_ms: number | null
  shoal_completion_p50_ms: number | null
  /** median over the same jobs of Shoal's completion / the cloud's: below 1 Shoal is faster */
  ratio: number | null
  /** completed jobs served by a provider under 10 ms RTT away / completed jobs */
  under_10ms_ratio: number | null
  /** jobs with a cloud figure whose nearest region is under 10 ms RTT away / those jobs */
  cloud_under_10ms_ratio: number | null
  first_quote_ms_p50: number | null
}

/** One bucket of the success-over-time series. */
export interface SuccessBucket {
  /** bucket start, s after the run started */
  start_s: number
  jobs: number
  completed: number
  /** completed within the deadline / jobs; null without jobs */
  ratio: number | null
}

/** A churn, partition or heal event, for marks on the time axis. */
export interface TimeMark {
  t_s: number
  label: string
}

/** Everything {@link analyseMarket} found. */
export interface MarketSummary extends MarketFigures {
  /** jobs whose oracle ignored slots because every eligible provider was busy */
  oracle_busy: number
  failovers: { total: number, jobs: number }
  receipts: { count: number, acknowledged: number, stored: number }
  payments: { count: number, total: Record<string, number> }
  /** failed jobs by reason */
  failure_reasons: Record<string, number>
  /** by the requester's region */
  per_region: Record<string, MarketFigures>
  /** by how requesters picked a provider (`choice: 'alternate'`: the router's ranking and a random order on alternate jobs) */
  per_choice: Partial<Record<'router' | 'random', MarketFigures>>
  over_time: { bucket_s: number, buckets: SuccessBucket[], marks: TimeMark[] }
  /** the adversaries' effect on each defence group, and one row per behaviour */
  adversarial: AdversarialSummary
  /** NAT'd providers against the others; null when no peer is behind a NAT */
  nat: NatFigures | null
  /** what the figures leave out, and why */
  notes: string[]
  /** one row per job (for `jobs.csv`; summary.json leaves them out) */
  rows: JobRow[]
}

/** A finite number or undefined: event fields are read as untrusted scalars. */
function finite (v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

function ratioOf (n: number, d: number): number | null {
  return d > 0 ? n / d : null
}

function q (values: readonly number[], p: number): number | null {
  const v = quantile(values, p)
  return Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null
}

function roundOrNull (x: number | undefined | null): number | null {
  return x == null || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000
}

/** Providers as the oracle sees them: offer and role, fixed for the run. */
interface ProviderInfo {
  peer: AnalysisPeer
  role: ResolvedRole
  offer: Offer
}

/** Per-provider state while the events are replayed. */
interface Replay {
  down: Set<number>
  /** jobs running at each provider */
  busy: Map<number, Set<string>>
  /** providers whose offer matches a job kind's terms, by kind and region */
  matching: Map<string, ProviderInfo[]>
}

interface PendingJob {
  row: JobRow
  t: number
  deadlineMs: number
}

/**
 * Analyses a market run from its events: each job's outcome, oracle and
 * cloud baselines, and the figures of {@link MarketSummary}. Never throws
 * on odd events: fields of the wrong type are ignored.
 */
export function analyseMarket (input: MarketAnalysisInput): MarketSummary {
  const { market } = input
  const peers = new Map(input.peers.map(p => [p.index, p]))
  const geohash = new Map(input.peers.map(p => [p.index, peerGeohash({ site: p })]))
  const providers: ProviderInfo[] = []
  for (const peer of input.peers) {
    const role = ownEntry(market.roles, peer.role)
    if (role != null && isProvider(role)) providers.push({ peer, role, offer: providerOffer(role, geohash.get(peer.index) ?? '') })
  }

  const events = input.events.filter(e => e != null && finite(e.t) !== undefined).slice().sort((a, b) => a.t - b.t)
  const runStart = events.find(e => e.type === 'run:start')?.t ?? events.find(e => e.type === 'job:arrival')?.t ?? 0
  const runEnd = events.findLast(e => e.type === 'run:end')?.t ?? events.at(-1)?.t ?? runStart
  const replay: Replay = { down: new Set(), busy: new Map(), matching: new Map() }
  const jobs = new Map<string, PendingJob>()
  const failovers = { total: 0, jobs: 0 }
  const receipts = { count: 0, acknowledged: 0, stored: 0 }
  const payments = { count: 0, total: {} as Record<string, number> }
  const marks: TimeMark[] = []
  let relayRefused = 0
  const natRelayed = new Set<number>()

  for (const e of events) {
    const peer = finite(e.peer)
    const job = typeof e.job === 'string' ? e.job : undefined
    switch (e.type) {
      case 'peer:started':
      case 'peer:joined':
        if (peer !== undefined) replay.down.delete(peer)
        break
      case 'peer:crashed':
      case 'peer:left':
      case 'peer:failed':
        if (peer !== undefined) {
          replay.down.add(peer)
          replay.busy.delete(peer)
        }
        break
      case 'work:start':
        if (peer !== undefined && job !== undefined) {
          const running = replay.busy.get(peer) ?? new Set<string>()
          running.add(job)
          replay.busy.set(peer, running)
        }
        break
      case 'work:end':
        if (peer !== undefined && job !== undefined) replay.busy.get(peer)?.delete(job)
        break
      case 'churn':
      case 'partition':
      case 'heal':
        marks.push({ t_s: Math.round(e.t - runStart) / 1000, label: e.type === 'churn' ? `churn: ${String(e.action ?? '')}` : e.type })
        break
      case 'job:arrival':
        if (job !== undefined && !jobs.has(job)) jobs.set(job, arrive(input, providers, geohash, replay, e, job, peer === undefined ? undefined : peers.get(peer), runStart))
        break
      case 'job:quoted': {
        // the first quote as the requester received it
        const pending = job === undefined ? undefined : jobs.get(job)
        if (pending != null && pending.row.first_quote_ms == null && e.t >= pending.t) pending.row.first_quote_ms = roundOrNull(e.t - pending.t)
        break
      }
      case 'job:assigned': {
        const pending = job === undefined ? undefined : jobs.get(job)
        if (pending != null && (e.choice === 'router' || e.choice === 'random')) pending.row.choice = e.choice
        break
      }
      case 'nat:relayed':
        if (peer !== undefined) natRelayed.add(peer)
        break
      case 'job:failover':
        if (isRelayRefusal(e.reason)) relayRefused++
        break
      case 'job:completed':
      case 'job:failed': {
        if (e.type === 'job:failed' && isRelayRefusal(e.reason ?? e.error)) relayRefused++
        const pending = job === undefined ? undefined : jobs.get(job)
        if (pending == null || pending.row.outcome !== 'unfinished') break
        end(pending, e)
        const n = finite(e.failovers) ?? 0
        failovers.total += n
        if (n > 0) failovers.jobs++
        break
      }
      case 'receipt':
        receipts.count++
        if (e.acknowledged === true) receipts.acknowledged++
        if (e.stored === true) receipts.stored++
        break
      case 'payment': {
        payments.count++
        const amount = finite(e.amount)
        const currency = typeof e.currency === 'string' ? e.currency : '?'
        if (amount !== undefined) payments.total[currency] = (payments.total[currency] ?? 0) + amount
        break
      }
    }
  }

  const rows = [...jobs.values()].map(p => p.row)
  const failureReasons: Record<string, number> = {}
  for (const r of rows) {
    if (r.outcome === 'failed') failureReasons[r.reason ?? '?'] = (failureReasons[r.reason ?? '?'] ?? 0) + 1
  }
  const regions = [...new Set(rows.map(r => r.region))].sort()
  const notes: string[] = []
  const capture = rows.filter(r => ownEntry(market.jobs, r.kind)?.type === 'capture').length
  if (capture > 0) notes.push(`${capture} capture jobs are left out of the cloud figures: a camera must be where the footage is, a cloud region cannot serve them`)
  if (market.cloud === false || input.cloud.length === 0) notes.push('no cloud baseline: the market has no cloud regions')
  const busy = rows.filter(r => r.oracle_busy).length
  if (busy > 0) notes.push(`${busy} jobs arrived when every eligible provider was busy: their oracle ignores slots`)

  for (const c of Object.keys(payments.total)) payments.total[c] = Math.round(payments.total[c] * 1e6) / 1e6

  return {
    ...figures(rows),
    oracle_busy: busy,
    failovers,
    receipts,
    payments,
    failure_reasons: failureReasons,
    per_region: Object.fromEntries(regions.map(region => [region, figures(rows.filter(r => r.region === region))])),
    per_choice: Object.fromEntries((['router', 'random'] as const).flatMap(choice => {
      const chosen = rows.filter(r => r.choice === choice)
      return chosen.length > 0 ? [[choice, figures(chosen)]] : []
    })),
    over_time: overTime(rows, runEnd - runStart, marks),
    adversarial: analyseAdversaries(events, input.peers, market),
    nat: natFigures(providers, rows, relayRefused, natRelayed.size),
    notes,
    rows
  }
}

/** A job's row at its arrival, with its oracle and cloud baselines from the state of the run then. */
function arrive (input: MarketAnalysisInput, providers: readonly ProviderInfo[], geohash: Map<number, string>, replay: Replay, e: SimEvent, job: string, requester: AnalysisPeer | undefined, runStart: number): PendingJob {
  const { market } = input
  const kindName = typeof e.kind === 'string' ? e.kind : '?'
  const kind = ownEntry(market.jobs, kindName)
  const row: JobRow = {
    job,
    kind: kindName,
    requester: requester?.index ?? null,
    region: requester?.region ?? '?',
    arrival_s: Math.round(e.t - runStart) / 1000,
    outcome: 'unfinished',
    reason: null,
    provider: null,
    ms: null,
    rtt_ms: null,
    failovers: 0,
    oracle_provider: null,
    oracle_ms: null,
    oracle_busy: false,
    stretch: null,
    cloud_region: null,
    cloud_rtt_ms: null,
    cloud_ms: null,
    first_quote_ms: null,
    choice: null,
    connection: null,
    upgraded: false
  }
  const pending = { row, t: e.t, deadlineMs: (kind?.deadlineS ?? Infinity) * 1000 }
  if (kind == null || requester == null) return pending

  // the oracle: the eligible provider up at arrival that would finish soonest, a free one first
  const terms = jobTerms(kind, geohash.get(requester.index) ?? '')
  // offers are fixed for the run and terms differ only by region: match each pair once
  const key = `${kind.name}\n${terms.requirements?.region ?? ''}`
  let matching = replay.matching.get(key)
  if (matching == null) {
    matching = providers.filter(p => matchOffer(terms, p.offer).mismatches.length === 0)
    replay.matching.set(key, matching)
  }
  const computeByRole = new Map<string, number>()
  let free: { index: number, ms: number } | undefined
  let any: { index: number, ms: number } | undefined
  for (const p of matching) {
    if (replay.down.has(p.peer.index) || p.peer.index === requester.index) continue
    const rtt = input.rtt(requester.siteIndex, p.peer.siteIndex)
    if (!Number.isFinite(rtt) || (kind.maxRttMs > 0 && rtt > kind.maxRttMs)) continue
    let compute = computeByRole.get(p.role.name)
    if (compute === undefined) {
      compute = computeMs(p.role, kind.name, kind.units, market.seed, job)
      computeByRole.set(p.role.name, compute)
    }
    const ms = market.roundTrips * rtt + compute
    if (any == null || ms < any.ms) any = { index: p.peer.index, ms }
    if ((replay.busy.get(p.peer.index)?.size ?? 0) < p.role.slots && (free == null || ms < free.ms)) free = { index: p.peer.index, ms }
  }
  const oracle = free ?? any
  row.oracle_provider = oracle?.index ?? null
  row.oracle_ms = roundOrNull(oracle?.ms)
  row.oracle_busy = free == null && any != null

  // the cloud: the nearest region by true RTT, the first serving role's compute scaled (no capture: a camera must be there)
  const role = servingRole(market, kind)
  if (market.cloud !== false && kind.type !== 'capture' && role != null) {
    let nearest: { region: PlacedCloudRegion, rtt: number } | undefined
    for (const region of input.cloud) {
      const rtt = input.rtt(requester.siteIndex, region.site)
      if (Number.isFinite(rtt) && (nearest == null || rtt < nearest.rtt)) nearest = { region, rtt }
    }
    if (nearest != null) {
      row.cloud_region = nearest.region.name
      row.cloud_rtt_ms = roundOrNull(nearest.rtt)
      row.cloud_ms = roundOrNull(market.roundTrips * nearest.rtt + computeMs(role, kind.name, kind.units, market.seed, job, market.cloud.computeFactor))
    }
  }
  return pending
}

/** Whether an event's reason names a relay's limits (@shoal/work's `RelayLimitError`, Failure `relay-limit`). */
function isRelayRefusal (reason: unknown): boolean {
  return typeof reason === 'string' && /RelayLimitError|relay-limit/.test(reason)
}

/** NAT'd providers' share of the capacity and of the jobs served, and how jobs reached them. */
function natFigures (providers: readonly ProviderInfo[], rows: readonly JobRow[], relayRefused: number, natRelayed: number): NatFigures | null {
  const natted = providers.filter(p => p.peer.nat === true)
  if (natted.length === 0) return null
  const slots = (ps: readonly ProviderInfo[]): number => ps.reduce((n, p) => n + p.role.slots, 0)
  const natIndex = new Set(natted.map(p => p.peer.index))
  const served = rows.filter(r => (r.outcome === 'completed' || r.outcome === 'late') && r.provider != null)
  return {
    providers: providers.length,
    nat_providers: natted.length,
    nat_capacity_share: roundOrNull(ratioOf(slots(natted), slots(providers))),
    nat_jobs_share: roundOrNull(ratioOf(served.filter(r => natIndex.has(r.provider as number)).length, served.length)),
    jobs_relayed: served.filter(r => r.connection === 'relayed').length,
    jobs_direct_after_upgrade: served.filter(r => r.connection === 'direct' && r.upgraded).length,
    relay_refused: relayRefused,
    nat_relayed: natRelayed
  }
}

/** Records a job's end event on its row. */
function end (pending: PendingJob, e: SimEvent): void {
  const row = pending.row
  const ms = finite(e.ms) ?? e.t - pending.t
  row.ms = roundOrNull(ms)
  row.failovers = finite(e.failovers) ?? 0
  if (e.type === 'job:failed') {
    row.outcome = 'failed'
    row.reason = typeof e.reason === 'string' ? e.reason : '?'
    return
  }
  row.outcome = e.late === true || ms > pending.deadlineMs ? 'late' : 'completed'
  row.provider = finite(e.provider) ?? null
  row.rtt_ms = roundOrNull(finite(e.rtt_ms))
  row.connection = e.connection === 'direct' || e.connection === 'relayed' ? e.connection : null
  row.upgraded = e.upgraded === true
  if (row.oracle_ms != null && row.oracle_ms > 0) row.stretch = roundOrNull(ms / row.oracle_ms)
}

/** The main figures of some jobs. */
function figures (rows: readonly JobRow[]): MarketFigures {
  const count = (outcome: JobOutcome): number => rows.filter(r => r.outcome === outcome).length
  const done = rows.filter(r => r.outcome === 'completed' || r.outcome === 'late')
  const doneMs = done.flatMap(r => r.ms == null ? [] : [r.ms])
  const eligible = rows.filter(r => r.oracle_ms != null)
  const stretch = done.flatMap(r => r.stretch == null ? [] : [r.stretch])
  const pairs = done.filter(r => r.ms != null && r.cloud_ms != null)
  const shoal = q(pairs.map(r => r.ms ?? 0), 0.5)
  const cloud = q(pairs.map(r => r.cloud_ms ?? 0), 0.5)
  const withRtt = done.filter(r => r.rtt_ms != null)
  const withCloud = rows.filter(r => r.cloud_rtt_ms != null)
  return {
    jobs: rows.length,
    completed: count('completed'),
    late: count('late'),
    failed: count('failed'),
    unfinished: count('unfinished'),
    job_success_ratio: ratioOf(count('completed'), rows.length),
    eligible_jobs: eligible.length,
    eligible_success_ratio: ratioOf(eligible.filter(r => r.outcome === 'completed').length, eligible.length),
    completion_ms: { p50: q(doneMs, 0.5), p90: q(doneMs, 0.9), p99: q(doneMs, 0.99) },
    oracle_ms_p50: q(eligible.map(r => r.oracle_ms ?? 0), 0.5),
    e2e_stretch_p50: q(stretch, 0.5),
    e2e_stretch_p90: q(stretch, 0.9),
    e2e_stretch_p99: q(stretch, 0.99),
    cloud_pairs: pairs.length,
    cloud_completion_p50_ms: cloud,
    shoal_completion_p50_ms: shoal,
    ratio: q(pairs.flatMap(r => r.ms != null && r.cloud_ms != null && r.cloud_ms > 0 ? [r.ms / r.cloud_ms] : []), 0.5),
    under_10ms_ratio: ratioOf(withRtt.filter(r => (r.rtt_ms ?? Infinity) < NEAR_RTT_MS).length, withRtt.length),
    cloud_under_10ms_ratio: ratioOf(withCloud.filter(r => (r.cloud_rtt_ms ?? Infinity) < NEAR_RTT_MS).length, withCloud.length),
    first_quote_ms_p50: q(rows.flatMap(r => r.first_quote_ms == null ? [] : [r.first_quote_ms]), 0.5)
  }
}

/** Jobs completed within the deadline per bucket of arrival time. */
function overTime (rows: readonly JobRow[], durationMs: number, marks: TimeMark[]): MarketSummary['over_time'] {
  const bucketMs = Math.max(MIN_BUCKET_MS, (Number.isFinite(durationMs) ? durationMs : 0) / TIME_BUCKETS)
  const last = rows.reduce((m, r) => Number.isFinite(r.arrival_s) ? Math.max(m, r.arrival_s) : m, 0)
  const n = Math.min(10_000, Math.max(Math.ceil(Math.max(durationMs, 0) / bucketMs), Math.floor(last * 1000 / bucketMs) + 1))
  const buckets: SuccessBucket[] = Array.from({ length: n }, (_, i) => ({ start_s: i * bucketMs / 1000, jobs: 0, completed: 0, ratio: null }))
  for (const r of rows) {
    const b = buckets[Math.floor(r.arrival_s * 1000 / bucketMs)]
    if (b == null) continue
    b.jobs++
    if (r.outcome === 'completed') b.completed++
  }
  for (const b of buckets) b.ratio = ratioOf(b.completed, b.jobs)
  return { bucket_s: bucketMs / 1000, buckets, marks }
}
