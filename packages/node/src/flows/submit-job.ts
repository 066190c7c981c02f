import { setTimeout as sleep } from 'node:timers/promises'
import { SEARCH_RESULTS, queryForJob } from '@shoal/discovery'
import { JobKind, requirementsOf } from '@shoal/records'
import { candidateFromCapability } from '@shoal/router'
import { NoProviderError } from '../errors.js'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { Discovery, NearbyProvider, NearbyQuery } from '@shoal/discovery'
import type { JobBoard } from '@shoal/job-board'
import type { ReceiptStore, StoredReceipt } from '@shoal/receipts'
import type { JobAnnouncement, SignedRecord } from '@shoal/records'
import type { AttemptRecord, JobProfile, Router, RouterCandidate, RoutingDecision } from '@shoal/router'
import type { JobSpec, RunOptions, RunOutcome, Work, WorkProgress } from '@shoal/work'

/**
 * The services `submitJob` uses, by the keys `shoalServices()` gives them:
 * pass `node.services`. `receipts` is optional: without it candidates rank
 * by the router's trust alone and the final event carries no stored receipt.
 */
export interface SubmitJobServices {
  jobs: Pick<JobBoard, 'publish'>
  discovery: Pick<Discovery, 'findNearby'>
  router: Pick<Router, 'choose' | 'coordinate'>
  work: Pick<Work, 'createJob' | 'run'>
  receipts?: Pick<ReceiptStore, 'reputation' | 'get'>
}

/** Options of `submitJob`. Every field is optional. */
export interface SubmitJobOptions extends AbortOptions, Pick<RunOptions, 'fetchOutput' | 'maxUnits'> {
  /**
   * Providers to find and rank
   *
   * @default 5
   */
  k?: number
  /**
   * Where the requester is (a geohash): discovery searches outward from it
   *
   * @default the job's `requirements.region`
   */
  geohash?: string
  /** Fields of the discovery query to set instead of those derived from the job */
  query?: Partial<NearbyQuery>
  /** What the router knows of the job beyond its price ceiling and input size (compute time, round trips...) */
  profile?: JobProfile
  /**
   * Discovery rounds while none finds a provider (their records take a moment to land in the DHT)
   *
   * @default 10
   */
  searchAttempts?: number
  /**
   * Wait before the second discovery round, ms; doubles each round up to 5 s
   *
   * @default 500
   */
  searchDelayMs?: number
  /** Give up running after this many ms (all candidates together) */
  timeoutMs?: number
  /**
   * Move to the next candidate after this many ms
   *
   * @default with `timeoutMs`: max(5 s, timeoutMs / candidates); without: none
   */
  attemptTimeoutMs?: number
}

/** A provider discovery found, as a router candidate (coordinate, capacity, price from its record; reputation from our receipts). */
export interface ProviderCandidate extends RouterCandidate {
  /** what discovery returned */
  provider: NearbyProvider
}

/** What `submitJob` ends with. */
export interface SubmitJobResult {
  /** the signed job */
  job: SignedRecord<JobAnnouncement>
  /** output, countersigned receipt, quote, assignment, voucher and every attempt */
  outcome: RunOutcome
  /** the receipt as our receipt store keeps it (absent without a store) */
  stored?: StoredReceipt
}

/**
 * Progress of `submitJob`, one event per step, in the shape of libp2p's
 * `ProgressEvent` (`type` + `detail`). The last event is `receipt`.
 */
export type SubmitJobEvent =
  /** the work service signed the job */
  | { type: 'created', detail: { job: SignedRecord<JobAnnouncement> } }
  /** the job board published it on its topics */
  | { type: 'published', detail: { job: SignedRecord<JobAnnouncement> } }
  /** the job board could not publish it; the job goes on in direct mode (providers are asked for quotes) */
  | { type: 'publish-failed', detail: { error: Error } }
  /** one discovery round ended; `error` when it broke off (the next round still runs) */
  | { type: 'searched', detail: { attempt: number, found: NearbyProvider[], error?: Error } }
  /** the router ranked what discovery found (best first) and said why it refused the rest */
  | { type: 'ranked', detail: { decision: RoutingDecision<ProviderCandidate> } }
  /** the provider running the job reported progress */
  | { type: 'progress', detail: WorkProgress }
  /** an attempt failed and the job moved on to the next candidate (reported once the run ended) */
  | { type: 'failed-over', detail: { attempt: AttemptRecord<PeerId> } }
  /** done: the output and the receipt both sides signed */
  | { type: 'receipt', detail: SubmitJobResult }

const SEARCH_ATTEMPTS = 10
const SEARCH_DELAY_MS = 500
const MAX_SEARCH_DELAY_MS = 5_000
const MIN_ATTEMPT_TIMEOUT_MS = 5_000

/**
 * The requester's flow: sign the job, publish it on the job board, find
 * providers with discovery (from the requester's geohash and Vivaldi
 * coordinate), rank them with the router (their coordinates, capacity,
 * price, and the reputation our receipts give them), run it with the work
 * service down the ranking (failing over) and end with the countersigned
 * receipt. Yields each step; the consumer may act between steps, the
 * generator waits. Stopping the iteration aborts the job.
 *
 * Throws `NoProviderError` when nobody is found or the router refuses
 * everyone, discovery's `InvalidQueryError` for a job it cannot search for,
 * and the router's `AllCandidatesFailedError` / `DeadlineExceededError`
 * when no attempt succeeds.
 *
 * @example
 *
 * ```ts
 * for await (const event of submitJob(node.services, spec, { geohash: 'w21z', signal })) {
 *   if (event.type === 'receipt') console.log(event.detail.outcome.output)
 * }
 * ```
 */
export async function * submitJob (services: SubmitJobServices, spec: JobSpec, options: SubmitJobOptions = {}): AsyncGenerator<SubmitJobEvent, void, undefined> {
  const input = spec.input ?? new Uint8Array()
  const query = nearbyQuery(spec, services.router.coordinate, options)
  const job = await services.work.createJob({ ...spec, input })
  yield { type: 'created', detail: { job } }

  try {
    // the record the work service signed goes on the board as is: one signature per job
    await services.jobs.publish(job, { signal: options.signal })
    yield { type: 'published', detail: { job } }
  } catch (err: unknown) {
    options.signal?.throwIfAborted()
    yield { type: 'publish-failed', detail: { error: asError(err) } }
  }

  let found: NearbyProvider[] = []
  for await (const round of findProviders(services, query, options)) {
    found = round.found
    yield { type: 'searched', detail: round }
  }
  if (found.length === 0) {
    throw new NoProviderError('no provider found for this job')
  }

  const decision = await rankProviders(services, found, { priceCeiling: spec.priceCeiling.perUnit, transferBytes: input.byteLength, ...options.profile }, options)
  yield { type: 'ranked', detail: { decision } }
  if (decision.choices.length === 0) {
    const reasons = decision.rejected.map(r => r.explain)
    throw new NoProviderError(`the router refused all ${found.length} provider(s) found: ${reasons.join('; ')}`, reasons)
  }

  const order = decision.choices.map(c => c.peerId)
  const attemptTimeoutMs = options.attemptTimeoutMs ?? (options.timeoutMs == null ? undefined : Math.max(MIN_ATTEMPT_TIMEOUT_MS, Math.floor(options.timeoutMs / order.length)))
  const progress: SubmitJobEvent[] = []
  const outcome = yield * whileRunning(progress, async (signal) => services.work.run(order, job, input, {
    signal,
    timeoutMs: options.timeoutMs,
    attemptTimeoutMs,
    fetchOutput: options.fetchOutput,
    maxUnits: options.maxUnits,
    onProgress: (detail) => { progress.push({ type: 'progress', detail }) }
  }), options.signal)

  for (const attempt of outcome.attempts.filter(a => !a.ok && !a.cancelled)) {
    yield { type: 'failed-over', detail: { attempt } }
  }
  yield { type: 'receipt', detail: { job, outcome, stored: await storedReceipt(services, outcome.receipt.id, options) } }
}

/** The discovery query a job asks for: its requirements, its price ceiling, where the requester is. */
export function nearbyQuery (spec: JobSpec, coordinate: NearbyQuery['coordinate'], options: Pick<SubmitJobOptions, 'geohash' | 'query'> = {}): NearbyQuery {
  const job = { kind: spec.kind ?? JobKind.GPU_INFERENCE, requirements: requirementsOf(spec.requirements), priceCeiling: spec.priceCeiling }
  return { ...queryForJob(job, options.geohash), coordinate, ...options.query }
}

/**
 * Search until a round finds someone or the rounds run out, waiting longer
 * each time. A round that breaks off is reported, not hidden; a query
 * discovery refuses (`InvalidQueryError`) or an abort ends the search.
 */
async function * findProviders (services: SubmitJobServices, query: NearbyQuery, options: SubmitJobOptions): AsyncGenerator<{ attempt: number, found: NearbyProvider[], error?: Error }> {
  const attempts = options.searchAttempts ?? SEARCH_ATTEMPTS
  let delay = options.searchDelayMs ?? SEARCH_DELAY_MS
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const found: NearbyProvider[] = []
    let error: Error | undefined
    try {
      for await (const provider of services.discovery.findNearby(query, { k: options.k ?? SEARCH_RESULTS, signal: options.signal })) {
        found.push(provider)
      }
    } catch (err: unknown) {
      options.signal?.throwIfAborted()
      if (asError(err).name === 'InvalidQueryError') throw err
      error = asError(err)
    }
    yield { attempt, found, error }
    if (found.length > 0) return
    if (attempt < attempts) {
      await sleep(delay, undefined, { signal: options.signal })
      delay = Math.min(delay * 2, MAX_SEARCH_DELAY_MS)
    }
  }
}

/** Rank what discovery found with the router: each provider's record (coordinate, capacity, price) and the reputation our receipts give it. */
async function rankProviders (services: SubmitJobServices, found: NearbyProvider[], profile: JobProfile, options: AbortOptions): Promise<RoutingDecision<ProviderCandidate>> {
  const candidates = await Promise.all(found.map(async (provider): Promise<ProviderCandidate> => ({
    ...candidateFromCapability(provider.record.value, {
      reputation: services.receipts == null ? undefined : await services.receipts.reputation(provider.peerId, options)
    }),
    provider
  })))
  return services.router.choose(candidates, profile, { signal: options.signal })
}

/**
 * Run `task`, yielding the events it queues while it runs, then return its
 * result. Leaving early (the consumer stopped iterating) aborts it.
 */
async function * whileRunning<T> (queue: SubmitJobEvent[], task: (signal: AbortSignal) => Promise<T>, outer?: AbortSignal): AsyncGenerator<SubmitJobEvent, T, undefined> {
  const controller = new AbortController()
  const signal = outer == null ? controller.signal : AbortSignal.any([outer, controller.signal])
  let settled: { ok: true, value: T } | { ok: false, error: unknown } | undefined
  let wake: (() => void) | undefined
  task(signal).then(
    value => { settled = { ok: true, value }; wake?.() },
    error => { settled = { ok: false, error }; wake?.() }
  )
  try {
    while (true) {
      const next = queue.shift()
      if (next != null) {
        yield next
        continue
      }
      if (settled != null) break
      await new Promise<void>(resolve => { wake = resolve })
    }
  } finally {
    if (settled == null) controller.abort()
  }
  const result: { ok: true, value: T } | { ok: false, error: unknown } = settled
  if (!result.ok) throw result.error
  return result.value
}

/** The receipt as our store keeps it; none when the work service had no store to put it in. */
async function storedReceipt (services: SubmitJobServices, id: Uint8Array, options: AbortOptions): Promise<StoredReceipt | undefined> {
  if (services.receipts == null) return undefined
  try {
    return await services.receipts.get(id, options)
  } catch (err: unknown) {
    if (asError(err).name === 'ReceiptNotFoundError') return undefined
    throw err
  }
}

function asError (err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}
