/**
 * Virtual time for a sharded run, the coordinator's side: it drives the
 * rounds (see `barrier.ts` for the shard's side). Each round:
 *
 * 1. T = the earliest next event anywhere: the coordinator's own timers,
 *    every shard's next timer, the earliest delivery time of the frames in
 *    flight between shards; the window is [T, W) with W = T + lookahead.
 * 2. The coordinator runs its own timers before W first (timeline, sleeps,
 *    drains, progress): the calls it makes are stamped with its virtual time
 *    and take effect in the shard at exactly that time.
 * 3. Every shard is told to run to W, after taking in the frames sent to it
 *    in the previous round (how many from each shard) and the calls; each
 *    reports `done` with its next timer and what it sent.
 * 4. The answers and events the shards sent during the round are delivered:
 *    events merged into the log by time, then shard, then the shard's order;
 *    answers to calls at W, on the coordinator's clock (a call's answer
 *    reaches the coordinator at the end of the window it was given in).
 */

import { justBefore } from './barrier.js'
import type { ShardHandle } from './shard-handle.js'
import type { FromShard, RoundDone, TimedCall } from './protocol.js'
import type { SimEvent } from '../harness/events.js'
import type { VirtualClock } from '../time/virtual-clock.js'

/** What the rounds did, for reports. */
export interface RoundStats {
  /** rounds run */
  rounds: number
  /** rounds in which the coordinator had timers of its own to run */
  coordinatorRounds: number
  /** frames delivered later than their time (closer than the lookahead), summed over shards */
  clampedFrames: number
  /** the lookahead, ms */
  lookaheadMs: number
}

/** Options of a {@link RoundDriver}. */
export interface RoundDriverInit {
  clock: VirtualClock
  handles: () => readonly ShardHandle[]
  lookaheadMs: number
  /** takes the events of a round, sorted (t relative to the coordinator's log: see `eventTime`) */
  events: (events: SimEvent[]) => void
  /** an event's `abs` (shard's `performance.now()`) as the coordinator log's `t` */
  eventTime: (abs: number) => number
}

interface ShardState {
  nextAt: number
  /** frames each other shard has sent this one (cumulative) */
  expect: Record<number, number>
  /** earliest delivery time of the frames sent to it in the last round */
  minAt: number
  clamped: number
  buffered: FromShard[]
  done?: () => void
}

/** Drives the rounds of a sharded run on virtual time. Create, {@link RoundDriver.start}, then {@link RoundDriver.stop}. */
export class RoundDriver {
  readonly stats: RoundStats
  private readonly init: RoundDriverInit
  private readonly clock: VirtualClock
  private readonly state = new Map<ShardHandle, ShardState>()
  private outbox = new Map<ShardHandle, TimedCall[]>()
  private stopping = false
  private loop?: Promise<void>
  private wake?: () => void
  private phaseDone?: () => void
  private previousHorizon = -Infinity

  constructor (init: RoundDriverInit) {
    this.init = init
    this.clock = init.clock
    this.stats = { rounds: 0, coordinatorRounds: 0, clampedFrames: 0, lookaheadMs: init.lookaheadMs }
  }

  /** Starts the rounds; the shards' clocks are at the coordinator's present. */
  start (): void {
    const now = this.clock.performanceNow()
    for (const h of this.init.handles()) {
      this.state.set(h, { nextAt: now, expect: {}, minAt: Infinity, clamped: 0, buffered: [] })
    }
    // the coordinator's clock stays at the present until its first phase
    this.clock.setHorizon(justBefore(now), (at) => { this.blocked(at) })
    this.loop = this.run()
  }

  /** A call to a shard: it runs there at the coordinator's virtual time now. */
  queue (handle: ShardHandle, call: Omit<TimedCall, 'at'>): void {
    const calls = this.outbox.get(handle) ?? []
    calls.push({ ...call, at: this.clock.performanceNow() })
    this.outbox.set(handle, calls)
    this.wake?.()
  }

  /** A message from a shard: buffered until its round ends (true), or not a round's (false). */
  receive (handle: ShardHandle, msg: FromShard): boolean {
    const state = this.state.get(handle)

    if (state == null) {
      return false
    }

    if (msg.op === 'done') {
      this.onDone(state, msg)
      return true
    }

    if (msg.op === 'result' || msg.op === 'error' || msg.op === 'event') {
      state.buffered.push(msg)
      return true
    }

    return false
  }

  /** The shard is gone: its round counts as done. */
  gone (handle: ShardHandle): void {
    const state = this.state.get(handle)
    if (state != null) {
      state.nextAt = Infinity
      state.done?.()
      state.done = undefined
    }
  }

  /** Ends the rounds (after the round under way) and gives the coordinator's clock back its freedom. */
  async stop (): Promise<void> {
    this.stopping = true
    this.wake?.()
    this.phaseDone?.()
    await this.loop
  }

  private blocked (at: number): void {
    if (this.phaseDone != null) {
      const done = this.phaseDone
      this.phaseDone = undefined
      done()
    } else if (at !== Infinity) {
      // the coordinator set a timer between rounds
      this.wake?.()
    }
  }

  private onDone (state: ShardState, msg: RoundDone): void {
    state.nextAt = msg.nextAt
    state.clamped = msg.clamped

    for (const [to, count] of Object.entries(msg.sent)) {
      const target = this.handleAt(Number(to))
      const t = target == null ? undefined : this.state.get(target)
      if (t == null) continue
      const from = this.indexOf(state)
      t.expect[from] = count
      t.minAt = Math.min(t.minAt, msg.minAt[Number(to)] ?? Infinity)
    }

    state.done?.()
    state.done = undefined
  }

  private handleAt (index: number): ShardHandle | undefined {
    return this.init.handles()[index]
  }

  private indexOf (state: ShardState): number {
    for (const [h, s] of this.state) {
      if (s === state) return h.index
    }
    return -1
  }

  private alive (): ShardHandle[] {
    return this.init.handles().filter(h => h.alive && this.state.has(h))
  }

  private async run (): Promise<void> {
    try {
      while (!this.stopping) {
        const alive = this.alive()
        let t = Math.min(this.clock.nextAt(), ...alive.map(h => {
          const s = this.state.get(h) as ShardState
          return Math.min(s.nextAt, s.minAt)
        }))

        if (this.outbox.size > 0) {
          t = Math.min(t, this.clock.performanceNow())
        }

        if (t === Infinity) {
          // nothing anywhere: wait for the coordinator to call or set a timer; if it never does, the run
          // is stalled, and the clock fails it once its stall time has passed (no shard can change that)
          let waiting = true
          this.clock.watchStall(() => waiting)
          await new Promise<void>(resolve => { this.wake = resolve })
          waiting = false
          this.wake = undefined
          continue
        }

        // frames quicker than the lookahead arrive at the end of the window they were sent in
        t = Math.max(t, this.previousHorizon)
        const horizon = t + this.init.lookaheadMs

        if (this.clock.nextAt() < horizon) {
          this.stats.coordinatorRounds++
          await new Promise<void>(resolve => {
            this.phaseDone = resolve
            this.clock.setHorizon(justBefore(horizon), (at) => { this.blocked(at) })
          })
        }

        if (this.stopping) break

        const shards = this.alive()
        const outbox = this.outbox
        this.outbox = new Map()
        await Promise.all(shards.map(async h => {
          const s = this.state.get(h) as ShardState
          s.minAt = Infinity
          await new Promise<void>(resolve => {
            s.done = resolve
            h.link.send({ op: 'run', lookaheadMs: this.init.lookaheadMs, horizon, expect: { ...s.expect }, calls: outbox.get(h) ?? [] })
          })
        }))
        // calls to a shard that died meanwhile fail like any call to it
        for (const [h, calls] of outbox) {
          if (!h.alive) for (const c of calls) h.answer({ op: 'error', id: c.id, name: 'ShardError', message: `shard ${h.index} is gone` })
        }

        this.stats.rounds++
        this.previousHorizon = horizon
        this.deliver(horizon)
      }
    } finally {
      this.clock.setHorizon(Infinity)
    }
  }

  /** The round's events into the log, the answers on the clock at the window's end. */
  private deliver (horizon: number): void {
    const events: Array<{ event: SimEvent, shard: number, n: number }> = []
    let clamped = 0

    for (const h of this.init.handles()) {
      const s = this.state.get(h)
      if (s == null) continue
      clamped += s.clamped
      const buffered = s.buffered
      s.buffered = []

      buffered.forEach((msg, n) => {
        if (msg.op === 'event') {
          events.push({ event: { ...msg.event, t: this.init.eventTime(msg.abs) }, shard: h.index, n })
        } else {
          this.clock.at(horizon, () => { h.answer(msg) })
        }
      })
    }

    this.stats.clampedFrames = clamped
    events.sort((a, b) => a.event.t - b.event.t || a.shard - b.shard || a.n - b.n)
    this.init.events(events.map(e => e.event))
  }
}
