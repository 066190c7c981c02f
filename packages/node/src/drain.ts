import { setMaxListeners } from '@libp2p/interface'
import { ProviderBusyError } from '@shoal/work'
import { COUNTERSIGN_WAIT_MS, SHUTDOWN_GRACE_MS, HAND_BACK_TIMEOUT_MS } from './constants.js'
import type { AbortOptions } from '@libp2p/interface'
import type { Discovery } from '@shoal/discovery'
import type { LoadReport } from '@shoal/router'
import type { BidPolicy, Executor, Work } from '@shoal/work'

/**
 * Lets a node stop taking work and let go of the work it has: wraps the
 * work service's bid policy and executor, and follows its jobs.
 *
 * - draining: quote requests and new assignments get `ProviderBusyError`
 *   ("shutting down"), so requesters fail over; running jobs go on;
 * - handing back: running jobs are aborted with `ProviderBusyError`, which
 *   the requester receives as a typed failure and fails over on.
 */
export class WorkGate {
  private draining_ = false
  private readonly handBack_ = new AbortController()
  private work?: Work
  private inner?: Executor
  /** assignment ids (hex) of jobs running now */
  private readonly running = new Set<string>()
  /** assignment ids (hex) of jobs done and signed, not countersigned yet, with when they finished */
  private readonly awaitingCountersign = new Map<string, number>()
  private readonly changed = new EventTarget()

  constructor () {
    setMaxListeners(Infinity, this.handBack_.signal)
  }

  /** Whether new work is refused. */
  get draining (): boolean {
    return this.draining_
  }

  /** The bid policy, refusing to quote while draining. */
  bidPolicy (inner: BidPolicy | undefined): BidPolicy | undefined {
    if (inner == null) return undefined
    return {
      bid: async (job, context) => {
        if (this.draining_) throw new ProviderBusyError('provider is shutting down; ask another provider')
        return inner.bid(job, context)
      }
    }
  }

  /** The executor, refusing to start while draining and stopped by a hand-back. */
  executor (inner: Executor | undefined): Executor | undefined {
    if (inner == null) return undefined
    this.inner = inner
    return {
      stop: async () => { await this.stopExecutor() },
      run: async (input, options) => {
        // an assignment for a quote issued before the drain: hand it back before it starts
        if (this.draining_) throw new ProviderBusyError('provider is shutting down; run the job elsewhere')
        const handBack = this.handBack_.signal
        const signal = AbortSignal.any([options.signal, handBack])
        setMaxListeners(Infinity, signal)
        let onHandBack: (() => void) | undefined
        const handedBack = new Promise<never>((_resolve, reject) => {
          onHandBack = () => { reject(new ProviderBusyError('provider shut down before the job finished; run it elsewhere')) }
          handBack.addEventListener('abort', onHandBack, { once: true })
        })
        try {
          // the inner executor sees the abort too (a command's process is killed); the typed error wins the race
          return await Promise.race([inner.run(input, { ...options, signal }), handedBack])
        } finally {
          if (onHandBack != null) handBack.removeEventListener('abort', onHandBack)
          handedBack.catch(() => {})
        }
      }
    }
  }

  /** Follow the jobs of `work` (call once, with the service the wrapped executor belongs to). */
  attach (work: Work): void {
    this.work = work
    const key = (id: Uint8Array): string => Buffer.from(id).toString('hex')
    work.addEventListener('job:started', (evt) => {
      this.running.add(key(evt.detail.assignment.id))
      this.notify()
    })
    work.addEventListener('job:completed', (evt) => {
      const id = key(evt.detail.value.assignmentId)
      this.running.delete(id)
      const now = Date.now()
      for (const [k, at] of this.awaitingCountersign) if (now - at > COUNTERSIGN_WAIT_MS) this.awaitingCountersign.delete(k)
      this.awaitingCountersign.set(id, now)
      this.notify()
    })
    work.addEventListener('job:failed', (evt) => {
      this.running.delete(key(evt.detail.assignmentId))
      this.notify()
    })
    work.addEventListener('receipt:countersigned', (evt) => {
      this.awaitingCountersign.delete(key(evt.detail.record.value.assignmentId))
      this.notify()
    })
  }

  /** What the router answers to load queries: no free slot while draining. */
  load (): LoadReport {
    const { running, concurrency, queued } = this.work?.load ?? { running: 0, concurrency: 0, queued: 0 }
    // jobs admitted while every slot is taken wait in the work service's queue: the router scores that wait
    return { freeSlots: this.draining_ ? 0 : Math.max(0, concurrency - running), concurrency, queueLength: queued }
  }

  /** Jobs running now, and finished jobs whose countersignature has not arrived yet. */
  inFlight (): { running: number, awaitingCountersign: number } {
    const now = Date.now()
    let awaiting = 0
    for (const at of this.awaitingCountersign.values()) if (now - at <= COUNTERSIGN_WAIT_MS) awaiting++
    return { running: Math.max(this.running.size, this.work?.load.running ?? 0), awaitingCountersign: awaiting }
  }

  /** Refuse new work from now on. */
  drain (): void {
    this.draining_ = true
    this.notify()
  }

  /** Abort every running job with `ProviderBusyError` (the requesters fail over). */
  handBack (): void {
    this.drain()
    this.handBack_.abort()
  }

  /**
   * Stop the wrapped executor: a command executor ends its jobs' whole
   * process trees and resolves once they are gone. Later runs fail.
   */
  async stopExecutor (): Promise<void> {
    await this.inner?.stop?.()
  }

  /** Resolve once `done()` holds (checked on every job event), or when `signal` aborts. */
  async until (done: () => boolean, signal: AbortSignal): Promise<boolean> {
    if (done()) return true
    if (signal.aborted) return false
    return new Promise<boolean>(resolve => {
      const check = (): void => {
        if (done()) finish(true)
      }
      const finish = (value: boolean): void => {
        this.changed.removeEventListener('change', check)
        signal.removeEventListener('abort', onAbort)
        clearInterval(poll)
        resolve(value)
      }
      const onAbort = (): void => { finish(done()) }
      // events cover the work service's jobs; a poll covers the rest (requester side, load)
      const poll = setInterval(check, 100)
      this.changed.addEventListener('change', check)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  private notify (): void {
    this.changed.dispatchEvent(new Event('change'))
  }
}

const gates = new WeakMap<Work, WorkGate>()

/** Remember the gate of a work service built by `shoalServices()`. */
export function registerWorkGate (work: Work, gate: WorkGate): void {
  gates.set(work, gate)
  gate.attach(work)
}

/** The gate of a work service built by `shoalServices()`, if it was. */
export function workGate (work: Work): WorkGate | undefined {
  return gates.get(work)
}

/** Options of `drainShoalNode()`. */
export interface DrainOptions extends AbortOptions {
  /**
   * How long running jobs may take to finish before they are handed back, ms
   *
   * @default 10000
   */
  timeoutMs?: number
  /** more in-flight work to wait for (e.g. jobs this node submitted as requester) */
  busy?(): boolean
  /** called once the drain starts, after new work is refused */
  onDraining?(): void
}

/** What a drain did. */
export interface DrainResult {
  /** every running job finished (and its receipt went out) within the grace period */
  finished: boolean
  /** jobs still running when the grace period ran out, handed back to their requesters */
  handedBack: number
  /** whether the capability advertisement was withdrawn from the DHT */
  withdrawn: boolean
}

/**
 * The first half of a graceful shutdown: refuse new work, withdraw the
 * capability advertisement, let running jobs finish (their receipts go out
 * and their countersignatures come back) for up to `timeout`, then hand
 * back whatever still runs. `node.stop()` afterwards flushes the stores.
 *
 * @example
 *
 * ```ts
 * process.once('SIGTERM', () => {
 *   drainShoalNode(node, { timeoutMs: 10_000 }).finally(() => node.stop())
 * })
 * ```
 */
export async function drainShoalNode (node: { services: { work: Work, discovery?: Discovery } }, options: DrainOptions = {}): Promise<DrainResult> {
  const work = node.services.work
  const gate = workGate(work)
  const timeout = options.timeoutMs ?? SHUTDOWN_GRACE_MS
  gate?.drain()
  options.onDraining?.()

  let withdrawn = false
  const discovery = node.services.discovery
  if (discovery?.currentRecord != null) {
    try {
      await discovery.withdraw({ signal: AbortSignal.any([AbortSignal.timeout(Math.max(1000, Math.min(timeout, 5000))), ...(options.signal != null ? [options.signal] : [])]) })
      withdrawn = true
    } catch {}
  }

  const idle = (): boolean => {
    const flight = gate?.inFlight() ?? { running: work.load.running, awaitingCountersign: 0 }
    return flight.running === 0 && flight.awaitingCountersign === 0 && options.busy?.() !== true
  }
  const graceSignal = AbortSignal.any([AbortSignal.timeout(timeout), ...(options.signal != null ? [options.signal] : [])])
  const poller = gate ?? new WorkGate()
  if (await poller.until(idle, graceSignal)) {
    return { finished: true, handedBack: 0, withdrawn }
  }
  const handedBack = gate?.inFlight().running ?? work.load.running
  gate?.handBack()
  // a handed-back job's program and everything it started end (SIGTERM, then SIGKILL) before the node stops
  await gate?.stopExecutor()
  // give the requesters the failure frames (and a chance to fail over) before the streams close
  await poller.until(() => (gate?.inFlight().running ?? work.load.running) === 0 && options.busy?.() !== true, AbortSignal.timeout(HAND_BACK_TIMEOUT_MS))
  await new Promise(resolve => setTimeout(resolve, 50))
  return { finished: false, handedBack, withdrawn }
}
