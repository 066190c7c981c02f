import assert from 'node:assert/strict'
import { serialize } from 'node:v8'
import fc from 'fast-check'
import { decodeControlMessage, encodeControlMessage, parseHostPort } from '../src/index.js'

describe('shard control frames', () => {
  it('decodes what it encodes', () => {
    const msgs = [
      { op: 'call', id: 1, method: 'ping', args: [1, 2, true, undefined] },
      { op: 'mesh', addresses: [{ host: '10.0.0.2', port: 7401 }] },
      { op: 'event', abs: 1.5, event: { type: 'ping', t: 0, rtt: new Float64Array([1]) } },
      { op: 'init', data: { plan: { peers: 3 }, shard: 0, shards: 2, gateway: 'tcp' } }
    ]
    for (const msg of msgs) {
      assert.deepEqual(decodeControlMessage(encodeControlMessage(msg).subarray(4)), msg)
    }
  })

  it('refuses values that are not control messages, naming what is wrong', () => {
    for (const value of [null, 42, 'call', [], { op: 7 }, { op: 'nope' }, { op: 'call', id: -1, method: 'x', args: [] }, { op: 'mesh', addresses: [{ host: 1 }] }, { op: 'result' }]) {
      assert.throws(() => decodeControlMessage(serialize(value)), { name: 'InvalidControlFrameError' })
    }
  })

  it('refuses a round that would never end or never start: a NaN horizon, expected counts or calls out of shape', () => {
    const round = { op: 'run', lookaheadMs: 5, horizon: 10_050, expect: { 1: 3 }, calls: [{ id: 1, method: 'ping', args: [0, 1], at: 10_020 }] }
    assert.deepEqual(decodeControlMessage(serialize(round)), round)
    for (const bad of [{ horizon: NaN }, { expect: { 1: -1 } }, { expect: { 1: 'x' } }, { calls: [{ id: 1, method: 'ping', args: [], at: NaN }] }, { calls: [{ id: 1, method: 7, args: [], at: 1 }] }, { calls: [null] }]) {
      assert.throws(() => decodeControlMessage(serialize({ ...round, ...bad })), { name: 'InvalidControlFrameError' }, JSON.stringify(bad))
    }
    assert.throws(() => decodeControlMessage(serialize({ op: 'done', nextAt: NaN, sent: {}, minAt: {}, clamped: 0 })), { name: 'InvalidControlFrameError' })
  })

  it('never throws anything but InvalidControlFrameError on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        const msg = decodeControlMessage(bytes)
        assert.equal(typeof msg.op, 'string')
      } catch (err: unknown) {
        assert.equal((err as Error).name, 'InvalidControlFrameError', String(err))
      }
    }), { numRuns: 2000 })
  })

  it('never throws anything but InvalidControlFrameError on mutated valid frames', () => {
    const valid = serialize({ op: 'call', id: 4, method: 'ping', args: [1, 2, true, 1000] })
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat(valid.length), (edits, cut) => {
      const bytes = Uint8Array.from(valid)
      for (const [i, b] of edits) bytes[i] = b
      try {
        decodeControlMessage(bytes.subarray(0, Math.max(cut, 1)))
      } catch (err: unknown) {
        assert.equal((err as Error).name, 'InvalidControlFrameError', String(err))
      }
    }), { numRuns: 2000 })
  })

  it('parses HOST:PORT forms', () => {
    const d = { host: '0.0.0.0', port: 7400 }
    assert.deepEqual(parseHostPort('10.1.2.3:7500', d), { host: '10.1.2.3', port: 7500 })
    assert.deepEqual(parseHostPort('coordinator', d), { host: 'coordinator', port: 7400 })
    assert.deepEqual(parseHostPort(':0', d), { host: '0.0.0.0', port: 0 })
    assert.deepEqual(parseHostPort('[::1]:7401', d), { host: '::1', port: 7401 })
    assert.throws(() => parseHostPort('a:99999', d), RangeError)
    assert.throws(() => parseHostPort('a:b:c', d), RangeError)
    fc.assert(fc.property(fc.string({ maxLength: 30 }), (text) => {
      try {
        const { port } = parseHostPort(text, d)
        assert.ok(port >= 0 && port <= 65535)
      } catch (err) {
        assert.ok(err instanceof RangeError)
      }
    }))
  })
})
