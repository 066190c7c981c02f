/**
 * Acting on received messages: gossip through the pubsub topic validator,
 * and records learned by sync. Each message is validated (`validator.ts`),
 * then an accepted one updates the board and emits its event, and a
 * rejected one counts against its sender.
 */

import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { count, dispatch } from './context.js'
import { jobMatchesInterests, topicsForAnnouncement } from './topics.js'
import { validateJobMessage } from './validator.js'
import type { JobEntry, JobSource } from './board.js'
import type { BoardContext } from './context.js'
import type { ExpiryTimer } from './expiry.js'
import type { PubSubMessage, PubSubValidatorResult } from './index.js'
import type { PeerPenalties } from './penalties.js'
import type { RequesterRateLimit } from './rate-limit.js'
import type { MessageContext, MessageVerdict, ValidatorState, VerdictReason } from './validator.js'
import type { PeerId } from '@libp2p/interface'
import type { JobAnnouncement, JobWithdrawal, SignedRecord } from '@shoal/records'

/** Timing of validation and of remembered withdrawals. */
export interface IngestInit {
  expiryGraceMs: number
  withdrawalTtlMs: number
}

/** Validates received messages and applies the accepted ones to the board. */
export class MessageIngest {
  private readonly ctx: BoardContext
  private readonly penalties: PeerPenalties
  private readonly expiry: ExpiryTimer
  private readonly withdrawalTtlMs: number
  private readonly gossipState: ValidatorState
  private readonly syncState: ValidatorState

  constructor (ctx: BoardContext, penalties: PeerPenalties, expiry: ExpiryTimer, rateLimit: RequesterRateLimit, init: IngestInit) {
    this.ctx = ctx
    this.penalties = penalties
    this.expiry = expiry
    this.withdrawalTtlMs = init.withdrawalTtlMs
    const board = {
      now: ctx.now,
      clockSkewMs: ctx.clockSkewMs,
      expiryGraceMs: init.expiryGraceMs,
      job: (key: string) => {
        const entry = ctx.store.get(key)
        return entry == null ? undefined : { bytes: entry.record.bytes, requesterKey: uint8ArrayToString(entry.record.value.requester, 'base16') }
      },
      withdrawal: (key: string, requesterKey: string) => {
        const entry = ctx.store.getWithdrawal(key, requesterKey)
        return entry == null ? undefined : { bytes: entry.record.bytes, requesterKey: entry.requester }
      }
    }
    this.gossipState = { ...board, rateLimit: (key: string) => rateLimit.take(key) }
    // records learned by sync are bounded per exchange, and must not drain the requester's gossip tokens;
    // records this peer would drop are dropped before their signature is checked
    this.syncState = { ...board, interested: (job: JobAnnouncement) => jobMatchesInterests(job, ctx.interests) }
    this.validate = this.validate.bind(this)
  }

  /** The pubsub topic validator of every job topic. */
  async validate (peer: PeerId, message: PubSubMessage): Promise<PubSubValidatorResult> {
    if (this.penalties.isBanned(peer)) {
      return 'ignore'
    }
    const msg: MessageContext = {
      topic: message.topic,
      propagationSource: peer,
      from: message.type === 'signed' ? message.from : undefined
    }
    const verdict = await validateJobMessage(message.data, msg, this.gossipState)
    return this.apply(verdict, msg, 'gossip')
  }

  /** Validate and apply one record a peer sent by sync. */
  async synced (frame: Uint8Array, peer: PeerId): Promise<{ verdict: MessageVerdict, result: PubSubValidatorResult }> {
    const msg: MessageContext = { propagationSource: peer }
    const verdict = await validateJobMessage(frame, msg, this.syncState)
    return { verdict, result: this.apply(verdict, msg, 'sync') }
  }

  /** Act on a verdict: update the board, emit events, penalise senders. */
  private apply (verdict: MessageVerdict, msg: MessageContext, source: JobSource): PubSubValidatorResult {
    if (verdict.result !== 'accept') {
      count(this.ctx, verdict.result, verdict.reason)
      if (verdict.result === 'reject' && msg.propagationSource != null) {
        this.ctx.log('rejected %s from %p on %s: %s', verdict.error?.name ?? verdict.reason, msg.propagationSource, msg.topic ?? 'sync', verdict.error?.message ?? '')
        dispatch(this.ctx, 'message:rejected', { peer: msg.propagationSource, reason: verdict.reason, source, topic: msg.topic, error: verdict.error })
        this.penalties.penalize(msg.propagationSource)
      }
      return verdict.result
    }
    if (verdict.type === 'withdrawal') {
      return this.applyWithdrawal(verdict, msg)
    }
    return this.applyAnnouncement(verdict, msg, source)
  }

  private applyWithdrawal (verdict: Extract<MessageVerdict, { type: 'withdrawal' }>, msg: MessageContext): PubSubValidatorResult {
    const entry = this.ctx.store.get(verdict.key)
    if (entry != null && uint8ArrayToString(entry.record.value.requester, 'base16') !== verdict.requesterKey) {
      return this.ignored('not-requester')
    }
    if (this.ctx.store.getWithdrawal(verdict.key, verdict.requesterKey) != null) {
      return this.ignored('duplicate')
    }
    this.ctx.store.remove(verdict.key)
    this.rememberWithdrawal(verdict.record, verdict.key, entry?.record.value.expiresMs)
    count(this.ctx, 'accept', 'withdrawal')
    dispatch(this.ctx, 'job:withdrawn', { key: verdict.key, withdrawal: verdict.record, job: entry, from: msg.propagationSource })
    return 'accept'
  }

  private applyAnnouncement (verdict: Extract<MessageVerdict, { type: 'announcement' }>, msg: MessageContext, source: JobSource): PubSubValidatorResult {
    const now = this.ctx.now()
    const record = verdict.record
    if (this.ctx.store.has(verdict.key)) {
      // another copy was accepted while this one was being verified
      return this.ignored('duplicate')
    }
    if (record.value.expiresMs <= now) {
      return this.ignored('expired')
    }
    if (source === 'sync' && !jobMatchesInterests(record.value, this.ctx.interests)) {
      return this.ignored('not-interested')
    }
    const entry: JobEntry = {
      record,
      key: verdict.key,
      requester: record.signer,
      topics: msg.topic != null ? [msg.topic] : topicsForAnnouncement(record.value),
      receivedMs: now,
      source,
      from: msg.propagationSource
    }
    const evicted = this.ctx.store.add(entry)
    if (evicted.length > 0) {
      this.ctx.log('board full, evicted %d jobs', evicted.length)
    }
    this.expiry.schedule(record.value.expiresMs)
    count(this.ctx, 'accept', 'announcement')
    dispatch(this.ctx, 'job:announced', entry)
    return 'accept'
  }

  private ignored (reason: VerdictReason): 'ignore' {
    count(this.ctx, 'ignore', reason)
    return 'ignore'
  }

  /** Remember a withdrawal (received, or this node's own) long enough that no peer still holding the job can hand it back. */
  rememberWithdrawal (record: SignedRecord<JobWithdrawal>, key: string, jobExpiresMs?: number): void {
    const now = this.ctx.now()
    this.ctx.store.addWithdrawal({
      record,
      key,
      requester: uint8ArrayToString(record.value.requester, 'base16'),
      untilMs: Math.max(now + this.withdrawalTtlMs, (jobExpiresMs ?? 0) + this.ctx.clockSkewMs)
    })
    this.expiry.schedule()
  }
}
