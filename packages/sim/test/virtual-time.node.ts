import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { createHook } from 'node:async_hooks'
import { availableParallelism } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { createSimulation, eventsToCsv, runScenario, withVirtualTime } from '../src/index.js'
import type { Scenario, Simulation } from '../src/index.js'
import type { ChildProcess } from 'node:child_process'
import { fourCitiesModel as fourCities } from './fixtures/four-cities.js'

/** A small market: 12 peers on two continents, real Shoal jobs for 20 s. */
const MARKET_SCENARIO: Scenario = {
  name: 'determinism',
  seed: 5,
  durationS: 20,
  links: { loss: 0.01 },
  regions: {
    EU: { peers: 7, roles: { gpu: 2, requester: 5 } },
    NA: { peers: 5, roles: { gpu: 2, requester: 3 } }
  },
  workload: { jobs: { ratePerS: 0.5, from: ['requester'], kinds: ['inference'] }, pings: { everyS: 5, pairs: 4 } },
  churn: [{ atS: 8, action: 'crash', count: 1, role: 'gpu', rejoinAfterS: 5 }],
  market: {
    roles: { gpu: { slots: 2, compute: { inference: { fixedMs: 1500, perUnitMs: 300, jitter: 0.2 } } } },
    jobs: { inference: { units: 2, deadlineS: 15 } }
  }
}

/** Keeps every core of the machine busy in other processes until stopped. */
function loadEveryCore (): ChildProcess[] {
  const burners: ChildProcess[] = []
  for (let i = 0; i < availableParallelism(); i++) {
    burners.push(fork('-e', ['for (;;) {}'], { execArgv: [], stdio: 'ignore' }))
  }
  return burners
}

describe('virtual time with the real libp2p stack', function () {
  this.timeout(300_000)

  it('runs ten simulated minutes of noise, yamux, identify, ping, kad-dht and gossipsub without one real timer, pings at the oracle RTT', async () => {
    // every real timer is a Timeout resource in async hooks; virtual ones are not
    let realTimers = 0
    const hook = createHook({ init: (_id, type) => { if (type === 'Timeout') realTimers++ } })
    let sim: Simulation | undefined

    try {
      await withVirtualTime({}, async (clock) => {
        // mocha arms its own (real) test timeout right after the test function returns
        await Promise.resolve()
        hook.enable()
        sim = await createSimulation({
          peers: 12,
          latency: fourCities(),
          links: { loss: 0, jitter: { floorMs: 0, fraction: 0 } },
          seed: 3,
          connect: { bootstrap: 2, degree: 3 },
          dhtStartDelayMs: 5_000
        })
        const heartbeats: number[] = []
        sim.peers[0].node?.services.pubsub.addEventListener('gossipsub:heartbeat', () => { heartbeats.push(clock.now()) })

        // pings between every pair of cities: the RTT is the table's (ping reports whole ms)
        for (const [a, b] of [[0, 1], [0, 2], [1, 3], [2, 3]]) {
          const pa = sim.peers.find(p => p.siteIndex === a)
          const pb = sim.peers.find(p => p.siteIndex === b)
          if (pa == null || pb == null) continue
          await sim.ping(pa.index, pb.index)
          const r = await sim.ping(pa.index, pb.index)
          assert.equal(r.error, undefined)
          assert.ok(Math.abs((r.rttMs ?? Infinity) - fourCities().rtt(a, b)) <= 1, `ping ${a}-${b}: ${r.rttMs} ms, oracle ${fourCities().rtt(a, b)} ms`)
        }

        // the DHT bootstraps and looks up on simulated time
        const start = clock.now()
        await sleep(600_000)
        assert.equal(clock.now() - start, 600_000)
        const lookup = await sim.lookup(1, 7)
        assert.equal(lookup.found, true, lookup.error)
        // gossipsub's heartbeat is a 1 s interval: one per simulated second
        const inWindow = heartbeats.filter(t => t >= start && t < start + 600_000).length
        assert.ok(inWindow >= 599 && inWindow <= 601, `${inWindow} heartbeats in 600 simulated s`)
        hook.disable()
        await sim.stop()
      })
    } finally {
      hook.disable()
      await sim?.stop()
    }

    assert.equal(realTimers, 0, 'every timer of the stack ran on virtual time')
  })

  it('the CPU model makes one peer slow without slowing the others', async () => {
    let sim: Simulation | undefined
    try {
      await withVirtualTime({ cpu: { peers: { 1: 200 } } }, async () => {
        sim = await createSimulation({
          peers: 3,
          latency: fourCities(),
          placement: [0, 1, 1],
          links: { loss: 0, jitter: { floorMs: 0, fraction: 0 } },
          seed: 4,
          connect: false,
          dhtStartDelayMs: 600_000
        })
        // warm connections first: the handshakes cost the slow peer a lot
        await sim.ping(0, 1)
        await sim.ping(0, 2)
        const slow = await sim.ping(0, 1)
        const fast = await sim.ping(0, 2)
        assert.ok(Math.abs((fast.rttMs ?? Infinity) - 14) <= 1, `the other peer answers at the oracle RTT (${fast.rttMs} ms)`)
        assert.ok((slow.rttMs ?? 0) > 14 + 1, `the slow peer's computation shows in its RTT (${slow.rttMs} ms)`)
        await sim.stop()
      })
    } finally {
      await sim?.stop()
    }
  })

  it('the same scenario and seed write byte-identical events.csv, also while other processes keep every core busy', async () => {
    const first = eventsToCsv((await runScenario(MARKET_SCENARIO, { tuning: { dhtStartDelayMs: 2_000, dhtStartSpreadMs: 1_000 } })).events)
    const second = eventsToCsv((await runScenario(MARKET_SCENARIO, { tuning: { dhtStartDelayMs: 2_000, dhtStartSpreadMs: 1_000 } })).events)
    const burners = loadEveryCore()
    let loaded: string
    try {
      loaded = eventsToCsv((await runScenario(MARKET_SCENARIO, { tuning: { dhtStartDelayMs: 2_000, dhtStartSpreadMs: 1_000 } })).events)
    } finally {
      for (const b of burners) b.kill('SIGKILL')
    }

    // the run did something worth repeating: jobs completed, pings measured, a crash happened
    assert.match(first, /job:completed/)
    assert.match(first, /\nping|,ping,/)
    assert.match(first, /peer:crashed/)
    assert.equal(second, first, 'a second run differs')
    assert.equal(loaded, first, 'a run on a loaded machine differs')
  })

  it('the CPU model needs virtual time in one process, and says so', async () => {
    await assert.rejects(runScenario({ ...MARKET_SCENARIO, cpu: { factor: 1 } }, { time: 'wall' }), { name: 'ScenarioError', message: /virtual time/ })
    await assert.rejects(runScenario({ ...MARKET_SCENARIO, cpu: { roles: { gpu: 4 } } }, { shards: 2 }), { name: 'ScenarioError', message: /one shard/ })
  })

  it('a different seed gives a different run', async () => {
    const a = eventsToCsv((await runScenario({ ...MARKET_SCENARIO, durationS: 10 }, { tuning: { dhtStartDelayMs: 2_000, dhtStartSpreadMs: 1_000 } })).events)
    const b = eventsToCsv((await runScenario({ ...MARKET_SCENARIO, durationS: 10, seed: 6 }, { tuning: { dhtStartDelayMs: 2_000, dhtStartSpreadMs: 1_000 } })).events)
    assert.notEqual(a, b)
  })
})
