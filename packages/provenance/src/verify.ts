/**
 * `verifyCapture`: the pure check of a capture (no network, no store; what
 * the verifier knows comes in `context`). It returns a verdict with every
 * reason it refuses; nothing throws for bad input.
 *
 * Capture-level refusals (`fatal`) verify no second at all; per-chunk ones
 * take that chunk's second out; per-witness ones take that witness out
 * (and with too few witnesses left, the capture is refused).
 */

import type { MediaRate } from './media.js'
import type { RttPlausibilityInit } from './plausibility.js'
import type { ReplayHit } from './replay.js'
import type { PeerId } from '@libp2p/interface'
import type { CaptureAttestation, SignedRecord, WitnessStatement } from '@shoal/records'

/** Every reason a capture, a chunk or a witness is refused. */
export type CaptureRefusalCode =
  // the attestation itself
  | 'attestation-invalid' // does not open (shape, signature, size)
  | 'device-binding-invalid' // no binding, or one that does not open or binds another peer or key
  | 'device-signature-invalid' // the device key did not sign this attestation
  | 'wrong-capturer' // attested by another peer than the one expected
  | 'wrong-job' // for another bounty
  | 'wrong-assignment' // for another assignment
  | 'outside-region' // the claimed cell is outside the bounty's region
  | 'missing-sensor' // a sensor the bounty asks for is not attested
  | 'starts-before-assignment' // recording started before the assignment (less the clock skew)
  | 'ends-after-result' // recording ended after the result arrived (plus the clock skew)
  | 'duration-mismatch' // the chunk count is not one per second of the duration
  | 'bytes-implausible' // the bytes do not fit the duration for the media type
  | 'replay' // footage already attested for another bounty
  // the footage, when given
  | 'content-mismatch' // the footage does not hash to the content hash, or has another byte count
  | 'chunk-root-mismatch' // the chunks do not hash to the attested root
  | 'chunk-missing' // a chunk is absent
  | 'chunk-implausible' // one chunk's bytes do not fit a second of the media type
  // the witnesses
  | 'witness-invalid' // does not open
  | 'witness-other-capture' // about another attestation or capturer
  | 'witness-self' // signed by the capturer
  | 'witness-duplicate' // the same witness twice
  | 'witness-window' // did not watch while the capture was recorded
  | 'witness-rtt-below-floor'
  | 'witness-rtt-above-ceiling'
  | 'witness-too-far'
  | 'witness-cell-invalid'
  | 'witness-sybil-address' // shares a public address with the capturer
  | 'witness-no-history' // no receipts history independent of the capturer
  | 'witness-too-new' // its history starts just before the capture
  | 'too-few-witnesses' // fewer distinct accepted witnesses than required

/** One reason. */
export interface CaptureRefusal {
  code: CaptureRefusalCode
  explain: string
  /** whether it refuses the whole capture */
  fatal: boolean
  /** the witness it is about (peer id string) */
  witness?: string
  /** the chunk it is about */
  chunk?: number
}

/** What was decided about one witness statement. */
export interface WitnessVerdict {
  /** peer id string ('' when the statement did not open) */
  witness: string
  accepted: boolean
  rttMs?: number
  floorMs?: number
  ceilingMs?: number
  geohash?: string
  /** the first reason it was refused */
  code?: CaptureRefusalCode
}

/** The verdict on a capture. */
export interface CaptureVerdict {
  /** at least one verified second, and no fatal refusal */
  ok: boolean
  /** seconds the attestation claims (its duration, rounded up) */
  claimedSeconds: number
  /** seconds verified: what a receipt may charge */
  verifiedSeconds: number
  /** indices of the verified chunks */
  verifiedChunks: number[]
  /** every refusal, fatal ones first */
  reasons: CaptureRefusal[]
  witnesses: WitnessVerdict[]
  /** the opened attestation, when it opened */
  attestation?: SignedRecord<CaptureAttestation>
  /** the opened statements that were accepted */
  accepted: Array<SignedRecord<WitnessStatement>>
}

/** Footage to check against the attestation: its chunks in order (a missing chunk is `undefined`). */
export interface CaptureFootage {
  chunks: Array<Uint8Array | undefined>
}

/** What the verifier knows. Every field is optional; a rule without its facts is skipped (and says so nowhere: pass the facts). */
export interface VerifyContext {
  /** the clock (default Date.now) */
  now?: number
  /** @default CLOCK_SKEW_MS of @shoal/records */
  clockSkewMs?: number
  /** the capturer expected (the receipt's provider) */
  capturer?: PeerId
  /** the bounty */
  jobId?: Uint8Array
  /** the assignment (its record id) */
  assignmentId?: Uint8Array
  /** when the assignment was made (its createdMs): recording may not start before */
  assignedMs?: number
  /** when the result arrived: recording may not end after */
  resultMs?: number
  /** the bounty's region (a geohash prefix) */
  region?: string
  /** the bounty's sensors */
  sensors?: string[]
  /** @default DEFAULT_MIN_WITNESSES (2) */
  minWitnesses?: number
  /** the witness RTT thresholds */
  rtt?: RttPlausibilityInit
  /** @default DEFAULT_MIN_WITNESS_COUNTERPARTIES (1) */
  minWitnessCounterparties?: number
  /** @default DEFAULT_MIN_WITNESS_AGE_MS (1 h) */
  minWitnessAgeMs?: number
  /** countersigned WorkReceipts presented as the witnesses' history (CaptureProof.history) */
  history?: Uint8Array[]
  /**
   * The verifier's own view of a witness: distinct counterparties of the
   * receipts it holds with `peer`, not counting those in `exclude`. Added
   * to what `history` shows.
   */
  standing?(peer: PeerId, exclude: PeerId[]): number
  /** hosts (IP addresses) the verifier knows for a peer: a witness sharing a public one with the capturer is its sybil */
  addresses?(peer: PeerId): string[]
  /** the replay index: an earlier capture holding a hash (hex) */
  seen?(hashHex: string): ReplayHit | undefined
  /** bounds per media type (default MEDIA_RATES) */
  mediaRates?: Readonly<Record<string, MediaRate>>
}

/**
 * Verify a capture: its attestation, its witnesses' statements, and its
 * footage when given. Pure; never throws for bad input.
 */
export async function verifyCapture (
  attestation: Uint8Array | SignedRecord<CaptureAttestation>,
  witnesses: Array<Uint8Array | SignedRecord<WitnessStatement>>,
  footage: CaptureFootage | undefined,
  context: VerifyContext = {}
): Promise<CaptureVerdict> {
  throw new Error('not implemented')
}

/** {@link verifyCapture} of a CaptureProof's bytes (its history added to the context's). */
export async function verifyCaptureProof (proof: Uint8Array, footage: CaptureFootage | undefined, context: VerifyContext = {}): Promise<CaptureVerdict> {
  throw new Error('not implemented')
}
