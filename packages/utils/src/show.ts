/**
 * Rendering untrusted values into error messages without running their code.
 */

/** A short, safe rendering of an untrusted value for error messages (never calls its toString). */
export function show (value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : `(${value === null ? 'null' : typeof value})`
}
