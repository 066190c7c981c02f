/**
 * Small byte helpers shared by the modules of this package.
 */

/** Byte equality and hex, from @shoal/utils. */
export { equalBytes, toHex } from '@shoal/utils'

/** A non-negative safe integer as 16 hex digits, so keys sort in numeric order. */
export function seqHex (n: number): string {
  return n.toString(16).padStart(16, '0')
}

/** 8-byte big-endian encoding of a safe integer. */
export function u64 (n: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

/** Read an 8-byte big-endian safe integer; undefined when malformed. */
export function readU64 (bytes: Uint8Array, offset = 0): number | undefined {
  if (bytes.byteLength < offset + 8) {
    return undefined
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset)
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v)
}
