import assert from 'node:assert/strict'
import { EMPTY_BYTES, equalBytes, sha256, show, toHex } from '../src/index.js'

describe('bytes', () => {
  it('hashes, hexes and compares', () => {
    assert.equal(toHex(sha256(new TextEncoder().encode('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    assert.equal(toHex(Uint8Array.of(0, 15, 255)), '000fff')
    assert.equal(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true)
    assert.equal(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false)
    assert.equal(EMPTY_BYTES.byteLength, 0)
  })
})

describe('show', () => {
  it('renders strings quoted and cut, anything else by its type only', () => {
    assert.equal(show('ab"c'), '"ab\\"c"')
    assert.equal(show('x'.repeat(100)).length, 82)
    assert.equal(show(null), '(null)')
    assert.equal(show({ toString () { throw new Error('never called') } }), '(object)')
  })
})
