/**
 * The shard side of a sharded simulation: builds the simulation exactly as
 * every other shard does (same seed, same placement, keys and roles), runs
 * the peers this shard owns, and connects its network to the other shards'
 * through a gateway (MessagePorts, or TCP sockets). It talks to the
 * coordinator over a {@link ControlLink}: a worker thread's port, a forked
 * process's IPC channel or a TCP connection (`shoal-sim shard --join`).
 */

import { once } from 'node:events'
import { createServer, connect } from 'node:net'
import { isAbsolute } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Simulation, shardOf } from '../harness/simulation.js'
import { latencyModelOf } from '../scenario/latency-model.js'
import { MarketRuntime } from '../market/market.js'
import type { MarketServices } from '../market/market.js'
import { MessagePortChannel, SocketChannel } from './channel.js'
import { SocketLink, parseHostPort } from './control.js'
import { InvalidControlFrameError } from './errors.js'
import { SimGateway } from './gateway.js'
import { DEFAULT_CONTROL_PORT } from './constants.js'
import { absoluteNow } from './protocol.js'
import { ShardBarrier, justBefore, minCrossDelayMs } from './barrier.js'
import { PERFORMANCE_ORIGIN_MS, VirtualClock } from '../time/virtual-clock.js'
import { seedRandomness } from '../time/seeded-random.js'
import { describeError, errorCodeOrMessage, errorParts } from '../error-text.js'
import type { ControlLink } from './control.js'
import type { GatewayAddress, PeerStatus, ShardHandlers, ShardInit, ShardWorkerData, ToShard, FromShard } from './protocol.js'
import type { PeerSpec } from '../harness/peer.js'
import type { ServiceFactoryMap } from 'libp2p'
import type { Socket } from 'node:net'

/** Version of the control protocol a remote shard announces when it joins. */
export const CONTROL_PROTOCOL_VERSION = 1

/** Where a shard's TCP gateway listens. */
export interface ShardBindOptions {
  /** address to listen on @default '127.0.0.1' */
  host?: string
  /** @default 0 (any free port) */
  port?: number
  /**
   * the host other shards dial when `host` is a wildcard (`0.0.0.0`, `::`)
   * @default the coordinator's view of this shard's address
   */
  advertise?: string
  /** progress lines (a remote shard's CLI prints them) */
  log?(line: string): void
}

type Link = ControlLink<ToShard, FromShard>

const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]'])

/** Joins the TCP mesh: listens, dials every lower shard, accepts every higher one. */
async function tcpMesh (gateway: SimGateway, shard: number, shards: number, bind: ShardBindOptions, post: (msg: FromShard) => void, mesh: Promise<GatewayAddress[]>): Promise<void> {
  const server = createServer()
  const host = bind.host ?? '127.0.0.1'
  server.listen(bind.port ?? 0, host)
  await once(server, 'listening')
  const expected = shards - 1 - shard
  const accepted = new Promise<void>((resolve) => {
    let count = 0
    if (expected === 0) resolve()
    server.on('connection', (socket: Socket) => {
      socket.on('error', () => {})
      // the dialer's first two bytes name its shard; frames follow
      const readHello = (): void => {
        const hello = socket.read(2) as Buffer | null
        if (hello == null) {
          socket.once('readable', readHello)
          return
        }
        const from = hello.readUInt16BE(0)
        if (from <= shard || from >= shards) {
          // not a shard of this run that should dial us: a stray connection
          socket.destroy()
          return
        }
        gateway.addChannel(from, new SocketChannel(socket))
        // a stream that had a 'readable' listener does not flow by itself once 'data' is listened to
        socket.resume()
        if (++count === expected) resolve()
      }
      readHello()
    })
  })
  const port = (server.address() as { port: number }).port
  const advertised = WILDCARDS.has(host) ? bind.advertise : host
  bind.log?.(`shard ${shard} of ${shards}: gateway listens on ${host}:${port}${advertised !== host ? ` (other shards dial ${advertised ?? 'the address the coordinator sees'}:${port})` : ''}`)
  post({ op: 'listening', host: advertised, port })
  const addresses = await mesh

  for (let peer = 0; peer < shard; peer++) {
    const socket = connect(addresses[peer].port, addresses[peer].host)
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

/**
 * Runs one shard over `link`. `data` is given by a worker thread (its
 * `workerData`); a child process or remote shard receives it as the first
 * `init` message. Never throws: a failure to build is sent as `fatal`.
 * Resolves when the shard is built (or failed to be).
 */
export async function runShard (link: Link, data?: ShardWorkerData, bind: ShardBindOptions = {}): Promise<void> {
  const post = (msg: FromShard): void => { link.send(msg) }
  let resolveInit!: (data: ShardInit) => void
  const init = new Promise<ShardInit>(resolve => { resolveInit = resolve })
  let resolveMesh!: (addresses: GatewayAddress[]) => void
  const mesh = new Promise<GatewayAddress[]>(resolve => { resolveMesh = resolve })
  let resolveMethods!: (methods: ShardHandlers) => void
  const methodsReady = new Promise<ShardHandlers>(resolve => { resolveMethods = resolve })
  let resolveBarrier!: (barrier: ShardBarrier) => void
  const barrierReady = new Promise<ShardBarrier>(resolve => { resolveBarrier = resolve })

  // attached at once: calls that arrive while the shard is still being built wait for it
  link.onMessage((msg: ToShard) => {
    if (msg?.op === 'init') {
      resolveInit(msg.data)
    } else if (msg?.op === 'mesh') {
      resolveMesh(msg.addresses)
    } else if (msg?.op === 'call' && msg.method === 'clock') {
      // answered at once: the coordinator estimates this shard's clock offset from it
      post({ op: 'result', id: msg.id, value: absoluteNow() })
    } else if (msg?.op === 'run') {
      // virtual time: rounds (with the coordinator's calls in them) start once the shard is built
      void barrierReady.then(barrier => { barrier.run(msg) })
    } else if (msg?.op === 'call') {
      void methodsReady.then(methods => { answerCall(methods, msg, post) })
    }
  })

  try {
    const shardInit = data ?? await init
    let clock: VirtualClock | undefined

    if (shardInit.time != null) {
      // virtual time: this shard's own clock and randomness, frozen at zero until the first round
      seedRandomness(shardInit.time.seed)
      clock = new VirtualClock()
      clock.install()
      clock.setHorizon(justBefore(PERFORMANCE_ORIGIN_MS), () => {})
    }

    await build(shardInit, data?.ports ?? [], bind, post, mesh, resolveMethods, clock, resolveBarrier)
  } catch (err) {
    post({ op: 'fatal', ...errorParts(err) })
  }
}

/**
 * Runs a call of the coordinator and posts its answer. A method the shard
 * does not have, or arguments that are not a list, answer with an
 * {@link InvalidControlFrameError}: never an exception into the shard's loop.
 */
function answerCall (methods: ShardHandlers, call: { id: number, method: string, args: unknown }, post: (msg: FromShard) => void): void {
  const method = Object.hasOwn(methods, call.method) ? (methods as Record<string, unknown>)[call.method] : undefined
  Promise.resolve()
    .then(async () => {
      if (typeof method !== 'function' || !Array.isArray(call.args)) {
        throw new InvalidControlFrameError(`no shard method ${JSON.stringify(call.method).slice(0, 40)} taking a list of arguments`)
      }
      return (method as (...args: unknown[]) => Promise<unknown>)(...call.args)
    })
    .then(value => { post({ op: 'result', id: call.id, value }) }, err => { post({ op: 'error', id: call.id, ...errorParts(err) }) })
}

async function build (data: ShardInit, ports: ShardWorkerData['ports'], bind: ShardBindOptions, post: (msg: FromShard) => void, mesh: Promise<GatewayAddress[]>, resolveMethods: (m: ShardHandlers) => void, clock: VirtualClock | undefined, resolveBarrier: (barrier: ShardBarrier) => void): Promise<void> {
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

  // the market's Shoal services go beside the module's (which win on a clash)
  const market = plan.market == null ? undefined : new MarketRuntime(plan.market)
  if (market != null) {
    const own = services
    services = (peer) => ({ ...market.services(peer), ...own?.(peer) }) as unknown as ServiceFactoryMap<Record<string, unknown>>
  }

  const { latency: _l, baseDir: _b, services: _s, market: _m, ...rest } = plan
  const sim = new Simulation({
    ...rest,
    latency: model,
    services,
    shard: { index: shard, count: shards },
    onProgress: (progress) => { post({ op: 'progress', progress }) }
  })
  market?.attach(sim as unknown as Simulation<MarketServices>)
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
    await tcpMesh(gateway, shard, shards, bind, post, mesh)
  } else {
    for (const { peer, port: p } of ports) {
      gateway.addChannel(peer, new MessagePortChannel(p))
    }
  }

  sim.events.addEventListener('event', (evt) => {
    // virtual time: every shard's clock has the same origin, performance.now() is comparable
    post({ op: 'event', abs: clock != null ? performance.now() : absoluteNow(), event: { ...evt.detail, shard } })
  })

  // a peer's failure must not take the shard (and every peer in it) down
  const onError = (err: unknown): void => {
    sim.events.record('error', { where: 'process', error: describeError(err) })
  }
  process.on('uncaughtException', onError)
  process.on('unhandledRejection', onError)

  const status = (index: number): PeerStatus => {
    const p = sim.peers[index]
    return { index, state: p.state, peerId: p.peerId?.toString(), error: p.error }
  }

  const methods: ShardHandlers = {
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
      gatewayInvalidFrames: gateway.stats.invalidFrames,
      rssBytes: process.memoryUsage().rss,
      heapBytes: process.memoryUsage().heapUsed
    }),
    stop: async () => {
      await sim.stop()
      gateway.close()
    },
    clock: async () => absoluteNow(),
    marketOpen: async () => requireMarket(market).open(),
    marketSubmit: async (job) => { await requireMarket(market).submit(job) },
    marketAdversary: async (behaviour, peers, options) => requireMarket(market).adversary(behaviour, peers, options)
  }
  resolveMethods(methods)

  if (clock == null) {
    post({ op: 'ready' })
    return
  }

  // frames carry their delivery time from the start: one from a quicker shard may arrive before this shard's first round
  gateway.useVirtualTime(0)
  resolveBarrier(new ShardBarrier(clock, gateway, post, (call) => { answerCall(methods, call, post) }))
  const own = sim.peers.filter(p => sim.owns(p.index)).map(p => String(p.siteIndex))
  const others = sim.peers.filter(p => !sim.owns(p.index)).map(p => String(p.siteIndex))
  post({ op: 'ready', minDelayMs: minCrossDelayMs(sim.network, own, others) })
}

function requireMarket (market: MarketRuntime | undefined): MarketRuntime {
  if (market == null) throw new Error('this run has no market')
  return market
}

/** Options of {@link joinCoordinator}. */
export interface JoinOptions {
  /** the coordinator's control address, `HOST:PORT` */
  join: string
  /** where this shard's gateway listens, `HOST[:PORT]` @default the interface that reaches the coordinator, any port */
  bind?: string
  /** keep trying to reach the coordinator this long (it may start later) @default 60000 */
  retryMs?: number
  /** progress lines (the CLI prints them on stderr) */
  log?(line: string): void
}

/**
 * Joins a `remote` coordinator as one shard (`shoal-sim shard --join`):
 * connects, receives the plan and this shard's index, builds the shard
 * and serves the coordinator until it closes the connection. Resolves when
 * the connection is gone; rejects when the coordinator cannot be reached.
 */
export async function joinCoordinator (options: JoinOptions): Promise<void> {
  const target = parseHostPort(options.join, { host: '127.0.0.1', port: DEFAULT_CONTROL_PORT })
  const log = options.log ?? (() => {})
  const deadline = Date.now() + (options.retryMs ?? 60_000)
  let socket: Socket

  for (;;) {
    socket = connect(target.port, target.host)

    try {
      await once(socket, 'connect')
      break
    } catch (err: unknown) {
      socket.destroy()
      if (Date.now() > deadline) throw new Error(`cannot reach the coordinator at ${target.host}:${target.port}: ${errorCodeOrMessage(err)}`)
      await new Promise(resolve => setTimeout(resolve, 1_000))
    }
  }

  const link = new SocketLink<ToShard, FromShard>(socket, {
    onInvalid: (err) => { log(`dropped the coordinator connection: ${err.message}`) }
  })
  const gone = new Promise<Error | undefined>(resolve => { link.onExit(resolve) })
  const bindSpec = options.bind == null ? undefined : parseHostPort(options.bind, { host: '0.0.0.0', port: 0 })
  const bind: ShardBindOptions = {
    host: bindSpec?.host ?? socket.localAddress ?? '0.0.0.0',
    port: bindSpec?.port ?? 0,
    advertise: socket.localAddress,
    log
  }
  log(`connected to the coordinator at ${target.host}:${target.port}; gateway will listen on ${bind.host}:${bind.port === 0 ? 'any port' : bind.port}`)
  link.send({ op: 'join', version: CONTROL_PROTOCOL_VERSION })
  await runShard(link, undefined, bind)
  const err = await gone
  log(err == null ? 'the coordinator closed the run' : `connection to the coordinator lost: ${err.message}`)
}
