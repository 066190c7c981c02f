/**
 * Small helpers shared by the work service's modules.
 */

import { RecordError } from '@shoal/records'
import { InvalidRecordError, WorkError } from './errors.js'
import type { Price } from '@shoal/records'

/** Byte helpers from @shoal/utils, under the names this package's modules use. */
export { EMPTY_BYTES as EMPTY, equalBytes as equal, toHex as hex, sha256 } from '@shoal/utils'

/**
 * Whether a unit is metered by time (`second`, `gpu-second`, `footage-second`...):
 * such units accrue while a job runs, and a requester can bound them by the clock.
 */
export function isTimeMetered (unit: string): boolean {
  return unit.endsWith('second')
}

/**
 * Units a time-metered job accrues per second: one per GPU it holds for
 * `gpu-second`, else one. The provider meters by it and the requester
 * bounds what it pays by it: one rule, or they disagree on what is owed.
 */
export function unitsPerSecond (unit: string, gpus: number): number {
  return unit === 'gpu-second' ? Math.max(1, gpus) : 1
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
