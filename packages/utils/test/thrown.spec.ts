import assert from 'node:assert/strict'
import fc from 'fast-check'
import { asError, describeError, errorCode, errorMessage, errorName } from '../src/index.js'

describe('reading thrown values', () => {
  it('reads name, message and code of an Error', () => {
    const err = Object.assign(new TypeError('bad'), { code: 'ENOENT' })
    assert.equal(errorName(err), 'TypeError')
    assert.equal(errorMessage(err), 'bad')
    assert.equal(describeError(err), 'TypeError: bad')
    assert.equal(errorCode(err), 'ENOENT')
    assert.equal(asError(err), err)
  })

  it('reads plain objects by their fields and anything else by its string form', () => {
    assert.equal(errorName({ name: 'AbortError' }), 'AbortError')
    assert.equal(errorName({ name: 7 }), undefined)
    assert.equal(errorMessage('oops'), 'oops')
    assert.equal(describeError(undefined), 'Error: undefined')
    assert.equal(errorCode({ code: 1 }), undefined)
    assert.equal(asError('oops').message, 'oops')
  })

  it('reads a thrown object whose own toString throws', () => {
    const hostile = { toString: () => { throw new Error('no') } }
    assert.equal(typeof errorMessage(hostile), 'string')
    assert.ok(asError(hostile) instanceof Error)
  })

  it('property: never throws, whatever was thrown', () => {
    fc.assert(fc.property(fc.anything(), (thrown) => {
      errorName(thrown)
      errorCode(thrown)
      assert.equal(typeof describeError(thrown), 'string')
      assert.ok(asError(thrown) instanceof Error)
    }))
  })
})
