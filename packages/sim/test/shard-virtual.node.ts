import assert from 'node:assert/strict'
import { VirtualTimeStallError, createShardedSimulation, eventsToCsv, runScenario, withVirtualTime } from '../src/index.js'
import { quietWorld, writeEdges } from './fixtures/four-cities.js'
import type { EdgeFile } from './fixtures/four-cities.js'
import type { RunResult, Scenario } from '../src/index.js'

// real time, for waits on the clock's stall watch (the tests install virtual time)
const realSetTimeout = globalThis.setTimeout

// 16 peers in two regions, pings across them: small enough to run four times
const SCENARIO: Scenario = {
  name: 'sharded-virtual-time',
  seed: 7,
  durationS: 4,
  latency: { model: 'geographic', minPopulation: 1_000_000, lastMileMs: 2 },
  links: { loss: 0 },
  regions: { EU: { peers: 8 }, NA: { peers: 8 } },
  connect: { bootstrap: 2, degree: 3 },
  workload: { pings: { everyS: 1, pairs: 4 } }
}

function assertSane (result: RunResult): void {
  assert.equal(result.timing.mode, 'virtual')
  const ts = result.events.map(e => e.t)
  assert.deepEqual(ts, [...ts].sort((a, b) => a - b), 'events in time order')
  assert.deepEqual(new Set(result.events.filter(e => e.type === 'peer:started').map(e => e.shard)), new Set([0, 1]))
  const pings = result.events.filter(e => e.type === 'ping')
  assert.ok(pings.length > 0, 'pings ran')
  assert.ok(pings.every(p => p.error == null), 'every ping answered')
}

describe('sharded simulation on virtual time', function () {
  this.timeout(240_000)

  it('repeats byte for byte: the same scenario and seed in 2 shards, twice in worker threads and twice in child processes', async function () {
    // four runs, each given what one run had before
    this.timeout(4 * 240_000)
    const runs = []
    for (const shardHost of ['thread', 'thread', 'process', 'process'] as const) {
      runs.push(await runScenario(SCENARIO, { shards: 2, sharding: { shardHost } }))
    }
    const [first, ...others] = runs
    assertSane(first)
    for (const [i, other] of others.entries()) {
      assert.equal(eventsToCsv(other.events), eventsToCsv(first.events), `run ${i + 2} (${i === 0 ? 'thread' : 'process'}) wrote another log`)
      assert.equal(other.timing.total_s, first.timing.total_s)
    }
  })

  // the edge file of the four-city world, for the tests that build a sharded simulation themselves
  let edgeFile: EdgeFile | undefined

  afterEach(async () => {
    await edgeFile?.remove()
    edgeFile = undefined
  })

  describe('cross-shard ping', () => {
    it('takes the oracle RTT of the link model, in virtual time, with no packet clamped', async () => {
      edgeFile = await writeEdges('shoal-sim-shard-vt-')
      const path = edgeFile.path
      const results = await withVirtualTime({}, async () => {
        // shard 0: Paris, Paris, Paris, Berlin; shard 1: New York, New York, Tokyo, Tokyo
        const sim = await createShardedSimulation({ ...quietWorld(path, 8), placement: [0, 0, 0, 1, 2, 2, 3, 3], shards: 2 })
        try {
          assert.equal(sim.virtualTime, true)
          assert.deepEqual(sim.peers.map(p => p.shard), [0, 0, 0, 0, 1, 1, 1, 1])
          const out = []
          for (const [from, to] of [[1, 6], [3, 4], [5, 2]]) {
            await sim.ping(from, to)
            out.push({ ping: await sim.ping(from, to), oracle: sim.rtt(from, to) })
          }
          // a call the shard has no method for is answered with an error, in its round; the shard goes on
          const handle = (sim as unknown as { handles: Array<{ call(method: string): Promise<unknown> }> }).handles[1]
          await assert.rejects(handle.call('toString'), { name: 'InvalidControlFrameError' })
          assert.equal((await sim.ping(5, 2)).error, undefined)
          // Paris-New York is the shortest path across the shards: 76 ms RTT, 38 ms one way
          assert.equal(sim.roundStats?.lookaheadMs, 38)
          assert.equal(sim.roundStats?.clampedFrames, 0)
          assert.ok((sim.roundStats?.rounds ?? 0) > 0)
          return out
        } finally {
          await sim.stop()
        }
      })

      for (const { ping, oracle } of results) {
        assert.equal(ping.error, undefined)
        assert.ok(ping.rttMs != null && Math.abs(ping.rttMs - oracle) < 0.01, `RTT ${String(ping.rttMs)} ms, oracle ${oracle} ms`)
      }
    })
  })

  describe('a stalled run', () => {
    it('fails as stalled when the coordinator waits with nothing to run in any shard, then stops its shards', async () => {
      edgeFile = await writeEdges('shoal-sim-shard-stall-')
      const path = edgeFile.path
      await withVirtualTime({ stallMs: 500 }, async (clock) => {
        const stalled = new Promise<never>((_resolve, reject) => { clock.onFailure(reject) })
        // an early stall is this test's failure, reported by the assertion below, not an unhandled rejection
        stalled.catch(() => {})
        const sim = await createShardedSimulation({ ...quietWorld(path, 4), shards: 2 })
        try {
          // every peer gone, so no shard has a timer left
          for (const p of sim.peers) await sim.crash(p.index)
          // a first wait that ends (a real event at 300 ms leads to a call), so the second is a wait of its own
          await new Promise<void>(resolve => { realSetTimeout(resolve, 300) })
          assert.equal((await sim.stats()).length, 2)
          // then wait for what never comes; a real 60 s bound makes a missed stall fail here, by name
          const missed = new Promise<never>((_resolve, reject) => { realSetTimeout(() => { reject(new Error('no stall detected in 60 s')) }, 60_000).unref() })
          await assert.rejects(Promise.race([stalled, missed]), VirtualTimeStallError)
        } finally {
          await sim.stop()
        }
      })
    })
  })
})
