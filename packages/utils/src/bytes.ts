/**
 * Byte helpers every package needs: equality, hex for map keys, SHA-256.
 */

import { hash } from 'node:crypto'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'

/** Byte-wise equality. */
export { equals as equalBytes } from 'uint8arrays/equals'

/** An empty byte array (absent optional bytes fields). */
export const EMPTY_BYTES = new Uint8Array(0)

/** Lower-case hex of `bytes` (map keys, logs). */
export function toHex (bytes: Uint8Array): string {
  return uint8ArrayToString(bytes, 'base16')
}

/** SHA-256 of `bytes`. */
export function sha256 (bytes: Uint8Array): Uint8Array {
  // the one-shot digest: no Hash object per call (record ids, log entries, inputs)
  return new Uint8Array(hash('sha256', bytes, 'buffer'))
}
