/**
 * Where a sharded simulation's shards run: worker threads or child
 * processes this coordinator starts, or remote processes that join it over
 * TCP. Each way ends in one {@link ShardHandle} per shard.
 */

import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { MessageChannel, Worker } from 'node:worker_threads'
import { SimulationConfigError } from '../harness/errors.js'
import { ProcessLink, SocketLink, WorkerLink } from './control.js'
import { ShardError } from './errors.js'
import { ShardHandle } from './shard-handle.js'
import { describeError } from '../error-text.js'
import { real } from '../time/virtual-clock.js'
import type { CoordinatorLink } from './shard-handle.js'
import type { FromShard, GatewayAddress, ShardInit, ShardWorkerData, ToShard } from './protocol.js'
import type { Server } from 'node:net'

// a connection that has not said `join` within this long is dropped, ms
const JOIN_HELLO_TIMEOUT_MS = 10_000

/** Options of {@link spawnShards}. */
export interface SpawnShardsOptions {
  shards: number
  /** child processes instead of worker threads */
  processes: boolean
  /** shards exchange packets over TCP (else: MessagePorts between threads) */
  tcp: boolean
  /** what shard `i` runs */
  shardInit(i: number): ShardInit
}

/** Starts `shards` worker threads or child processes, each given its {@link ShardInit}. */
export function spawnShards (options: SpawnShardsOptions): ShardHandle[] {
  const { shards, processes, tcp } = options
  const ports = Array.from({ length: shards }, () => [] as ShardWorkerData['ports'])

  for (let i = 0; i < shards && !tcp; i++) {
    for (let j = i + 1; j < shards; j++) {
      const { port1, port2 } = new MessageChannel()
      ports[i].push({ peer: j, port: port1 })
      ports[j].push({ peer: i, port: port2 })
    }
  }

  const url = new URL('./worker.js', import.meta.url)

  return Array.from({ length: shards }, (_, i) => {
    let link: CoordinatorLink

    if (processes) {
      // 'advanced': the same structured clone as threads (typed arrays, Maps), not JSON
      const child = fork(fileURLToPath(url), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      link = new ProcessLink<FromShard, ToShard>(child)
      link.send({ op: 'init', data: options.shardInit(i) })
    } else {
      const data: ShardWorkerData = { ...options.shardInit(i), ports: tcp ? [] : ports[i] }

      try {
        link = new WorkerLink<FromShard, ToShard>(new Worker(url, { workerData: data, transferList: tcp ? [] : ports[i].map(p => p.port) }))
      } catch (err: unknown) {
        throw new SimulationConfigError('shards', `cannot hand the simulation to a worker (every option must be plain data): ${describeError(err)}`)
      }
    }

    return new ShardHandle(i, link)
  })
}

/** Options of {@link acceptShards}. */
export interface AcceptShardsOptions {
  /** where to listen */
  address: { host: string, port: number }
  shards: number
  timeoutMs: number
  /** what shard `i` runs */
  shardInit(i: number): ShardInit
  /** takes each shard as it joins, before it is sent its part */
  attach(handle: ShardHandle): void
  /** true once the run stopped: no shard may join any more */
  stopped(): boolean
  onListening?(address: GatewayAddress): void
  onShardJoined?(shard: number, address: string): void
}

/**
 * Listens on `server` until `shards` shards have joined (each is sent the
 * plan and its index) or `timeoutMs` passed; then closes it.
 */
export async function acceptShards (server: Server, options: AcceptShardsOptions): Promise<void> {
  const { shards, timeoutMs } = options
  let joined = 0
  server.listen(options.address.port, options.address.host)
  await once(server, 'listening')
  const bound = server.address() as { address: string, port: number }
  options.onListening?.({ host: bound.address, port: bound.port })

  try {
    await new Promise<void>((resolve, reject) => {
      // real timers: shards join in real time, whatever clock the run is on
      const timer = real.setTimeout(() => {
        reject(new ShardError(joined, `did not join within ${timeoutMs} ms (${joined} of ${shards} joined at ${bound.address}:${bound.port})`))
      }, timeoutMs)
      server.on('connection', (socket) => {
        socket.on('error', () => {})
        const link = new SocketLink<FromShard, ToShard>(socket)
        // until it says `join`, a connection is nobody: bad bytes or silence drop it
        const hello = real.setTimeout(() => { socket.destroy() }, JOIN_HELLO_TIMEOUT_MS)
        link.onExit(() => { real.clearTimeout(hello) })
        link.onMessage((msg) => {
          real.clearTimeout(hello)

          if (msg.op !== 'join' || joined >= shards || options.stopped()) {
            socket.destroy()
            return
          }

          const handle = new ShardHandle(joined++, link)
          handle.host = socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1'
          options.attach(handle)
          link.send({ op: 'init', data: options.shardInit(handle.index) })
          options.onShardJoined?.(handle.index, `${handle.host}:${socket.remotePort ?? '?'}`)

          if (joined === shards) {
            real.clearTimeout(timer)
            resolve()
          }
        })
      })
    })
  } finally {
    // every shard is here (or the run gives up): nobody else may join
    server.close()
  }
}
