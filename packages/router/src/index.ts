/**
 * @packageDocumentation
 *
 * Latency-aware choice of who does the work: RTT and loss measurement,
 * Vivaldi network coordinates exchanged on `/shoal/coordinate/1.0.0`, scoring
 * by expected completion time, late binding (probe the best few for load
 * before assigning), failover and hedging, and per-peer trust that drops for
 * peers whose claims prove false.
 *
 * @example
 *
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { ping } from '@libp2p/ping'
 * import { router } from '@shoal/router'
 *
 * const node = await createLibp2p({
 *   // transports, encrypters, muxers...
 *   services: {
 *     ping: ping(),
 *     router: router({ load: () => ({ freeSlots: 2, concurrency: 4 }) })
 *   }
 * })
 *
 * const { choices } = await node.services.router.choose(candidates, { computeTime: 800, transferBytes: 2e6 })
 * choices.forEach(c => { console.info(c.explain) })
 *
 * const { result } = await node.services.router.failover(choices, async (choice, signal) => {
 *   return sendWork(choice.peerId, { signal })
 * }, { timeoutMs: 10_000, attemptTimeoutMs: 3_000 })
 * ```
 */

import { Router } from './router.js'
import type { RoutingPolicy, RejectedCandidate, ScoreCandidate, ScoredCandidate } from './score.js'
import type { LocationCheckInit } from './location.js'
import type { TrustEvent, TrustStore } from './trust.js'
import type { Coordinate, VivaldiInit } from './vivaldi.js'
import type { LoadReport } from './wire.js'
import type { RttTrackerInit } from './rtt.js'
import type { AbortOptions, ComponentLogger, Metrics, PeerId } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Ping } from '@libp2p/ping'

export { Router } from './router.js'
export { Vivaldi, distance, originCoordinate, validateCoordinate } from './vivaldi.js'
export type { Coordinate, CoordinateLimits, VivaldiInit } from './vivaldi.js'
export { RttFilter, RttTracker, median, validateRtt } from './rtt.js'
export type { RttEstimate, RttFilterInit, RttTrackerInit } from './rtt.js'
export { CompletionTimePolicy, rankCandidates } from './score.js'
export type {
  ScoreCandidate,
  JobProfile,
  RttSource,
  ScoreBreakdown,
  ScoredCandidate,
  RejectedCandidate,
  Evaluation,
  RoutingPolicy,
  CompletionTimePolicyInit
} from './score.js'
export { candidateFromCapability } from './candidates.js'
export { failover, hedge } from './failover.js'
export { classifyFailure } from './choice.js'
export type { AttemptFailure, RouterFailoverOptions, RouterHedgeOptions, TrustOptions } from './choice.js'
export type { Attempt, AttemptRecord, FailoverOptions, HedgeOptions, RoutedResult } from './failover.js'
export { checkLocation } from './location.js'
export type { LocationCheckInit, LocationClaim, LocationRefusal, LocationVerdict } from './location.js'
export { PeerTrust, DEFAULT_PENALTIES, TRUST_RECOVERY_HALF_LIFE_MS } from './trust.js'
export type { TrustStore, TrustEvent, PeerTrustInit } from './trust.js'
export { encodeMessage, decodeMessage } from './wire.js'
export type { LoadReport, ProbeMessage, ReplyMessage, CoordinateMessage } from './wire.js'
export * from './errors.js'
export * from './constants.js'

/**
 * Options of the router service. Every field is optional.
 */
export interface RouterInit {
  /**
   * Protocol id of the coordinate exchange
   *
   * @default '/shoal/coordinate/1.0.0'
   */
  protocol?: string

  /**
   * How long one probe may take, ms
   *
   * @default 5000
   */
  timeoutMs?: number

  /**
   * Concurrent inbound coordinate streams per connection
   *
   * @default 2
   */
  maxInboundStreams?: number

  /**
   * Concurrent outbound coordinate streams per connection
   *
   * @default 2
   */
  maxOutboundStreams?: number

  /**
   * Allow probes over limited (relayed) connections
   *
   * @default true
   */
  runOnLimitedConnection?: boolean

  /**
   * Interval of background probes to a random connected peer, ms; 0 disables them
   *
   * @default 15000
   */
  probeIntervalMs?: number

  /**
   * How many of the best predicted candidates `choose` probes for load
   * before assigning (late binding)
   *
   * @default 4
   */
  lateBindingProbes?: number

  /**
   * The local node's capacity, answered to load queries. Without it the node
   * answers coordinate probes but not load queries.
   */
  load?(): LoadReport | Promise<LoadReport>

  /**
   * Vivaldi options (dimensions, gains, gravity, clock, rng...)
   */
  vivaldi?: VivaldiInit

  /**
   * RTT filter options (window, EWMA weights, expiry, clock)
   */
  rtt?: RttTrackerInit

  /**
   * Per-peer trust; inject one backed by reputation to share it
   *
   * @default new PeerTrust({ now }): penalties fade with a 5-minute half-life
   */
  trust?: TrustStore

  /**
   * Below this trust a peer is refused by `choose`
   *
   * @default 0.3
   */
  minTrust?: number

  /**
   * An observed RTT this factor (plus 20 ms) away from what a confident
   * peer's claimed coordinate predicts counts as a lie
   *
   * @default 3
   */
  lieFactor?: number

  /**
   * Check each candidate's claimed geohash against the RTT measured to it,
   * when `choose` is told where we are (`ChooseOptions.geohash`): an RTT
   * below what light in fibre needs from the claimed cell is refused as
   * `location-lie` (and costs trust); for a job that requires a region
   * (`JobProfile.region`), an RTT above `maxStretch` x the most the claimed
   * distance needs + `slackMs` is refused as `location-implausible` (no
   * trust lost). false: no check
   *
   * @default { maxStretch: 3, slackMs: 80 }
   */
  locationCheck?: false | LocationCheckInit

  /**
   * How candidates are scored
   *
   * @default new CompletionTimePolicy()
   */
  policy?: RoutingPolicy

  /**
   * The clock, ms (inject it in tests and simulations); also the default
   * clock of `rtt` and `vivaldi` when they do not name their own
   *
   * @default Date.now
   */
  now?(): number
}

/**
 * What the router uses from libp2p. `ping` is the `@libp2p/ping` service,
 * registered under the `ping` key.
 */
export interface RouterComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  metrics?: Metrics
  ping: Ping
}

/**
 * A provider the caller could send work to, with what it claims (typically
 * from its signed capability record). Claims are checked by late binding.
 */
export interface RouterCandidate extends Omit<ScoreCandidate, 'id' | 'rtt' | 'predictedRtt' | 'loss'> {
  peerId: PeerId
  /** Claimed coordinate (e.g. from the capability record) */
  coordinate?: Coordinate
  /** Claimed place, a geohash (the capability record's `geohash`), checked against measured RTT */
  geohash?: string
}

/**
 * The outcome of one coordinate/load probe.
 */
export interface ProbeResult {
  peerId: PeerId
  /** RTT of the exchange itself, ms */
  rtt: number
  /** The peer's coordinate, if it passed validation */
  coordinate?: Coordinate
  /** The peer's load, if asked for and answered */
  load?: LoadReport
  /** When the probe finished (ms, the router's clock) */
  at: number
}

/**
 * Options of {@link Router.probe}.
 */
export interface ProbeOptions extends AbortOptions {
  /** Ask for the peer's load too */
  load?: boolean
}

/**
 * A ranked choice: the score and reasons, plus the candidate as given and,
 * if late binding probed it, the probe.
 */
export interface RouterChoice<T extends RouterCandidate = RouterCandidate> extends ScoredCandidate {
  peerId: PeerId
  input: T
  probe?: ProbeResult
}

/**
 * A refused candidate and why.
 */
export interface RouterRejection<T extends RouterCandidate = RouterCandidate> extends RejectedCandidate {
  peerId: PeerId
  input: T
}

/**
 * The result of {@link Router.choose}.
 */
export interface RoutingDecision<T extends RouterCandidate = RouterCandidate> {
  /** Best first */
  choices: Array<RouterChoice<T>>
  rejected: Array<RouterRejection<T>>
  /** Late-binding probes sent for this decision */
  probes: number
}

/**
 * Options of {@link Router.choose}.
 */
export interface ChooseOptions extends AbortOptions {
  /** Override `lateBindingProbes` for this decision; 0 = no probes */
  probes?: number
  /** Override the policy for this decision */
  policy?: RoutingPolicy
  /** Our own geohash: candidates' claimed places are checked against the RTT measured to them (`RouterInit.locationCheck`) */
  geohash?: string
}

/**
 * Events of the router.
 */
export interface RouterEvents {
  /** An RTT sample to a peer was taken */
  'peer:measured': CustomEvent<{ peerId: PeerId, rtt: number }>
  /** The local coordinate moved */
  'coordinate:updated': CustomEvent<Coordinate>
  /** A peer lost trust */
  'peer:penalized': CustomEvent<{ peerId: PeerId, event: TrustEvent, trust: number }>
}

/**
 * Create the router service, in the js-libp2p way. Needs the `@libp2p/ping`
 * service under the `ping` key.
 */
export function router (init: RouterInit = {}): (components: RouterComponents) => Router {
  return (components) => new Router(components, init)
}
