import { setTimeout as sleep } from 'node:timers/promises'
import { SEARCH_RESULTS, queryForJob } from '@shoal/discovery'
import { JobKind, matchOffer, requirementsOf } from '@shoal/records'
import { candidateFromCapability } from '@shoal/router'
import { asError, errorName, untilAborted } from '@shoal/utils'
import { pushable } from 'it-pushable'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { NoProviderError } from '../errors.js'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { Discovery, NearbyProvider, NearbyQuery } from '@shoal/discovery'
import type { JobBoard } from '@shoal/job-board'
import type { ReceiptStore, StoredReceipt } from '@shoal/receipts'
import type { JobAnnouncement, Quote, SignedRecord } from '@shoal/records'
import type { AttemptRecord, JobProfile, Router, RouterCandidate, RoutingDecision } from '@shoal/router'
import type { JobSpec, RunOptions, RunOutcome, VerifyPolicy, Work, WorkProgress } from '@shoal/work'
import type { Pushable } from 'it-pushable'

/**
 * The services `submitJob` uses, by the keys `shoalServices()` gives them:
 * pass `node.services`. `receipts` is optional: without it candidates rank
 * by the router's trust alone and the final event carries no stored receipt.
 */
export interface SubmitJobServices {
  jobs: Pick<JobBoard, 'publish'>
  discovery: Pick<Discovery, 'findNearby'>
  router: Pick<Router, 'choose' | 'coordinate'>
  /** `addEventListener` / `removeEventListener` / `offersFor` (optional): quotes providers offer for the job on the board join the candidates */
  work: Pick<Work, 'createJob' | 'run'> & Partial<Pick<Work, 'addEventListener' | 'removeEventListener' | 'offersFor'>>
  receipts?: Pick<ReceiptStore, 'reputation' | 'get'>
}

/** Options of `submitJob`. Every field is optional. */
export interface SubmitJobOptions extends AbortOptions, Pick<RunOptions, 'fetchOutput' | 'checkResult' | 'maxUnits'> {
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
  /**
   * How long the job board may answer first, ms: providers that see the
   * job there quote it within a few round trips, and a discovery search
   * (DHT lookups of several cells, record fetches) costs the network far
   * more. The search starts when this passes without a quote, or at once
   * when the job could not be published.
   *
   * @default 1000
   */
  boardWaitMs?: number
  /**
   * How long to wait for more candidates once the first is known, ms:
   * providers that quote the job on the board arrive within a few round
   * trips, a search can take several DHT lookups. Ranking starts when a
   * search round ends with providers, when `k` candidates are known, or
   * when this window closes, whichever comes first.
   *
   * @default 1000
   */
  gatherMs?: number
  /**
   * Rounds of gather, rank and run: when every candidate of a round failed
   * (`AllCandidatesFailedError`: busy, gone, broken) and time is left, the
   * job gathers candidates again (a discovery search at once) after a
   * backoff from 500 ms
   *
   * @default 3
   */
  rounds?: number
  /** Give up running after this many ms (all rounds and candidates together) */
  timeoutMs?: number
  /**
   * The job, signed already (one a restart cut off, failed over with the
   * same id): it is published and run as is instead of a new one from `spec`
   */
  job?: SignedRecord<JobAnnouncement>
  /**
   * How the result is checked before it is countersigned (`@shoal/work`'s
   * `RunOptions.verify`): redundant runs to a quorum, spot checks, known
   * answers, replay checks; false: run once, unchecked
   *
   * @default the work service's own policy (`WorkInit.verify`)
   */
  verify?: VerifyPolicy | false
  /**
   * Move to the next candidate after this many ms
   *
   * @default with `timeoutMs`: max(5 s, timeoutMs / candidates); without: none
   */
  attemptTimeoutMs?: number
}

/**
 * A provider that discovery found or that quoted the job on the board, as
 * a router candidate: coordinate, capacity and price from its capability
 * record (or its quote's free slots and price), reputation from our receipts.
 */
export interface ProviderCandidate extends RouterCandidate {
  /** what discovery returned (absent for a provider known only by its quote) */
  provider?: NearbyProvider
  /** the quote it offered on the board, if it did: the run assigns it without asking again */
  quote?: SignedRecord<Quote>
}

/** What `submitJob` ends with. */
export interface SubmitJobResult {
  /** the signed job */
  job: SignedRecord<JobAnnouncement>
  /** output, countersigned receipt, quote, assignment, voucher and every attempt */
  outcome: RunOutcome
  /** the receipt as our receipt store keeps it (absent without a store) */
  stored?: StoredReceipt
  /** why the store could not be read back: the job is done all the same, its receipt is in `outcome` */
  storeError?: Error
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
  /** a provider offered a quote for the job (open market: it saw the job on the board) */
  | { type: 'quoted', detail: { quote: SignedRecord<Quote> } }
  /** one discovery round ended; `error` when it broke off (the next round still runs) */
  | { type: 'searched', detail: SearchRound }
  /** the router ranked what discovery found (best first) and said why it refused the rest */
  | { type: 'ranked', detail: { decision: RoutingDecision<ProviderCandidate> } }
  /** the provider running the job reported progress */
  | { type: 'progress', detail: WorkProgress }
  /** an attempt failed and the job moved on to the next candidate (as it happens; the last candidate's failure is the error thrown) */
  | { type: 'failed-over', detail: { attempt: AttemptRecord<PeerId> } }
  /** every candidate failed (busy, gone, broken): candidates are gathered again after `delayMs` (see `rounds`) */
  | { type: 'retrying', detail: { round: number, error: Error, delayMs: number } }
  /** done: the output and the receipt both sides signed */
  | { type: 'receipt', detail: SubmitJobResult }

/** One round of the search: who would bid, who was found but would not, and why a round broke off. */
export interface SearchRound {
  /** which round, from 1 */
  attempt: number
  /** providers found whose offer matches the job (records' `matchOffer`) */
  found: NearbyProvider[]
  /** providers found whose offer does not (another region, hardware, price...), with the reasons */
  unmatched: Array<{ provider: NearbyProvider, reasons: string[] }>
  /** the search broke off with this error */
  error?: Error
}

const SEARCH_ATTEMPTS = 10
const SEARCH_DELAY_MS = 500
const MAX_SEARCH_DELAY_MS = 5_000
const MIN_ATTEMPT_TIMEOUT_MS = 5_000
const GATHER_MS = 1_000
const BOARD_WAIT_MS = 1_000
const ROUNDS = 3
const RETRY_DELAY_MS = 500

/**
 * The requester's flow: sign the job, publish it on the job board, gather
 * candidates (the quotes providers offer after seeing it there; a search
 * with discovery, from the requester's geohash and Vivaldi coordinate,
 * when none quotes within `boardWaitMs`), rank them with the router (their
 * coordinates, capacity, price, and the reputation our receipts give
 * them), run it with the work service down the ranking (failing over,
 * gathering again for up to `rounds` when every candidate failed) and end
 * with the countersigned receipt. Yields each step; the consumer may act between steps, the
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
  const job = options.job ?? await services.work.createJob({ ...spec, input })
  yield { type: 'created', detail: { job } }

  let published = false
  try {
    // the record the work service signed goes on the board as is: one signature per job
    await services.jobs.publish(job, { signal: options.signal })
    published = true
    yield { type: 'published', detail: { job } }
  } catch (err: unknown) {
    options.signal?.throwIfAborted()
    yield { type: 'publish-failed', detail: { error: asError(err) } }
  }

  // the run's time (timeoutMs) counts from the first run: every round and candidate share it; and none runs past
  // the job's own deadline (providers decline a job whose deadline passed, and end its run there)
  let started: number | undefined
  const left = (): number | undefined => options.timeoutMs == null ? undefined : Math.max(0, Math.round(options.timeoutMs - (started == null ? 0 : performance.now() - started)))
  /** what is left of the run's time and of the job's deadline, whichever ends first */
  const leftForJob = (): number => Math.max(0, Math.min(left() ?? Infinity, job.value.deadlineMs - Date.now()))
  let lastError: unknown
  let retryDelay = RETRY_DELAY_MS
  for (let round = 1; ; round++) {
    // later rounds search at once: the board answered the announcement already
    const gathered = yield * gatherCandidates(services, query, job, { ...options, boardWaitMs: published && round === 1 ? options.boardWaitMs : 0 })
    // a later round that finds nobody ends with what ended the round before
    if (gathered.found.length === 0 && gathered.quotes.length === 0 && lastError != null) throw lastError
    if (gathered.found.length === 0 && gathered.quotes.length === 0) {
      const reasons = gathered.unmatched.map(u => `${u.provider.peerId.toString()}: ${u.reasons.join(', ')}`)
      throw new NoProviderError(reasons.length === 0 ? 'no provider found for this job' : `no provider found would bid for this job: ${reasons.join('; ')}`, reasons)
    }

    // where we are and the region the job needs: the router checks providers' claimed places against the RTT it measures
    const region = job.value.requirements?.region !== '' ? job.value.requirements?.region : undefined
    const decision = await rankProviders(services, gathered, { priceCeiling: spec.priceCeiling.perUnit, transferBytes: input.byteLength, region, ...options.profile }, { signal: options.signal, geohash: options.geohash })
    yield { type: 'ranked', detail: { decision } }
    if (decision.choices.length === 0 && lastError != null) throw lastError
    if (decision.choices.length === 0) {
      const reasons = decision.rejected.map(r => r.explain)
      throw new NoProviderError(`the router refused all ${decision.rejected.length} provider(s) found: ${reasons.join('; ')}`, reasons)
    }

    const order = decision.choices.map(c => c.peerId)
    const last = order[order.length - 1]
    started ??= performance.now()
    const timeoutMs = left()
    const attemptTimeoutMs = options.attemptTimeoutMs ?? (timeoutMs == null ? undefined : Math.max(MIN_ATTEMPT_TIMEOUT_MS, Math.floor(timeoutMs / order.length)))
    let outcome: RunOutcome
    try {
      outcome = yield * whileRunning(async (signal, events) => services.work.run(order, job, input, {
        signal,
        timeoutMs,
        deadlineMs: job.value.deadlineMs,
        attemptTimeoutMs,
        fetchOutput: options.fetchOutput,
        checkResult: options.checkResult,
        maxUnits: options.maxUnits,
        verify: options.verify,
        onProgress: (detail) => { events.push({ type: 'progress', detail }) },
        onAttempt: (attempt) => {
          // after the last candidate nobody takes over: its failure is what run() throws
          if (!attempt.ok && !attempt.candidate.equals(last)) events.push({ type: 'failed-over', detail: { attempt } })
        }
      }), options.signal)
    } catch (err: unknown) {
      // every candidate failed (busy, gone, broken): while time is left, gather afresh and try again
      const remaining = leftForJob()
      // busy providers said how long they need: wait that long (the longest that still leaves time for an attempt)
      const delayMs = Math.max(retryDelay, busyRetryAfter(err, remaining - MIN_ATTEMPT_TIMEOUT_MS))
      if (errorName(err) !== 'AllCandidatesFailedError' || round >= (options.rounds ?? ROUNDS) || remaining < delayMs + MIN_ATTEMPT_TIMEOUT_MS) throw err
      options.signal?.throwIfAborted()
      lastError = err
      yield { type: 'retrying', detail: { round, error: asError(err), delayMs } }
      await sleep(delayMs, undefined, { signal: options.signal })
      retryDelay = Math.min(retryDelay * 2, MAX_SEARCH_DELAY_MS)
      continue
    }

    yield { type: 'receipt', detail: { job, outcome, ...await storedReceipt(services, outcome.receipt.id, options) } }
    return
  }
}

/** The discovery query a job asks for: its requirements, its price ceiling, where the requester is. */
export function nearbyQuery (spec: JobSpec, coordinate: NearbyQuery['coordinate'], options: Pick<SubmitJobOptions, 'geohash' | 'query'> = {}): NearbyQuery {
  const job = { kind: spec.kind ?? JobKind.GPU_INFERENCE, requirements: requirementsOf(spec.requirements), priceCeiling: spec.priceCeiling }
  return { ...queryForJob(job, options.geohash), coordinate, ...options.query }
}

/**
 * Search until a round finds someone (who would bid, or who would not:
 * another search finds the same) or the rounds run out, waiting longer
 * each time. A round that breaks off is reported, not hidden; a query
 * discovery refuses (`InvalidQueryError`) or an abort ends the search.
 */
/** Longest a search shared by several jobs may take, ms (no single job's signal bounds it). */
const SHARED_SEARCH_TIMEOUT_MS = 60_000

/** Searches in flight, per discovery service, by what they ask. */
const searches = new WeakMap<object, Map<string, Promise<NearbyProvider[]>>>()

/**
 * The providers a search for `query` finds, shared by every job asking the
 * same at the same time: a burst of like jobs searches the DHT once, not
 * once each (each search of a job with no region asks dozens of keys). A
 * job that gives up stops waiting; the search goes on for the others.
 */
async function sharedSearch (discovery: SubmitJobServices['discovery'], query: NearbyQuery, k: number, signal?: AbortSignal): Promise<NearbyProvider[]> {
  let inFlight = searches.get(discovery)
  if (inFlight == null) {
    inFlight = new Map()
    searches.set(discovery, inFlight)
  }
  // the coordinate only orders the results, and a requester's jobs share it
  const key = JSON.stringify([{ ...query, coordinate: undefined }, k])
  let search = inFlight.get(key)
  if (search == null) {
    const running = (async () => {
      const found: NearbyProvider[] = []
      for await (const provider of discovery.findNearby(query, { k, signal: AbortSignal.timeout(SHARED_SEARCH_TIMEOUT_MS) })) found.push(provider)
      return found
    })()
    const map = inFlight
    search = running.finally(() => { map.delete(key) })
    // every job waiting may have given up by the time it fails: that failure is theirs to see, or nobody's
    search.catch(() => {})
    inFlight.set(key, search)
  }
  return untilAborted(search, signal)
}

async function * findProviders (services: SubmitJobServices, query: NearbyQuery, job: JobAnnouncement, options: SubmitJobOptions): AsyncGenerator<SearchRound> {
  const attempts = options.searchAttempts ?? SEARCH_ATTEMPTS
  let delay = options.searchDelayMs ?? SEARCH_DELAY_MS
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const found: NearbyProvider[] = []
    const unmatched: SearchRound['unmatched'] = []
    let error: Error | undefined
    try {
      for (const provider of await sharedSearch(services.discovery, query, options.k ?? SEARCH_RESULTS, options.signal)) {
        // a search widens past the job's region and cannot ask for kinds: keep only who would bid
        const { mismatches } = matchOffer(job, provider.record.value)
        if (mismatches.length === 0) {
          found.push(provider)
        } else {
          unmatched.push({ provider, reasons: mismatches.map(m => m.reason) })
        }
      }
    } catch (err: unknown) {
      options.signal?.throwIfAborted()
      if (errorName(err) === 'InvalidQueryError') throw err
      error = asError(err)
    }
    yield { attempt, found, unmatched, error }
    // the network answered: searching again finds the same providers
    if (found.length > 0 || unmatched.length > 0) return
    if (attempt < attempts) {
      await sleep(delay, undefined, { signal: options.signal })
      delay = Math.min(delay * 2, MAX_SEARCH_DELAY_MS)
    }
  }
}

/** The candidates of a job: providers a search found and providers that quoted it on the board. */
interface Gathered {
  found: NearbyProvider[]
  /** providers the last search round found that would not bid, with why */
  unmatched: SearchRound['unmatched']
  quotes: Array<SignedRecord<Quote>>
}

/** What arrives while candidates are gathered. */
type GatherItem =
  | { quote: SignedRecord<Quote> }
  | { round: SearchRound }
  | { searchEnded: true }
  | { searchFailed: Error }
  | { windowClosed: true }

/**
 * Gather candidates: the quotes providers offer for the job on the board,
 * and, when none came within `boardWaitMs`, a search with discovery
 * (rounds with backoff, as `findProviders`). Ends when a search round ends
 * with providers, when `k` distinct candidates are known, when `gatherMs`
 * passed since the first, or when the search gave up and no quote came.
 * Yields each quote and round as it arrives.
 */
async function * gatherCandidates (services: SubmitJobServices, query: NearbyQuery, job: SignedRecord<JobAnnouncement>, options: SubmitJobOptions): AsyncGenerator<SubmitJobEvent, Gathered, undefined> {
  const k = options.k ?? SEARCH_RESULTS
  const controller = new AbortController()
  const signal = options.signal == null ? controller.signal : AbortSignal.any([options.signal, controller.signal])
  const items = pushable<GatherItem>({ objectMode: true })
  const quotes = new Map<string, SignedRecord<Quote>>()
  const onQuote = (evt: CustomEvent<SignedRecord<Quote>>): void => {
    if (uint8ArrayEquals(evt.detail.value.jobId, job.value.jobId)) items.push({ quote: evt.detail })
  }
  services.work.addEventListener?.('quote:received', onQuote)
  // offers held from before (an earlier round) count while they are valid: an expired one would be asked again anyway
  const now = Date.now()
  for (const quote of services.work.offersFor?.(job.value.jobId) ?? []) {
    if (quote.value.expiresMs > now) items.push({ quote })
  }
  const search = (): void => {
    void (async () => {
      for await (const round of findProviders(services, query, job.value, { ...options, signal })) items.push({ round })
    })().then(() => items.push({ searchEnded: true }), (err: unknown) => items.push({ searchFailed: asError(err) }))
  }
  // the board first: search only if no provider quoted in time
  // a work service that cannot report quotes offered on the board gets none to wait for
  const boardWait = services.work.addEventListener == null ? 0 : options.boardWaitMs ?? BOARD_WAIT_MS
  const searchTimer = boardWait > 0 ? setTimeout(() => { if (quotes.size === 0) { search() } else { items.push({ searchEnded: true }) } }, boardWait) : undefined
  if (searchTimer == null) search()

  let lastRound: SearchRound | undefined
  let searching = true
  let timer: ReturnType<typeof setTimeout> | undefined
  const known = (): number => new Set([...quotes.keys(), ...(lastRound?.found ?? []).map(p => p.peerId.toString())]).size
  try {
    for await (const item of items) {
      if ('quote' in item) {
        const id = item.quote.signer.toString()
        if (quotes.has(id)) continue
        quotes.set(id, item.quote)
        yield { type: 'quoted', detail: { quote: item.quote } }
        timer ??= setTimeout(() => items.push({ windowClosed: true }), options.gatherMs ?? GATHER_MS)
      } else if ('round' in item) {
        lastRound = item.round
        yield { type: 'searched', detail: item.round }
        if (item.round.found.length > 0) break
      } else if ('searchFailed' in item) {
        options.signal?.throwIfAborted()
        throw item.searchFailed
      } else if ('searchEnded' in item) {
        searching = false
        if (quotes.size === 0) break
      } else {
        break
      }
      if (known() >= k) break
      if (!searching && timer == null) break
    }
  } finally {
    clearTimeout(timer)
    clearTimeout(searchTimer)
    controller.abort()
    services.work.removeEventListener?.('quote:received', onQuote)
    items.end()
  }
  options.signal?.throwIfAborted()
  return { found: lastRound?.found ?? [], unmatched: lastRound?.unmatched ?? [], quotes: [...quotes.values()] }
}

/**
 * The longest wait busy providers asked for in a failover's errors
 * (`ProviderBusyError.retryAfterMs`) that is at most `limit` ms; 0 when none did.
 */
export function busyRetryAfter (err: unknown, limit?: number): number {
  const errors = err instanceof Error && 'errors' in err && Array.isArray(err.errors) ? err.errors : []
  let longest = 0
  for (const e of errors) {
    const wait = typeof e === 'object' && e != null && 'retryAfterMs' in e && typeof e.retryAfterMs === 'number' ? e.retryAfterMs : 0
    if (Number.isFinite(wait) && wait > longest && (limit == null || wait <= limit)) {
      longest = wait
    }
  }
  return longest
}

/** What a quote says of its provider's capacity and price, as router candidate fields. */
function termsOf (quote: SignedRecord<Quote> | undefined): Pick<RouterCandidate, 'freeSlots' | 'price'> {
  return quote == null ? {} : { freeSlots: quote.value.freeSlots, price: quote.value.price?.perUnit }
}

/**
 * Rank the candidates with the router: each found provider's record
 * (coordinate, capacity, price), each quote's free slots and price, and the
 * reputation our receipts give them.
 */
async function rankProviders (services: SubmitJobServices, gathered: Gathered, profile: JobProfile, options: AbortOptions & { geohash?: string }): Promise<RoutingDecision<ProviderCandidate>> {
  const quotes = new Map(gathered.quotes.map(q => [q.signer.toString(), q]))
  const candidates: ProviderCandidate[] = await Promise.all(gathered.found.map(async (provider): Promise<ProviderCandidate> => {
    const quote = quotes.get(provider.peerId.toString())
    quotes.delete(provider.peerId.toString())
    // a quote is newer than the record: its free slots and price stand
    return { ...candidateFromCapability(provider.record.value, { reputation: await reputationOf(services, provider.peerId, options), ...termsOf(quote) }), provider, quote }
  }))
  for (const quote of quotes.values()) {
    candidates.push({ peerId: quote.signer, reputation: await reputationOf(services, quote.signer, options), ...termsOf(quote), quote })
  }
  // a quoting provider's coordinate is unknown (no record): probe them all, or the ranking cannot tell near from far
  const probes = candidates.some(c => c.coordinate == null) ? candidates.length : undefined
  return services.router.choose(candidates, profile, { signal: options.signal, probes, geohash: options.geohash })
}

/**
 * Run `task`, yielding each event it pushes as soon as it pushes it (the
 * callbacks of a run cannot yield themselves), then return its result.
 * Leaving early (the consumer stopped iterating) aborts it.
 */
async function * whileRunning<T> (task: (signal: AbortSignal, events: Pushable<SubmitJobEvent>) => Promise<T>, outer?: AbortSignal): AsyncGenerator<SubmitJobEvent, T, undefined> {
  const controller = new AbortController()
  const signal = outer == null ? controller.signal : AbortSignal.any([outer, controller.signal])
  const events = pushable<SubmitJobEvent>({ objectMode: true })
  const running = task(signal, events).finally(() => { events.end() })
  // read below once the events end; a consumer that left early never reads it
  running.catch(() => {})
  let drained = false
  try {
    yield * events
    drained = true
  } finally {
    if (!drained) controller.abort()
  }
  return await running
}

/** What our receipts say of a provider; none without a store, or when the store cannot answer (ranking then uses the router's trust alone). */
async function reputationOf (services: SubmitJobServices, peer: PeerId, options: AbortOptions): Promise<number | undefined> {
  try {
    return await services.receipts?.reputation(peer, options)
  } catch {
    options.signal?.throwIfAborted()
    return undefined
  }
}

/**
 * The receipt as our store keeps it: none when the work service had no
 * store to put it in, and the store's error when it cannot be read back
 * (the job is done and countersigned all the same).
 */
async function storedReceipt (services: SubmitJobServices, id: Uint8Array, options: AbortOptions): Promise<Pick<SubmitJobResult, 'stored' | 'storeError'>> {
  if (services.receipts == null) return {}
  try {
    return { stored: await services.receipts.get(id, options) }
  } catch (err: unknown) {
    if (errorName(err) === 'ReceiptNotFoundError') return {}
    return { storeError: asError(err) }
  }
}
