/**
 * This node's own jobs: sign (or take already signed) announcements, put
 * them on the board and publish them on their topics; sign and publish
 * withdrawals. Both are paced to the rate peers accept (`pacing.ts`).
 */

import { JobAnnouncementType, JobWithdrawalType, RECORD_VERSION, isVerified, newRandomId, openRecord, requirementsOf, signRecord } from '@shoal/records'
import { describeError } from '@shoal/utils'
import { jobKey } from './board.js'
import { dispatch } from './context.js'
import { InvalidAnnouncementError, JobNotFoundError, NotRequesterError } from './errors.js'
import { topicsForAnnouncement } from './topics.js'
import type { JobEntry } from './board.js'
import type { BoardContext } from './context.js'
import type { ExpiryTimer } from './expiry.js'
import type { AnnounceOptions, JobAnnouncementInit, JobBoardPubSub } from './index.js'
import type { MessageIngest } from './ingest.js'
import type { PublishPacer } from './pacing.js'
import type { AbortOptions } from '@libp2p/interface'
import type { JobAnnouncement, JobWithdrawal, SignedRecord } from '@shoal/records'

/** Publishes and withdraws this node's jobs. */
export class JobPublisher {
  private readonly ctx: BoardContext
  private readonly expiry: ExpiryTimer
  private readonly ingest: MessageIngest
  private readonly defaultTtlMs: number
  private readonly pacer?: PublishPacer

  constructor (ctx: BoardContext, expiry: ExpiryTimer, ingest: MessageIngest, defaultTtlMs: number, pacer?: PublishPacer) {
    this.ctx = ctx
    this.expiry = expiry
    this.ingest = ingest
    this.defaultTtlMs = defaultTtlMs
    this.pacer = pacer
  }

  /** Refuse the publishes still waiting for room. */
  stop (): void {
    this.pacer?.stop()
  }

  /**
   * Sign a job with this node's key and publish it. Missing fields are
   * filled: version, a random job id, this node as requester, creation
   * time, expiry (now + defaultTtlMs), deadline (the expiry) and empty
   * requirements.
   */
  async announce (pubsub: JobBoardPubSub, job: JobAnnouncementInit, options: AnnounceOptions = {}): Promise<SignedRecord<JobAnnouncement>> {
    options.signal?.throwIfAborted()
    const now = this.ctx.now()
    const expiresMs = job.expiresMs ?? now + this.defaultTtlMs
    const value: JobAnnouncement = {
      version: job.version ?? RECORD_VERSION,
      jobId: job.jobId ?? newRandomId(),
      requester: job.requester ?? this.ctx.components.peerId.toMultihash().bytes,
      kind: job.kind,
      requirements: requirementsOf(job.requirements),
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
    const record = await signRecord(JobAnnouncementType, value, this.ctx.components.privateKey)
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
  async publish (pubsub: JobBoardPubSub, record: SignedRecord<JobAnnouncement> | Uint8Array, options: AnnounceOptions = {}): Promise<SignedRecord<JobAnnouncement>> {
    options.signal?.throwIfAborted()
    let opened: SignedRecord<JobAnnouncement>
    try {
      // a record this process signed or opened needs no second verification, only the time check below
      opened = isVerified(record)
        ? record as SignedRecord<JobAnnouncement>
        : await openRecord(JobAnnouncementType, record instanceof Uint8Array ? record : record?.bytes, { now: this.ctx.now, clockSkewMs: this.ctx.clockSkewMs })
    } catch (err: unknown) {
      throw new InvalidAnnouncementError(`Not a valid JobAnnouncement: ${describeError(err)}`, { cause: err })
    }
    if (!opened.signer.equals(this.ctx.components.peerId)) {
      throw new NotRequesterError(`The announcement is signed by ${opened.signer.toString()}, not by this node`)
    }
    const now = this.ctx.now()
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
    const topics = topicsForAnnouncement(record.value, options.global === true)
    // before the board: a job that is not sent is not this node's announced job either
    await this.pacer?.take(topics.length, { maxWaitMs: options.maxWaitMs ?? 0, signal: options.signal })
    const now = this.ctx.now()
    const key = jobKey(record.value.jobId)
    const entry: JobEntry = {
      record,
      key,
      requester: this.ctx.components.peerId,
      topics,
      receivedMs: now,
      source: 'local'
    }
    this.ctx.store.remove(key)
    this.ctx.store.add(entry)
    this.expiry.schedule(record.value.expiresMs)
    dispatch(this.ctx, 'job:announced', entry)
    entry.recipients = await this.publishBytes(pubsub, topics, record.bytes, options)
  }

  /** Withdraw one of this node's jobs: sign a withdrawal and publish it on the job's topics. */
  async withdraw (pubsub: JobBoardPubSub, key: string, options: AbortOptions = {}): Promise<SignedRecord<JobWithdrawal>> {
    options.signal?.throwIfAborted()
    const entry = this.ctx.store.get(key)
    if (entry == null) {
      throw new JobNotFoundError(`Job ${key} is not on the board`)
    }
    if (!entry.requester.equals(this.ctx.components.peerId)) {
      throw new NotRequesterError(`Job ${key} was announced by ${entry.requester.toString()}`)
    }
    const record = await signRecord(JobWithdrawalType, {
      version: RECORD_VERSION,
      jobId: entry.record.value.jobId,
      requester: this.ctx.components.peerId.toMultihash().bytes,
      createdMs: this.ctx.now()
    }, this.ctx.components.privateKey)
    this.ctx.store.remove(key)
    this.ingest.rememberWithdrawal(record, key, entry.record.value.expiresMs)
    dispatch(this.ctx, 'job:withdrawn', { key, withdrawal: record, job: entry })
    // never dropped: it waits for room, ahead of waiting announcements; meanwhile peers that sync get it
    await this.pacer?.take(entry.topics.length, { maxWaitMs: Infinity, first: true, signal: options.signal })
    await this.publishBytes(pubsub, entry.topics, record.bytes, options)
    return record
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
        this.ctx.log('publishing on %s reached no peer - %e', topic, err)
      }
    }
    return recipients.size
  }
}
