import assert from 'node:assert/strict'
import fc from 'fast-check'
import { RATE_LIMIT_ABUSE_FACTOR, RATE_LIMIT_BURST, RATE_LIMIT_PER_SECOND } from '../src/constants.js'
import { RequesterRateLimit } from '../src/rate-limit.js'
import type { RateDecision } from '../src/rate-limit.js'

/** a bucket of `burst`, `perSecond`, `abuseFactor`, and message gaps in ms */
const limits = fc.record({
  burst: fc.integer({ min: 1, max: 20 }),
  perSecond: fc.constantFrom(0.1, 0.5, 1, 2, 10),
  abuseFactor: fc.integer({ min: 0, max: 20 })
})
const gaps = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 60_000 })), { minLength: 1, maxLength: 400 })

/** Send one message per gap (the clock advances by the gap first); every decision in order. */
function run (init: { burst: number, perSecond: number, abuseFactor: number }, steps: number[]): Array<{ at: number, decision: RateDecision }> {
  const clock = { now: 0 }
  const limit = new RequesterRateLimit({ ...init, maxKeys: 10, now: () => clock.now })
  return steps.map(gap => {
    clock.now += gap
    return { at: clock.now, decision: limit.take('requester') }
  })
}

/**
 * How far message `i` is from exceeding `(1 + abuseFactor)` times the
 * bucket's allowance, counting the earlier messages that were not abusive:
 * the least, over every window ending at `i`, of the allowance
 * `(1 + F) * (burst + perSecond * t)` minus the messages in it. Negative:
 * more than the allowance in some window.
 */
function slack (init: { burst: number, perSecond: number, abuseFactor: number }, counted: number[], at: number): number {
  const scale = 1 + init.abuseFactor
  // the window of this message alone, then ever longer ones back to the first counted message
  let least = scale * init.burst - 1
  for (let j = counted.length - 1, inWindow = 2; j >= 0; j--, inWindow++) {
    least = Math.min(least, scale * (init.burst + init.perSecond * (at - counted[j]) / 1000) - inWindow)
  }
  return least
}

describe('RequesterRateLimit: busy is ignored, abuse is blamed', () => {
  it('takes the burst, then ignores what is over it up to abuseFactor bursts more, then calls the rest abusive', () => {
    const decisions = run({ burst: RATE_LIMIT_BURST, perSecond: RATE_LIMIT_PER_SECOND, abuseFactor: RATE_LIMIT_ABUSE_FACTOR }, new Array(200).fill(0)).map(d => d.decision)
    assert.equal(decisions.filter(d => d === 'within').length, 10)
    assert.equal(decisions.filter(d => d === 'over').length, 100)
    assert.deepEqual(decisions.slice(0, 10), new Array(10).fill('within'))
    assert.deepEqual(decisions.slice(10, 110), new Array(100).fill('over'))
    assert.deepEqual(decisions.slice(110), new Array(90).fill('abusive'))
  })

  it('never calls a requester abusive within (1 + abuseFactor) times the allowance, and always past it', () => {
    fc.assert(fc.property(limits, gaps, (init, steps) => {
      const decisions = run(init, steps)
      const counted: number[] = []
      for (const { at, decision } of decisions) {
        const s = slack(init, counted, at)
        // float sums in the bucket: only a clear margin either way is asserted
        if (s > 1e-6) assert.notEqual(decision, 'abusive', `slack ${s}`)
        if (s < -1e-6) assert.equal(decision, 'abusive', `slack ${s}`)
        if (decision !== 'abusive') counted.push(at)
      }
    }), { numRuns: 500 })
  })

  it('ignores rather than blames a steady sender at up to (1 + abuseFactor) times the rate', () => {
    fc.assert(fc.property(limits, fc.integer({ min: 1, max: 300 }), (init, count) => {
      const gap = Math.ceil(1000 / (init.perSecond * (1 + init.abuseFactor)))
      const decisions = run(init, new Array(count).fill(gap))
      assert.ok(decisions.every(d => d.decision !== 'abusive'))
    }), { numRuns: 300 })
  })

  it('forgives: one refill window (burst / perSecond) after a flood, the requester has its whole burst and overdraft again', () => {
    fc.assert(fc.property(limits, fc.integer({ min: 0, max: 1000 }), (init, flood) => {
      // (one ms more: the buckets add up refills in floating point)
      const window = Math.ceil(init.burst / init.perSecond * 1000) + 1
      const decisions = run(init, [...new Array(flood).fill(0), window, ...new Array((1 + init.abuseFactor) * init.burst - 1).fill(0)])
      const after = decisions.slice(flood).map(d => d.decision)
      assert.deepEqual(after.slice(0, init.burst), new Array(init.burst).fill('within'))
      assert.ok(after.slice(init.burst).every(d => d === 'over'))
    }), { numRuns: 300 })
  })

  it('keeps requesters apart, and abuseFactor Infinity never blames while 0 blames all over the bucket', () => {
    const clock = { now: 0 }
    const never = new RequesterRateLimit({ burst: 1, perSecond: 1, abuseFactor: Infinity, maxKeys: 10, now: () => clock.now })
    assert.equal(never.take('a'), 'within')
    for (let i = 0; i < 1000; i++) assert.equal(never.take('a'), 'over')
    assert.equal(never.take('b'), 'within')
    const strict = new RequesterRateLimit({ burst: 2, perSecond: 1, abuseFactor: 0, maxKeys: 10, now: () => clock.now })
    assert.deepEqual([strict.take('a'), strict.take('a'), strict.take('a')], ['within', 'within', 'abusive'])
    assert.throws(() => new RequesterRateLimit({ burst: 1, perSecond: 1, abuseFactor: -1, maxKeys: 1 }), RangeError)
    assert.throws(() => new RequesterRateLimit({ burst: 1, perSecond: 1, abuseFactor: NaN, maxKeys: 1 }), RangeError)
  })
})
