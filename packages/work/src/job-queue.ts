/**
 * The provider's queue of admitted jobs waiting for a slot (docs/spec.md
 * §4.3). A job admitted while every slot is taken waits here, first in first
 * out, instead of being refused; it starts when a slot frees. While it
 * waits, its requesters hear where it stands (progress frames of zero units,
 * so they know the provider is alive and nothing is owed). It leaves without
 * running when it can no longer start in time, or when nobody waits for its
 * result any more. Past `maxQueued` the provider refuses with a busy reply
 * carrying the estimated wait, which `waitMs` computes.
 */

import { ProviderBusyError } from './errors.js'
import type { WorkProgress } from './index.js'
import type { JobEntry } from './run-job.js'

/** How much of a finished job's run time moves the average run time (exponential moving average). */
const RUN_TIME_WEIGHT = 0.2

/** Prefix of the message of a queued job's progress frames (docs/spec.md §4.3): they are liveness, never paid. */
export const QUEUED_MESSAGE_PREFIX = 'queued:'

/** Whether `progress` is a queued job's notice rather than progress of a running one. */
export function isQueuedProgress (progress: Pick<WorkProgress, 'units' | 'message'>): boolean {
  return progress.units === 0 && progress.message.startsWith(QUEUED_MESSAGE_PREFIX)
}

/** One job waiting in the queue. */
export interface QueuedItem {
  /** the assignment id, hex */
  readonly key: string
  /** service clock ms after which it can no longer start (its assignment expired or its deadline passed) */
  readonly startBy: number
  /** run time to assume before any job finished here: its quote's eta, ms */
  readonly etaMs: number
  /** whether anyone still waits for its result */
  wanted(): boolean
  /** tell its requesters it is `ahead` jobs from the front, about `waitMs` from starting */
  notify(ahead: number, waitMs: number): void
  /** leave the queue to run */
  start(): void
  /** leave the queue without running: it can no longer start in time, nobody wants it, or the service stopped */
  leave(reason: 'expired' | 'unwanted' | 'stopped'): void
}

/** Options of a JobQueue. */
export interface JobQueueInit {
  /** jobs that may wait at once */
  maxQueued: number
  /** jobs run at once: how fast the queue drains */
  concurrency: number
  /** how often waiting jobs are checked (expiry, requesters gone) and told a changed position, ms */
  tickMs: number
  /** a waiting job's requesters hear from it at least this often, even when its position did not change, ms */
  keepaliveMs: number
  /** the service clock, ms */
  now(): number
}

/** A bounded FIFO of jobs waiting for a slot, with the provider's estimate of their wait. */
export class JobQueue {
  private readonly init: JobQueueInit
  private readonly items: QueuedItem[] = []
  /** what each waiting job was last told: its position, and when */
  private readonly told = new Map<QueuedItem, { ahead: number, at: number }>()
  /** moving average of recent run times, ms; undefined until a job finished */
  private avgRunMs?: number
  private timer?: ReturnType<typeof setInterval>

  constructor (init: JobQueueInit) {
    this.init = init
  }

  /** Jobs waiting now. */
  get size (): number {
    return this.items.length
  }

  /** Whether another job may wait, besides `promised` jobs already given a place that are not queued yet. */
  hasRoom (promised = 0): boolean {
    return this.items.length + promised < this.init.maxQueued
  }

  /** The moving average of recent run times, ms, if any job finished yet. */
  get averageRunMs (): number | undefined {
    return this.avgRunMs
  }

  /**
   * Estimated wait of a job with `ahead` jobs waiting before it until it
   * starts, when every slot is taken: (ahead / concurrency + 1) times the
   * average run time; before any job finished, `etaMs` (a quote's), else
   * that of the first job waiting, else 0 (no estimate).
   */
  waitMs (ahead: number, etaMs?: number): number {
    const run = this.avgRunMs ?? Math.max(0, etaMs ?? this.items[0]?.etaMs ?? 0)
    return Math.ceil((Math.max(0, ahead) / this.init.concurrency + 1) * run)
  }

  /** The busy reply to a job that finds every slot taken (`running` jobs) and the queue full: with the estimated wait. */
  busyError (running: number, etaMs?: number): ProviderBusyError {
    return new ProviderBusyError(`running ${running} of ${this.init.concurrency} jobs, ${this.items.length} queued`, { retryAfterMs: this.waitMs(this.items.length, etaMs) })
  }

  /** A job finished after running `ms`: it moves the average run time. */
  ran (ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      return
    }
    this.avgRunMs = this.avgRunMs == null ? ms : this.avgRunMs + RUN_TIME_WEIGHT * (ms - this.avgRunMs)
  }

  /** Queue `item` at the back (the caller checked `hasRoom`); its requesters are told at once. */
  push (item: QueuedItem): void {
    this.items.push(item)
    this.tell(item, this.items.length - 1, this.init.now())
    if (this.timer == null) {
      this.timer = setInterval(() => { this.tick() }, this.init.tickMs)
      this.timer.unref?.()
    }
  }

  /** A slot freed: start the first job still wanted and able to start; resolves to whether one started. */
  next (): boolean {
    const now = this.init.now()
    while (this.items.length > 0) {
      const item = this.items.shift() as QueuedItem
      this.told.delete(item)
      if (this.leaveIfStale(item, now)) {
        continue
      }
      this.stopIfEmpty()
      item.start()
      return true
    }
    this.stopIfEmpty()
    return false
  }

  /** Empty the queue: every waiting job leaves unrun (the service stops). */
  clear (): void {
    const items = this.items.splice(0)
    this.told.clear()
    this.stopIfEmpty()
    for (const item of items) {
      item.leave('stopped')
    }
  }

  /** Drop jobs that can no longer start or that nobody wants; tell the rest a changed position (or that they still wait). */
  tick (): void {
    const now = this.init.now()
    let ahead = 0
    for (const item of [...this.items]) {
      if (this.leaveIfStale(item, now)) {
        this.items.splice(this.items.indexOf(item), 1)
        this.told.delete(item)
        continue
      }
      const last = this.told.get(item)
      if (last == null || last.ahead !== ahead || now - last.at >= this.init.keepaliveMs) {
        this.tell(item, ahead, now)
      }
      ahead++
    }
    this.stopIfEmpty()
  }

  private leaveIfStale (item: QueuedItem, now: number): boolean {
    if (now > item.startBy) {
      item.leave('expired')
      return true
    }
    if (!item.wanted()) {
      item.leave('unwanted')
      return true
    }
    return false
  }

  private tell (item: QueuedItem, ahead: number, now: number): void {
    this.told.set(item, { ahead, at: now })
    item.notify(ahead, this.waitMs(ahead, item.etaMs))
  }

  private stopIfEmpty (): void {
    if (this.items.length === 0 && this.timer != null) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }
}

/** What a queued job needs of the provider. */
export interface QueuedJobHooks {
  /** service clock ms after which it can no longer start */
  startBy: number
  /** whether anyone still waits for its result */
  wanted(): boolean
  /** run it now (a slot is free); resolves when it settled */
  run(): Promise<void>
  /** forget it entirely: nobody wants it and it never ran, so a resend of its assignment is admitted afresh */
  forget(): void
}

/**
 * The queue's view of one admitted job; `done` settles when the job ran or
 * left the queue. A job that expires or is stopped while waiting fails with
 * ProviderBusyError (no `retryAfterMs`: its time is up).
 */
export class QueuedJob implements QueuedItem {
  readonly key: string
  readonly startBy: number
  readonly etaMs: number
  readonly done: Promise<void>
  private readonly entry: JobEntry
  private readonly hooks: QueuedJobHooks
  private settle!: (run?: Promise<void>) => void

  constructor (entry: JobEntry, hooks: QueuedJobHooks) {
    this.entry = entry
    this.hooks = hooks
    this.key = entry.key
    this.startBy = hooks.startBy
    this.etaMs = entry.opened.quote.value.etaMs
    this.done = new Promise<Promise<void> | undefined>(resolve => { this.settle = resolve }).then(async run => { await run })
  }

  wanted (): boolean {
    return this.hooks.wanted()
  }

  notify (ahead: number, waitMs: number): void {
    const progress: WorkProgress = {
      assignmentId: this.entry.opened.assignment.id,
      units: 0,
      permille: 0,
      message: `${QUEUED_MESSAGE_PREFIX} ${ahead} ahead, about ${waitMs} ms`
    }
    this.entry.progress = progress
    for (const listener of this.entry.listeners) {
      listener(progress)
    }
  }

  start (): void {
    this.settle(this.hooks.run())
  }

  leave (reason: 'expired' | 'unwanted' | 'stopped'): void {
    this.entry.state = 'failed'
    this.entry.error = new ProviderBusyError(reason === 'expired'
      ? 'still queued when the job\'s time was up'
      : reason === 'stopped' ? 'work service stopped while the job was queued' : 'nobody waits for the queued job')
    if (reason === 'unwanted') {
      this.hooks.forget()
    }
    this.settle()
  }
}
