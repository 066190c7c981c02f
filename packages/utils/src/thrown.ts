/**
 * Reading what was thrown: a catch clause sees `unknown`, a thrown value
 * need not be an `Error`, and errors from libp2p, datastores and streams
 * are told apart by `name` or `code`. Nothing here assumes more than that.
 */

import { show } from './show.js'

/** The `name` of a thrown value, if it has a string one. */
export function errorName (err: unknown): string | undefined {
  const name = err != null && typeof err === 'object' ? (err as { name?: unknown }).name : undefined
  return typeof name === 'string' ? name : undefined
}

/** The message of a thrown value (its string form when it has none). */
export function errorMessage (err: unknown): string {
  const message = err != null && typeof err === 'object' ? (err as { message?: unknown }).message : undefined
  return typeof message === 'string' ? message : stringOf(err)
}

/** `Name: message` of a thrown value, as logs and reports show it. */
export function describeError (err: unknown): string {
  return `${errorName(err) ?? 'Error'}: ${errorMessage(err)}`
}

/** A system error's `code` (`ENOENT`, `ECONNREFUSED`...), if it has a string one. */
export function errorCode (err: unknown): string | undefined {
  const code = err != null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined
  return typeof code === 'string' ? code : undefined
}

/** A thrown value as an `Error` (wrapped when it is not one), for APIs that take an `Error`. */
export function asError (err: unknown): Error {
  return err instanceof Error ? err : new Error(stringOf(err))
}

/** `String(value)`, which runs the value's own `toString`: when that throws, a safe rendering instead. */
function stringOf (value: unknown): string {
  try {
    return String(value)
  } catch {
    return show(value)
  }
}
