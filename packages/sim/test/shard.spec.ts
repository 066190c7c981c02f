import assert from 'node:assert/strict'
import fc from 'fast-check'
import { shardOf } from '../src/index.js'

describe('shardOf', () => {
  it('splits peers into contiguous, non-empty blocks of near-equal size', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 5000 }), (shards, extra) => {
      const peers = shards + extra
      const owners = Array.from({ length: peers }, (_, i) => shardOf(i, peers, shards))
      const sizes = new Array<number>(shards).fill(0)
      owners.forEach((s, i) => {
        assert.ok(Number.isInteger(s) && s >= 0 && s < shards)
        if (i > 0) assert.ok(s === owners[i - 1] || s === owners[i - 1] + 1, 'contiguous blocks')
        sizes[s]++
      })
      assert.ok(Math.min(...sizes) >= 1)
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1)
    }))
  })
})
