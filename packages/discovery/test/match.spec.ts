import assert from 'node:assert/strict'
import { JobKind } from '@shoal/records'
import fc from 'fast-check'
import { decodeGeohash, distanceKm, encodeGeohash, geohashNeighbours } from '../src/geohash.js'
import { cellRttFloor, checkAdvertisement, estimateRtt, matchRecord, queryClass, queryForJob } from '../src/match.js'
import type { NearbyQuery } from '../src/match.js'
import type { CapabilityRecord } from '@shoal/records'

function record (fields: Partial<CapabilityRecord> = {}): CapabilityRecord {
  return {
    version: 1,
    provider: new Uint8Array([0, 4, 1, 2, 3, 4]),
    seq: 1,
    gpus: [{ model: 'RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 2 }],
    sensors: ['video', 'gps'],
    geohash: 'xn76u',
    price: { perUnit: 10, currency: 'USDC', unit: 'gpu-second' },
    concurrency: 4,
    freeSlots: 3,
    addrs: [],
    createdMs: 1,
    expiresMs: 2,
    ...fields
  }
}

const gpuArb = fc.record({
  model: fc.constant('m'),
  class: fc.constantFrom('consumer-24g', 'datacenter-80g'),
  vramMib: fc.integer({ min: 1, max: 100_000 }),
  count: fc.integer({ min: 1, max: 8 })
})
const recordArb = fc.record({
  gpus: fc.array(gpuArb, { maxLength: 3 }),
  sensors: fc.subarray(['video', 'gps', 'lidar']),
  perUnit: fc.integer({ min: 0, max: 100 }),
  currency: fc.constantFrom('USDC', 'EUR'),
  freeSlots: fc.integer({ min: 0, max: 4 })
}).map(r => record({ gpus: r.gpus, sensors: r.sensors, price: { perUnit: r.perUnit, currency: r.currency, unit: 'gpu-second' }, freeSlots: r.freeSlots }))
const queryArb: fc.Arbitrary<NearbyQuery> = fc.record({
  geohash: fc.constant('xn76'),
  gpuClass: fc.option(fc.constantFrom('consumer-24g', 'datacenter-80g'), { nil: undefined }),
  minVramMib: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
  gpuCount: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
  sensors: fc.option(fc.subarray(['video', 'gps', 'lidar']), { nil: undefined }),
  maxPrice: fc.option(fc.record({ perUnit: fc.integer({ min: 0, max: 100 }), currency: fc.constantFrom('USDC', 'EUR') }), { nil: undefined }),
  minFreeSlots: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined })
}, { requiredKeys: ['geohash'] })

describe('matching', () => {
  it('says why a record matches', () => {
    const result = matchRecord({ geohash: 'xn', gpuClass: 'consumer-24g', minVramMib: 16384, maxPrice: { perUnit: 20, currency: 'USDC' }, sensors: ['video'] }, record())
    assert.ok(result.matches)
    assert.deepEqual(result.reasons, ['gpu consumer-24g x2, 24576 MiB >= 16384', 'sensors video', 'price 10 USDC/gpu-second <= 20'])
  })

  it('says why a record does not match', () => {
    const cases: Array<[NearbyQuery, string]> = [
      [{ geohash: 'xn', gpuClass: 'datacenter-80g' }, 'no matching GPU'],
      [{ geohash: 'xn', gpuClass: 'consumer-24g', minVramMib: 30000 }, 'no matching GPU'],
      [{ geohash: 'xn', gpuClass: 'consumer-24g', gpuCount: 3 }, '2 matching GPUs, 3 wanted'],
      [{ geohash: 'xn', sensors: ['lidar'] }, 'no lidar sensor'],
      [{ geohash: 'xn', sensors: ['video'], maxPrice: { perUnit: 9, currency: 'USDC' } }, 'price 10 above 9'],
      [{ geohash: 'xn', sensors: ['video'], maxPrice: { perUnit: 90, currency: 'EUR' } }, 'not priced in EUR'],
      [{ geohash: 'xn', sensors: ['video'], maxPrice: { perUnit: 90, currency: 'USDC', unit: 'token' } }, 'priced per gpu-second, not per token'],
      [{ geohash: 'xn', sensors: ['video'], minFreeSlots: 4 }, '3 free slots, 4 wanted']
    ]
    for (const [query, reason] of cases) {
      assert.deepEqual(matchRecord(query, record()), { matches: false, reason })
    }
  })

  it('a match satisfies every constraint of the query, and loosening a constraint keeps it', () => {
    fc.assert(fc.property(queryArb, recordArb, (query, r) => {
      const result = matchRecord(query, r)
      const gpus = r.gpus.filter(g => (query.gpuClass == null || g.class === query.gpuClass) && g.vramMib >= (query.minVramMib ?? 0))
      const wantsGpu = query.gpuClass != null || query.minVramMib != null || query.gpuCount != null
      const expected = (!wantsGpu || gpus.reduce((n, g) => n + g.count, 0) >= Math.max(1, query.gpuCount ?? 1)) &&
        (query.sensors ?? []).every(s => r.sensors.includes(s)) &&
        (query.maxPrice == null || (r.price?.currency === query.maxPrice.currency && r.price.perUnit <= query.maxPrice.perUnit)) &&
        (query.minFreeSlots == null || r.freeSlots >= query.minFreeSlots)
      assert.equal(result.matches, expected)
      if (result.matches && query.maxPrice != null) {
        assert.ok(matchRecord({ ...query, maxPrice: { ...query.maxPrice, perUnit: query.maxPrice.perUnit + 1 } }, r).matches)
      }
    }), { numRuns: 2000 })
  })

  it('searches for a job by its GPU needs, sensors and price ceiling, in its region', () => {
    const requirements = { gpuModel: '', gpuClass: 'consumer-24g', minVramMib: 16384, gpuCount: 0, sensors: [], region: 'xn7', maxRttMs: 0 }
    const priceCeiling = { perUnit: 20, currency: 'USDC', unit: 'gpu-second' }
    assert.deepEqual(queryForJob({ kind: JobKind.GPU_INFERENCE, requirements, priceCeiling }),
      { geohash: 'xn7', gpuClass: 'consumer-24g', minVramMib: 16384, gpuCount: 0, maxPrice: priceCeiling })
    const capture = { ...requirements, gpuClass: '', minVramMib: 0, sensors: ['video'] }
    assert.deepEqual(queryForJob({ kind: JobKind.CAPTURE, requirements: capture, priceCeiling }, 'xn76u'),
      { geohash: 'xn76u', sensors: ['video'], maxPrice: priceCeiling })
    // from the requester if it is in the job's region, else from the region, else from nowhere (every region)
    assert.equal(queryForJob({ kind: JobKind.GPU_INFERENCE, requirements, priceCeiling }, 'xn76u').geohash, 'xn76u')
    assert.equal(queryForJob({ kind: JobKind.GPU_INFERENCE, requirements, priceCeiling }, 'u33d').geohash, 'xn7')
    assert.equal(queryForJob({ kind: JobKind.GPU_INFERENCE, requirements: { ...requirements, region: '' }, priceCeiling }, 'u33d').geohash, 'u33d')
    assert.equal(queryForJob({ kind: JobKind.GPU_INFERENCE, requirements: { ...requirements, region: '' }, priceCeiling }).geohash, '')
    // a record priced per another unit is one whose provider would not bid
    assert.equal(matchRecord(queryForJob({ kind: JobKind.GPU_INFERENCE, requirements, priceCeiling: { ...priceCeiling, unit: 'token' } }), record()).matches, false)
  })

  it('derives the searched class from the query and refuses bad queries with InvalidQueryError only', () => {
    assert.equal(queryClass({ geohash: 'xn', gpuClass: 'consumer-24g', sensors: ['video'] }), 'gpu:consumer-24g')
    assert.equal(queryClass({ geohash: 'xn', sensors: ['video', 'gps'] }), 'sensor:video')
    assert.throws(() => queryClass({ geohash: 'xn' }), { name: 'InvalidQueryError' })
    assert.throws(() => queryClass({ geohash: 'XN', gpuClass: 'a' }), { name: 'InvalidQueryError' })
    assert.throws(() => queryClass({ geohash: 'xn', gpuClass: 'a/b' }), { name: 'InvalidQueryError' })
    assert.throws(() => queryClass({ geohash: 'xn', gpuClass: 'a', minVramMib: -1 }), { name: 'InvalidQueryError' })
    fc.assert(fc.property(fc.anything(), fc.anything(), fc.anything(), (geohash, gpuClass, sensors) => {
      try {
        // whatever a caller passes: the checks must hold at run time
        queryClass({ geohash, gpuClass, sensors } as unknown as NearbyQuery)
      } catch (err: unknown) {
        assert.ok(err instanceof Error)
        assert.equal(err.name, 'InvalidQueryError')
      }
    }), { numRuns: 2000 })
  })

  it('checks a record fits the key it was found under', () => {
    checkAdvertisement(record(), 'gpu:consumer-24g', 'xn7')
    checkAdvertisement(record(), 'sensor:video', '')
    assert.throws(() => { checkAdvertisement(record(), 'gpu:datacenter-80g', 'xn7') }, { name: 'AdvertisementMismatchError' })
    assert.throws(() => { checkAdvertisement(record(), 'gpu:consumer-24g', 'xn6') }, { name: 'AdvertisementMismatchError' })
    assert.throws(() => { checkAdvertisement(record({ geohash: 'xn' }), 'gpu:consumer-24g', 'xn7') }, { name: 'AdvertisementMismatchError' })
  })

  it('estimates RTT from two coordinates', () => {
    const a = { vec: [0, 0], height: 1, error: 0.2 }
    const b = { vec: [3, 4], height: 2, error: 0.2 }
    assert.equal(estimateRtt(a, b), 8)
    assert.equal(estimateRtt(a, { vec: [1], height: 0, error: 0 }), undefined)
    assert.equal(estimateRtt(a, undefined), undefined)
    const coord = fc.record({ vec: fc.array(fc.double({ min: -1000, max: 1000, noNaN: true }), { minLength: 2, maxLength: 2 }), height: fc.double({ min: 0, max: 100, noNaN: true }), error: fc.constant(0.1) })
    fc.assert(fc.property(coord, coord, (x, y) => {
      const d = estimateRtt(x, y)
      assert.ok(d != null && d >= 0)
      assert.ok(Math.abs(d - (estimateRtt(y, x) ?? NaN)) < 1e-9)
    }))
  })

  it('bounds the RTT between two cells from below by their distance at the speed of light in fibre', () => {
    // the world, the same cell and touching cells: nothing to bound
    assert.equal(cellRttFloor('xn7', ''), 0)
    assert.equal(cellRttFloor('xn7', 'xn7'), 0)
    for (const n of geohashNeighbours('xn7')) {
      assert.equal(cellRttFloor('xn7', n), 0)
    }
    // Tokyo to Paris: ~9,700 km, so at least ~97 ms there and back
    const floor = cellRttFloor('xn76', 'u09t')
    assert.ok(floor > 80 && floor < 97, `${floor}`)
    // a lower bound for any two places in the cells, and symmetric
    const place = fc.record({ lat: fc.double({ min: -89, max: 89, noNaN: true }), lon: fc.double({ min: -179.9, max: 179.9, noNaN: true }) })
    fc.assert(fc.property(place, place, fc.integer({ min: 1, max: 4 }), (a, b, precision) => {
      const ca = encodeGeohash(a.lat, a.lon, precision)
      const cb = encodeGeohash(b.lat, b.lon, precision)
      const f = cellRttFloor(ca, cb)
      assert.ok(f >= 0 && f <= distanceKm(a.lat, a.lon, b.lat, b.lon) / 100 + 1e-6)
      assert.ok(Math.abs(f - cellRttFloor(cb, ca)) < 1e-9)
      const da = decodeGeohash(ca)
      assert.ok(f <= distanceKm(da.lat, da.lon, b.lat, b.lon) / 100 + 1e-6)
    }))
  })
})
