/**
 * What the work service's roles share: the components, the options with
 * their defaults applied, the clock, events and the receipt store. The
 * service makes one and hands it to its requester and provider roles, so
 * neither calls back into the service class.
 */

import { priceBidPolicy } from './bid-policy.js'
import { relayedJobPolicy } from './relayed.js'
import {
  ASSIGNMENT_TTL_MS, CONCURRENCY, JOB_TIMEOUT_MS, LATE_FACTOR, MAX_IDLE_STREAMS, MAX_INBOUND_STREAMS, MAX_INPUT_BYTES, MAX_JOBS, MAX_OUTBOUND_STREAMS, MAX_QUEUED,
  MAX_OUTPUT_BYTES, MAX_UNPAID, MAX_UNPAID_JOBS, MAX_USED_QUOTES, MESSAGE_OVERHEAD_BYTES, METER_INTERVAL_MS, PROTOCOL, QUOTE_BURST, QUOTE_RATE, QUOTE_TTL_MS, STEP_TIMEOUT_MS
} from './constants.js'
import type { BidPolicy } from './bid-policy.js'
import type { Executor } from './executor.js'
import type { RelayedJobPolicy } from './relayed.js'
import type { MeterInput, ReceiptSink, VerifyPolicy, WorkComponents, WorkEvents, WorkInit } from './index.js'
import type { AbortOptions, CounterGroup, Logger, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { CountersignedRecord, SignedRecord, WorkReceipt } from '@shoal/records'

/** The service's options with every default applied. */
export interface WorkSettings {
  protocol: string
  executor?: Executor
  bidPolicy?: BidPolicy
  concurrency: number
  maxQueued: number
  maxInputBytes: number
  maxOutputBytes: number
  /** largest frame: the larger inline payload plus room for the records around it */
  maxMessageBytes: number
  stepTimeoutMs: number
  jobTimeoutMs: number
  quoteTtlMs: number
  assignmentTtlMs: number
  maxJobs: number
  maxUnpaid: number
  maxUnpaidJobs: number
  lateFactor: number
  payWithVouchers: boolean
  payEvery: number
  meterIntervalMs: number
  gpusPerJob: number
  meter?(input: MeterInput): number
  maxIdleStreams: number
  /** the provider drops a stream idle for stepTimeoutMs; the requester stops reusing its own well before that */
  idleStreamTimeoutMs: number
  maxInboundStreams: number
  maxOutboundStreams: number
  runOnLimitedConnection: boolean
  /** the work handler takes streams on limited connections (then the relayed policy refuses, as a decline): false only when asked */
  handleOnLimitedConnection: boolean
  /** how jobs run over relayed connections; false: never */
  relayed: RelayedJobPolicy | false
  resumeOnStart: boolean
  maxUsedQuotes: number
  quoteRate: number
  quoteBurst: number
  /** peers known to have cheated (never run on, quote requests declined) */
  offenders?(peer: PeerId): boolean
  /** the verify policy of a `run()` that names none */
  verify: VerifyPolicy | false
}

/** Apply the defaults of `constants.ts` to `init`. */
export function workSettings (init: WorkInit = {}): WorkSettings {
  const maxInputBytes = init.maxInputBytes ?? MAX_INPUT_BYTES
  const maxOutputBytes = init.maxOutputBytes ?? MAX_OUTPUT_BYTES
  const stepTimeoutMs = init.stepTimeoutMs ?? STEP_TIMEOUT_MS
  const relayed = relayedJobPolicy(init.relayed)
  return {
    protocol: init.protocol ?? PROTOCOL,
    executor: init.executor,
    bidPolicy: init.bidPolicy ?? (init.price != null ? priceBidPolicy({ price: init.price }) : undefined),
    concurrency: Math.max(1, init.concurrency ?? CONCURRENCY),
    maxQueued: Math.max(0, init.maxQueued ?? MAX_QUEUED),
    maxInputBytes,
    maxOutputBytes,
    maxMessageBytes: Math.max(maxInputBytes, maxOutputBytes) + MESSAGE_OVERHEAD_BYTES,
    stepTimeoutMs,
    jobTimeoutMs: init.jobTimeoutMs ?? JOB_TIMEOUT_MS,
    quoteTtlMs: init.quoteTtlMs ?? QUOTE_TTL_MS,
    assignmentTtlMs: init.assignmentTtlMs ?? ASSIGNMENT_TTL_MS,
    maxJobs: Math.max(1, init.maxJobs ?? MAX_JOBS),
    maxUnpaid: init.maxUnpaid ?? MAX_UNPAID,
    maxUnpaidJobs: Math.max(1, init.maxUnpaidJobs ?? MAX_UNPAID_JOBS),
    lateFactor: init.lateFactor ?? LATE_FACTOR,
    payWithVouchers: init.vouchers ?? true,
    payEvery: Math.max(0, init.payEvery ?? 0),
    meterIntervalMs: Math.max(10, init.meterIntervalMs ?? METER_INTERVAL_MS),
    gpusPerJob: Math.max(1, init.gpusPerJob ?? 1),
    meter: init.meter,
    maxIdleStreams: Math.max(0, init.maxIdleStreams ?? MAX_IDLE_STREAMS),
    idleStreamTimeoutMs: stepTimeoutMs / 2,
    maxInboundStreams: init.maxInboundStreams ?? MAX_INBOUND_STREAMS,
    maxOutboundStreams: init.maxOutboundStreams ?? MAX_OUTBOUND_STREAMS,
    runOnLimitedConnection: init.runOnLimitedConnection ?? relayed !== false,
    handleOnLimitedConnection: init.runOnLimitedConnection ?? true,
    relayed,
    resumeOnStart: init.resumeOnStart ?? true,
    maxUsedQuotes: Math.max(1, init.maxUsedQuotes ?? MAX_USED_QUOTES),
    quoteRate: Math.max(0, init.quoteRate ?? QUOTE_RATE),
    quoteBurst: Math.max(1, init.quoteBurst ?? QUOTE_BURST),
    offenders: init.offenders,
    verify: init.verify ?? false
  }
}

/** What the service uses of the router. */
export type WorkRouter = NonNullable<WorkComponents['router']>

/** The detail type of a work event. */
export type WorkEventDetail<K extends keyof WorkEvents> = WorkEvents[K] extends CustomEvent<infer D> ? D : never

/**
 * What the requester and provider roles share. The service sets what it
 * learns at start: the optional services, and that it runs.
 */
export class WorkContext {
  readonly components: WorkComponents
  readonly settings: WorkSettings
  readonly log: Logger
  /** our peer id's multihash, as records name peers */
  readonly self: Uint8Array
  /** the service clock, ms */
  readonly now: () => number
  /** whether the service is started (a stopped one pools no streams) */
  started = false
  /** where receipts go, if anywhere (`init.receipts`, else the node's receipt store, found at start) */
  receipts?: ReceiptSink
  /** the node's router, if it has one (found at start) */
  router?: WorkRouter
  private readonly events: TypedEventTarget<WorkEvents>
  private readonly metrics?: CounterGroup

  constructor (components: WorkComponents, settings: WorkSettings, events: TypedEventTarget<WorkEvents>, now: () => number = Date.now) {
    this.components = components
    this.settings = settings
    this.events = events
    this.now = now
    this.log = components.logger.forComponent('shoal:work')
    this.self = components.peerId.toMultihash().bytes
    this.metrics = components.metrics?.registerCounterGroup('shoal_work_events_total', {
      label: 'event',
      help: 'Quotes sent and refused, jobs admitted, refused (by reason), completed and failed, and receipts countersigned by the work service'
    })
  }

  /** Count `event` in `shoal_work_events_total`, if the node has metrics. */
  count (event: string): void {
    this.metrics?.increment({ [event]: true })
  }

  /** Dispatch an event on the service; a listener that throws is logged, never thrown into the protocol. */
  emit<K extends keyof WorkEvents> (type: K, detail: WorkEventDetail<K>): void {
    if (this.events.listenerCount(type) === 0) {
      return
    }
    try {
      this.events.safeDispatchEvent(type, { detail })
    } catch (err) {
      this.log.error('event listener for %s threw - %e', type, err)
    }
  }

  /** Keep a receipt in the receipt store, if there is one; a failing store is logged. */
  async store (receipt: SignedRecord<WorkReceipt> | CountersignedRecord<WorkReceipt>, options: AbortOptions = {}): Promise<void> {
    if (this.receipts == null) {
      return
    }
    try {
      await this.receipts.put(receipt, options)
    } catch (err) {
      this.log.error('could not store receipt - %e', err)
    }
  }
}

/** Options of one protocol step: the caller's signal, else the step timeout. */
export function stepOptions (settings: WorkSettings, options: AbortOptions): AbortOptions {
  return { signal: options.signal ?? AbortSignal.timeout(settings.stepTimeoutMs) }
}
