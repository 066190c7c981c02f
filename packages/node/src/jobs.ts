import { JobKind } from '@shoal/records'
import { gpusFromConfig, isProviderRole } from './services.js'
import { receiptToJson, toHex } from './status.js'
import type { JobApi, JobProgress } from './api.js'
import type { ResolvedConfig } from './config.js'
import type { ShoalNodeMetrics } from './metrics.js'
import type { ShoalNode } from './node.js'
import type { PeerId } from '@libp2p/interface'
import type { NearbyProvider, NearbyQuery, Offer } from '@shoal/discovery'
import type { RouterCandidate } from '@shoal/router'
import type { JobSpec } from '@shoal/work'

/** A job in flight on this node, as `/jobs` and `/status` show it. */
export interface LiveJob {
  /** `requester` (submitted here) or `provider` (running here) */
  side: 'requester' | 'provider'
  jobId: string
  /**
   * provider side: the assignment's record id (hex), what a run is tracked
   * by. One job can be assigned here more than once (a requester's retry or
   * failover back to this node), and each assignment is its own run.
   */
  assignmentId?: string
  /** the other party, once known */
  peer?: string
  stage: string
  since: number
  permille?: number
}

/** What `startProviderRole()` started, and how to stop it in two steps. */
export interface ProviderRole {
  /** stop advertising (no more retries) and stop quoting jobs from the job board; running jobs go on */
  stopOffering(): void
  /** stop everything */
  stop(): void
}

/**
 * The jobs in flight on this node, as `/jobs` and `/status` show them: the
 * requester side from `live` (jobs submitted here, by job id), the provider
 * side from the work service's own `runningJobs()`, one entry per
 * assignment, so a job assigned here twice (a requester's retry or failover
 * back to this node) shows twice and each leaves when its own run ends.
 */
export function liveJobs (node: ShoalNode, live: Map<string, LiveJob>): LiveJob[] {
  const out = [...live.values()].filter(job => job.side === 'requester')
  for (const job of node.services.work.runningJobs()) {
    out.push({
      side: 'provider',
      jobId: toHex(job.jobId),
      assignmentId: toHex(job.assignmentId),
      peer: job.peer.toString(),
      stage: 'running',
      since: job.started,
      permille: job.progress?.permille
    })
  }
  return out
}

/**
 * The provider side of a role: advertise the offer in the DHT (retrying
 * until a DHT peer took it) and quote jobs that appear on the job board.
 * Discovery withdraws the advertisement itself when the node stops.
 */
export function startProviderRole (node: ShoalNode, config: ResolvedConfig): ProviderRole {
  const cleanup: Array<() => void> = []
  const work = node.services.work

  const role: ProviderRole = {
    stopOffering: () => { cleanup.splice(0).forEach(fn => { fn() }) },
    stop: () => { role.stopOffering() }
  }
  const provider = config.provider
  if (!isProviderRole(config.role) || provider === undefined) {
    return role
  }

  const offer: Offer = {
    gpus: gpusFromConfig(provider),
    sensors: provider.sensors ?? [],
    geohash: provider.region ?? '',
    price: provider.price ?? { perUnit: 1, currency: 'USDC', unit: 'gpu-second' },
    concurrency: provider.concurrency ?? 1
  }
  // the DHT may have no peers yet at start: retry with backoff until one provide lands
  let delay = 1000
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  const advertise = async (): Promise<void> => {
    timer = undefined
    if (stopped) return
    let ok = false
    try {
      const result = await node.services.discovery.advertise(offer, { signal: AbortSignal.timeout(30_000) })
      ok = result.failed.length === 0
    } catch {}
    if (!ok && !stopped) {
      timer = setTimeout(() => { void advertise() }, delay)
      delay = Math.min(delay * 2, 60_000)
    }
  }
  void advertise()
  cleanup.push(() => {
    stopped = true
    if (timer !== undefined) clearTimeout(timer)
  })

  // open market: answer jobs gossiped on the board with an unsolicited quote
  const onAnnounced = (evt: CustomEvent<any>): void => {
    if (evt.detail?.source === 'local' || evt.detail?.from == null) return
    work.onJobAnnounced(evt.detail.record).catch(() => {})
  }
  node.services.jobs.addEventListener('job:announced', onAnnounced)
  cleanup.push(() => { node.services.jobs.removeEventListener('job:announced', onAnnounced) })

  return role
}

/** What `POST /jobs` accepts (the CLI's `job submit` options). */
interface SubmitRequest {
  workload: string
  input: string
  units: number
  maxPricePerUnit: number
  currency: string
  unit: string
  gpuClass: string
  minVramMib: number
  sensors: string[]
  region: string
  timeoutMs: number
}

function submitRequest (raw: Record<string, unknown>): SubmitRequest {
  const str = (key: string, fallback: string, max = 256): string => {
    const v = raw[key] ?? fallback
    if (typeof v !== 'string' || v.length > max) throw new TypeError(`${key} must be a string of at most ${max} characters`)
    return v
  }
  const int = (key: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number => {
    const v = raw[key] ?? fallback
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new TypeError(`${key} must be an integer between ${min} and ${max}`)
    return v
  }
  const sensors = raw.sensors ?? []
  if (!Array.isArray(sensors) || sensors.length > 16 || sensors.some(s => typeof s !== 'string' || s.length > 64)) throw new TypeError('sensors must be a list of names')
  return {
    workload: str('workload', ''),
    input: str('input', '', 2 * 1024 * 1024),
    units: int('units', 1, 1),
    maxPricePerUnit: int('maxPricePerUnit', 10),
    currency: str('currency', 'USDC', 16),
    unit: str('unit', 'gpu-second', 32),
    gpuClass: str('gpuClass', '', 64),
    minVramMib: int('minVramMib', 0),
    sensors,
    region: str('region', '', 12),
    timeoutMs: int('timeoutMs', 120_000, 1000, 24 * 3600_000)
  }
}

/**
 * The requester side: `POST /jobs` signs a job, announces it on the board,
 * finds providers through discovery, ranks them with the router and runs
 * it with the work protocol (failing over down the ranking), streaming
 * each stage until the countersigned receipt is stored.
 */
export function createJobApi (node: ShoalNode, live: Map<string, LiveJob>, metrics: ShoalNodeMetrics): JobApi {
  return {
    async list () {
      return liveJobs(node, live)
    },
    async submit (raw, progress, outerSignal) {
      let request: SubmitRequest
      try {
        request = submitRequest(raw)
      } catch (err: any) {
        return { stage: 'failed', error: 'InvalidRequestError', message: err.message }
      }
      const signal = AbortSignal.any([outerSignal, AbortSignal.timeout(request.timeoutMs)])
      const input = Buffer.from(request.input, 'base64')
      const capture = request.sensors.length > 0 && request.gpuClass === ''
      const spec: JobSpec = {
        kind: capture ? JobKind.CAPTURE : JobKind.GPU_INFERENCE,
        workload: request.workload,
        description: `${request.workload} submitted with shoal job submit`,
        requirements: { gpuClass: request.gpuClass, minVramMib: request.minVramMib, gpuCount: capture ? 0 : 1, sensors: request.sensors, region: request.region },
        priceCeiling: { perUnit: request.maxPricePerUnit, currency: request.currency, unit: request.unit },
        budget: Math.max(1, request.maxPricePerUnit * request.units),
        deadlineIn: request.timeoutMs,
        input
      }
      const job = await node.services.work.createJob(spec)
      const jobId = toHex(job.value.jobId)
      const entry: LiveJob = { side: 'requester', jobId, stage: 'created', since: Date.now() }
      live.set(`requester:${jobId}`, entry)
      metrics.jobs?.increment({ submitted: true })
      const step = (event: JobProgress): void => {
        entry.stage = event.stage
        progress({ jobId, ...event })
      }
      try {
        step({ stage: 'created', message: `job ${jobId.slice(0, 12)} signed` })
        try {
          // the record work.createJob() signed goes on the board as is: one signature per job
          await node.services.jobs.publish(job, { signal })
          step({ stage: 'announced', message: 'published on the job board' })
        } catch (err: any) {
          step({ stage: 'announced', message: `not published on the job board (${err?.name ?? err}); continuing in direct mode` })
        }

        const query: NearbyQuery = {
          geohash: request.region,
          gpuClass: capture ? undefined : (request.gpuClass === '' ? undefined : request.gpuClass),
          sensors: request.sensors.length > 0 ? request.sensors : undefined,
          minVramMib: request.minVramMib,
          maxPrice: { perUnit: request.maxPricePerUnit, currency: request.currency }
        }
        if (query.gpuClass === undefined && query.sensors === undefined) {
          throw Object.assign(new Error('a job names a GPU class (--gpu-class, e.g. consumer-24g) or a sensor (--sensor)'), { name: 'InvalidRequestError' })
        }
        const found = await findProviders(node, query, signal, step)
        if (found.length === 0) {
          metrics.routing?.increment({ 'no-candidates': true })
          throw Object.assign(new Error('no provider found for this job'), { name: 'NoProviderError' })
        }

        const ranked = await rank(node, found, request, signal)
        metrics.routing?.increment({ [ranked.routed ? 'routed' : 'unranked']: true })
        entry.peer = ranked.order[0].toString()
        step({ stage: 'routed', message: `best of ${found.length}: ${ranked.order[0].toString()}${ranked.explain != null ? ` (${ranked.explain})` : ''}`, candidates: ranked.order.map(String) })

        const outcome = await node.services.work.run(ranked.order, job, input, {
          signal,
          timeout: request.timeoutMs,
          attemptTimeout: Math.max(5_000, Math.floor(request.timeoutMs / Math.max(1, ranked.order.length))),
          onProgress: (p) => { step({ stage: 'running', message: `${(p.permille / 10).toFixed(1)}% ${p.message}`.trim(), permille: p.permille }) }
        })
        step({ stage: 'result', message: `${outcome.output.byteLength} bytes from ${outcome.provider.toString()}` })
        let receipt
        try {
          receipt = receiptToJson(await node.services.receipts.get(outcome.receipt.id))
        } catch {
          // the work service had no store to put it in: describe the record we hold
          receipt = { id: toHex(outcome.receipt.id), state: 'countersigned', jobId, provider: outcome.provider.toString(), requester: node.peerId.toString(), units: outcome.receipt.record.value.units, total: outcome.receipt.record.value.total, startedMs: outcome.receipt.record.value.startedMs, endedMs: outcome.receipt.record.value.endedMs, addedAt: Date.now() }
        }
        metrics.jobs?.increment({ completed: true })
        return { jobId, stage: 'receipt', message: `receipt ${receipt.id.slice(0, 12)} countersigned: ${receipt.units} units, ${receipt.total} ${receipt.currency ?? request.currency}`, receipt, output: Buffer.from(outcome.output).toString('base64'), acknowledged: outcome.acknowledged }
      } catch (err: any) {
        metrics.jobs?.increment({ failed: true })
        return { jobId, stage: 'failed', error: err?.name ?? 'Error', message: err?.message ?? String(err) }
      } finally {
        live.delete(`requester:${jobId}`)
      }
    }
  }
}

/** Search the DHT, retrying while nothing is found (providers' records take a moment to land). */
async function findProviders (node: ShoalNode, query: NearbyQuery, signal: AbortSignal, step: (event: JobProgress) => void): Promise<NearbyProvider[]> {
  let delay = 500
  for (let attempt = 1; ; attempt++) {
    const found: NearbyProvider[] = []
    try {
      for await (const provider of node.services.discovery.findNearby(query, { k: 5, signal })) {
        found.push(provider)
      }
    } catch (err: any) {
      if (signal.aborted) throw err
      if (err?.name === 'InvalidQueryError') throw err
    }
    step({ stage: 'candidates', message: `${found.length} provider(s) found${found.length === 0 ? `, searching again (attempt ${attempt})` : ''}`, count: found.length })
    if (found.length > 0 || signal.aborted || attempt >= 10) return found
    await new Promise(resolve => setTimeout(resolve, delay))
    delay = Math.min(delay * 2, 5_000)
  }
}

/** Order the candidates with the router; fall back to discovery's order if it refuses them all. */
async function rank (node: ShoalNode, found: NearbyProvider[], request: SubmitRequest, signal: AbortSignal): Promise<{ order: PeerId[], routed: boolean, explain?: string }> {
  const candidates: RouterCandidate[] = found.map(p => ({
    peerId: p.peerId,
    price: p.record.value.price?.perUnit,
    freeSlots: p.record.value.freeSlots,
    concurrency: p.record.value.concurrency
  }))
  try {
    const decision = await node.services.router.choose(candidates, { priceCeiling: request.maxPricePerUnit }, { signal })
    if (decision.choices.length > 0) {
      const first = decision.choices[0] as any
      return { order: decision.choices.map(c => c.peerId), routed: true, explain: typeof first.explain === 'string' ? first.explain : undefined }
    }
  } catch {}
  return { order: found.map(p => p.peerId), routed: false }
}
