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
