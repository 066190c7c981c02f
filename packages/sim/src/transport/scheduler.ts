import { TimeHeap } from '../time/heap.js'
import { currentVirtualClock } from '../time/virtual-clock.js'
import type { Timed } from '../time/heap.js'
import type { VirtualTimeout } from '../time/virtual-clock.js'

/**
 * One timer for a whole simulated network: every pending delivery, drain and
 * give-up is an entry in a binary min-heap, and a single `setTimeout` is armed
 * for the earliest. Thousands of connections then cost heap entries, not
 * thousands of Node timers.
 */

/** Milliseconds on a monotonic clock. */
export interface Clock {
  (): number
}

/** A handle to a scheduled callback. */
export interface ScheduledTask {
  /** when it runs, on the scheduler's clock */
  readonly at: number
  /** stop it from running; cheap, the heap entry is dropped lazily */
  cancel(): void
}

class Task implements ScheduledTask, Timed {
  public cancelled = false

  constructor (
    public readonly at: number,
    public readonly seq: number,
    public readonly fn: () => void
  ) {}

  cancel (): void {
    this.cancelled = true
  }
}

/** Options for {@link Scheduler}. */
export interface SchedulerInit {
  /** @default performance.now */
  clock?: Clock

  /**
   * Run tasks due within this many ms of now. Node timers fire up to a
   * millisecond late because libuv's clock has millisecond resolution; a
   * little slack centres delivery on the target instead of always after it.
   *
   * @default 0
   */
  slackMs?: number
}

/** A single-timer task queue, ordered by time then by insertion. */
export class Scheduler {
  public readonly now: Clock
  private readonly heap = new TimeHeap<Task>()
  /** tasks due within this many ms run early; see {@link SchedulerInit.slackMs} */
  public readonly slackMs: number
  private seq = 0
  private timer?: ReturnType<typeof setTimeout> | VirtualTimeout
  /** on the default clock (performance.now), a virtual clock's timers can be used directly */
  private readonly virtual: boolean
  private immediate?: ReturnType<typeof setImmediate>
  private timerAt = Infinity
  private running = false

  constructor (init: SchedulerInit = {}) {
    this.now = init.clock ?? (() => performance.now())
    this.virtual = init.clock == null
    this.slackMs = init.slackMs ?? 0
    this.run = this.run.bind(this)
  }

  /** Number of entries in the heap, cancelled ones included. */
  get size (): number {
    return this.heap.size
  }

  /**
   * The slack in force: none on virtual time, where every task runs exactly
   * when due.
   */
  get slack (): number {
    return this.virtual && currentVirtualClock() != null ? 0 : this.slackMs
  }

  /**
   * Run `fn` at time `at` (scheduler clock), or as soon as possible if that
   * is past. `owner`: the simulated peer the work is for; with virtual time's
   * CPU model on, each such task is a timer of its own, charged to that peer.
   */
  schedule (at: number, fn: () => void, owner?: number): ScheduledTask {
    const clock = this.virtual ? currentVirtualClock() : undefined

    if (clock?.cpuModelOn === true) {
      const timer = clock.at(at, fn, owner)
      return { at, cancel: () => { timer.close() } }
    }

    const task = new Task(at, this.seq++, fn)
    this.heap.push(task)

    if (!this.running && at < this.timerAt) {
      this.arm()
    }

    return task
  }

  /** Drop every pending task and the timer. */
  clear (): void {
    this.heap.clear()
    this.disarm()
  }

  private disarm (): void {
    if (this.timer != null) {
      clearTimeout(this.timer as ReturnType<typeof setTimeout>)
      this.timer = undefined
    }

    if (this.immediate != null) {
      clearImmediate(this.immediate)
      this.immediate = undefined
    }

    this.timerAt = Infinity
  }

  private arm (): void {
    this.disarm()
    const head = this.heap.peek()

    if (head == null) {
      return
    }

    this.timerAt = head.at
    const delay = head.at - this.now() - this.slackMs

    const clock = currentVirtualClock()

    if (clock != null && this.virtual) {
      // virtual time: exactly when due, without setTimeout's 1 ms floor
      this.timer = clock.at(head.at, this.run)
    } else if (delay <= 0) {
      // setTimeout(fn, 0) waits at least 1 ms: a zero-delay hop would cost a
      // millisecond each way, so run on the next turn of the loop instead
      this.immediate = setImmediate(this.run)
    } else {
      this.timer = setTimeout(this.run, delay)
    }
  }

  private run (): void {
    this.timer = undefined
    this.immediate = undefined
    this.timerAt = Infinity
    this.running = true

    try {
      // tasks scheduled while running at a time already due run in this
      // pass too, in order, so a chain of zero-delay hops does not wait a
      // timer tick per hop
      // virtual time fires exactly when due: no slack
      const slack = this.slack
      for (let head = this.heap.peek(); head != null; head = this.heap.peek()) {
        if (head.at > this.now() + slack) {
          break
        }

        this.heap.pop()

        if (head.cancelled) {
          continue
        }

        try {
          head.fn()
        } catch {
          // a task's failure belongs to its owner, who handles it; one bad
          // task must not stall every other link
        }
      }
    } finally {
      this.running = false
      this.arm()
    }
  }
}
