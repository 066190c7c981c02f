import {
  DEFAULT_ROUND_TRIPS,
  DEFAULT_RTT_MS,
  DEFAULT_BANDWIDTH,
  MIN_RTO_MS,
  MAX_LOSS,
  DEFAULT_REPUTATION,
  REPUTATION_WEIGHT,
  UNKNOWN_LOAD_FACTOR
} from './constants.js'

/**
 * What a policy knows about one candidate. Everything but `id` is optional:
 * unknown values fall back to pessimistic defaults, with a reason saying so.
 */
export interface ScoreCandidate {
  /** Label used in reasons, e.g. a peer id string */
  id: string
  /** Measured (filtered) RTT, ms; preferred over `predictedRtt` */
  rtt?: number
  /** RTT predicted from network coordinates, ms */
  predictedRtt?: number
  /** Probe/packet loss estimate in [0, 1] */
  loss?: number
  /** Link bandwidth to the candidate, bytes per second */
  bandwidth?: number
  /** Slots free right now */
  freeSlots?: number
  /** Jobs the candidate runs at once */
  concurrency?: number
  /** Jobs queued waiting for a slot */
  queueLength?: number
  /** Utilisation in [0, 1] */
  load?: number
  /** The candidate's own estimate of the compute time of this job, ms (e.g. a quote's eta) */
  computeTime?: number
  /** Relative compute speed, 1 = reference hardware; divides the job's `computeTime` */
  speed?: number
  /** Price per unit, in the smallest unit of currency */
  price?: number
  /** Reputation in [0, 1] */
  reputation?: number
}

/**
 * What the job needs, as far as routing is concerned.
 */
export interface JobProfile {
  /**
   * Request/response round trips the job costs
   *
   * @default 2
   */
  roundTrips?: number
  /** Bytes to move (input + expected output) */
  transferBytes?: number
  /** Compute time on reference hardware, ms */
  computeTime?: number
  /** Highest acceptable price per unit */
  priceCeiling?: number
  /** Lowest acceptable reputation in [0, 1] */
  minReputation?: number
  /** Highest acceptable RTT, ms */
  maxRtt?: number
  /**
   * Region the job requires, a geohash prefix (its `requirements.region`):
   * a candidate implausibly far from the place it claims is refused
   * (`RouterInit.locationCheck`)
   */
  region?: string
}

/**
 * Where the RTT used for a candidate came from.
 */
export type RttSource = 'measured' | 'predicted' | 'assumed'

/**
 * The parts of a candidate's expected completion time, all in ms.
 */
export interface ScoreBreakdown {
  rtt: number
  rttSource: RttSource
  /** RTT x round trips */
  latency: number
  /** transfer bytes at the effective (loss-limited) bandwidth */
  transfer: number
  queue: number
  compute: number
  /** expected retransmission delay */
  lossPenalty: number
  /** multiplier >= 1 from low reputation */
  reputationFactor: number
  /** expected completion time: the score, lower is better */
  total: number
}

/**
 * A candidate a policy accepted, with its score and the reasons.
 */
export interface ScoredCandidate<T extends ScoreCandidate = ScoreCandidate> {
  candidate: T
  /** Expected completion time, ms; lower is better */
  score: number
  breakdown: ScoreBreakdown
  /** One short phrase per factor */
  reasons: string[]
  /** One line for humans: "B: 41 ms predicted, 2 free slots, 0.9 reputation, 1.2 s expected" */
  explain: string
}

/**
 * A candidate a policy refused, and why.
 */
export interface RejectedCandidate<T extends ScoreCandidate = ScoreCandidate> {
  candidate: T
  reason: string
  explain: string
}

/**
 * Result of {@link RoutingPolicy.evaluate} for one candidate.
 */
export type Evaluation =
  | { accepted: true, score: number, breakdown: ScoreBreakdown, reasons: string[] }
  | { accepted: false, reason: string }

/**
 * A pluggable way to score candidates. Lower scores are better; a policy may
 * refuse a candidate outright with a reason.
 */
export interface RoutingPolicy {
  readonly name: string
  evaluate(candidate: ScoreCandidate, job: JobProfile): Evaluation
}

/**
 * Options of the {@link CompletionTimePolicy}.
 */
export interface CompletionTimePolicyInit {
  /**
   * RTT assumed when neither measured nor predicted, ms
   *
   * @default 250
   */
  defaultRttMs?: number
  /**
   * Bandwidth assumed when unknown, bytes/s
   *
   * @default 12500000
   */
  defaultBandwidth?: number
  /**
   * Smallest retransmission timeout, ms
   *
   * @default 200
   */
  minRtoMs?: number
  /**
   * Loss above which a candidate is refused
   *
   * @default 0.5
   */
  maxLoss?: number
  /**
   * Reputation assumed when unknown
   *
   * @default 0.5
   */
  defaultReputation?: number
  /**
   * Weight of low reputation: time x (1 + weight x (1 - reputation))
   *
   * @default 1
   */
  reputationWeight?: number
  /**
   * Queue wait assumed when load is unknown, as a fraction of compute time
   *
   * @default 0.5
   */
  unknownLoadFactor?: number
}

// Mathis et al.: TCP throughput <= MSS / RTT * C / sqrt(p)
const MSS = 1460
const MATHIS_C = 1.22

/**
 * The default policy: expected completion time = RTT x round trips + transfer
 * at the loss-limited bandwidth + queue wait + compute time + expected
 * retransmission delay, scaled up for low reputation. Candidates above the
 * price ceiling, below the minimum reputation, above the RTT bound or with
 * extreme loss are refused.
 */
export class CompletionTimePolicy implements RoutingPolicy {
  readonly name = 'completion-time'
  private readonly defaultRttMs: number
  private readonly defaultBandwidth: number
  private readonly minRtoMs: number
  private readonly maxLoss: number
  private readonly defaultReputation: number
  private readonly reputationWeight: number
  private readonly unknownLoadFactor: number

  constructor (init: CompletionTimePolicyInit = {}) {
    this.defaultRttMs = init.defaultRttMs ?? DEFAULT_RTT_MS
    this.defaultBandwidth = init.defaultBandwidth ?? DEFAULT_BANDWIDTH
    this.minRtoMs = init.minRtoMs ?? MIN_RTO_MS
    this.maxLoss = init.maxLoss ?? MAX_LOSS
    this.defaultReputation = init.defaultReputation ?? DEFAULT_REPUTATION
    this.reputationWeight = init.reputationWeight ?? REPUTATION_WEIGHT
    this.unknownLoadFactor = init.unknownLoadFactor ?? UNKNOWN_LOAD_FACTOR
  }

  evaluate (c: ScoreCandidate, job: JobProfile): Evaluation {
    const reasons: string[] = []

    if (job.priceCeiling != null && c.price != null && c.price > job.priceCeiling) {
      return { accepted: false, reason: `price ${c.price} above ceiling ${job.priceCeiling}` }
    }

    const reputation = finiteIn(c.reputation, 0, 1) ?? this.defaultReputation

    if (job.minReputation != null && reputation < job.minReputation) {
      return { accepted: false, reason: `reputation ${fmt(reputation)} below ${job.minReputation}` }
    }

    const loss = finiteIn(c.loss, 0, 1) ?? 0

    if (loss > this.maxLoss) {
      return { accepted: false, reason: `${pct(loss)} loss` }
    }

    let rtt: number
    let rttSource: RttSource

    if (finiteIn(c.rtt, 0, Infinity) != null) {
      rtt = c.rtt as number
      rttSource = 'measured'
    } else if (finiteIn(c.predictedRtt, 0, Infinity) != null) {
      rtt = c.predictedRtt as number
      rttSource = 'predicted'
    } else {
      rtt = this.defaultRttMs
      rttSource = 'assumed'
    }

    reasons.push(`${ms(rtt)} ${rttSource}`)

    if (job.maxRtt != null && rtt > job.maxRtt) {
      return { accepted: false, reason: `${ms(rtt)} ${rttSource} RTT above bound ${ms(job.maxRtt)}` }
    }

    const roundTrips = Math.max(0, job.roundTrips ?? DEFAULT_ROUND_TRIPS)
    const latency = rtt * roundTrips

    const linkBandwidth = finiteIn(c.bandwidth, Number.MIN_VALUE, Infinity) ?? this.defaultBandwidth
    const bandwidth = loss > 0 ? Math.min(linkBandwidth, MSS * MATHIS_C / (Math.max(rtt, 1) / 1000 * Math.sqrt(loss))) : linkBandwidth
    const bytes = Math.max(0, job.transferBytes ?? 0)
    const transfer = bytes / bandwidth * 1000

    if (bytes > 0) {
      reasons.push(`${ms(transfer)} transfer`)
    }

    // a lost request or response costs a retransmission timeout; the expected
    // number of retransmissions of one message is p / (1 - p)
    const rto = Math.max(this.minRtoMs, 2 * rtt)
    const lossPenalty = roundTrips * (loss / (1 - loss)) * rto

    if (loss > 0) {
      reasons.push(`${pct(loss)} loss`)
    }

    const speed = finiteIn(c.speed, Number.MIN_VALUE, Infinity) ?? 1
    const compute = finiteIn(c.computeTime, 0, Infinity) ?? Math.max(0, job.computeTime ?? 0) / speed

    if (compute > 0) {
      reasons.push(`${ms(compute)} compute`)
    }

    const queue = this.queueWait(c, compute, reasons)

    const reputationFactor = 1 + Math.max(0, this.reputationWeight) * (1 - reputation)
    reasons.push(`${fmt(reputation)} reputation`)

    const total = (latency + transfer + lossPenalty + queue + compute) * reputationFactor

    return {
      accepted: true,
      score: total,
      breakdown: { rtt, rttSource, latency, transfer, queue, compute, lossPenalty, reputationFactor, total },
      reasons
    }
  }

  private queueWait (c: ScoreCandidate, compute: number, reasons: string[]): number {
    const concurrency = Math.max(1, finiteIn(c.concurrency, 1, Infinity) ?? 1)
    const freeSlots = finiteIn(c.freeSlots, 0, Infinity)

    if (freeSlots != null && freeSlots >= 1) {
      reasons.push(`${Math.floor(freeSlots)} free slot${freeSlots >= 2 ? 's' : ''}`)
      return 0
    }

    if (freeSlots != null) {
      // full: wait for the first of `concurrency` running jobs to finish
      // (on average 1 / (c + 1) of a job), then for the queue ahead
      const queued = Math.max(0, finiteIn(c.queueLength, 0, Infinity) ?? 0)
      const wait = compute * (queued / concurrency + 1 / (concurrency + 1))
      reasons.push(`no free slot, ${queued} queued, ${ms(wait)} wait`)
      return wait
    }

    const load = finiteIn(c.load, 0, 1)

    if (load != null) {
      // M/M/c-like growth: the wait explodes as utilisation approaches 1
      const wait = Math.min(compute * load / Math.max(1 - load, 0.01) / concurrency, compute * 100)
      reasons.push(`${pct(load)} load`)
      return wait
    }

    reasons.push('load unknown')
    return compute * this.unknownLoadFactor
  }
}

/**
 * Score every candidate with `policy` and return the accepted ones best first
 * (ties broken by id, so the order is deterministic) and the refused ones with
 * their reasons.
 */
export function rankCandidates<T extends ScoreCandidate> (candidates: T[], job: JobProfile = {}, policy: RoutingPolicy = new CompletionTimePolicy()): { choices: Array<ScoredCandidate<T>>, rejected: Array<RejectedCandidate<T>> } {
  const choices: Array<ScoredCandidate<T>> = []
  const rejected: Array<RejectedCandidate<T>> = []

  for (const candidate of candidates) {
    const evaluation = policy.evaluate(candidate, job)

    if (!evaluation.accepted) {
      rejected.push({ candidate, reason: evaluation.reason, explain: `${candidate.id}: refused, ${evaluation.reason}` })
      continue
    }

    if (!Number.isFinite(evaluation.score)) {
      rejected.push({ candidate, reason: 'score is not finite', explain: `${candidate.id}: refused, score is not finite` })
      continue
    }

    choices.push({
      candidate,
      score: evaluation.score,
      breakdown: evaluation.breakdown,
      reasons: evaluation.reasons,
      explain: `${candidate.id}: ${evaluation.reasons.join(', ')}, ${ms(evaluation.score)} expected`
    })
  }

  choices.sort((a, b) => a.score - b.score || (a.candidate.id < b.candidate.id ? -1 : a.candidate.id > b.candidate.id ? 1 : 0))

  return { choices, rejected }
}

function finiteIn (x: number | undefined, lo: number, hi: number): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) && x >= lo && x <= hi ? x : undefined
}

function ms (x: number): string {
  return x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`
}

function fmt (x: number): string {
  return String(Math.round(x * 100) / 100)
}

function pct (x: number): string {
  return `${Math.round(x * 1000) / 10}%`
}
