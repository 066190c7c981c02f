import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decideQuorum } from '../src/index.js'

describe('decideQuorum', () => {
  it('picks the hash at least `quorum` results share, and rejects every other result', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 12 }), fc.integer({ min: 1, max: 6 }), (hashes, quorum) => {
      const decision = decideQuorum(hashes, quorum)
      const counts = new Map<string, number>()
      hashes.forEach(h => counts.set(h, (counts.get(h) ?? 0) + 1))
      const most = Math.max(0, ...counts.values())
      if (most < quorum) {
        assert.equal(decision.winner, undefined)
        assert.deepEqual(decision.agreeing, [])
        assert.deepEqual(decision.rejected, [])
        return
      }
      assert.ok(decision.winner != null)
      // the winner is a largest group
      assert.equal(counts.get(decision.winner), most)
      // every result is on exactly one side, and sides follow the hash
      assert.deepEqual([...decision.agreeing, ...decision.rejected].sort((a, b) => a - b), hashes.map((_, i) => i))
      assert.ok(decision.agreeing.every(i => hashes[i] === decision.winner))
      assert.ok(decision.rejected.every(i => hashes[i] !== decision.winner))
      assert.ok(decision.agreeing.length >= quorum)
    }))
  })

  it('breaks a tie between groups of equal size by the hash that came first', () => {
    assert.equal(decideQuorum(['x', 'y', 'y', 'x'], 2).winner, 'x')
    assert.equal(decideQuorum(['y', 'x', 'x', 'y'], 2).winner, 'y')
  })

  it('does not decide on fewer agreeing results than the quorum', () => {
    assert.equal(decideQuorum(['x', 'y'], 2).winner, undefined)
    assert.equal(decideQuorum([], 1).winner, undefined)
    assert.deepEqual(decideQuorum(['x'], 1), { winner: 'x', agreeing: [0], rejected: [] })
  })
})
