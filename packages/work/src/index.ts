/**
 * @packageDocumentation
 *
 * The `/shoal/work/1.0.0` protocol as a libp2p service: a requester asks a
 * provider for a signed quote, accepts it with a signed assignment, the
 * provider runs the job on a pluggable executor with progress, and returns
 * the result with a receipt it signed; the requester checks the result hash,
 * countersigns the receipt and pays with a cumulative voucher. Both keep
 * both copies. Every step can be resent: a replayed assignment returns the
 * same result and receipt, never a second run or charge.
 *
 * @example
 *
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { work, functionExecutor } from '@shoal/work'
 *
 * const provider = await createLibp2p({
 *   // transports, encrypters, muxers...
 *   services: {
 *     work: work({
 *       price: { perUnit: 20, currency: 'USDC', unit: 'job' },
 *       executor: functionExecutor(input => new TextEncoder().encode(`hello ${new TextDecoder().decode(input)}`))
 *     })
 *   }
 * })
 * const requester = await createLibp2p({ services: { work: work() } })
 *
 * const outcome = await requester.services.work.run(provider.peerId, {
 *   priceCeiling: { perUnit: 25, currency: 'USDC', unit: 'job' },
 *   budget: 100
 * }, new TextEncoder().encode('world'))
 * console.log(new TextDecoder().decode(outcome.output)) // hello world
 * console.log(outcome.receipt.bytes) // signed by both
 * ```
 */

import { Work } from './work.js'
import type { WorkComponents, WorkInit } from './work.js'

export { Work, defaultMeter } from './work.js'
export type {
  WorkInit, WorkComponents, WorkEvents, ReceiptSink, MeterInput, JobSpec, RunOptions, DirectRunOptions, WorkProgress,
  JobOutcome, RunOutcome, PendingReceipt, RunningJob
} from './work.js'
export { functionExecutor, commandExecutor, findProgram, TIMEOUT_STATUS } from './executor.js'
export type {
  Executor, ExecuteOptions, ExecutorProgress, ExecutorResult, FunctionExecutorOutput, CommandExecutorInit, CommandExecutor,
  MemoryLimitEnforcement
} from './executor.js'
export { detectGpus, parseNvidiaSmi, gpuClass } from './gpu.js'
export type { GpuInventory, DetectGpusOptions } from './gpu.js'
export { priceBidPolicy, matchJob } from './bid-policy.js'
export type { BidPolicy, Bid, BidContext, PriceBidPolicyInit } from './bid-policy.js'
export { VoucherLanes, VoucherBook } from './vouchers.js'
export type { PayerLane, PayeeLane } from './vouchers.js'
export { PAYER_LANES_PREFIX, PAYEE_VOUCHERS_PREFIX, CHARGES_PREFIX, decodePayerLane, decodeCharge } from './ledger.js'
export type { SavedPayerLane, SavedCharge, LedgerLoad } from './ledger.js'
export { encodeFrame, decodeFrame, decodeInlineJob } from './messages.js'
export type { WorkFrame, WorkFrameKind } from './messages.js'
export * from './errors.js'
export * from './constants.js'

/** Create the work service, in the js-libp2p way. */
export function work (init: WorkInit = {}): (components: WorkComponents) => Work {
  return (components) => new Work(components, init)
}
