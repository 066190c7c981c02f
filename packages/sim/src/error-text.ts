/**
 * Turning anything thrown into text for errors and event logs: a thrown
 * value need not be an `Error`, so nothing here assumes it is.
 */

/** The name and message of a thrown value (`Error` and its string form otherwise). */
export function errorParts (err: unknown): { name: string, message: string } {
  if (err instanceof Error) {
    return { name: err.name, message: err.message }
  }

  const obj = err != null && typeof err === 'object' ? err as { name?: unknown, message?: unknown } : {}
  return {
    name: typeof obj.name === 'string' ? obj.name : 'Error',
    message: typeof obj.message === 'string' ? obj.message : String(err)
  }
}

/** The message of a thrown value. */
export function errorMessage (err: unknown): string {
  return errorParts(err).message
}

/** `Name: message` of a thrown value, as event logs record it. */
export function describeError (err: unknown): string {
  const { name, message } = errorParts(err)
  return `${name}: ${message}`
}

/** A system error's `code` (`ENOENT`, `ECONNREFUSED`...), else the message. */
export function errorCodeOrMessage (err: unknown): string {
  const code = err != null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined
  return typeof code === 'string' ? code : errorMessage(err)
}

/** A thrown value as an `Error` (wrapped when it is not one), for APIs that take an `Error`. */
export function asError (err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}
