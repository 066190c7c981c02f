import { TypedEventEmitter, serviceCapabilities, serviceDependencies, setMaxListeners } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import {
  JobAnnouncementType, JobWithdrawalType, MAX_SIZE, RECORD_VERSION, isVerified, newRandomId, openRecord, signRecord
} from '@shoal/records'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { JobStore, jobKey } from './board.js'
import {
  BAN_MS, CLOCK_SKEW_MS, DEFAULT_JOB_TTL_MS, DEFAULT_PUBSUB_SERVICE, EXPIRY_GRACE_MS, MAX_JOBS,
  MAX_JOBS_PER_REQUESTER, MAX_PEER_PENALTY, MAX_SYNC_BYTES, MAX_SYNC_RECORDS, MAX_SYNC_REQUEST_BYTES, MAX_TIMER_MS, MAX_WITHDRAWALS,
  PENALTY_HALF_LIFE_MS, RATE_LIMIT_BURST, RATE_LIMIT_MAX_KEYS, RATE_LIMIT_PER_SECOND, SERVICE_NAME,
  SYNC_INTERVAL_MS, SYNC_MAX_INBOUND_STREAMS, SYNC_MAX_OUTBOUND_STREAMS, SYNC_PROTOCOL, SYNC_TIMEOUT_MS,
  WITHDRAWAL_TTL_MS
} from './constants.js'
import {
  InvalidAnnouncementError, InvalidSyncResponseError, JobBoardNotStartedError, JobNotFoundError, MissingPubSubError, NotRequesterError,
  SyncProtocolInUseError
} from './errors.js'
import { explainJob } from './explain.js'
import { TokenBucketLimiter } from './rate-limiter.js'
import { decodeSyncRequest, encodeSyncRequest } from './sync.js'
import { jobMatchesInterests, topicsForAnnouncement, topicsForInterests } from './topics.js'
import { validateJobMessage } from './validator.js'
import type { JobEntry, JobSource } from './board.js'
import type { JobExplanation } from './explain.js'
import type {
  AnnounceOptions, ExplainOptions, JobAnnouncementInit, JobBoardComponents, JobBoardEvents, JobBoardInit,
  JobBoardPubSub, JobFilter, JobRef, PubSubMessage, PubSubValidatorResult
} from './index.js'
import type { Interests } from './topics.js'
import type { MessageContext, MessageVerdict, ValidatorState, VerdictReason } from './validator.js'
import type { AbortOptions, Connection, CounterGroup, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { JobAnnouncement, JobWithdrawal, SignedRecord } from '@shoal/records'

interface Penalty {
  score: number
  at: number
}

const MAX_TRACKED_PEERS = 10_000

function isPubSub (obj: any): obj is JobBoardPubSub {
  return obj != null &&
    typeof obj.subscribe === 'function' &&
    typeof obj.unsubscribe === 'function' &&
    typeof obj.publish === 'function' &&
    typeof obj.getSubscribers === 'function' &&
    typeof obj.getTopics === 'function' &&
    obj.topicValidators instanceof Map
}

function isUnexpectedEOF (err: any): boolean {
  return err?.name === 'UnexpectedEOFError'
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
  private readonly log: Logger
  private readonly store: JobStore
  private readonly limiter: TokenBucketLimiter
  private readonly now: () => number
  private readonly pubsubService: string
  private readonly clockSkewMs: number
  private readonly expiryGraceMs: number
  private readonly defaultTtlMs: number
  private readonly withdrawalTtlMs: number
  private readonly maxPeerPenalty: number
  private readonly penaltyHalfLifeMs: number
  private readonly banMs: number
  private readonly syncEnabled: boolean
  private readonly syncProtocol: string
  private readonly maxSyncRecords: number
  private readonly maxSyncBytes: number
  private readonly syncTimeoutMs: number
  private readonly syncIntervalMs: number
  private readonly init: JobBoardInit
  private readonly penalties = new Map<string, Penalty>()
  private readonly banned = new Map<string, number>()
  private readonly lastSync = new Map<string, number>()
  private readonly gossipState: ValidatorState
  private readonly syncState: ValidatorState
  private readonly metrics?: CounterGroup
  private interests: Interests
  private subscribed = new Set<string>()
  private pubsub?: JobBoardPubSub
  private started = false
  private afterStarted = false
  /** whether this board registered the sync handler (so stop() never removes another service's) */
  private handlingSync = false
  private topologyId?: string
  private timer?: ReturnType<typeof setTimeout>
  private timerAt = Infinity
  private shutdown?: AbortController

  constructor (components: JobBoardComponents, init: JobBoardInit = {}) {
    super()
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('shoal:job-board')
    this.now = init.now ?? Date.now
    this.pubsubService = init.pubsubService ?? DEFAULT_PUBSUB_SERVICE
    this.clockSkewMs = init.clockSkewMs ?? CLOCK_SKEW_MS
    this.expiryGraceMs = init.expiryGraceMs ?? EXPIRY_GRACE_MS
    this.defaultTtlMs = init.defaultTtlMs ?? DEFAULT_JOB_TTL_MS
    this.withdrawalTtlMs = init.withdrawalTtlMs ?? WITHDRAWAL_TTL_MS
    this.maxPeerPenalty = init.maxPeerPenalty ?? MAX_PEER_PENALTY
    this.penaltyHalfLifeMs = init.penaltyHalfLifeMs ?? PENALTY_HALF_LIFE_MS
    this.banMs = init.banMs ?? BAN_MS
    this.syncEnabled = init.sync !== false
    this.syncProtocol = init.syncProtocol ?? SYNC_PROTOCOL
    this.maxSyncRecords = init.maxSyncRecords ?? MAX_SYNC_RECORDS
    this.maxSyncBytes = init.maxSyncBytes ?? MAX_SYNC_BYTES
    this.syncTimeoutMs = init.syncTimeoutMs ?? SYNC_TIMEOUT_MS
    this.syncIntervalMs = init.syncIntervalMs ?? SYNC_INTERVAL_MS
    this.interests = { kinds: [...(init.serve?.kinds ?? [])], regions: [...(init.serve?.regions ?? [])] }
    // fail at construction, not at start, on impossible interests
    topicsForInterests(this.interests)

    this.store = new JobStore({
      maxJobs: init.maxJobs ?? MAX_JOBS,
      maxPerRequester: init.maxJobsPerRequester ?? MAX_JOBS_PER_REQUESTER,
      maxWithdrawals: init.maxWithdrawals ?? MAX_WITHDRAWALS
    })
    this.limiter = new TokenBucketLimiter({
      burst: init.rateLimit?.burst ?? RATE_LIMIT_BURST,
      perSecond: init.rateLimit?.perSecond ?? RATE_LIMIT_PER_SECOND,
      maxKeys: init.rateLimit?.maxRequesters ?? RATE_LIMIT_MAX_KEYS,
      now: this.now
    })

    const board = {
      now: this.now,
      clockSkewMs: this.clockSkewMs,
      expiryGraceMs: this.expiryGraceMs,
      job: (key: string) => {
        const entry = this.store.get(key)
        return entry == null ? undefined : { bytes: entry.record.bytes, requesterKey: uint8ArrayToString(entry.record.value.requester, 'base16') }
      },
      withdrawal: (key: string, requesterKey: string) => {
        const entry = this.store.getWithdrawal(key, requesterKey)
        return entry == null ? undefined : { bytes: entry.record.bytes, requesterKey: entry.requester }
      }
    }
    this.gossipState = { ...board, tryTake: (key: string) => this.limiter.tryTake(key) }
    // records learned by sync are bounded per exchange, and must not drain the requester's gossip tokens;
    // records this peer would drop are dropped before their signature is checked
    this.syncState = { ...board, interested: (job: JobAnnouncement) => jobMatchesInterests(job, this.interests) }

    this.metrics = components.metrics?.registerCounterGroup('shoal_job_board_messages_total', {
      label: 'verdict',
      help: 'Job board messages by verdict and reason'
    })

    this.handleSync = this.handleSync.bind(this)
    this.validate = this.validate.bind(this)
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) {
      return
    }
    this.pubsub = this.findPubSub()
    if (this.syncEnabled) {
      await this.handleSyncProtocol()
    }
    this.shutdown = new AbortController()
    setMaxListeners(Infinity, this.shutdown.signal)
    this.started = true

    if (this.syncEnabled) {
      this.topologyId = await this.components.registrar.register(this.syncProtocol, {
        onConnect: (peerId: PeerId) => { this.onPeerConnect(peerId) }
      })
    }
    this.scheduleExpiry()
  }

  /** Register the sync handler, refusing clearly to replace another service's (a second board on this node). */
  private async handleSyncProtocol (): Promise<void> {
    const inUse = (): SyncProtocolInUseError => new SyncProtocolInUseError(
      `Another service already handles ${this.syncProtocol} on this node (a second job board?): ` +
      'give each job board its own `syncProtocol`, or `sync: false`'
    )
    if (this.components.registrar.getProtocols().includes(this.syncProtocol)) {
      throw inUse()
    }
    try {
      await this.components.registrar.handle(this.syncProtocol, this.handleSync, {
        maxInboundStreams: this.init.syncMaxInboundStreams ?? SYNC_MAX_INBOUND_STREAMS,
        maxOutboundStreams: this.init.syncMaxOutboundStreams ?? SYNC_MAX_OUTBOUND_STREAMS
      })
    } catch (err: any) {
      if (err?.name === 'DuplicateProtocolHandlerError') {
        throw inUse()
      }
      throw err
    }
    this.handlingSync = true
  }

  /** Subscribe once every service has started: pubsub refuses subscriptions before. */
  afterStart (): void {
    if (this.started) {
      this.afterStarted = true
      this.applyInterests()
    }
  }

  /** Leave the topics while pubsub still runs. */
  beforeStop (): void {
    this.afterStarted = false
    for (const topic of this.subscribed) {
      this.unsubscribeTopic(topic)
    }
    this.subscribed.clear()
  }

  async stop (): Promise<void> {
    if (!this.started) {
      return
    }
    this.started = false
    this.shutdown?.abort()
    if (this.timer != null) {
      clearTimeout(this.timer)
      this.timer = undefined
      this.timerAt = Infinity
    }
    if (this.topologyId != null) {
      this.components.registrar.unregister(this.topologyId)
      this.topologyId = undefined
    }
    if (this.handlingSync) {
      this.handlingSync = false
      await this.components.registrar.unhandle(this.syncProtocol)
    }
    this.beforeStop()
  }

  /** What this peer serves. */
  getInterests (): Interests {
    return { kinds: [...(this.interests.kinds ?? [])], regions: [...(this.interests.regions ?? [])] }
  }

  /** Change what this peer serves: subscribes to the topics it now needs and leaves the others. */
  setInterests (interests: Interests): void {
    topicsForInterests(interests)
    this.interests = { kinds: [...(interests.kinds ?? [])], regions: [...(interests.regions ?? [])] }
    if (this.started && this.afterStarted) {
      this.applyInterests()
    }
  }

  /** The topics this board is subscribed to. */
  getTopics (): string[] {
    return [...this.subscribed]
  }

  /**
   * Sign a job with this node's key and publish it. Missing fields are
   * filled: version, a random job id, this node as requester, creation
   * time, expiry (now + defaultTtlMs), deadline (the expiry) and empty
   * requirements.
   */
  async announce (job: JobAnnouncementInit, options: AnnounceOptions = {}): Promise<SignedRecord<JobAnnouncement>> {
    const pubsub = this.requirePubSub()
    options.signal?.throwIfAborted()
    const now = this.now()
    const expiresMs = job.expiresMs ?? now + this.defaultTtlMs
    const value: JobAnnouncement = {
      version: job.version ?? RECORD_VERSION,
      jobId: job.jobId ?? newRandomId(),
      requester: job.requester ?? this.components.peerId.toMultihash().bytes,
      kind: job.kind,
      requirements: {
        gpuModel: '',
        gpuClass: '',
        minVramMib: 0,
        gpuCount: 0,
        sensors: [],
        region: '',
        maxRttMs: 0,
        ...job.requirements
      },
      priceCeiling: job.priceCeiling,
      budget: job.budget,
      deadlineMs: job.deadlineMs ?? expiresMs,
      createdMs: job.createdMs ?? now,
      expiresMs,
      description: job.description ?? '',
      inputHash: job.inputHash ?? new Uint8Array(),
      inputBytes: job.inputBytes ?? 0,
      workload: job.workload ?? ''
    }
    const record = await signRecord(JobAnnouncementType, value, this.components.privateKey)
    await this.publishOwn(pubsub, record, options)
    return record
  }

  /**
   * Publish a JobAnnouncement this node already signed (e.g. by
   * `work.createJob()`), so a job is signed once: the exact bytes go on the
   * board and out on its topics. The record (or its envelope bytes) must be
   * valid now and signed by this node's key: else `NotRequesterError`, or
   * `InvalidAnnouncementError` with the records package's error as `cause`.
   * Publishing the same record again publishes it again.
   */
  async publish (record: SignedRecord<JobAnnouncement> | Uint8Array, options: AnnounceOptions = {}): Promise<SignedRecord<JobAnnouncement>> {
    const pubsub = this.requirePubSub()
    options.signal?.throwIfAborted()
    let opened: SignedRecord<JobAnnouncement>
    try {
      // a record this process signed or opened needs no second verification, only the time check below
      opened = isVerified(record)
        ? record as SignedRecord<JobAnnouncement>
        : await openRecord(JobAnnouncementType, record instanceof Uint8Array ? record : record?.bytes, { now: this.now, clockSkewMs: this.clockSkewMs })
    } catch (err: any) {
      throw new InvalidAnnouncementError(`Not a valid JobAnnouncement: ${err?.name ?? 'Error'}: ${err?.message ?? err}`, { cause: err })
    }
    if (!opened.signer.equals(this.components.peerId)) {
      throw new NotRequesterError(`The announcement is signed by ${opened.signer.toString()}, not by this node`)
    }
    const now = this.now()
    if (opened.value.expiresMs <= now) {
      throw new InvalidAnnouncementError(`The announcement expired at ${opened.value.expiresMs}`)
    }
    if (topicsForAnnouncement(opened.value).length === 0) {
      throw new InvalidAnnouncementError(`No topic for job kind ${String(opened.value.kind)}`)
    }
    await this.publishOwn(pubsub, opened, options)
    return opened
  }

  /** Put one of this node's signed announcements on the board and publish it on its topics. */
  private async publishOwn (pubsub: JobBoardPubSub, record: SignedRecord<JobAnnouncement>, options: AnnounceOptions): Promise<void> {
    const now = this.now()
    const topics = topicsForAnnouncement(record.value, options.global === true)
    const key = jobKey(record.value.jobId)
    const entry: JobEntry = {
      record,
      key,
      requester: this.components.peerId,
      topics,
      receivedMs: now,
      source: 'local'
    }
    this.store.remove(key)
    this.store.add(entry)
    this.scheduleExpiry(record.value.expiresMs)
    this.safeDispatch('job:announced', entry)
    entry.recipients = await this.publishBytes(pubsub, topics, record.bytes, options)
  }

  /** Withdraw one of this node's jobs: sign a withdrawal and publish it on the job's topics. */
  async withdraw (jobId: JobRef, options: AbortOptions = {}): Promise<SignedRecord<JobWithdrawal>> {
    const pubsub = this.requirePubSub()
    options.signal?.throwIfAborted()
    const key = this.keyOf(jobId)
    const entry = this.store.get(key)
    if (entry == null) {
      throw new JobNotFoundError(`Job ${key} is not on the board`)
    }
    if (!entry.requester.equals(this.components.peerId)) {
      throw new NotRequesterError(`Job ${key} was announced by ${entry.requester.toString()}`)
    }
    const record = await signRecord(JobWithdrawalType, {
      version: RECORD_VERSION,
      jobId: entry.record.value.jobId,
      requester: this.components.peerId.toMultihash().bytes,
      createdMs: this.now()
    }, this.components.privateKey)
    this.store.remove(key)
    this.rememberWithdrawal(record, key, entry.record.value.expiresMs)
    this.safeDispatch('job:withdrawn', { key, withdrawal: record, job: entry })
    await this.publishBytes(pubsub, entry.topics, record.bytes, options)
    return record
  }

  /** The live jobs on the board, oldest first, optionally filtered. */
  jobs (filter: JobFilter = {}): JobEntry[] {
    const now = this.now()
    const out: JobEntry[] = []
    for (const entry of this.store.values()) {
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
    const entry = this.store.get(this.keyOf(jobId))
    if (entry == null || entry.record.value.expiresMs <= this.now()) {
      return undefined
    }
    return entry
  }

  /** Number of announcements held (live or awaiting the expiry timer). */
  get size (): number {
    return this.store.size
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
      const entry = this.store.get(key)
      if (entry == null) {
        throw new JobNotFoundError(`Job ${key} is not on the board`)
      }
      value = entry.record.value
    } else {
      value = 'value' in job ? job.value : job
      key = jobKey(value.jobId)
    }
    const entry = this.store.get(key)
    const topics = entry?.topics.length != null && entry.topics.length > 0
      ? entry.topics
      : topicsForAnnouncement(value, options.global === true)
    const subscribers: Record<string, number> = {}
    for (const topic of topics) {
      subscribers[topic] = this.pubsub?.getSubscribers(topic).length ?? 0
    }
    const providers = options.providers ?? (this.init.providers == null ? undefined : [...await this.init.providers(options)])
    const withdrawal = this.store.getWithdrawal(key, uint8ArrayToString(value.requester, 'base16'))
    return explainJob({
      job: value,
      jobId: key,
      now: this.now(),
      topics,
      subscribers,
      onBoard: entry != null,
      withdrawn: withdrawal != null && withdrawal.requester === uint8ArrayToString(value.requester, 'base16'),
      recipients: entry?.recipients,
      providers,
      quotes: options.quotes
    })
  }

  /** Whether this board has cut a peer off for sending invalid messages. */
  isBanned (peer: PeerId): boolean {
    const until = this.banned.get(peer.toString())
    if (until == null) {
      return false
    }
    if (until <= this.now()) {
      this.banned.delete(peer.toString())
      return false
    }
    return true
  }

  /**
   * Ask a peer for its live announcements and withdrawals, validate each
   * like gossip and keep those matching this peer's interests. Returns the
   * number of jobs learned.
   */
  async sync (peer: PeerId, options: AbortOptions = {}): Promise<number> {
    if (!this.started) {
      throw new JobBoardNotStartedError()
    }
    const signals = [AbortSignal.timeout(this.syncTimeoutMs)]
    if (options.signal != null) {
      signals.push(options.signal)
    }
    if (this.shutdown != null) {
      signals.push(this.shutdown.signal)
    }
    const signal = AbortSignal.any(signals)
    setMaxListeners(Infinity, signal)
    this.lastSync.delete(peer.toString())
    this.lastSync.set(peer.toString(), this.now())
    this.trim(this.lastSync)

    const stream = await this.components.connectionManager.openStream(peer, this.syncProtocol, { signal })
    let learned = 0
    try {
      // the request: what this peer serves, so the responder sends nothing it would drop; then close our side
      const lp = lpStream(stream, { maxDataLength: MAX_SIZE.JobAnnouncement })
      await lp.write(encodeSyncRequest(this.interests), { signal })
      await stream.close({ signal })
      let records = 0
      let bytes = 0
      while (records < this.maxSyncRecords && bytes < this.maxSyncBytes) {
        let frame: Uint8Array
        try {
          frame = (await lp.read({ signal })).subarray()
        } catch (err) {
          if (isUnexpectedEOF(err)) {
            break
          }
          throw err
        }
        records++
        bytes += frame.byteLength
        const ctx: MessageContext = { propagationSource: peer }
        const verdict = await validateJobMessage(frame, ctx, this.syncState)
        const result = this.apply(verdict, ctx, 'sync')
        if (result === 'reject') {
          throw new InvalidSyncResponseError(`Peer ${peer.toString()} sent an invalid record: ${verdict.result === 'accept' ? '' : verdict.reason}`)
        }
        if (result === 'accept' && verdict.result === 'accept' && verdict.type === 'announcement') {
          learned++
        }
      }
      if (records >= this.maxSyncRecords || bytes >= this.maxSyncBytes) {
        stream.abort(new Error('sync limit reached'))
      }
    } catch (err: any) {
      stream.abort(err)
      throw err
    }
    this.log('learned %d jobs from %p by sync', learned, peer)
    return learned
  }

  private findPubSub (): JobBoardPubSub {
    let pubsub: unknown
    try {
      pubsub = (this.components as unknown as Record<string, unknown>)[this.pubsubService]
    } catch {
      pubsub = undefined
    }
    if (!isPubSub(pubsub)) {
      throw new MissingPubSubError(`The job board needs a pubsub service (gossipsub or floodsub) under services.${this.pubsubService}`)
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

  private applyInterests (): void {
    const wanted = new Set(topicsForInterests(this.interests))
    for (const topic of this.subscribed) {
      if (!wanted.has(topic)) {
        this.unsubscribeTopic(topic)
        this.subscribed.delete(topic)
      }
    }
    for (const topic of wanted) {
      if (!this.subscribed.has(topic)) {
        this.pubsub?.topicValidators.set(topic, this.validate)
        this.pubsub?.subscribe(topic)
        this.subscribed.add(topic)
      }
    }
    this.log('subscribed to %d topics', this.subscribed.size)
  }

  private unsubscribeTopic (topic: string): void {
    try {
      this.pubsub?.unsubscribe(topic)
    } catch (err) {
      this.log.error('could not unsubscribe from %s - %e', topic, err)
    }
    if (this.pubsub?.topicValidators.get(topic) === this.validate) {
      this.pubsub.topicValidators.delete(topic)
    }
  }

  private async publishBytes (pubsub: JobBoardPubSub, topics: string[], bytes: Uint8Array, options: AbortOptions): Promise<number> {
    const recipients = new Set<string>()
    for (const topic of topics) {
      options.signal?.throwIfAborted()
      try {
        const result = await pubsub.publish(topic, bytes)
        for (const peer of result?.recipients ?? []) {
          recipients.add(peer.toString())
        }
      } catch (err) {
        // no subscribed peer yet: the job stays on the board and is served to peers that sync later
        this.log('publishing on %s reached no peer - %e', topic, err)
      }
    }
    return recipients.size
  }

  /** The pubsub topic validator of every job topic. */
  private async validate (peer: PeerId, message: PubSubMessage): Promise<PubSubValidatorResult> {
    if (this.isBanned(peer)) {
      return 'ignore'
    }
    const ctx: MessageContext = {
      topic: message.topic,
      propagationSource: peer,
      from: message.type === 'signed' ? message.from : undefined
    }
    const verdict = await validateJobMessage(message.data, ctx, this.gossipState)
    return this.apply(verdict, ctx, 'gossip')
  }

  /** Act on a verdict: update the board, emit events, penalise senders. */
  private apply (verdict: MessageVerdict, ctx: MessageContext, source: JobSource): PubSubValidatorResult {
    if (verdict.result !== 'accept') {
      this.count(verdict.result, verdict.reason)
      if (verdict.result === 'reject' && ctx.propagationSource != null) {
        this.log('rejected %s from %p on %s: %s', verdict.error?.name ?? verdict.reason, ctx.propagationSource, ctx.topic ?? 'sync', verdict.error?.message ?? '')
        this.penalize(ctx.propagationSource)
      }
      return verdict.result
    }
    const now = this.now()

    if (verdict.type === 'withdrawal') {
      const entry = this.store.get(verdict.key)
      if (entry != null && uint8ArrayToString(entry.record.value.requester, 'base16') !== verdict.requesterKey) {
        return this.ignored('not-requester')
      }
      if (this.store.getWithdrawal(verdict.key, verdict.requesterKey) != null) {
        return this.ignored('duplicate')
      }
      this.store.remove(verdict.key)
      this.rememberWithdrawal(verdict.record, verdict.key, entry?.record.value.expiresMs)
      this.count('accept', 'withdrawal')
      this.safeDispatch('job:withdrawn', { key: verdict.key, withdrawal: verdict.record, job: entry, from: ctx.propagationSource })
      return 'accept'
    }

    const record = verdict.record
    if (this.store.has(verdict.key)) {
      // another copy was accepted while this one was being verified
      return this.ignored('duplicate')
    }
    if (record.value.expiresMs <= now) {
      return this.ignored('expired')
    }
    if (source === 'sync' && !jobMatchesInterests(record.value, this.interests)) {
      return this.ignored('not-interested')
    }
    const entry: JobEntry = {
      record,
      key: verdict.key,
      requester: record.signer,
      topics: ctx.topic != null ? [ctx.topic] : topicsForAnnouncement(record.value),
      receivedMs: now,
      source,
      from: ctx.propagationSource
    }
    const evicted = this.store.add(entry)
    if (evicted.length > 0) {
      this.log('board full, evicted %d jobs', evicted.length)
    }
    this.scheduleExpiry(record.value.expiresMs)
    this.count('accept', 'announcement')
    this.safeDispatch('job:announced', entry)
    return 'accept'
  }

  private ignored (reason: VerdictReason): 'ignore' {
    this.count('ignore', reason)
    return 'ignore'
  }

  private count (result: string, reason: string): void {
    this.metrics?.increment({ [`${result}:${reason}`]: true })
  }

  private rememberWithdrawal (record: SignedRecord<JobWithdrawal>, key: string, jobExpiresMs?: number): void {
    const now = this.now()
    this.store.addWithdrawal({
      record,
      key,
      requester: uint8ArrayToString(record.value.requester, 'base16'),
      // long enough that no peer still holding the job can hand it back
      untilMs: Math.max(now + this.withdrawalTtlMs, (jobExpiresMs ?? 0) + this.clockSkewMs)
    })
    this.scheduleExpiry()
  }

  /** Count a rejected message against the peer that sent it; past the limit, cut it off. */
  private penalize (peer: PeerId): void {
    const id = peer.toString()
    const now = this.now()
    const old = this.penalties.get(id)
    const score = (old == null ? 0 : old.score * Math.pow(0.5, (now - old.at) / this.penaltyHalfLifeMs)) + 1
    this.penalties.delete(id)
    this.penalties.set(id, { score, at: now })
    this.trim(this.penalties)

    if (score >= this.maxPeerPenalty && !this.isBanned(peer)) {
      this.log('cutting off %p after %d invalid messages', peer, Math.round(score))
      this.banned.set(id, now + this.banMs)
      this.trim(this.banned)
      this.safeDispatch('peer:banned', peer)
      this.components.connectionManager.closeConnections(peer).catch(err => {
        this.log.error('could not close connections to %p - %e', peer, err)
      })
    }
  }

  private trim (map: Map<string, unknown>): void {
    while (map.size > MAX_TRACKED_PEERS) {
      const oldest = map.keys().next().value
      if (oldest == null) {
        return
      }
      map.delete(oldest)
    }
  }

  private onPeerConnect (peer: PeerId): void {
    if (!this.started || (this.interests.kinds ?? []).length === 0 || this.isBanned(peer)) {
      return
    }
    const last = this.lastSync.get(peer.toString())
    if (last != null && this.now() - last < this.syncIntervalMs) {
      return
    }
    this.sync(peer).catch(err => {
      this.log('sync with %p failed - %e', peer, err)
    })
  }

  /**
   * Serve a sync request: this peer's withdrawals, then its live
   * announcements the asker wants, newest first, walking the board's index
   * and stopping at the limits.
   */
  private async handleSync (stream: Stream, connection: Connection): Promise<void> {
    if (this.isBanned(connection.remotePeer)) {
      stream.abort(new Error('refused'))
      return
    }
    const signal = AbortSignal.timeout(this.syncTimeoutMs)
    setMaxListeners(Infinity, signal)
    try {
      // this side reads only the request
      const lp = lpStream(stream, { maxDataLength: MAX_SYNC_REQUEST_BYTES })
      let wants: Interests | undefined
      try {
        wants = decodeSyncRequest(await lp.read({ signal }))
      } catch (err: any) {
        // an asker of the first 1.0.0 sends no request: it wants everything
        if (!isUnexpectedEOF(err)) {
          throw err
        }
      }
      const now = this.now()
      let records = 0
      let bytes = 0
      const send = async (data: Uint8Array): Promise<boolean> => {
        if (records >= this.maxSyncRecords || bytes + data.byteLength > this.maxSyncBytes) {
          return false
        }
        records++
        bytes += data.byteLength
        await lp.write(data, { signal })
        return true
      }
      // withdrawals first: a late joiner must not learn a job and miss its withdrawal
      for (const w of this.store.withdrawalValues()) {
        if (w.untilMs > now && records < this.maxSyncRecords / 4) {
          if (!await send(w.record.bytes)) {
            break
          }
        }
      }
      // expired entries still on the board (the sweep is due) are skipped, but counted, so the walk stays bounded
      let walked = 0
      for (const entry of this.store.newest(wants)) {
        if (++walked > this.maxSyncRecords * 2) {
          break
        }
        if (entry.record.value.expiresMs <= now) {
          continue
        }
        if (!await send(entry.record.bytes)) {
          break
        }
      }
      await stream.close({ signal })
    } catch (err: any) {
      this.log('sync response to %p failed - %e', connection.remotePeer, err)
      if (err?.name === 'InvalidSyncRequestError') {
        // garbage the asker could have checked itself: counted like a rejected message
        this.count('reject', 'sync-request')
        this.penalize(connection.remotePeer)
      }
      stream.abort(err)
    }
  }

  private scheduleExpiry (at?: number): void {
    if (!this.started) {
      return
    }
    const next = at ?? this.store.nextExpiry()
    if (next == null) {
      return
    }
    if (at != null && next >= this.timerAt) {
      return
    }
    if (this.timer != null) {
      clearTimeout(this.timer)
    }
    const delay = Math.min(Math.max(0, next - this.now()), MAX_TIMER_MS)
    this.timerAt = next
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.timerAt = Infinity
      this.sweep()
    }, delay)
    this.timer.unref?.()
  }

  /** Drop what has expired, and emit `job:expired` for each job. */
  private sweep (): void {
    for (const entry of this.store.expire(this.now())) {
      this.safeDispatch('job:expired', entry)
    }
    this.scheduleExpiry()
  }

  private safeDispatch<K extends keyof JobBoardEvents> (type: K, detail: JobBoardEvents[K] extends CustomEvent<infer D> ? D : never): void {
    try {
      this.safeDispatchEvent(type, { detail })
    } catch (err) {
      this.log.error('a %s listener threw - %e', type, err)
    }
  }
}
