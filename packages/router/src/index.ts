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
 * }, { timeout: 10_000, attemptTimeout: 3_000 })
 * ```
 */

import { Router } from './router.js'
import type { RouterComponents, RouterInit } from './router.js'

export { Router } from './router.js'
export type {
  RouterInit,
  RouterComponents,
  RouterCandidate,
  RouterChoice,
  RouterRejection,
  RoutingDecision,
  ChooseOptions,
  ProbeOptions,
  ProbeResult,
  RouterEvents
} from './router.js'
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
export type { Attempt, AttemptRecord, FailoverOptions, HedgeOptions, RoutedResult } from './failover.js'
export { PeerTrust, DEFAULT_PENALTIES } from './trust.js'
export type { TrustStore, TrustEvent, PeerTrustInit } from './trust.js'
export { encodeMessage, decodeMessage } from './wire.js'
export type { LoadReport, ProbeMessage, ReplyMessage, CoordinateMessage } from './wire.js'
export * from './errors.js'
export * from './constants.js'

/**
 * Create the router service, in the js-libp2p way. Needs the `@libp2p/ping`
 * service under the `ping` key.
 */
export function router (init: RouterInit = {}): (components: RouterComponents) => Router {
  return (components) => new Router(components, init)
}
