import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  GEOHASH_ALPHABET, decodeGeohash, encodeGeohash, geohashNeighbours, geohashParent, isValidGeohash
} from '../src/geohash.js'

const lat = fc.double({ min: -90, max: 90, noNaN: true })
const lon = fc.double({ min: -180, max: 180, noNaN: true })
const precision = fc.integer({ min: 1, max: 12 })
const geohash = (min = 1, max = 12): fc.Arbitrary<string> => fc.array(fc.constantFrom(...GEOHASH_ALPHABET), { minLength: min, maxLength: max }).map(cs => cs.join(''))

/** Whether two cells share an edge or a corner (longitude wraps). */
function touching (a: string, b: string): boolean {
  const x = decodeGeohash(a)
  const y = decodeGeohash(b)
  const eps = 1e-9
  const latTouch = x.minLat <= y.maxLat + eps && y.minLat <= x.maxLat + eps
  const lonTouch = (dx: number): boolean => x.minLon + dx <= y.maxLon + eps && y.minLon <= x.maxLon + dx + eps
  return latTouch && (lonTouch(0) || lonTouch(360) || lonTouch(-360))
}

describe('geohash', () => {
  it('encodes and decodes known positions', () => {
    assert.equal(encodeGeohash(57.64911, 10.40744, 11), 'u4pruydqqvj')
    assert.equal(encodeGeohash(35.6762, 139.6503, 5), 'xn76c')
    const cell = decodeGeohash('ezs42')
    assert.ok(Math.abs(cell.lat - 42.605) < 0.03 && Math.abs(cell.lon - -5.603) < 0.03)
    assert.deepEqual(decodeGeohash(''), { lat: 0, lon: 0, minLat: -90, maxLat: 90, minLon: -180, maxLon: 180 })
  })

  it('knows the neighbours of a cell', () => {
    assert.deepEqual(new Set(geohashNeighbours('dqcw5')), new Set(['dqcw7', 'dqctg', 'dqcw4', 'dqcwh', 'dqcw6', 'dqcwk', 'dqctf', 'dqctu']))
  })

  it('a position lies in the cell it encodes to', () => {
    fc.assert(fc.property(lat, lon, precision, (la, lo, p) => {
      const hash = encodeGeohash(la, lo, p)
      assert.equal(hash.length, p)
      assert.ok(isValidGeohash(hash))
      const cell = decodeGeohash(hash)
      assert.ok(la >= cell.minLat && la <= cell.maxLat, `${la} not in [${cell.minLat}, ${cell.maxLat}]`)
      assert.ok(lo >= cell.minLon && lo <= cell.maxLon, `${lo} not in [${cell.minLon}, ${cell.maxLon}]`)
      assert.equal(encodeGeohash(cell.lat, cell.lon, p), hash)
    }))
  })

  it('the parent is the prefix, and the cell of the same position one character coarser', () => {
    fc.assert(fc.property(lat, lon, precision, (la, lo, p) => {
      const hash = encodeGeohash(la, lo, p)
      assert.equal(geohashParent(hash), hash.slice(0, -1))
      assert.equal(geohashParent(hash), encodeGeohash(la, lo, p - 1))
    }))
  })

  it('neighbours are distinct touching cells of the same precision, and the relation is symmetric', () => {
    fc.assert(fc.property(geohash(1, 8), hash => {
      const ns = geohashNeighbours(hash)
      assert.equal(new Set(ns).size, ns.length)
      assert.ok(!ns.includes(hash))
      const cell = decodeGeohash(hash)
      const nearPole = cell.maxLat >= 90 || cell.minLat <= -90
      assert.ok(nearPole ? ns.length >= 3 && ns.length <= 8 : ns.length === 8, `${hash}: ${ns.length} neighbours`)
      for (const n of ns) {
        assert.equal(n.length, hash.length)
        assert.ok(touching(hash, n), `${n} does not touch ${hash}`)
        assert.ok(geohashNeighbours(n).includes(hash), `${hash} not a neighbour of its neighbour ${n}`)
      }
    }), { numRuns: 300 })
  })

  it('wraps around the antimeridian', () => {
    const east = encodeGeohash(0.1, 179.99, 3)
    const west = encodeGeohash(0.1, -179.99, 3)
    assert.ok(geohashNeighbours(east).includes(west))
    assert.ok(geohashNeighbours(west).includes(east))
  })

  it('rejects anything that is not a geohash with InvalidGeohashError only', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.anything({ withBoxedValues: true, withObjectString: true })), value => {
      if (isValidGeohash(value)) {
        return
      }
      for (const fn of [() => decodeGeohash(value as string), () => geohashNeighbours(value as string), () => geohashParent(value as string)]) {
        assert.throws(fn, (err: Error) => err.name === 'InvalidGeohashError')
      }
    }), { numRuns: 2000 })
    assert.throws(() => geohashParent(''), { name: 'InvalidGeohashError' })
    assert.throws(() => encodeGeohash(91, 0, 3), { name: 'InvalidGeohashError' })
    assert.throws(() => encodeGeohash(0, Number.NaN, 3), { name: 'InvalidGeohashError' })
    assert.throws(() => encodeGeohash(0, 0, 13), { name: 'InvalidGeohashError' })
    assert.equal(isValidGeohash('abc'), false) // 'a' is not in the alphabet
    assert.equal(isValidGeohash('u4pruydqqvj12'), false) // 13 characters
  })
})
