import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createShardedSimulation, SocketLink, InvalidControlFrameError } from '../src/index.js'
import { assertWarmPing, quietWorld, writeEdges } from './fixtures/four-cities.js'
import type { EdgeFile } from './fixtures/four-cities.js'
import type { ShardedSimulation } from '../src/index.js'
import type { ChildProcess } from 'node:child_process'
import type { Server, Socket } from 'node:net'

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url))

describe('sharded simulation across OS processes', function () {
  this.timeout(90_000)
  let sim: ShardedSimulation | undefined
  let edgeFile: EdgeFile | undefined
  let children: ChildProcess[] = []

  async function edges (): Promise<string> {
    edgeFile = await writeEdges('shoal-sim-proc-')
    return edgeFile.path
  }

  afterEach(async () => {
    await sim?.stop()
    sim = undefined
    await Promise.all(children.map(async child => {
      if (child.exitCode == null && child.signalCode == null) {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
        await once(child, 'exit')
        clearTimeout(timer)
      }
    }))
    children = []
    await edgeFile?.remove()
    edgeFile = undefined
  })

  it('runs two shards as child processes, pings across them, and survives a shard process killed with SIGKILL', async () => {
    const path = await edges()
    const peers = 8

    sim = await createShardedSimulation({
      ...quietWorld(path, peers),
      shards: 2,
      shardHost: 'process'
    })

    assert.equal(sim.shardHost, 'process')
    assert.equal(sim.running().length, peers)
    assert.equal(sim.events.ofType('wired')[0].failed, 0)
    const pids = [sim.shardPid(0), sim.shardPid(1)]
    assert.ok(pids.every(pid => pid != null && pid !== process.pid), 'each shard is its own OS process')
    assert.notEqual(pids[0], pids[1])

    // peer 1 (Berlin) in shard 0, peer 7 (Tokyo) in shard 1: the packets cross processes over TCP
    assert.notEqual(sim.peers[1].shard, sim.peers[7].shard)
    await assertWarmPing(sim, 1, 7)
    const stats = await sim.stats()
    assert.equal(stats.length, 2)
    assert.ok(stats.every(s => s.gatewayFramesSent > 0 && s.gatewayInvalidFrames === 0))
    // events of both processes on the coordinator's one timeline
    assert.deepEqual(new Set(sim.events.ofType('peer:started').map(e => e.shard)), new Set([0, 1]))
    const ts = sim.events.events.map(e => e.t)
    assert.deepEqual(ts, [...ts].sort((a, b) => a - b))

    // shard 1's process dies: its peers are reported crashed, shard 0 runs on
    const s = sim
    const failed = new Promise<void>(resolve => {
      s.events.addEventListener('event', (evt) => { if (evt.detail.type === 'shard:failed') resolve() })
    })
    process.kill(pids[1] ?? 0, 'SIGKILL')
    await failed
    const report = sim.events.ofType('shard:failed')
    assert.equal(report.length, 1)
    assert.equal(report[0].shard, 1)
    assert.match(String(report[0].error), /SIGKILL/)
    assert.ok(sim.peers.filter(p => p.shard === 1).every(p => p.state === 'crashed'))
    assert.ok(sim.peers.filter(p => p.shard === 0).every(p => p.state === 'running'))
    const lost = await sim.ping(1, 7, { timeoutMs: 2000 })
    assert.notEqual(lost.error, undefined)
    const local = sim.peers.filter(p => p.shard === 0 && p.siteIndex !== sim?.peers[1].siteIndex)[0]
    const alive = await sim.ping(1, local.index)
    assert.equal(alive.error, undefined, 'shard 0 still works')
  })

  it('runs a remote coordinator with two `shoal-sim shard --join` processes on 127.0.0.1', async () => {
    const path = await edges()
    const peers = 8
    const joined: number[] = []

    sim = await createShardedSimulation({
      ...quietWorld(path, peers),
      shards: 2,
      shardHost: 'remote',
      listen: '127.0.0.1:0',
      joinTimeoutMs: 60_000,
      onListening: ({ port }) => {
        for (let i = 0; i < 2; i++) {
          const child = spawn(process.execPath, [CLI, 'shard', '--join', `127.0.0.1:${port}`, '--bind', '127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] })
          child.stderr?.resume()
          children.push(child)
        }
      },
      onShardJoined: (shard) => { joined.push(shard) }
    })

    assert.deepEqual(joined, [0, 1])
    assert.equal(sim.running().length, peers)
    assert.equal(sim.events.ofType('wired')[0].failed, 0)
    assert.notEqual(sim.peers[1].shard, sim.peers[7].shard)
    await assertWarmPing(sim, 1, 7)
    await assertWarmPing(sim, 6, 0)

    // stopping the run ends the shard processes
    const exits = children.map(async c => once(c, 'exit'))
    await sim.stop()
    sim = undefined
    const codes = await Promise.all(exits)
    assert.deepEqual(codes.map(([code]) => code), [0, 0])
  })

  it('fails to start when the shards do not join in time', async () => {
    await assert.rejects(createShardedSimulation({
      peers: 4,
      shards: 2,
      shardHost: 'remote',
      listen: '127.0.0.1:0',
      joinTimeoutMs: 300,
      latency: { model: 'geographic' },
      dhtStartDelayMs: 600_000
    }), { name: 'ShardError' })
  })
})

describe('shard control connection (TCP)', function () {
  let server: Server | undefined
  const sockets: Socket[] = []

  afterEach(async () => {
    sockets.forEach(s => s.destroy())
    sockets.length = 0
    server?.close()
    server = undefined
  })

  async function pair (): Promise<{ link: SocketLink<unknown, unknown>, raw: Socket, invalid: Error[] }> {
    server = createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const accepted = once(server, 'connection')
    const raw = connect((server.address() as { port: number }).port, '127.0.0.1')
    await once(raw, 'connect')
    const [socket] = await accepted as [Socket]
    sockets.push(raw, socket)
    const invalid: Error[] = []
    const link = new SocketLink(socket, { onInvalid: (err) => { invalid.push(err) } })
    return { link, raw, invalid }
  }

  const badFrames: Array<[string, Buffer]> = [
    ['an absurd length prefix', Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])],
    ['bytes that do not deserialize', Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from([1, 2, 3, 4, 5])])],
    ['a value that is not a message', (() => { const b = Buffer.from([0xff, 0x0f, 0x49, 0x54]); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); return Buffer.concat([h, b]) })()]
  ]

  for (const [what, bytes] of badFrames) {
    it(`drops the connection with InvalidControlFrameError on ${what}`, async () => {
      const { link, raw, invalid } = await pair()
      const messages: unknown[] = []
      link.onMessage(msg => messages.push(msg))
      const exited = new Promise<Error | undefined>(resolve => { link.onExit(resolve) })
      raw.on('error', () => {})
      raw.write(bytes)
      const err = await exited
      assert.equal(err?.name, 'InvalidControlFrameError')
      assert.ok(err instanceof InvalidControlFrameError)
      assert.equal(invalid.length, 1)
      assert.deepEqual(messages, [])
      await once(raw, 'close')
    })
  }

  it('delivers well-formed frames split across packets', async () => {
    const { link, raw } = await pair()
    const messages: unknown[] = []
    link.onMessage(msg => messages.push(msg))
    const { encodeControlMessage } = await import('../src/index.js')
    const bytes = Buffer.concat([encodeControlMessage({ op: 'join', version: 1 }), encodeControlMessage({ op: 'result', id: 3, value: new Map([[1, 2]]) })])
    for (const b of bytes) raw.write(Buffer.from([b]))
    while (messages.length < 2) await new Promise(resolve => setTimeout(resolve, 10))
    assert.deepEqual(messages, [{ op: 'join', version: 1 }, { op: 'result', id: 3, value: new Map([[1, 2]]) }])
  })
})
