/**
 * Virtual time for a simulation, in the manner of a discrete-event
 * simulator running real programs: while a {@link VirtualClock} is
 * installed, every clock and timer of the process (`Date`, `performance.now`,
 * `process.hrtime`, `setTimeout`/`setInterval` and their `node:timers` and
 * `node:timers/promises` forms, `AbortSignal.timeout`) reads and schedules
 * on simulated time. Time jumps to the next timer only when the process has
 * nothing else to do: no pending `setImmediate`, no microtask or
 * `process.nextTick` (they drain before the clock's next turn), and no
 * request in flight on libuv (file system, threadpool crypto, DNS). A run
 * then takes as long as its computation, and what it measures does not
 * depend on how fast or busy the machine is.
 *
 * One clock per thread (it replaces the thread's globals); worker threads
 * each install their own.
 */

import { AsyncLocalStorage, AsyncResource, createHook } from 'node:async_hooks'
import { syncBuiltinESMExports } from 'node:module'
import timers from 'node:timers'
import timersPromises from 'node:timers/promises'
import { promisify } from 'node:util'
import { TimeHeap } from './heap.js'
import type { AsyncHook } from 'node:async_hooks'

/** 2026-01-01T00:00:00Z: `Date.now()` at virtual time zero unless told otherwise. */
export const DEFAULT_EPOCH_MS = 1_767_225_600_000

/** `performance.now()` at virtual time zero: a process is never at 0 ms either. */
export const PERFORMANCE_ORIGIN_MS = 10_000

const TIMEOUT_MAX = 2 ** 31 - 1

/**
 * The `stallMs` of simulations (`runScenario`, the benchmarks): their peers
 * wait on the clock only, so 30 s of real time with nothing to run is a
 * stuck run, not slow real I/O.
 */
export const SIMULATION_STALL_MS = 30_000

/** Turns of the clock that may see only `setImmediate` work before the next timer fires anyway. */
const MAX_IMMEDIATE_TURNS = 10_000

const SUBTLE_METHODS = ['decrypt', 'deriveBits', 'deriveKey', 'digest', 'encrypt', 'exportKey', 'generateKey', 'importKey', 'sign', 'unwrapKey', 'verify', 'wrapKey'] as const

/** The real clocks and timers, captured before any clock is installed. */
export const real = {
  setTimeout: globalThis.setTimeout,
  clearTimeout: globalThis.clearTimeout,
  setInterval: globalThis.setInterval,
  clearInterval: globalThis.clearInterval,
  setImmediate: globalThis.setImmediate,
  clearImmediate: globalThis.clearImmediate,
  Date: globalThis.Date,
  performanceNow: performance.now.bind(performance),
  hrtime: process.hrtime,
  abortSignalTimeout: AbortSignal.timeout,
  timers: { ...timers },
  timersPromises: { ...timersPromises, scheduler: timersPromises.scheduler },
  subtle: Object.fromEntries(SUBTLE_METHODS.map(name => [name, (globalThis.crypto.subtle as any)[name]])) as Record<string, (...args: unknown[]) => Promise<unknown>>
}

/** Real ms on a monotonic clock, whatever clock is installed: for reporting how long a run really took. */
export function wallNow (): number {
  return real.performanceNow()
}

/** Thrown into the run when virtual time passes its limit: a run that never ends would otherwise spin. */
export class VirtualTimeLimitError extends Error {
  static override name = 'VirtualTimeLimitError'
  override name = 'VirtualTimeLimitError'
}

/**
 * Thrown into the run when the clock has found nothing to run for
 * `stallMs` of real time: no timer, no immediate, no I/O in flight. The
 * run waits for something that can never come (time cannot move).
 */
export class VirtualTimeStallError extends Error {
  static override name = 'VirtualTimeStallError'
  override name = 'VirtualTimeStallError'
}

/** Thrown by `install` when another clock already owns this thread's globals. */
export class VirtualClockInstalledError extends Error {
  static override name = 'VirtualClockInstalledError'
  override name = 'VirtualClockInstalledError'
}

/**
 * Which peer the code running now belongs to, for the CPU model: the
 * harness starts each peer inside {@link runAsPeer}, and the context follows
 * its promises, timers and callbacks.
 */
const owner = new AsyncLocalStorage<number>()

/** Runs `fn` as peer `index`: the CPU it and everything it schedules uses is charged to that peer. */
export function runAsPeer<T> (index: number, fn: () => T): T {
  return owner.run(index, fn)
}

/** The peer the running code belongs to, if any. */
export function currentPeer (): number | undefined {
  return owner.getStore()
}

/** The CPU model: how the computation of a peer costs it simulated time. */
export interface CpuModelInit {
  /**
   * Simulated ms charged per real ms of computation (measured per timer
   * callback with the microtasks it starts). 0: computation is free, the
   * default.
   *
   * @default 0
   */
  factor?: number

  /** Per-peer factors, overriding `factor` for the peers named (by index). */
  peers?: ReadonlyMap<number, number> | Record<number, number>
}

/** Options of {@link VirtualClock}. */
export interface VirtualClockInit {
  /** `Date.now()` at virtual time zero. @default {@link DEFAULT_EPOCH_MS} */
  epochMs?: number

  /**
   * Virtual ms after which a timer that would fire throws
   * {@link VirtualTimeLimitError} out of {@link withVirtualTime}'s run
   * (rejects it). A run that waits forever for something that never comes
   * would otherwise advance time without end.
   *
   * @default Infinity
   */
  limitMs?: number

  /**
   * Real ms the clock may sit with nothing at all to run (no timer, no
   * immediate, no I/O it tracks in flight), counted from the last time it
   * found itself so, before {@link withVirtualTime}'s run rejects with
   * {@link VirtualTimeStallError}: time cannot move, so the run would
   * otherwise hang (or its process exit without a word). Real events the
   * clock cannot see (a real socket, a worker's message) restart the count
   * only when they lead to a timer, an immediate or tracked I/O: keep it
   * above the real time the program may wait on such events in a row.
   *
   * @default Infinity
   */
  stallMs?: number

  /** The CPU model (off by default). */
  cpu?: CpuModelInit
}

/** What a clock did, for reports. */
export interface VirtualClockStats {
  /** timer callbacks run */
  fired: number
  /** times the clock waited for a libuv request (file system, threadpool crypto) before moving on */
  ioWaits: number
  /** simulated ms charged to peers by the CPU model, in total */
  cpuChargedMs: number
}

type Callback = (...args: any[]) => void

/** A timer on virtual time: the shape of Node's `Timeout` (ref, unref, refresh, a numeric id). */
export class VirtualTimeout {
  /** @internal generation: an entry of the heap is live only while it matches */
  gen = 0
  /** @internal */
  active = true
  /** @internal */
  refed = true
  /** @internal whether the heap holds a live entry for it */
  inHeap = false
  /** @internal cleared with clearTimeout/close: refresh() no longer revives it */
  cleared = false
  /** @internal the async context it was set in (AsyncLocalStorage stores follow it, as on real timers) */
  readonly context: AsyncResource

  constructor (
    /** @internal */
    readonly clock: VirtualClock,
    readonly id: number,
    /** @internal */
    readonly fn: Callback,
    /** @internal */
    readonly args: unknown[],
    /** @internal */
    public delay: number,
    /** @internal repeat period for intervals, else undefined */
    readonly repeat: number | undefined,
    /** @internal the peer the CPU of its callback is charged to */
    readonly peer: number | undefined
  ) {
    // requireManualDestroy: no GC hook per timer (a snapshot would register one while async hooks are on)
    this.context = new AsyncResource('VirtualTimeout', { requireManualDestroy: true })
  }

  ref (): this {
    this.refed = true
    return this
  }

  unref (): this {
    this.refed = false
    return this
  }

  hasRef (): boolean {
    return this.refed
  }

  /**
   * Restarts the countdown from now, as Node's `timeout.refresh()` does:
   * also for a timer that has fired (from inside its callback too), not for
   * one that was cleared.
   */
  refresh (): this {
    if (!this.cleared) {
      this.clock.arm(this, this.clock.performanceNow() + this.delay)
    }
    return this
  }

  close (): this {
    this.clock.clear(this)
    return this
  }

  [Symbol.toPrimitive] (): number {
    return this.id
  }

  [Symbol.dispose] (): void {
    this.close()
  }
}

interface Entry {
  at: number
  seq: number
  timer: VirtualTimeout
  gen: number
}

let installed: VirtualClock | undefined

/** The clock installed on this thread, if any. */
export function currentVirtualClock (): VirtualClock | undefined {
  return installed
}

function checkCallback (fn: unknown): void {
  if (typeof fn !== 'function') {
    throw Object.assign(new TypeError(`The "callback" argument must be of type function. Received ${fn === null ? 'null' : typeof fn}`), { code: 'ERR_INVALID_ARG_TYPE' })
  }
}

function coerceDelay (delay: unknown): number {
  const ms = Number(delay)
  // Node's rule: anything outside [1, TIMEOUT_MAX] (0, negative, NaN) is 1 ms
  return ms >= 1 && ms <= TIMEOUT_MAX ? ms : 1
}

function isRequest (type: string): boolean {
  // one-shot requests whose callback will come back from libuv's threadpool: the file system
  // (FSREQCALLBACK, FSREQPROMISE, FILEHANDLECLOSEREQ), crypto jobs (HASHREQUEST, SIGNREQUEST,
  // KEYPAIRGENREQUEST...), DNS (GETADDRINFOREQWRAP, QUERYWRAP). Socket and pipe writes are
  // not waited for: a write to a piped stdout may never report back to JavaScript.
  return type.includes('REQ') || type === 'QUERYWRAP'
}

/**
 * Simulated time for one thread. Create it, {@link VirtualClock.install}
 * it (or use {@link withVirtualTime}), run the simulation, uninstall it.
 *
 * @example
 * ```ts
 * const result = await withVirtualTime({}, async (clock) => {
 *   await new Promise(resolve => setTimeout(resolve, 60_000)) // returns at once: a simulated minute
 *   return clock.now()                                          // 60000
 * })
 * ```
 */
export class VirtualClock {
  /** the virtual time, in `performance.now()` ms: every timer and the heap use this scale */
  private t = PERFORMANCE_ORIGIN_MS
  private readonly epochMs: number
  private limitMs: number
  private readonly stallMs: number
  private stallTimer?: ReturnType<typeof setTimeout>
  private readonly heap = new TimeHeap<Entry>()
  private seq = 0
  /** heap entries of cleared or refreshed timers, dropped lazily */
  private stale = 0
  private nextId = 1
  private readonly byId = new Map<number, VirtualTimeout>()
  private readonly immediates = new Set<NodeJS.Immediate>()
  private readonly requests = new Map<number, unknown>()
  private pendingWork = 0
  private hook?: AsyncHook
  private pumpQueued = false
  private immediateTurns = 0
  private waitingIo = false
  private horizon = Infinity
  private blocked?: (nextAt: number) => void
  private failure?: (err: Error) => void
  private readonly cpuFactor: number
  private readonly cpuPeers: Map<number, number>
  private readonly busyUntil = new Map<number, number>()
  private cpuOn: boolean
  /** the timer whose callback ran last, and when (real ms), for the CPU model */
  private charging?: { peer: number, startedReal: number }
  readonly stats: VirtualClockStats = { fired: 0, ioWaits: 0, cpuChargedMs: 0 }

  constructor (init: VirtualClockInit = {}) {
    this.epochMs = init.epochMs ?? DEFAULT_EPOCH_MS
    this.limitMs = init.limitMs ?? Infinity
    if (!(this.limitMs >= 0)) {
      throw new RangeError(`limitMs must be a number of ms >= 0, got ${String(init.limitMs)}`)
    }
    const stallMs = init.stallMs ?? Infinity
    if (!(stallMs > 0)) {
      throw new RangeError(`stallMs must be a number of ms > 0, got ${String(init.stallMs)}`)
    }
    // beyond what a real timer can wait, it would never fire: no watch
    this.stallMs = stallMs > TIMEOUT_MAX ? Infinity : stallMs
    this.cpuFactor = init.cpu?.factor ?? 0
    const peers = init.cpu?.peers
    this.cpuPeers = peers instanceof Map ? new Map(peers) : new Map(Object.entries(peers ?? {}).map(([k, v]) => [Number(k), v]))
    this.cpuOn = this.cpuFactor > 0 || [...this.cpuPeers.values()].some(f => f > 0)
    this.pump = this.pump.bind(this)
  }

  /** Virtual ms since the clock started. */
  now (): number {
    return this.t - PERFORMANCE_ORIGIN_MS
  }

  /** `Date.now()` on this clock: whole ms since the Unix epoch. */
  dateNow (): number {
    return Math.floor(this.epochMs + this.t - PERFORMANCE_ORIGIN_MS)
  }

  /** `performance.now()` on this clock. */
  performanceNow (): number {
    return this.t
  }

  /** Whether this clock owns the thread's globals. */
  get installed (): boolean {
    return installed === this
  }

  /** The earliest live timer's time (`performance.now()` scale), or Infinity. */
  nextAt (): number {
    return this.peekLive()?.at ?? Infinity
  }

  /**
   * Lets time run up to `horizon` (`performance.now()` scale, inclusive) and no further; when the next
   * timer lies beyond it and nothing else is left, `onBlocked` is called
   * with that timer's time. A sharded run advances its shards together this
   * way. Infinity (the default) lifts the limit.
   */
  setHorizon (horizon: number, onBlocked?: (nextAt: number) => void): void {
    this.horizon = horizon
    this.blocked = onBlocked
    this.queuePump()
  }

  /**
   * Calls `fn` when `performance.now()` reads `at`, exactly (or now, if that
   * is past): what the simulated links use, free of `setTimeout`'s 1 ms floor.
   * `peer`: whom the CPU model charges for it (default: the running code's peer).
   */
  at (at: number, fn: () => void, peer?: number): VirtualTimeout {
    // work for another peer runs as that peer (what it schedules is charged to it too): the timer
    // is made in that peer's context, which its async resource keeps for the callback
    const make = (): VirtualTimeout => new VirtualTimeout(this, this.nextId++, fn, [], 0, undefined, peer ?? owner.getStore())
    const timer = peer === undefined || peer === owner.getStore() ? make() : owner.run(peer, make)
    this.arm(timer, Math.max(at, this.t))
    return timer
  }

  /** A `setTimeout` on this clock (Node's delay rules: below 1 ms or not a number is 1 ms). */
  setTimeout (fn: Callback, delay?: unknown, ...args: unknown[]): VirtualTimeout {
    return this.start(fn, delay, args, false)
  }

  /** A `setInterval` on this clock. */
  setInterval (fn: Callback, delay?: unknown, ...args: unknown[]): VirtualTimeout {
    return this.start(fn, delay, args, true)
  }

  private start (fn: Callback, delay: unknown, args: unknown[], repeat: boolean): VirtualTimeout {
    checkCallback(fn)
    const ms = coerceDelay(delay)
    const timer = new VirtualTimeout(this, this.nextId++, fn, args, ms, repeat ? ms : undefined, owner.getStore())
    this.arm(timer, this.t + ms)
    return timer
  }

  /** Cancels a timer of this clock (by object or id); anything else is passed to the real `clearTimeout`. */
  clear (timer: unknown): void {
    if (timer == null) {
      return
    }

    const t = timer instanceof VirtualTimeout ? timer : (typeof timer === 'number' || typeof timer === 'string') ? this.byId.get(Number(timer)) : undefined

    if (t == null) {
      real.clearTimeout(timer as any)
      return
    }

    if (t.clock !== this) {
      // a timer of an earlier clock: it can never fire again, and its id may be one of ours
      t.cleared = true
      t.active = false
      return
    }

    t.cleared = true
    t.active = false
    t.gen++
    this.byId.delete(t.id)
    if (t.inHeap) {
      t.inHeap = false
      this.staleEntry()
    }
  }

  /** One more heap entry is dead: past a threshold, the heap drops them (cleared timers with long delays would pile up). */
  private staleEntry (): void {
    this.stale++
    if (this.stale > 4096 && this.stale * 2 > this.heap.size) {
      this.heap.retain(e => e.gen === e.timer.gen && e.timer.active)
      this.stale = 0
    }
  }

  /** @internal (re)places `timer` in the heap at `at` */
  arm (timer: VirtualTimeout, at: number): void {
    if (timer.inHeap) {
      this.staleEntry()
    }
    timer.gen++
    timer.active = true
    timer.inHeap = true
    this.byId.set(timer.id, timer)
    this.heap.push({ at, seq: this.seq++, timer, gen: timer.gen })
    this.queuePump()
  }

  /**
   * Replaces this thread's clocks and timers with this clock's. Throws
   * {@link VirtualClockInstalledError} if a clock is installed already.
   */
  install (): void {
    if (installed != null) {
      throw new VirtualClockInstalledError('a virtual clock is already installed on this thread')
    }

    installed = this
    patchGlobals(this)
    this.hook = createHook({
      // promises are not libuv requests, and tracking them is what makes async hooks slow
      trackPromises: false,
      init: (id, type, _trigger, resource) => {
        if (isRequest(type)) {
          this.requests.set(id, resource)
        }
      },
      after: (id) => { this.requestDone(id) },
      destroy: (id) => { this.requestDone(id) }
    } as Parameters<typeof createHook>[0])
    this.hook.enable()
    this.queuePump()
  }

  /** Gives the thread its real clocks back. Virtual timers still pending never fire. */
  uninstall (): void {
    if (installed !== this) {
      return
    }

    this.hook?.disable()
    this.hook = undefined
    if (this.stallTimer != null) {
      real.clearTimeout(this.stallTimer)
      this.stallTimer = undefined
    }
    restoreGlobals()
    installed = undefined
  }

  /** Whether the CPU model charges any peer. */
  get cpuModelOn (): boolean {
    return this.cpuOn
  }

  /** Sets the CPU model's factor for one peer (0: its computation is free). */
  setCpuFactor (peer: number, factor: number): void {
    this.cpuPeers.set(peer, factor)
    this.cpuOn ||= factor > 0
  }

  /**
   * Lets time run `ms` of virtual time past now, whatever the limit was: a
   * budget to stop a stuck run's peers after {@link VirtualTimeLimitError}
   * (a stop that outlasts it fails with that error again).
   */
  extendLimit (ms: number): void {
    this.limitMs = this.now() + ms
    this.queuePump()
  }

  /**
   * Starts (or restarts) the stall watch: the run fails with
   * {@link VirtualTimeStallError} if `stallMs` of real time from now no
   * timer has fired and nothing is left to run, while `stuck` holds
   * (without it: while no horizon is set). The clock calls it each time it
   * finds nothing scheduled; a sharded run's coordinator, each time it
   * waits with nothing to run in any shard. A watch whose situation
   * changed (something ran, or `stuck` no longer holds) lapses or watches
   * again. A no-op without `stallMs`.
   */
  watchStall (stuck?: () => boolean): void {
    if (!(this.stallMs < Infinity)) {
      return
    }
    if (this.stallTimer != null) {
      real.clearTimeout(this.stallTimer)
    }
    const fired = this.stats.fired
    // a real timer, which also holds the process open while it waits
    this.stallTimer = real.setTimeout(() => {
      this.stallTimer = undefined
      if (installed !== this || !(stuck?.() ?? this.horizon === Infinity)) {
        // not waiting any more: whoever waits next starts a watch of its own
        return
      }
      if (this.stats.fired !== fired || !this.idle()) {
        // it ran meanwhile, or has work now: still the same wait, watched afresh
        this.watchStall(stuck)
        return
      }
      this.failure?.(new VirtualTimeStallError(`nothing left to run for ${this.stallMs} ms of real time at virtual ${Math.round(this.now())} ms: the run waits for something that cannot happen`))
    }, this.stallMs)
  }

  /** Nothing to run: no live timer, no immediate, no request in flight. */
  private idle (): boolean {
    if (this.requests.size > 0) {
      this.pruneSyncJobs()
    }
    return this.peekLive() == null && this.immediates.size === 0 && this.requests.size === 0 && this.pendingWork === 0
  }

  /** @internal set by withVirtualTime: where a limit or stall error goes */
  onFailure (fn: (err: Error) => void): void {
    this.failure = fn
  }

  /** @internal the patched `setImmediate`: counted, so the clock waits for it */
  setImmediate (fn: Callback, ...args: unknown[]): NodeJS.Immediate {
    checkCallback(fn)
    const im: NodeJS.Immediate = real.setImmediate(() => {
      this.immediates.delete(im)
      fn(...args)
    })
    this.immediates.add(im)
    return im
  }

  /** @internal */
  clearImmediate (im: NodeJS.Immediate | undefined): void {
    if (im != null) {
      this.immediates.delete(im)
      real.clearImmediate(im)
    }
  }

  /**
   * Crypto jobs are requests in async hooks whether they run on the
   * threadpool or at once (`crypto.sign` is a sign job run synchronously):
   * only one waiting with an `ondone` callback will call back.
   */
  private pruneSyncJobs (): void {
    for (const [id, resource] of this.requests) {
      if (resource != null && typeof resource === 'object' && !('ondone' in resource) && (resource as { constructor?: { name?: string } }).constructor?.name?.endsWith('Job') === true) {
        this.requests.delete(id)
      }
    }
  }

  private requestDone (id: number): void {
    if (this.requests.delete(id)) {
      this.wakeIfIdle()
    }
  }

  private wakeIfIdle (): void {
    if (this.requests.size === 0 && this.pendingWork === 0 && this.waitingIo) {
      this.waitingIo = false
      this.queuePump()
    }
  }

  /**
   * Time stands still until `work` settles: for real work off the thread
   * that async hooks do not see as a request (Web Crypto's promises).
   */
  track<T> (work: Promise<T>): Promise<T> {
    this.pendingWork++
    const done = (): void => {
      this.pendingWork--
      this.wakeIfIdle()
    }
    work.then(done, done)
    return work
  }

  private queuePump (): void {
    if (!this.pumpQueued && installed === this) {
      this.pumpQueued = true
      real.setImmediate(this.pump)
    }
  }

  private peekLive (): Entry | undefined {
    for (let e = this.heap.peek(); e != null; e = this.heap.peek()) {
      if (e.gen === e.timer.gen && e.timer.active) {
        return e
      }
      this.heap.pop()
      if (this.stale > 0) this.stale--
    }
    return undefined
  }

  private factorOf (peer: number | undefined): number {
    if (peer === undefined) {
      return 0
    }
    return this.cpuPeers.get(peer) ?? this.cpuFactor
  }

  /**
   * One turn: if the process is idle at this instant, run the earliest timer
   * (advancing time to it) and come back after it and its microtasks.
   */
  private pump (): void {
    this.pumpQueued = false

    if (installed !== this) {
      return
    }

    // the CPU model: what the last callback and its microtasks cost, charged to its peer
    if (this.charging != null) {
      const { peer, startedReal } = this.charging
      this.charging = undefined
      const cost = (real.performanceNow() - startedReal) * this.factorOf(peer)
      if (cost > 0) {
        this.busyUntil.set(peer, Math.max(this.busyUntil.get(peer) ?? 0, this.t) + cost)
        this.stats.cpuChargedMs += cost
      }
    }

    if (this.immediates.size > 0 && this.immediateTurns < MAX_IMMEDIATE_TURNS) {
      // they were queued by the last callback: they run first, this turn comes after them
      this.immediateTurns++
      this.queuePump()
      return
    }
    // a loop that polls with setImmediate for a timer would otherwise wait forever: after this
    // many turns of nothing but immediates, the next timer fires anyway (a count: deterministic)
    this.immediateTurns = 0

    if (this.requests.size > 0) {
      this.pruneSyncJobs()
    }

    if (this.requests.size > 0 || this.pendingWork > 0) {
      // a libuv request (fs, threadpool crypto) will call back: time stands still until it has
      this.waitingIo = true
      this.stats.ioWaits++
      return
    }

    const entry = this.peekLive()

    if (entry == null) {
      // nothing scheduled: the next timer anyone sets starts the pump again
      // under a horizon (a sharded run's round), idle with no timer is blocked too: its owner judges a stall
      if (this.horizon !== Infinity) {
        this.blocked?.(Infinity)
      } else {
        this.watchStall()
      }
      return
    }

    const timer = entry.timer
    // the CPU model: a busy peer's callbacks wait until its CPU is free
    const busy = timer.peer === undefined ? undefined : this.busyUntil.get(timer.peer)
    if (busy !== undefined && busy > entry.at) {
      this.heap.pop()
      this.heap.push({ at: busy, seq: this.seq++, timer, gen: timer.gen })
      this.queuePump()
      return
    }

    if (entry.at > this.horizon) {
      this.blocked?.(entry.at)
      return
    }

    if (entry.at - PERFORMANCE_ORIGIN_MS > this.limitMs) {
      this.failure?.(new VirtualTimeLimitError(`virtual time passed its limit of ${this.limitMs} ms`))
      return
    }

    this.heap.pop()

    if (entry.at > this.t) {
      this.t = entry.at
    }

    timer.inHeap = false

    if (timer.repeat === undefined) {
      timer.active = false
      this.byId.delete(timer.id)
    }

    this.stats.fired++

    if (timer.peer !== undefined && this.factorOf(timer.peer) > 0) {
      this.charging = { peer: timer.peer, startedReal: real.performanceNow() }
    }

    try {
      timer.context.runInAsyncScope(timer.fn, timer, ...timer.args)
    } catch (err) {
      // as on real timers: an exception in a callback is the process's uncaught exception
      process.nextTick(() => { throw err })
    }

    // as Node does, an interval goes back in after its callback (unless that cleared or refreshed it)
    if (timer.repeat !== undefined && !timer.cleared && !timer.inHeap) {
      this.arm(timer, this.t + timer.repeat)
    }

    this.queuePump()
  }
}

function virtualDate (clock: VirtualClock): DateConstructor {
  const RealDate = real.Date
  function VirtualDate (this: unknown, ...args: any[]): Date | string {
    if (new.target == null) {
      return new RealDate(clock.dateNow()).toString()
    }
    return Reflect.construct(RealDate, args.length === 0 ? [clock.dateNow()] : args, new.target)
  }
  VirtualDate.prototype = RealDate.prototype
  VirtualDate.now = () => clock.dateNow()
  VirtualDate.parse = RealDate.parse
  VirtualDate.UTC = RealDate.UTC
  return VirtualDate as unknown as DateConstructor
}

function virtualHrtime (clock: VirtualClock): NodeJS.HRTime {
  const ns = (): bigint => BigInt(Math.round(clock.performanceNow() * 1e6))
  const hrtime = ((prev?: [number, number]): [number, number] => {
    let t = ns()
    if (prev != null) {
      t -= BigInt(prev[0]) * 1_000_000_000n + BigInt(prev[1])
    }
    return [Number(t / 1_000_000_000n), Number(t % 1_000_000_000n)]
  }) as NodeJS.HRTime
  hrtime.bigint = ns
  return hrtime
}

/** Whether `signal` has aborted (a call, so TypeScript does not keep an earlier check's narrowing across awaits). */
function aborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

/** What `node:timers/promises` rejects with when its signal aborts. */
function abortError (signal: AbortSignal | undefined): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal?.reason }), { name: 'AbortError', code: 'ABORT_ERR' })
}

function abortReason (): DOMException {
  return new DOMException('The operation was aborted due to timeout', 'TimeoutError')
}

function virtualSleep (clock: VirtualClock) {
  return async function sleep<T = void> (delay?: number, value?: T, options: { signal?: AbortSignal, ref?: boolean } = {}): Promise<T> {
    const signal = options.signal
    if (aborted(signal)) {
      throw abortError(signal)
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        clock.clear(timer)
        reject(abortError(signal))
      }
      const timer = clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve(value as T)
      }, delay)
      if (options.ref === false) {
        timer.unref()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }
}

function virtualIntervalIterator (clock: VirtualClock) {
  return async function * setInterval<T = void> (delay?: number, value?: T, options: { signal?: AbortSignal, ref?: boolean } = {}): AsyncGenerator<T> {
    const signal = options.signal
    if (aborted(signal)) {
      throw abortError(signal)
    }
    let ticks = 0
    let wake: (() => void) | undefined
    const timer = clock.setInterval(() => {
      ticks++
      wake?.()
    }, delay)
    if (options.ref === false) {
      timer.unref()
    }
    const onAbort = (): void => { wake?.() }
    signal?.addEventListener('abort', onAbort)
    try {
      while (true) {
        if (ticks === 0) {
          await new Promise<void>(resolve => { wake = resolve })
          wake = undefined
        }
        if (aborted(signal)) {
          throw abortError(signal)
        }
        ticks--
        yield value as T
      }
    } finally {
      clock.clear(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }
}

function patchGlobals (clock: VirtualClock): void {
  const g = globalThis as any
  const setTimeout = (fn: Callback, delay?: number, ...args: unknown[]): VirtualTimeout => clock.setTimeout(fn, delay, ...args)
  const setInterval = (fn: Callback, delay?: number, ...args: unknown[]): VirtualTimeout => clock.setInterval(fn, delay, ...args)
  const clearTimeout = (timer: unknown): void => { clock.clear(timer) }
  const setImmediate = (fn: Callback, ...args: unknown[]): NodeJS.Immediate => clock.setImmediate(fn, ...args)
  const clearImmediate = (im: NodeJS.Immediate | undefined): void => { clock.clearImmediate(im) }
  const sleep = virtualSleep(clock)
  const immediate = async <T = void>(value?: T): Promise<T> => new Promise(resolve => clock.setImmediate(() => { resolve(value as T) }))

  // util.promisify(setTimeout) is timers/promises' setTimeout, as in Node
  Object.defineProperty(setTimeout, promisify.custom, { value: sleep })
  Object.defineProperty(setImmediate, promisify.custom, { value: immediate })
  g.setTimeout = setTimeout
  g.setInterval = setInterval
  g.clearTimeout = clearTimeout
  g.clearInterval = clearTimeout
  g.setImmediate = setImmediate
  g.clearImmediate = clearImmediate
  g.Date = virtualDate(clock)
  real.Date.prototype.constructor = g.Date
  performance.now = () => clock.performanceNow()
  process.hrtime = virtualHrtime(clock)
  AbortSignal.timeout = (ms: number): AbortSignal => {
    // held until it fires: Node holds one weakly only while it has no listener, and
    // AbortSignal.any() holds its sources weakly, so a weak one could be lost with listeners waiting
    const controller = new AbortController()
    clock.setTimeout(() => { controller.abort(abortReason()) }, ms).unref()
    return controller.signal
  }

  // Web Crypto runs on the threadpool and answers with a promise: the clock waits for it
  const subtle = globalThis.crypto.subtle as any
  for (const name of SUBTLE_METHODS) {
    const original = real.subtle[name]
    if (typeof original === 'function') {
      subtle[name] = (...args: unknown[]) => clock.track(original.apply(globalThis.crypto.subtle, args))
    }
  }

  const t = timers as any
  t.setTimeout = setTimeout
  t.setInterval = setInterval
  t.clearTimeout = clearTimeout
  t.clearInterval = clearTimeout
  t.setImmediate = setImmediate
  t.clearImmediate = clearImmediate
  const tp = timersPromises as any
  tp.setTimeout = sleep
  tp.setInterval = virtualIntervalIterator(clock)
  tp.setImmediate = immediate
  Object.defineProperty(tp, 'scheduler', {
    configurable: true,
    enumerable: true,
    value: {
      wait: async (delay: number, options?: { signal?: AbortSignal }) => sleep(delay, undefined, options),
      yield: async () => immediate()
    }
  })
  syncBuiltinESMExports()
}

function restoreGlobals (): void {
  const g = globalThis as any
  for (const name of SUBTLE_METHODS) {
    delete (globalThis.crypto.subtle as any)[name]
  }
  g.setTimeout = real.setTimeout
  g.setInterval = real.setInterval
  g.clearTimeout = real.clearTimeout
  g.clearInterval = real.clearInterval
  g.setImmediate = real.setImmediate
  g.clearImmediate = real.clearImmediate
  g.Date = real.Date
  real.Date.prototype.constructor = real.Date
  delete (performance as any).now
  process.hrtime = real.hrtime
  AbortSignal.timeout = real.abortSignalTimeout
  const t = timers as any
  for (const name of ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'setImmediate', 'clearImmediate'] as const) {
    t[name] = real.timers[name]
  }
  const tp = timersPromises as any
  tp.setTimeout = real.timersPromises.setTimeout
  tp.setInterval = real.timersPromises.setInterval
  tp.setImmediate = real.timersPromises.setImmediate
  Object.defineProperty(tp, 'scheduler', { configurable: true, enumerable: true, value: real.timersPromises.scheduler })
  syncBuiltinESMExports()
}

/**
 * Runs `fn` on a new {@link VirtualClock}: installs it, awaits `fn`, and
 * uninstalls it however `fn` ends. Rejects with
 * {@link VirtualTimeLimitError} if virtual time passes `init.limitMs`,
 * with {@link VirtualTimeStallError} if nothing is left to run for
 * `init.stallMs` of real time.
 */
export async function withVirtualTime<T> (init: VirtualClockInit, fn: (clock: VirtualClock) => Promise<T>): Promise<T> {
  const clock = new VirtualClock(init)
  clock.install()
  try {
    return await new Promise<T>((resolve, reject) => {
      clock.onFailure(reject)
      fn(clock).then(resolve, reject)
    })
  } finally {
    clock.uninstall()
  }
}
