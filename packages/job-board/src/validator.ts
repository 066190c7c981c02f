/**
 * Validation of job messages (gossip and sync): the records package checks
 * bytes and signatures; this module adds what only the job board knows
 * (topic, origin, duplicates, withdrawals, rate limits) and chooses between
 * ignore and reject.
 *
 * Reject is kept for what the sending peer could have checked itself with
 * the same result - bytes, signatures, values, topic, origin, gross time
 * errors - so gossipsub's invalid-message penalty (P4) lands on the peer
 * that sent garbage and never on an honest relay. What depends on local
 * state or timing (duplicates, slight expiry) is ignored, except when the
 * message comes straight from its author, who alone is to blame for it.
 * Over the requester's rate limit is ignored whoever sent it: a busy
 * requester is not an abusive one. Only far past it (`rate-limit.ts`) is
 * the author blamed. Over the shared newcomer budget is ignored too.
 */

import {
  JobAnnouncementType, JobWithdrawalType, MAX_JOB_TTL_MS, RecordError, decodeRecord, openRecord
} from '@shoal/records'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { asError } from '@shoal/utils'
import { jobKey } from './board.js'
import { announcementFitsTopic, parseJobTopic } from './topics.js'
import type { JobAnnouncement, JobWithdrawal, SignedRecord } from '@shoal/records'
import type { RateDecision } from './rate-limit.js'
import type { PeerId } from '@libp2p/interface'
import { equals as equalBytes } from 'uint8arrays/equals'

/** Why a message was ignored or rejected. */
export type VerdictReason =
  | 'too-large' | 'malformed' | 'wrong-type' | 'unsupported-version' | 'invalid-signature' | 'wrong-signer'
  | 'invalid-field' | 'expired' | 'not-yet-valid' | 'unknown-topic' | 'wrong-topic' | 'origin-mismatch'
  | 'duplicate' | 'conflicting-job' | 'withdrawn' | 'stale-withdrawal' | 'not-requester' | 'rate-limited'
  | 'rate-abuse' | 'not-interested' | 'banned-peer' | 'newcomer-limited'

/** The outcome of validating one job message. */
export type MessageVerdict =
  | { result: 'accept', type: 'announcement', record: SignedRecord<JobAnnouncement>, key: string, requesterKey: string }
  | { result: 'accept', type: 'withdrawal', record: SignedRecord<JobWithdrawal>, key: string, requesterKey: string }
  | { result: 'ignore' | 'reject', reason: VerdictReason, error?: Error }

/** Where a message came from. */
export interface MessageContext {
  /** the pubsub topic; undefined for records received by sync */
  topic?: string
  /** the peer that handed us the message */
  propagationSource?: PeerId
  /** the pubsub author of a signed pubsub message (who published it) */
  from?: PeerId
}

/** What the validator needs to know about the local board. */
export interface ValidatorState {
  /** the clock, ms */
  now(): number
  /** clock skew allowed, ms */
  clockSkewMs: number
  /** beyond the skew, how far out of its lifetime a record may be before its sender is blamed, ms */
  expiryGraceMs: number
  /** the bytes and requester (multihash hex) of a job on the board */
  job(key: string): { bytes: Uint8Array, requesterKey: string } | undefined
  /** the bytes and requester (multihash hex) of a remembered withdrawal */
  /** the withdrawal of job `key` by the requester with hex peer id bytes `requesterKey` */
  withdrawal(key: string, requesterKey: string): { bytes: Uint8Array, requesterKey: string } | undefined
  /**
   * count one more message of a requester (multihash hex) against its rate
   * limit (see `RequesterRateLimit`); omit to skip rate limits
   */
  rateLimit?(requesterKey: string): RateDecision
  /**
   * whether this peer would keep the announcement (sync only: gossip has its
   * topics for that); checked before the signature, so records it would drop
   * cost no verification. Omit to keep everything.
   */
  interested?(job: JobAnnouncement): boolean
}

const REJECT_BY_ERROR: Record<string, VerdictReason> = {
  RecordTooLargeError: 'too-large',
  MalformedRecordError: 'malformed',
  WrongRecordTypeError: 'wrong-type',
  UnsupportedVersionError: 'unsupported-version',
  InvalidSignatureError: 'invalid-signature',
  WrongSignerError: 'wrong-signer',
  InvalidFieldError: 'invalid-field',
  ExpiredRecordError: 'expired',
  NotYetValidError: 'not-yet-valid'
}

/** The verdict reason for an error thrown by the records package. */
export function reasonOfError (err: unknown): VerdictReason {
  if (err instanceof Error) {
    return REJECT_BY_ERROR[err.name] ?? 'malformed'
  }
  return 'malformed'
}

function reject (reason: VerdictReason, error?: Error): MessageVerdict {
  return { result: 'reject', reason, error }
}

function ignore (reason: VerdictReason, error?: Error): MessageVerdict {
  return { result: 'ignore', reason, error }
}

/** The message came straight from its pubsub author: nobody else relayed it. */
function fromAuthor (ctx: MessageContext): boolean {
  return ctx.from != null && ctx.propagationSource != null && ctx.propagationSource.equals(ctx.from)
}

/** Reject when the author sent it to us directly, else ignore (a relay cannot know). */
function blame (ctx: MessageContext, reason: VerdictReason): MessageVerdict {
  return fromAuthor(ctx) ? reject(reason) : ignore(reason)
}

function originMatches (ctx: MessageContext, requester: Uint8Array): boolean {
  return ctx.from == null || equalBytes(ctx.from.toMultihash().bytes, requester)
}

/** Time check with a grace beyond the skew before the sender is blamed. */
function checkTime (state: ValidatorState, created: number, expires: number | undefined): MessageVerdict | undefined {
  const now = state.now()
  const skew = state.clockSkewMs
  if (created > now + skew) {
    return created > now + skew + state.expiryGraceMs ? reject('not-yet-valid') : ignore('not-yet-valid')
  }
  if (expires != null && expires + skew < now) {
    return expires + skew + state.expiryGraceMs < now ? reject('expired') : ignore('expired')
  }
  return undefined
}

/** Over the limit: ignored (busy, not abusive); far past it: blamed on the author. */
function rateLimited (state: ValidatorState, ctx: MessageContext, requesterKey: string): MessageVerdict | undefined {
  switch (state.rateLimit?.(requesterKey) ?? 'within') {
    case 'within':
      return undefined
    case 'over':
      return ignore('rate-limited')
    case 'newcomer':
      // a relay cannot know the newcomer budget of this node: never blamed
      return ignore('newcomer-limited')
    case 'abusive':
      return blame(ctx, 'rate-abuse')
  }
}

/**
 * Validate a job message (a signed JobAnnouncement or JobWithdrawal
 * envelope; the envelope's payload type says which). Never throws.
 */
export async function validateJobMessage (bytes: Uint8Array, ctx: MessageContext, state: ValidatorState): Promise<MessageVerdict> {
  if (!(bytes instanceof Uint8Array)) {
    return reject('malformed')
  }
  try {
    let announcement: JobAnnouncement
    try {
      // structure and values first, without the signature: cheap refusals of garbage and replays
      announcement = decodeRecord(JobAnnouncementType, bytes)
    } catch (err) {
      if (err instanceof RecordError && err.name === 'WrongRecordTypeError') {
        return await validateWithdrawal(bytes, ctx, state)
      }
      return reject(reasonOfError(err), asError(err))
    }
    return await validateAnnouncement(bytes, announcement, ctx, state)
  } catch (err) {
    // never past the network boundary
    return reject(reasonOfError(err), asError(err))
  }
}

async function validateAnnouncement (bytes: Uint8Array, value: JobAnnouncement, ctx: MessageContext, state: ValidatorState): Promise<MessageVerdict> {
  if (ctx.topic != null) {
    const topic = parseJobTopic(ctx.topic)
    if (topic == null) {
      return reject('unknown-topic')
    }
    if (!announcementFitsTopic(value, topic)) {
      return reject('wrong-topic')
    }
  }

  // a job is published by its requester; anyone else publishing it is replaying it
  if (!originMatches(ctx, value.requester)) {
    return reject('origin-mismatch')
  }

  // cheap checks before the signature: a job this peer would drop is not worth verifying
  if (state.interested != null && !state.interested(value)) {
    return ignore('not-interested')
  }

  const key = jobKey(value.jobId)
  const requesterKey = uint8ArrayToString(value.requester, 'base16')
  const known = state.job(key)

  if (known != null && equalBytes(known.bytes, bytes)) {
    // the same signed bytes again: a repeat by its author costs the author a token
    if (fromAuthor(ctx)) {
      return rateLimited(state, ctx, requesterKey) ?? ignore('duplicate')
    }
    return ignore('duplicate')
  }

  const withdrawn = state.withdrawal(key, requesterKey)
  if (withdrawn != null) {
    return ignore('withdrawn')
  }

  let record: SignedRecord<JobAnnouncement>
  try {
    record = await openRecord(JobAnnouncementType, bytes, { ignoreTime: true })
  } catch (err) {
    return reject(reasonOfError(err), asError(err))
  }

  const time = checkTime(state, record.value.createdMs, record.value.expiresMs)
  if (time != null) {
    return time
  }

  // another signed version of a job we hold (or another requester's job with the same id): the first one wins
  if (state.job(key) != null) {
    return rateLimited(state, ctx, requesterKey) ?? ignore('conflicting-job')
  }

  return rateLimited(state, ctx, requesterKey) ?? { result: 'accept', type: 'announcement', record, key, requesterKey }
}

async function validateWithdrawal (bytes: Uint8Array, ctx: MessageContext, state: ValidatorState): Promise<MessageVerdict> {
  let value: JobWithdrawal
  try {
    value = decodeRecord(JobWithdrawalType, bytes)
  } catch (err) {
    return reject(reasonOfError(err), asError(err))
  }

  if (!originMatches(ctx, value.requester)) {
    return reject('origin-mismatch')
  }

  const key = jobKey(value.jobId)
  const requesterKey = uint8ArrayToString(value.requester, 'base16')

  if (ctx.topic != null) {
    const topic = parseJobTopic(ctx.topic)
    if (topic == null) {
      return reject('unknown-topic')
    }
  }

  const seen = state.withdrawal(key, requesterKey)
  if (seen != null && equalBytes(seen.bytes, bytes)) {
    if (fromAuthor(ctx)) {
      return rateLimited(state, ctx, requesterKey) ?? ignore('duplicate')
    }
    return ignore('duplicate')
  }

  let record: SignedRecord<JobWithdrawal>
  try {
    record = await openRecord(JobWithdrawalType, bytes, { ignoreTime: true })
  } catch (err) {
    return reject(reasonOfError(err), asError(err))
  }

  const time = checkTime(state, record.value.createdMs, undefined)
  if (time != null) {
    return time
  }
  if (record.value.createdMs + MAX_JOB_TTL_MS + state.clockSkewMs < state.now()) {
    // older than any announcement can live: it cancels nothing
    return ignore('stale-withdrawal')
  }

  const job = state.job(key)
  if (job != null && job.requesterKey !== requesterKey) {
    return blame(ctx, 'not-requester')
  }
  if (seen != null) {
    return ignore('duplicate')
  }

  return rateLimited(state, ctx, requesterKey) ?? { result: 'accept', type: 'withdrawal', record, key, requesterKey }
}
