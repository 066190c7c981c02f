import assert from 'node:assert/strict'
import fc from 'fast-check'
import { JobAnnouncementType, WorkMessage, encodeRecord } from '@shoal/records'
import { NOW, jobAnnouncement } from '@shoal/test-support'
import { ProviderBusyError, decodeFrame, decodeInlineJob, encodeFrame, errorFromFailure } from '../src/index.js'
import { retryAfterOf } from '../src/errors.js'
import type { WorkFrame } from '../src/index.js'

const LIMIT = 64 * 1024

describe('work message framing', () => {
  const bytes = fc.uint8Array({ maxLength: 64 })
  const frames: fc.Arbitrary<WorkFrame> = fc.oneof(
    fc.record({ job: bytes, inlineJob: bytes }).map(body => ({ kind: 'quoteRequest' as const, body })),
    fc.record({ quote: bytes }).map(body => ({ kind: 'quote' as const, body })),
    fc.record({ assignment: bytes, input: bytes }).map(body => ({ kind: 'assign' as const, body })),
    fc.record({ assignmentId: bytes, units: fc.nat(), permille: fc.integer({ min: 0, max: 1000 }), message: fc.string({ maxLength: 100 }) }).map(body => ({ kind: 'progress' as const, body })),
    fc.record({ receipt: bytes, output: bytes, location: fc.string({ maxLength: 100 }) }).map(body => ({ kind: 'result' as const, body })),
    fc.record({ receipt: bytes, voucher: bytes }).map(body => ({ kind: 'countersign' as const, body })),
    fc.record({ voucher: bytes }).map(body => ({ kind: 'voucher' as const, body })),
    fc.record({ id: bytes, paid: fc.nat() }).map(body => ({ kind: 'ack' as const, body })),
    fc.record({ code: fc.string({ maxLength: 20 }), message: fc.string({ maxLength: 100 }), retryAfterMs: fc.nat() }).map(body => ({ kind: 'error' as const, body }))
  )

  it('round-trips every message kind (property)', () => {
    fc.assert(fc.property(frames, frame => {
      const decoded = decodeFrame(encodeFrame(frame), LIMIT)
      assert.equal(decoded.kind, frame.kind)
      assert.deepEqual(
        JSON.stringify(decoded.body, (_k, v) => v instanceof Uint8Array ? [...v] : v),
        JSON.stringify(frame.body, (_k, v) => v instanceof Uint8Array ? [...v] : v)
      )
    }))
  })

  it('throws only InvalidMessageError for random bytes (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), data => {
      try {
        decodeFrame(data, LIMIT)
      } catch (err: unknown) {
        assert.equal(err instanceof Error ? err.name : err, 'InvalidMessageError')
      }
    }), { numRuns: 20_000 })
  })

  it('throws only InvalidMessageError for mutated valid messages (property)', () => {
    fc.assert(fc.property(frames, fc.nat(), fc.integer({ min: 0, max: 255 }), (frame, at, value) => {
      const data = encodeFrame(frame).slice()
      if (data.length > 0) {
        data[at % data.length] = value
      }
      try {
        decodeFrame(data, LIMIT)
      } catch (err: unknown) {
        assert.equal(err instanceof Error ? err.name : err, 'InvalidMessageError')
      }
    }), { numRuns: 20_000 })
  })

  it('refuses an empty message, two bodies, oversize and out-of-range fields', () => {
    assert.throws(() => decodeFrame(new Uint8Array(), LIMIT), { name: 'InvalidMessageError' })
    const two = new Uint8Array([...encodeFrame({ kind: 'voucher', body: { voucher: new Uint8Array([1]) } }), ...encodeFrame({ kind: 'quote', body: { quote: new Uint8Array([1]) } })])
    assert.throws(() => decodeFrame(two, LIMIT), { name: 'InvalidMessageError' })
    const big = encodeFrame({ kind: 'assign', body: { assignment: new Uint8Array(10), input: new Uint8Array(LIMIT) } })
    assert.throws(() => decodeFrame(big, LIMIT), { name: 'InvalidMessageError' })
    const permille = encodeFrame({ kind: 'progress', body: { assignmentId: new Uint8Array(), units: 1, permille: 1001, message: '' } })
    assert.throws(() => decodeFrame(permille, LIMIT), { name: 'InvalidMessageError' })
    const code = encodeFrame({ kind: 'error', body: { code: 'x'.repeat(65), message: '', retryAfterMs: 0 } })
    assert.throws(() => decodeFrame(code, LIMIT), { name: 'InvalidMessageError' })
  })

  it('carries a busy Failure\'s retry_after_ms into ProviderBusyError.retryAfterMs, and none for other codes or when absent', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom('busy', 'declined', 'made-up'), (retryAfterMs, code) => {
      const frame = decodeFrame(encodeFrame({ kind: 'error', body: { code, message: 'm', retryAfterMs } }), LIMIT)
      assert.ok(frame.kind === 'error')
      assert.equal(frame.body.retryAfterMs, retryAfterMs)
      const err = errorFromFailure(frame.body.code, frame.body.message, frame.body.retryAfterMs)
      assert.equal(err.code, code)
      assert.equal(err instanceof ProviderBusyError, code === 'busy')
      assert.equal('retryAfterMs' in err ? err.retryAfterMs : undefined, code === 'busy' && retryAfterMs > 0 ? retryAfterMs : undefined)
      assert.equal(retryAfterOf(err), code === 'busy' ? retryAfterMs : 0)
    }))
    // a Failure of an older peer (no field 3) decodes with no wait
    const old = WorkMessage.encode({ error: { code: 'busy', message: 'full', retryAfterMs: 0 } })
    const frame = decodeFrame(old, LIMIT)
    assert.ok(frame.kind === 'error')
    assert.equal(frame.body.retryAfterMs, 0)
    assert.equal((errorFromFailure(frame.body.code, frame.body.message, frame.body.retryAfterMs) as ProviderBusyError).retryAfterMs, undefined)
  })
})

describe('inline jobs', () => {
  const now = NOW
  // a real identity multihash (an Ed25519 key's): the decoder checks the requester is a peer id
  const valid = encodeRecord(JobAnnouncementType, jobAnnouncement({
    requester: new Uint8Array([0, 36, 8, 1, 18, 32, ...new Uint8Array(32).fill(5)]),
    budget: 10,
    deadlineMs: now + 1000,
    expiresMs: now + 1000
  }, now))

  it('accepts a valid job and refuses an expired one', () => {
    assert.equal(decodeInlineJob(valid, now).budget, 10)
    assert.throws(() => decodeInlineJob(valid, now + 60_000), { name: 'InvalidRecordError' })
  })

  it('throws only InvalidRecordError for random and mutated bytes (property)', () => {
    const check = (data: Uint8Array): void => {
      try {
        decodeInlineJob(data, now)
      } catch (err: unknown) {
        assert.equal(err instanceof Error ? err.name : err, 'InvalidRecordError')
      }
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), check), { numRuns: 10_000 })
    fc.assert(fc.property(fc.nat(), fc.integer({ min: 0, max: 255 }), (at, value) => {
      const data = valid.slice()
      data[at % data.length] = value
      check(data)
    }), { numRuns: 20_000 })
  })
})
