/**
 * Checking evidence with no trust in its reporter: every record inside is
 * opened and every rule of docs/spec.md (Evidence) checked.
 */

import {
  EvidenceKind, EvidenceType, JobAnnouncementType, RecordError, WorkReceipt, WorkReceiptType, isVerified, openAssignment,
  openCountersigned, openRecord, peerIdFromBytes
} from '@shoal/records'
import { errorMessage } from '@shoal/utils'
import { equals } from 'uint8arrays/equals'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { InvalidEvidenceError } from '../errors.js'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { Assignment, Evidence, JobAnnouncement, SignedRecord } from '@shoal/records'

/** Evidence whose every rule holds. */
export interface VerifiedEvidence {
  /** record id of the evidence */
  id: Uint8Array
  kind: 'equivocation' | 'wrong-result'
  /** who cheated */
  offender: PeerId
  /** who signed the evidence */
  reporter: PeerId
  /** the job of the offender's receipt */
  jobId: Uint8Array
  record: SignedRecord<Evidence>
}

/** Options of verifyEvidence. */
export interface VerifyEvidenceOptions extends AbortOptions {
  /** the clock the evidence's creation time is checked against (default Date.now) */
  now?(): number
}

/** Archived records: what they prove does not expire. */
const ARCHIVED = { ignoreTime: true } as const

function invalid (rule: string): InvalidEvidenceError {
  return new InvalidEvidenceError(`Invalid evidence: ${rule}`)
}

/** Run `open`, turning a record error into InvalidEvidenceError naming `what`. */
async function opened<T> (what: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open()
  } catch (err: unknown) {
    if (err instanceof RecordError) {
      throw invalid(`${what} does not open (${err.name}: ${err.message})`)
    }
    throw err
  }
}

/** A provider-signed receipt, bare or inside a countersigned wrapper. */
async function openReceipt (bytes: Uint8Array, index: number, options: AbortOptions): Promise<SignedRecord<WorkReceipt>> {
  return opened(`receipts[${index}]`, async () => {
    try {
      return await openRecord(WorkReceiptType, bytes, { ...options, ...ARCHIVED })
    } catch (err: unknown) {
      try {
        return (await openCountersigned(WorkReceiptType, bytes, { ...options, ...ARCHIVED })).record
      } catch {
        // report why it is not a bare receipt: the wrapper is the exception
        throw err
      }
    }
  })
}

function hex (bytes: Uint8Array): string {
  return uint8ArrayToString(bytes, 'base16')
}

function checkEquivocation (evidence: Evidence, receipts: Array<SignedRecord<WorkReceipt>>): void {
  const [first, second] = receipts
  for (const [i, r] of receipts.entries()) {
    if (!equals(r.value.provider, evidence.offender)) {
      throw invalid(`equivocation: receipts[${i}] is not signed by the offender`)
    }
  }
  if (!equals(first.value.assignmentId, second.value.assignmentId)) {
    throw invalid('equivocation: the two receipts settle different assignments')
  }
  if (equals(WorkReceipt.encode(first.value), WorkReceipt.encode(second.value))) {
    throw invalid('equivocation: the two receipts make the same claim')
  }
}

async function checkWrongResult (evidence: Evidence, reporter: Uint8Array, receipts: Array<SignedRecord<WorkReceipt>>, options: AbortOptions): Promise<void> {
  if (!equals(receipts[0].value.provider, evidence.offender)) {
    throw invalid('wrong-result: receipts[0] is not signed by the offender')
  }
  const providers = new Set<string>()
  for (const [i, r] of receipts.entries()) {
    const provider = hex(r.value.provider)
    if (i > 0 && (equals(r.value.provider, evidence.offender) || equals(r.value.provider, reporter))) {
      throw invalid(`wrong-result: receipts[${i}] is signed by the offender or the reporter, not another provider`)
    }
    if (providers.has(provider)) {
      throw invalid(`wrong-result: receipts[${i}] is from a provider already counted`)
    }
    providers.add(provider)
    if (r.value.status !== 0) {
      throw invalid(`wrong-result: receipts[${i}] reports a failed run (status ${r.value.status})`)
    }
  }

  const assignments: Array<SignedRecord<Assignment>> = []
  for (const [i, bytes] of evidence.assignments.entries()) {
    const { assignment } = await opened(`assignments[${i}]`, async () => openAssignment(bytes, { ...options, ...ARCHIVED }))
    const a = assignment.value
    if (!equals(a.requester, reporter)) {
      throw invalid(`wrong-result: assignments[${i}] is not signed by the reporter`)
    }
    if (!equals(a.provider, receipts[i].value.provider)) {
      throw invalid(`wrong-result: assignments[${i}] names another provider than receipts[${i}]`)
    }
    if (!equals(receipts[i].value.assignmentId, assignment.id) || !equals(receipts[i].value.jobId, a.jobId)) {
      throw invalid(`wrong-result: receipts[${i}] does not settle assignments[${i}]`)
    }
    assignments.push(assignment)
  }

  const jobs = new Map<string, SignedRecord<JobAnnouncement>>()
  for (const [i, bytes] of evidence.jobs.entries()) {
    const job = await opened(`jobs[${i}]`, async () => openRecord(JobAnnouncementType, bytes, { ...options, ...ARCHIVED }))
    if (!equals(job.value.requester, reporter)) {
      throw invalid(`wrong-result: jobs[${i}] is not signed by the reporter`)
    }
    if (jobs.has(hex(job.value.jobId))) {
      throw invalid(`wrong-result: jobs[${i}] repeats a job`)
    }
    jobs.set(hex(job.value.jobId), job)
  }
  const used = new Set<string>()
  const first = [...jobs.values()][0].value
  for (const [i, a] of assignments.entries()) {
    const job = jobs.get(hex(a.value.jobId))
    if (job == null) {
      throw invalid(`wrong-result: assignments[${i}] is for a job not in jobs`)
    }
    used.add(hex(a.value.jobId))
    const j = job.value
    if (j.kind !== first.kind || j.workload !== first.workload || !equals(j.inputHash, first.inputHash)) {
      throw invalid('wrong-result: the jobs differ in kind, workload or input')
    }
    // the assignments must bind the input: with no hash, a requester could send each provider other bytes and
    // frame an honest one with honest results. A job announced without its input's hash (empty) binds none itself
    if (a.value.inputHash.byteLength !== 32) {
      throw invalid(`wrong-result: assignments[${i}] names no input hash`)
    }
    if (first.inputHash.byteLength > 0 && !equals(a.value.inputHash, first.inputHash)) {
      throw invalid(`wrong-result: assignments[${i}] has another input than the job`)
    }
    if (!equals(a.value.inputHash, assignments[0].value.inputHash)) {
      throw invalid(`wrong-result: assignments[${i}] has another input than assignments[0]`)
    }
  }
  if (used.size !== jobs.size) {
    throw invalid('wrong-result: jobs holds a job no assignment is for')
  }

  const agreed = receipts[1].value.resultHash
  for (let i = 2; i < receipts.length; i++) {
    if (!equals(receipts[i].value.resultHash, agreed)) {
      throw invalid(`wrong-result: receipts[${i}] does not agree with receipts[1]`)
    }
  }
  if (equals(receipts[0].value.resultHash, agreed)) {
    throw invalid('wrong-result: the offender\'s result is the same as the others\'')
  }
}

/**
 * Check evidence as a third party: the reporter's signature, the shape, every
 * record inside and every rule of its kind. Throws InvalidEvidenceError naming
 * the rule broken.
 */
export async function verifyEvidence (evidence: SignedRecord<Evidence> | Uint8Array, options: VerifyEvidenceOptions = {}): Promise<VerifiedEvidence> {
  options.signal?.throwIfAborted()
  let record: SignedRecord<Evidence>
  if (evidence instanceof Uint8Array) {
    record = await opened('evidence', async () => openRecord(EvidenceType, evidence, { signal: options.signal, now: options.now }))
  } else if (isVerified(evidence) && evidence.type === EvidenceType) {
    record = evidence
  } else if (evidence?.bytes instanceof Uint8Array) {
    // a record built elsewhere: trust only its bytes
    record = await opened('evidence', async () => openRecord(EvidenceType, evidence.bytes, { signal: options.signal, now: options.now }))
  } else {
    throw invalid('not an evidence record')
  }
  const value = record.value
  const reporter = record.signer
  const reporterBytes = reporter.toMultihash().bytes
  if (equals(value.offender, reporterBytes)) {
    throw invalid('the reporter names itself as the offender')
  }
  let offender: PeerId
  try {
    offender = peerIdFromBytes(value.offender, 'offender')
  } catch (err: unknown) {
    throw invalid(`offender is not a peer id (${errorMessage(err)})`)
  }

  const receipts: Array<SignedRecord<WorkReceipt>> = []
  for (const [i, bytes] of value.receipts.entries()) {
    receipts.push(await openReceipt(bytes, i, options))
  }

  let kind: VerifiedEvidence['kind']
  if (value.kind === EvidenceKind.EQUIVOCATION) {
    kind = 'equivocation'
    checkEquivocation(value, receipts)
  } else if (value.kind === EvidenceKind.WRONG_RESULT) {
    kind = 'wrong-result'
    await checkWrongResult(value, reporterBytes, receipts, options)
  } else {
    // the record type already refuses other kinds; kept so a new kind is never accepted unchecked
    throw invalid(`unknown kind ${String(value.kind)}`)
  }

  return { id: record.id, kind, offender, reporter, jobId: receipts[0].value.jobId, record }
}
