/**
 * Provider reputation from verified receipts, weighted by the diversity of
 * the requesters that countersigned them (docs/spec.md §5.6).
 *
 * For each requester r of a provider, with n_r receipts of which s_r
 * succeeded (status 0):
 *
 *   w_r = min(log2(1 + n_r), cap)
 *   S   = Σ_r w_r · s_r / n_r            F = Σ_r w_r · (n_r − s_r) / n_r
 *   score = (S + α) / (S + F + 2α) · γ^E
 *
 * with α the prior, γ the equivocation penalty and E the number of proven
 * equivocations by the provider. One requester, however many receipts it
 * countersigns, moves S + F by at most `cap`; ten requesters with one
 * receipt each move it by ten. Receipts a provider issues to itself count
 * for nothing.
 */

import { EQUIVOCATION_PENALTY, REPUTATION_PRIOR, REQUESTER_WEIGHT_CAP } from './constants.js'

/** Parameters of the reputation formula. */
export interface ReputationOptions {
  /**
   * most weight one requester contributes
   *
   * @default 4
   */
  requesterWeightCap?: number
  /**
   * prior successes and failures (α)
   *
   * @default 1
   */
  prior?: number
  /**
   * factor applied per proven equivocation (γ)
   *
   * @default 0.5
   */
  equivocationPenalty?: number
}

/** One receipt as the formula sees it. */
export interface ReputationSample {
  /** the countersigning requester (any stable string, e.g. its peer id) */
  requester: string
  /** executor status was 0 */
  success: boolean
}

/** What one requester contributed. */
export interface RequesterContribution {
  requester: string
  receipts: number
  successes: number
  failures: number
  /** w_r */
  weight: number
}

/** A reputation and everything that went into it. */
export interface ReputationDetails {
  /** the provider (peer id string) */
  provider: string
  /** the score in [0, 1] */
  score: number
  /** receipts counted (one per job) */
  receipts: number
  /** receipts ignored: self-dealing, or further receipts for a job already counted */
  ignored: number
  /** distinct requesters */
  requesters: number
  successes: number
  failures: number
  /** S */
  weightedSuccesses: number
  /** F */
  weightedFailures: number
  /** E */
  equivocations: number
  /** per requester, heaviest first */
  perRequester: RequesterContribution[]
  /** the formula, for display */
  formula: string
}

/** The formula, for display. */
export const REPUTATION_FORMULA = 'score = (S + α) / (S + F + 2α) · γ^E, S/F = Σ_r min(log2(1 + n_r), cap) · (successes_r | failures_r) / n_r'

/** Compute a provider's reputation from its receipts (pure). */
export function computeReputation (provider: string, samples: Iterable<ReputationSample>, equivocations: number, options: ReputationOptions = {}, ignored = 0): ReputationDetails {
  const cap = options.requesterWeightCap ?? REQUESTER_WEIGHT_CAP
  const prior = options.prior ?? REPUTATION_PRIOR
  const gamma = options.equivocationPenalty ?? EQUIVOCATION_PENALTY
  const byRequester = new Map<string, RequesterContribution>()
  let successes = 0
  let failures = 0
  let receipts = 0
  for (const s of samples) {
    if (s.requester === provider) {
      ignored++
      continue
    }
    let c = byRequester.get(s.requester)
    if (c == null) {
      c = { requester: s.requester, receipts: 0, successes: 0, failures: 0, weight: 0 }
      byRequester.set(s.requester, c)
    }
    c.receipts++
    receipts++
    if (s.success) {
      c.successes++
      successes++
    } else {
      c.failures++
      failures++
    }
  }
  let S = 0
  let F = 0
  for (const c of byRequester.values()) {
    c.weight = Math.min(Math.log2(1 + c.receipts), cap)
    S += c.weight * c.successes / c.receipts
    F += c.weight * c.failures / c.receipts
  }
  const base = (S + prior) / (S + F + 2 * prior)
  const score = Math.min(1, Math.max(0, base * Math.pow(gamma, equivocations)))
  return {
    provider,
    score: Number.isFinite(score) ? score : 0,
    receipts,
    ignored,
    requesters: byRequester.size,
    successes,
    failures,
    weightedSuccesses: S,
    weightedFailures: F,
    equivocations,
    perRequester: [...byRequester.values()].sort((a, b) => b.weight - a.weight),
    formula: REPUTATION_FORMULA
  }
}
