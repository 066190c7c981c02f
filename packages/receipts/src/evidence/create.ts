/**
 * Making evidence: the reporter signs the records that prove the offence.
 * Each function checks its result as a receiver would, so a node never
 * gossips evidence its peers would reject.
 */

import { EvidenceKind, EvidenceType, RECORD_VERSION, signRecord } from '@shoal/records'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { verifyEvidence } from './verify.js'
import type { PrivateKey } from '@libp2p/interface'
import type { Assignment, Evidence, JobAnnouncement, SignedRecord, WorkReceipt } from '@shoal/records'

/** One provider's run of a job: its receipt and the assignment it settles. */
export interface WorkRun {
  receipt: SignedRecord<WorkReceipt>
  assignment: SignedRecord<Assignment>
}

/** A result that disagrees with those of other providers given the same job. */
export interface WrongResultProof {
  /** the run whose result is wrong */
  offender: WorkRun
  /** runs of other providers that agree with each other */
  agreeing: WorkRun[]
  /** the signed jobs the assignments are for */
  jobs: Array<SignedRecord<JobAnnouncement>>
}

async function signChecked (value: Evidence, key: PrivateKey): Promise<SignedRecord<Evidence>> {
  const record = await signRecord(EvidenceType, value, key)
  await verifyEvidence(record)
  return record
}

/** Sign evidence that one provider signed two different receipts for one assignment. */
export async function createEquivocationEvidence (first: SignedRecord<WorkReceipt>, second: SignedRecord<WorkReceipt>, key: PrivateKey): Promise<SignedRecord<Evidence>> {
  return signChecked({
    version: RECORD_VERSION,
    kind: EvidenceKind.EQUIVOCATION,
    offender: first.value.provider,
    receipts: [first.bytes, second.bytes],
    assignments: [],
    jobs: [],
    createdMs: Date.now()
  }, key)
}

/** Sign evidence that a provider's result disagrees with the agreeing results of others; `key` is the requester's. */
export async function createWrongResultEvidence (proof: WrongResultProof, key: PrivateKey): Promise<SignedRecord<Evidence>> {
  const runs = [proof.offender, ...proof.agreeing]
  // only the jobs the runs are for, each once
  const wanted = new Set(runs.map(r => uint8ArrayToString(r.assignment.value.jobId, 'base16')))
  const jobs = new Map<string, Uint8Array>()
  for (const job of proof.jobs) {
    const id = uint8ArrayToString(job.value.jobId, 'base16')
    if (wanted.has(id) && !jobs.has(id)) {
      jobs.set(id, job.bytes)
    }
  }
  return signChecked({
    version: RECORD_VERSION,
    kind: EvidenceKind.WRONG_RESULT,
    offender: proof.offender.receipt.value.provider,
    receipts: runs.map(r => r.receipt.bytes),
    assignments: runs.map(r => r.assignment.bytes),
    jobs: [...jobs.values()],
    createdMs: Date.now()
  }, key)
}
