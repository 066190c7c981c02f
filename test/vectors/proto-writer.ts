/**
 * A few lines of protobuf wire format written by hand: the encodings the
 * Shoal encoders do not write (unpacked repeated scalars, which decoders must
 * still accept) and, in the vectors test, the encodings rebuilt from the
 * spec to check the ones the packages wrote.
 */

/** Protobuf wire types. */
export const WireType = { VARINT: 0, I64: 1, LEN: 2 } as const

/** Bytes to lowercase hex. */
export function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** Lowercase hex to bytes. */
export function fromHex (text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'))
}

/** Concatenate byte arrays. */
export function concat (...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts))
}

/** An unsigned LEB128 varint of a safe integer. */
export function varint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return new Uint8Array(out)
}

/** A varint length followed by the bytes (RFC 0002 signing payload parts, protobuf LEN values). */
export function lengthPrefixed (bytes: Uint8Array): Uint8Array {
  return concat(varint(bytes.byteLength), bytes)
}

/** A field key: field number and wire type. */
export function tag (field: number, wireType: number): Uint8Array {
  return varint(field * 8 + wireType)
}

/** A LEN field (bytes, string, message or packed repeated scalars). */
export function lenField (field: number, bytes: Uint8Array): Uint8Array {
  return concat(tag(field, WireType.LEN), lengthPrefixed(bytes))
}

/** A VARINT field (uint32, uint64, bool, enum). */
export function varintField (field: number, n: number): Uint8Array {
  return concat(tag(field, WireType.VARINT), varint(n))
}

/** The 8 little-endian bytes of a double. */
export function float64 (x: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setFloat64(0, x, true)
  return out
}

/** An I64 field holding a double. */
export function doubleField (field: number, x: number): Uint8Array {
  return concat(tag(field, WireType.I64), float64(x))
}
