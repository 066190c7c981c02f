import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeFrame, encodeFrame, FrameKind, FrameReader, lengthPrefixed } from '../src/shard/frame.js'
import type { GatewayFrame } from '../src/shard/frame.js'

const header = fc.record({
  flags: fc.integer({ min: 0, max: 3 }),
  origin: fc.integer({ min: 0, max: 0xffff }),
  id: fc.integer({ min: 0, max: 0xffff_ffff })
})

const frameArb: fc.Arbitrary<GatewayFrame> = fc.oneof(
  fc.tuple(header, fc.uint8Array({ maxLength: 2048 })).map(([h, data]) => ({ ...h, kind: FrameKind.Data, data })),
  fc.tuple(header, fc.constantFrom(FrameKind.Fin, FrameKind.Rst, FrameKind.SynAck, FrameKind.Ack, FrameKind.Break)).map(([h, kind]) => ({ ...h, kind })),
  fc.tuple(header, fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), fc.string({ maxLength: 80 })).map(([h, a, site, dialerAddr]) => ({
    ...h,
    kind: FrameKind.Syn,
    syn: { address: `/memory/${a}`, site, dialerAddr }
  }))
)

describe('gateway frames', () => {
  it('round-trips every valid frame', () => {
    fc.assert(fc.property(frameArb, (frame) => {
      const decoded = decodeFrame(encodeFrame(frame))
      assert.equal(decoded.kind, frame.kind)
      assert.equal(decoded.flags, frame.flags)
      assert.equal(decoded.origin, frame.origin)
      assert.equal(decoded.id, frame.id)
      if (frame.kind === FrameKind.Data) assert.deepEqual(decoded.data, frame.data)
      if (frame.kind === FrameKind.Syn) assert.deepEqual(decoded.syn, frame.syn)
    }))
  })

  it('rejects arbitrary bytes with InvalidGatewayFrameError or decodes them, never anything else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        const frame = decodeFrame(bytes)
        // whatever decodes must re-encode to the same bytes: the format has one spelling
        assert.deepEqual(encodeFrame(frame), bytes)
      } catch (err: unknown) {
        assert.equal((err as Error).name, 'InvalidGatewayFrameError')
      }
    }), { numRuns: 2000 })
  })

  it('rejects truncated and extended valid frames with a typed error', () => {
    fc.assert(fc.property(frameArb.filter(f => f.kind !== FrameKind.Data), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }), (frame, cut, extra) => {
      const bytes = encodeFrame(frame)
      const truncated = bytes.subarray(0, cut % bytes.byteLength)
      assert.throws(() => decodeFrame(truncated), { name: 'InvalidGatewayFrameError' })
      const extended = new Uint8Array([...bytes, ...extra])
      assert.throws(() => decodeFrame(extended), { name: 'InvalidGatewayFrameError' })
    }))
  })

  it('rejects unknown kinds and flags', () => {
    const bytes = encodeFrame({ kind: FrameKind.Fin, flags: 0, origin: 1, id: 2 })
    bytes[0] = 7
    assert.throws(() => decodeFrame(bytes), { name: 'InvalidGatewayFrameError' })
    bytes[0] = FrameKind.Fin
    bytes[1] = 4
    assert.throws(() => decodeFrame(bytes), { name: 'InvalidGatewayFrameError' })
  })

  it('splits a byte stream into frames however it is chunked', () => {
    fc.assert(fc.property(fc.array(frameArb, { maxLength: 10 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }), (frames, cuts) => {
      const encoded = frames.map(encodeFrame)
      const stream = new Uint8Array(encoded.reduce((n, f) => n + 4 + f.byteLength, 0))
      let offset = 0
      for (const f of encoded) {
        stream.set(lengthPrefixed(f), offset)
        offset += 4 + f.byteLength
      }

      const reader = new FrameReader(1 << 20)
      const out: Uint8Array[] = []
      let at = 0
      let i = 0
      while (at < stream.byteLength) {
        const n = cuts[i++ % cuts.length]
        out.push(...reader.push(stream.subarray(at, at + n)))
        at += n
      }

      assert.deepEqual(out, encoded)
    }))
  })

  it('rejects a length prefix outside the allowed range', () => {
    fc.assert(fc.property(fc.oneof(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1025, max: 0xffff_ffff })), (len) => {
      const reader = new FrameReader(1024)
      const prefix = new Uint8Array(4)
      new DataView(prefix.buffer).setUint32(0, len)
      assert.throws(() => reader.push(prefix), { name: 'InvalidGatewayFrameError' })
    }))
  })
})
