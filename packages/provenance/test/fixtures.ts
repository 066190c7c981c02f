/** Honest captures with real keys and signatures, for the verification tests to break one rule at a time. */

import { WitnessStatementType, WorkReceiptType, countersign, newRandomId, signRecord } from '@shoal/records'
import { party } from '@shoal/test-support'
import { attestCapture, createDevice, syntheticSource } from '../src/index.js'
import type { AttestInit, CaptureDevice, VerifyContext } from '../src/index.js'
import type { CaptureAttestation, SignedRecord, WitnessStatement } from '@shoal/records'
import type { Party } from '@shoal/test-support'

export const T0 = 1_700_000_000_000
export const HOUR = 3_600_000
export const CELL = 'w21z6'
export const WITNESS_CELLS = ['w21z7', 'w21z3', 'w21zd']

export async function collect (source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const c of source) {
    out.push(c)
  }
  return out
}

export interface Honest {
  capturer: Party
  device: CaptureDevice
  chunks: Uint8Array[]
  attestation: SignedRecord<CaptureAttestation>
  witnesses: Party[]
  statements: Array<SignedRecord<WitnessStatement>>
  history: Uint8Array[]
  context: VerifyContext
}

/** A countersigned receipt between `a` (provider) and `b`, ended at `endedMs`. */
export async function receipt (a: Party, b: Party, endedMs: number): Promise<Uint8Array> {
  const signed = await signRecord(WorkReceiptType, {
    version: 1,
    jobId: newRandomId(),
    assignmentId: new Uint8Array(32).fill(9),
    requester: b.id,
    provider: a.id,
    units: 1,
    price: { perUnit: 1, currency: 'USDC', unit: 'witness' },
    total: 1,
    resultHash: new Uint8Array(32).fill(1),
    startedMs: endedMs - 1000,
    endedMs,
    status: 0,
    prev: new Uint8Array()
  }, a.key)
  return (await countersign(signed, b.key)).bytes
}

/** A witness statement of `witness` about `attestation`, watching the whole recording unless overridden. */
export async function statement (witness: Party, attestation: SignedRecord<CaptureAttestation>, over: Partial<WitnessStatement> = {}): Promise<SignedRecord<WitnessStatement>> {
  const a = attestation.value
  return signRecord(WitnessStatementType, {
    version: 1,
    witness: witness.id,
    attestationId: attestation.id,
    capturer: a.capturer,
    rttMs: 3,
    geohash: WITNESS_CELLS[0],
    createdMs: a.startedMs + a.durationMs + 200,
    rounds: 5,
    windowStartMs: a.startedMs - 100,
    windowEndMs: a.startedMs + a.durationMs + 100,
    observedAddr: new Uint8Array(),
    ...over
  }, witness.key)
}

/** An honest capture of `seconds` seconds with `k` witnesses, each with an independent receipt two hours old. */
export async function honestCapture (seconds = 5, k = 2, over: Partial<AttestInit> = {}): Promise<Honest> {
  const capturer = await party()
  const device = await createDevice(capturer.key, { createdMs: T0 - HOUR })
  const chunks = await collect(syntheticSource({ realTime: false, seed: 42, bytesPerSecond: 8192 }).record(seconds * 1000, {}))
  const attestation = await attestCapture({ chunks, mediaType: 'video/mp4', startedMs: T0, geohash: CELL, sensors: ['video', 'gps'], ...over }, capturer.key, device)
  const witnesses: Party[] = []
  const statements: Array<SignedRecord<WitnessStatement>> = []
  const history: Uint8Array[] = []
  for (let i = 0; i < k; i++) {
    const w = await party()
    witnesses.push(w)
    statements.push(await statement(w, attestation, { geohash: WITNESS_CELLS[i % WITNESS_CELLS.length] }))
    history.push(await receipt(w, await party(), T0 - 2 * HOUR))
  }
  return { capturer, device, chunks, attestation, witnesses, statements, history, context: { now: T0 + HOUR, history, clockSkewMs: 1000 } }
}
