/** Small helpers shared by the roles of the discovery service. */

import { setMaxListeners } from '@libp2p/interface'
import { InvalidQueryError } from './errors.js'

/** `value` (or `fallback` when undefined), refused with InvalidQueryError unless a positive integer. */
export function positiveInt (name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new InvalidQueryError(`${name} must be a positive integer`)
  }
  return v
}

/** The `name` of a thrown value, if it has one (errors from other libraries are matched by name). */
export function errorName (err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'name' in err && typeof err.name === 'string') {
    return err.name
  }
  return undefined
}

/** A thrown value as an Error, for APIs that take one (streams, events). */
export function toError (err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

/** Whether a failure is the search being aborted rather than the peer's fault. */
export function isAbort (err: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || errorName(err) === 'AbortError'
}

/** A signal that aborts after `ms` or with `signal`, whichever is first. */
export function timeoutSignal (ms: number, signal?: AbortSignal): AbortSignal {
  const out = AbortSignal.any(signal == null ? [AbortSignal.timeout(ms)] : [AbortSignal.timeout(ms), signal])
  setMaxListeners(Infinity, out)
  return out
}
