import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  EARTH_RADIUS_KM, FIBRE_KM_PER_MS, GEOHASH_ALPHABET, JobKind, cellRttFloor, decodeGeohash, encodeGeohash, estimateRtt, geohashChildren, geohashGapKm, geohashSpanKm, greatCircleKm,
  isGeohash, matchOffer
} from '../src/index.js'
import type { JobTerms, Offer } from '../src/index.js'

const JOB: JobTerms = {
  kind: JobKind.GPU_INFERENCE,
  workload: 'llama-7b',
  requirements: { gpuModel: '', gpuClass: 'consumer-24g', minVramMib: 16384, gpuCount: 2, sensors: [], region: 'w21', maxRttMs: 0 },
  priceCeiling: { perUnit: 20, currency: 'USDC', unit: 'gpu-second' }
}

const OFFER: Offer = {
  gpus: [
    { model: 'RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 1 },
    { model: 'RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 1 },
    { model: 'RTX 3060', class: 'consumer-24g', vramMib: 12288, count: 4 }
  ],
  sensors: ['video'],
  geohash: 'w21z7',
  price: { perUnit: 15, currency: 'USDC', unit: 'gpu-second' }
}

const codes = (job: JobTerms, offer: Offer): string[] => matchOffer(job, offer).mismatches.map(m => m.code)

describe('matchOffer', () => {
  it('matches, and says why', () => {
    assert.deepEqual(matchOffer(JOB, OFFER), {
      mismatches: [],
      reasons: ['gpu consumer-24g x2, 24576 MiB >= 16384', 'price 15 USDC/gpu-second <= 20']
    })
  })

  it('counts GPUs over every entry that meets the per-GPU requirements', () => {
    const r = JOB.requirements!
    assert.deepEqual(codes({ ...JOB, requirements: { ...r, gpuCount: 3 } }, OFFER), ['hardware'])
    assert.deepEqual(codes({ ...JOB, requirements: { ...r, minVramMib: 0, gpuCount: 6 } }, OFFER), [])
    assert.deepEqual(codes({ ...JOB, requirements: { ...r, gpuModel: 'RTX 3060', minVramMib: 0, gpuCount: 4 } }, OFFER), [])
  })

  it('needs the provider inside the region, not merely a cell around it', () => {
    const r = JOB.requirements!
    assert.deepEqual(codes(JOB, { ...OFFER, geohash: 'w2' }), ['region'])
    assert.deepEqual(codes({ ...JOB, requirements: { ...r, region: '' } }, { ...OFFER, geohash: '' }), [])
    assert.deepEqual(codes(JOB, { ...OFFER, geohash: undefined }), ['region'])
  })

  it('needs a GPU for a GPU job with no GPU requirement, and none for a capture job', () => {
    const bare = { gpuModel: '', gpuClass: '', minVramMib: 0, gpuCount: 0, sensors: ['video'], region: '', maxRttMs: 0 }
    const sensorsOnly = { ...OFFER, gpus: [] }
    assert.deepEqual(codes({ ...JOB, requirements: bare }, sensorsOnly), ['hardware'])
    assert.deepEqual(codes({ ...JOB, kind: JobKind.CAPTURE, requirements: bare }, sensorsOnly), [])
    assert.deepEqual(codes({ ...JOB, kind: JobKind.CAPTURE, requirements: { ...bare, sensors: ['lidar'] } }, sensorsOnly), ['sensors'])
  })

  it('needs the ceiling\'s currency and unit, then a price at most the ceiling', () => {
    assert.deepEqual(codes(JOB, { ...OFFER, price: { perUnit: 1, currency: 'EUR', unit: 'gpu-second' } }), ['currency'])
    assert.deepEqual(codes(JOB, { ...OFFER, price: { perUnit: 1, currency: 'USDC', unit: 'token' } }), ['currency'])
    assert.deepEqual(codes(JOB, { ...OFFER, price: undefined }), ['currency'])
    assert.deepEqual(codes(JOB, { ...OFFER, price: { perUnit: 21, currency: 'USDC', unit: 'gpu-second' } }), ['price'])
  })

  it('checks kinds, workloads, GPUs and sensors only when the offer lists them', () => {
    assert.deepEqual(codes(JOB, { ...OFFER, kinds: [JobKind.CAPTURE], workloads: ['sdxl'] }), ['kind', 'workload'])
    assert.deepEqual(codes({ ...JOB, requirements: { ...JOB.requirements!, gpuCount: 99, sensors: ['lidar'] } }, { ...OFFER, gpus: undefined, sensors: undefined }), [])
  })
})

describe('matchOffer on numbers a decoder would refuse (jobs and offers built in code)', () => {
  const anyNumber = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, -1, 0), fc.integer({ min: 0, max: 8 }))

  it('property: never throws, and a match holds every rule as a real comparison (NaN is never a match)', () => {
    fc.assert(fc.property(anyNumber, anyNumber, anyNumber, anyNumber, anyNumber, anyNumber, (gpuCount, minVramMib, count, vramMib, price, ceiling) => {
      const job: JobTerms = { ...JOB, requirements: { ...JOB.requirements!, gpuCount, minVramMib }, priceCeiling: { ...JOB.priceCeiling!, perUnit: ceiling } }
      const offer: Offer = { ...OFFER, gpus: [{ model: 'RTX 4090', class: 'consumer-24g', vramMib, count }], price: { ...OFFER.price!, perUnit: price } }
      const { mismatches } = matchOffer(job, offer)
      if (mismatches.length === 0) {
        assert.ok(price <= ceiling, `price ${price} matched ceiling ${ceiling}`)
        assert.ok(count >= Math.max(1, gpuCount), `count ${count} matched ${gpuCount} wanted`)
        assert.ok(vramMib >= minVramMib, `vram ${vramMib} matched ${minVramMib}`)
      }
    }), { numRuns: 2000 })
  })

  it('refuses an offer whose GPU list is empty for a job that wants none in particular', () => {
    assert.deepEqual(codes({ ...JOB, requirements: { ...JOB.requirements!, gpuCount: NaN } }, { ...OFFER, gpus: [] }), ['hardware'])
  })
})

describe('geo and coordinates', () => {
  it('expands a prefix to its children in order', () => {
    assert.equal(geohashChildren('', 2).length, 1024)
    assert.deepEqual(geohashChildren('w2', 2), ['w2'])
    assert.deepEqual(geohashChildren('w', 2).slice(0, 3), ['w0', 'w1', 'w2'])
    assert.ok(geohashChildren('', 2).every(c => isGeohash(c)))
  })

  it('bounds the distance between any points of two cells from below', () => {
    const cell = fc.string({ unit: fc.constantFrom(...GEOHASH_ALPHABET), minLength: 1, maxLength: 4 })
    fc.assert(fc.property(cell, cell, (a, b) => {
      const ca = decodeGeohash(a)
      const cb = decodeGeohash(b)
      assert.ok(geohashGapKm(a, b) <= greatCircleKm(ca.lat, ca.lon, cb.lat, cb.lon) + 1e-6)
    }))
    assert.equal(geohashGapKm('w21', 'w21z'), 0)
  })

  it('bounds the distance between any points of two cells from above (span), and the RTT between them from below (cellRttFloor)', () => {
    const position = fc.tuple(fc.double({ min: -89.9, max: 89.9, noNaN: true }), fc.double({ min: -179.9, max: 179.9, noNaN: true }))
    fc.assert(fc.property(position, position, fc.integer({ min: 1, max: 8 }), ([la, oa], [lb, ob], precision) => {
      const a = encodeGeohash(la, oa, precision)
      const b = encodeGeohash(lb, ob, precision)
      const km = greatCircleKm(la, oa, lb, ob)
      assert.ok(km <= geohashSpanKm(a, b) + 1e-6, `${km} km > span ${geohashSpanKm(a, b)}`)
      assert.ok(cellRttFloor(a, b) <= 2 * km / FIBRE_KM_PER_MS + 1e-6)
    }))
    assert.equal(geohashSpanKm('', 'u09'), Math.PI * EARTH_RADIUS_KM)
    assert.equal(cellRttFloor('u09', ''), 0)
  })

  it('estimates RTT symmetrically, and not across dimensions', () => {
    const a = { vec: [3, 0], height: 1, error: 0.5 }
    const b = { vec: [0, 4], height: 2, error: 0.5 }
    assert.equal(estimateRtt(a, b), 8)
    assert.equal(estimateRtt(b, a), 8)
    assert.equal(estimateRtt(a, { vec: [1], height: 0, error: 0 }), undefined)
    assert.equal(estimateRtt(a, undefined), undefined)
  })
})
