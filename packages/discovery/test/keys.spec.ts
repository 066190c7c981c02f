import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { GEOHASH_ALPHABET } from '../src/geohash.js'
import {
  advertisementKeys, capabilityClasses, capabilityKey, capabilityKeyString, gpuClass, isCapabilityClass, searchLevels, sensorClass
} from '../src/keys.js'

const cell = fc.array(fc.constantFrom(...GEOHASH_ALPHABET), { maxLength: 12 }).map(cs => cs.join(''))
const className = fc.stringMatching(/^[A-Za-z0-9._+-][A-Za-z0-9._+:-]{0,20}$/)
const capClass = fc.tuple(fc.constantFrom('gpu:', 'sensor:'), className).map(([p, n]) => p + n)

describe('keys', () => {
  it('derive the documented test vector', () => {
    assert.equal(capabilityKeyString('gpu:consumer-24g', 'xn7'), '/shoal/cap/1/gpu:consumer-24g/xn7')
    const cid = capabilityKey('gpu:consumer-24g', 'xn7')
    assert.equal(cid.version, 1)
    assert.equal(cid.code, 0x55)
    assert.equal(cid.multihash.code, 0x12)
    assert.equal(Buffer.from(cid.multihash.digest).toString('hex'), '8aa30ef0897cacdabcb63568cf124ad3c0fe1bec4131acc38ce698ab306e6e60')
    assert.equal(cid.toString(), 'bafkreiekumhpbcl4vtnlznrvndhreswtyd7bx3cbggwmhdhgtcvta3toma')
    assert.equal(capabilityKeyString('sensor:video', ''), '/shoal/cap/1/sensor:video/')
  })

  it('a key is the SHA-256 of its string, and different (class, cell) pairs have different keys', () => {
    fc.assert(fc.property(capClass, cell, capClass, cell, (c1, g1, c2, g2) => {
      const k1 = capabilityKey(c1, g1)
      const digest = createHash('sha256').update(capabilityKeyString(c1, g1)).digest()
      assert.deepEqual(Buffer.from(k1.multihash.digest), digest)
      if (c1 !== c2 || g1 !== g2) {
        assert.notEqual(k1.toString(), capabilityKey(c2, g2).toString())
      }
    }))
  })

  it('refuses classes and cells that cannot be keys, with named errors only', () => {
    fc.assert(fc.property(fc.string(), fc.string(), (c, g) => {
      try {
        const text = capabilityKeyString(c, g)
        assert.ok(isCapabilityClass(c))
        assert.equal(text.split('/').length, 6) // '', shoal, cap, 1, class, cell: the class holds no '/'
      } catch (err) {
        assert.ok(err instanceof Error && ['InvalidClassError', 'InvalidGeohashError'].includes(err.name), String(err))
      }
    }), { numRuns: 2000 })
    assert.throws(() => gpuClass('a/b'), { name: 'InvalidClassError' })
    assert.throws(() => sensorClass(''), { name: 'InvalidClassError' })
    assert.throws(() => capabilityKey('gpu:x', 'ABC'), { name: 'InvalidGeohashError' })
    assert.equal(isCapabilityClass('cpu:x'), false)
  })

  it('advertise each class at each precision the geohash allows', () => {
    const record = {
      gpus: [{ model: 'a', class: 'consumer-24g', vramMib: 1, count: 1 }, { model: 'b', class: 'consumer-24g', vramMib: 1, count: 1 }, { model: 'c', class: 'bad/class', vramMib: 1, count: 1 }],
      sensors: ['video'],
      geohash: 'xn76u'
    }
    assert.deepEqual(capabilityClasses(record), ['gpu:consumer-24g', 'sensor:video'])
    const keys = advertisementKeys(record, [1, 2, 3])
    assert.deepEqual(keys.map(k => k.text), [
      '/shoal/cap/1/gpu:consumer-24g/x', '/shoal/cap/1/gpu:consumer-24g/xn', '/shoal/cap/1/gpu:consumer-24g/xn7',
      '/shoal/cap/1/sensor:video/x', '/shoal/cap/1/sensor:video/xn', '/shoal/cap/1/sensor:video/xn7'
    ])
    // a provider revealing 2 characters is only advertised at precisions up to 2
    assert.deepEqual(advertisementKeys({ ...record, sensors: [], geohash: 'xn' }, [1, 2, 3]).map(k => k.cell), ['x', 'xn'])
    // one revealing nothing is advertised in the world cell
    assert.deepEqual(advertisementKeys({ ...record, sensors: [], geohash: '' }, [1, 2, 3]).map(k => [k.cell, k.precision]), [['', 0]])
  })

  it('search the own cell and its neighbours, then coarser, then the world', () => {
    const levels = searchLevels('xn76u', [3, 1, 2])
    assert.deepEqual(levels.map(l => l.precision), [3, 2, 1, 0])
    assert.equal(levels[0].cells[0], 'xn7')
    assert.equal(levels[0].cells.length, 9)
    assert.equal(levels[1].cells[0], 'xn')
    assert.deepEqual(levels[3].cells, [''])
    assert.deepEqual(searchLevels('xn', [1, 2, 3], false).map(l => l.precision), [2, 1])
    assert.throws(() => searchLevels('nope!', [1]), { name: 'InvalidGeohashError' })
  })

  it('search every cell of the coarsest precision, then the world, for a regionless query', () => {
    const levels = searchLevels('', [3, 1, 2])
    assert.deepEqual(levels.map(l => l.precision), [1, 0])
    assert.deepEqual(levels[0].cells, [...GEOHASH_ALPHABET])
    assert.deepEqual(levels[1].cells, [''])
    assert.deepEqual(searchLevels('', [0]), [{ precision: 0, cells: [''] }])
  })

  it('a regionless query with no precision of 1 looks up the world cell alone, not 32^p cells', () => {
    assert.deepEqual(searchLevels('', [3, 2]), [{ precision: 0, cells: [''] }])
    assert.deepEqual(searchLevels('', [6], false), [])
    assert.deepEqual(searchLevels('', [12, 1]).map(l => [l.precision, l.cells.length]), [[1, 32], [0, 1]])
  })

  it('a regionless search looks up a cell every provider is advertised under, wherever it is', () => {
    // precision 1 configured (or only the world): what a regionless search covers
    const precisions = fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { minLength: 1 })
      .filter(ps => ps.includes(1) || ps.every(p => p === 0))
    fc.assert(fc.property(cell, precisions, (geohash, ps) => {
      const searched = new Set(searchLevels('', ps).flatMap(l => l.cells))
      const advertised = advertisementKeys({ gpus: [], sensors: ['video'], geohash }, ps).map(k => k.cell)
      assert.ok(advertised.length > 0)
      assert.ok(advertised.some(c => searched.has(c)), `${geohash} advertised under ${advertised.join(',')}`)
      // each cell once, all of one precision but the world
      const levels = searchLevels('', ps)
      assert.equal(searched.size, levels.reduce((n, l) => n + l.cells.length, 0))
      assert.ok(levels.every(l => l.cells.every(c => c.length === l.precision)))
    }))
  })
})
