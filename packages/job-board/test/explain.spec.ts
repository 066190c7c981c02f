import assert from 'node:assert/strict'
import { JobKind } from '@shoal/records'
import { NOW, capabilityRecord, party } from '@shoal/test-support'
import { explainJob, providerMismatches } from '../src/explain.js'
import { announcement } from './fixtures.js'
import type { ExplainInput } from '../src/explain.js'
import type { CapabilityRecord, Quote } from '@shoal/records'
import type { Party } from '@shoal/test-support'

/** `p`'s capability record, in the announcement's region (w21z), `overrides` replacing any field. */
function provider (p: Party, overrides: Partial<CapabilityRecord> = {}): CapabilityRecord {
  return capabilityRecord(p.id, { geohash: 'w21z7', ...overrides })
}

describe('explain', () => {
  let requester: Party
  let p: Party

  before(async () => {
    requester = await party()
    p = await party()
  })

  function input (overrides: Partial<ExplainInput> = {}): ExplainInput {
    return {
      job: announcement(requester),
      jobId: 'ab',
      now: NOW + 1000,
      topics: ['t'],
      subscribers: { t: 2 },
      onBoard: true,
      withdrawn: false,
      ...overrides
    }
  }

  const codes = (i: ExplainInput): string[] => explainJob(i).reasons.map(r => r.code)

  it('finds nothing wrong with a job that a known provider can serve', () => {
    const result = explainJob(input({ providers: [provider(p)] }))
    assert.deepEqual(result.reasons, [])
    assert.equal(result.providersMatching, 1)
  })

  it('says when nobody listens on the job topics', () => {
    assert.deepEqual(codes(input({ subscribers: { t: 0 } })), ['no-subscribers'])
  })

  it('says when the job expired, was withdrawn or its deadline passed', () => {
    const late = input({ now: NOW + 200_000 })
    assert.deepEqual(codes(late), ['expired', 'deadline-passed'])
    assert.deepEqual(codes(input({ withdrawn: true, onBoard: false })), ['withdrawn'])
  })

  it('names the first unmet requirement among known providers', () => {
    assert.deepEqual(codes(input({ providers: [] })), ['no-providers-known'])
    assert.deepEqual(codes(input({ providers: [provider(p, { geohash: 'u09t' })] })), ['no-provider-in-region'])
    assert.deepEqual(codes(input({ providers: [provider(p, { gpus: [{ model: 'x', class: 'datacenter-80g', vramMib: 81920, count: 1 }] })] })), ['no-provider-matching-hardware'])
    assert.deepEqual(codes(input({ providers: [provider(p, { gpus: [{ model: 'x', class: 'consumer-24g', vramMib: 8192, count: 1 }] })] })), ['no-provider-matching-hardware'])
    assert.deepEqual(codes(input({ providers: [provider(p, { price: { perUnit: 1, currency: 'EUR', unit: 'gpu-second' } })] })), ['no-provider-in-currency'])
    assert.deepEqual(codes(input({ providers: [provider(p, { price: { perUnit: 25, currency: 'USDC', unit: 'gpu-second' } }), provider(p, { price: { perUnit: 30, currency: 'USDC', unit: 'gpu-second' } })] })), ['price-ceiling-below-all-prices'])
  })

  it('checks sensors for capture jobs', () => {
    const capture = announcement(requester, { kind: JobKind.CAPTURE, requirements: { gpuModel: '', gpuClass: '', minVramMib: 0, gpuCount: 0, sensors: ['camera'], region: 'w2', maxRttMs: 0 } })
    assert.deepEqual(providerMismatches(capture, provider(p, { gpus: [], sensors: ['camera', 'gps'] })), [])
    assert.deepEqual(codes(input({ job: capture, providers: [provider(p, { gpus: [], sensors: ['lidar'] })] })), ['no-provider-matching-sensors'])
  })

  it('says when every quote is above the ceiling, and when the budget cannot pay one unit', () => {
    const quote = (perUnit: number): Quote => ({
      version: 1, jobId: new Uint8Array(16), requester: requester.id, provider: p.id, price: { perUnit, currency: 'USDC', unit: 'gpu-second' },
      estUnits: 1, etaMs: 1, freeSlots: 1, createdMs: NOW, expiresMs: NOW + 1, nonce: new Uint8Array(16)
    })
    assert.deepEqual(codes(input({ quotes: [quote(21), quote(40)] })), ['price-ceiling-below-all-quotes'])
    assert.deepEqual(codes(input({ quotes: [quote(21), quote(19)] })), [])
    assert.deepEqual(codes(input({ job: announcement(requester, { budget: 5 }) })), ['budget-below-one-unit'])
  })
})
