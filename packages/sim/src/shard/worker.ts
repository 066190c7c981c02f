/**
 * Entry point of a shard worker: builds the simulation exactly as every
 * other shard does (same seed, same placement, keys and roles), runs the
 * peers this shard owns, and connects its network to the other shards'
 * through a gateway (MessagePorts, or TCP sockets on 127.0.0.1).
 */

import { once } from 'node:events'
import { createServer, connect } from 'node:net'
import { isAbsolute } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parentPort, workerData } from 'node:worker_threads'
import { Simulation, shardOf } from '../harness/simulation.js'
import { latencyModelOf } from '../scenario/run.js'
import { MessagePortChannel, SocketChannel } from './channel.js'
import { SimGateway } from './gateway.js'
import type { PeerStatus, ShardMethods, ShardWorkerData, ToShard, FromShard } from './protocol.js'
import type { PeerSpec } from '../harness/simulation.js'
import type { ServiceFactoryMap } from 'libp2p'
import type { Socket } from 'node:net'

const port = parentPort

if (port == null) {
  throw new Error('the shard worker must run in a worker thread')
}

function post (msg: FromShard): void {
  port?.postMessage(msg)
}

function describe (err: any): { name: string, message: string } {
  return { name: err?.name ?? 'Error', message: err?.message ?? String(err) }
}

type Methods = { [M in keyof ShardMethods]: (...args: Parameters<ShardMethods[M]>) => Promise<ShardMethods[M] extends (...a: any[]) => infer R ? R : never> }

const data = workerData as ShardWorkerData
let resolveMesh!: (ports: number[]) => void
const meshPorts = new Promise<number[]>(resolve => { resolveMesh = resolve })
let resolveMethods!: (methods: Methods) => void
const methodsReady = new Promise<Methods>(resolve => { resolveMethods = resolve })

// attached at once: calls that arrive while the shard is still being built wait for it
port.on('message', (msg: ToShard) => {
  if (msg?.op === 'mesh') {
    resolveMesh(msg.ports)
  } else if (msg?.op === 'call') {
    methodsReady
      .then(async methods => (methods[msg.method] as (...args: unknown[]) => Promise<unknown>)(...msg.args))
      .then(value => { post({ op: 'result', id: msg.id, value }) }, err => { post({ op: 'error', id: msg.id, ...describe(err) }) })
  }
})

/** Joins the TCP mesh: listens, dials every lower shard, accepts every higher one. */
async function tcpMesh (gateway: SimGateway, shard: number, shards: number): Promise<void> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const expected = shards - 1 - shard
  const accepted = new Promise<void>((resolve) => {
    let count = 0
    if (expected === 0) resolve()
    server.on('connection', (socket: Socket) => {
      // the dialer's first two bytes name its shard; frames follow
      const readHello = (): void => {
        const hello = socket.read(2) as Buffer | null
        if (hello == null) {
          socket.once('readable', readHello)
          return
        }
        gateway.addChannel(hello.readUInt16BE(0), new SocketChannel(socket))
        // a stream that had a 'readable' listener does not flow by itself once 'data' is listened to
        socket.resume()
        if (++count === expected) resolve()
      }
      readHello()
    })
  })
  post({ op: 'listening', port: (server.address() as { port: number }).port })
  const ports = await meshPorts

  for (let peer = 0; peer < shard; peer++) {
    const socket = connect(ports[peer], '127.0.0.1')
    await once(socket, 'connect')
    const hello = Buffer.alloc(2)
    hello.writeUInt16BE(shard)
    socket.write(hello)
    gateway.addChannel(peer, new SocketChannel(socket))
  }

  await accepted
  // no more shards will connect; open sockets stay up
  server.close()
}

async function main (): Promise<void> {
  const { plan, shard, shards } = data
  const model = await latencyModelOf(plan.latency, plan.baseDir)
  let services: ((peer: PeerSpec) => ServiceFactoryMap<Record<string, unknown>>) | undefined

  if (plan.services != null) {
    const spec = plan.services
    const url = isAbsolute(spec.module) ? pathToFileURL(spec.module).href : spec.module
    const mod = await import(url)
    const fn = mod[spec.export ?? 'services']

    if (typeof fn !== 'function') {
      throw new Error(`${spec.module} has no function export "${spec.export ?? 'services'}"`)
    }

    services = (peer) => fn(peer, spec.options)
  }

  const { latency: _l, baseDir: _b, services: _s, ...rest } = plan
  const sim = new Simulation({
    ...rest,
    latency: model,
    services,
    shard: { index: shard, count: shards },
    onProgress: (progress) => { post({ op: 'progress', progress }) }
  })
  const n = sim.peers.length
  const gateway = new SimGateway({
    network: sim.network,
    shard,
    route: (address) => {
      const m = /^\/memory\/peer-(\d+)$/.exec(address)
      const index = m == null ? -1 : Number(m[1])
      return index >= 0 && index < n ? { shard: shardOf(index, n, shards), site: String(sim.peers[index].siteIndex) } : undefined
    },
    onInvalidFrame: (err, from) => {
      sim.events.record('error', { where: `gateway from shard ${from}`, error: `${err.name}: ${err.message}` })
    }
  })

  if (data.gateway === 'tcp') {
    await tcpMesh(gateway, shard, shards)
  } else {
    for (const { peer, port: p } of data.ports) {
      gateway.addChannel(peer, new MessagePortChannel(p))
    }
  }

  sim.events.addEventListener('event', (evt) => {
    post({ op: 'event', abs: performance.timeOrigin + performance.now(), event: { ...evt.detail, shard } })
  })

  // a peer's failure must not take the shard (and every peer in it) down
  const onError = (err: unknown): void => {
    sim.events.record('error', { where: 'process', error: `${(err as any)?.name ?? 'Error'}: ${(err as any)?.message ?? String(err)}` })
  }
  process.on('uncaughtException', onError)
  process.on('unhandledRejection', onError)

  const status = (index: number): PeerStatus => {
    const p = sim.peers[index]
    return { index, state: p.state, peerId: p.peerId?.toString(), error: p.error }
  }

  resolveMethods({
    start: async () => {
      await sim.start()
      return sim.peers.filter(p => sim.owns(p.index)).map(p => status(p.index))
    },
    dial: async (dials, options) => sim.dialPlan(dials, options),
    settle: async (options) => sim.settle(options),
    ping: async (from, to, warm, timeoutMs) => sim.ping(from, to, { warm, signal: timeoutMs != null ? AbortSignal.timeout(timeoutMs) : undefined }),
    lookup: async (from, to) => sim.lookup(from, to),
    crash: async (index, reason) => {
      await sim.crash(index, reason)
      return status(index)
    },
    leave: async (index) => {
      await sim.leave(index)
      return status(index)
    },
    restart: async (index) => {
      await sim.restart(index)
      return status(index)
    },
    partition: async (a, b) => { sim.network.partition(a, b) },
    heal: async () => { sim.network.heal() },
    stats: async () => ({
      shard,
      peers: sim.peers.filter(p => sim.owns(p.index)).length,
      connections: sim.network.connectionCount,
      bytes: sim.network.totals().bytes,
      gatewayFramesSent: gateway.stats.framesSent,
      gatewayBytesSent: gateway.stats.bytesSent,
      gatewayInvalidFrames: gateway.stats.invalidFrames
    }),
    stop: async () => {
      await sim.stop()
      gateway.close()
    }
  })
  post({ op: 'ready' })
}

main().catch(err => {
  post({ op: 'fatal', ...describe(err) })
})
