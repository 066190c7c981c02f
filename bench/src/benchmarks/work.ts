/**
 * Benchmark `work`: two peers over TCP on loopback with an open connection
 * and a no-op executor. Per-job latency through the whole direct-mode path
 * (sign job -> quote -> assign -> result -> countersigned receipt + voucher,
 * acknowledged), jobs/s with many jobs in flight, and the overhead over one
 * libp2p ping RTT measured in the same run (the baseline).
 *
 * The provider runs in a worker thread, so each peer has its own event loop
 * as on two machines (`--same-process` puts both on one thread instead).
 *
 * This measures the work protocol's step alone (`work.run` to a peer already
 * chosen and connected), not the requester's whole flow (`submitJob` of
 * @shoal/node: publish, find, rank, run, receipt): its figure is the
 * protocol's overhead over one round trip, which search and ranking would
 * drown.
 */

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createReceiptStore } from '@shoal/receipts'
import { RECORD_VERSION, WorkReceiptType, countersign, newRandomId, openCountersigned, signRecord } from '@shoal/records'
import { functionExecutor, work } from '@shoal/work'
import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import type { EventLoopUtilization } from 'node:perf_hooks'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { describeError } from '@shoal/utils'
import { progress } from '../options.js'
import { nearestRank, round } from '../util.js'
import type { BenchOptions, BenchResult } from '../options.js'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { JobSpec, Work } from '@shoal/work'

type Node = Libp2p<{ identify: Identify, ping: Ping, work: Work }>

const PRICE = { perUnit: 1, currency: 'USDC', unit: 'job' }
const SPEC: JobSpec = { priceCeiling: PRICE, budget: 10, workload: 'noop' }
const INPUT = new Uint8Array(32).fill(7)

async function createNode (provider: boolean, payEvery = 0): Promise<Node> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping({ maxInboundStreams: 1024, maxOutboundStreams: 1024 }),
      work: work(provider
        ? { price: PRICE, executor: functionExecutor(input => input), concurrency: 1024, maxUnpaid: 1_000_000 }
        : { payEvery })
    }
  })
}

const PROVIDER_ROLE = 'shoal-work-bench-provider'

// entry point of the provider thread
if (!isMainThread && workerData?.role === PROVIDER_ROLE) {
  const provider = await createNode(true)
  parentPort?.postMessage(provider.getMultiaddrs()[0].toString())
  parentPort?.on('message', (message) => {
    if (message === 'cpu') {
      // CPU time of this thread alone: unlike loop utilization it does not count time spent waiting for a core
      parentPort?.postMessage({ cpu: process.threadCpuUsage() })
      return
    }
    Promise.resolve(provider.stop()).then(() => { process.exit(0) }, () => { process.exit(1) })
  })
}

interface Provider {
  addr: string
  /** event loop utilization of the provider's thread */
  elu(): EventLoopUtilization
  /** CPU time of the provider's thread (user + system), µs */
  cpu(): Promise<number>
  stop(): Promise<void>
}

async function spawnProvider (sameProcess: boolean): Promise<Provider> {
  if (sameProcess) {
    const node = await createNode(true)
    return { addr: node.getMultiaddrs()[0].toString(), elu: () => performance.eventLoopUtilization(), cpu: async () => threadCpu(), stop: async () => { await node.stop() } }
  }
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: PROVIDER_ROLE } })
  const addr = await new Promise<string>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  return {
    addr,
    elu: () => worker.performance.eventLoopUtilization(),
    cpu: async () => {
      const reply = new Promise<{ cpu: NodeJS.CpuUsage }>(resolve => worker.once('message', resolve))
      worker.postMessage('cpu')
      const { cpu } = await reply
      return cpu.user + cpu.system
    },
    stop: async () => {
      const exited = new Promise(resolve => worker.once('exit', resolve))
      worker.postMessage('stop')
      await exited
    }
  }
}

function threadCpu (): number {
  const cpu = process.threadCpuUsage()
  return cpu.user + cpu.system
}

function eluDelta (now: EventLoopUtilization, before: EventLoopUtilization): number {
  const active = now.active - before.active
  const idle = now.idle - before.idle
  return active / Math.max(1e-9, active + idle)
}

/** `count` distinct countersigned receipts between two fresh keys. */
async function countersignedReceipts (count: number): Promise<Uint8Array[]> {
  const provider = await generateKeyPair('Ed25519')
  const requester = await generateKeyPair('Ed25519')
  const now = Date.now()
  const receipts: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const signed = await signRecord(WorkReceiptType, {
      version: RECORD_VERSION,
      jobId: newRandomId(),
      assignmentId: new Uint8Array(randomBytes(32)),
      requester: peerIdFromPrivateKey(requester).toMultihash().bytes,
      provider: peerIdFromPrivateKey(provider).toMultihash().bytes,
      units: 3,
      price: { perUnit: 20, currency: 'USDC', unit: 'gpu-second' },
      total: 60,
      resultHash: new Uint8Array(randomBytes(32)),
      startedMs: now - 3000,
      endedMs: now,
      status: 0,
      prev: new Uint8Array()
    }, provider)
    receipts.push((await countersign(signed, requester)).bytes)
  }
  return receipts
}

/**
 * Receipt store throughput: countersigned receipts verified and appended
 * per second, on a memory and an on-disk LevelDB datastore, against
 * openCountersigned alone (the two signature checks every put does) on the
 * same receipts in the same run.
 */
async function receiptStoreThroughput (count: number): Promise<Record<string, unknown>> {
  const receipts = await countersignedReceipts(count)

  const rate = async (fn: (bytes: Uint8Array) => Promise<unknown>): Promise<number> => {
    const t0 = performance.now()
    await Promise.all(Array.from({ length: 16 }, async (_, lane) => {
      for (let i = lane; i < receipts.length; i += 16) {
        await fn(receipts[i])
      }
    }))
    return receipts.length / ((performance.now() - t0) / 1000)
  }

  progress(`receipt store: ${count} countersigned receipts`)
  const raw = await rate(async bytes => openCountersigned(WorkReceiptType, bytes, { ignoreTime: true }))
  const memory = await createReceiptStore({ datastore: new MemoryDatastore() })
  const memoryRate = await rate(async bytes => memory.put(bytes))
  await memory.stop()
  const dir = await mkdtemp(join(tmpdir(), 'shoal-bench-receipts-'))
  const level = new LevelDatastore(dir)
  await level.open()
  const disk = await createReceiptStore({ datastore: level })
  const levelRate = await rate(async bytes => disk.put(bytes))
  const verified = await disk.verifyLog()
  await disk.stop()
  await level.close()
  await rm(dir, { recursive: true, force: true })
  return {
    receipts: count,
    raw_countersigned_verify_per_s: Math.round(raw),
    memory_put_per_s: Math.round(memoryRate),
    level_put_per_s: Math.round(levelRate),
    memory_ratio: round(memoryRate / raw, 3),
    level_ratio: round(levelRate / raw, 3),
    log_verified: verified.ok
  }
}

/** The requester's node, connected to the provider. */
interface Pair {
  requester: Node
  provider: Provider
  target: PeerId
}

/** Sequential latencies of pings and jobs, interleaved so machine noise hits both alike; ascending. */
async function measureSequential ({ requester, target }: Pair, pings: number, jobs: number): Promise<{ rtts: number[], latencies: number[] }> {
  progress(`${pings} pings and ${jobs} sequential jobs, interleaved`)
  const rtts: number[] = []
  const latencies: number[] = []
  for (let i = 0; i < Math.max(pings, jobs); i++) {
    if (i < pings) {
      // ping() reports whole milliseconds; time it here for sub-millisecond resolution
      const p0 = performance.now()
      await requester.services.ping.ping(target)
      rtts.push(performance.now() - p0)
    }
    if (i < jobs) {
      const t0 = performance.now()
      const outcome = await requester.services.work.run(target, SPEC, INPUT)
      const latency = performance.now() - t0
      if (!outcome.acknowledged) {
        throw new Error('countersignature not acknowledged')
      }
      latencies.push(latency)
    }
  }
  rtts.sort((a, b) => a - b)
  latencies.sort((a, b) => a - b)
  return { rtts, latencies }
}

/** Jobs completed with `concurrency` in flight for `ms`, and what each peer's thread spent on them. */
interface Throughput {
  done: number
  failed: number
  /** ascending */
  latencies: number[]
  elapsedS: number
  requesterElu: number
  providerElu: number
  requesterCpuUs: number
  providerCpuUs: number
}

async function measureThroughput ({ requester, provider, target }: Pair, concurrency: number, ms: number, sameProcess: boolean): Promise<Throughput> {
  progress(`${concurrency} jobs in flight for ${ms} ms`)
  let done = 0
  let failed = 0
  const latencies: number[] = []
  const end = performance.now() + ms
  const t0 = performance.now()
  const requesterElu0 = performance.eventLoopUtilization()
  const providerElu0 = provider.elu()
  const providerCpu0 = await provider.cpu()
  const requesterCpu0 = threadCpu()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const s = performance.now()
      try {
        await requester.services.work.run(target, SPEC, INPUT)
        done++
        latencies.push(performance.now() - s)
      } catch (err) {
        failed++
        if (failed < 5) {
          progress(`job failed: ${describeError(err)}`)
        }
      }
    }
  }))
  const elapsedS = (performance.now() - t0) / 1000
  const requesterElu = performance.eventLoopUtilization(requesterElu0).utilization
  const providerElu = sameProcess ? requesterElu : eluDelta(provider.elu(), providerElu0)
  const requesterCpuUs = threadCpu() - requesterCpu0
  const providerCpuUs = sameProcess ? requesterCpuUs : await provider.cpu() - providerCpu0
  latencies.sort((a, b) => a - b)
  return { done, failed, latencies, elapsedS, requesterElu, providerElu, requesterCpuUs, providerCpuUs }
}

/** The baseline rate: pings/s with `concurrency` in flight (each ping opens a new stream). */
async function measurePingRate ({ requester, target }: Pair, concurrency: number, ms: number): Promise<number> {
  progress(`ping at ${concurrency} in flight for the baseline rate`)
  let pingsDone = 0
  const pingEnd = performance.now() + ms
  const p0 = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < pingEnd) {
      await requester.services.ping.ping(target)
      pingsDone++
    }
  }))
  return pingsDone / ((performance.now() - p0) / 1000)
}

export async function run (options: BenchOptions): Promise<BenchResult> {
  const sequentialJobs = Number(options.extra.jobs ?? (options.quick ? 1000 : 5000))
  const concurrency = Number(options.extra.concurrency ?? 32)
  const throughputMs = Number(options.extra.ms ?? (options.quick ? 5000 : 15000))
  const pings = options.quick ? 1000 : 5000

  const sameProcess = options.extra['same-process'] === 'true'
  const provider = await spawnProvider(sameProcess)
  // --pay-every N: the requester signs a voucher once N is owed instead of one per job
  const payEvery = Number(options.extra['pay-every'] ?? 0)
  const requester = await createNode(false, payEvery)
  try {
    const connection = await requester.dial(multiaddr(provider.addr))
    const pair: Pair = { requester, provider, target: connection.remotePeer }

    progress('warm up')
    for (let i = 0; i < 300; i++) {
      await requester.services.ping.ping(pair.target)
      await requester.services.work.run(pair.target, SPEC, INPUT)
    }

    const { rtts, latencies } = await measureSequential(pair, pings, sequentialJobs)
    const rttP50 = nearestRank(rtts, 0.5)
    const overheads = latencies.map(l => l - rttP50)
    const t = await measureThroughput(pair, concurrency, throughputMs, sameProcess)
    const pingsPerS = await measurePingRate(pair, concurrency, Math.min(3000, throughputMs))

    const latencyP50 = nearestRank(latencies, 0.5)
    const jobsPerS = t.done / t.elapsedS
    return {
      overhead_p50_ms: round(nearestRank(overheads, 0.5), 3),
      overhead_p99_ms: round(nearestRank(overheads, 0.99), 3),
      jobs_per_s: Math.round(jobsPerS),
      rtt_ms: round(rttP50, 3),
      rtt_p99_ms: round(nearestRank(rtts, 0.99), 3),
      latency_p50_ms: round(latencyP50, 3),
      latency_p99_ms: round(nearestRank(latencies, 0.99), 3),
      concurrency,
      inflight_latency_p50_ms: round(nearestRank(t.latencies, 0.5), 3),
      inflight_latency_p99_ms: round(nearestRank(t.latencies, 0.99), 3),
      jobs_failed: t.failed,
      // how busy each peer's event loop was while jobs were in flight (1 = saturated)
      requester_loop_utilization: round(t.requesterElu, 2),
      provider_loop_utilization: round(t.providerElu, 2),
      // cost per completed job while jobs were in flight, µs: CPU time of each peer's thread
      // (robust to other load on the machine), and loop utilization × elapsed (counts waiting for a core too)
      provider_cpu_us_per_job: Math.round(t.providerCpuUs / Math.max(1, t.done)),
      requester_cpu_us_per_job: Math.round(t.requesterCpuUs / Math.max(1, t.done)),
      provider_busy_us_per_job: Math.round(t.providerElu * t.elapsedS * 1e6 / Math.max(1, t.done)),
      sequential_jobs: latencies.length,
      baseline: {
        what: 'libp2p ping over the same connection',
        rtt_p50_ms: round(rttP50, 3),
        pings_per_s: Math.round(pingsPerS)
      },
      ratio: {
        latency_over_rtt: round(latencyP50 / rttP50, 2),
        jobs_per_s_over_pings_per_s: round(jobsPerS / pingsPerS, 3)
      },
      goals: { overhead_p50_ms: 2, jobs_per_s: 1000 },
      goals_met: nearestRank(overheads, 0.5) <= 2 && jobsPerS >= 1000,
      provider_thread: sameProcess ? 'same as requester' : 'worker thread',
      pay_every: payEvery,
      receipt_store: await receiptStoreThroughput(options.quick ? 1000 : 4000)
    }
  } finally {
    await requester.stop()
    await provider.stop()
  }
}
