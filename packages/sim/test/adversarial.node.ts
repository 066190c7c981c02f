import assert from 'node:assert/strict'
import { runScenario } from '../src/index.js'
import { ofType, smallMarket, TUNING } from './fixtures/small-market.js'
import type { Scenario } from '../src/index.js'

/** The small market with two wrong-result providers and a silent one, defences on alternate peers. */
const SCENARIO: Scenario = smallMarket({
  name: 'small-adversarial',
  adversaries: [
    { behaviour: 'wrong-result', role: 'gpu', count: 2 },
    { behaviour: 'silent-provider', role: 'gpu', count: 1 }
  ]
}, { deadlineS: 20, defences: 'alternate' })

describe('market: adversaries', function () {
  this.timeout(240_000)

  it('plays wrong-result and silent-provider peers and records the adversarial figures per defence group', async () => {
    const result = await runScenario(SCENARIO, { tuning: TUNING })
    const behaviourOf = new Map(ofType(result, 'adversary').map(e => [Number(e.peer), String(e.behaviour)]))
    assert.equal([...behaviourOf.values()].filter(b => b === 'wrong-result').length, 2)
    assert.equal([...behaviourOf.values()].filter(b => b === 'silent-provider').length, 1)
    assert.deepEqual(ofType(result, 'adversary:unplayed'), [])

    // the requester sees a wrong output exactly when a wrong-result provider served the job
    const completed = ofType(result, 'job:completed')
    assert.ok(completed.length > 0, 'some jobs completed')
    for (const e of completed) {
      assert.equal(e.wrong, behaviourOf.get(Number(e.provider)) === 'wrong-result', `job ${String(e.job)} from provider ${String(e.provider)}`)
    }
    // a silent provider never ends a run
    const silent = [...behaviourOf].filter(([, b]) => b === 'silent-provider').map(([i]) => i)
    assert.ok(ofType(result, 'work:end').every(e => !silent.includes(Number(e.peer))))
    // job events name the requester's group: even indices are defended
    assert.ok(ofType(result, 'job:published').every(e => e.defended === (Number(e.peer) % 2 === 0)))

    const adversarial = result.market?.adversarial
    assert.ok(adversarial != null)
    assert.deepEqual(adversarial.per_attack.map(r => [r.behaviour, r.peers]), [['silent-provider', 1], ['wrong-result', 2]])
    const { defended, undefended } = adversarial.per_group
    assert.equal(defended.honest_jobs + undefended.honest_jobs, ofType(result, 'job:arrival').length, 'every requester is honest')
    assert.equal(defended.honest_completed + undefended.honest_completed, completed.length)
    const wrong = completed.filter(e => e.wrong === true).length
    const accepted = (defended.wrong_results_accepted_ratio ?? 0) * defended.honest_completed + (undefended.wrong_results_accepted_ratio ?? 0) * undefended.honest_completed
    assert.equal(Math.round(accepted), wrong)
    const wrongRow = adversarial.per_attack.find(r => r.behaviour === 'wrong-result')
    assert.equal((wrongRow?.per_group.defended.wrong_accepted ?? 0) + (wrongRow?.per_group.undefended.wrong_accepted ?? 0), wrong)
  })
})
