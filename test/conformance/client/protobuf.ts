/**
 * A small proto3 wire-format reader and writer, written from the protobuf
 * encoding spec alone: varints (numbers up to 2^53 − 1, as the schema's
 * `jstype = JS_NUMBER` fields are), zigzag `sint32`, little-endian fixed64
 * doubles and length-delimited fields. The writer emits proto3's canonical
 * form (default scalars omitted, repeated numbers PACKED); the reader accepts
 * repeated numbers packed or not, skips unknown fields and lets the last
 * occurrence of a singular field win. `codecOf` turns a message's schema
 * table into its codec, on top of these two.
 */

/** Wire types of the protobuf encoding. */
export const WIRE = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const

/** Bytes of a varint holding `n` (a non-negative safe integer). */
export function encodeVarint (n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`not a varint: ${n}`)
  }
  const out: number[] = []
  // arithmetic, not bit operators: these work on 32 bits only
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return Uint8Array.from(out)
}

/** Builds one message, field by field, in the order written (codecOf writes them in field-number order). */
class Writer {
  private readonly parts: Uint8Array[] = []

  private tag (field: number, wire: number): void {
    this.raw(encodeVarint(field * 8 + wire))
  }

  private raw (bytes: Uint8Array): this {
    this.parts.push(bytes)
    return this
  }

  /** A varint field (uint32, uint64, bool, enum); 0 is the default and is omitted. */
  uint (field: number, value: number | boolean | undefined): this {
    const n = typeof value === 'boolean' ? (value ? 1 : 0) : (value ?? 0)
    if (n !== 0) {
      this.tag(field, WIRE.varint)
      this.raw(encodeVarint(n))
    }
    return this
  }

  /** A `sint32` field (zigzag); 0 is omitted. */
  sint (field: number, value: number | undefined): this {
    const n = value ?? 0
    return this.uint(field, n >= 0 ? n * 2 : -n * 2 - 1)
  }

  /** A `double` field; 0 is omitted. */
  double (field: number, value: number | undefined): this {
    if (value != null && !Object.is(value, 0)) {
      this.tag(field, WIRE.fixed64)
      this.raw(doubleBytes(value))
    }
    return this
  }

  /** A `bytes` field; empty is omitted. */
  bytes (field: number, value: Uint8Array | undefined): this {
    if (value != null && value.byteLength > 0) {
      this.delimited(field, value)
    }
    return this
  }

  /** A `string` field; empty is omitted. */
  string (field: number, value: string | undefined): this {
    return this.bytes(field, new TextEncoder().encode(value ?? ''))
  }

  /** An embedded message field: written whenever it is present, even empty (presence means something). */
  message (field: number, value: Uint8Array | undefined): this {
    if (value != null) {
      this.delimited(field, value)
    }
    return this
  }

  /** Repeated `bytes`/`string`/messages: one field each. */
  repeatedBytes (field: number, values: Uint8Array[]): this {
    for (const v of values) this.delimited(field, v)
    return this
  }

  /** Repeated strings: one field each. */
  repeatedString (field: number, values: string[]): this {
    return this.repeatedBytes(field, values.map(v => new TextEncoder().encode(v)))
  }

  /** Repeated varint numbers, packed (proto3's default): one length-delimited field. */
  packedUint (field: number, values: number[]): this {
    if (values.length > 0) {
      this.delimited(field, concat(values.map(encodeVarint)))
    }
    return this
  }

  /** Repeated doubles, packed: one length-delimited field of 8 bytes each. */
  packedDouble (field: number, values: number[]): this {
    if (values.length > 0) {
      this.delimited(field, concat(values.map(doubleBytes)))
    }
    return this
  }

  private delimited (field: number, value: Uint8Array): void {
    this.tag(field, WIRE.bytes)
    this.raw(encodeVarint(value.byteLength))
    this.raw(value)
  }

  /** The message's bytes. */
  finish (): Uint8Array {
    return concat(this.parts)
  }
}

/** One field occurrence as read from the wire. */
export interface WireField {
  field: number
  wire: number
  /** the varint value, for wire type 0 */
  int?: number
  /** the 8 or 4 raw bytes (fixed) or the payload (length-delimited) */
  bytes?: Uint8Array
}

/** Read a varint at `pos`; returns the value and the position after it. */
export function readVarint (buf: Uint8Array, pos: number): [number, number] {
  let value = 0
  let scale = 1
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.byteLength) {
      throw new RangeError('truncated varint')
    }
    const b = buf[pos++]
    value += (b & 0x7f) * scale
    if ((b & 0x80) === 0) {
      if (!Number.isSafeInteger(value)) {
        throw new RangeError('varint above 2^53 - 1')
      }
      return [value, pos]
    }
    scale *= 0x80
  }
  throw new RangeError('varint longer than 10 bytes')
}

/** Every field occurrence of a message, in wire order. */
export function readFields (buf: Uint8Array): WireField[] {
  const out: WireField[] = []
  let pos = 0
  while (pos < buf.byteLength) {
    let key: number
    [key, pos] = readVarint(buf, pos)
    const field = Math.floor(key / 8)
    const wire = key % 8
    if (field === 0) {
      throw new RangeError('field number 0')
    }
    if (wire === WIRE.varint) {
      let int: number
      [int, pos] = readVarint(buf, pos)
      out.push({ field, wire, int })
    } else if (wire === WIRE.fixed64 || wire === WIRE.fixed32) {
      const size = wire === WIRE.fixed64 ? 8 : 4
      if (pos + size > buf.byteLength) throw new RangeError('truncated fixed field')
      out.push({ field, wire, bytes: buf.subarray(pos, pos + size) })
      pos += size
    } else if (wire === WIRE.bytes) {
      let length: number
      [length, pos] = readVarint(buf, pos)
      if (pos + length > buf.byteLength) throw new RangeError('truncated length-delimited field')
      out.push({ field, wire, bytes: buf.subarray(pos, pos + length) })
      pos += length
    } else {
      throw new RangeError(`unsupported wire type ${wire}`)
    }
  }
  return out
}

/** Typed access to the fields of one decoded message. */
export class Reader {
  readonly fields: WireField[]

  constructor (buf: Uint8Array) {
    this.fields = readFields(buf)
  }

  private last (field: number, wire: number): WireField | undefined {
    let found: WireField | undefined
    for (const f of this.fields) {
      if (f.field !== field) continue
      if (f.wire !== wire) throw new RangeError(`field ${field}: wire type ${f.wire}, expected ${wire}`)
      found = f
    }
    return found
  }

  /** A varint scalar (last one wins), 0 when absent. */
  uint (field: number): number {
    return this.last(field, WIRE.varint)?.int ?? 0
  }

  /** A `bool`. */
  bool (field: number): boolean {
    return this.uint(field) !== 0
  }

  /** A `sint32` (zigzag). */
  sint (field: number): number {
    const n = this.uint(field)
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2
  }

  /** A `double`, 0 when absent. */
  double (field: number): number {
    const f = this.last(field, WIRE.fixed64)
    return f?.bytes == null ? 0 : readDouble(f.bytes)
  }

  /** A `bytes` field, empty when absent. */
  bytes (field: number): Uint8Array {
    return this.last(field, WIRE.bytes)?.bytes ?? new Uint8Array(0)
  }

  /** A `string` field (strict UTF-8), '' when absent. */
  string (field: number): string {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes(field))
  }

  /** An embedded message, undefined when absent. */
  message (field: number): Uint8Array | undefined {
    return this.last(field, WIRE.bytes)?.bytes
  }

  /** Every occurrence of a repeated length-delimited field. */
  repeatedBytes (field: number): Uint8Array[] {
    return this.fields.filter(f => f.field === field).map(f => {
      if (f.wire !== WIRE.bytes || f.bytes == null) throw new RangeError(`field ${field}: wire type ${f.wire}, expected 2`)
      return f.bytes
    })
  }

  /** Every occurrence of a repeated string field. */
  repeatedString (field: number): string[] {
    const decoder = new TextDecoder('utf-8', { fatal: true })
    return this.repeatedBytes(field).map(b => decoder.decode(b))
  }

  /** A repeated varint field, packed or not (a parser must accept both). */
  repeatedUint (field: number): number[] {
    const out: number[] = []
    for (const f of this.fields) {
      if (f.field !== field) continue
      if (f.wire === WIRE.varint && f.int != null) {
        out.push(f.int)
      } else if (f.wire === WIRE.bytes && f.bytes != null) {
        let pos = 0
        while (pos < f.bytes.byteLength) {
          let n: number
          [n, pos] = readVarint(f.bytes, pos)
          out.push(n)
        }
      } else {
        throw new RangeError(`field ${field}: wire type ${f.wire} for a repeated varint`)
      }
    }
    return out
  }

  /** A repeated double field, packed or not. */
  repeatedDouble (field: number): number[] {
    const out: number[] = []
    for (const f of this.fields) {
      if (f.field !== field || f.bytes == null) continue
      if (f.wire === WIRE.fixed64) {
        out.push(readDouble(f.bytes))
      } else if (f.wire === WIRE.bytes && f.bytes.byteLength % 8 === 0) {
        for (let at = 0; at < f.bytes.byteLength; at += 8) out.push(readDouble(f.bytes.subarray(at, at + 8)))
      } else {
        throw new RangeError(`field ${field}: wire type ${f.wire} for a repeated double`)
      }
    }
    return out
  }

  /** Whether a repeated numeric field came as one packed run: its only occurrence, length-delimited (proto3's canonical form). */
  isPacked (field: number): boolean {
    const occurrences = this.fields.filter(f => f.field === field)
    return occurrences.length === 1 && occurrences[0].wire === WIRE.bytes
  }
}

function doubleBytes (value: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setFloat64(0, value, true)
  return out
}

function readDouble (bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true)
}

/** Concatenate byte arrays. */
export function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

/** A codec of one message type. */
export interface Codec<T> {
  encode(value: T): Uint8Array
  decode(bytes: Uint8Array): T
}

/**
 * The proto type a TS property may have, as `[field number, type]` or, for
 * embedded messages, `[field number, type, schema]`. `uint` covers uint32,
 * uint64 and enums; repeated numbers are written packed.
 */
export type Field<V> =
  NonNullable<V> extends boolean ? readonly [number, 'bool']
    : NonNullable<V> extends number ? readonly [number, 'uint' | 'sint' | 'double']
      : NonNullable<V> extends string ? readonly [number, 'string']
        : NonNullable<V> extends Uint8Array ? readonly [number, 'bytes']
          : NonNullable<V> extends string[] ? readonly [number, 'repeated string']
            : NonNullable<V> extends Uint8Array[] ? readonly [number, 'repeated bytes']
              : NonNullable<V> extends number[] ? readonly [number, 'repeated uint' | 'repeated double']
                : NonNullable<V> extends Array<infer E> ? readonly [number, 'repeated message', Schema<E>]
                  : readonly [number, 'message', Schema<NonNullable<V>>]

/** A message's fields: every property of `T`, with a proto type that fits its TS type. */
export type Schema<T> = { readonly [K in keyof T]-?: Field<T[K]> }

/** Any field of any schema, as the generic codec sees it. */
type AnyField = readonly [number, FieldType, Schema<any>?]
type FieldType = 'bool' | 'uint' | 'sint' | 'double' | 'string' | 'bytes' | 'message' |
'repeated string' | 'repeated bytes' | 'repeated message' | 'repeated uint' | 'repeated double'

/**
 * The codec of a schema: encodes in field-number order in proto3's canonical
 * form (defaults omitted, repeated numbers packed, a present message written
 * even if empty), decodes to every property (defaults for absent scalars,
 * undefined for absent messages), repeated numbers packed or not.
 */
export function codecOf<T> (schema: Schema<T>): Codec<T> {
  const cached = codecs.get(schema)
  if (cached != null) return cached
  const fields = Object.entries<AnyField>(schema as Record<string, AnyField>).sort(([, a], [, b]) => a[0] - b[0])
  for (let i = 1; i < fields.length; i++) {
    if (fields[i][1][0] === fields[i - 1][1][0]) throw new Error(`${fields[i - 1][0]} and ${fields[i][0]} share field number ${fields[i][1][0]}`)
  }
  const codec: Codec<T> = {
    encode: value => {
      const w = new Writer()
      for (const [key, field] of fields) write(w, field, (value as Record<string, any>)[key])
      return w.finish()
    },
    decode: bytes => {
      const r = new Reader(bytes)
      return Object.fromEntries(fields.map(([key, field]) => [key, read(r, field)])) as T
    }
  }
  codecs.set(schema, codec)
  return codec
}

/** One codec per schema, so embedded messages do not sort their fields again on every call. */
const codecs = new WeakMap<object, Codec<any>>()

/** Write one property; `Schema<T>` has already matched its TS type to the field's type. */
function write (w: Writer, [n, type, schema]: AnyField, value: any): void {
  switch (type) {
    case 'bool':
    case 'uint': w.uint(n, value); break
    case 'sint': w.sint(n, value); break
    case 'double': w.double(n, value); break
    case 'string': w.string(n, value); break
    case 'bytes': w.bytes(n, value); break
    case 'message': w.message(n, value == null ? undefined : codecOf(schema as Schema<any>).encode(value)); break
    case 'repeated string': w.repeatedString(n, value ?? []); break
    case 'repeated bytes': w.repeatedBytes(n, value ?? []); break
    case 'repeated message': w.repeatedBytes(n, (value ?? []).map(codecOf(schema as Schema<any>).encode)); break
    case 'repeated uint': w.packedUint(n, value ?? []); break
    case 'repeated double': w.packedDouble(n, value ?? []); break
  }
}

/** Read one property, its proto3 default when absent. */
function read (r: Reader, [n, type, schema]: AnyField): unknown {
  switch (type) {
    case 'bool': return r.bool(n)
    case 'uint': return r.uint(n)
    case 'sint': return r.sint(n)
    case 'double': return r.double(n)
    case 'string': return r.string(n)
    case 'bytes': return r.bytes(n)
    case 'message': { const m = r.message(n); return m == null ? undefined : codecOf(schema as Schema<any>).decode(m) }
    case 'repeated string': return r.repeatedString(n)
    case 'repeated bytes': return r.repeatedBytes(n)
    case 'repeated message': return r.repeatedBytes(n).map(codecOf(schema as Schema<any>).decode)
    case 'repeated uint': return r.repeatedUint(n)
    case 'repeated double': return r.repeatedDouble(n)
  }
}
