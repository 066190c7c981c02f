/**
 * Packed repeated scalars for the generated codecs in `records.ts`.
 *
 * proto3 writes repeated numeric fields packed (one length-delimited run of
 * values) and requires decoders to accept the unpacked form (one tag per
 * value) as well. protons emits only the unpacked form, so
 * `scripts/pack-repeated.mjs` rewrites its output after `npm run generate`
 * to call these helpers: encoders write packed, decoders read both.
 */

import { ParseError } from 'protons-runtime'
import type { Reader } from 'protons-runtime'

/** Wire type of a length-delimited field: strings, bytes, messages and packed runs. */
export const WIRE_TYPE_LENGTH_DELIMITED = 2

/**
 * Read the length of a packed run and return where it ends, refusing a run
 * that would end past the enclosing message (`end`).
 */
export function packedEnd (reader: Reader, end: number): number {
  const length = reader.uint32()
  const runEnd = reader.pos + length
  if (runEnd > end) {
    throw new ParseError('packed repeated field runs past the end of its message')
  }
  return runEnd
}

/** Refuse a packed run whose last value ran past its declared length. */
export function checkPackedEnd (reader: Reader, runEnd: number): void {
  if (reader.pos !== runEnd) {
    throw new ParseError('packed repeated field does not end on a value boundary')
  }
}

/** Refuse an unpacked value that arrives with a wire type other than its scalar type's. */
export function expectWireType (tag: number, wireType: number): void {
  if ((tag & 7) !== wireType) {
    throw new ParseError(`wire type ${tag & 7} for field ${tag >>> 3}, expected ${wireType} or a packed run`)
  }
}
