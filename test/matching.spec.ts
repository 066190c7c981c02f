/**
 * One set of rules for matching a job to an offer: for any job and any
 * provider's capability record, explain() calls the provider a match
 * exactly when its default bid policy would quote (given a free slot, a
 * deadline ahead and budget enough) and exactly when a discovery search
 * derived from the job finds it in the job's region.
 */

import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { matchRecord, queryForJob } from '@shoal/discovery'
import { providerMismatches } from '@shoal/job-board'
import { JobKind } from '@shoal/records'
import { matchJob } from '@shoal/work'
import fc from 'fast-check'
import type { CapabilityRecord, JobAnnouncement, Requirements } from '@shoal/records'
import type { BidContext } from '@shoal/work'

const NOW = 1_700_000_000_000
const SENSORS = ['video', 'gps', 'lidar']
const PLACES = ['w21z7', 'w21zb', 'w2', 'u09t4', 'xn76u']

/** Mostly `usual`, sometimes `other`: enough pairs match for the property to say something. */
function mostly<T> (usual: T, ...other: T[]): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: fc.constant(usual), weight: 4 }, { arbitrary: fc.constantFrom(...other), weight: 1 })
}

const priceArb = fc.record({
  perUnit: fc.integer({ min: 0, max: 40 }),
  currency: mostly('USDC', 'EUR'),
  unit: mostly('gpu-second', 'token')
})

const gpuArb = fc.record({
  model: fc.constantFrom('RTX 4090', 'H100'),
  class: fc.constantFrom('consumer-24g', 'datacenter-80g', ''),
  vramMib: fc.integer({ min: 1, max: 100_000 }),
  count: fc.integer({ min: 1, max: 4 })
})

const recordArb: fc.Arbitrary<CapabilityRecord> = fc.record({
  gpus: fc.array(gpuArb, { maxLength: 3 }),
  sensors: fc.subarray(SENSORS),
  geohash: fc.constantFrom(...PLACES),
  price: priceArb
}).map(r => ({
  version: 1,
  provider: new Uint8Array([0, 4, 1, 2, 3, 4]),
  seq: 1,
  ...r,
  concurrency: 4,
  freeSlots: 4,
  addrs: [],
  createdMs: NOW,
  expiresMs: NOW + 60_000
}))

const requirementsArb: fc.Arbitrary<Requirements> = fc.record({
  gpuModel: mostly('', 'RTX 4090', 'H100'),
  gpuClass: mostly('', 'consumer-24g', 'datacenter-80g'),
  minVramMib: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 100_000 })),
  gpuCount: fc.integer({ min: 0, max: 6 }),
  sensors: fc.oneof({ arbitrary: fc.constant<string[]>([]), weight: 2 }, { arbitrary: fc.subarray(SENSORS, { minLength: 1 }), weight: 1 }),
  // regions: the world, and prefixes of the places (coarser, equal, and finer than some)
  region: mostly('', 'w', 'w2', 'w21', 'w21z', 'w21z7', 'u09', 'xn76u'),
  maxRttMs: fc.constant(0)
})

const jobArb: fc.Arbitrary<JobAnnouncement> = fc.record({
  kind: fc.constantFrom(JobKind.GPU_INFERENCE, JobKind.GPU_BATCH, JobKind.CAPTURE),
  requirements: requirementsArb,
  priceCeiling: priceArb
}).filter(j => j.kind !== JobKind.CAPTURE || j.requirements.sensors.length > 0).map(j => ({
  version: 1,
  jobId: new Uint8Array(16),
  requester: new Uint8Array(38),
  ...j,
  // enough budget for any price at the one estimated unit
  budget: 1_000_000,
  deadlineMs: NOW + 60_000,
  createdMs: NOW,
  expiresMs: NOW + 60_000,
  description: '',
  inputHash: new Uint8Array(),
  inputBytes: 0,
  workload: 'llama-7b'
}))

describe('matching a job to an offer', () => {
  let context: BidContext

  before(async () => {
    context = { running: 0, concurrency: 1, queued: 0, maxQueued: 0, requester: peerIdFromPrivateKey(await generateKeyPair('Ed25519')), now: NOW }
  })

  it('explain() finds no mismatch exactly when the bid policy bids, and exactly when discovery finds the provider', () => {
    let matches = 0
    fc.assert(fc.property(jobArb, recordArb, (job, record) => {
      const explained = providerMismatches(job, record).length === 0
      const bids = matchJob(job, context, {
        price: record.price ?? { perUnit: 0, currency: '', unit: '' },
        estUnits: 1,
        gpus: record.gpus,
        sensors: record.sensors,
        geohash: record.geohash
      })
      // a search looks in the job's region (the cell a record was found under contains it), then matches the record
      const query = queryForJob(job)
      const found = record.geohash.startsWith(query.geohash) && matchRecord(query, record).matches
      assert.equal(bids, explained, 'explain() and the bid policy disagree')
      assert.equal(found, explained, 'explain() and discovery disagree')
      if (explained) {
        matches++
      }
    }), { numRuns: 5000 })
    // the generators must reach both outcomes, or the property says nothing
    assert.ok(matches > 50, `only ${matches} matching pairs generated`)
  })
})
