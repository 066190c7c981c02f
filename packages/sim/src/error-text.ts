/**
 * Turning anything thrown into text for errors, event logs and the shard
 * protocol; the readers themselves are `@shoal/utils`'.
 */

import { errorCode, errorMessage, errorName } from '@shoal/utils'

export { asError, describeError, errorMessage } from '@shoal/utils'

/** The name and message of a thrown value, as a shard reports an error to its coordinator. */
export function errorParts (err: unknown): { name: string, message: string } {
  return { name: errorName(err) ?? 'Error', message: errorMessage(err) }
}

/** A system error's `code` (`ENOENT`, `ECONNREFUSED`...), else the message. */
export function errorCodeOrMessage (err: unknown): string {
  return errorCode(err) ?? errorMessage(err)
}
