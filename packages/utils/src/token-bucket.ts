/**
 * Token buckets per key (a requester, a peer), in a bounded map: a key may
 * send a burst, then a steady trickle; memory stays bounded however many
 * keys there are.
 */

/** Options of a token bucket rate limiter. */
export interface TokenBucketInit {
  /** bucket size: the largest burst */
  burst: number
  /** tokens added per second */
  perSecond: number
  /** most keys tracked; when full, buckets that have refilled are forgotten first, then the oldest */
  maxKeys: number
  /** clock, ms */
  now?(): number
}

interface Bucket {
  tokens: number
  at: number
}

/** Token buckets per key. */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>()
  private readonly burst: number
  private readonly perMs: number
  private readonly maxKeys: number
  private readonly now: () => number

  constructor (init: TokenBucketInit) {
    // a NaN here would make every bucket answer yes: a limiter that limits nothing
    for (const [name, value] of [['burst', init.burst], ['perSecond', init.perSecond], ['maxKeys', init.maxKeys]] as const) {
      if (Number.isNaN(value) || value < 0) {
        throw new RangeError(`${name} must be a non-negative number, got ${value}`)
      }
    }
    this.burst = Math.max(1, init.burst)
    this.perMs = Math.max(0, init.perSecond) / 1000
    this.maxKeys = Math.max(1, init.maxKeys)
    this.now = init.now ?? Date.now
  }

  /**
   * Take `cost` tokens (default 1) for `key`; false when its bucket holds
   * fewer (nothing is taken then). A cost of `1 / f` lets a key send `f`
   * times the burst and rate of the others from the same buckets.
   */
  tryTake (key: string, cost: number = 1): boolean {
    if (!(cost > 0)) {
      // a zero, negative or NaN cost would make the bucket answer yes for ever
      throw new RangeError(`cost must be a positive number, got ${cost}`)
    }
    const now = this.now()
    let bucket = this.buckets.get(key)
    if (bucket == null) {
      this.makeRoom(now)
      bucket = { tokens: this.burst, at: now }
    } else {
      // re-insert so the map stays in least-recently-used order
      this.buckets.delete(key)
      this.refill(bucket, now)
    }
    this.buckets.set(key, bucket)
    // the epsilon: a fractional cost summed `f` times must spend exactly one token, not a hair more
    if (bucket.tokens + 1e-9 < cost) {
      return false
    }
    bucket.tokens = Math.max(0, bucket.tokens - cost)
    return true
  }

  /** Tokens currently available to `key`. */
  available (key: string): number {
    const bucket = this.buckets.get(key)
    if (bucket == null) {
      return this.burst
    }
    return Math.min(this.burst, bucket.tokens + Math.max(0, this.now() - bucket.at) * this.perMs)
  }

  /** Number of keys tracked. */
  get size (): number {
    return this.buckets.size
  }

  /** Forget every bucket. */
  clear (): void {
    this.buckets.clear()
  }

  private refill (bucket: Bucket, now: number): void {
    const elapsed = Math.max(0, now - bucket.at)
    bucket.tokens = Math.min(this.burst, bucket.tokens + elapsed * this.perMs)
    // a clock stepped back must not let the same time refill twice when it comes forward again
    bucket.at = Math.max(bucket.at, now)
  }

  private makeRoom (now: number): void {
    if (this.buckets.size < this.maxKeys) {
      return
    }
    // a full bucket holds no state worth keeping (a new one starts full too);
    // look at a few of the least recently used only, so a flood of new keys stays O(1)
    let looked = 0
    for (const [key, bucket] of this.buckets) {
      if (looked++ >= 32) {
        break
      }
      this.refill(bucket, now)
      if (bucket.tokens >= this.burst) {
        this.buckets.delete(key)
      }
      if (this.buckets.size < this.maxKeys) {
        return
      }
    }
    const oldest = this.buckets.keys().next().value
    if (oldest != null) {
      this.buckets.delete(oldest)
    }
  }
}
