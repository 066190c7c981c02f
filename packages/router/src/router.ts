import { serviceCapabilities, serviceDependencies, TypedEventEmitter } from '@libp2p/interface'
import { Chooser } from './choice.js'
import {
  COORDINATE_PROTOCOL,
  PROBE_TIMEOUT_MS,
  MAX_INBOUND_STREAMS,
  MAX_OUTBOUND_STREAMS,
  PROBE_INTERVAL_MS,
  LATE_BINDING_PROBES,
  TRUST_MIN,
  COORDINATE_LIE_FACTOR
} from './constants.js'
import { CoordinateClient } from './coordinate-client.js'
import { CoordinateHandler } from './coordinate-handler.js'
import { PeerBook } from './peer-book.js'
import { BackgroundProber } from './probing.js'
import { RttTracker } from './rtt.js'
import { CompletionTimePolicy } from './score.js'
import { PeerTrust } from './trust.js'
import { Vivaldi } from './vivaldi.js'
import type { RouterFailoverOptions, RouterHedgeOptions } from './choice.js'
import type { Attempt, RoutedResult } from './failover.js'
import type { ChooseOptions, ProbeOptions, ProbeResult, RouterCandidate, RouterChoice, RouterComponents, RouterEvents, RouterInit, RoutingDecision } from './index.js'
import type { RttEstimate } from './rtt.js'
import type { JobProfile } from './score.js'
import type { TrustEvent, TrustStore } from './trust.js'
import type { Coordinate } from './vivaldi.js'
import type { AbortOptions, PeerId, Startable } from '@libp2p/interface'

/**
 * Latency-aware choice of provider as a libp2p service: measures RTT (ping and
 * its own probes), keeps a Vivaldi coordinate exchanged on
 * `/shoal/coordinate/1.0.0`, scores candidates by expected completion time,
 * probes the best few for load before assigning, and fails over or hedges.
 *
 * The roles live in their own files: the peer book (`peer-book.ts`), the two
 * sides of the coordinate protocol (`coordinate-client.ts`,
 * `coordinate-handler.ts`), background probing (`probing.ts`) and choice with
 * failover (`choice.ts`); this class wires them to libp2p.
 */
export class Router extends TypedEventEmitter<RouterEvents> implements Startable {
  readonly [Symbol.toStringTag] = '@shoal/router'
  readonly [serviceCapabilities]: string[] = ['@shoal/router']
  readonly [serviceDependencies]: string[] = ['@libp2p/ping']

  /** Per-peer RTT and loss */
  readonly rtt: RttTracker
  /** The local Vivaldi state */
  readonly vivaldi: Vivaldi
  /** Per-peer trust */
  readonly trust: TrustStore
  readonly protocol: string

  private readonly components: RouterComponents
  private readonly timeoutMs: number
  private readonly maxInboundStreams: number
  private readonly maxOutboundStreams: number
  private readonly runOnLimitedConnection: boolean
  private readonly book: PeerBook
  private readonly client: CoordinateClient
  private readonly handler: CoordinateHandler
  private readonly prober: BackgroundProber
  private readonly chooser: Chooser
  private started: boolean

  constructor (components: RouterComponents, init: RouterInit = {}) {
    super()
    const now = init.now ?? Date.now
    const log = components.logger.forComponent('shoal:router')
    this.components = components
    this.protocol = init.protocol ?? COORDINATE_PROTOCOL
    this.timeoutMs = init.timeoutMs ?? PROBE_TIMEOUT_MS
    this.maxInboundStreams = init.maxInboundStreams ?? MAX_INBOUND_STREAMS
    this.maxOutboundStreams = init.maxOutboundStreams ?? MAX_OUTBOUND_STREAMS
    this.runOnLimitedConnection = init.runOnLimitedConnection ?? true
    this.rtt = new RttTracker({ now, ...init.rtt })
    this.vivaldi = new Vivaldi({ now, ...init.vivaldi })
    this.trust = init.trust ?? new PeerTrust({ now })
    this.started = false

    this.book = new PeerBook({
      rtt: this.rtt,
      vivaldi: this.vivaldi,
      trust: this.trust,
      events: this,
      log,
      metrics: components.metrics?.registerCounterGroup('shoal_router_events_total', {
        label: 'event',
        help: 'RTT samples, failed exchanges and penalties recorded by the router'
      }),
      now,
      lieFactor: init.lieFactor ?? COORDINATE_LIE_FACTOR
    })
    this.client = new CoordinateClient({
      connectionManager: components.connectionManager,
      book: this.book,
      log,
      protocol: this.protocol,
      timeoutMs: this.timeoutMs,
      runOnLimitedConnection: this.runOnLimitedConnection
    })
    this.handler = new CoordinateHandler({ book: this.book, log, timeoutMs: this.timeoutMs, load: init.load })
    this.prober = new BackgroundProber({
      connectionManager: components.connectionManager,
      client: this.client,
      log,
      intervalMs: init.probeIntervalMs ?? PROBE_INTERVAL_MS,
      timeoutMs: this.timeoutMs
    })
    this.chooser = new Chooser({
      peerId: components.peerId,
      book: this.book,
      client: this.client,
      policy: init.policy ?? new CompletionTimePolicy(),
      lateBindingProbes: init.lateBindingProbes ?? LATE_BINDING_PROBES,
      minTrust: init.minTrust ?? TRUST_MIN,
      locationCheck: init.locationCheck ?? {}
    })
  }

  /** Register the protocol handler and start background probing */
  async start (): Promise<void> {
    await this.components.registrar.handle(this.protocol, this.handler.handle, {
      maxInboundStreams: this.maxInboundStreams,
      maxOutboundStreams: this.maxOutboundStreams,
      runOnLimitedConnection: this.runOnLimitedConnection
    })
    this.prober.start()
    this.started = true
  }

  /** Stop background probing and unregister the handler */
  async stop (): Promise<void> {
    this.prober.stop()
    await this.components.registrar.unhandle(this.protocol)
    this.started = false
  }

  /** True between start and stop */
  isStarted (): boolean {
    return this.started
  }

  /**
   * The local network coordinate (a copy).
   */
  get coordinate (): Coordinate {
    return this.vivaldi.coordinate
  }

  /**
   * The last coordinate `peer` gave us (in a probe or a reply), if any.
   */
  coordinateOf (peer: PeerId): Coordinate | undefined {
    return this.book.coordinateOf(peer)
  }

  /**
   * Filtered RTT and loss to `peer`, if measured recently.
   */
  measured (peer: PeerId): RttEstimate | undefined {
    return this.rtt.get(peer.toString())
  }

  /**
   * Best RTT estimate to `peer`, ms: the filtered measurement if fresh, else
   * the prediction from `coordinate` (or the last one the peer sent).
   */
  estimateRtt (peer: PeerId, coordinate?: Coordinate): { rtt: number, source: 'measured' | 'predicted' } | undefined {
    return this.book.estimateRtt(peer, coordinate)
  }

  /**
   * Ping `peer` with `@libp2p/ping` and record the RTT (and a failure as loss).
   * If the peer's coordinate is known, the sample also updates Vivaldi.
   */
  async ping (peer: PeerId, options: AbortOptions = {}): Promise<number> {
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(this.timeoutMs), ...(options.signal != null ? [options.signal] : [])])
      const rtt = await this.components.ping.ping(peer, { signal })
      this.book.recordRtt(peer, rtt)
      const coordinate = this.book.knownCoordinate(peer)

      if (coordinate != null) {
        this.book.observe(peer, coordinate, rtt)
      }

      return rtt
    } catch (err) {
      this.book.recordFailure(peer)
      throw err
    }
  }

  /**
   * Exchange coordinates with `peer` (and ask its load if `options.load`),
   * timing the exchange itself as an RTT sample. Failures count as loss.
   */
  async probe (peer: PeerId, options: ProbeOptions = {}): Promise<ProbeResult> {
    return this.client.probe(peer, options)
  }

  /**
   * Rank `candidates` for `job`: predict each one's RTT (measured, else from
   * coordinates), refuse untrusted peers, then probe the `d` best for their
   * current load and coordinate (late binding) and rank again with what they
   * answered. Every choice and refusal carries its reasons.
   */
  async choose<T extends RouterCandidate> (candidates: T[], job: JobProfile = {}, options: ChooseOptions = {}): Promise<RoutingDecision<T>> {
    return this.chooser.choose(candidates, job, options)
  }

  /**
   * Try `choices` in order with `attempt` until one succeeds, within
   * `options.timeoutMs`. Outcomes update trust: failures cost a little, failing
   * after claiming free slots costs a lot, successes earn a little.
   */
  async failover<T extends RouterCandidate, R> (choices: Array<RouterChoice<T>>, attempt: Attempt<RouterChoice<T>, R>, options: RouterFailoverOptions<RouterChoice<T>> = {}): Promise<RoutedResult<RouterChoice<T>, R>> {
    return this.chooser.failover(choices, attempt, options)
  }

  /**
   * Send to the `width` (default 2) best choices at once, keep the first
   * result and abort the others; failed attempts are replaced by the next
   * choice. Trust is updated as in {@link Router.failover}.
   */
  async hedge<T extends RouterCandidate, R> (choices: Array<RouterChoice<T>>, attempt: Attempt<RouterChoice<T>, R>, options: RouterHedgeOptions<RouterChoice<T>> = {}): Promise<RoutedResult<RouterChoice<T>, R>> {
    return this.chooser.hedge(choices, attempt, options)
  }

  /**
   * Record an outcome of work sent outside `failover`/`hedge`.
   */
  report (peer: PeerId, event: TrustEvent): number {
    return event === 'success' ? this.book.reward(peer) : this.book.penalize(peer, event)
  }
}
