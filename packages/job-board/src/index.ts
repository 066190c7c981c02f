/**
 * @packageDocumentation
 *
 * Gossiped job and bounty announcements for Shoal: a libp2p service that
 * signs, publishes, withdraws and expires `JobAnnouncement` records on
 * pubsub topics by job kind and coarse region, validates every message on
 * every hop through the pubsub topic validator, keeps a bounded local board
 * with typed events, and hands live jobs to peers that connect later.
 *
 * @example
 *
 * ```ts
 * import { noise } from '@chainsafe/libp2p-noise'
 * import { yamux } from '@chainsafe/libp2p-yamux'
 * import { gossipsub } from '@libp2p/gossipsub'
 * import { identify } from '@libp2p/identify'
 * import { tcp } from '@libp2p/tcp'
 * import { JOB_BOARD_SCORE_THRESHOLDS, jobBoard, jobBoardScoreParams } from '@shoal/job-board'
 * import { JobKind } from '@shoal/records'
 * import { createLibp2p } from 'libp2p'
 *
 * const node = await createLibp2p({
 *   addresses: { listen: ['/ip4/0.0.0.0/tcp/0'] },
 *   transports: [tcp()],
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()],
 *   services: {
 *     identify: identify(),
 *     pubsub: gossipsub({ scoreParams: jobBoardScoreParams(), scoreThresholds: JOB_BOARD_SCORE_THRESHOLDS }),
 *     jobs: jobBoard({ serve: { kinds: [JobKind.GPU_INFERENCE], regions: ['w2'] } })
 *   }
 * })
 *
 * node.services.jobs.addEventListener('job:announced', (evt) => {
 *   console.log('job', evt.detail.key, evt.detail.record.value.description)
 * })
 *
 * await node.services.jobs.announce({
 *   kind: JobKind.GPU_INFERENCE,
 *   requirements: { gpuClass: 'consumer-24g', minVramMib: 16384, gpuCount: 1, region: 'w21z', maxRttMs: 40 },
 *   priceCeiling: { perUnit: 20, currency: 'USDC', unit: 'gpu-second' },
 *   budget: 10_000,
 *   description: 'run a 7B model near Singapore'
 * })
 * ```
 */

import { JobBoard } from './job-board.js'
import type { JobEntry, JobSource } from './board.js'
import type { VerdictReason } from './validator.js'
import type { Interests } from './topics.js'
import type { AbortOptions, ComponentLogger, Metrics, PeerId, PrivateKey, PublicKey, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { CapabilityRecord, JobAnnouncement, JobKind, JobWithdrawal, Price, Quote, Requirements, SignedRecord } from '@shoal/records'

export { JobBoard }
export * from './constants.js'
export * from './errors.js'
export { JobStore, jobKey } from './board.js'
export type { JobEntry, JobSource, WithdrawalEntry, JobStoreInit } from './board.js'
export {
  JOB_KINDS, KIND_SEGMENT, MAX_SUBSCRIBED_TOPICS, announcementFitsTopic, isTopicJobKind, jobMatchesInterests, jobTopic,
  parseJobTopic, regionOf, topicsForAnnouncement, topicsForInterests
} from './topics.js'
export type { Interests, ParsedTopic, TopicJobKind } from './topics.js'
export { validateJobMessage, reasonOfError } from './validator.js'
export { RequesterRateLimit, standingScale } from './rate-limit.js'
export type { NewcomerBudget, RateDecision, RequesterRateLimitInit } from './rate-limit.js'
export { SYNC_KIND_NUMBER, decodeSyncRequest, encodeSyncRequest } from './sync.js'
export type { MessageContext, MessageVerdict, ValidatorState, VerdictReason } from './validator.js'
export { explainJob, providerMismatches } from './explain.js'
export type { ExplainCode, ExplainInput, ExplainReason, JobExplanation, Mismatch } from './explain.js'
export {
  JOB_BOARD_SCORE_THRESHOLDS, SCORE_DECAY_INTERVAL_MS, allJobTopics, decayForHalfLife, jobBoardScoreParams, jobTopicScoreParams,
  signedMessageFastId
} from './score.js'
export type { JobBoardScoreOptions, JobBoardScoreParams, JobBoardScoreThresholds, JobTopicScoreParams } from './score.js'

/** A pubsub message as gossipsub and floodsub deliver it to topic validators. */
export type PubSubMessage =
  | { type: 'signed', from: PeerId, topic: string, data: Uint8Array, sequenceNumber: bigint, signature: Uint8Array, key: PublicKey }
  | { type: 'unsigned', topic: string, data: Uint8Array }

/** The values of gossipsub's and floodsub's `TopicValidatorResult` enums. */
export type PubSubValidatorResult = 'accept' | 'ignore' | 'reject'

/**
 * The pubsub interface the job board uses: the part that
 * `@libp2p/gossipsub` and `@libp2p/floodsub` share, so either plugs in.
 */
export interface JobBoardPubSub {
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  getTopics(): string[]
  getSubscribers(topic: string): PeerId[]
  publish(topic: string, data?: Uint8Array): Promise<{ recipients: PeerId[] }>
  /**
   * Per-topic validators. The job board's validators resolve to the string
   * values of the routers' `TopicValidatorResult` enums; the return type is
   * left open here because each router declares its own enum.
   */
  topicValidators: {
    get(topic: string): unknown
    set(topic: string, validator: (peer: PeerId, message: PubSubMessage) => unknown): unknown
    delete(topic: string): boolean
  }
}

/** The libp2p components the job board uses. */
export interface JobBoardComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  metrics?: Metrics
  /** the pubsub service (gossipsub or floodsub) registered as `services.pubsub` */
  pubsub: JobBoardPubSub
}

/** Options of the job board. Every field is optional. */
export interface JobBoardInit {
  /**
   * What this peer serves: the board subscribes to those topics only
   * (per kind: the global topic and one per region). Change it later with
   * `setInterests()`.
   *
   * @default nothing (a requester-only peer subscribes to no topic)
   */
  serve?: Interests

  /**
   * Most announcements on the board
   *
   * @default 10000
   */
  maxJobs?: number

  /**
   * Most announcements held per requester
   *
   * @default 64
   */
  maxJobsPerRequester?: number

  /**
   * Most withdrawals remembered
   *
   * @default 10000
   */
  maxWithdrawals?: number

  /**
   * How long a withdrawal is remembered at least, ms
   *
   * @default 3600000
   */
  withdrawalTtlMs?: number

  /**
   * Lifetime of an announcement whose `expiresMs` is not given, ms
   *
   * @default 600000
   */
  defaultTtlMs?: number

  /**
   * Clock skew allowed for expiry and not-yet-valid checks, ms
   *
   * @default 30000
   */
  clockSkewMs?: number

  /**
   * Beyond the skew, how far out of its lifetime a record may be before
   * the sender is blamed (reject) instead of ignored, ms
   *
   * @default 60000
   */
  expiryGraceMs?: number

  /**
   * Per-requester token bucket for announcements and withdrawals received
   * by gossip. Messages over it are ignored (not relayed, not kept); only a
   * requester sending more than `1 + abuseFactor` times what the bucket
   * allows (more than `abuseFactor` bursts beyond it within one refill
   * window, `burst / perSecond`) is blamed: its direct messages are rejected
   * and count against it (`maxPeerPenalty`). `abuseFactor: Infinity` never
   * blames, `0` blames everything over the bucket.
   *
   * @default { burst: 10, perSecond: 0.5, abuseFactor: 10, maxRequesters: 10000 }
   */
  rateLimit?: { burst?: number, perSecond?: number, abuseFactor?: number, maxRequesters?: number }

  /**
   * How established a requester is: its distinct counterparties in
   * countersigned receipts (e.g. `p => receipts.standing(p).counterparties`).
   * Given, it turns on newcomer budgets: every key with standing 0 also
   * draws from one shared bucket (`newcomers`), so fresh keys never each
   * get a fresh burst, and a key with standing `n >= 1` gets its own bucket
   * `standingScale(n)` times the `rateLimit` one. Omitted: every key gets
   * the same `rateLimit` bucket (no newcomer budget). A local policy: the
   * wire is unchanged.
   */
  standing?(peer: PeerId): number

  /**
   * The bucket shared by all keys of standing 0 (only with `standing`).
   * Their announcements and withdrawals over it are ignored (never
   * blamed: a relay forwards a newcomer's valid job in good faith) and
   * counted (`ignore:newcomer-limited`, `newcomerBudget()`). `false`: no
   * shared bucket (established keys still get their scaled buckets).
   *
   * @default { burst: 8, perSecond: 1 }
   */
  newcomers?: { burst?: number, perSecond?: number } | false

  /**
   * This node's pacing of its own announcements and withdrawals: the limit
   * its peers apply, so none of them is sent only to be ignored. A message
   * costs one token per topic it goes out on. Over it, `announce()` and
   * `publish()` throw `PublishRateLimitedError` (or wait up to
   * `maxWaitMs`); `withdraw()` waits its turn. `false` turns pacing off.
   *
   * @default the `burst` and `perSecond` of `rateLimit`
   */
  publishRateLimit?: false | { burst?: number, perSecond?: number }

  /**
   * Rejected messages (decaying) after which a peer is cut off
   *
   * @default 5
   */
  maxPeerPenalty?: number

  /**
   * Half-life of a peer's rejected-message count, ms
   *
   * @default 60000
   */
  penaltyHalfLifeMs?: number

  /**
   * How long a cut-off peer is refused, ms
   *
   * @default 600000
   */
  banMs?: number

  /**
   * Serve and run the late-joiner sync protocol
   *
   * @default true
   */
  sync?: boolean

  /**
   * Protocol id of the sync. Each job board on one node needs its own: a
   * board whose id another service already handles refuses to start with
   * `SyncProtocolInUseError` (or pass `sync: false` to the second board).
   *
   * @default '/shoal/jobs/sync/1.0.0'
   */
  syncProtocol?: string

  /**
   * Most records in one sync response
   *
   * @default 256
   */
  maxSyncRecords?: number

  /**
   * Most bytes in one sync response
   *
   * @default 262144
   */
  maxSyncBytes?: number

  /**
   * Time allowed for one sync, ms
   *
   * @default 10000
   */
  syncTimeoutMs?: number

  /**
   * A peer is synced with at most once per this interval, ms
   *
   * @default 60000
   */
  syncIntervalMs?: number

  /**
   * @default 2
   */
  syncMaxInboundStreams?: number

  /**
   * @default 2
   */
  syncMaxOutboundStreams?: number

  /**
   * Capability records of known providers, for `explain()` (e.g. from
   * @shoal/discovery)
   */
  providers?(options?: AbortOptions): Iterable<CapabilityRecord> | Promise<Iterable<CapabilityRecord>>

  /**
   * The clock, ms (inject it in tests and simulations)
   *
   * @default Date.now
   */
  now?(): number
}

/** The fields of a job to announce; the rest are filled by `announce()`. */
export interface JobAnnouncementInit extends Partial<Omit<JobAnnouncement, 'requirements' | 'kind' | 'priceCeiling' | 'budget'>> {
  kind: JobKind
  priceCeiling: Price
  budget: number
  requirements?: Partial<Requirements>
}

/** Options of `announce()`. */
export interface AnnounceOptions extends AbortOptions {
  /** also publish on the kind's global topic (always done for jobs without a region) */
  global?: boolean
  /**
   * when the pacing (`publishRateLimit`) has no room, wait up to this long
   * for it, ms, before throwing `PublishRateLimitedError`
   *
   * @default 0
   */
  maxWaitMs?: number
}

/** Options of `explain()`. */
export interface ExplainOptions extends AbortOptions {
  /** known providers' capability records (default: `init.providers()`) */
  providers?: CapabilityRecord[]
  /** quotes received for the job */
  quotes?: Quote[]
  /** for a job not on the board: whether it was announced globally */
  global?: boolean
}

/** A job id: its 16 bytes, or their lowercase hex. */
export type JobRef = Uint8Array | string

/** A job filter for `jobs()`. */
export interface JobFilter {
  kind?: JobKind
  /** geohash prefix: jobs in it, or around it, or without a region */
  region?: string
  requester?: PeerId
  gpuClass?: string
  source?: JobSource
}

/** A withdrawal that landed on the board. */
export interface JobWithdrawnEvent {
  /** the job id as hex */
  key: string
  withdrawal: SignedRecord<JobWithdrawal>
  /** the withdrawn job, if it was on the board */
  job?: JobEntry
  /** the peer it came from (undefined for this peer's own withdrawals) */
  from?: PeerId
}

/** The job board's events. */
export interface JobBoardEvents {
  /** a valid announcement landed on the board (received, synced, or this peer's own) */
  'job:announced': CustomEvent<JobEntry>
  /** a job was withdrawn by its requester */
  'job:withdrawn': CustomEvent<JobWithdrawnEvent>
  /** a job's lifetime ended and it left the board */
  'job:expired': CustomEvent<JobEntry>
  /** a peer sent too many invalid messages and was cut off */
  'peer:banned': CustomEvent<PeerId>
  /** a message a peer sent was rejected (it counts against the peer; see `maxPeerPenalty`) */
  'message:rejected': CustomEvent<RejectedMessage>
}

/** A rejected message (`message:rejected`). */
export interface RejectedMessage {
  /** the peer it came from */
  peer: PeerId
  /** why: `invalid-signature`, `malformed`, `expired`, `wrong-topic`, ... */
  reason: VerdictReason
  /** gossip or sync */
  source: JobSource
  /** the topic it came on (gossip) */
  topic?: string
  error?: Error
}

/** The job board service type, as seen on `node.services.jobs`. */
export type JobBoardService = JobBoard & TypedEventTarget<JobBoardEvents>

/** Create the job board service for libp2p's `services`. */
export function jobBoard (init: JobBoardInit = {}): (components: JobBoardComponents) => JobBoard {
  return (components) => new JobBoard(components, init)
}
