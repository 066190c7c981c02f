/**
 * Repeated numeric fields: encoders write proto3's packed form, decoders
 * read packed, unpacked and any mix of the two (proto3 requires it; a stock
 * proto3 encoder writes packed). The bytes here are built by hand so they do
 * not depend on the codec under test.
 */

import assert from 'node:assert/strict'
import fc from 'fast-check'
import { concat } from 'uint8arrays/concat'
import { CapabilityRecordType, JobSyncRequest, MalformedRecordError, NetworkCoordinate, decodeEnvelope, openRecord, recordId, signRecord } from '../src/index.js'
import { sealEnvelope } from '../src/envelope.js'
import { NOW, examples, parties } from './fixtures.js'

function varint (n: number): Uint8Array {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n % 128) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return Uint8Array.from(out)
}

function float64 (x: number): Uint8Array {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setFloat64(0, x, true)
  return b
}

const tag = (field: number, wireType: number): Uint8Array => varint(field * 8 + wireType)
const lengthDelimited = (field: number, body: Uint8Array): Uint8Array => concat([tag(field, 2), varint(body.length), body])

/** A coordinate with `vec` cut into runs: a run of one value may be written unpacked or as a packed run of one. */
function coordinateBytes (c: NetworkCoordinate, runs: Array<{ size: number, packed: boolean }>): Uint8Array {
  const parts: Uint8Array[] = []
  let i = 0
  for (const run of runs) {
    const values = c.vec.slice(i, i + run.size)
    i += run.size
    parts.push(run.packed
      ? lengthDelimited(1, concat(values.map(float64)))
      : concat(values.map(v => concat([tag(1, 1), float64(v)]))))
  }
  if (c.height !== 0) parts.push(tag(2, 1), float64(c.height))
  if (c.error !== 0) parts.push(tag(3, 1), float64(c.error))
  return concat(parts)
}

function syncRequestBytes (r: JobSyncRequest, packed: boolean): Uint8Array {
  const kinds = packed
    ? (r.kinds.length > 0 ? [lengthDelimited(1, concat(r.kinds.map(varint)))] : [])
    : r.kinds.map(k => concat([tag(1, 0), varint(k)]))
  const regions = r.regions.map(s => lengthDelimited(2, new TextEncoder().encode(s)))
  return concat([...kinds, ...regions])
}

/** Split `n` values into runs, each written packed or not. */
const runsOf = (n: number): fc.Arbitrary<Array<{ size: number, packed: boolean }>> =>
  fc.array(fc.boolean(), { minLength: n, maxLength: n }).chain(packedFlags =>
    fc.array(fc.integer({ min: 1, max: Math.max(1, n) }), { maxLength: n }).map(cuts => {
      const runs: Array<{ size: number, packed: boolean }> = []
      let left = n
      for (const cut of cuts) {
        if (left === 0) break
        const size = Math.min(cut, left)
        runs.push({ size, packed: packedFlags[runs.length] })
        left -= size
      }
      if (left > 0) runs.push({ size: left, packed: true })
      return runs
    }))

const coordinates = fc.record({
  vec: fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 16 }),
  height: fc.double({ min: 0, max: 10_000, noNaN: true }),
  error: fc.double({ min: 0, max: 1.5, noNaN: true })
})

const sameNumbers = (a: number[], b: number[]): void => assert.deepEqual(a.map(x => Object.is(x, -0) ? 0 : x), b.map(x => Object.is(x, -0) ? 0 : x))

describe('records: packed repeated fields', () => {
  it('encodes repeated numbers as one packed run, as proto3 does', () => {
    // NetworkCoordinate { vec: [1, 2] }: tag 1 wire type 2, 16 bytes of two little-endian doubles
    assert.deepEqual(NetworkCoordinate.encode({ vec: [1, 2], height: 0, error: 0 }), lengthDelimited(1, concat([float64(1), float64(2)])))
    // JobSyncRequest { kinds: [1, 3], regions: ['w2'] }
    assert.deepEqual(JobSyncRequest.encode({ kinds: [1, 3], regions: ['w2'] }), Uint8Array.from([0x0a, 0x02, 0x01, 0x03, 0x12, 0x02, 0x77, 0x32]))
    // an empty list writes nothing
    assert.equal(JobSyncRequest.encode({ kinds: [], regions: [] }).length, 0)
  })

  it('decodes a coordinate written packed, unpacked or in any mix of runs to the same value (property)', () => {
    fc.assert(fc.property(coordinates.chain(c => fc.tuple(fc.constant(c), runsOf(c.vec.length))), ([c, runs]) => {
      const decoded = NetworkCoordinate.decode(coordinateBytes(c, runs))
      sameNumbers(decoded.vec, c.vec)
      assert.equal(decoded.height, c.height === 0 ? 0 : c.height)
      sameNumbers(NetworkCoordinate.decode(NetworkCoordinate.encode(c)).vec, c.vec)
    }), { numRuns: 2000 })
  })

  it('decodes sync requests written packed or unpacked to the same value (property)', () => {
    const requests = fc.record({
      kinds: fc.array(fc.nat({ max: 2 ** 32 - 1 }), { maxLength: 40 }),
      regions: fc.array(fc.string({ maxLength: 2 }), { maxLength: 5 })
    })
    fc.assert(fc.property(requests, r => {
      const expected = { kinds: r.kinds, regions: r.regions }
      assert.deepEqual(JobSyncRequest.decode(syncRequestBytes(r, true)), expected)
      assert.deepEqual(JobSyncRequest.decode(syncRequestBytes(r, false)), expected)
      assert.deepEqual(JobSyncRequest.decode(JobSyncRequest.encode(r)), expected)
    }), { numRuns: 2000 })
  })

  it('refuses a packed run that overruns its message or ends inside a value, and a value of the wrong wire type', () => {
    const bad = [
      // packed run claims 16 bytes, 8 follow
      concat([tag(1, 2), varint(16), float64(1)]),
      // 12 bytes: one double and half of the next
      lengthDelimited(1, concat([float64(1), new Uint8Array(4)])),
      // a varint where a double belongs
      concat([tag(1, 0), varint(5)])
    ]
    for (const bytes of bad) {
      assert.throws(() => NetworkCoordinate.decode(bytes), { name: /ParseError|RangeError/ })
    }
    // a run of kinds that ends inside a varint
    assert.throws(() => JobSyncRequest.decode(lengthDelimited(1, Uint8Array.from([0x01, 0x80]))), { name: /ParseError|RangeError/ })
  })

  it('refuses a run that ends inside a value when more fields follow it, rather than reading on misaligned', () => {
    // 12 bytes: a double and half of the next, then a height field the reader could misread as its rest
    const misaligned = concat([lengthDelimited(1, concat([float64(1), new Uint8Array(4)])), tag(2, 1), float64(4)])
    assert.throws(() => NetworkCoordinate.decode(misaligned), { name: 'ParseError' })
    const kinds = concat([lengthDelimited(1, Uint8Array.from([0x01, 0x80])), lengthDelimited(2, new TextEncoder().encode('w2'))])
    assert.throws(() => JobSyncRequest.decode(kinds), { name: 'ParseError' })
  })

  it('streams the values of packed and unpacked runs alike, one event per value', () => {
    const c = { vec: [1, 2, 3, 4], height: 0.5, error: 0 }
    const bytes = coordinateBytes(c, [{ size: 2, packed: true }, { size: 1, packed: false }, { size: 1, packed: true }])
    const vec = [...NetworkCoordinate.stream(bytes)].filter(e => String(e.field).endsWith('vec[]'))
    assert.deepEqual(vec.map(e => e.value), c.vec)
    assert.deepEqual(vec.map(e => 'index' in e ? e.index : -1), [0, 1, 2, 3])
    assert.throws(() => [...NetworkCoordinate.stream(concat([tag(1, 2), varint(16), float64(1)]))], { name: /ParseError|RangeError/ })
  })

  it('enforces decode limits inside packed runs as for unpacked values', () => {
    const kinds = syncRequestBytes({ kinds: [1, 2, 3, 1, 2], regions: [] }, true)
    assert.throws(() => JobSyncRequest.decode(kinds, { limits: { kinds: 4 } }), { name: 'MaxLengthError' })
  })

  /** An example CapabilityRecord signed with its coordinate's bytes replaced by `coordinate`, as another implementation might write them. */
  async function capabilityWithCoordinate (coordinate: (c: NetworkCoordinate) => Uint8Array): Promise<{ bytes: Uint8Array, value: any }> {
    const { value, key } = (await examples(await parties())).CapabilityRecord
    const { payload } = decodeEnvelope((await signRecord(CapabilityRecordType, value, key)).bytes, CapabilityRecordType.maxSize)
    const packed = NetworkCoordinate.encode(value.coordinate)
    const field = fieldOf(payload, packed)
    const replaced = coordinate(value.coordinate)
    const handWritten = replaceBytes(payload, lengthDelimited(field, packed), lengthDelimited(field, replaced))
    assert.notDeepEqual(handWritten, payload)
    return { bytes: await sealEnvelope(key, CapabilityRecordType.domain, CapabilityRecordType.payloadType, handWritten), value }
  }

  it('opens a signed CapabilityRecord whose coordinate its signer wrote unpacked, keeping its bytes and id', async () => {
    const { bytes, value } = await capabilityWithCoordinate(c => coordinateBytes(c, c.vec.map(() => ({ size: 1, packed: false }))))
    const opened = await openRecord(CapabilityRecordType, bytes, { now: NOW })
    sameNumbers(opened.value.coordinate?.vec ?? [], value.coordinate.vec)
    assert.deepEqual(opened.bytes, bytes, 'the record is kept as signed, never re-encoded')
    assert.deepEqual(opened.id, recordId(bytes))
  })

  it('reports a malformed packed run inside a signed record as MalformedRecordError', async () => {
    // the coordinate's packed run claims one byte more than it holds
    const { bytes } = await capabilityWithCoordinate(() => concat([tag(1, 2), varint(9), float64(1)]))
    await assert.rejects(openRecord(CapabilityRecordType, bytes, { now: NOW }), (err: unknown) => err instanceof MalformedRecordError)
  })
})

/** The field number under which `inner` is embedded in `outer` (found by its bytes). */
function fieldOf (outer: Uint8Array, inner: Uint8Array): number {
  for (let field = 1; field < 32; field++) {
    const needle = lengthDelimited(field, inner)
    if (indexOf(outer, needle) >= 0) return field
  }
  throw new Error('embedded message not found')
}

function indexOf (haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer
    }
    return i
  }
  return -1
}

function replaceBytes (haystack: Uint8Array, needle: Uint8Array, by: Uint8Array): Uint8Array {
  const at = indexOf(haystack, needle)
  assert.ok(at >= 0, 'bytes to replace not found')
  return concat([haystack.subarray(0, at), by, haystack.subarray(at + needle.length)])
}
