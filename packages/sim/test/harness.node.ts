import assert from 'node:assert/strict'
import { createSimulation, Simulation, geographicLatency, runScenario, summarize } from '../src/index.js'
import type { Scenario } from '../src/index.js'
import type { Startable } from '@libp2p/interface'
import { assertWarmPing, fourCitiesModel as fourCities } from './fixtures/four-cities.js'

describe('simulation harness', function () {
  this.timeout(90_000)
  let sim: Simulation | undefined

  afterEach(async () => {
    await sim?.stop()
    sim = undefined
  })

  it('wires 20 real peers, pings take at least the oracle RTT and a crash is reported, not fatal', async () => {
    sim = await createSimulation({
      peers: 20,
      latency: fourCities(),
      links: { loss: 0, jitter: { floorMs: 0, fraction: 0 } },
      roles: { gpu: 1, requester: 3 },
      seed: 11,
      connect: { bootstrap: 3, degree: 3 },
      // the DHT stays quiet during this test so the CPU does not inflate the pings
      dhtStartDelayMs: 600_000
    })

    assert.equal(sim.running().length, 20)
    assert.equal(sim.events.ofType('peer:failed').length, 0)
    const wired = sim.events.ofType('wired')[0]
    assert.ok(wired != null)
    assert.equal(wired.failed, 0)
    assert.equal(sim.running({ role: 'gpu' }).length, 5)
    for (const p of sim.peers) {
      assert.ok((p.node?.getConnections().length ?? 0) >= 1, `peer ${p.index} has no connection`)
    }

    // pick pairs at different sites so the RTTs span the table
    const pairs: Array<[number, number]> = []
    for (const a of sim.peers) {
      for (const b of sim.peers) {
        if (a.siteIndex < b.siteIndex && !pairs.some(([x, y]) => sim?.peers[x].siteIndex === a.siteIndex && sim?.peers[y].siteIndex === b.siteIndex)) {
          pairs.push([a.index, b.index])
        }
      }
    }
    assert.ok(pairs.length >= 3)
    for (const [a, b] of pairs) {
      await assertWarmPing(sim, a, b)
    }

    const victim = sim.peers.find(p => !p.bootstrap && (p.node?.getConnections().length ?? 0) > 0)
    assert.ok(victim != null)
    const neighbours = victim.node?.getConnections().map(c => sim?.peer(c.remotePeer).index) ?? []
    await sim.crash(victim.index)
    assert.equal(victim.state, 'crashed')
    const crashed = sim.events.ofType('peer:crashed')
    assert.equal(crashed.length, 1)
    assert.equal(crashed[0].peer, victim.index)

    // its neighbours notice; everyone else keeps running
    await new Promise(resolve => setTimeout(resolve, 200))
    const noticed = sim.events.ofType('peer:disconnect').filter(e => e.remote === victim.index).map(e => e.peer)
    assert.ok(neighbours.every(n => noticed.includes(n)), `neighbours ${neighbours} vs noticed ${noticed}`)
    assert.equal(sim.running().length, 19)
    const after = await sim.ping(victim.index === 0 ? 1 : 0, victim.index)
    assert.ok(after.error != null)

    await sim.join(victim.index)
    assert.equal(victim.state, 'running')
    assert.ok((victim.node?.getConnections().length ?? 0) >= 1)
  })

  it('gives the same placement, roles and peer ids for the same seed', async () => {
    const a = new Simulation({ peers: 30, seed: 'same', roles: { gpu: 1, requester: 2 }, latency: geographicLatency() })
    const b = new Simulation({ peers: 30, seed: 'same', roles: { gpu: 1, requester: 2 }, latency: geographicLatency() })
    const c = new Simulation({ peers: 30, seed: 'other', roles: { gpu: 1, requester: 2 }, latency: geographicLatency() })
    assert.deepEqual(a.peers.map(p => [p.siteIndex, p.role]), b.peers.map(p => [p.siteIndex, p.role]))
    assert.notDeepEqual(a.peers.map(p => p.siteIndex), c.peers.map(p => p.siteIndex))
  })

  it('reports a peer whose service fails to start and runs the others', async () => {
    class Broken implements Startable {
      start (): void {
        throw new Error('broken service')
      }

      stop (): void {}
    }

    sim = await createSimulation({
      peers: 6,
      latency: fourCities(),
      seed: 2,
      dhtStartDelayMs: 600_000,
      services: (peer) => peer.index === 4 ? { broken: () => new Broken() } : {}
    })

    const failed = sim.events.ofType('peer:failed')
    assert.equal(failed.length, 1)
    assert.equal(failed[0].peer, 4)
    assert.match(String(failed[0].error), /broken service/)
    assert.equal(sim.peers[4].state, 'failed')
    assert.equal(sim.running().length, 5)
    assert.equal(sim.events.ofType('wired')[0].failed, 0)
  })

  it('runs a scenario with workload, churn and a partition', async () => {
    const scenario: Scenario = {
      name: 'tiny',
      seed: 9,
      durationS: 4,
      regions: { EU: { peers: 6, roles: { gpu: 2, requester: 4 } }, NA: { peers: 4, roles: { gpu: 2, requester: 2 } } },
      connect: { bootstrap: 2, degree: 3 },
      workload: { jobs: { ratePerS: 5, from: ['requester'] }, pings: { everyS: 1, pairs: 4 } },
      churn: [{ atS: 1, action: 'crash', role: 'gpu', region: 'NA', count: 1 }],
      partitions: [{ atS: 2, healAtS: 3, a: ['EU'], b: ['NA'] }]
    }
    const jobs: string[] = []
    const result = await runScenario(scenario, { hooks: { workload: (job) => { jobs.push(job.id) } } })
    const summary = summarize(result)
    assert.equal(summary.peers, 10)
    assert.equal(summary.churn.crashed, 1)
    assert.equal(summary.partitions, 1)
    assert.ok(summary.jobs.arrivals > 0)
    assert.equal(jobs.length, summary.jobs.arrivals)
    assert.ok(summary.pings.count > 0)
    assert.equal(result.peers.filter(p => p.state === 'crashed').length, 1)
    assert.deepEqual(Object.keys(summary.regions).sort(), ['EU', 'NA'])
  })
})
