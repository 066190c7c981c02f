import { JobKind } from '@shoal/records'
import { asError, BoundedMap, errorMessage } from '@shoal/utils'
import { captureCheck, describeReasons, verdictToJson } from './capture.js'
import { CAPTURE_PRICE_UNIT, GPU_PRICE_UNIT, MAX_JOB_INPUT_BASE64 } from './constants.js'
import { NoProviderError } from './errors.js'
import { jobOutcome, receiptOutcome } from './observe.js'
import { nodeConfig, nodeDatastore } from './node.js'
import { startProvider } from './flows/start-provider.js'
import { submitJob } from './flows/submit-job.js'
import { gpusFromConfig, isProviderRole } from './services.js'
import { receiptToJson, toHex } from './status.js'
import type { JobApi, JobProgress } from './api.js'
import type { ResolvedConfig } from './config.js'
import type { ProviderHandle } from './flows/start-provider.js'
import type { SubmitJobEvent } from './flows/submit-job.js'
import type { ShoalNodeMetrics } from './metrics.js'
import type { ShoalNode } from './node.js'
import type { NodeObserver } from './observe.js'
import type { CaptureVerdictJson } from './capture.js'
import type { SubmitJobOptions } from './flows/submit-job.js'
import type { JobOutcome as WorkJobOutcome, JobSpec } from '@shoal/work'

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

/**
 * The jobs in flight on this node, as `/jobs` and `/status` show them: the
 * requester side from `live` (jobs submitted here, by job id), the provider
 * side from the work service's own `runningJobs()`, one entry per
 * assignment, so a job assigned here twice (a requester's retry or failover
 * back to this node) shows twice and each leaves when its own run ends.
 */
export function liveJobs (node: ShoalNode, live: Map<string, LiveJob>): LiveJob[] {
  const out = [...live.values()].filter(job => job.side === 'requester')
  // done and countersigned, the provider has not acknowledged it yet: re-sent until it does
  for (const receipt of node.services.work.unacknowledged()) {
    const r = receipt.record.value
    out.push({ side: 'requester', jobId: toHex(r.jobId), peer: receipt.record.signer.toString(), stage: 'countersigning', since: r.endedMs })
  }
  for (const job of node.services.work.runningJobs()) {
    out.push({
      side: 'provider',
      jobId: toHex(job.jobId),
      assignmentId: toHex(job.assignmentId),
      peer: job.peer.toString(),
      stage: job.queued ? 'queued' : 'running',
      since: job.started,
      permille: job.progress?.permille
    })
  }
  return out
}

/**
 * The provider side of a role: `startProvider()` with the offer the
 * config describes (nothing for the other roles), its failures in the
 * node's log.
 */
export function startProviderRole (node: ShoalNode, config: ResolvedConfig): ProviderHandle | undefined {
  const provider = config.provider
  if (!isProviderRole(config.role) || provider === undefined) {
    return undefined
  }
  const log = node.logger.forComponent('shoal:node:provider')
  const role = startProvider(node.services, {
    gpus: gpusFromConfig(provider),
    sensors: provider.sensors ?? [],
    geohash: provider.region ?? '',
    price: provider.price ?? { perUnit: 1, currency: 'USDC', unit: 'gpu-second' },
    concurrency: provider.concurrency ?? 1
  })
  role.addEventListener('advertise:failed', (evt) => {
    const { error, result, retryIn } = evt.detail
    log('advertising failed (%s), again in %d ms', error?.message ?? `${result?.failed.length} key(s) reached no DHT peer`, retryIn)
  })
  role.addEventListener('quote:failed', (evt) => { log('could not quote job %s - %e', evt.detail.job.key, evt.detail.error) })
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
  /** sensors and no GPU requirement: a capture job, which asks for no GPU */
  capture: boolean
}

/** How many ended jobs `GET /jobs/:id` remembers (the oldest are forgotten first). */
const ENDED_JOBS = 1024

/** A job submitted here, as `GET /jobs/:id` shows it. */
export interface JobRecordJson {
  jobId: string
  /** the last stage: `receipt` or `failed` once it ended */
  stage: string
  message?: string
  error?: string
  /** the provider whose result was accepted or refused last */
  provider?: string
  /** a capture job: the verdict on the last CaptureProof checked (verifiedSeconds, reasons, witnesses) */
  capture?: CaptureVerdictJson
  /** the countersigned receipt, once there is one */
  receipt?: unknown
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
  const seconds = raw.seconds
  if (!Array.isArray(sensors) || sensors.length > 16 || sensors.some(s => typeof s !== 'string' || s.length > 64)) throw new TypeError('sensors must be a list of names')
  const gpuClass = str('gpuClass', '', 64)
  const minVramMib = int('minVramMib', 0)
  if (gpuClass === '' && sensors.length === 0) throw new TypeError('a job names a GPU class (--gpu-class, e.g. consumer-24g) or a sensor (--sensor)')
  const capture = sensors.length > 0 && gpuClass === '' && minVramMib === 0
  if (seconds !== undefined && (!capture || typeof seconds !== 'number' || !Number.isSafeInteger(seconds) || seconds < 1 || seconds > 86_400)) {
    throw new TypeError('seconds (a capture job\'s length) must be an integer between 1 and 86400, for a job naming sensors and no GPU')
  }
  return {
    workload: str('workload', capture ? 'capture' : ''),
    // a capture job's input is {"seconds": N}; `seconds` writes it
    input: typeof seconds === 'number' ? Buffer.from(JSON.stringify({ seconds })).toString('base64') : str('input', '', MAX_JOB_INPUT_BASE64),
    units: typeof seconds === 'number' && raw.units === undefined ? seconds : int('units', 1, 1),
    maxPricePerUnit: int('maxPricePerUnit', 10),
    currency: str('currency', 'USDC', 16),
    unit: str('unit', capture ? CAPTURE_PRICE_UNIT : GPU_PRICE_UNIT, 32),
    gpuClass,
    minVramMib,
    sensors,
    region: str('region', '', 12),
    timeoutMs: int('timeoutMs', 120_000, 1000, 24 * 3600_000),
    capture
  }
}

/**
 * The requester side: `POST /jobs` signs a job, announces it on the board,
 * finds providers through discovery, ranks them with the router and runs
 * it with the work protocol (failing over down the ranking), streaming
 * each stage until the countersigned receipt is stored. Each job that
 * ends is logged and counted by `observer` (`job:requested`). `geohash` is
 * where this node is, if it knows (searches start there when the job's
 * region contains it).
 */
export function createJobApi (node: ShoalNode, live: Map<string, LiveJob>, metrics: ShoalNodeMetrics, observer?: NodeObserver, geohash?: string): JobApi {
  const log = node.logger.forComponent('shoal:node:jobs')
  // jobs submitted here: the live ones and the last ended ones, with a capture job's verdict
  const records = new BoundedMap<string, JobRecordJson>(ENDED_JOBS)
  return {
    async list () {
      return liveJobs(node, live)
    },
    async get (jobId) {
      return records.get(jobId.toLowerCase())
    },
    async submit (raw, progress, outerSignal) {
      let request: SubmitRequest
      try {
        request = submitRequest(raw)
      } catch (err: unknown) {
        return { stage: 'failed', error: 'InvalidRequestError', message: errorMessage(err) }
      }
      const signal = AbortSignal.any([outerSignal, AbortSignal.timeout(request.timeoutMs)])
      const capture = request.capture
      const spec: JobSpec = {
        kind: capture ? JobKind.CAPTURE : JobKind.GPU_INFERENCE,
        workload: request.workload,
        description: `${request.workload} submitted with shoal job submit`,
        requirements: { gpuClass: request.gpuClass, minVramMib: request.minVramMib, gpuCount: capture ? 0 : 1, sensors: request.sensors, region: request.region },
        priceCeiling: { perUnit: request.maxPricePerUnit, currency: request.currency, unit: request.unit },
        budget: Math.max(1, request.maxPricePerUnit * request.units),
        deadlineInMs: request.timeoutMs,
        input: Buffer.from(request.input, 'base64')
      }
      let jobId: string | undefined
      let record: JobRecordJson | undefined
      const entry: LiveJob = { side: 'requester', jobId: '', stage: 'created', since: Date.now() }
      const step = (event: JobProgress): void => {
        entry.stage = event.stage
        if (record !== undefined) {
          record.stage = event.stage
          record.message = event.message
        }
        progress({ jobId, ...event })
      }
      const options: SubmitJobOptions = { signal, timeoutMs: request.timeoutMs, geohash }
      const provenance = node.services.provenance
      // with the defences off (the baseline of a comparison), a capture is taken on trust, as a GPU job's result is;
      // with them on, one that cannot be checked is not paid for at all
      const defended = nodeConfig(node)?.defences !== false
      if (capture && defended && provenance === undefined) {
        return { stage: 'failed', error: 'ConfigError', message: 'this node has no provenance service to check captures with: it submits no capture job (turn the defences off to take captures on trust)' }
      }
      if (capture && defended && provenance !== undefined) {
        // footage from two providers never agrees byte for byte: the CaptureProof is the check, not a second run
        options.verify = false
        options.checkResult = captureCheck({
          provenance,
          region: request.region,
          sensors: request.sensors,
          datastore: nodeDatastore(node),
          onVerdict: (verdict, provider) => {
            const json = verdictToJson(verdict)
            if (record !== undefined) {
              record.capture = json
              record.provider = provider.toString()
            }
            const message = `capture ${verdict.ok ? 'verified' : 'refused'}: ${verdict.verifiedSeconds} of ${verdict.claimedSeconds} second(s) verified${verdict.reasons.length > 0 ? ` (${describeReasons(verdict.reasons, 2)})` : ''}`
            step({ stage: 'verified', message, capture: json })
          }
        })
      }
      try {
        // a node that knows where it is (a provider's region) searches outward from there
        for await (const event of submitJob(node.services, spec, options)) {
          if (event.type === 'created') {
            jobId = toHex(event.detail.job.value.jobId)
            entry.jobId = jobId
            live.set(`requester:${jobId}`, entry)
            record = { jobId, stage: 'created' }
            records.set(jobId, record)
          }
          if (event.type === 'ranked') {
            metrics.routing?.increment({ [event.detail.decision.choices.length > 0 ? 'routed' : 'refused']: true })
            entry.peer = event.detail.decision.choices[0]?.peerId.toString()
          }
          if (event.type === 'receipt') {
            const { outcome, stored, storeError } = event.detail
            if (storeError != null) log.error('job %s is done but its receipt could not be read back from the store - %e', jobId, storeError)
            step({ stage: 'result', message: `${outcome.output.byteLength} bytes from ${outcome.provider.toString()}` })
            const value = outcome.receipt.record.value
            // without a receipt store on the work service: describe the record we hold
            const receipt = stored != null
              ? receiptToJson(stored)
              : { id: toHex(outcome.receipt.id), state: 'countersigned', jobId, provider: outcome.provider.toString(), requester: node.peerId.toString(), units: value.units, total: value.total, currency: value.price?.currency, startedMs: value.startedMs, endedMs: value.endedMs, addedAt: Date.now() }
            receiptReached(observer, outcome, entry.since)
            // which kind of connection the job ran on: a provider behind NAT is reached through a relay, or directly after hole punching
            const over = outcome.connection === 'relayed' ? ' (over a relay)' : ''
            const message = `receipt ${receipt.id.slice(0, 12)} countersigned: ${receipt.units} units, ${receipt.total} ${receipt.currency ?? request.currency}${over}`
            if (record !== undefined) Object.assign(record, { stage: 'receipt', message, receipt, provider: outcome.provider.toString() })
            return { jobId, stage: 'receipt', message, receipt, output: Buffer.from(outcome.output).toString('base64'), acknowledged: outcome.acknowledged, connection: outcome.connection, ...(record?.capture !== undefined ? { capture: record.capture } : {}) }
          }
          step(stageOf(event))
        }
        throw new Error('the job ended without a receipt')
      } catch (err: unknown) {
        const error = asError(err)
        if (error instanceof NoProviderError && error.reasons.length === 0) metrics.routing?.increment({ 'no-candidates': true })
        if (jobId !== undefined) observer?.jobEnded({ role: 'requester', jobId, peer: entry.peer, startedAt: entry.since, endedAt: Date.now(), outcome: jobOutcome(error), error })
        if (record !== undefined) Object.assign(record, { stage: 'failed', error: error.name, message: error.message })
        return { jobId, stage: 'failed', error: error.name, message: error.message, ...(record?.capture !== undefined ? { capture: record.capture } : {}) }
      } finally {
        if (jobId !== undefined) live.delete(`requester:${jobId}`)
      }
    }
  }
}

/** How `job submit` shows a step of the flow (the final receipt aside). */
function stageOf (event: Exclude<SubmitJobEvent, { type: 'receipt' }>): JobProgress {
  switch (event.type) {
    case 'created':
      return { stage: 'created', message: `job ${toHex(event.detail.job.value.jobId).slice(0, 12)} signed` }
    case 'published':
      return { stage: 'announced', message: 'published on the job board' }
    case 'publish-failed':
      return { stage: 'announced', message: `not published on the job board (${event.detail.error.name}: ${event.detail.error.message}); continuing in direct mode` }
    case 'retrying':
      return { stage: 'retrying', message: `every candidate failed (${event.detail.error.message}); gathering again in ${event.detail.delayMs} ms` }
    case 'quoted':
      return { stage: 'quoted', message: `${event.detail.quote.signer.toString()} quoted ${event.detail.quote.value.price?.perUnit ?? '?'} ${event.detail.quote.value.price?.currency ?? ''} per ${event.detail.quote.value.price?.unit ?? 'unit'}`.trimEnd() }
    case 'searched': {
      const { attempt, found, unmatched, error } = event.detail
      const why = error != null ? ` (search ${attempt} broke off: ${error.name}: ${error.message})` : ''
      const skipped = unmatched.length > 0 ? `; ${unmatched.length} more would not bid (${unmatched[0].reasons.join(', ')}${unmatched.length > 1 ? ', ...' : ''})` : ''
      return { stage: 'candidates', message: `${found.length} provider(s) found${found.length === 0 ? `, search ${attempt}` : ''}${skipped}${why}`, count: found.length }
    }
    case 'ranked': {
      const { choices, rejected } = event.detail.decision
      if (choices.length === 0) return { stage: 'routed', message: `every provider refused: ${rejected.map(r => r.explain).join('; ')}`, candidates: [] }
      return { stage: 'routed', message: `best of ${choices.length + rejected.length}: ${choices[0].peerId.toString()} (${choices[0].explain})`, candidates: choices.map(c => c.peerId.toString()) }
    }
    case 'progress':
      return { stage: 'running', message: `${(event.detail.permille / 10).toFixed(1)}% ${event.detail.message}`.trim(), permille: event.detail.permille }
    case 'failed-over': {
      const { candidate, error } = event.detail.attempt
      return { stage: 'failed-over', message: `${candidate.toString()} failed (${error?.name ?? 'Error'}: ${error?.message ?? ''}); the next candidate took over`, peer: candidate.toString() }
    }
  }
}

/** A resumed job fails over only with at least this much time left before its deadline, ms. */
const MIN_FAILOVER_MS = 5_000

/**
 * The jobs this node was requesting when it stopped, which the work
 * service resumes from its datastore: each that ends is logged and counted
 * like a submitted one (`job:requested`), and one its provider will not
 * finish (it restarted too, or refuses) fails over through `submitJob`
 * with the same signed job while its deadline leaves time. Listens until
 * `signal` aborts; resolves to how many jobs resume.
 */
export async function resumeRequestedJobs (node: ShoalNode, live: Map<string, LiveJob>, signal: AbortSignal, observer?: NodeObserver, geohash?: string): Promise<number> {
  const work = node.services.work
  const log = node.logger.forComponent('shoal:node:jobs')
  work.addEventListener('job:resumed', (evt) => {
    const { outcome, abandoned } = evt.detail
    const value = outcome.receipt.record.value
    const jobId = toHex(value.jobId)
    const provider = outcome.provider.toString()
    if (abandoned) {
      // its submit ended already (failed or failed over); the provider did the work in time, and is paid for it
      log('job %s: %s finished it in time after the submit gave up on it; receipt %s countersigned and paid', jobId, provider, toHex(outcome.receipt.id))
      return
    }
    log('job %s resumed after the restart: receipt %s from %s', jobId, toHex(outcome.receipt.id), provider)
    receiptReached(observer, outcome, value.startedMs)
  }, { signal })
  work.addEventListener('job:resume-failed', (evt) => {
    const { job, provider, input, deadlineMs, error } = evt.detail
    const value = 'bytes' in job ? job.value : job
    const jobId = toHex(value.jobId)
    const left = deadlineMs - Date.now()
    if (!('bytes' in job) || left < MIN_FAILOVER_MS || signal.aborted) {
      log('job %s could not be resumed after the restart (%s: %s)', jobId, error.name, error.message)
      observer?.jobEnded({ role: 'requester', jobId, peer: provider.toString(), startedAt: value.createdMs, endedAt: Date.now(), outcome: jobOutcome(error), error })
      return
    }
    log('job %s: %s did not finish it after the restart (%s); failing over', jobId, provider.toString(), error.name)
    const spec: JobSpec = {
      kind: value.kind,
      workload: value.workload,
      description: value.description,
      requirements: value.requirements,
      priceCeiling: value.priceCeiling ?? { perUnit: 0, currency: '', unit: '' },
      budget: value.budget,
      deadlineInMs: left,
      input
    }
    const entry: LiveJob = { side: 'requester', jobId, stage: 'resumed', since: Date.now() }
    live.set(`requester:${jobId}`, entry)
    void (async () => {
      try {
        for await (const event of submitJob(node.services, spec, { job, timeoutMs: left, signal: AbortSignal.any([signal, AbortSignal.timeout(left)]), geohash })) {
          entry.stage = event.type === 'receipt' ? 'receipt' : stageOf(event).stage
          if (event.type === 'receipt') receiptReached(observer, event.detail.outcome, value.createdMs)
        }
      } catch (err: unknown) {
        const failure = asError(err)
        log('job %s failed over after the restart and failed (%s: %s)', jobId, failure.name, failure.message)
        observer?.jobEnded({ role: 'requester', jobId, peer: provider.toString(), startedAt: value.createdMs, endedAt: Date.now(), outcome: jobOutcome(failure), error: failure })
      } finally {
        live.delete(`requester:${jobId}`)
      }
    })()
  }, { signal })
  return work.resumeJobs()
}

/** A job requested here ended with its countersigned receipt: log and count it, and the voucher that paid it. */
function receiptReached (observer: NodeObserver | undefined, outcome: WorkJobOutcome, startedAt: number): void {
  const value = outcome.receipt.record.value
  const jobId = toHex(value.jobId)
  const peer = outcome.provider.toString()
  observer?.jobEnded({ role: 'requester', jobId, peer, startedAt, endedAt: Date.now(), outcome: receiptOutcome(value.status), status: value.status, units: value.units, total: value.total, currency: value.price?.currency })
  if (outcome.voucher != null) {
    observer?.voucherSent({ peer, jobId, amount: value.total, currency: outcome.voucher.value.currency, laneTotal: outcome.voucher.value.cumulative })
  }
}
