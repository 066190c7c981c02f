/**
 * The provider's journal: what it must still know after a restart or a
 * crash to run every assignment at most once and to answer a resend with
 * the same bytes. Each admitted assignment is saved before its job runs,
 * its result and receipt before they are sent, and each used quote until it
 * can no longer be assigned. Saved in the node's datastore (LevelDB in the
 * full node); without a datastore nothing survives a restart.
 *
 * Entries are local state read back like wire data: a malformed one is a
 * CorruptLedgerError and is skipped (and reported), never trusted.
 */

import { Key } from 'interface-datastore'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { CorruptLedgerError } from './errors.js'
import { LedgerWriter, amount, parse, text } from './ledger.js'
import { hex, sha256 } from './utils.js'
import type { LedgerLoad } from './ledger.js'
import type { AbortOptions } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/** Prefix of the provider's jobs: one entry per admitted assignment, under its record id (hex). */
export const PROVIDER_JOBS_PREFIX = '/shoal/work/provider-jobs'
/** Prefix of the provider's used quotes: one entry per quote id (hex) until it can no longer be assigned. */
export const USED_QUOTES_PREFIX = '/shoal/work/used-quotes'
/** The id of the last receipt the provider signed: the next one names it (`WorkReceipt.prev`). */
export const RECEIPT_CHAIN_KEY = '/shoal/work/receipt-chain'

/** Room for the fields around a saved job's output, bytes. */
const JOB_ENTRY_OVERHEAD = 64 * 1024

/** Where a saved job is. `started`: admitted and running (or interrupted, when read back after a restart). */
export type SavedJobState = 'started' | 'done' | 'failed' | 'countersigned'

const STATES: readonly SavedJobState[] = ['started', 'done', 'failed', 'countersigned']

/** A job as the provider's journal keeps it. */
export interface SavedJob {
  /** the requester-signed assignment, as received */
  assignment: Uint8Array
  state: SavedJobState
  /** when it was admitted, ms */
  startedMs: number
  /** the provider-signed receipt, once done */
  receipt?: Uint8Array
  /** the output sent with the result (dropped once countersigned: the requester has checked it) */
  output?: Uint8Array
  location?: string
  /** why it failed */
  error?: { code: string, message: string }
}

/** A quote an assignment used, kept until it could no longer be assigned anyway. */
export interface SavedUsedQuote {
  /** the quote's record id, hex */
  quote: string
  /** the assignment that used it, hex */
  assignment: string
  /** until when the quote could be assigned, ms */
  until: number
}

/** What an earlier run left in the journal. */
export interface JournalLoad extends LedgerLoad {
  jobs: Array<{ key: string, job: SavedJob }>
  usedQuotes: SavedUsedQuote[]
  /** the last receipt signed (empty before the first) */
  chainLast: Uint8Array
}

/** The key of a job: its assignment's record id. */
export function jobKey (assignment: Uint8Array): string {
  return hex(sha256(assignment))
}

export function encodeSavedJob (job: SavedJob): Uint8Array {
  return uint8ArrayFromString(JSON.stringify({
    assignment: base64(job.assignment),
    state: job.state,
    startedMs: job.startedMs,
    receipt: job.receipt == null ? undefined : base64(job.receipt),
    output: job.output == null ? undefined : base64(job.output),
    location: job.location,
    error: job.error
  }))
}

/** Decode a saved job (its output at most `maxOutputBytes`); throws CorruptLedgerError for anything malformed. */
export function decodeSavedJob (bytes: Uint8Array, maxOutputBytes: number): SavedJob {
  const o = parse(bytes, maxOutputBytes * 2 + JOB_ENTRY_OVERHEAD)
  const state = o.state
  if (typeof state !== 'string' || !STATES.includes(state as SavedJobState)) {
    throw new CorruptLedgerError('state of a saved job is not one of ' + STATES.join(', '))
  }
  const job: SavedJob = {
    assignment: bytesField(o.assignment, 'assignment', 16 * 1024),
    state: state as SavedJobState,
    startedMs: amount(o.startedMs, 'startedMs')
  }
  if (o.receipt != null) job.receipt = bytesField(o.receipt, 'receipt', 16 * 1024)
  if (o.output != null) job.output = bytesField(o.output, 'output', maxOutputBytes)
  if (o.location != null) job.location = text(o.location, 'location', 0, 1024)
  if (o.error != null) {
    const e = o.error as Record<string, unknown>
    if (typeof e !== 'object') throw new CorruptLedgerError('error of a saved job is not an object')
    job.error = { code: text(e.code, 'error.code', 1, 64), message: text(e.message, 'error.message', 0, 1024) }
  }
  if ((job.state === 'done' || job.state === 'countersigned') && job.receipt == null) {
    throw new CorruptLedgerError(`a saved job ${job.state} has no receipt`)
  }
  return job
}

export function encodeUsedQuote (used: SavedUsedQuote): Uint8Array {
  return uint8ArrayFromString(JSON.stringify(used))
}

/** Decode a saved used quote; throws CorruptLedgerError for anything malformed. */
export function decodeUsedQuote (bytes: Uint8Array): SavedUsedQuote {
  const o = parse(bytes)
  return { quote: hexField(o.quote, 'quote'), assignment: hexField(o.assignment, 'assignment'), until: amount(o.until, 'until') }
}

/**
 * The provider's journal on a datastore. Writes of one job are made one
 * after the other by the job's own steps (admitted, then settled), each
 * awaited before the step it guards is acknowledged.
 */
export class ProviderJournal {
  private readonly datastore?: Datastore
  private readonly maxOutputBytes: number

  constructor (datastore: Datastore | undefined, maxOutputBytes: number) {
    this.datastore = datastore
    this.maxOutputBytes = maxOutputBytes
  }

  /** Read what an earlier run saved; malformed entries are skipped and reported. */
  async load (options?: AbortOptions): Promise<JournalLoad> {
    const result: JournalLoad = { loaded: 0, skipped: [], jobs: [], usedQuotes: [], chainLast: new Uint8Array(0) }
    if (this.datastore == null) {
      return result
    }
    const reader = new LedgerWriter(this.datastore)
    await reader.read(PROVIDER_JOBS_PREFIX, value => {
      const job = decodeSavedJob(value, this.maxOutputBytes)
      const key = jobKey(job.assignment)
      return { key: jobPath(key), apply: () => { result.jobs.push({ key, job }) } }
    }, result, options)
    await reader.read(USED_QUOTES_PREFIX, value => {
      const used = decodeUsedQuote(value)
      return { key: quotePath(used.quote), apply: () => { result.usedQuotes.push(used) } }
    }, result, options)
    try {
      const last = await this.datastore.get(new Key(RECEIPT_CHAIN_KEY), options)
      if (last.byteLength !== 32) {
        throw new CorruptLedgerError('saved receipt chain head is not 32 bytes')
      }
      result.chainLast = last
    } catch (err: unknown) {
      if ((err as { name?: string })?.name !== 'NotFoundError') {
        result.skipped.push({ key: RECEIPT_CHAIN_KEY, error: asCorrupt(err) })
      }
    }
    return result
  }

  /** Save an admitted job and the quote it used, together, before the job runs. */
  async admitted (key: string, job: SavedJob, used: SavedUsedQuote, options?: AbortOptions): Promise<void> {
    if (this.datastore == null) {
      return
    }
    const batch = this.datastore.batch()
    batch.put(jobPath(key), encodeSavedJob(job))
    batch.put(quotePath(used.quote), encodeUsedQuote(used))
    await batch.commit(options)
  }

  /** Save where a job is now (with the receipt chain's new head when it signed a receipt), before it is acknowledged. */
  async settled (key: string, job: SavedJob, chainLast?: Uint8Array, options?: AbortOptions): Promise<void> {
    if (this.datastore == null) {
      return
    }
    const batch = this.datastore.batch()
    batch.put(jobPath(key), encodeSavedJob(job))
    if (chainLast != null) {
      batch.put(new Key(RECEIPT_CHAIN_KEY), chainLast)
    }
    await batch.commit(options)
  }

  /** Forget a job (evicted, or past its assignment's lifetime). Its used quote stays until it expires. */
  async forgetJob (key: string, options?: AbortOptions): Promise<void> {
    await this.datastore?.delete(jobPath(key), options)
  }

  /** Forget a used quote (expired, or released because its job never ran). */
  async forgetQuote (quote: string, options?: AbortOptions): Promise<void> {
    await this.datastore?.delete(quotePath(quote), options)
  }
}

function jobPath (key: string): Key {
  return new Key(`${PROVIDER_JOBS_PREFIX}/${key}`)
}

function quotePath (quote: string): Key {
  return new Key(`${USED_QUOTES_PREFIX}/${quote}`)
}

/** Base64 by node's own codec: a job's entries are written several times per job, on the hot path. */
function base64 (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

function bytesField (value: unknown, field: string, maxBytes: number): Uint8Array {
  if (typeof value !== 'string' || value.length > Math.ceil(maxBytes / 3) * 4 + 4 || value.length % 4 === 1 || !BASE64.test(value)) {
    throw new CorruptLedgerError(`${field} of a saved entry is not base64 of at most ${maxBytes} bytes`)
  }
  const bytes = Buffer.from(value, 'base64')
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function hexField (value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) {
    throw new CorruptLedgerError(`${field} of a saved used quote is not 32 bytes of hex`)
  }
  return value
}

function asCorrupt (err: unknown): Error {
  return err instanceof Error ? err : new CorruptLedgerError(String(err))
}

/** Prefix of the requester's live jobs: one entry per assignment it sent, under the assignment's record id (hex). */
export const REQUESTER_JOBS_PREFIX = '/shoal/work/requester-jobs'

/**
 * Where a requester's job is. `assigned`: the assignment may be on its way
 * or running; `countersigned`: done, countersigned and paid, but the
 * provider has not acknowledged the countersignature yet.
 */
export type SavedRequestState = 'assigned' | 'countersigned'

/** A job the requester follows, as its journal keeps it. */
export interface SavedRequest {
  state: SavedRequestState
  /** the job: a signed JobAnnouncement, or (`inline`) the encoded unsigned one of direct mode */
  job: Uint8Array
  inline: boolean
  quote: Uint8Array
  assignment: Uint8Array
  /** the input, kept while the job may have to be sent again */
  input?: Uint8Array
  /** paid for this assignment so far (streamed vouchers, then the final one): saved before each voucher is signed */
  paid: number
  /** the countersigned receipt and the voucher paying it, once countersigned */
  receipt?: Uint8Array
  voucher?: Uint8Array
  /** its caller gave up without an answer from the provider: followed only to countersign work done in time */
  abandoned?: boolean
  /**
   * its result was to be checked before countersigning (a verified run):
   * never followed up or resumed, since a result fetched again could be
   * countersigned only unchecked
   */
  checked?: boolean
}

export function encodeSavedRequest (request: SavedRequest): Uint8Array {
  return uint8ArrayFromString(JSON.stringify({
    state: request.state,
    job: base64(request.job),
    inline: request.inline,
    quote: base64(request.quote),
    assignment: base64(request.assignment),
    input: request.input == null ? undefined : base64(request.input),
    paid: request.paid,
    abandoned: request.abandoned === true ? true : undefined,
    checked: request.checked === true ? true : undefined,
    receipt: request.receipt == null ? undefined : base64(request.receipt),
    voucher: request.voucher == null ? undefined : base64(request.voucher)
  }))
}

/** Decode a saved request (its input at most `maxInputBytes`); throws CorruptLedgerError for anything malformed. */
export function decodeSavedRequest (bytes: Uint8Array, maxInputBytes: number): SavedRequest {
  const o = parse(bytes, maxInputBytes * 2 + JOB_ENTRY_OVERHEAD)
  if (o.state !== 'assigned' && o.state !== 'countersigned') {
    throw new CorruptLedgerError('state of a saved request is not assigned or countersigned')
  }
  if (typeof o.inline !== 'boolean') {
    throw new CorruptLedgerError('inline of a saved request is not a boolean')
  }
  const request: SavedRequest = {
    state: o.state,
    job: bytesField(o.job, 'job', 16 * 1024),
    inline: o.inline,
    quote: bytesField(o.quote, 'quote', 16 * 1024),
    assignment: bytesField(o.assignment, 'assignment', 16 * 1024),
    paid: amount(o.paid, 'paid')
  }
  if (o.abandoned != null) {
    if (typeof o.abandoned !== 'boolean') throw new CorruptLedgerError('abandoned of a saved request is not a boolean')
    request.abandoned = o.abandoned
  }
  if (o.checked != null) {
    if (typeof o.checked !== 'boolean') throw new CorruptLedgerError('checked of a saved request is not a boolean')
    request.checked = o.checked
  }
  if (o.input != null) request.input = bytesField(o.input, 'input', maxInputBytes)
  if (o.receipt != null) request.receipt = bytesField(o.receipt, 'receipt', 16 * 1024)
  if (o.voucher != null) request.voucher = bytesField(o.voucher, 'voucher', 16 * 1024)
  if (request.state === 'assigned' && request.input == null) {
    throw new CorruptLedgerError('a saved assigned request has no input')
  }
  if (request.state === 'countersigned' && request.receipt == null) {
    throw new CorruptLedgerError('a saved countersigned request has no receipt')
  }
  return request
}

/** The requester's journal on a datastore: its live jobs, saved before each is sent and forgotten once it ends. */
export class RequesterJournal {
  private readonly datastore?: Datastore
  private readonly maxInputBytes: number

  constructor (datastore: Datastore | undefined, maxInputBytes: number) {
    this.datastore = datastore
    this.maxInputBytes = maxInputBytes
  }

  /** Read what an earlier run saved; malformed entries are skipped and reported. */
  async load (options?: AbortOptions): Promise<LedgerLoad & { requests: SavedRequest[] }> {
    const result: LedgerLoad & { requests: SavedRequest[] } = { loaded: 0, skipped: [], requests: [] }
    if (this.datastore == null) {
      return result
    }
    await new LedgerWriter(this.datastore).read(REQUESTER_JOBS_PREFIX, value => {
      const request = decodeSavedRequest(value, this.maxInputBytes)
      return { key: requestPath(jobKey(request.assignment)), apply: () => { result.requests.push(request) } }
    }, result, options)
    return result
  }

  /** Save where a request is now, before the step it guards is taken. */
  async save (request: SavedRequest, options?: AbortOptions): Promise<void> {
    await this.datastore?.put(requestPath(jobKey(request.assignment)), encodeSavedRequest(request), options)
  }

  /** Forget the request of the assignment with record id `assignmentId`: it ended (acknowledged, failed, or given up). */
  async forget (assignmentId: Uint8Array, options?: AbortOptions): Promise<void> {
    await this.datastore?.delete(requestPath(hex(assignmentId)), options)
  }
}

function requestPath (key: string): Key {
  return new Key(`${REQUESTER_JOBS_PREFIX}/${key}`)
}
