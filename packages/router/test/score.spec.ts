import assert from 'node:assert/strict'
import fc from 'fast-check'
import { CompletionTimePolicy, rankCandidates } from '../src/score.js'
import type { RoutingPolicy, ScoreCandidate } from '../src/score.js'

describe('score', () => {
  const policy = new CompletionTimePolicy()

  it('explains a choice in one line', () => {
    const { choices } = rankCandidates([{ id: 'B', predictedRtt: 41, freeSlots: 2, reputation: 0.9 }], { computeTime: 1000 })

    assert.equal(choices.length, 1)
    assert.match(choices[0].explain, /^B: 41 ms predicted, .*2 free slots, 0\.9 reputation/)
    assert.ok(choices[0].reasons.includes('2 free slots'))
  })

  it('prefers a near idle provider to a far one, and a measured RTT over a prediction', () => {
    const { choices } = rankCandidates([
      { id: 'far', rtt: 250, freeSlots: 1, reputation: 0.9 },
      { id: 'near', rtt: 20, freeSlots: 1, reputation: 0.9 },
      { id: 'near-but-measured-far', rtt: 300, predictedRtt: 10, freeSlots: 1, reputation: 0.9 }
    ], { computeTime: 100 })

    assert.deepEqual(choices.map(c => c.candidate.id), ['near', 'far', 'near-but-measured-far'])
    assert.equal(choices[0].breakdown.rttSource, 'measured')
  })

  it('adds round trips and transfer at the link bandwidth', () => {
    const { choices } = rankCandidates([{ id: 'a', rtt: 50, bandwidth: 1_000_000, freeSlots: 1, reputation: 1 }], { roundTrips: 3, transferBytes: 500_000 })

    assert.equal(choices[0].breakdown.latency, 150)
    assert.equal(choices[0].breakdown.transfer, 500)
    assert.equal(choices[0].score, 650)
  })

  it('a busy near provider loses to an idle farther one when compute dominates', () => {
    const { choices } = rankCandidates([
      { id: 'busy', rtt: 10, freeSlots: 0, concurrency: 1, queueLength: 3, reputation: 1 },
      { id: 'idle', rtt: 120, freeSlots: 4, reputation: 1 }
    ], { computeTime: 2000 })

    assert.equal(choices[0].candidate.id, 'idle')
    assert.ok(choices[1].breakdown.queue > 0)
    assert.match(choices[1].explain, /no free slot, 3 queued/)
  })

  it('penalises loss with the expected retransmission delay and a lower throughput', () => {
    const clean = policy.evaluate({ id: 'a', rtt: 100, loss: 0, freeSlots: 1 }, { transferBytes: 10_000_000 })
    const lossy = policy.evaluate({ id: 'a', rtt: 100, loss: 0.05, freeSlots: 1 }, { transferBytes: 10_000_000 })

    assert.ok(clean.accepted && lossy.accepted)
    assert.equal(clean.breakdown.lossPenalty, 0)
    assert.ok(lossy.breakdown.lossPenalty > 0)
    assert.ok(lossy.breakdown.transfer > clean.breakdown.transfer)
    assert.ok(lossy.score > clean.score)
  })

  it('penalises low reputation and refuses below the minimum', () => {
    const good = policy.evaluate({ id: 'a', rtt: 100, reputation: 1 }, {})
    const poor = policy.evaluate({ id: 'a', rtt: 100, reputation: 0.2 }, {})
    const refused = policy.evaluate({ id: 'a', rtt: 100, reputation: 0.2 }, { minReputation: 0.5 })

    assert.ok(good.accepted && poor.accepted)
    assert.ok(poor.score > good.score)
    assert.equal(refused.accepted, false)
  })

  it('filters by price ceiling, RTT bound and extreme loss, with reasons', () => {
    const { choices, rejected } = rankCandidates([
      { id: 'cheap', rtt: 10, price: 5 },
      { id: 'dear', rtt: 10, price: 50 },
      { id: 'remote', rtt: 400, price: 1 },
      { id: 'lossy', rtt: 10, price: 1, loss: 0.9 }
    ], { priceCeiling: 10, maxRtt: 200 })

    assert.deepEqual(choices.map(c => c.candidate.id), ['cheap'])
    assert.deepEqual(rejected.map(r => r.candidate.id), ['dear', 'remote', 'lossy'])
    assert.match(rejected[0].explain, /dear: refused, price 50 above ceiling 10/)
    assert.match(rejected[1].reason, /above bound/)
    assert.match(rejected[2].reason, /90% loss/)
  })

  it('assumes a pessimistic RTT when nothing is known, and says so', () => {
    const { choices } = rankCandidates([{ id: 'x' }, { id: 'y', predictedRtt: 80 }])

    assert.equal(choices[0].candidate.id, 'y')
    assert.equal(choices[1].breakdown.rttSource, 'assumed')
    assert.match(choices[1].explain, /250 ms assumed, load unknown/)
  })

  it('accepts a pluggable policy', () => {
    const cheapest: RoutingPolicy = {
      name: 'cheapest',
      evaluate: (c) => c.price == null
        ? { accepted: false, reason: 'no price' }
        : { accepted: true, score: c.price, breakdown: { rtt: 0, rttSource: 'assumed', latency: 0, transfer: 0, queue: 0, compute: 0, lossPenalty: 0, reputationFactor: 1, total: c.price }, reasons: [`price ${c.price}`] }
    }
    const { choices, rejected } = rankCandidates([{ id: 'a', price: 3 }, { id: 'b', price: 1 }, { id: 'c' }], {}, cheapest)

    assert.deepEqual(choices.map(c => c.candidate.id), ['b', 'a'])
    assert.equal(rejected[0].reason, 'no price')
  })

  it('never yields a non-finite or negative score, and sorts best first (property)', () => {
    const num = fc.oneof(fc.double(), fc.constant(undefined))
    const candidate = fc.record<ScoreCandidate>({
      id: fc.string(),
      rtt: num,
      predictedRtt: num,
      loss: num,
      bandwidth: num,
      freeSlots: num,
      concurrency: num,
      queueLength: num,
      load: num,
      computeTime: num,
      speed: num,
      price: num,
      reputation: num
    })

    fc.assert(fc.property(fc.array(candidate, { maxLength: 10 }), fc.record({ computeTime: fc.double({ min: 0, max: 1e6, noNaN: true }), transferBytes: fc.double({ min: 0, max: 1e9, noNaN: true }) }), (candidates, job) => {
      const { choices, rejected } = rankCandidates(candidates, job)
      assert.equal(choices.length + rejected.length, candidates.length)

      for (let i = 0; i < choices.length; i++) {
        assert.ok(Number.isFinite(choices[i].score) && choices[i].score >= 0)

        if (i > 0) {
          assert.ok(choices[i - 1].score <= choices[i].score)
        }
      }
    }))
  })
})
