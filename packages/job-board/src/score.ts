/**
 * Gossipsub peer-score parameters tuned for job traffic: few messages
 * (a handful per topic per minute), each of them worth delivering, on many
 * small topics. Pass them to gossipsub when creating the node:
 * `gossipsub({ scoreParams: jobBoardScoreParams(), scoreThresholds: JOB_BOARD_SCORE_THRESHOLDS })`.
 */

import { geohashChildren } from '@shoal/records'
import { GLOBAL_REGION, REGION_PRECISION, TOPIC_PREFIX } from './constants.js'
import { JOB_KINDS, KIND_SEGMENT } from './topics.js'

/** Gossipsub's per-topic score parameters (same shape as @libp2p/gossipsub's TopicScoreParams). */
export interface JobTopicScoreParams {
  topicWeight: number
  timeInMeshWeight: number
  timeInMeshQuantum: number
  timeInMeshCap: number
  firstMessageDeliveriesWeight: number
  firstMessageDeliveriesDecay: number
  firstMessageDeliveriesCap: number
  meshMessageDeliveriesWeight: number
  meshMessageDeliveriesDecay: number
  meshMessageDeliveriesCap: number
  meshMessageDeliveriesThreshold: number
  meshMessageDeliveriesWindow: number
  meshMessageDeliveriesActivation: number
  meshFailurePenaltyWeight: number
  meshFailurePenaltyDecay: number
  invalidMessageDeliveriesWeight: number
  invalidMessageDeliveriesDecay: number
}

/** The part of gossipsub's PeerScoreParams the job board sets. */
export interface JobBoardScoreParams {
  topics: Record<string, JobTopicScoreParams>
  topicScoreCap: number
  decayInterval: number
  decayToZero: number
  retainScore: number
}

/** Gossipsub's score thresholds (same shape as @libp2p/gossipsub's PeerScoreThresholds). */
export interface JobBoardScoreThresholds {
  gossipThreshold: number
  publishThreshold: number
  graylistThreshold: number
  acceptPXThreshold: number
  opportunisticGraftThreshold: number
}

/** Options of jobBoardScoreParams. */
export interface JobBoardScoreOptions {
  /**
   * Topics to score
   *
   * @default every job topic: 3 kinds x (1,024 regions + global)
   */
  topics?: string[]

  /**
   * Score added per invalid (rejected) message, squared: n invalid messages cost `weight x n^2`
   *
   * @default -10
   */
  invalidMessageWeight?: number

  /**
   * Half-life of the count of invalid messages, ms
   *
   * @default 600000
   */
  invalidMessageHalfLifeMs?: number

  /**
   * Extra topics' parameters merged over the defaults (e.g. another application's topics)
   */
  extraTopics?: Record<string, JobTopicScoreParams>
}

/** Score decay interval, ms (gossipsub's minimum). */
export const SCORE_DECAY_INTERVAL_MS = 1000

/**
 * Thresholds used with jobBoardScoreParams: gossipsub's defaults except a
 * low opportunistic-graft threshold, since sparse topics keep honest
 * scores small.
 */
export const JOB_BOARD_SCORE_THRESHOLDS: Readonly<JobBoardScoreThresholds> = Object.freeze({
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 10,
  opportunisticGraftThreshold: 2
})

/** Per-interval decay factor for a half-life. */
export function decayForHalfLife (halfLifeMs: number, intervalMs = SCORE_DECAY_INTERVAL_MS): number {
  return Math.pow(0.5, intervalMs / halfLifeMs)
}

/** Every job topic name (all kinds, all regions and the global topics). */
export function allJobTopics (): string[] {
  const regions = geohashChildren('', REGION_PRECISION)
  return JOB_KINDS.flatMap(kind => [GLOBAL_REGION, ...regions].map(r => `${TOPIC_PREFIX}/${KIND_SEGMENT[kind]}/${r}`))
}

/**
 * The score parameters of one job topic:
 * - P1 time in mesh: small, reaching +10 after an hour in the mesh;
 * - P2 first deliveries: +1 per new job first delivered, capped at 10, half-life 10 min;
 * - P3/P3b mesh delivery rate: off, because job topics are too quiet for a
 *   delivery quota (an honest quiet mesh would be penalised and pruned);
 * - P4 invalid messages: -10 x n^2, half-life 10 min, so three rejected
 *   messages take a peer below the graylist threshold (-80).
 */
export function jobTopicScoreParams (options: JobBoardScoreOptions = {}): JobTopicScoreParams {
  const halfLife = 10 * 60 * 1000
  return {
    topicWeight: 1,
    timeInMeshWeight: 10 / 3600,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 3600,
    firstMessageDeliveriesWeight: 1,
    firstMessageDeliveriesDecay: decayForHalfLife(halfLife),
    firstMessageDeliveriesCap: 10,
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.5,
    meshMessageDeliveriesCap: 1,
    meshMessageDeliveriesThreshold: 1,
    meshMessageDeliveriesWindow: 0,
    meshMessageDeliveriesActivation: 1000,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.5,
    invalidMessageDeliveriesWeight: options.invalidMessageWeight ?? -10,
    invalidMessageDeliveriesDecay: decayForHalfLife(options.invalidMessageHalfLifeMs ?? halfLife)
  }
}

/**
 * Gossipsub peer-score parameters for the job topics; spread them into
 * gossipsub's `scoreParams` (add your own topics through `extraTopics`).
 */
export function jobBoardScoreParams (options: JobBoardScoreOptions = {}): JobBoardScoreParams {
  const params = jobTopicScoreParams(options)
  const topics: Record<string, JobTopicScoreParams> = {}
  for (const topic of options.topics ?? allJobTopics()) {
    topics[topic] = params
  }
  Object.assign(topics, options.extraTopics)
  return {
    topics,
    topicScoreCap: 10,
    decayInterval: SCORE_DECAY_INTERVAL_MS,
    decayToZero: 0.01,
    retainScore: 60 * 60 * 1000
  }
}

/**
 * A gossipsub `fastMsgIdFn` for signed messages: the author and sequence
 * number. With it, gossipsub drops a copy it has already seen before
 * verifying the copy's signature again (without it, every duplicate costs a
 * signature check). Gossipsub caches a fast id only after the message's
 * signature verified, so a forged copy cannot shadow the real one. Use it
 * with the `StrictSign` signature policy (gossipsub's default).
 */
export function signedMessageFastId (msg: { from?: Uint8Array, seqno?: Uint8Array }): string {
  const from = msg.from ?? new Uint8Array()
  const seqno = msg.seqno ?? new Uint8Array()
  // hex and a separator outside its alphabet: no two (author, seqno) pairs share an id
  return Buffer.from(from).toString('hex') + ':' + Buffer.from(seqno).toString('hex')
}
