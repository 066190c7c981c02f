import assert from 'node:assert/strict'
import fc from 'fast-check'
import { RecordError, Countersigned, Envelope, decodeEnvelope, WorkReceiptType, countersign, decodeRecord, openCountersigned, openRecord, signRecord } from '../src/index.js'
import { NOW, allTypes, examples, parties } from './fixtures.js'
import type { SignedRecord } from '../src/index.js'

/** 100,000 inputs per type in all: half random, half mutated signed records. */
const RUNS = 50_000

function assertOurError (err: unknown): void {
  assert.ok(err instanceof RecordError, `threw a foreign error: ${(err as Error)?.name}: ${(err as Error)?.message}`)
}

/** Like the example value, with every scalar field replaced by an arbitrary of its JS type. */
function arbitraryLike (value: any, depth = 0): fc.Arbitrary<any> {
  if (typeof value === 'number') {
    return Number.isInteger(value) ? fc.nat({ max: 2 ** 32 - 1 }) : fc.double({ noNaN: true })
  }
  if (typeof value === 'string') {
    // enum values are strings too: keep those
    return /^[A-Z_]+$/.test(value) ? fc.constant(value) : fc.string({ maxLength: 40 })
  }
  if (value instanceof Uint8Array) {
    return fc.uint8Array({ maxLength: 40 })
  }
  if (Array.isArray(value)) {
    return value.length === 0 || depth > 2 ? fc.constant([]) : fc.array(arbitraryLike(value[0], depth + 1), { maxLength: 4 })
  }
  if (value != null && typeof value === 'object') {
    const fields: Record<string, fc.Arbitrary<any>> = {}
    for (const [k, v] of Object.entries(value)) {
      fields[k] = arbitraryLike(v, depth + 1)
    }
    return fc.record(fields)
  }
  return fc.constant(value)
}

describe('records: property and fuzz tests', function () {
  this.timeout(300_000)
  const signed = new Map<string, SignedRecord<any>>()
  let ex: Awaited<ReturnType<typeof examples>>

  before(async () => {
    ex = await examples(await parties())
    for (const type of allTypes) {
      const { value, key } = ex[type.name]
      signed.set(type.name, await signRecord(type, value, key))
    }
  })

  for (const type of allTypes) {
    describe(type.name, () => {
      it('payload encode/decode round-trips any value', () => {
        fc.assert(fc.property(arbitraryLike(ex[type.name].value), value => {
          const bytes = type.codec.encode(value)
          assert.deepEqual(type.codec.encode(type.codec.decode(bytes)), bytes)
        }), { numRuns: 500 })
      })

      it('rejects every single-bit flip with a typed error', async () => {
        const bytes = signed.get(type.name)!.bytes
        for (let bit = 0; bit < bytes.byteLength * 8; bit++) {
          const mutated = bytes.slice()
          mutated[bit >> 3] ^= 1 << (bit & 7)
          await assert.rejects(openRecord(type, mutated, { now: NOW }), (err: unknown) => { assertOurError(err); return true }, `bit ${bit}`)
        }
      })

      it('rejects every truncation with a typed error', async () => {
        const bytes = signed.get(type.name)!.bytes
        for (let len = 0; len < bytes.byteLength; len++) {
          await assert.rejects(openRecord(type, bytes.subarray(0, len), { now: NOW }), (err: unknown) => { assertOurError(err); return true }, `length ${len}`)
        }
      })

      it('decodes random bytes without throwing anything but its own errors', () => {
        fc.assert(fc.property(fc.uint8Array({ maxLength: type.maxSize + 16 }), bytes => {
          try {
            decodeRecord(type, bytes)
          } catch (err) {
            assertOurError(err)
          }
        }), { numRuns: RUNS })
      })

      it('decodes mutated records without throwing anything but its own errors', () => {
        const original = signed.get(type.name)!.bytes
        const mutation = fc.array(fc.tuple(fc.nat(original.byteLength), fc.nat(255), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 8 })
        fc.assert(fc.property(mutation, ops => {
          const bytes = [...original]
          for (const [pos, byte, op] of ops) {
            if (op === 'set') {
              bytes[pos % bytes.length] = byte
            } else if (op === 'insert') {
              bytes.splice(pos, 0, byte)
            } else {
              bytes.splice(pos % bytes.length, 1)
            }
          }
          try {
            decodeRecord(type, Uint8Array.from(bytes))
          } catch (err) {
            assertOurError(err)
          }
        }), { numRuns: RUNS })
      })
    })
  }

  it('accepts only the canonical envelope encoding', () => {
    const original = signed.get('JobAnnouncement')!.bytes
    const valid = fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 60 }), fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.uint8Array({ minLength: 1, maxLength: 80 }))
      .map(([publicKey, payloadType, payload, signature]) => Envelope.encode({ publicKey, payloadType, payload, signature }))
    const anyBytes = fc.oneof(valid, fc.uint8Array({ maxLength: 400 }), fc.constant(original))
    fc.assert(fc.property(anyBytes, bytes => {
      let decoded
      try {
        decoded = decodeEnvelope(bytes, 4096)
      } catch (err) {
        assertOurError(err)
        return
      }
      // whatever the strict decoder accepts re-encodes to the very same bytes,
      // and the generated protobuf decoder reads the same fields
      assert.deepEqual(Envelope.encode(decoded), bytes)
      assert.deepEqual(Envelope.decode(bytes), { ...decoded })
    }), { numRuns: 20_000 })
  })

  it('opens mutated records only to typed errors (signature path)', async () => {
    for (const type of allTypes) {
      const original = signed.get(type.name)!.bytes
      await fc.assert(fc.asyncProperty(fc.nat(original.byteLength - 1), fc.integer({ min: 1, max: 255 }), async (pos, xor) => {
        const bytes = original.slice()
        bytes[pos] ^= xor
        await assert.rejects(openRecord(type, bytes, { now: NOW }), (err: unknown) => { assertOurError(err); return true })
      }), { numRuns: 300 })
    }
  })

  it('rejects any bit flip in a countersigned receipt', async () => {
    const receipt = signed.get('WorkReceipt')!
    const both = await countersign(receipt, ex.WitnessStatement.key)
    await openCountersigned(WorkReceiptType, both.bytes, { now: NOW })
    for (let bit = 0; bit < both.bytes.byteLength * 8; bit++) {
      const mutated = both.bytes.slice()
      mutated[bit >> 3] ^= 1 << (bit & 7)
      await assert.rejects(openCountersigned(WorkReceiptType, mutated, { now: NOW }), (err: unknown) => { assertOurError(err); return true }, `bit ${bit}`)
    }
    assert.ok(Countersigned.decode(both.bytes).signature.byteLength === 64)
  })
})
