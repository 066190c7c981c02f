/**
 * `AbortSignal.timeout` for a time computed by arithmetic: Node refuses a
 * delay that is not a whole number of ms (`ERR_OUT_OF_RANGE`), and a
 * remaining time (a deadline minus a clock that reads fractions) rarely is.
 */

/**
 * A signal that aborts with a `TimeoutError` after `ms` milliseconds, rounded
 * up to a whole ms; a negative time aborts on the next turn. Throws a
 * `RangeError` for NaN or an infinite time (no timer can mean either).
 */
export function timeoutSignal (ms: number): AbortSignal {
  if (!Number.isFinite(ms)) {
    throw new RangeError(`a timeout must be a finite number of ms, got ${ms}`)
  }
  return AbortSignal.timeout(Math.max(0, Math.ceil(ms)))
}

/**
 * `promise`, or the signal's reason once the signal aborts first (the work
 * behind `promise` goes on: it may be shared by other callers).
 */
export async function untilAborted<T> (promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal == null) {
    return promise
  }
  signal.throwIfAborted()
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
  })
}

/**
 * Resolve after `ms` milliseconds (at once for 0 or less), or reject with the
 * signal's reason when it aborts first; an aborted signal rejects at once.
 */
export async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted()
  if (ms <= 0) {
    return
  }
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
