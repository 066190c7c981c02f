import { asError, timeoutSignal } from '@shoal/utils'
import { AllCandidatesFailedError, DeadlineExceededError, HedgeLostError } from './errors.js'
import type { AbortOptions } from '@libp2p/interface'

/**
 * Runs the work on one candidate. Must stop (and reject) when `signal` aborts.
 */
export interface Attempt<C, R> {
  (candidate: C, signal: AbortSignal): Promise<R>
}

/**
 * What happened to one attempt.
 */
export interface AttemptRecord<C> {
  candidate: C
  ok: boolean
  /** Why it failed (absent on success and for cancelled hedges) */
  error?: Error
  /** Aborted because another candidate finished first */
  cancelled: boolean
  /** ms from start of the attempt to its outcome */
  elapsed: number
}

/**
 * Options of {@link failover} and {@link hedge}.
 */
export interface FailoverOptions<C> extends AbortOptions {
  /**
   * Total time budget for all attempts, ms (the job's deadline)
   */
  timeoutMs?: number
  /**
   * Longest one attempt may take before the next candidate is tried, ms
   */
  attemptTimeoutMs?: number
  /**
   * Called when an attempt succeeds or fails (not when cancelled as a hedge loser)
   */
  onOutcome?(record: AttemptRecord<C>): void
  /**
   * Clock for `elapsed`, ms
   *
   * @default performance.now
   */
  now?(): number
}

/**
 * Options of {@link hedge}.
 */
export interface HedgeOptions<C> extends FailoverOptions<C> {
  /**
   * Attempts in flight at once
   *
   * @default 2
   */
  width?: number
  /**
   * Wait this long (ms) before sending the hedged copies; 0 sends at once
   *
   * @default 0
   */
  hedgeDelayMs?: number
}

/**
 * The winning attempt and the history of all attempts.
 */
export interface RoutedResult<C, R> {
  result: R
  candidate: C
  attempts: Array<AttemptRecord<C>>
}

/**
 * Try candidates in order until one succeeds: on failure or after
 * `attemptTimeoutMs` move to the next, all within `timeoutMs` / `signal`.
 * Rejects with `AllCandidatesFailedError` or `DeadlineExceededError`.
 */
export async function failover<C, R> (candidates: C[], attempt: Attempt<C, R>, options: FailoverOptions<C> = {}): Promise<RoutedResult<C, R>> {
  return run(candidates, attempt, options, 1, 0)
}

/**
 * Send the work to `width` candidates (default 2) and keep the first result,
 * aborting the others; a failed attempt is replaced by the next candidate.
 * For latency-critical jobs: pays extra work for a shorter tail.
 */
export async function hedge<C, R> (candidates: C[], attempt: Attempt<C, R>, options: HedgeOptions<C> = {}): Promise<RoutedResult<C, R>> {
  return run(candidates, attempt, options, Math.max(1, Math.floor(options.width ?? 2)), Math.max(0, options.hedgeDelayMs ?? 0))
}

async function run<C, R> (candidates: C[], attempt: Attempt<C, R>, options: FailoverOptions<C>, width: number, hedgeDelay: number): Promise<RoutedResult<C, R>> {
  const now = options.now ?? (() => performance.now())
  const deadline = options.timeoutMs != null ? timeoutSignal(options.timeoutMs) : undefined
  const overall = AbortSignal.any([options.signal, deadline].filter((s): s is AbortSignal => s != null))

  return new Promise((resolve, reject) => {
    const attempts: Array<AttemptRecord<C>> = []
    const errors: Error[] = []
    const running = new Map<number, { candidate: C, controller: AbortController, started: number }>()
    // the caller's hook runs inside the attempt's settlement: if it throws, the failover must go on
    const report = (record: AttemptRecord<C>): void => {
      try {
        options.onOutcome?.(record)
      } catch {}
    }
    const timers: Array<ReturnType<typeof setTimeout>> = []
    let next = 0
    let settled = false

    const finish = (settle: () => void): void => {
      if (settled) {
        return
      }

      settled = true
      overall.removeEventListener('abort', onOverallAbort)
      timers.forEach(t => { clearTimeout(t) })

      for (const { candidate, controller, started } of running.values()) {
        attempts.push({ candidate, ok: false, cancelled: true, elapsed: now() - started })
        controller.abort(new HedgeLostError('another candidate finished first'))
      }

      running.clear()
      settle()
    }

    const onOverallAbort = (): void => {
      finish(() => {
        if (deadline?.aborted === true && options.signal?.aborted !== true) {
          reject(new DeadlineExceededError(`no candidate succeeded within ${options.timeoutMs} ms`, errors))
        } else {
          reject(overall.reason)
        }
      })
    }

    const launch = (): void => {
      if (settled) {
        return
      }

      if (next >= candidates.length) {
        if (running.size === 0) {
          finish(() => { reject(new AllCandidatesFailedError(`all ${candidates.length} candidates failed`, errors)) })
        }

        return
      }

      const index = next++
      const candidate = candidates[index]
      const controller = new AbortController()
      const signals = [controller.signal, overall]

      if (options.attemptTimeoutMs != null) {
        signals.push(timeoutSignal(options.attemptTimeoutMs))
      }

      const signal = AbortSignal.any(signals)
      const started = now()
      running.set(index, { candidate, controller, started })

      raceAbort(Promise.resolve().then(async () => attempt(candidate, signal)), signal)
        .then(result => {
          if (settled) {
            return
          }

          running.delete(index)
          const record = { candidate, ok: true, cancelled: false, elapsed: now() - started }
          attempts.push(record)
          report(record)
          finish(() => { resolve({ result, candidate, attempts }) })
        }, (err: unknown) => {
          if (settled || overall.aborted) {
            return
          }

          running.delete(index)
          const error = asError(err)
          const record = { candidate, ok: false, error, cancelled: false, elapsed: now() - started }
          attempts.push(record)
          errors.push(error)
          report(record)
          launch()
        })
    }

    if (overall.aborted) {
      onOverallAbort()
      return
    }

    overall.addEventListener('abort', onOverallAbort)
    launch()

    for (let i = 1; i < width; i++) {
      if (hedgeDelay > 0) {
        timers.push(setTimeout(launch, hedgeDelay))
      } else {
        launch()
      }
    }
  })
}

/**
 * Settle with `promise`, or reject as soon as `signal` aborts, so an attempt
 * that ignores its signal cannot hold up failover.
 */
async function raceAbort<R> (promise: Promise<R>, signal: AbortSignal): Promise<R> {
  if (signal.aborted) {
    promise.catch(() => {})
    throw signal.reason
  }

  return new Promise<R>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(value => {
      signal.removeEventListener('abort', onAbort)
      resolve(value)
    }, err => {
      signal.removeEventListener('abort', onAbort)
      reject(err)
    })
  })
}
