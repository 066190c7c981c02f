/** Small helpers shared by the roles of the discovery service. */

import { setMaxListeners } from '@libp2p/interface'
import { errorName } from '@shoal/utils'
import { InvalidQueryError } from './errors.js'

/** `value` (or `fallback` when undefined), refused with InvalidQueryError unless a positive integer. */
export function positiveInt (name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new InvalidQueryError(`${name} must be a positive integer`)
  }
  return v
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
