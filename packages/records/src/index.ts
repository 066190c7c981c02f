/**
 * @packageDocumentation
 *
 * Shoal's wire records: protobuf schemas, deterministic encoding, libp2p
 * signed envelopes with one signing domain per record type, size limits
 * checked before decoding, and typed errors. Every other Shoal package turns
 * untrusted bytes into values only through this one.
 *
 * @example
 *
 * ```ts
 * import { generateKeyPair } from '@libp2p/crypto/keys'
 * import { peerIdFromPrivateKey } from '@libp2p/peer-id'
 * import { JobAnnouncementType, JobKind, newRandomId, openRecord, signRecord } from '@shoal/records'
 *
 * const key = await generateKeyPair('Ed25519')
 * const now = Date.now()
 * const signed = await signRecord(JobAnnouncementType, {
 *   version: 1,
 *   jobId: newRandomId(),
 *   requester: peerIdFromPrivateKey(key).toMultihash().bytes,
 *   kind: JobKind.GPU_INFERENCE,
 *   requirements: { gpuModel: '', gpuClass: 'consumer-24g', minVramMib: 16384, gpuCount: 1, sensors: [], region: 'w21z', maxRttMs: 40 },
 *   priceCeiling: { perUnit: 20, currency: 'USDC', unit: 'gpu-second' },
 *   budget: 10_000,
 *   deadlineMs: now + 60_000,
 *   createdMs: now,
 *   expiresMs: now + 60_000,
 *   description: 'run a 7B model near Singapore',
 *   inputHash: new Uint8Array(),
 *   inputBytes: 0,
 *   workload: 'llama-7b'
 * }, key)
 *
 * // on another peer: throws a named RecordError for anything wrong
 * const opened = await openRecord(JobAnnouncementType, signed.bytes)
 * ```
 */

import { randomBytes } from 'node:crypto'
import { RANDOM_ID_LENGTH } from './constants.js'

export * from './constants.js'
export * from './errors.js'
export * from './pb/records.js'
export * from './types.js'
export * from './record.js'
export * from './geo.js'
export * from './coordinate.js'
export * from './match.js'
export { peerIdFromBytes } from './validate.js'
export { decodeEnvelope, recordId, signingPayload, verifyBytes, signBytes } from './envelope.js'
export type { OpenedEnvelope } from './envelope.js'

/** A fresh random id of RANDOM_ID_LENGTH bytes (job ids, lanes, nonces). */
export function newRandomId (): Uint8Array {
  return new Uint8Array(randomBytes(RANDOM_ID_LENGTH))
}
