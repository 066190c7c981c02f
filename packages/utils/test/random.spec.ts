import assert from 'node:assert/strict'
import fc from 'fast-check'
import { createRng, Rng } from '../src/index.js'

describe('random', () => {
  it('repeats the same sequence for the same seed', () => {
    const a = createRng(42)
    const b = createRng(42)
    const xs = Array.from({ length: 100 }, () => a.nextUint32())
    const ys = Array.from({ length: 100 }, () => b.nextUint32())
    assert.deepEqual(xs, ys)
  })

  it('gives different sequences for nearby and string seeds', () => {
    const seqs = [1, 2, 3, 'scenario-a', 'scenario-b'].map(s => {
      const r = createRng(s)
      return Array.from({ length: 8 }, () => r.nextUint32()).join(',')
    })
    assert.equal(new Set(seqs).size, seqs.length)
  })

  it('implements xoshiro128** (reference vectors for state 1, 2, 3, 4)', () => {
    const r = Rng.fromState([1, 2, 3, 4])
    assert.deepEqual(Array.from({ length: 6 }, () => r.nextUint32()), [11520, 0, 5927040, 70819200, 2031721883, 1637235492])
    assert.throws(() => Rng.fromState([0, 0, 0, 0]), RangeError)
  })

  it('keeps seeded output stable across versions', () => {
    // if this changes, every seeded scenario changes: change it deliberately
    const r = new Rng(12345)
    assert.deepEqual([r.nextUint32(), r.nextUint32(), r.nextUint32()], [518667457, 440444462, 4232892992])
  })

  it('rejects non-finite seeds', () => {
    assert.throws(() => createRng(Number.NaN), RangeError)
  })

  it('float() stays in [0, 1) and is roughly uniform', () => {
    const r = createRng(7)
    const bins = new Array(10).fill(0)
    for (let i = 0; i < 100_000; i++) {
      const x = r.float()
      assert.ok(x >= 0 && x < 1)
      bins[Math.floor(x * 10)]++
    }
    for (const b of bins) {
      assert.ok(b > 9_500 && b < 10_500, `bin count ${b}`)
    }
  })

  it('int(n) covers exactly 0..n-1', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 50 }), fc.integer(), (n, seed) => {
      const r = createRng(seed)
      const seen = new Set<number>()
      for (let i = 0; i < n * 40; i++) {
        const x = r.int(n)
        assert.ok(Number.isInteger(x) && x >= 0 && x < n)
        seen.add(x)
      }
      assert.equal(seen.size, n)
    }), { numRuns: 50 })
    assert.throws(() => createRng(1).int(0), RangeError)
    assert.throws(() => createRng(1).int(1.5), RangeError)
  })

  it('intBetween is inclusive at both ends', () => {
    const r = createRng(3)
    const seen = new Set<number>()
    for (let i = 0; i < 500; i++) seen.add(r.intBetween(-2, 2))
    assert.deepEqual([...seen].sort((a, b) => a - b), [-2, -1, 0, 1, 2])
  })

  it('shuffle is a permutation and sample returns distinct items', () => {
    fc.assert(fc.property(fc.array(fc.integer(), { maxLength: 60 }), fc.integer(), (items, seed) => {
      const r = createRng(seed)
      const shuffled = r.shuffle(items.slice())
      assert.deepEqual(shuffled.slice().sort((a, b) => a - b), items.slice().sort((a, b) => a - b))
      const k = Math.floor(items.length / 2)
      const idx = items.map((_, i) => i)
      const s = r.sample(idx, k)
      assert.equal(s.length, k)
      assert.equal(new Set(s).size, k)
    }))
  })

  it('pick throws on an empty array', () => {
    assert.throws(() => createRng(1).pick([]), RangeError)
  })

  it('normal() has the requested mean and deviation', () => {
    const r = createRng(11)
    const n = 50_000
    let sum = 0
    let sq = 0
    for (let i = 0; i < n; i++) {
      const x = r.normal(10, 2)
      sum += x
      sq += x * x
    }
    const mean = sum / n
    const sd = Math.sqrt(sq / n - mean * mean)
    assert.ok(Math.abs(mean - 10) < 0.05, `mean ${mean}`)
    assert.ok(Math.abs(sd - 2) < 0.05, `sd ${sd}`)
  })

  it('exponential() has mean 1/rate', () => {
    const r = createRng(5)
    let sum = 0
    for (let i = 0; i < 50_000; i++) sum += r.exponential(4)
    assert.ok(Math.abs(sum / 50_000 - 0.25) < 0.01)
    assert.throws(() => r.exponential(0), RangeError)
  })

  it('weightedIndex follows the weights and never picks a zero weight', () => {
    const r = createRng(9)
    const counts = [0, 0, 0, 0]
    for (let i = 0; i < 40_000; i++) counts[r.weightedIndex([1, 0, 3, 0])]++
    assert.equal(counts[1], 0)
    assert.equal(counts[3], 0)
    assert.ok(Math.abs(counts[2] / counts[0] - 3) < 0.2, `ratio ${counts[2] / counts[0]}`)
    assert.equal(r.weightedPick(['a', 'b'], [0, 5]), 'b')
    assert.throws(() => r.weightedIndex([0, 0]), RangeError)
    assert.throws(() => r.weightedIndex([1, -1]), RangeError)
    assert.throws(() => r.weightedIndex([Number.NaN]), RangeError)
    assert.throws(() => r.weightedPick(['a'], [1, 2]), RangeError)
  })

  it('fork gives independent streams without advancing the parent', () => {
    const a = createRng(1)
    const b = createRng(1)
    const fa = a.fork('workload')
    assert.equal(a.nextUint32(), b.nextUint32(), 'forking must not consume the parent stream')
    const f1 = createRng(1).fork('workload')
    const f2 = createRng(1).fork('churn')
    const x1 = Array.from({ length: 4 }, () => f1.nextUint32())
    assert.deepEqual(x1, Array.from({ length: 4 }, () => fa.nextUint32()))
    assert.notDeepEqual(x1, Array.from({ length: 4 }, () => f2.nextUint32()))
  })
})
