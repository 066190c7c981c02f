/**
 * Framing of the work protocol: one WorkMessage per length-prefixed frame,
 * exactly one body set. The records inside stay opaque bytes here; they are
 * opened with @shoal/records where they are used.
 */

import { errorMessage } from '@shoal/utils'
import { CLOCK_SKEW_MS, JobAnnouncementType, MAX_SIZE, RecordError } from '@shoal/records'
import { MAX_CODE_LENGTH, MAX_LOCATION_LENGTH, MAX_MESSAGE_TEXT } from './constants.js'
import { InvalidMessageError, InvalidRecordError } from './errors.js'
import { WorkMessage } from '@shoal/records'
import type { JobAnnouncement } from '@shoal/records'
import type { WorkAck as Ack, WorkAssign as Assign, WorkCountersign as Countersign, WorkFailure as Failure, WorkProgress as Progress, WorkQuoteReply as QuoteReply, WorkQuoteRequest as QuoteRequest, WorkResult as Result, WorkVoucher as Voucher } from '@shoal/records'

/** A decoded work message, tagged by its body. */
export type WorkFrame =
  | { kind: 'quoteRequest', body: QuoteRequest }
  | { kind: 'quote', body: QuoteReply }
  | { kind: 'assign', body: Assign }
  | { kind: 'progress', body: Progress }
  | { kind: 'result', body: Result }
  | { kind: 'countersign', body: Countersign }
  | { kind: 'voucher', body: Voucher }
  | { kind: 'ack', body: Ack }
  | { kind: 'error', body: Failure }

/** The kinds of work message. */
export type WorkFrameKind = WorkFrame['kind']

const KINDS: WorkFrameKind[] = ['quoteRequest', 'quote', 'assign', 'progress', 'result', 'countersign', 'voucher', 'ack', 'error']

/** Encode one work message. */
export function encodeFrame (frame: WorkFrame): Uint8Array {
  return WorkMessage.encode({ [frame.kind]: frame.body })
}

/**
 * Decode one work message of at most `maxBytes`; throws InvalidMessageError
 * for anything but exactly one well-formed body within the text limits.
 */
export function decodeFrame (bytes: Uint8Array, maxBytes: number): WorkFrame {
  if (bytes.byteLength > maxBytes) {
    throw new InvalidMessageError(`message is ${bytes.byteLength} bytes, limit is ${maxBytes}`)
  }
  let message: WorkMessage
  try {
    message = WorkMessage.decode(bytes)
  } catch (err: unknown) {
    throw new InvalidMessageError(`message does not decode: ${errorMessage(err)}`)
  }
  let frame: WorkFrame | undefined
  for (const kind of KINDS) {
    const body = message[kind]
    if (body != null) {
      if (frame != null) {
        throw new InvalidMessageError('message sets more than one body')
      }
      frame = { kind, body } as WorkFrame
    }
  }
  if (frame == null) {
    throw new InvalidMessageError('message sets no body')
  }
  checkText(frame)
  return frame
}

function checkText (frame: WorkFrame): void {
  if (frame.kind === 'error') {
    limit('error.code', frame.body.code, MAX_CODE_LENGTH)
    limit('error.message', frame.body.message, MAX_MESSAGE_TEXT)
  } else if (frame.kind === 'progress') {
    limit('progress.message', frame.body.message, MAX_MESSAGE_TEXT)
    if (frame.body.permille > 1000) {
      throw new InvalidMessageError('progress.permille above 1000')
    }
    if (!Number.isSafeInteger(frame.body.units) || frame.body.units < 0) {
      throw new InvalidMessageError('progress.units out of range')
    }
  } else if (frame.kind === 'result') {
    limit('result.location', frame.body.location, MAX_LOCATION_LENGTH)
  } else if (frame.kind === 'ack') {
    if (!Number.isSafeInteger(frame.body.paid) || frame.body.paid < 0) {
      throw new InvalidMessageError('ack.paid out of range')
    }
  }
}

function limit (field: string, value: string, max: number): void {
  if (value.length > max) {
    throw new InvalidMessageError(`${field} longer than ${max} characters`)
  }
}

/**
 * Decode and check an inline (unsigned) job of a direct-mode quote request:
 * size, schema, the values `@shoal/records` checks for a JobAnnouncement, and
 * expiry. Throws InvalidRecordError (with the records error as `cause`).
 */
export function decodeInlineJob (bytes: Uint8Array, now: number): JobAnnouncement {
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_SIZE.JobAnnouncement) {
    throw new InvalidRecordError('quote request carries no job or an oversized one')
  }
  let job: JobAnnouncement
  try {
    job = JobAnnouncementType.codec.decode(bytes)
    JobAnnouncementType.check(job)
  } catch (err: unknown) {
    const name = err instanceof RecordError ? `${err.name}: ` : ''
    throw new InvalidRecordError(`inline job: ${name}${errorMessage(err)}`, { cause: err })
  }
  if (job.expiresMs + CLOCK_SKEW_MS < now) {
    throw new InvalidRecordError('inline job expired')
  }
  return job
}
