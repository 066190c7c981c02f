/**
 * Capture jobs on a full node (`@shoal/provenance`):
 *
 * - the capture provider's executor: a CAPTURE job's input is the JSON
 *   `{"seconds": N}`; it records N seconds from the configured source with
 *   witnesses and returns the CaptureProof as the job's output, charging
 *   the seconds its own verdict verified;
 * - the requester's check: before countersigning, the CaptureProof is
 *   verified (footage fetched over bitswap) against the job, the assignment
 *   and the provider; a proof that is refused, or a receipt charging more
 *   seconds than were verified, is rejected (never countersigned or paid);
 * - the proofs a node made or accepted, kept in its datastore by footage CID
 *   (`/shoal/captures/<cid>`) for `shoal capture verify CID` and export.
 */

import { ExecutorError, ResultRejectedError } from '@shoal/work'
import { errorMessage, toHex } from '@shoal/utils'
import { Key } from 'interface-datastore'
import { CAPTURE_MAX_SECONDS, CAPTURES_PREFIX } from './constants.js'
import type { CaptureApi } from './api.js'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { CaptureRefusal, CaptureSource, CaptureVerdict, Provenance } from '@shoal/provenance'
import type { CheckedResult, Executor, ExecuteOptions } from '@shoal/work'
import type { Datastore } from 'interface-datastore'

/** What a capture job asks for: its input, as JSON. */
export interface CaptureRequest {
  /** seconds of footage to record (1 … the provider's `maxSeconds`) */
  seconds: number
}

/** Read a capture job's input (`{"seconds": N}`); throws `ExecutorError` saying what is wrong. */
export function parseCaptureRequest (input: Uint8Array, maxSeconds = CAPTURE_MAX_SECONDS): CaptureRequest {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(input))
  } catch {
    throw new ExecutorError('a capture job\'s input is the JSON {"seconds": N}')
  }
  const seconds = (value as { seconds?: unknown } | null)?.seconds
  if (typeof seconds !== 'number' || !Number.isSafeInteger(seconds) || seconds < 1) {
    throw new ExecutorError('a capture job\'s input is the JSON {"seconds": N} with N a whole number of seconds, at least 1')
  }
  if (seconds > maxSeconds) {
    throw new ExecutorError(`this provider records at most ${maxSeconds} seconds per capture, ${seconds} asked`)
  }
  return { seconds }
}

/** The key a CaptureProof is kept under: `/shoal/captures/<cid>`. */
export function captureKey (cid: string): Key {
  return new Key(`${CAPTURES_PREFIX}/${cid}`)
}

/** Keep a CaptureProof by its footage's CID. */
export async function saveCaptureProof (datastore: Datastore, cid: string, proof: Uint8Array, options?: AbortOptions): Promise<void> {
  await datastore.put(captureKey(cid), proof, options)
}

/** The CaptureProof kept for footage `cid`, if this node holds one. */
export async function loadCaptureProof (datastore: Datastore, cid: string, options?: AbortOptions): Promise<Uint8Array | undefined> {
  try {
    return await datastore.get(captureKey(cid), options)
  } catch (err: unknown) {
    if ((err as { name?: string } | null)?.name === 'NotFoundError') return undefined
    throw err
  }
}

/** Whether a string can be a footage CID (what a datastore key may hold): base32/base58 characters only. */
export function isCidString (value: string): boolean {
  return /^[a-zA-Z0-9]{8,128}$/.test(value)
}

/** Options of {@link captureExecutor}. */
export interface CaptureExecutorInit {
  /** the node's provenance service (read when a job runs: it is built after the work service) */
  provenance: () => Provenance | undefined
  /** where the footage comes from */
  source: CaptureSource
  /** longest capture, seconds @default 600 */
  maxSeconds?: number
  /** witnesses asked per capture @default the service's */
  witnesses?: number
  /** where the proofs are kept (by footage CID) */
  datastore?: () => Datastore | undefined
  /** each capture made, for the operator log */
  onCapture?(capture: { jobId: string, cid: string, verdict: CaptureVerdict }): void
}

/** The capture provider's executor: records with witnesses and returns the CaptureProof, charging its verified seconds. */
export function captureExecutor (init: CaptureExecutorInit): Executor {
  return {
    async run (input: Uint8Array, options: ExecuteOptions) {
      const { seconds } = parseCaptureRequest(input, init.maxSeconds)
      const service = init.provenance()
      if (service === undefined) throw new ExecutorError('this node runs no provenance service (shoalServices({ provenance: false }))')
      // the assignment's id is what the attestation binds the footage to: a proof cannot answer another assignment
      let capture
      try {
        capture = await service.capture(init.source, {
          durationMs: seconds * 1000,
          jobId: options.job?.jobId ?? options.quote.jobId,
          assignmentId: options.assignmentId,
          k: init.witnesses,
          signal: options.signal
        })
      } catch (err: unknown) {
        if (options.signal.aborted) throw err
        throw new ExecutorError(`capture failed: ${errorMessage(err)}`, { cause: err })
      }
      const datastore = init.datastore?.()
      if (datastore !== undefined) await saveCaptureProof(datastore, capture.cid, capture.proof)
      init.onCapture?.({ jobId: toHex(options.quote.jobId), cid: capture.cid, verdict: capture.verdict })
      // an honest provider charges what its own verdict verified, not what it recorded
      return { output: capture.proof, units: capture.verdict.verifiedSeconds, status: 0 }
    }
  }
}

/** What the requester knows of a capture job beyond the run. */
export interface CaptureCheckInit {
  /** the requester's provenance service */
  provenance: Provenance
  /** the job's region (a geohash prefix; '' = anywhere) */
  region?: string
  /** the job's sensors */
  sensors?: string[]
  /** keep accepted proofs here by footage CID */
  datastore?: Datastore
  /** every verdict reached, accepted or not (the job's status in the API) */
  onVerdict?(verdict: CaptureVerdict, provider: PeerId): void
  /** the clock @default Date.now */
  now?: () => number
}

/**
 * A `checkResult` for capture jobs: the output must be a CaptureProof that
 * verifies for this job, assignment and provider, and the receipt may
 * charge no more seconds than were verified. Anything else is a
 * `ResultRejectedError`: never countersigned, never paid.
 */
export function captureCheck (init: CaptureCheckInit): (run: CheckedResult, options: AbortOptions) => Promise<void> {
  const now = init.now ?? Date.now
  return async (run, options) => {
    const receipt = run.receipt.value
    const verdict = await init.provenance.verify(run.output, {
      capturer: run.provider,
      jobId: receipt.jobId,
      assignmentId: run.assignment.id,
      assignedMs: run.assignment.value.createdMs,
      resultMs: now(),
      region: init.region !== '' ? init.region : undefined,
      sensors: init.sensors,
      remember: true,
      // footage of more seconds than the job pays for is not fetched
      maxSeconds: run.assignment.value.maxUnits > 0 ? run.assignment.value.maxUnits : undefined,
      signal: options.signal
    })
    init.onVerdict?.(verdict, run.provider)
    if (!verdict.ok) {
      throw new ResultRejectedError(`capture refused: ${receipt.units} second(s) claimed, ${verdict.verifiedSeconds} verified (${describeReasons(verdict.reasons)})`)
    }
    if (receipt.units > verdict.verifiedSeconds) {
      throw new ResultRejectedError(`the receipt charges ${receipt.units} second(s) but ${verdict.verifiedSeconds} of ${verdict.claimedSeconds} verified${verdict.reasons.length > 0 ? ` (${describeReasons(verdict.reasons)})` : ''}`)
    }
    const cid = verdict.attestation?.value.contentCid
    if (init.datastore !== undefined && cid !== undefined && cid !== '') await saveCaptureProof(init.datastore, cid, run.output, options)
  }
}

/** Reasons in one line: `code: explain; ...` (the first few). */
export function describeReasons (reasons: CaptureRefusal[], max = 4): string {
  if (reasons.length === 0) return 'no reason given'
  const shown = reasons.slice(0, max).map(r => `${r.code}${r.witness !== undefined ? ` [${r.witness}]` : ''}${r.chunk !== undefined ? ` [chunk ${r.chunk}]` : ''}: ${r.explain}`)
  return shown.join('; ') + (reasons.length > max ? `; and ${reasons.length - max} more` : '')
}

/** A verdict as the API and `shoal capture verify --json` show it. */
export interface CaptureVerdictJson extends Omit<CaptureVerdict, 'attestation' | 'accepted'> {
  /** the footage's CID, when the attestation opened */
  cid?: string
  /** the capturer's peer id */
  capturer?: string
  /** hex */
  jobId?: string
  mediaType?: string
  geohash?: string
  startedMs?: number
  durationMs?: number
  sensors?: string[]
}

/** A verdict as JSON (the attestation's facts flattened, no record objects). */
export function verdictToJson (verdict: CaptureVerdict): CaptureVerdictJson {
  const json: CaptureVerdictJson = {
    ok: verdict.ok,
    claimedSeconds: verdict.claimedSeconds,
    verifiedSeconds: verdict.verifiedSeconds,
    verifiedChunks: verdict.verifiedChunks,
    reasons: verdict.reasons,
    witnesses: verdict.witnesses
  }
  const attestation = verdict.attestation
  if (attestation !== undefined) {
    const a = attestation.value
    Object.assign(json, {
      cid: a.contentCid,
      capturer: attestation.signer.toString(),
      jobId: toHex(a.jobId),
      mediaType: a.mediaType,
      geohash: a.geohash,
      startedMs: a.startedMs,
      durationMs: a.durationMs,
      sensors: a.sensors
    })
  }
  return json
}

/** The capture routes of a node's API: verify a held proof by CID (footage fetched over bitswap), verify given bytes, export. */
export function createCaptureApi (provenance: Provenance, datastore: Datastore | undefined): CaptureApi {
  return {
    async verifyCid (cid, signal) {
      const proof = datastore !== undefined ? await loadCaptureProof(datastore, cid, { signal }) : undefined
      if (proof === undefined) return undefined
      return verdictToJson(await provenance.verify(proof, { signal }))
    },
    async verifyProof (proof, signal) {
      return verdictToJson(await provenance.verify(proof, { signal }))
    },
    async proof (cid) {
      return datastore !== undefined ? loadCaptureProof(datastore, cid) : undefined
    }
  }
}
