/**
 * Small helpers shared by the work service's modules.
 */

import { createHash } from 'node:crypto'
import { RecordError } from '@shoal/records'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { InvalidRecordError, WorkError } from './errors.js'
import type { Price } from '@shoal/records'

/** Byte-wise equality. */
export { equals as equal } from 'uint8arrays/equals'

/** An empty byte array (absent optional bytes fields). */
export const EMPTY = new Uint8Array(0)

/** SHA-256 of `bytes`. */
export function sha256 (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

/** Lowercase hex of `bytes` (map keys). */
export function hex (bytes: Uint8Array): string {
  return uint8ArrayToString(bytes, 'base16')
}

/**
 * Whether a unit is metered by time (`second`, `gpu-second`, `footage-second`...):
 * such units accrue while a job runs, and a requester can bound them by the clock.
 */
export function isTimeMetered (unit: string): boolean {
  return unit.endsWith('second')
}

/** Same amount, currency and unit. */
export function samePrice (a?: Price, b?: Price): boolean {
  return a != null && b != null && a.perUnit === b.perUnit && a.currency === b.currency && a.unit === b.unit
}

/** Turn a records error into the work error a peer is told about. */
export function recordFailure (err: unknown, what: string): WorkError {
  if (err instanceof WorkError) {
    return err
  }
  if (err instanceof RecordError) {
    return new InvalidRecordError(`${what}: ${err.name}: ${err.message}`, { cause: err })
  }
  throw err
}
