import assert from 'node:assert/strict'
import { JobKind } from '@shoal/records'
import { NOW, jobAnnouncement } from '@shoal/test-support'
import { defaultMeter, matchJob, priceBidPolicy } from '../src/index.js'
import { somePeer } from './helpers.js'
import type { BidContext } from '../src/index.js'

const PRICE = { perUnit: 20, currency: 'USDC', unit: 'gpu-second' }

describe('priceBidPolicy', () => {
  let context: BidContext

  before(async () => {
    context = { running: 0, concurrency: 2, queued: 0, maxQueued: 0, requester: await somePeer(), now: NOW }
  })

  const init = {
    price: PRICE,
    estUnits: 10,
    etaMs: 500,
    gpus: [{ model: 'NVIDIA GeForce RTX 4090', class: 'consumer-24g', vramMib: 24564, count: 1 }],
    geohash: 'w21z7',
    workloads: ['llama-7b']
  }

  it('bids the configured price when the job matches and a slot is free', async () => {
    const bid = await priceBidPolicy(init).bid(jobAnnouncement(), context)
    assert.deepEqual(bid, { price: PRICE, estUnits: 10, etaMs: 500 })
  })

  it('declines when every slot is taken and the queue is full', async () => {
    assert.equal(await priceBidPolicy(init).bid(jobAnnouncement(), { ...context, running: 2 }), undefined)
    assert.equal(await priceBidPolicy(init).bid(jobAnnouncement(), { ...context, running: 2, queued: 3, maxQueued: 3 }), undefined)
  })

  it('bids when every slot is taken but the queue has room', async () => {
    assert.notEqual(await priceBidPolicy(init).bid(jobAnnouncement(), { ...context, running: 2, queued: 2, maxQueued: 3 }), undefined)
  })

  it('declines a price above the ceiling, or another currency or unit', () => {
    assert.equal(matchJob(jobAnnouncement({ priceCeiling: { perUnit: 19, currency: 'USDC', unit: 'gpu-second' } }), context, init), false)
    assert.equal(matchJob(jobAnnouncement({ priceCeiling: { perUnit: 25, currency: 'EUR', unit: 'gpu-second' } }), context, init), false)
    assert.equal(matchJob(jobAnnouncement({ priceCeiling: { perUnit: 25, currency: 'USDC', unit: 'token' } }), context, init), false)
  })

  it('declines when the estimate exceeds the budget', () => {
    assert.equal(matchJob(jobAnnouncement({ budget: 199 }), context, init), false)
    assert.equal(matchJob(jobAnnouncement({ budget: 200 }), context, init), true)
  })

  it('declines a region the provider is not in', () => {
    assert.equal(matchJob(jobAnnouncement({ requirements: { ...jobAnnouncement().requirements!, region: 'u4p' } }), context, init), false)
  })

  it('declines GPU requirements no offered GPU meets', () => {
    const base = jobAnnouncement().requirements!
    assert.equal(matchJob(jobAnnouncement({ requirements: { ...base, minVramMib: 40_000 } }), context, init), false)
    assert.equal(matchJob(jobAnnouncement({ requirements: { ...base, gpuClass: 'datacenter-80g' } }), context, init), false)
    assert.equal(matchJob(jobAnnouncement({ requirements: { ...base, gpuCount: 2 } }), context, init), false)
  })

  it('declines an unknown workload, a kind not served, and a passed deadline', () => {
    assert.equal(matchJob(jobAnnouncement({ workload: 'sdxl' }), context, init), false)
    assert.equal(matchJob(jobAnnouncement(), context, { ...init, kinds: [JobKind.CAPTURE] }), false)
    assert.equal(matchJob(jobAnnouncement({ deadlineMs: context.now - 1 }), context, init), false)
  })

  it('matches anything priced right when no capabilities are configured', () => {
    assert.equal(matchJob(jobAnnouncement({ requirements: { ...jobAnnouncement().requirements!, region: '' } }), context, { price: PRICE }), true)
    // a job bound to a region needs a provider that says where it is
    assert.equal(matchJob(jobAnnouncement(), context, { price: PRICE }), false)
  })
})

describe('defaultMeter', () => {
  it('prefers the executor\'s units, else wall seconds (x GPUs for gpu-second), else one per job', () => {
    assert.equal(defaultMeter({ wallMs: 10, reported: 42.2, price: PRICE, gpus: 1 }), 43)
    assert.equal(defaultMeter({ wallMs: 2500, price: PRICE, gpus: 2 }), 5)
    assert.equal(defaultMeter({ wallMs: 1, price: PRICE, gpus: 1 }), 1)
    assert.equal(defaultMeter({ wallMs: 2500, price: { ...PRICE, unit: 'footage-second' }, gpus: 4 }), 3)
    assert.equal(defaultMeter({ wallMs: 2500, price: { ...PRICE, unit: 'job' }, gpus: 4 }), 1)
  })
})

describe('defaultMeter while a job runs', () => {
  it('accrues per-job units only at the end, time units as they pass', () => {
    assert.equal(defaultMeter({ wallMs: 5000, price: { ...PRICE, unit: 'job' }, gpus: 1, final: false }), 0)
    assert.equal(defaultMeter({ wallMs: 5000, price: { ...PRICE, unit: 'job' }, gpus: 1, final: true }), 1)
    assert.equal(defaultMeter({ wallMs: 1500, price: PRICE, gpus: 1, final: false }), 2)
  })
})
