/** Signing a CaptureAttestation over chunked footage, by the peer and its device. */

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

/** Sign an attestation with the peer's key, its device signature inside. */
export async function attestCapture (init: AttestInit, peerKey: PrivateKey, device: CaptureDevice): Promise<SignedRecord<CaptureAttestation>> {
  throw new Error('not implemented')
}
