/**
 * Benchmark `work`: two peers over TCP on loopback with an open connection
 * and a no-op executor. Per-job latency through the whole direct-mode path
 * (sign job -> quote -> assign -> result -> countersigned receipt + voucher,
 * acknowledged), jobs/s with many jobs in flight, and the overhead over one
 * libp2p ping RTT measured in the same run (the baseline).
 *
 * The provider runs in a worker thread, so each peer has its own event loop
 * as on two machines (`--same-process` puts both on one thread instead).
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
import { progress } from '../options.js'
import type { BenchOptions, BenchResult } from '../options.js'
import type { Identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
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

async function startProvider (sameProcess: boolean): Promise<Provider> {
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

function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) {
    return NaN
  }
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))
  return sorted[i]
}

const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits

/**
 * Receipt store throughput: countersigned receipts verified and appended
 * per second, on a memory and an on-disk LevelDB datastore, against
 * openCountersigned alone (the two signature checks every put does) on the
 * same receipts in the same run.
 */
async function receiptStoreThroughput (count: number): Promise<Record<string, unknown>> {
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

export async function run (options: BenchOptions): Promise<BenchResult> {
  const sequentialJobs = Number(options.extra.jobs ?? (options.quick ? 1000 : 5000))
  const concurrency = Number(options.extra.concurrency ?? 32)
  const throughputMs = Number(options.extra.ms ?? (options.quick ? 5000 : 15000))
  const pings = options.quick ? 1000 : 5000

  const sameProcess = options.extra['same-process'] === 'true'
  const provider = await startProvider(sameProcess)
  // --pay-every N: the requester signs a voucher once N is owed instead of one per job
  const payEvery = Number(options.extra['pay-every'] ?? 0)
  const requester = await createNode(false, payEvery)
  try {
    const connection = await requester.dial(multiaddr(provider.addr))
    const target = connection.remotePeer

    progress('warm up')
    for (let i = 0; i < 300; i++) {
      await requester.services.ping.ping(target)
      await requester.services.work.run(target, SPEC, INPUT)
    }

    progress(`${pings} pings and ${sequentialJobs} sequential jobs, interleaved`)
    const rtts: number[] = []
    const latencies: number[] = []
    const overheads: number[] = []
    // interleave so machine noise hits both alike
    for (let i = 0; i < Math.max(pings, sequentialJobs); i++) {
      if (i < pings) {
        // ping() reports whole milliseconds; time it here for sub-millisecond resolution
        const p0 = performance.now()
        await requester.services.ping.ping(target)
        rtts.push(performance.now() - p0)
      }
      if (i < sequentialJobs) {
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
    const rttP50 = percentile(rtts, 0.5)
    for (const l of latencies) {
      overheads.push(l - rttP50)
    }

    progress(`${concurrency} jobs in flight for ${throughputMs} ms`)
    let done = 0
    let failed = 0
    const inflightLatencies: number[] = []
    const end = performance.now() + throughputMs
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
          inflightLatencies.push(performance.now() - s)
        } catch (err) {
          failed++
          if (failed < 5) {
            progress(`job failed: ${(err as Error).name}: ${(err as Error).message}`)
          }
        }
      }
    }))
    const elapsed = (performance.now() - t0) / 1000
    const requesterElu = performance.eventLoopUtilization(requesterElu0).utilization
    const providerEluDelta = sameProcess ? requesterElu : eluDelta(provider.elu(), providerElu0)
    const requesterCpu = threadCpu() - requesterCpu0
    const providerCpu = sameProcess ? requesterCpu : await provider.cpu() - providerCpu0
    inflightLatencies.sort((a, b) => a - b)

    progress(`ping at ${concurrency} in flight for the baseline rate`)
    let pingsDone = 0
    const pingEnd = performance.now() + Math.min(3000, throughputMs)
    const p0 = performance.now()
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < pingEnd) {
        await requester.services.ping.ping(target)
        pingsDone++
      }
    }))
    const pingsPerS = pingsDone / ((performance.now() - p0) / 1000)

    const latencyP50 = percentile(latencies, 0.5)
    const jobsPerS = done / elapsed
    return {
      overhead_p50_ms: round(percentile(overheads, 0.5)),
      overhead_p99_ms: round(percentile(overheads, 0.99)),
      jobs_per_s: Math.round(jobsPerS),
      rtt_ms: round(rttP50),
      rtt_p99_ms: round(percentile(rtts, 0.99)),
      latency_p50_ms: round(latencyP50),
      latency_p99_ms: round(percentile(latencies, 0.99)),
      concurrency,
      inflight_latency_p50_ms: round(percentile(inflightLatencies, 0.5)),
      inflight_latency_p99_ms: round(percentile(inflightLatencies, 0.99)),
      jobs_failed: failed,
      // how busy each peer's event loop was while jobs were in flight (1 = saturated)
      requester_loop_utilization: round(requesterElu, 2),
      provider_loop_utilization: round(providerEluDelta, 2),
      // cost per completed job while jobs were in flight, µs: CPU time of each peer's thread
      // (robust to other load on the machine), and loop utilization × elapsed (counts waiting for a core too)
      provider_cpu_us_per_job: Math.round(providerCpu / Math.max(1, done)),
      requester_cpu_us_per_job: Math.round(requesterCpu / Math.max(1, done)),
      provider_busy_us_per_job: Math.round(providerEluDelta * elapsed * 1e6 / Math.max(1, done)),
      sequential_jobs: latencies.length,
      baseline: {
        what: 'libp2p ping over the same connection',
        rtt_p50_ms: round(rttP50),
        pings_per_s: Math.round(pingsPerS)
      },
      ratio: {
        latency_over_rtt: round(latencyP50 / rttP50, 2),
        jobs_per_s_over_pings_per_s: round(jobsPerS / pingsPerS, 3)
      },
      goals: { overhead_p50_ms: 2, jobs_per_s: 1000 },
      goals_met: percentile(overheads, 0.5) <= 2 && jobsPerS >= 1000,
      provider_thread: sameProcess ? 'same as requester' : 'worker thread',
      pay_every: payEvery,
      receipt_store: await receiptStoreThroughput(options.quick ? 1000 : 4000)
    }
  } finally {
    await requester.stop()
    await provider.stop()
  }
}
