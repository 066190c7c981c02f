import assert from 'node:assert/strict'
import fc from 'fast-check'
import { BoundedMap } from '../src/index.js'

describe('BoundedMap', () => {
  it('forgets the oldest written entry when full, and a rewrite makes an entry the newest', () => {
    const map = new BoundedMap<string, number>(2)
    map.set('a', 1).set('b', 2)
    map.set('a', 3)
    map.set('c', 4)
    assert.deepEqual([...map.entries()], [['a', 3], ['c', 4]])
    assert.equal(map.get('b'), undefined)
  })

  it('refuses a negative or NaN size, keeps nothing at 0, rounds a fraction down and never forgets at Infinity', () => {
    assert.throws(() => new BoundedMap(-1), { name: 'RangeError' })
    assert.throws(() => new BoundedMap(NaN), { name: 'RangeError' })
    const one = new BoundedMap<string, number>(1.5)
    one.set('a', 1).set('b', 2)
    assert.deepEqual([...one.keys()], ['b'])
    const all = new BoundedMap<number, number>(Infinity)
    for (let i = 0; i < 1000; i++) all.set(i, i)
    assert.equal(all.size, 1000)
    const off = new BoundedMap<string, number>(0)
    off.set('a', 1)
    assert.equal(off.size, 0)
  })

  it('property: holds the last maxSize distinct keys written, with their last values', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 8 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer())), (max, writes) => {
      const map = new BoundedMap<number, number>(max)
      const last = new Map<number, number>()
      for (const [k, v] of writes) {
        map.set(k, v)
        last.delete(k)
        last.set(k, v)
      }
      const expected = [...last.entries()].slice(Math.max(0, last.size - max))
      assert.deepEqual([...map.entries()], expected)
    }))
  })
})
