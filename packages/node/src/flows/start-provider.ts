import { TypedEventEmitter } from '@libp2p/interface'
import type { TypedEventTarget } from '@libp2p/interface'
import type { AdvertiseResult, Discovery, Offer } from '@shoal/discovery'
import type { JobBoardEvents, JobEntry } from '@shoal/job-board'
import type { Quote, SignedRecord } from '@shoal/records'
import type { Work } from '@shoal/work'
import { asError } from '@shoal/utils'

/**
 * The services `startProvider` uses, by the keys `shoalServices()` gives
 * them: pass `node.services`. The work service quotes with the bid policy,
 * price and executor it was built with.
 */
export interface StartProviderServices {
  discovery: Pick<Discovery, 'advertise'>
  jobs: Pick<TypedEventTarget<JobBoardEvents>, 'addEventListener' | 'removeEventListener'>
  work: Pick<Work, 'onJobAnnounced'>
}

/** Options of `startProvider`. Every field is optional. */
export interface StartProviderOptions {
  /**
   * Wait before advertising again after a failed attempt, ms; doubles each time
   *
   * @default 1000
   */
  retryDelayMs?: number
  /**
   * Longest wait between attempts, ms
   *
   * @default 60000
   */
  maxRetryDelayMs?: number
  /**
   * Time one advertise may take, ms
   *
   * @default 30000
   */
  advertiseTimeoutMs?: number
}

/** Events of a running provider. */
export interface ProviderEvents {
  /** the offer is advertised: every key reached a DHT peer */
  'advertised': CustomEvent<AdvertiseResult>
  /** an advertise attempt failed or left keys no DHT peer took; another follows after `retryIn` ms */
  'advertise:failed': CustomEvent<{ error?: Error, result?: AdvertiseResult, retryIn: number }>
  /** a job announced on the board was answered with a quote */
  'quote:sent': CustomEvent<{ job: JobEntry, quote: SignedRecord<Quote> }>
  /** answering a job announced on the board failed (the job is skipped) */
  'quote:failed': CustomEvent<{ job: JobEntry, error: Error }>
}

/** What `startProvider` returns. */
export interface ProviderHandle extends TypedEventTarget<ProviderEvents> {
  /** resolves with the first advertisement that reached a DHT peer for every key (rejects if stopped before) */
  readonly advertised: Promise<AdvertiseResult>
  /** stop advertising (no more retries) and stop quoting announced jobs; jobs already running go on */
  stop(): void
}

const RETRY_DELAY_MS = 1_000
const MAX_RETRY_DELAY_MS = 60_000
const ADVERTISE_TIMEOUT_MS = 30_000

class ProviderRole extends TypedEventEmitter<ProviderEvents> implements ProviderHandle {
  readonly advertised: Promise<AdvertiseResult>
  private readonly services: StartProviderServices
  private readonly offer: Offer
  private readonly maxRetryDelay: number
  private readonly advertiseTimeout: number
  private readonly controller = new AbortController()
  private resolveAdvertised: (result: AdvertiseResult) => void = () => {}
  private rejectAdvertised: (err: Error) => void = () => {}
  private retryDelay: number
  private timer?: ReturnType<typeof setTimeout>

  constructor (services: StartProviderServices, offer: Offer, options: StartProviderOptions) {
    super()
    this.services = services
    this.offer = offer
    this.retryDelay = options.retryDelayMs ?? RETRY_DELAY_MS
    this.maxRetryDelay = options.maxRetryDelayMs ?? MAX_RETRY_DELAY_MS
    this.advertiseTimeout = options.advertiseTimeoutMs ?? ADVERTISE_TIMEOUT_MS
    this.advertised = new Promise((resolve, reject) => {
      this.resolveAdvertised = resolve
      this.rejectAdvertised = reject
    })
    // a caller that never awaits it must not see an unhandled rejection on stop
    this.advertised.catch(() => {})
    this.onAnnounced = this.onAnnounced.bind(this)
    services.jobs.addEventListener('job:announced', this.onAnnounced)
    void this.advertise()
  }

  stop (): void {
    if (this.controller.signal.aborted) return
    this.controller.abort()
    clearTimeout(this.timer)
    this.services.jobs.removeEventListener('job:announced', this.onAnnounced)
    this.rejectAdvertised(Object.assign(new Error('the provider stopped before its offer was advertised'), { name: 'AbortError' }))
  }

  /** Advertise; until a DHT peer took every key (the DHT may have no peer yet at start), again with backoff. */
  private async advertise (): Promise<void> {
    this.timer = undefined
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.advertiseTimeout)])
    let result: AdvertiseResult | undefined
    let error: Error | undefined
    try {
      result = await this.services.discovery.advertise(this.offer, { signal })
    } catch (err: unknown) {
      error = asError(err)
    }
    if (this.controller.signal.aborted) return
    if (result != null && result.failed.length === 0) {
      this.safeDispatchEvent('advertised', { detail: result })
      this.resolveAdvertised(result)
      return
    }
    const retryIn = this.retryDelay
    this.retryDelay = Math.min(this.retryDelay * 2, this.maxRetryDelay)
    this.safeDispatchEvent('advertise:failed', { detail: { error, result, retryIn } })
    this.timer = setTimeout(() => { void this.advertise() }, retryIn)
  }

  /** Open market: answer a job another peer announced with a quote, if the work service's bid policy bids. */
  private onAnnounced (evt: CustomEvent<JobEntry>): void {
    const job = evt.detail
    if (job.source === 'local') return
    this.services.work.onJobAnnounced(job.record, { signal: this.controller.signal }).then(
      quote => { if (quote != null) this.safeDispatchEvent('quote:sent', { detail: { job, quote } }) },
      (err: unknown) => { this.safeDispatchEvent('quote:failed', { detail: { job, error: asError(err) } }) }
    )
  }
}

/**
 * The provider's flow: advertise `offer` with discovery, retrying with
 * backoff until a DHT peer took it, and answer jobs announced on the job
 * board with the work service's quotes. Discovery withdraws the
 * advertisement itself when the node stops; `stop()` ends the retries and
 * the quoting earlier (e.g. to drain).
 *
 * @example
 *
 * ```ts
 * const provider = startProvider(node.services, { geohash: 'w21z7', gpus, price })
 * await provider.advertised
 * ```
 */
export function startProvider (services: StartProviderServices, offer: Offer, options: StartProviderOptions = {}): ProviderHandle {
  return new ProviderRole(services, offer, options)
}
