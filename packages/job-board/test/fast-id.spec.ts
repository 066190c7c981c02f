import assert from 'node:assert/strict'
import fc from 'fast-check'
import { signedMessageFastId } from '../src/index.js'

describe('signedMessageFastId', () => {
  it('is the same for copies of one message and differs between messages', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 8 }), (fromA, seqA, fromB, seqB) => {
      const a = signedMessageFastId({ from: fromA, seqno: seqA })
      assert.equal(a, signedMessageFastId({ from: fromA.slice(), seqno: seqA.slice() }))
      const same = Buffer.compare(fromA, fromB) === 0 && Buffer.compare(seqA, seqB) === 0
      assert.equal(a === signedMessageFastId({ from: fromB, seqno: seqB }), same)
    }), { numRuns: 2000 })
  })

  it('accepts messages without author or sequence number', () => {
    assert.equal(typeof signedMessageFastId({}), 'string')
  })
})
