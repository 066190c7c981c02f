/** Signing a CaptureAttestation over chunked footage, by the peer and its device. */

import { createHash } from 'node:crypto'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { CaptureAttestationType, signBytes, signRecord } from '@shoal/records'
import { CHUNK_MS } from './constants.js'
import { chunkRoot, hashChunk } from './chunks.js'
import { deviceDigest } from './device.js'
import type { CaptureDevice } from './device.js'
import type { PrivateKey } from '@libp2p/interface'
import type { CaptureAttestation, SignedRecord } from '@shoal/records'

/** What an attestation says. */
export interface AttestInit {
  /** the footage, one chunk per second, in order (or give `chunkHashes` and `contentBytes`) */
  chunks?: Uint8Array[]
  /** SHA-256 of each chunk, when the chunks are not at hand */
  chunkHashes?: Uint8Array[]
  /** total bytes, with `chunkHashes` */
  contentBytes?: number
  /** SHA-256 of the whole footage, with `chunkHashes` */
  contentHash?: Uint8Array
  mediaType: string
  startedMs: number
  /** default: one second per chunk */
  durationMs?: number
  /** the claimed cell */
  geohash: string
  sensors: string[]
  jobId?: Uint8Array
  assignmentId?: Uint8Array
  /** the CID of the stored footage */
  contentCid?: string
}

/** SHA-256 of the chunks concatenated, without copying them into one buffer. */
function contentHashOf (chunks: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const chunk of chunks) {
    h.update(chunk)
  }
  const d = h.digest()
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}

/**
 * Sign an attestation with the peer's key, its device signature inside.
 * Throws a RecordError of @shoal/records for values its peers would refuse
 * (and a TypeError when neither the chunks nor their hashes, byte count
 * and content hash are given).
 */
export async function attestCapture (init: AttestInit, peerKey: PrivateKey, device: CaptureDevice): Promise<SignedRecord<CaptureAttestation>> {
  let chunkHashes: Uint8Array[]
  let contentBytes: number
  let contentHash: Uint8Array
  if (init.chunks != null) {
    chunkHashes = init.chunks.map(hashChunk)
    contentBytes = init.chunks.reduce((sum, c) => sum + c.byteLength, 0)
    contentHash = contentHashOf(init.chunks)
  } else if (init.chunkHashes != null && init.contentBytes != null && init.contentHash != null) {
    chunkHashes = init.chunkHashes
    contentBytes = init.contentBytes
    contentHash = init.contentHash
  } else {
    throw new TypeError('attestCapture needs the chunks, or their hashes with contentBytes and contentHash')
  }

  const value: CaptureAttestation = {
    version: 1,
    capturer: peerIdFromPrivateKey(peerKey).toMultihash().bytes,
    deviceKey: publicKeyToProtobuf(device.key.publicKey),
    deviceSignature: new Uint8Array(0),
    contentHash,
    contentBytes,
    mediaType: init.mediaType,
    startedMs: init.startedMs,
    durationMs: init.durationMs ?? chunkHashes.length * CHUNK_MS,
    geohash: init.geohash,
    sensors: init.sensors,
    jobId: init.jobId ?? new Uint8Array(0),
    chunkRoot: chunkRoot(chunkHashes),
    chunkCount: chunkHashes.length,
    contentCid: init.contentCid ?? '',
    assignmentId: init.assignmentId ?? new Uint8Array(0),
    deviceBinding: device.binding.bytes
  }
  value.deviceSignature = await signBytes(device.key, deviceDigest(value))
  return signRecord(CaptureAttestationType, value, peerKey)
}
