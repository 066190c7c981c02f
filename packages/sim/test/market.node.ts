import assert from 'node:assert/strict'
import { runScenario } from '../src/index.js'
import { ofType, smallMarket, TUNING } from './fixtures/small-market.js'
import type { RunResult } from '../src/index.js'

/** Every arrival ended completed, with the reason of the first that did not. */
function assertAllCompleted (result: RunResult): void {
  const arrivals = ofType(result, 'job:arrival').map(e => e.job)
  const completed = new Set(ofType(result, 'job:completed').map(e => e.job))
  const failed = ofType(result, 'job:failed')
  assert.ok(arrivals.length > 0, 'the workload made no job')
  assert.deepEqual(failed.map(e => `${String(e.job)}: ${String(e.reason)} ${String(e.error)}`), [])
  assert.deepEqual(arrivals.filter(j => !completed.has(j)), [], 'jobs without an end')
}

describe('market: the simulator runs Shoal itself', function () {
  this.timeout(240_000)

  it('runs every job end to end in one process: published, quoted, assigned, run, receipt stored, paid, analysed', async () => {
    // defences off: with them, a provider's first job with a requester also runs on a second one (the adversarial tests')
    const result = await runScenario(smallMarket({}, { defences: 'off' }), { tuning: TUNING })
    assertAllCompleted(result)
    const jobs = ofType(result, 'job:arrival').length
    assert.equal(ofType(result, 'job:published').length, jobs)
    assert.equal(ofType(result, 'job:assigned').length, jobs)
    assert.ok(ofType(result, 'job:quoted').length >= jobs, 'every job got a quote from the board')
    const receipts = ofType(result, 'receipt')
    assert.equal(receipts.length, jobs)
    assert.ok(receipts.every(r => r.stored === true), 'receipts are in the requesters\' stores')
    assert.ok(ofType(result, 'payment').length > 0, 'providers accepted vouchers')
    // every job ran on a GPU provider, and its executor ran once per completed job
    const gpus = new Set(result.peers.filter(p => p.role === 'gpu').map(p => p.index))
    assert.ok(ofType(result, 'job:completed').every(e => gpus.has(Number(e.provider))))
    assert.equal(ofType(result, 'work:end').length, jobs)

    const market = result.market
    assert.ok(market != null)
    assert.equal(market.jobs, jobs)
    assert.equal(market.job_success_ratio, 1)
    assert.ok(market.e2e_stretch_p50 != null && market.e2e_stretch_p50 >= 1, `stretch ${String(market.e2e_stretch_p50)}: nothing beats the oracle`)
    assert.ok(market.cloud_completion_p50_ms != null, 'the cloud baseline is computed')
  })

  it('fails jobs over when providers crash mid-job: each job that ran on a crashed provider ends on another', async () => {
    // 3 s jobs at 1.5 a second: about 4.5 run at any time, so the 3 of 5 providers that crash are busy, and the other 2 have the slots to take over
    const scenario = smallMarket({
      durationS: 8,
      workload: { jobs: { ratePerS: 1.5, from: ['requester'], kinds: ['inference'] } },
      churn: [{ atS: 3, action: 'crash', role: 'gpu', fraction: 0.6 }]
    }, { slots: 3, fixedMs: 3_000, deadlineS: 15 })
    const result = await runScenario(scenario, { tuning: TUNING })

    const crashed = new Map(ofType(result, 'peer:crashed').map(e => [Number(e.peer), e.t]))
    assert.equal(crashed.size, 3)
    // jobs whose run started on a provider that crashed before it ended
    const ended = new Set(ofType(result, 'work:end').map(e => `${String(e.peer)}/${String(e.job)}`))
    const hit = ofType(result, 'work:start').filter(e => crashed.has(Number(e.peer)) && e.t < (crashed.get(Number(e.peer)) ?? 0) && !ended.has(`${String(e.peer)}/${String(e.job)}`)).map(e => e.job)
    assert.ok(hit.length > 0, 'no job was running on a crashed provider')
    const completedOn = new Map(ofType(result, 'job:completed').map(e => [e.job, Number(e.provider)]))
    const failedOver = new Set(ofType(result, 'job:failover').map(e => e.job))
    for (const job of hit) {
      assert.ok(failedOver.has(job), `${String(job)} did not fail over`)
      assert.ok(completedOn.has(job), `${String(job)} did not complete`)
      assert.ok(!crashed.has(completedOn.get(job) ?? -1), `${String(job)} completed on a crashed provider`)
    }
    // a job that arrived while an eligible provider had a free slot completed (one that found them all busy may not: providers do not queue yet)
    const free = result.market?.rows.filter(r => r.oracle_ms != null && !r.oracle_busy) ?? []
    assert.ok(free.length > 0)
    assert.deepEqual(free.filter(r => r.outcome !== 'completed').map(r => `${r.job}: ${r.outcome} ${String(r.reason)}`), [])
  })

  it('plays silent providers: they quote and take the job, never deliver, and the job moves on', async () => {
    const scenario = smallMarket({
      durationS: 5,
      adversaries: [{ behaviour: 'silent-provider', role: 'gpu', count: 3 }]
    })
    const result = await runScenario(scenario, { tuning: TUNING })
    const silent = new Set(ofType(result, 'adversary').map(e => Number(e.peer)))
    assert.equal(silent.size, 3)
    // 3 of the 5 providers: jobs did go to them, and moved on
    assert.ok(ofType(result, 'work:start').some(e => silent.has(Number(e.peer))), 'no silent provider took a job')
    assert.ok(ofType(result, 'job:failover').some(e => silent.has(Number(e.provider))), 'no job moved on from a silent provider')
    assertAllCompleted(result)
    assert.ok(ofType(result, 'job:completed').every(e => !silent.has(Number(e.provider))), 'a silent provider delivered')
    assert.equal(ofType(result, 'adversary:unplayed').length, 0)
  })

  it('runs the same market in 2 shards: jobs submitted in the requester\'s shard complete across shards', async () => {
    const result = await runScenario(smallMarket({ durationS: 5 }), { shards: 2, tuning: TUNING })
    assertAllCompleted(result)
    const shards = new Set(ofType(result, 'job:completed').map(e => e.shard))
    assert.ok(shards.size === 2, `jobs completed in shards ${[...shards].join(', ')}`)
    const crossShard = ofType(result, 'job:completed').filter(e => {
      const half = result.peers.length / 2
      return (Number(e.peer) < half) !== (Number(e.provider) < half)
    })
    assert.ok(crossShard.length > 0, 'no job ran across shards')
    assert.equal(result.market?.job_success_ratio, 1)
  })

  it('runs libp2p only without a market section: arrivals are recorded, no Shoal event', async () => {
    const { market: _m, ...plain } = smallMarket({ durationS: 2 })
    const result = await runScenario(plain, { tuning: TUNING })
    assert.ok(ofType(result, 'job:arrival').length > 0)
    assert.equal(ofType(result, 'job:published').length, 0)
    assert.equal(result.market, undefined)
  })
})
