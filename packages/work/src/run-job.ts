/**
 * The provider runs one admitted job: the executor with a deadline, metering
 * its units and reporting them as progress (stopping the job once the
 * requester owes too much), then the receipt it signs for the work done.
 */

import { setMaxListeners, TimeoutError } from '@libp2p/interface'
import { RECORD_VERSION, WorkReceiptType, signRecord } from '@shoal/records'
import { errorMessage } from '@shoal/utils'
import { MAX_LOCATION_LENGTH, PAYMENT_REQUIRED_STATUS, RELAY_OVERHEAD_BYTES } from './constants.js'
import { ExecutorError, PayloadTooLargeError, PaymentRequiredError, RelayLimitError, WorkError } from './errors.js'
import { relayBreachMessage } from './relayed.js'
import { EMPTY, isTimeMetered, sha256, unitsPerSecond } from './utils.js'
import type { WorkContext } from './context.js'
import type { Executor, ExecutorProgress, ExecutorResult } from './executor.js'
import type { MeterInput, WorkProgress } from './index.js'
import type { ProviderJournal, SavedJob } from './journal.js'
import type { ConnectionKind } from './relayed.js'
import type { VoucherBook } from './vouchers.js'
import type { ConnectionLimits, PeerId } from '@libp2p/interface'
import type { CountersignedRecord, JobAnnouncement, OpenedAssignment, Price, SignedRecord, WorkReceipt } from '@shoal/records'

/** A job the provider admitted: running, or finished and kept to answer resends. */
export interface JobEntry {
  /** the assignment's record id, hex */
  key: string
  assignmentBytes: Uint8Array
  opened: OpenedAssignment
  requester: string
  peer: PeerId
  startedMs: number
  progress?: WorkProgress
  state: 'queued' | 'running' | 'done' | 'failed' | 'countersigned'
  done: Promise<void>
  receipt?: SignedRecord<WorkReceipt>
  output?: Uint8Array
  location?: string
  error?: WorkError
  countersigned?: CountersignedRecord<WorkReceipt>
  /** the countersignature being kept (stored, then the state moved): concurrent sends of it wait for it */
  countersigning?: Promise<void>
  controller: AbortController
  /** where progress goes: each send of the assignment waiting for its result */
  listeners: Set<(p: WorkProgress) => void>
  /** the kind of connection its assignment came on: a relayed one bounds the output by the relayed job policy */
  connection?: ConnectionKind
  /** the relay's limits on that connection (live: its remaining bytes and seconds) */
  limits?: ConnectionLimits
}

/** What a job run needs besides the context. */
export interface RunJobInit {
  executor: Executor
  /** what requesters owe, charged with the receipt */
  book: VoucherBook
  /** the announcement the quote answered, for the executor */
  job?: JobAnnouncement
  /** the provider's receipts form a chain: each names the one before */
  chain: ReceiptChain
  /** where the result is saved before it is sent */
  journal: ProviderJournal
}

/**
 * The provider's receipts form a chain, each naming the one signed before
 * it (`WorkReceipt.prev`): they are signed one at a time, so two jobs
 * ending together never name the same one.
 */
export class ReceiptChain {
  /** the last receipt signed (empty before the first) */
  last: Uint8Array = EMPTY
  private tail: Promise<unknown> = Promise.resolve()

  /** Run `append` alone: it signs the next receipt, naming `prev`; the chain moves on to it once `append` resolves. */
  async append<T extends { id: Uint8Array }> (append: (prev: Uint8Array) => Promise<T>): Promise<T> {
    const run = this.tail.catch(() => {}).then(async () => {
      const next = await append(this.last)
      this.last = next.id
      return next
    })
    this.tail = run
    return run
  }
}

/** A job as the journal saves it, with `patch` applied. */
export function savedJob (entry: JobEntry, patch: Partial<SavedJob> = {}): SavedJob {
  // admitted, waiting or running: a restart finds it unfinished either way
  const state = patch.state ?? (entry.state === 'running' || entry.state === 'queued' ? 'started' : entry.state)
  return {
    assignment: entry.assignmentBytes,
    state,
    startedMs: entry.startedMs,
    receipt: patch.receipt ?? entry.receipt?.bytes,
    // once countersigned the requester has checked the output: it need not outlive a restart
    output: state === 'countersigned' ? undefined : patch.output ?? entry.output,
    location: patch.location ?? entry.location,
    error: patch.error ?? (entry.error == null ? undefined : { code: entry.error.code, message: entry.error.message })
  }
}

/**
 * Run `entry`'s job on the executor and settle it: a signed receipt, the
 * requester charged, or the job marked failed. Never throws.
 */
export async function runJob (ctx: WorkContext, entry: JobEntry, input: Uint8Array, init: RunJobInit): Promise<void> {
  const startedMs = Math.max(1, Math.floor(ctx.now()))
  const meter = new JobMeter(ctx, entry, init.book)
  let result: ExecutorResult
  try {
    result = await execute(ctx, entry, input, init, meter)
  } catch (err: unknown) {
    if (!meter.stoppedUnpaid) {
      await fail(ctx, entry, err instanceof WorkError ? err : new ExecutorError(`executor failed: ${errorMessage(err)}`, { cause: err }), init.journal)
      return
    }
    // the work done so far is still owed: receipt it, with no output and status 402
    result = { output: EMPTY, units: meter.reported, status: PAYMENT_REQUIRED_STATUS }
  }
  if (result.units != null) {
    meter.reported = result.units
  }
  try {
    await settle(ctx, entry, result, meter.units(true), startedMs, init)
  } catch (err: unknown) {
    await fail(ctx, entry, err instanceof WorkError ? err : new ExecutorError(`could not sign or save the receipt: ${errorMessage(err)}`, { cause: err }), init.journal)
  }
}

/** The executor's result, within the job's time, with progress metered; throws if it is unusable. */
async function execute (ctx: WorkContext, entry: JobEntry, input: Uint8Array, init: RunJobInit, meter: JobMeter): Promise<ExecutorResult> {
  const a = entry.opened.assignment.value
  // the job's own deadline too, when the announcement is known: past it the requester has given up, and a receipt would stay pending
  const endBy = Math.min(a.expiresMs, init.job?.deadlineMs ?? Infinity)
  const timeLeft = Math.max(1, Math.min(ctx.settings.jobTimeoutMs, endBy - ctx.now()))
  // a timer on the job's own controller: cheaper than AbortSignal.any over a timeout signal
  const deadline = setTimeout(() => { entry.controller.abort(new TimeoutError(`job ran out of its ${timeLeft} ms`)) }, timeLeft)
  const signal = entry.controller.signal
  setMaxListeners(Infinity, signal)
  // time-metered work accrues without the executor saying so
  const ticker = isTimeMetered(meter.price.unit) ? setInterval(() => { meter.publish() }, ctx.settings.meterIntervalMs) : undefined
  try {
    const result = await init.executor.run(input, {
      signal,
      onProgress: p => { meter.onProgress(p) },
      job: init.job,
      quote: entry.opened.quote.value,
      assignmentId: entry.opened.assignment.id,
      assignedMs: a.createdMs,
      requester: entry.peer
    })
    checkResult(ctx, result, entry.connection, entry.limits)
    return result
  } finally {
    clearInterval(ticker)
    clearTimeout(deadline)
  }
}

function checkResult (ctx: WorkContext, result: ExecutorResult | undefined, connection?: ConnectionKind, limits?: ConnectionLimits): asserts result is ExecutorResult {
  if (!(result?.output instanceof Uint8Array)) {
    throw new ExecutorError('executor returned no output')
  }
  const relayed = ctx.settings.relayed
  if (connection === 'relayed' && relayed !== false && result.output.byteLength > relayed.maxOutputBytes) {
    throw new RelayLimitError(relayBreachMessage({ limit: 'maxOutputBytes', need: result.output.byteLength, allowed: relayed.maxOutputBytes }))
  }
  // what the relay still carries now (other protocols used the connection meanwhile): a result it would cut off
  // mid-way is refused as a relay limit, not sent to be reset
  const left = connection === 'relayed' ? limits?.bytes : undefined
  if (left != null && result.output.byteLength + RELAY_OVERHEAD_BYTES > Number(left)) {
    throw new RelayLimitError(relayBreachMessage({ limit: 'bytes', need: result.output.byteLength + RELAY_OVERHEAD_BYTES, allowed: Number(left) }))
  }
  if (result.output.byteLength > ctx.settings.maxOutputBytes) {
    throw new PayloadTooLargeError(`output is ${result.output.byteLength} bytes, limit is ${ctx.settings.maxOutputBytes}; return a location instead`)
  }
  if (result.location != null && (result.location === '' || result.location.length > MAX_LOCATION_LENGTH || result.outputHash?.byteLength !== 32 || result.output.byteLength !== 0)) {
    throw new ExecutorError('an output at a location needs a location of 1..1024 characters, a 32-byte outputHash and no inline output')
  }
}

/** Sign the receipt for `units`, save it with the result, then charge the requester and keep both. */
async function settle (ctx: WorkContext, entry: JobEntry, result: ExecutorResult, units: number, startedMs: number, init: RunJobInit): Promise<void> {
  const a = entry.opened.assignment.value
  const price = entry.opened.quote.value.price as Price
  const output = result.output
  const location = result.location ?? ''
  const receipt = await init.chain.append(async prev => {
    const receipt = await signRecord(WorkReceiptType, {
      version: RECORD_VERSION,
      jobId: a.jobId,
      assignmentId: entry.opened.assignment.id,
      requester: a.requester,
      provider: ctx.self,
      units,
      price,
      total: units * price.perUnit,
      resultHash: result.location != null ? result.outputHash as Uint8Array : sha256(output),
      startedMs,
      endedMs: Math.max(startedMs, Math.floor(ctx.now())),
      status: Number.isInteger(result.status) ? result.status : 1,
      prev
    }, ctx.components.privateKey)
    // saved before it is sent: a resend after a restart gets these bytes, never a second run
    await init.journal.settled(entry.key, savedJob(entry, { state: 'done', receipt: receipt.bytes, output, location }), receipt.id)
    return receipt
  })
  entry.receipt = receipt
  entry.output = output
  entry.location = location
  entry.state = 'done'
  const currency = receipt.value.price?.currency ?? ''
  init.book.charge(entry.peer, receipt.value.total, currency)
  // the job is done and saved with its receipt: a store that fails now is logged, it does not fail the job
  await Promise.all([ctx.store(receipt, {}), init.book.saveCharge(entry.peer, currency).catch((err: unknown) => {
    ctx.log.error('could not save the charge of job %s - %e', entry.key, err)
  })])
  ctx.count('job_completed')
  if (entry.connection != null) {
    ctx.count(`${entry.connection}_run`)
  }
  ctx.emit('job:completed', { ...receipt, connection: entry.connection })
}

async function fail (ctx: WorkContext, entry: JobEntry, error: WorkError, journal: ProviderJournal): Promise<void> {
  entry.state = 'failed'
  entry.error = error
  // a resend after a restart is told the same; unsaved, it is told the job was interrupted
  await journal.settled(entry.key, savedJob(entry)).catch((err: unknown) => {
    ctx.log.error('could not save the failure of job %s - %e', entry.key, err)
  })
  ctx.count('job_failed')
  ctx.emit('job:failed', { assignmentId: entry.opened.assignment.id, error })
}

/**
 * Meters a running job: its units so far, published as progress to the
 * sends waiting for it, and a stop once the requester would owe more than `maxUnpaid`.
 */
class JobMeter {
  readonly price: Price
  /** units the executor reported last, if any */
  reported?: number
  /** set once the job was stopped because the requester owes too much */
  stoppedUnpaid = false
  private readonly ctx: WorkContext
  private readonly entry: JobEntry
  private readonly book: VoucherBook
  private readonly t0 = performance.now()
  private last = { permille: 0, message: '' }

  constructor (ctx: WorkContext, entry: JobEntry, book: VoucherBook) {
    this.ctx = ctx
    this.entry = entry
    this.book = book
    this.price = entry.opened.quote.value.price as Price
  }

  /** Units of the work so far (`final`: for the receipt), never above the assignment's `maxUnits`. */
  units (final = false): number {
    const meter = this.ctx.settings.meter ?? defaultMeter
    const metered = meter({ wallMs: performance.now() - this.t0, reported: this.reported, price: this.price, gpus: this.ctx.settings.gpusPerJob, final })
    return Math.min(Math.max(0, Math.floor(metered)), this.entry.opened.assignment.value.maxUnits)
  }

  onProgress (p: ExecutorProgress): void {
    if (p.units != null && Number.isFinite(p.units)) {
      this.reported = p.units
    }
    this.last = {
      permille: Math.max(0, Math.min(1000, Math.floor(p.permille ?? this.last.permille))),
      message: (p.message ?? '').slice(0, 500)
    }
    this.publish()
  }

  /** Tell the requester what it owes so far, and stop the job once it owes more than `maxUnpaid`. */
  publish (): void {
    const { entry, price } = this
    const progress: WorkProgress = { assignmentId: entry.opened.assignment.id, units: this.units(), permille: this.last.permille, message: this.last.message }
    entry.progress = progress
    for (const listener of entry.listeners) {
      listener(progress)
    }
    this.ctx.emit('job:progress', progress)
    const maxUnpaid = this.ctx.settings.maxUnpaid
    if (!this.stoppedUnpaid && this.book.unpaid(entry.peer, price.currency) + progress.units * price.perUnit > maxUnpaid) {
      this.stoppedUnpaid = true
      entry.controller.abort(new PaymentRequiredError(`owes more than ${maxUnpaid}; job stopped`))
    }
  }
}

/**
 * Default metering: the executor's units, else wall seconds (× GPUs for
 * `gpu-second`) rounded up, else one per job (accrued when it finishes).
 */
export function defaultMeter (input: MeterInput): number {
  if (input.reported != null && Number.isFinite(input.reported)) {
    return Math.max(0, Math.ceil(input.reported))
  }
  const unit = input.price.unit
  if (isTimeMetered(unit)) {
    return Math.max(1, Math.ceil(input.wallMs * unitsPerSecond(unit, input.gpus) / 1000))
  }
  return input.final === false ? 0 : 1
}
