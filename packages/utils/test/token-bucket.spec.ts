import assert from 'node:assert/strict'
import fc from 'fast-check'
import { TokenBucketLimiter } from '../src/index.js'

describe('TokenBucketLimiter', () => {
  it('allows a burst, then refills at the configured rate', () => {
    let now = 0
    const limiter = new TokenBucketLimiter({ burst: 3, perSecond: 1, maxKeys: 10, now: () => now })
    assert.equal(limiter.tryTake('a'), true)
    assert.equal(limiter.tryTake('a'), true)
    assert.equal(limiter.tryTake('a'), true)
    assert.equal(limiter.tryTake('a'), false)
    assert.equal(limiter.tryTake('b'), true, 'buckets are per key')
    now += 999
    assert.equal(limiter.tryTake('a'), false)
    now += 1
    assert.equal(limiter.tryTake('a'), true)
    now += 60_000
    assert.equal(limiter.available('a'), 3, 'never more than the burst')
  })

  it('charges a fractional cost: 1 / f per message gives f times the burst and rate', () => {
    let now = 0
    const limiter = new TokenBucketLimiter({ burst: 10, perSecond: 1, maxKeys: 10, now: () => now })
    let sent = 0
    while (limiter.tryTake('a', 1 / 3)) {
      sent++
    }
    assert.equal(sent, 30)
    now += 1000
    assert.equal([1, 2, 3, 4].filter(() => limiter.tryTake('a', 1 / 3)).length, 3)
    assert.throws(() => limiter.tryTake('a', 0), RangeError)
  })

  it('keeps at most maxKeys buckets, forgetting refilled ones first', () => {
    let now = 0
    const limiter = new TokenBucketLimiter({ burst: 2, perSecond: 1, maxKeys: 2, now: () => now })
    limiter.tryTake('a')
    limiter.tryTake('b')
    limiter.tryTake('b')
    now += 1000
    // 'a' is full again (nothing worth keeping), 'b' holds 1 of 2 tokens
    assert.equal(limiter.tryTake('c'), true)
    assert.equal(limiter.size, 2)
    assert.equal(limiter.available('b'), 1, "'b' is still limited: its bucket was kept")
  })

  it('property: memory stays bounded and a key never gets more than burst + rate x time', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 2000 })), { maxLength: 500 }),
      (ops) => {
        let now = 0
        const limiter = new TokenBucketLimiter({ burst: 5, perSecond: 2, maxKeys: 20, now: () => now })
        const granted = new Map<number, number>()
        for (const [key, dt] of ops) {
          now += dt
          if (limiter.tryTake(String(key))) {
            granted.set(key, (granted.get(key) ?? 0) + 1)
          }
          if (limiter.size > 20) {
            return false
          }
        }
        // a forgotten bucket restarts full, so the bound per key is burst per eviction; without evictions:
        if (new Set(ops.map(([k]) => k)).size <= 20) {
          for (const n of granted.values()) {
            if (n > 5 + Math.floor(now / 1000 * 2) + 1) {
              return false
            }
          }
        }
        return true
      }
    ))
  })

  it('refuses a NaN or negative setting, which would otherwise let everything through', () => {
    assert.throws(() => new TokenBucketLimiter({ burst: NaN, perSecond: 1, maxKeys: 10 }), { name: 'RangeError' })
    assert.throws(() => new TokenBucketLimiter({ burst: 1, perSecond: NaN, maxKeys: 10 }), { name: 'RangeError' })
    assert.throws(() => new TokenBucketLimiter({ burst: 1, perSecond: -1, maxKeys: 10 }), { name: 'RangeError' })
  })

  it('gives no extra token when the clock steps back and forward again', () => {
    let now = 1000
    const limiter = new TokenBucketLimiter({ burst: 1, perSecond: 1, maxKeys: 10, now: () => now })
    assert.equal(limiter.tryTake('a'), true)
    now = 0
    assert.equal(limiter.tryTake('a'), false)
    now = 1000
    assert.equal(limiter.tryTake('a'), false, 'the second from 0 to 1000 was already counted')
    now = 2000
    assert.equal(limiter.tryTake('a'), true)
  })
})
