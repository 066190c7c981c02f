import assert from 'node:assert/strict'
import { runScenario } from '../src/index.js'
import { ofType, smallMarket, TUNING } from './fixtures/small-market.js'

describe('market with NAT\'d providers', function () {
  this.timeout(240_000)

  it('reaches providers behind NATs through a relay: they serve jobs, and the NAT figures are there', async () => {
    const scenario = smallMarket({
      durationS: 15,
      nat: { share: 0.5, roles: ['gpu'], holePunch: 0.5, relays: 1 }
    }, { defences: 'off' })
    const result = await runScenario(scenario, { tuning: TUNING })

    const natted = result.peers.filter(p => p.nat != null)
    assert.ok(natted.length >= 2, `${natted.length} NAT'd providers`)
    assert.ok(natted.every(p => p.role === 'gpu' && !p.bootstrap), 'only GPU providers, never a bootstrap peer, are behind NATs')
    // their relayed address appeared: they reserved on the relay
    const relayed = new Set(ofType(result, 'nat:relayed').map(e => Number(e.peer)))
    assert.ok(natted.some(p => relayed.has(p.index)), 'no NAT\'d provider got a relayed address')

    const nat = result.market?.nat
    assert.ok(nat != null, 'the NAT figures are missing')
    assert.equal(nat.nat_providers, natted.length)
    assert.ok(nat.nat_capacity_share != null && nat.nat_capacity_share > 0 && nat.nat_capacity_share < 1)
    assert.ok(nat.nat_jobs_share != null && nat.nat_jobs_share > 0, `NAT'd providers served no job: ${JSON.stringify(nat)}`)
    for (const key of ['jobs_relayed', 'jobs_direct_after_upgrade', 'relay_refused'] as const) {
      assert.ok(Number.isSafeInteger(nat[key]) && nat[key] >= 0, `${key}: ${String(nat[key])}`)
    }
    // a job that completed says which connection it ran on
    const completed = ofType(result, 'job:completed')
    assert.ok(completed.length > 0)
    assert.ok(completed.every(e => e.connection === 'direct' || e.connection === 'relayed'), 'a completed job without its connection')
  })
})
