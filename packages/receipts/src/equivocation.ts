/**
 * Equivocation: two valid receipts for one job that disagree. The evidence
 * is the two countersigned receipts themselves, so any peer can re-check it
 * with `verifyEquivocation()` without trusting whoever reports it.
 */

import { WorkReceiptType, encodeRecord, openCountersigned } from '@shoal/records'
import { InvalidEquivocationError } from './errors.js'
import { equalBytes } from './utils.js'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { WorkReceipt } from '@shoal/records'

/**
 * Why two receipts are about the same job: they settle the same assignment,
 * or the same provider claims the same job id twice.
 */
export type EquivocationKind = 'assignment' | 'job'

/** Two receipts for one job that disagree, with both as evidence. */
export interface Equivocation {
  /** SHA-256 over the two receipt ids in byte order: the same pair always has the same id */
  readonly id: Uint8Array
  /** what the two receipts share */
  readonly kind: EquivocationKind
  /** the peer that signed both conflicting statements: the provider, or the requester when the providers differ */
  readonly offender: PeerId
  /** the provider of the first receipt */
  readonly provider: PeerId
  /** the job both receipts name (that of the first) */
  readonly jobId: Uint8Array
  /** countersigned bytes of the receipt stored first */
  readonly first: Uint8Array
  /** countersigned bytes of the conflicting receipt */
  readonly second: Uint8Array
  /** record ids of the two receipts */
  readonly firstId: Uint8Array
  readonly secondId: Uint8Array
  /** when this store detected it, ms */
  readonly detectedAt: number
}

/**
 * Whether two receipts are about the same job: they settle the same
 * assignment, or the same provider names the same job id.
 */
export function sameJob (a: WorkReceipt, b: WorkReceipt): EquivocationKind | undefined {
  if (equalBytes(a.assignmentId, b.assignmentId)) {
    return 'assignment'
  }
  if (equalBytes(a.jobId, b.jobId) && equalBytes(a.provider, b.provider)) {
    return 'job'
  }
  return undefined
}

/** Whether two receipts make exactly the same claim (a re-signed copy, not a conflict). */
export function sameClaim (a: WorkReceipt, b: WorkReceipt): boolean {
  return equalBytes(encodeRecord(WorkReceiptType, a), encodeRecord(WorkReceiptType, b))
}

/**
 * Whether two receipts are about the same job and disagree: the kind of
 * conflict, or undefined when they are unrelated or say exactly the same
 * thing (a re-signed copy is a duplicate, not an equivocation).
 */
export function receiptsConflict (a: WorkReceipt, b: WorkReceipt): EquivocationKind | undefined {
  const kind = sameJob(a, b)
  if (kind == null || sameClaim(a, b)) {
    return undefined
  }
  return kind
}

/**
 * Re-check equivocation evidence from its two countersigned receipts: both
 * must verify and conflict. Returns the kind and the offender; throws a
 * `RecordError` for a bad receipt or `InvalidEquivocationError` when the two
 * do not conflict.
 */
export async function verifyEquivocation (first: Uint8Array, second: Uint8Array, options: AbortOptions = {}): Promise<{ kind: EquivocationKind, offender: PeerId }> {
  const a = await openCountersigned(WorkReceiptType, first, { ...options, ignoreTime: true })
  const b = await openCountersigned(WorkReceiptType, second, { ...options, ignoreTime: true })
  if (equalBytes(a.id, b.id)) {
    throw new InvalidEquivocationError('Both are the same receipt')
  }
  const kind = receiptsConflict(a.record.value, b.record.value)
  if (kind == null) {
    throw new InvalidEquivocationError('The receipts do not conflict')
  }
  const offender = a.record.signer.equals(b.record.signer) ? a.record.signer : a.countersigner
  return { kind, offender }
}
