/**
 * Keys, announcements and stub state for the job board's tests.
 */

import { JobAnnouncementType, JobKind, JobWithdrawalType, signRecord } from '@shoal/records'
import { NOW, jobAnnouncement } from '@shoal/test-support'
import { jobTopic } from '../src/topics.js'
import type { ValidatorState } from '../src/validator.js'
import type { JobAnnouncement, JobWithdrawal, SignedRecord } from '@shoal/records'
import type { Party } from '@shoal/test-support'

/** The regional topic of the default announcement (region w21z, Singapore). */
export const W2_TOPIC = jobTopic(JobKind.GPU_INFERENCE, 'w2')

/** A valid announcement value by `p`, made at `now`. */
export function announcement (p: Party, overrides: Partial<JobAnnouncement> = {}, now = NOW): JobAnnouncement {
  return jobAnnouncement({ requester: p.id, ...overrides }, now)
}

export async function signedAnnouncement (p: Party, overrides: Partial<JobAnnouncement> = {}, now = NOW): Promise<SignedRecord<JobAnnouncement>> {
  return signRecord(JobAnnouncementType, announcement(p, overrides, now), p.key)
}

export async function signedWithdrawal (p: Party, jobId: Uint8Array, createdMs = NOW): Promise<SignedRecord<JobWithdrawal>> {
  return signRecord(JobWithdrawalType, { version: 1, jobId, requester: p.id, createdMs }, p.key)
}

/**
 * An in-memory validator state with a fixed clock: per requester, `tokens`
 * messages within the limit (Infinity: no limit), then `overdraft` more over
 * it (Infinity: never abusive), then abusive ones (not counted).
 */
export function stubState (init: { now?: number, tokens?: number, overdraft?: number } = {}): ValidatorState & {
  jobs: Map<string, { bytes: Uint8Array, requesterKey: string }>
  withdrawals: Map<string, { bytes: Uint8Array, requesterKey: string }>
  taken: Map<string, number>
} {
  const jobs = new Map<string, { bytes: Uint8Array, requesterKey: string }>()
  const withdrawals = new Map<string, { bytes: Uint8Array, requesterKey: string }>()
  const taken = new Map<string, number>()
  const tokens = init.tokens ?? Infinity
  const overdraft = init.overdraft ?? Infinity
  return {
    jobs,
    withdrawals,
    taken,
    now: () => init.now ?? NOW,
    clockSkewMs: 30_000,
    expiryGraceMs: 60_000,
    job: key => jobs.get(key),
    withdrawal: key => withdrawals.get(key),
    rateLimit: (key) => {
      const n = taken.get(key) ?? 0
      if (n >= tokens + overdraft) {
        return 'abusive'
      }
      taken.set(key, n + 1)
      return n < tokens ? 'within' : 'over'
    }
  }
}

/** Poll until `check` returns true (no fixed sleeps: the condition decides); kept in test-support. */
export { waitFor } from '@shoal/test-support'
