/**
 * One named error class per way the work protocol can fail. Each maps to
 * a `Failure.code` on the wire, so the remote side sees the same name.
 */

import { FAILURE_CODE } from './constants.js'

/** Base class of the work protocol's errors; `code` is the wire code. */
export class WorkError extends Error {
  static override name = 'WorkError'
  readonly code: string

  constructor (message = 'Work protocol error', code: string = FAILURE_CODE.internal, options?: ErrorOptions) {
    super(message, options)
    this.name = 'WorkError'
    this.code = code
  }
}

function define (name: string, code: string, fallback: string): new (message?: string, options?: ErrorOptions) => WorkError {
  const cls = class extends WorkError {
    static override name = name
    constructor (message = fallback, options?: ErrorOptions) {
      super(message, code, options)
      this.name = name
    }
  }
  return cls
}

/** A message on the stream does not decode, sets no or several bodies, or is out of order. */
export class InvalidMessageError extends define('InvalidMessageError', FAILURE_CODE.badMessage, 'Invalid work message') {}
/** The provider's bid policy declined the job. */
export class QuoteDeclinedError extends define('QuoteDeclinedError', FAILURE_CODE.declined, 'Provider declined the job') {}
/** The requester refuses a quote above its job's price ceiling or budget (nothing is sent). */
export class QuoteUnacceptableError extends define('QuoteUnacceptableError', FAILURE_CODE.declined, 'Quote not acceptable') {}
/** The peer asked for quotes faster than the provider's per-peer `quoteRate` allows. */
export class QuoteRateLimitedError extends define('QuoteRateLimitedError', FAILURE_CODE.rateLimited, 'Too many quote requests') {}
/** Options of a ProviderBusyError. */
export interface ProviderBusyErrorOptions extends ErrorOptions {
  /** the provider's estimate of the wait until it could take the job, ms (the Failure's `retry_after_ms`) */
  retryAfterMs?: number
}

/** The provider runs as many jobs as it may and its queue is full; `retryAfterMs` is its estimated wait, if it gave one. */
export class ProviderBusyError extends WorkError {
  static override name = 'ProviderBusyError'
  readonly retryAfterMs?: number

  constructor (message = 'Provider is busy', options?: ProviderBusyErrorOptions) {
    super(message, FAILURE_CODE.busy, options)
    this.name = 'ProviderBusyError'
    if (options?.retryAfterMs != null && options.retryAfterMs > 0) {
      this.retryAfterMs = options.retryAfterMs
    }
  }
}
/** A record (job, quote, assignment, voucher) failed verification; `cause` is the records error. */
export class InvalidRecordError extends define('InvalidRecordError', FAILURE_CODE.badRecord, 'Invalid record') {}
/** A record names other peers than the two on this stream. */
export class WrongPeerError extends define('WrongPeerError', FAILURE_CODE.wrongPeer, 'Record names another peer') {}
/** A second, different assignment arrived for a quote already assigned. */
export class QuoteReusedError extends define('QuoteReusedError', FAILURE_CODE.quoteReused, 'Quote already assigned') {}
/** An assignment arrived again after its job was forgotten; it is never run twice. */
export class AssignmentReplayedError extends define('AssignmentReplayedError', FAILURE_CODE.replayed, 'Assignment already executed') {}
/** The input does not hash to the assignment's `inputHash`. */
export class InputMismatchError extends define('InputMismatchError', FAILURE_CODE.inputMismatch, 'Input does not match the assignment') {}
/** The input or output is larger than allowed. */
export class PayloadTooLargeError extends define('PayloadTooLargeError', FAILURE_CODE.inputTooLarge, 'Payload too large') {}
/** The executor threw, or exited with an error before producing output. */
export class ExecutorError extends define('ExecutorError', FAILURE_CODE.executorFailed, 'Executor failed') {}
/** The output does not hash to the receipt's `resultHash`; the requester does not countersign. */
export class ResultHashMismatchError extends define('ResultHashMismatchError', FAILURE_CODE.resultMismatch, 'Result hash does not match the output') {}
/** A receipt is forged, one-sided where a countersigned one is due, or disagrees with the assignment. */
export class InvalidReceiptError extends define('InvalidReceiptError', FAILURE_CODE.badReceipt, 'Invalid receipt') {}
/** A countersigned receipt's second signature is missing or wrong; the provider keeps its receipt pending. */
export class InvalidCountersignatureError extends define('InvalidCountersignatureError', FAILURE_CODE.badCountersignature, 'Invalid countersignature') {}
/** A countersignature or progress refers to a job this provider does not know. */
export class UnknownJobError extends define('UnknownJobError', FAILURE_CODE.unknownJob, 'Unknown job') {}
/** The requester owes more than the provider's `maxUnpaid`. */
export class PaymentRequiredError extends define('PaymentRequiredError', FAILURE_CODE.paymentRequired, 'Payment required') {}
/** A voucher's nonce is not above the lane's latest. */
export class VoucherNonceError extends define('VoucherNonceError', FAILURE_CODE.voucherNonce, 'Voucher nonce reused') {}
/** A voucher's cumulative amount is below the lane's latest. */
export class VoucherAmountError extends define('VoucherAmountError', FAILURE_CODE.voucherAmount, 'Voucher amount decreased') {}
/** A voucher is for another payee, currency or payer than expected. */
export class InvalidVoucherError extends define('InvalidVoucherError', FAILURE_CODE.badVoucher, 'Invalid voucher') {}
/**
 * The job of this assignment was interrupted by a restart of the provider
 * before it finished; it is never run again under the same assignment (the
 * requester fails over, or asks for a fresh quote).
 */
export class JobInterruptedError extends define('JobInterruptedError', FAILURE_CODE.interrupted, 'Job interrupted by a provider restart') {}
/** The requester's `checkResult` refused the result (verification disagreed): nothing is countersigned or paid. */
export class ResultRejectedError extends define('ResultRejectedError', FAILURE_CODE.resultRejected, 'Result rejected by the requester') {}
/** A verified run ended without `quorum` providers agreeing on one result: nobody was countersigned. */
export class NoQuorumError extends define('NoQuorumError', FAILURE_CODE.resultRejected, 'No quorum of providers agreed on a result') {}
/** The command executor's program failed to start, timed out or wrote too much. */
export class CommandError extends define('CommandError', FAILURE_CODE.executorFailed, 'Command failed') {}

/**
 * The requester holds `maxUnpaidJobs` of this provider's receipts without
 * countersigning them: it gets no quote or assignment until it countersigns.
 */
export class UnpaidReceiptsError extends define('UnpaidReceiptsError', FAILURE_CODE.unpaid, 'Receipts not countersigned') {}

/**
 * A job does not fit the relayed connection it would run on (the relayed job
 * policy, or the relay's remaining bytes or seconds); the message names the
 * limit. The requester moves on to the next candidate, at no cost to this one.
 */
export class RelayLimitError extends define('RelayLimitError', FAILURE_CODE.relayLimit, 'Job does not fit the relayed connection') {}

const BY_CODE = new Map<string, new (message?: string) => WorkError>([
  [FAILURE_CODE.badMessage, InvalidMessageError],
  [FAILURE_CODE.declined, QuoteDeclinedError],
  [FAILURE_CODE.busy, ProviderBusyError],
  [FAILURE_CODE.rateLimited, QuoteRateLimitedError],
  [FAILURE_CODE.badRecord, InvalidRecordError],
  [FAILURE_CODE.wrongPeer, WrongPeerError],
  [FAILURE_CODE.quoteReused, QuoteReusedError],
  [FAILURE_CODE.replayed, AssignmentReplayedError],
  [FAILURE_CODE.inputMismatch, InputMismatchError],
  [FAILURE_CODE.inputTooLarge, PayloadTooLargeError],
  [FAILURE_CODE.executorFailed, ExecutorError],
  [FAILURE_CODE.resultMismatch, ResultHashMismatchError],
  [FAILURE_CODE.badReceipt, InvalidReceiptError],
  [FAILURE_CODE.badCountersignature, InvalidCountersignatureError],
  [FAILURE_CODE.unknownJob, UnknownJobError],
  [FAILURE_CODE.paymentRequired, PaymentRequiredError],
  [FAILURE_CODE.voucherNonce, VoucherNonceError],
  [FAILURE_CODE.voucherAmount, VoucherAmountError],
  [FAILURE_CODE.badVoucher, InvalidVoucherError],
  [FAILURE_CODE.interrupted, JobInterruptedError],
  [FAILURE_CODE.unpaid, UnpaidReceiptsError],
  [FAILURE_CODE.resultRejected, ResultRejectedError],
  [FAILURE_CODE.relayLimit, RelayLimitError]
])

/** The error a remote `Failure` stands for (an unknown code is a plain WorkError); a busy one carries its `retryAfterMs`. */
export function errorFromFailure (code: string, message: string, retryAfterMs = 0): WorkError {
  return errorOfCode(code, `remote: ${message}`, retryAfterMs)
}

/** The error class of a wire `code` with `message` (an unknown code is a plain WorkError). */
export function errorOfCode (code: string, message: string, retryAfterMs = 0): WorkError {
  if (code === FAILURE_CODE.busy) {
    return new ProviderBusyError(message, { retryAfterMs })
  }
  const cls = BY_CODE.get(code)
  return cls != null ? new cls(message) : new WorkError(message, code)
}

/** The `retry_after_ms` a Failure for `err` carries: a busy refusal's estimated wait, else 0. */
export function retryAfterOf (err: WorkError): number {
  return err instanceof ProviderBusyError ? Math.max(0, Math.floor(err.retryAfterMs ?? 0)) : 0
}

/** A payment entry saved by an earlier run does not decode; it is skipped, never trusted. */
export class CorruptLedgerError extends define('CorruptLedgerError', FAILURE_CODE.internal, 'Saved payment state is corrupt') {}
