/**
 * Protocol id, limits and defaults of the work service (see docs/spec.md §4).
 */

import type { RelayedJobPolicy } from './relayed.js'

/** Protocol id of the work protocol. */
export const PROTOCOL = '/shoal/work/1.0.0'

/**
 * Largest job input accepted inline in an Assign message, bytes.
 *
 * @default 1048576
 */
export const MAX_INPUT_BYTES = 1024 * 1024

/**
 * Largest job output returned inline in a Result message, bytes.
 *
 * @default 1048576
 */
export const MAX_OUTPUT_BYTES = 1024 * 1024

/** Room for the signed records and framing around an inline input or output, bytes. */
export const MESSAGE_OVERHEAD_BYTES = 16 * 1024

/**
 * How jobs run over relayed connections by default: small ones do, within
 * the js circuit relay's default limits (128 KiB, 2 min)
 */
export const DEFAULT_RELAYED_JOB_POLICY: Readonly<RelayedJobPolicy> = {
  enabled: true,
  maxInputBytes: 32 * 1024,
  maxOutputBytes: 64 * 1024,
  upgradeWaitMs: 5000
}

/**
 * Bytes a relayed job needs besides its input and output: the quote,
 * assignment, receipt, countersignature, voucher and framing
 *
 * @default 16384
 */
export const RELAY_OVERHEAD_BYTES = 16 * 1024

/** Longest `Failure.message` / `Progress.message`, characters. */
export const MAX_MESSAGE_TEXT = 512

/** Longest `Failure.code` and `Result.location`, characters. */
export const MAX_CODE_LENGTH = 64

/** Longest `Result.location`, characters. */
export const MAX_LOCATION_LENGTH = 1024

/**
 * Time one protocol step (quote, countersign) may take, ms.
 *
 * @default 10000
 */
export const STEP_TIMEOUT_MS = 10_000

/**
 * Time a whole job may take from assignment to result when the caller gives no deadline, ms.
 *
 * @default 600000
 */
export const JOB_TIMEOUT_MS = 10 * 60_000

/**
 * How long a quote is valid, ms.
 *
 * @default 60000
 */
export const QUOTE_TTL_MS = 60_000

/**
 * How long an assignment is valid, ms (the provider refuses it afterwards).
 *
 * @default 600000
 */
export const ASSIGNMENT_TTL_MS = 10 * 60_000

/**
 * Jobs run at once by the provider; further assignments wait in its queue (`MAX_QUEUED`).
 *
 * @default 4
 */
export const CONCURRENCY = 4

/**
 * Admitted jobs that may wait for a slot when all `concurrency` slots are
 * taken (first in, first out); past it, assignments get a busy reply with
 * the estimated wait (`retry_after_ms`).
 *
 * @default 256
 */
export const MAX_QUEUED = 256

/** How often a provider checks its queued jobs and tells their requesters a changed position, ms. */
export const QUEUE_TICK_MS = 250

/**
 * Finished jobs (and their outputs) the provider keeps to answer a resent
 * assignment with the same result instead of running it again.
 *
 * @default 4096
 */
export const MAX_JOBS = 4096

/**
 * Used quotes a provider remembers until they expire (quote expiry plus the
 * assignment lifetime), so a quote is never assigned twice and an assignment
 * never runs twice, even after its job was evicted. When this many unexpired
 * used quotes are held, new assignments are refused until some expire.
 *
 * @default 65536
 */
export const MAX_USED_QUOTES = 65_536

/**
 * Quote requests one peer may make per second on average (token bucket refill rate).
 *
 * @default 2000
 */
export const QUOTE_RATE = 2000

/**
 * Quote requests one peer may make at once (token bucket size).
 *
 * @default 256
 */
export const QUOTE_BURST = 256

/**
 * Peers whose quote buckets are tracked; beyond it, full buckets are forgotten first
 *
 * @default 4096
 */
export const MAX_QUOTE_BUCKETS = 4096

/**
 * The most a provider lets a requester owe it (receipts issued minus
 * vouchers received), in the smallest unit of the currency. A requester
 * that owes more gets no new assignment accepted and running jobs stop.
 *
 * @default 100000
 */
export const MAX_UNPAID = 100_000

/**
 * The most receipts a provider holds for one requester that it has not
 * countersigned; at this many the requester gets no quote or assignment
 * until it countersigns (a free rider takes results and never signs for
 * them). A receipt counts once it is older than twice the step timeout, so
 * the job that just finished, whose countersignature is on its way, does not.
 *
 * @default 4
 */
export const MAX_UNPAID_JOBS = 4

/**
 * As requester: a run that took longer than this many times its quote's
 * `eta_ms` (plus {@link LATE_GRACE_MS}) costs its provider router trust
 * (`late`): it advertised speed it did not deliver. Loose enough that an
 * honest provider's estimate (its average run time, or a guess before its
 * first job) and a busy machine are not punished; a provider delivering
 * at a tenth of the speed it claims is.
 *
 * @default 5
 */
export const LATE_FACTOR = 5

/** What a run may take beyond `lateFactor` x its quote's eta before it is late, ms (round trips, start-up). */
export const LATE_GRACE_MS = 2000

/**
 * Idle work streams a requester keeps open per provider, reused by the next
 * job (saves the stream setup: yamux open/close and protocol negotiation).
 *
 * @default 64
 */
export const MAX_IDLE_STREAMS = 64

/**
 * How often a provider meters a time-priced job while it runs and reports
 * the units to the requester (who pays as they accrue), ms.
 *
 * @default 1000
 */
export const METER_INTERVAL_MS = 1000

/** Receipt status of a job the provider stopped because the requester owed more than `maxUnpaid`. */
export const PAYMENT_REQUIRED_STATUS = 402

/**
 * Inbound work streams per connection.
 *
 * @default 256
 */
export const MAX_INBOUND_STREAMS = 256

/**
 * Outbound work streams per connection.
 *
 * @default 256
 */
export const MAX_OUTBOUND_STREAMS = 256

/** Machine-readable codes of a `Failure` message. */
export const FAILURE_CODE = {
  declined: 'declined',
  busy: 'busy',
  badMessage: 'bad-message',
  badRecord: 'bad-record',
  wrongPeer: 'wrong-peer',
  quoteReused: 'quote-reused',
  replayed: 'assignment-replayed',
  inputMismatch: 'input-mismatch',
  inputTooLarge: 'input-too-large',
  executorFailed: 'executor-failed',
  resultMismatch: 'result-hash-mismatch',
  badReceipt: 'bad-receipt',
  badCountersignature: 'bad-countersignature',
  unknownJob: 'unknown-job',
  paymentRequired: 'payment-required',
  rateLimited: 'rate-limited',
  voucherNonce: 'voucher-nonce-reused',
  voucherAmount: 'voucher-amount-decreased',
  badVoucher: 'bad-voucher',
  interrupted: 'interrupted',
  unpaid: 'unpaid',
  resultRejected: 'result-rejected',
  relayLimit: 'relay-limit',
  internal: 'internal'
} as const

/**
 * Acknowledgements of streamed vouchers a requester skips while waiting for
 * the acknowledgement of its countersigned receipt on the same stream
 *
 * @default 64
 */
export const MAX_STALE_ACKS = 64

/**
 * Payment lanes a provider keeps per payer; a voucher opening one more is
 * refused, so a payer cannot grow the provider's memory without bound
 *
 * @default 16
 */
export const MAX_LANES_PER_PAYER = 16

/**
 * Resends of one running assignment that may wait for its result at once
 *
 * @default 8
 */
export const MAX_LISTENERS_PER_JOB = 8

/**
 * Providers whose verified results a requester counts (for `VerifyPolicy.probationJobs`),
 * in memory and in its datastore; the least recently verified are forgotten first
 *
 * @default 4096
 */
export const MAX_VERIFIED_PEERS = 4096

/**
 * Results a quorum agreed on that a requester keeps, by workload and input
 * hash, to spot-check a single run against (known-answer checks)
 *
 * @default 1024
 */
export const MAX_KNOWN_ANSWERS = 1024
