import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { createShardedSimulation, runScenario } from '../src/index.js'
import { assertWarmPing, quietWorld, writeEdges } from './fixtures/four-cities.js'
import type { EdgeFile } from './fixtures/four-cities.js'
import type { ShardedSimulation } from '../src/index.js'

describe('sharded simulation (2 worker threads)', function () {
  this.timeout(120_000)
  let sim: ShardedSimulation | undefined
  let edgeFile: EdgeFile | undefined

  afterEach(async () => {
    await sim?.stop()
    sim = undefined
    await edgeFile?.remove()
    edgeFile = undefined
  })

  it('connects, pings and looks up across shards, cuts cross-shard links and survives a crash', async () => {
    edgeFile = await writeEdges('shoal-sim-shard-')
    const { path } = edgeFile
    const peers = 16
    // site i % 4: Paris, Berlin, New York, Tokyo (the order of the edge list)
    const placement = Array.from({ length: peers }, (_, i) => i % 4)
    const regionOfSite = ['EU', 'EU', 'NA', 'AS']

    sim = await createShardedSimulation({
      peers,
      shards: 2,
      latency: { model: 'measured', path },
      placement,
      regions: placement.map(s => regionOfSite[s]),
      links: { loss: 0, jitter: { floorMs: 0, fraction: 0 } },
      seed: 11,
      connect: { bootstrap: 3, degree: 3 },
      dhtStartDelayMs: 600_000
    })

    assert.equal(sim.shards, 2)
    assert.equal(sim.running().length, peers)
    assert.deepEqual([...new Set(sim.peers.map(p => p.shard))], [0, 1])
    const wired = sim.events.ofType('wired')[0]
    assert.equal(wired.failed, 0)
    const dials = sim.events.ofType('dial')
    assert.ok(dials.some(d => d.ok === true && sim?.peers[d.peer as number].shard !== sim?.peers[d.remote as number].shard), 'some dials crossed shards')
    // events of both shards, on one clock
    assert.deepEqual(new Set(sim.events.ofType('peer:started').map(e => e.shard)), new Set([0, 1]))
    const ts = sim.events.events.map(e => e.t)
    assert.deepEqual(ts, [...ts].sort((a, b) => a - b))

    // pairs in different shards and at different sites: pings cross the gateway's simulated links
    const pairs = sim.peers.filter(p => p.shard === 0).flatMap(a => sim?.peers.filter(b => b.shard === 1 && b.siteIndex !== a.siteIndex).map(b => [a.index, b.index] as const) ?? [])
    const bySites = new Map<string, readonly [number, number]>()
    for (const [a, b] of pairs) bySites.set(`${sim.peers[a].siteIndex}-${sim.peers[b].siteIndex}`, [a, b])
    assert.ok(bySites.size >= 3)
    for (const [a, b] of bySites.values()) {
      await assertWarmPing(sim, a, b)
    }

    // a kad-dht lookup from a shard-0 peer for a shard-1 peer
    const lookup = await sim.lookup(sim.peers.find(p => p.shard === 0 && !p.bootstrap)?.index ?? 0, peers - 1)
    assert.equal(lookup.error, undefined)
    assert.equal(lookup.found, true)

    // a partition cuts cross-shard links: an EU peer in shard 0 cannot reach an AS peer in shard 1
    const eu = sim.peers.find(p => p.shard === 0 && p.region === 'EU')
    const as = sim.peers.find(p => p.shard === 1 && p.region === 'AS')
    assert.ok(eu != null && as != null)
    sim.partition(['EU'], ['AS'])
    const cut = await sim.ping(eu.index, as.index, { timeoutMs: 2000 })
    assert.notEqual(cut.error, undefined, 'ping across the partition failed')
    sim.heal()
    const healed = await sim.ping(eu.index, as.index)
    assert.equal(healed.error, undefined)

    // a crash in shard 1 is reported; shard 0 and the rest of shard 1 run on
    const victim = sim.peers.find(p => p.shard === 1 && !p.bootstrap)
    assert.ok(victim != null)
    await sim.crash(victim.index)
    assert.equal(victim.state, 'crashed')
    const crashed = sim.events.ofType('peer:crashed')
    assert.equal(crashed.length, 1)
    assert.equal(crashed[0].peer, victim.index)
    assert.equal(crashed[0].shard, 1)
    assert.equal(sim.running().length, peers - 1)
    const other = sim.peers.find(p => p.shard === 1 && p.state === 'running' && p.siteIndex !== eu.siteIndex)
    assert.ok(other != null)
    const after = await sim.ping(eu.index, other.index)
    assert.equal(after.error, undefined)
    const dead = await sim.ping(eu.index, victim.index, { timeoutMs: 2000 })
    assert.notEqual(dead.error, undefined)
  })

  it('runs shards joined by TCP gateways on 127.0.0.1, pings crossing them', async () => {
    edgeFile = await writeEdges('shoal-sim-shard-')
    const { path } = edgeFile
    const peers = 8
    sim = await createShardedSimulation({ ...quietWorld(path, peers), shards: 2, gateway: 'tcp' })

    assert.equal(sim.running().length, peers)
    assert.equal(sim.events.ofType('wired')[0].failed, 0)
    // peer 1 (Berlin) in shard 0, peer 7 (Tokyo) in shard 1
    assert.notEqual(sim.peers[1].shard, sim.peers[7].shard)
    await assertWarmPing(sim, 1, 7)
    const stats = await sim.stats()
    assert.ok(stats.every(s => s.gatewayFramesSent > 0 && s.gatewayInvalidFrames === 0))
  })

  it('builds services in the workers from a module, and reports peers that fail to start', async () => {
    edgeFile = await writeEdges('shoal-sim-shard-')
    const { path } = edgeFile
    const roles = ['ok', 'ok', 'ok', 'bad', 'ok', 'ok', 'bad', 'ok']

    sim = await createShardedSimulation({
      peers: roles.length,
      shards: 2,
      latency: { model: 'measured', path },
      roles,
      seed: 3,
      connect: false,
      dhtStartDelayMs: 600_000,
      services: { module: fileURLToPath(new URL('./fixtures/shard-services.js', import.meta.url)), options: { failRole: 'bad' } }
    })

    assert.deepEqual(sim.peers.filter(p => p.state === 'failed').map(p => p.index), [3, 6])
    assert.deepEqual(sim.events.ofType('peer:failed').map(e => e.peer).sort(), [3, 6])
    assert.equal(sim.running().length, 6)
  })

  it('refuses scenario hooks in a sharded run (workers cannot receive functions)', async () => {
    const scenario = { name: 'hooks', durationS: 1, latency: { model: 'geographic' as const }, regions: { EU: { peers: 4 } } }
    await assert.rejects(runScenario(scenario, { shards: 2, hooks: { services: () => ({}) } }), { name: 'ScenarioError' })
  })
})
