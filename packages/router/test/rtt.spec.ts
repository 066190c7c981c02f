import assert from 'node:assert/strict'
import fc from 'fast-check'
import { RttFilter, RttTracker, median } from '../src/rtt.js'

describe('rtt', () => {
  describe('median', () => {
    it('takes the middle value or the mean of the two middle values', () => {
      assert.equal(median([3, 1, 2]), 2)
      assert.equal(median([4, 1, 3, 2]), 2.5)
    })
  })

  describe('RttFilter', () => {
    it('absorbs a single spike with the moving median', () => {
      const filter = new RttFilter({ windowSize: 5, alpha: 1 })

      for (const rtt of [40, 41, 39, 40]) {
        filter.addSample(rtt)
      }

      assert.equal(filter.addSample(900), 40)
      assert.equal(filter.estimate()?.smoothed, 40)
      assert.equal(filter.estimate()?.min, 39)
    })

    it('follows a lasting change of RTT', () => {
      const filter = new RttFilter({ windowSize: 3, alpha: 0.5 })

      for (let i = 0; i < 5; i++) {
        filter.addSample(20)
      }

      for (let i = 0; i < 20; i++) {
        filter.addSample(100)
      }

      assert.equal(filter.median(), 100)
      assert.ok(Math.abs((filter.estimate()?.smoothed ?? 0) - 100) < 0.01)
    })

    it('smooths medians with an EWMA', () => {
      const filter = new RttFilter({ windowSize: 1, alpha: 0.5 })
      filter.addSample(100)
      filter.addSample(200)

      assert.equal(filter.estimate()?.smoothed, 150)
    })

    it('estimates loss from failed probes and lets it recover', () => {
      const filter = new RttFilter({ lossAlpha: 0.5 })
      assert.equal(filter.loss(), 0)

      filter.addFailure()
      assert.equal(filter.loss(), 0.5)
      filter.addFailure()
      assert.equal(filter.loss(), 0.75)

      for (let i = 0; i < 10; i++) {
        filter.addSample(50)
      }

      assert.ok(filter.loss() < 0.001)
    })

    it('expires samples and loss with the injected clock', () => {
      let now = 0
      const filter = new RttFilter({ maxAgeMs: 1000, now: () => now })
      filter.addSample(10)
      filter.addFailure()
      now = 600
      filter.addSample(30)

      assert.equal(filter.estimate()?.samples, 2)

      now = 1500
      assert.equal(filter.estimate()?.samples, 1)
      assert.equal(filter.median(), 30)

      now = 2000
      assert.equal(filter.estimate(), undefined)
      assert.equal(filter.loss(), 0)
      assert.equal(filter.isEmpty(), true)
    })

    it('rejects absurd samples with a typed error', () => {
      const filter = new RttFilter()

      for (const bad of [Number.NaN, Infinity, -1, 1e9]) {
        assert.throws(() => filter.addSample(bad), { name: 'InvalidRttSampleError' })
      }

      assert.equal(filter.estimate(), undefined)
    })

    it('keeps median and smoothed RTT within the range of the samples (property)', () => {
      fc.assert(fc.property(fc.array(fc.double({ min: 0, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 50 }), (samples) => {
        const filter = new RttFilter()

        for (const s of samples) {
          filter.addSample(s)
        }

        const est = filter.estimate()
        assert.ok(est != null)
        const lo = Math.min(...samples)
        const hi = Math.max(...samples)
        assert.ok(est.median >= lo && est.median <= hi)
        assert.ok(est.smoothed >= lo - 1e-6 && est.smoothed <= hi + 1e-6)
      }))
    })

    it('accepts exactly the finite samples in range (property)', () => {
      fc.assert(fc.property(fc.oneof(fc.double(), fc.integer(), fc.constant(Number.NaN)), (x) => {
        const filter = new RttFilter()
        let threw = false

        try {
          filter.addSample(x)
        } catch (err: unknown) {
          threw = true
          assert.equal((err as Error).name, 'InvalidRttSampleError')
        }

        assert.equal(threw, !(Number.isFinite(x) && x >= 0 && x <= 60_000))
      }))
    })
  })

  describe('RttTracker', () => {
    it('tracks peers separately', () => {
      const tracker = new RttTracker()
      tracker.addSample('a', 10)
      tracker.addSample('b', 200)
      tracker.addFailure('b')

      assert.equal(tracker.get('a')?.median, 10)
      assert.equal(tracker.get('b')?.median, 200)
      assert.equal(tracker.loss('a'), 0)
      assert.ok(tracker.loss('b') > 0)
      assert.equal(tracker.get('c'), undefined)
    })

    it('forgets the least recently updated peer beyond maxPeers', () => {
      const tracker = new RttTracker({ maxPeers: 2 })
      tracker.addSample('a', 1)
      tracker.addSample('b', 2)
      tracker.addSample('a', 1)
      tracker.addSample('c', 3)

      assert.equal(tracker.size, 2)
      assert.equal(tracker.get('b'), undefined)
      assert.notEqual(tracker.get('a'), undefined)
    })

    it('does not let a bad sample evict a peer', () => {
      const tracker = new RttTracker({ maxPeers: 1 })
      tracker.addSample('a', 1)

      assert.throws(() => tracker.addSample('b', Number.NaN), { name: 'InvalidRttSampleError' })
      assert.notEqual(tracker.get('a'), undefined)
    })

    it('prunes peers whose samples expired', () => {
      let now = 0
      const tracker = new RttTracker({ maxAgeMs: 100, now: () => now })
      tracker.addSample('a', 1)
      now = 1000
      tracker.prune()

      assert.equal(tracker.size, 0)
    })
  })
})
