/**
 * The expiry timer: one timeout set for the next announcement or withdrawal
 * to expire, moved earlier when an earlier one arrives; each sweep drops
 * what has expired and emits `job:expired` for each job.
 */

import { MAX_TIMER_MS } from './constants.js'
import { dispatch } from './context.js'
import type { BoardContext } from './context.js'

/** Sweeps the board when its next entry expires. */
export class ExpiryTimer {
  private readonly ctx: BoardContext
  private running = false
  private timer?: ReturnType<typeof setTimeout>
  private timerAt = Infinity

  constructor (ctx: BoardContext) {
    this.ctx = ctx
  }

  start (): void {
    this.running = true
    this.schedule()
  }

  stop (): void {
    this.running = false
    if (this.timer != null) {
      clearTimeout(this.timer)
      this.timer = undefined
      this.timerAt = Infinity
    }
  }

  /** Sweep at `at` if that is earlier than the timer set; without `at`, at the board's next expiry. */
  schedule (at?: number): void {
    if (!this.running) {
      return
    }
    const next = at ?? this.ctx.store.nextExpiry()
    if (next == null) {
      return
    }
    if (at != null && next >= this.timerAt) {
      return
    }
    if (this.timer != null) {
      clearTimeout(this.timer)
    }
    const delay = Math.min(Math.max(0, next - this.ctx.now()), MAX_TIMER_MS)
    this.timerAt = next
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.timerAt = Infinity
      this.sweep()
    }, delay)
    this.timer.unref?.()
  }

  /** Drop what has expired, and emit `job:expired` for each job. */
  private sweep (): void {
    for (const entry of this.ctx.store.expire(this.ctx.now())) {
      dispatch(this.ctx, 'job:expired', entry)
    }
    this.schedule()
  }
}
