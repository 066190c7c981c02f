/**
 * This node's own pacing of what it publishes: peers ignore a requester's
 * announcements and withdrawals beyond their rate limit (`rate-limit.ts`),
 * so sending them would waste bandwidth and, far enough past it, get this
 * node blamed. The pacer holds the same token bucket for this node's
 * outgoing messages: a publish that does not fit waits its turn (FIFO, for
 * at most the caller's `maxWaitMs`) or fails at once with
 * `PublishRateLimitedError`.
 */

import { TokenBucketLimiter } from '@shoal/utils'
import { MAX_TIMER_MS } from './constants.js'
import { JobBoardNotStartedError, PublishRateLimitedError } from './errors.js'
import type { AbortOptions } from '@libp2p/interface'

/** The bucket of this node's outgoing messages. */
export interface PublishPacerInit {
  burst: number
  perSecond: number
  /** clock, ms */
  now(): number
}

/** How one publish waits for room. */
export interface PaceOptions extends AbortOptions {
  /** longest wait for room, ms; 0: fail at once when there is none */
  maxWaitMs: number
  /** go ahead of the publishes already waiting (withdrawals: they free providers' boards) */
  first?: boolean
}

interface Waiter {
  tokens: number
  deadline: number
  resolve(): void
  reject(err: Error): void
  cleanup(): void
}

/** the one key of this node's own bucket */
const OWN = 'own'

/** A token bucket for this node's own messages, with a queue of publishes waiting for room. */
export class PublishPacer {
  private readonly bucket: TokenBucketLimiter
  private readonly burst: number
  private readonly perSecond: number
  private readonly now: () => number
  private readonly queue: Waiter[] = []
  private timer?: ReturnType<typeof setTimeout>

  constructor (init: PublishPacerInit) {
    this.bucket = new TokenBucketLimiter({ burst: init.burst, perSecond: init.perSecond, maxKeys: 1, now: init.now })
    this.burst = Math.max(1, init.burst)
    this.perSecond = init.perSecond
    this.now = init.now
  }

  /**
   * Take `tokens` (one per topic a message goes out on: a peer on each of
   * them counts it once) now, or once there is room within `maxWaitMs`;
   * else throw `PublishRateLimitedError` and take nothing.
   */
  async take (tokens: number, options: PaceOptions): Promise<void> {
    options.signal?.throwIfAborted()
    // a message on more topics than the burst can never fit: it takes the whole bucket
    const need = Math.min(Math.max(1, tokens), this.burst)
    const ahead = options.first === true ? 0 : this.queue.reduce((sum, w) => sum + w.tokens, 0)
    if (ahead === 0 && this.queue.length === 0 && this.tryTake(need)) {
      return
    }
    const waitMs = this.waitFor(ahead + need)
    if (waitMs > options.maxWaitMs) {
      throw this.limited(waitMs)
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.remove(waiter)
        reject(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'))
      }
      const waiter: Waiter = {
        tokens: need,
        deadline: this.now() + options.maxWaitMs,
        resolve,
        reject,
        cleanup: () => options.signal?.removeEventListener('abort', onAbort)
      }
      options.signal?.addEventListener('abort', onAbort, { once: true })
      if (options.first === true) {
        this.queue.unshift(waiter)
      } else {
        this.queue.push(waiter)
      }
      this.drain()
    })
  }

  /** Refuse every waiting publish: the board stopped. */
  stop (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    for (const waiter of this.queue.splice(0)) {
      waiter.cleanup()
      waiter.reject(new JobBoardNotStartedError('The job board stopped before this message could be published'))
    }
  }

  /** Serve the waiting publishes in order as room comes; refuse those whose wait is over. */
  private drain (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    while (this.queue.length > 0) {
      const head = this.queue[0]
      if (this.tryTake(head.tokens)) {
        this.queue.shift()
        head.cleanup()
        head.resolve()
        continue
      }
      const now = this.now()
      for (const waiter of [...this.queue]) {
        if (waiter.deadline < now) {
          this.remove(waiter)
          waiter.reject(this.limited(this.waitFor(waiter.tokens)))
        }
      }
      if (this.queue[0] !== head) {
        continue
      }
      this.timer = setTimeout(() => { this.drain() }, Math.min(MAX_TIMER_MS, Math.max(1, this.waitFor(head.tokens))))
      return
    }
  }

  private remove (waiter: Waiter): void {
    const at = this.queue.indexOf(waiter)
    if (at >= 0) {
      this.queue.splice(at, 1)
      waiter.cleanup()
    }
  }

  private tryTake (tokens: number): boolean {
    if (this.bucket.available(OWN) < tokens) {
      return false
    }
    for (let i = 0; i < tokens; i++) {
      this.bucket.tryTake(OWN)
    }
    return true
  }

  /** ms until `tokens` are in the bucket (ahead of any waiting publish) */
  private waitFor (tokens: number): number {
    const missing = tokens - this.bucket.available(OWN)
    if (missing <= 0) {
      return 0
    }
    return this.perSecond > 0 ? Math.ceil(missing * 1000 / this.perSecond) : Infinity
  }

  private limited (retryAfterMs: number): PublishRateLimitedError {
    const every = this.perSecond > 0 ? `then one every ${formatSeconds(1000 / this.perSecond)} s` : 'then none'
    const retry = Number.isFinite(retryAfterMs) ? `room again in ${formatSeconds(retryAfterMs)} s` : 'no room at this rate'
    // read after `job submit`'s "not published on the job board (...)": no parentheses of its own
    return new PublishRateLimitedError(`peers accept ${this.burst} announcements at once, ${every}; ${retry}`, retryAfterMs)
  }
}

function formatSeconds (ms: number): string {
  return String(Math.round(ms / 100) / 10)
}
