/**
 * How late this process's event loop runs timers, sampled only while a
 * search is measuring candidates. A measured RTT is the network's round
 * trip plus whatever the requester's own busy loop added before it read the
 * answer; the largest lateness seen during a search bounds that addition,
 * so a search can tell a candidate that is truly farther than its claimed
 * coordinate from one whose sample waited behind the CPU.
 *
 * Plain timers only (no `perf_hooks`), so it runs wherever libp2p does.
 */

/** A running observation: `max` is the largest lateness (ms) seen since `watch()`. */
export interface LagWatch {
  readonly max: number
  /** Stop observing (the sampler stops when nobody watches). */
  stop(): void
}

export class LoopLag {
  private readonly periodMs: number
  private readonly watches = new Set<{ max: number }>()
  private timer?: ReturnType<typeof setTimeout>

  /** @param periodMs - how often a timer is due while watched; its lateness is the sample */
  constructor (periodMs: number) {
    this.periodMs = periodMs
  }

  /** Start observing; call `stop()` on the result when done. */
  watch (): LagWatch {
    const state = { max: 0 }
    this.watches.add(state)
    if (this.timer == null) {
      this.schedule()
    }
    return {
      get max () { return state.max },
      stop: () => {
        this.watches.delete(state)
        if (this.watches.size === 0 && this.timer != null) {
          clearTimeout(this.timer)
          this.timer = undefined
        }
      }
    }
  }

  private schedule (): void {
    const due = performance.now() + this.periodMs
    this.timer = setTimeout(() => {
      const late = Math.max(0, performance.now() - due)
      for (const state of this.watches) {
        state.max = Math.max(state.max, late)
      }
      this.timer = undefined
      if (this.watches.size > 0) {
        this.schedule()
      }
    }, this.periodMs)
    // never keeps a process alive on its own
    const t = this.timer as { unref?: () => void }
    t.unref?.()
  }
}
