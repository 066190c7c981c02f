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
 */

import { TokenBucketLimiter } from '@shoal/utils'

/** What the rate limit says of one more message of a requester. */
export type RateDecision = 'within' | 'over' | 'abusive'

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
}

/** Token buckets per requester: one for what is accepted, one for what is abusive. */
export class RequesterRateLimit {
  private readonly limit: TokenBucketLimiter
  private readonly abuse?: TokenBucketLimiter

  constructor (init: RequesterRateLimitInit) {
    if (Number.isNaN(init.abuseFactor) || init.abuseFactor < 0) {
      throw new RangeError(`abuseFactor must be a non-negative number, got ${init.abuseFactor}`)
    }
    this.limit = new TokenBucketLimiter(init)
    if (Number.isFinite(init.abuseFactor)) {
      const scale = 1 + init.abuseFactor
      this.abuse = new TokenBucketLimiter({ ...init, burst: Math.max(1, init.burst) * scale, perSecond: init.perSecond * scale })
    }
  }

  /** Count one more message of `requesterKey`, and say whether it is within the limit, over it, or abusive. */
  take (requesterKey: string): RateDecision {
    // the abuse bucket first: an abusive message is rejected and counts in neither bucket (its sender is penalised instead)
    if (this.abuse != null && !this.abuse.tryTake(requesterKey)) {
      return 'abusive'
    }
    return this.limit.tryTake(requesterKey) ? 'within' : 'over'
  }
}
