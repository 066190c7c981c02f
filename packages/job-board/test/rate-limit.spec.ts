import assert from 'node:assert/strict'
import fc from 'fast-check'
import { NEWCOMER_BURST, NEWCOMER_PER_SECOND, RATE_LIMIT_ABUSE_FACTOR, RATE_LIMIT_BURST, RATE_LIMIT_PER_SECOND, STANDING_SCALE_MAX } from '../src/constants.js'
import { RequesterRateLimit, standingScale } from '../src/rate-limit.js'
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

describe('RequesterRateLimit: newcomer budgets', () => {
  /** a limit whose requesters `key0`, `key1`, ... have the standing `standings` gives them (0 when absent) */
  function budgeted (standings: Record<string, number>, clock: { now: number }, newcomers = { burst: NEWCOMER_BURST, perSecond: NEWCOMER_PER_SECOND }): RequesterRateLimit {
    return new RequesterRateLimit({
      burst: RATE_LIMIT_BURST,
      perSecond: RATE_LIMIT_PER_SECOND,
      abuseFactor: RATE_LIMIT_ABUSE_FACTOR,
      maxKeys: 10_000,
      now: () => clock.now,
      standing: key => standings[key] ?? 0,
      newcomers,
      exempt: 'self'
    })
  }

  it('gives all fresh keys together one burst; established keys, and this node, keep theirs', () => {
    const clock = { now: 0 }
    const limit = budgeted({ known: 2 }, clock)
    const fresh = Array.from({ length: 50 }, (_, i) => limit.take(`fresh${i}`))
    assert.equal(fresh.filter(d => d === 'within').length, NEWCOMER_BURST)
    assert.ok(fresh.slice(NEWCOMER_BURST).every(d => d === 'newcomer'))
    assert.deepEqual(limit.newcomerBudget(), { burst: NEWCOMER_BURST, perSecond: NEWCOMER_PER_SECOND, available: 0, limited: 50 - NEWCOMER_BURST })
    // the newcomer bucket is empty: an established key and the node itself are not in it
    assert.equal(limit.take('known'), 'within')
    for (let i = 0; i < 100; i++) assert.equal(limit.take('self'), 'within')
    // it refills for newcomers at its own rate
    clock.now += 1000 / NEWCOMER_PER_SECOND
    assert.deepEqual([limit.take('fresh50'), limit.take('fresh51')], ['within', 'newcomer'])
  })

  it('without a newcomer bucket, or without standing, fresh keys each get the per-key burst as before', () => {
    const clock = { now: 0 }
    const plain = new RequesterRateLimit({ burst: RATE_LIMIT_BURST, perSecond: RATE_LIMIT_PER_SECOND, abuseFactor: RATE_LIMIT_ABUSE_FACTOR, maxKeys: 100, now: () => clock.now })
    assert.ok(Array.from({ length: 50 }, (_, i) => plain.take(`k${i}`)).every(d => d === 'within'))
    assert.equal(plain.newcomerBudget(), undefined)
  })

  it('property: the budget grows with standing, slowly, and is capped', () => {
    fc.assert(fc.property(fc.nat({ max: 1_000_000 }), fc.nat({ max: 1_000_000 }), (a, b) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a]
      assert.ok(standingScale(lo) <= standingScale(hi), 'monotone')
      assert.ok(standingScale(hi) >= 1 && standingScale(hi) <= STANDING_SCALE_MAX)
      assert.ok(standingScale(hi) <= 1 + Math.log2(1 + hi), 'logarithmic')
    }))
    assert.equal(standingScale(0), 1)
    assert.equal(standingScale(NaN), 1)
    assert.equal(standingScale(1), 2)
    assert.equal(standingScale(Infinity), STANDING_SCALE_MAX)
  })

  it('property: a key of standing n gets standingScale(n) times the burst at once', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 20 }), (standing, burst) => {
      const limit = new RequesterRateLimit({ burst, perSecond: 1, abuseFactor: Infinity, maxKeys: 10, now: () => 0, standing: () => standing, newcomers: { burst: 1, perSecond: 0 } })
      let within = 0
      while (limit.take('key') === 'within') within++
      const allowed = burst * standingScale(standing)
      assert.ok(within >= Math.floor(allowed) - 1 && within <= Math.ceil(allowed), `${within} of ${allowed}`)
    }), { numRuns: 300 })
  })

  it('property: however many fresh keys send, together they get at most the newcomer burst + rate x time', () => {
    const newcomers = fc.record({ burst: fc.integer({ min: 1, max: 20 }), perSecond: fc.constantFrom(0, 0.1, 1, 5) })
    const sends = fc.array(fc.record({ gap: fc.integer({ min: 0, max: 2000 }), key: fc.nat({ max: 1000 }) }), { minLength: 1, maxLength: 300 })
    fc.assert(fc.property(newcomers, sends, (init, steps) => {
      const clock = { now: 0 }
      const limit = budgeted({}, clock, init)
      let within = 0
      for (const { gap, key } of steps) {
        clock.now += gap
        if (limit.take(`fresh${key}`) === 'within') within++
      }
      assert.ok(within <= init.burst + init.perSecond * clock.now / 1000 + 1e-6, `${within} in ${clock.now} ms`)
    }), { numRuns: 300 })
  })
})
