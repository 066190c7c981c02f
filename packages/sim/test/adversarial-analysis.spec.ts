import assert from 'node:assert/strict'
import { validateScenario } from '../src/index.js'
import { analyseAdversaries } from '../src/market/adversarial.js'
import { resolveMarket } from '../src/market/config.js'
import type { AnalysisPeer } from '../src/market/analysis.js'
import type { SimEvent } from '../src/harness/events.js'
import type { Scenario } from '../src/index.js'

const SCENARIO: Scenario = {
  name: 'adversarial-analysis',
  durationS: 60,
  regions: { EU: { peers: 6, roles: { requester: 2, gpu: 4 } } },
  workload: { jobs: { ratePerS: 1, from: ['requester'], kinds: ['infer'] } },
  adversaries: [{ behaviour: 'wrong-result', role: 'gpu', count: 1 }, { behaviour: 'sybil', role: 'gpu', count: 1, cell: 'u0' }],
  market: { roles: { gpu: {} }, defences: 'alternate', k: 2 }
}

const market = (() => {
  const m = resolveMarket(SCENARIO)
  if (m == null) throw new Error('no market')
  return m
})()

/** Peers 0 and 1 request (0 defended, 1 not); 2, 3 honest providers near Frankfurt (geohash u0), 4 wrong-result, 5 a sybil. */
const PEERS: AnalysisPeer[] = [
  { index: 0, role: 'requester', region: 'EU', siteIndex: 0, lat: 50.1, lon: 8.7 },
  { index: 1, role: 'requester', region: 'EU', siteIndex: 0, lat: 50.1, lon: 8.7 },
  { index: 2, role: 'gpu', region: 'EU', siteIndex: 0, lat: 50.1, lon: 8.7 },
  { index: 3, role: 'gpu', region: 'EU', siteIndex: 0, lat: 49.5, lon: 8.5 },
  { index: 4, role: 'gpu', region: 'EU', siteIndex: 0, lat: 48.1, lon: 11.6 },
  { index: 5, role: 'gpu', region: 'EU', siteIndex: 0, lat: 50.1, lon: 8.7 }
]

let t = 0
function ev (type: string, fields: SimEvent extends infer E ? Omit<E, 't' | 'type'> : never): SimEvent {
  return { t: t++, type, ...fields } as SimEvent
}

describe('adversarial analysis', () => {
  it('splits the figures by defence group and gives one row per behaviour', () => {
    t = 0
    const events: SimEvent[] = [
      ev('adversary', { peer: 4, behaviour: 'wrong-result' }),
      ev('adversary', { peer: 5, behaviour: 'sybil' }),
      ev('sybil:cell', { cell: 'u0' }),
      // job-0 from the defended requester: run twice (a check), served right
      ev('job:arrival', { peer: 0, job: 'job-0' }),
      ev('job:candidates', { peer: 0, job: 'job-0', found_peers: '2,5' }),
      ev('job:assigned', { peer: 0, job: 'job-0', provider: 2 }),
      ev('work:start', { peer: 2, job: 'job-0' }),
      ev('work:start', { peer: 3, job: 'job-0' }),
      ev('job:completed', { peer: 0, job: 'job-0', provider: 2, wrong: false }),
      // job-1 from the undefended requester: served wrong by 4
      ev('job:arrival', { peer: 1, job: 'job-1' }),
      ev('job:candidates', { peer: 1, job: 'job-1', found_peers: '2,3' }),
      ev('job:assigned', { peer: 1, job: 'job-1', provider: 4 }),
      ev('work:start', { peer: 4, job: 'job-1' }),
      ev('job:completed', { peer: 1, job: 'job-1', provider: 4, wrong: true }),
      ev('offender:proven', { peer: 0, offender: 4 }),
      // after the proof, the undefended requester assigns to 4 again; job-2 fails
      ev('job:arrival', { peer: 1, job: 'job-2' }),
      ev('job:assigned', { peer: 1, job: 'job-2', provider: 4 }),
      ev('job:failed', { peer: 1, job: 'job-2' }),
      ev('spam:sent', { peer: 1, variant: 'valid' }),
      ev('spam:landed', { peer: 2 }),
      ev('spam:landed', { peer: 3 }),
      ev('spam:landed', { peer: 4 })
    ]
    const a = analyseAdversaries(events, PEERS, market)
    const { defended, undefended } = a.per_group
    assert.deepEqual([defended.honest_jobs, defended.honest_completed, defended.honest_job_success_ratio], [1, 1, 1])
    assert.deepEqual([undefended.honest_jobs, undefended.honest_completed, undefended.honest_job_success_ratio], [2, 1, 0.5])
    assert.equal(defended.wrong_results_accepted_ratio, 0)
    assert.equal(undefended.wrong_results_accepted_ratio, 1)
    assert.equal(defended.verification_cost_ratio, 2)
    assert.equal(undefended.verification_cost_ratio, 1)
    // honest providers: 2 (defended) and 3 (undefended); one spam message sent
    assert.equal(defended.spam_reaching_honest_ratio, 1)
    assert.equal(undefended.spam_reaching_honest_ratio, 1)
    assert.equal(defended.offenders, 1)
    assert.equal(defended.offender_cut_off_jobs, 0)
    assert.equal(undefended.offender_cut_off_jobs, 1)
    // the attacked cell u0 has honest providers 2 and 3: the defended search found one of them, the undefended both
    assert.equal(defended.discovery_recall_under_sybil, 0.5)
    assert.equal(undefended.discovery_recall_under_sybil, 1)
    // a sybil only found, never assigned, touched no job
    assert.deepEqual(a.per_attack.map(r => [r.behaviour, r.peers, r.per_group.defended.jobs, r.per_group.undefended.jobs, r.per_group.undefended.wrong_accepted]), [
      ['sybil', 1, 0, 0, 0],
      ['wrong-result', 1, 0, 2, 1]
    ])
  })

  it('validates market.defences and an adversary cell', () => {
    assert.throws(() => validateScenario({ ...SCENARIO, market: { defences: 'sometimes' } }), /market\.defences/)
    assert.throws(() => validateScenario({ ...SCENARIO, adversaries: [{ behaviour: 'sybil', count: 1, cell: 'u0a' }] }), /cell/)
    assert.equal(resolveMarket({ ...SCENARIO, market: {} })?.defences, 'on')
  })
})
