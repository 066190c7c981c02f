/**
 * The job board: the public API and lifecycle over its roles, which share
 * one `BoardContext`:
 *
 * - `board.ts`: the bounded local board (`JobStore`)
 * - `publisher.ts`: this node's own announcements and withdrawals
 * - `subscriptions.ts`: the topics of this node's interests
 * - `validator.ts` and `ingest.ts`: checking received messages and applying them
 * - `rate-limit.ts`: the per-requester rate limit (busy is ignored, abuse blamed) and the newcomer budget
 * - `pacing.ts`: this node's own pacing of what it publishes
 * - `penalties.ts`: rejected messages counted against their senders, bans
 * - `expiry.ts`: the expiry timer
 * - `sync.ts`: the late-joiner sync, client and server
 */

import { TypedEventEmitter, serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { peerIdFromBytes } from '@shoal/records'
import { optionalService } from '@shoal/utils'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { JobStore, jobKey } from './board.js'
import {
  BAN_MS, CLOCK_SKEW_MS, JOB_TTL_MS, EXPIRY_GRACE_MS, MAX_JOBS,
  MAX_JOBS_PER_REQUESTER, MAX_PEER_PENALTY, MAX_SYNC_BYTES, MAX_SYNC_RECORDS, MAX_WITHDRAWALS,
  NEWCOMER_BURST, NEWCOMER_PER_SECOND, PENALTY_HALF_LIFE_MS, RATE_LIMIT_ABUSE_FACTOR, RATE_LIMIT_BURST, RATE_LIMIT_MAX_KEYS, RATE_LIMIT_PER_SECOND, SERVICE_NAME,
  SYNC_INTERVAL_MS, SYNC_PROTOCOL, SYNC_TIMEOUT_MS, WITHDRAWAL_TTL_MS
} from './constants.js'
import { JobBoardNotStartedError, JobNotFoundError, MissingPubSubError } from './errors.js'
import { ExpiryTimer } from './expiry.js'
import { explainJob } from './explain.js'
import { MessageIngest } from './ingest.js'
import { PublishPacer } from './pacing.js'
import { PeerPenalties } from './penalties.js'
import { RequesterRateLimit } from './rate-limit.js'
import { JobPublisher } from './publisher.js'
import { TopicSubscriptions } from './subscriptions.js'
import { JobSync } from './sync.js'
import { topicsForAnnouncement, topicsForInterests } from './topics.js'
import type { JobEntry } from './board.js'
import type { BoardContext } from './context.js'
import type { JobExplanation } from './explain.js'
import type { NewcomerBudget } from './rate-limit.js'
import type {
  AnnounceOptions, ExplainOptions, JobAnnouncementInit, JobBoardComponents, JobBoardEvents, JobBoardInit,
  JobBoardPubSub, JobFilter, JobRef
} from './index.js'
import type { Interests } from './topics.js'
import type { AbortOptions, PeerId, Startable } from '@libp2p/interface'
import type { JobAnnouncement, JobWithdrawal, SignedRecord } from '@shoal/records'

function isPubSub (obj: unknown): obj is JobBoardPubSub {
  const o = obj as Partial<Record<keyof JobBoardPubSub, unknown>> | null | undefined
  return o != null &&
    typeof o.subscribe === 'function' &&
    typeof o.unsubscribe === 'function' &&
    typeof o.publish === 'function' &&
    typeof o.getSubscribers === 'function' &&
    typeof o.getTopics === 'function' &&
    o.topicValidators instanceof Map
}

/**
 * The job board: publishes, withdraws and expires signed job announcements
 * on pubsub topics by kind and region, validates every message through the
 * topic validators, keeps a bounded local board and syncs live jobs to
 * peers that connect later.
 */
export class JobBoard extends TypedEventEmitter<JobBoardEvents> implements Startable {
  readonly [Symbol.toStringTag] = SERVICE_NAME
  readonly [serviceCapabilities]: string[] = ['@shoal/job-board']
  readonly [serviceDependencies]: string[] = ['@libp2p/pubsub', '@libp2p/identify']

  private readonly components: JobBoardComponents
  private readonly ctx: BoardContext
  private readonly init: JobBoardInit
  private readonly penalties: PeerPenalties
  private readonly expiry: ExpiryTimer
  private readonly ingest: MessageIngest
  private readonly jobSync: JobSync
  private readonly subscriptions: TopicSubscriptions
  private readonly publisher: JobPublisher
  private readonly rateLimit: RequesterRateLimit
  private pubsub?: JobBoardPubSub
  private started = false
  private afterStarted = false

  constructor (components: JobBoardComponents, init: JobBoardInit = {}) {
    super()
    this.components = components
    this.init = init
    const interests = { kinds: [...(init.serve?.kinds ?? [])], regions: [...(init.serve?.regions ?? [])] }
    // fail at construction, not at start, on impossible interests
    topicsForInterests(interests)
    const now = init.now ?? Date.now

    this.ctx = {
      components,
      log: components.logger.forComponent('shoal:job-board'),
      now,
      store: new JobStore({
        maxJobs: init.maxJobs ?? MAX_JOBS,
        maxPerRequester: init.maxJobsPerRequester ?? MAX_JOBS_PER_REQUESTER,
        maxWithdrawals: init.maxWithdrawals ?? MAX_WITHDRAWALS
      }),
      events: this,
      metrics: components.metrics?.registerCounterGroup('shoal_job_board_messages_total', {
        label: 'verdict',
        help: 'Job board messages by verdict and reason'
      }),
      interests,
      clockSkewMs: init.clockSkewMs ?? CLOCK_SKEW_MS
    }
    this.penalties = new PeerPenalties(this.ctx, {
      maxPeerPenalty: init.maxPeerPenalty ?? MAX_PEER_PENALTY,
      penaltyHalfLifeMs: init.penaltyHalfLifeMs ?? PENALTY_HALF_LIFE_MS,
      banMs: init.banMs ?? BAN_MS
    })
    this.expiry = new ExpiryTimer(this.ctx)
    const burst = init.rateLimit?.burst ?? RATE_LIMIT_BURST
    const perSecond = init.rateLimit?.perSecond ?? RATE_LIMIT_PER_SECOND
    const standing = init.standing
    const rateLimit = this.rateLimit = new RequesterRateLimit({
      burst,
      perSecond,
      abuseFactor: init.rateLimit?.abuseFactor ?? RATE_LIMIT_ABUSE_FACTOR,
      maxKeys: init.rateLimit?.maxRequesters ?? RATE_LIMIT_MAX_KEYS,
      now,
      standing: standing == null ? undefined : (key) => requesterStanding(standing, key),
      newcomers: standing == null || init.newcomers === false
        ? undefined
        : { burst: init.newcomers?.burst ?? NEWCOMER_BURST, perSecond: init.newcomers?.perSecond ?? NEWCOMER_PER_SECOND },
      // this node's own jobs are never limited by its own board
      exempt: uint8ArrayToString(components.peerId.toMultihash().bytes, 'base16')
    })
    this.ingest = new MessageIngest(this.ctx, this.penalties, this.expiry, rateLimit, {
      expiryGraceMs: init.expiryGraceMs ?? EXPIRY_GRACE_MS,
      withdrawalTtlMs: init.withdrawalTtlMs ?? WITHDRAWAL_TTL_MS
    })
    this.subscriptions = new TopicSubscriptions(this.ctx, this.ingest.validate)
    // peers limit this node as it limits them: its own messages keep to the same bucket unless told otherwise
    const pacer = init.publishRateLimit === false
      ? undefined
      : new PublishPacer({ burst: init.publishRateLimit?.burst ?? burst, perSecond: init.publishRateLimit?.perSecond ?? perSecond, now })
    this.publisher = new JobPublisher(this.ctx, this.expiry, this.ingest, init.defaultTtlMs ?? JOB_TTL_MS, pacer)
    this.jobSync = new JobSync(this.ctx, this.ingest, this.penalties, {
      enabled: init.sync !== false,
      protocol: init.syncProtocol ?? SYNC_PROTOCOL,
      maxRecords: init.maxSyncRecords ?? MAX_SYNC_RECORDS,
      maxBytes: init.maxSyncBytes ?? MAX_SYNC_BYTES,
      timeoutMs: init.syncTimeoutMs ?? SYNC_TIMEOUT_MS,
      intervalMs: init.syncIntervalMs ?? SYNC_INTERVAL_MS,
      maxInboundStreams: init.syncMaxInboundStreams,
      maxOutboundStreams: init.syncMaxOutboundStreams
    })
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) {
      return
    }
    this.pubsub = this.findPubSub()
    await this.jobSync.start()
    this.started = true
    this.expiry.start()
  }

  /** Subscribe once every service has started: pubsub refuses subscriptions before. */
  afterStart (): void {
    if (this.started) {
      this.afterStarted = true
      this.subscriptions.apply(this.requirePubSub())
    }
  }

  /** Leave the topics while pubsub still runs. */
  beforeStop (): void {
    this.afterStarted = false
    this.subscriptions.leaveAll(this.pubsub)
  }

  async stop (): Promise<void> {
    if (!this.started) {
      return
    }
    this.started = false
    this.expiry.stop()
    this.publisher.stop()
    await this.jobSync.stop()
    this.beforeStop()
  }

  /** What this peer serves. */
  getInterests (): Interests {
    return { kinds: [...(this.ctx.interests.kinds ?? [])], regions: [...(this.ctx.interests.regions ?? [])] }
  }

  /** Change what this peer serves: subscribes to the topics it now needs and leaves the others. */
  setInterests (interests: Interests): void {
    topicsForInterests(interests)
    this.ctx.interests = { kinds: [...(interests.kinds ?? [])], regions: [...(interests.regions ?? [])] }
    if (this.started && this.afterStarted) {
      this.subscriptions.apply(this.requirePubSub())
    }
  }

  /** The topics this board is subscribed to. */
  getTopics (): string[] {
    return this.subscriptions.topics()
  }

  /**
   * Sign a job with this node's key and publish it. Missing fields are
   * filled: version, a random job id, this node as requester, creation
   * time, expiry (now + defaultTtlMs), deadline (the expiry) and empty
   * requirements. Beyond the rate peers accept (`publishRateLimit`) it
   * waits up to `options.maxWaitMs`, then throws `PublishRateLimitedError`.
   */
  async announce (job: JobAnnouncementInit, options: AnnounceOptions = {}): Promise<SignedRecord<JobAnnouncement>> {
    return this.publisher.announce(this.requirePubSub(), job, options)
  }

  /**
   * Publish a JobAnnouncement this node already signed (e.g. by
   * `work.createJob()`), so a job is signed once: the exact bytes go on the
   * board and out on its topics. The record (or its envelope bytes) must be
   * valid now and signed by this node's key: else `NotRequesterError`, or
   * `InvalidAnnouncementError` with the records package's error as `cause`.
   * Publishing the same record again publishes it again. Paced like
   * `announce()` (`PublishRateLimitedError`).
   */
  async publish (record: SignedRecord<JobAnnouncement> | Uint8Array, options: AnnounceOptions = {}): Promise<SignedRecord<JobAnnouncement>> {
    return this.publisher.publish(this.requirePubSub(), record, options)
  }

  /**
   * Withdraw one of this node's jobs: sign a withdrawal and publish it on
   * the job's topics. It takes effect on this board at once; when the pacing
   * has no room it waits for its turn (ahead of announcements) before it
   * goes out, and resolves once sent.
   */
  async withdraw (jobId: JobRef, options: AbortOptions = {}): Promise<SignedRecord<JobWithdrawal>> {
    return this.publisher.withdraw(this.requirePubSub(), this.keyOf(jobId), options)
  }

  /** The live jobs on the board, oldest first, optionally filtered. */
  jobs (filter: JobFilter = {}): JobEntry[] {
    const now = this.ctx.now()
    const out: JobEntry[] = []
    for (const entry of this.ctx.store.values()) {
      const job = entry.record.value
      if (job.expiresMs <= now) {
        continue
      }
      if (filter.kind != null && job.kind !== filter.kind) {
        continue
      }
      if (filter.region != null) {
        const region = job.requirements?.region ?? ''
        if (region !== '' && !region.startsWith(filter.region) && !filter.region.startsWith(region)) {
          continue
        }
      }
      if (filter.requester != null && !entry.requester.equals(filter.requester)) {
        continue
      }
      if (filter.gpuClass != null && job.requirements?.gpuClass !== filter.gpuClass) {
        continue
      }
      if (filter.source != null && entry.source !== filter.source) {
        continue
      }
      out.push(entry)
    }
    return out
  }

  /** A live job by id (bytes or hex), or undefined. */
  get (jobId: JobRef): JobEntry | undefined {
    const entry = this.ctx.store.get(this.keyOf(jobId))
    if (entry == null || entry.record.value.expiresMs <= this.ctx.now()) {
      return undefined
    }
    return entry
  }

  /** Number of announcements held (live or awaiting the expiry timer). */
  get size (): number {
    return this.ctx.store.size
  }

  /**
   * Why a job may get no offers, from this peer's view: subscribers of its
   * topics, known providers (from `options.providers` or `init.providers`),
   * quotes received, expiry, withdrawal.
   */
  async explain (job: JobRef | SignedRecord<JobAnnouncement> | JobAnnouncement, options: ExplainOptions = {}): Promise<JobExplanation> {
    let value: JobAnnouncement
    let key: string
    if (typeof job === 'string' || job instanceof Uint8Array) {
      key = this.keyOf(job)
      const entry = this.ctx.store.get(key)
      if (entry == null) {
        throw new JobNotFoundError(`Job ${key} is not on the board`)
      }
      value = entry.record.value
    } else {
      value = 'value' in job ? job.value : job
      key = jobKey(value.jobId)
    }
    const entry = this.ctx.store.get(key)
    const topics = entry?.topics.length != null && entry.topics.length > 0
      ? entry.topics
      : topicsForAnnouncement(value, options.global === true)
    const subscribers: Record<string, number> = {}
    for (const topic of topics) {
      subscribers[topic] = this.pubsub?.getSubscribers(topic).length ?? 0
    }
    const providers = options.providers ?? (this.init.providers == null ? undefined : [...await this.init.providers(options)])
    const withdrawal = this.ctx.store.getWithdrawal(key, uint8ArrayToString(value.requester, 'base16'))
    return explainJob({
      job: value,
      jobId: key,
      now: this.ctx.now(),
      topics,
      subscribers,
      onBoard: entry != null,
      withdrawn: withdrawal != null && withdrawal.requester === uint8ArrayToString(value.requester, 'base16'),
      recipients: entry?.recipients,
      providers,
      quotes: options.quotes
    })
  }

  /**
   * The bucket all requesters of standing 0 share (`init.standing` and
   * `init.newcomers`): its size, rate, tokens left, and how many of their
   * messages it has turned away; undefined without one.
   */
  newcomerBudget (): NewcomerBudget | undefined {
    return this.rateLimit.newcomerBudget()
  }

  /** Whether this board has cut a peer off for sending invalid messages. */
  isBanned (peer: PeerId): boolean {
    return this.penalties.isBanned(peer)
  }

  /**
   * Ask a peer for its live announcements and withdrawals, validate each
   * like gossip and keep those matching this peer's interests. Returns the
   * number of jobs learned.
   */
  async sync (peer: PeerId, options: AbortOptions = {}): Promise<number> {
    return this.jobSync.sync(peer, options)
  }

  private findPubSub (): JobBoardPubSub {
    // read as optional: a node without `services.pubsub` gets this service's own error
    const pubsub: unknown = optionalService(this.components, 'pubsub')
    if (!isPubSub(pubsub)) {
      throw new MissingPubSubError()
    }
    return pubsub
  }

  private requirePubSub (): JobBoardPubSub {
    if (!this.started || this.pubsub == null) {
      throw new JobBoardNotStartedError()
    }
    return this.pubsub
  }

  private keyOf (jobId: JobRef): string {
    return typeof jobId === 'string' ? jobId.toLowerCase() : jobKey(jobId)
  }
}

/** The standing of a requester known by its multihash hex; a key that is no peer id, or a throwing callback, has none. */
function requesterStanding (standing: (peer: PeerId) => number, requesterKey: string): number {
  try {
    const n = standing(peerIdFromBytes(uint8ArrayFromString(requesterKey, 'base16')))
    return Number.isNaN(n) ? 0 : n
  } catch {
    return 0
  }
}
