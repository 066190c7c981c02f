/**
 * The per-requester rate limit of received announcements and withdrawals,
 * which tells busy from abusive.
 *
 * A requester may send `burst` messages at once, then `perSecond`: what is
 * within that is accepted. What is over it is ignored (not relayed, not on
 * the board) and costs the sender nothing: an honest requester with a burst
 * of jobs is merely not heard for a while. Only a requester that sends more
 * than `1 + abuseFactor` times what the bucket allows is abusive: in some
 * window of `t` ms, more than `(1 + abuseFactor) * (burst + perSecond * t / 1000)`
 * messages, i.e. more than `abuseFactor` bursts beyond the limit within one
 * refill window (`burst / perSecond`). That is counted by a second bucket,
 * `1 + abuseFactor` times the size and rate of the first and charged by every
 * message that is not itself abusive, so both buckets refill in the same
 * window and a requester that stops sending is forgiven after it.
 *
 * Newcomer budgets (with `standing`): a fresh key would get a fresh burst,
 * so an attacker with many keys would get many. Keys with standing 0 (no
 * receipts with anyone this node knows of) therefore also draw from ONE
 * shared newcomer bucket: all of them together get `newcomers.burst` and
 * `newcomers.perSecond`, however many keys there are; beyond it their
 * messages are ignored (`newcomer`), never blamed, since an honest relay
 * forwards a newcomer's valid job in good faith. A key with standing
 * `n >= 1` draws only from its own buckets, which grow with `n`
 * (`standingScale`): each message costs it `1 / standingScale(n)` tokens.
 */

import { TokenBucketLimiter } from '@shoal/utils'
import { NEWCOMER_BUCKET_KEY, STANDING_SCALE_MAX } from './constants.js'

/** What the rate limit says of one more message of a requester: `newcomer` is over the shared newcomer budget. */
export type RateDecision = 'within' | 'over' | 'abusive' | 'newcomer'

/**
 * How many times the per-key burst and rate a key with standing `n` gets:
 * `min(1 + log2(1 + n), STANDING_SCALE_MAX)` for `n >= 1`, else 1. Slow in
 * `n`, so a few receipts with many sybil partners buy little, and capped,
 * so no key ever floods.
 */
export function standingScale (standing: number): number {
  if (!(standing >= 1)) {
    return 1
  }
  return Math.min(1 + Math.log2(1 + standing), STANDING_SCALE_MAX)
}

/** Options of the per-requester rate limit. */
export interface RequesterRateLimitInit {
  /** the largest burst accepted */
  burst: number
  /** messages accepted per second after the burst */
  perSecond: number
  /** how many times the bucket's allowance, beyond it, a requester may send before it is abusive (Infinity: never) */
  abuseFactor: number
  /** most requesters tracked (full buckets are forgotten first) */
  maxKeys: number
  /** clock, ms */
  now?(): number
  /** the standing of a requester (multihash hex): its distinct counterparties; omit for no newcomer budget */
  standing?(requesterKey: string): number
  /** the newcomer bucket shared by every key of standing 0 (only with `standing`); omit for none */
  newcomers?: { burst: number, perSecond: number }
  /** a key never limited (this node's own, multihash hex) */
  exempt?: string
}

/** The shared newcomer bucket as `newcomerBudget()` reports it. */
export interface NewcomerBudget {
  burst: number
  perSecond: number
  /** tokens left now */
  available: number
  /** messages of keys with standing 0 ignored for lack of tokens, since start */
  limited: number
}

/** Token buckets per requester: one for what is accepted, one for what is abusive. */
export class RequesterRateLimit {
  private readonly limit: TokenBucketLimiter
  private readonly abuse?: TokenBucketLimiter
  private readonly standing?: (requesterKey: string) => number
  private readonly newcomers?: TokenBucketLimiter
  private readonly newcomerInit?: { burst: number, perSecond: number }
  private readonly exempt?: string
  private newcomersLimited = 0

  constructor (init: RequesterRateLimitInit) {
    if (Number.isNaN(init.abuseFactor) || init.abuseFactor < 0) {
      throw new RangeError(`abuseFactor must be a non-negative number, got ${init.abuseFactor}`)
    }
    this.limit = new TokenBucketLimiter(init)
    if (Number.isFinite(init.abuseFactor)) {
      const scale = 1 + init.abuseFactor
      this.abuse = new TokenBucketLimiter({ ...init, burst: Math.max(1, init.burst) * scale, perSecond: init.perSecond * scale })
    }
    this.standing = init.standing
    this.exempt = init.exempt
    if (init.standing != null && init.newcomers != null) {
      this.newcomerInit = { burst: init.newcomers.burst, perSecond: init.newcomers.perSecond }
      this.newcomers = new TokenBucketLimiter({ ...this.newcomerInit, maxKeys: 1, now: init.now })
    }
  }

  /** The shared newcomer bucket now; undefined without one. */
  newcomerBudget (): NewcomerBudget | undefined {
    if (this.newcomers == null || this.newcomerInit == null) {
      return undefined
    }
    return { ...this.newcomerInit, available: this.newcomers.available(NEWCOMER_BUCKET_KEY), limited: this.newcomersLimited }
  }

  /** Count one more message of `requesterKey`, and say whether it is within the limit, over it, or abusive. */
  take (requesterKey: string): RateDecision {
    if (requesterKey === this.exempt) {
      return 'within'
    }
    const standing = this.standing?.(requesterKey) ?? 0
    const cost = 1 / standingScale(standing)
    // the abuse bucket first: an abusive message is rejected and counts in neither bucket (its sender is penalised instead)
    if (this.abuse != null && !this.abuse.tryTake(requesterKey, cost)) {
      return 'abusive'
    }
    if (!this.limit.tryTake(requesterKey, cost)) {
      return 'over'
    }
    // only a message its own key may send reaches the shared bucket: one newcomer cannot drain it past its own burst
    if (standing < 1 && this.newcomers != null && !this.newcomers.tryTake(NEWCOMER_BUCKET_KEY)) {
      this.newcomersLimited++
      return 'newcomer'
    }
    return 'within'
  }
}
