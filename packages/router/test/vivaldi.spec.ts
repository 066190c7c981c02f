import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Vivaldi, distance, originCoordinate, validateCoordinate } from '../src/vivaldi.js'
import { latencyDataDir, loadLatency, seededRng, simulateConvergence } from './fixtures/latency.js'
import type { Coordinate } from '../src/vivaldi.js'

const DIMS = 4

const finite = fc.double({ min: -5000, max: 5000, noNaN: true, noDefaultInfinity: true })
const coordinateArb = (dims: number = DIMS): fc.Arbitrary<Coordinate> => fc.record({
  vec: fc.array(fc.double({ min: -2000, max: 2000, noNaN: true, noDefaultInfinity: true }), { minLength: dims, maxLength: dims }),
  height: fc.double({ min: 0, max: 2000, noNaN: true, noDefaultInfinity: true }),
  error: fc.double({ min: 1e-6, max: 1.5, noNaN: true, noDefaultInfinity: true })
})

describe('vivaldi', () => {
  describe('distance', () => {
    it('is the Euclidean distance plus both heights', () => {
      const a = { vec: [0, 0], height: 1, error: 1 }
      const b = { vec: [3, 4], height: 2, error: 1 }
      assert.equal(distance(a, b), 8)
    })

    it('is symmetric and non-negative (property)', () => {
      fc.assert(fc.property(coordinateArb(), coordinateArb(), (a, b) => {
        const ab = distance(a, b)
        assert.ok(ab >= 0)
        assert.equal(ab, distance(b, a))
      }))
    })

    it('satisfies the triangle inequality up to the middle node\'s height (property)', () => {
      fc.assert(fc.property(coordinateArb(), coordinateArb(), coordinateArb(), (a, b, c) => {
        assert.ok(distance(a, c) <= distance(a, b) + distance(b, c) + 1e-6)
      }))
    })

    it('refuses coordinates of different dimensions', () => {
      assert.throws(() => distance(originCoordinate(2), originCoordinate(3)), { name: 'InvalidCoordinateError' })
    })
  })

  describe('validateCoordinate', () => {
    const good = { vec: [1, 2, 3, 4], height: 1, error: 0.5 }
    const limits = { dimensions: DIMS }

    it('accepts a sane coordinate', () => {
      validateCoordinate(good, limits)
    })

    for (const [what, bad] of [
      ['null', null],
      ['a number', 7],
      ['a missing vec', { height: 1, error: 1 }],
      ['a NaN component', { ...good, vec: [1, Number.NaN, 3, 4] }],
      ['an infinite component', { ...good, vec: [1, Infinity, 3, 4] }],
      ['a string component', { ...good, vec: [1, '2', 3, 4] }],
      ['a huge magnitude', { ...good, vec: [1e6, 0, 0, 0] }],
      ['a dimension mismatch', { ...good, vec: [1, 2, 3] }],
      ['a negative height', { ...good, height: -1 }],
      ['a NaN height', { ...good, height: Number.NaN }],
      ['a huge height', { ...good, height: 1e9 }],
      ['a zero error', { ...good, error: 0 }],
      ['a negative error', { ...good, error: -0.1 }],
      ['an error above the maximum', { ...good, error: 2 }],
      ['a NaN error', { ...good, error: Number.NaN }]
    ] as const) {
      it(`rejects ${what}`, () => {
        assert.throws(() => { validateCoordinate(bad, limits) }, { name: 'InvalidCoordinateError' })
      })
    }

    it('accepts exactly the coordinates within limits (property)', () => {
      fc.assert(fc.property(
        fc.array(fc.oneof(finite, fc.constant(Number.NaN), fc.constant(Infinity), fc.double({ min: -1e7, max: 1e7, noNaN: true })), { minLength: 0, maxLength: 6 }),
        fc.oneof(fc.double(), fc.double({ min: 0, max: 100, noNaN: true })),
        fc.oneof(fc.double(), fc.double({ min: 0, max: 2, noNaN: true })),
        (vec, height, error) => {
          const expected = vec.length === DIMS &&
            vec.every(Number.isFinite) &&
            Math.hypot(...vec) <= 10_000 &&
            Number.isFinite(height) && height >= 0 && height <= 10_000 &&
            Number.isFinite(error) && error > 0 && error <= 1.5
          let ok = true

          try {
            validateCoordinate({ vec, height, error }, limits)
          } catch (err: unknown) {
            ok = false
            assert.equal((err as Error).name, 'InvalidCoordinateError')
          }

          assert.equal(ok, expected)
        }))
    })
  })

  describe('Vivaldi', () => {
    it('starts at the origin with maximum error', () => {
      const v = new Vivaldi({ dimensions: 3 })
      assert.deepEqual(v.coordinate.vec, [0, 0, 0])
      assert.equal(v.coordinate.error, 1.5)
    })

    /** Two 2-D nodes that observed each other 200 times at `rttMs`. */
    function convergedPair (seed: number, rttMs = 100): [Vivaldi, Vivaldi] {
      const rng = seededRng(seed)
      const a = new Vivaldi({ dimensions: 2, rng })
      const b = new Vivaldi({ dimensions: 2, rng })

      for (let i = 0; i < 200; i++) {
        a.observe('b', b.coordinate, rttMs)
        b.observe('a', a.coordinate, rttMs)
      }

      return [a, b]
    }

    it('moves two nodes apart to the measured RTT', () => {
      const [a, b] = convergedPair(1)

      assert.ok(Math.abs(distance(a.coordinate, b.coordinate) - 100) < 5, `distance ${distance(a.coordinate, b.coordinate)}`)
      assert.ok(a.coordinate.error < 0.2)
      assert.ok(Math.abs(a.estimateRtt(b.coordinate) - 100) < 5)
    })

    it('is deterministic given the rng and clock', () => {
      const run = (): Coordinate => {
        const rng = seededRng(42)
        const nodes = [0, 1, 2].map(() => new Vivaldi({ dimensions: 3, rng, now: () => 0 }))
        const rtt = [[0, 10, 50], [10, 0, 45], [50, 45, 0]]

        for (let r = 0; r < 30; r++) {
          for (let i = 0; i < 3; i++) {
            const j = (i + 1 + (r % 2)) % 3
            nodes[i].observe(String(j), nodes[j].coordinate, rtt[i][j])
          }
        }

        return nodes[0].coordinate
      }

      assert.deepEqual(run(), run())
    })

    it('rejects absurd remote input without changing state', () => {
      const v = new Vivaldi({ dimensions: DIMS })
      v.observe('a', { vec: [10, 0, 0, 0], height: 1, error: 0.5 }, 30)
      const before = v.coordinate

      assert.throws(() => v.observe('x', { vec: [Number.NaN, 0, 0, 0], height: 1, error: 1 }, 10), { name: 'InvalidCoordinateError' })
      assert.throws(() => v.observe('x', { vec: [1, 0, 0], height: 1, error: 1 }, 10), { name: 'InvalidCoordinateError' })
      assert.throws(() => v.observe('x', { vec: [1e12, 0, 0, 0], height: 1, error: 1 }, 10), { name: 'InvalidCoordinateError' })
      assert.throws(() => v.observe('x', { vec: [1, 0, 0, 0], height: 1, error: 0 }, 10), { name: 'InvalidCoordinateError' })
      assert.throws(() => v.observe('x', { vec: [1, 0, 0, 0], height: 1, error: 1 }, Number.NaN), { name: 'InvalidRttSampleError' })
      assert.throws(() => v.estimateRtt({ vec: [Infinity, 0, 0, 0], height: 1, error: 1 }), { name: 'InvalidCoordinateError' })

      assert.deepEqual(v.coordinate, before)
    })

    it('latency filter: one spike barely moves a converged coordinate', () => {
      const [a, b] = convergedPair(3)

      const before = distance(a.coordinate, b.coordinate)
      a.observe('b', b.coordinate, 5000)

      assert.ok(Math.abs(distance(a.coordinate, b.coordinate) - before) < 1)
    })

    it('gravity pulls a coordinate back toward the origin', () => {
      const far = { vec: [3000, 0], height: 1, error: 1.5 }
      const withGravity = new Vivaldi({ dimensions: 2, coordinate: far, gravityRho: 500, cc: 0 })
      const without = new Vivaldi({ dimensions: 2, coordinate: far, gravityRho: 0, cc: 0 })
      const peer = { vec: [3000, 10], height: 1, error: 1 }

      withGravity.observe('p', peer, 12)
      without.observe('p', peer, 12)

      assert.equal(without.coordinate.vec[0], 3000)
      assert.ok(withGravity.coordinate.vec[0] < 3000)
    })

    it('neighbour decay: the step accounts for every remembered neighbour', () => {
      const init = { dimensions: 2, rng: seededRng(9), now: () => 0 }
      const decayed = new Vivaldi({ ...init, neighbourDecay: true })
      const plain = new Vivaldi({ ...init, neighbourDecay: false })
      const n1 = { vec: [100, 0], height: 1, error: 0.1 }
      const n2 = { vec: [-100, 0], height: 1, error: 0.1 }

      for (const v of [decayed, plain]) {
        // n1's RTT matches the prediction exactly: it exerts no force but is remembered
        v.observe('n1', n1, distance(v.coordinate, n1))
        // n2 is much closer than predicted: pull toward it
        v.observe('n2', n2, 50)
      }

      // the decayed step averages n2's pull with n1's zero force, so it moves less
      assert.ok(plain.coordinate.vec[0] < 0)
      assert.ok(decayed.coordinate.vec[0] < 0)
      assert.ok(decayed.coordinate.vec[0] > plain.coordinate.vec[0])
    })

    it('never produces NaN or an invalid coordinate from finite input (property)', () => {
      fc.assert(fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), coordinateArb(), fc.double({ min: 0, max: 60_000, noNaN: true })), { minLength: 1, maxLength: 40 }),
        fc.integer(),
        (steps, seed) => {
          const v = new Vivaldi({ dimensions: DIMS, rng: seededRng(seed), now: () => 0 })

          for (const [peer, remote, rtt] of steps) {
            const c = v.observe(String(peer), remote, rtt)
            validateCoordinate(c, { dimensions: DIMS })
          }
        }))
    })

    it('converges on the WonderNetwork latency data (median relative error <= 8%)', function () {
      const dir = latencyDataDir()

      if (dir == null) {
        // the data set lives outside the repository; without it there is nothing to measure
        this.skip()
        return
      }

      const result = simulateConvergence(loadLatency(dir), {
        sites: 150,
        rounds: 200,
        samplesPerRound: 2,
        near: 4,
        random: 28,
        noise: 0.02,
        seed: 1
      })

      assert.ok(result.median <= 0.08, `median relative error ${result.median}`)
      assert.ok(result.p90 <= 0.4, `p90 relative error ${result.p90}`)
    })
  })
})
