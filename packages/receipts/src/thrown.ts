/**
 * Reading what was thrown: datastores, streams and @shoal/records throw
 * errors told apart by name, and a catch clause sees them as `unknown`.
 */

/** The name of anything thrown (datastores and streams throw errors told apart by name). */
export function nameOf (err: unknown): unknown {
  return (err as { name?: unknown } | null | undefined)?.name
}

/** The message of anything thrown, for a problem report. */
export function messageOf (err: unknown): string {
  return String((err as { message?: unknown } | null | undefined)?.message ?? err)
}
