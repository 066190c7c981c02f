import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeMessage, encodeMessage } from '../src/wire.js'
import type { CoordinateMessage } from '../src/wire.js'

const coordinate = { vec: [1.5, -2, 30, 0], height: 4, error: 0.25 }

describe('wire (coordinate protocol messages)', () => {
  it('round-trips a probe and a reply with load', () => {
    const probe: CoordinateMessage = { kind: 'probe', coordinate, wantLoad: true }
    const reply: CoordinateMessage = { kind: 'reply', coordinate, load: { freeSlots: 2, concurrency: 4, queueLength: 0 } }

    assert.deepEqual(decodeMessage(encodeMessage(probe)), probe)
    assert.deepEqual(decodeMessage(encodeMessage(reply)), reply)
    assert.deepEqual(decodeMessage(encodeMessage({ kind: 'reply', coordinate })), { kind: 'reply', coordinate, load: undefined })
  })

  it('reads a coordinate whose vector was written packed (as it writes it) or unpacked', () => {
    const double = (x: number): number[] => {
      const b = new Uint8Array(8)
      new DataView(b.buffer).setFloat64(0, x, true)
      return [...b]
    }
    const vec = [1.5, -2]
    const rest = [0x11, ...double(4), 0x19, ...double(0.25)] // height, error
    const packedCoordinate = [0x0a, 16, ...vec.flatMap(double), ...rest]
    const unpackedCoordinate = [...vec.flatMap(x => [0x09, ...double(x)]), ...rest]
    for (const c of [packedCoordinate, unpackedCoordinate]) {
      // CoordinateMessage.probe (field 1) { coordinate (field 1) }
      const probe = [0x0a, c.length + 2, 0x0a, c.length, ...c]
      assert.deepEqual(decodeMessage(Uint8Array.from(probe)), { kind: 'probe', coordinate: { vec, height: 4, error: 0.25 }, wantLoad: false })
    }
    assert.deepEqual(encodeMessage({ kind: 'probe', coordinate: { vec, height: 4, error: 0.25 }, wantLoad: false }), Uint8Array.from([0x0a, packedCoordinate.length + 2, 0x0a, packedCoordinate.length, ...packedCoordinate]))
  })

  it('refuses to encode what a peer would refuse', () => {
    assert.throws(() => encodeMessage({ kind: 'reply', coordinate, load: { freeSlots: -1, concurrency: 1 } }), { name: 'InvalidProbeMessageError' })
    assert.throws(() => encodeMessage({ kind: 'probe', coordinate: { ...coordinate, vec: [Number.NaN] }, wantLoad: false }), { name: 'InvalidProbeMessageError' })
  })

  it('rejects malformed input with a typed error', () => {
    const good = encodeMessage({ kind: 'reply', coordinate, load: { freeSlots: 1, concurrency: 1 } })

    for (const bad of [
      new Uint8Array(0),
      new Uint8Array([1]),
      Uint8Array.from([9, 0, ...good.subarray(2)]),
      Uint8Array.from([2, 4, ...good.subarray(2)]),
      good.subarray(0, 8),
      new Uint8Array(5000)
    ]) {
      assert.throws(() => decodeMessage(bad), { name: 'InvalidProbeMessageError' })
    }
  })

  it('only ever throws InvalidProbeMessageError on arbitrary bytes (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        const message = decodeMessage(bytes)
        assert.ok(message.coordinate.vec.every(Number.isFinite))
      } catch (err: unknown) {
        assert.equal((err as Error).name, 'InvalidProbeMessageError')
      }
    }))
  })

  it('survives mutations of valid messages (property)', () => {
    const valid = encodeMessage({ kind: 'reply', coordinate, load: { freeSlots: 3, concurrency: 8, queueLength: 1 } })

    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), (edits) => {
      const bytes = Uint8Array.from(valid)

      for (const [i, v] of edits) {
        bytes[i] = v
      }

      try {
        decodeMessage(bytes)
      } catch (err: unknown) {
        assert.equal((err as Error).name, 'InvalidProbeMessageError')
      }
    }))
  })

  it('round-trips any valid message (property)', () => {
    const coord = fc.record({
      vec: fc.array(fc.double({ min: -10_000, max: 10_000, noNaN: true }), { minLength: 1, maxLength: 16 }),
      height: fc.double({ min: 0, max: 10_000, noNaN: true }),
      error: fc.double({ min: 0, max: 1.5, noNaN: true })
    })
    const u32 = fc.integer({ min: 0, max: 0xFFFFFFFF })
    const message: fc.Arbitrary<CoordinateMessage> = fc.oneof(
      fc.record({ kind: fc.constant('probe' as const), coordinate: coord, wantLoad: fc.boolean() }),
      fc.record({ kind: fc.constant('reply' as const), coordinate: coord, load: fc.record({ freeSlots: u32, concurrency: u32, queueLength: u32 }) })
    )

    fc.assert(fc.property(message, (m) => {
      const decoded = decodeMessage(encodeMessage(m))
      assert.deepEqual(decoded.coordinate.vec.map(x => Object.is(x, -0) ? 0 : x), m.coordinate.vec.map(x => Object.is(x, -0) ? 0 : x))
      assert.equal(decoded.kind, m.kind)
    }))
  })
})
