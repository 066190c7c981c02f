/**
 * @packageDocumentation
 *
 * `@shoal/provenance`: proof of recording for Shoal's data-capture bounties.
 *
 * - **Attest**: a capture device with its own key (bound to the peer key by
 *   a `DeviceBinding`) cuts footage into one-second chunks; the
 *   `CaptureAttestation` signs their Merkle root, the content hash, media
 *   type, byte count, start, duration, place and sensors. Footage is stored
 *   as a UnixFS directory with Helia, so its CID can be fetched over bitswap
 *   and checked by any IPFS tool.
 * - **Witness**: `/shoal/witness/1.0.0`: k nearby peers measure the RTT to
 *   the capturer while it records and sign a `WitnessStatement` only if the
 *   claimed cell is physically possible from where they are; each witness
 *   is paid by a receipt of its own.
 * - **Verify**: `verifyCapture` is pure and gives every reason it refuses.
 * - **Pay per verified second**: the verdict's `verifiedSeconds` is what a
 *   capture job's receipt may charge.
 *
 * ```ts
 * import { provenance } from '@shoal/provenance'
 * const node = await createLibp2p({ ..., services: { provenance: provenance({ geohash: 'w21z6' }) } })
 * ```
 */

export * from './constants.js'
export * from './errors.js'
export { checkWitnessRtt } from './plausibility.js'
export type { RttCheck, RttPlausibilityInit, RttRefusalCode } from './plausibility.js'
export { hashChunk, chunkRoot, chunkInclusionPath, verifyChunkInclusion } from './chunks.js'
export { MEDIA_RATES, SENSOR_MEDIA_TYPES, mediaRate, bytesFitDuration, sensorMediaMismatch } from './media.js'
export type { MediaRate } from './media.js'
export { createDevice, verifyDeviceBinding, deviceDigest } from './device.js'
export type { CaptureDevice, CreateDeviceOptions } from './device.js'
export { attestCapture } from './attest.js'
export type { AttestInit } from './attest.js'
export { encodeCaptureProof, decodeCaptureProof } from './proof.js'
export type { CaptureProofParts } from './proof.js'
export { verifyCapture, verifyCaptureProof } from './verify.js'
export type { CaptureVerdict, CaptureRefusal, CaptureRefusalCode, WitnessVerdict, VerifyContext, CaptureFootage } from './verify.js'
export { ReplayIndex } from './replay.js'
export type { ReplayIndexInit, ReplayHit } from './replay.js'
export { createFootageStore, entryChunkHash, chunkName, DEFAULT_MAX_FOOTAGE_BYTES, DEFAULT_CHUNK_TIMEOUT_MS, DEFAULT_LIST_TIMEOUT_MS } from './footage.js'
export type { FootageEntry, FootageGetOptions, FootageStore, FootageStoreInit } from './footage.js'
export { syntheticSource } from './source.js'
export type { CaptureSource, SyntheticSourceInit } from './source.js'
export { provenance, DefaultProvenance, DEVICE_KEY, DEFAULT_CAPTURE_WITNESSES, fitProof } from './service.js'
export {
  WitnessHandler, WitnessSession, openWitnessSession, decodeWitnessMessage, encodeWitnessMessage, priceAcceptable,
  DEFAULT_WITNESS_CLOCK_SKEW_MS, DEFAULT_WITNESS_MAX_CONCURRENT, DEFAULT_WITNESS_MAX_DURATION_MS, WITNESS_STEP_TIMEOUT_MS, WITNESS_OPEN_TIMEOUT_MS, ECHO_NONCE_LENGTH
} from './witness.js'
export type { WitnessHandlerInit, WitnessMessageKind, WitnessReceipts, WitnessResult, WitnessSessionInit } from './witness.js'
export type {
  Provenance, ProvenanceInit, ProvenanceComponents, ProvenanceEvents, WitnessInit, CaptureOptions, Capture, VerifyCaptureOptions
} from './service.js'
