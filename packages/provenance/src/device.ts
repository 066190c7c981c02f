/**
 * The capture device's own key, bound to a peer by a DeviceBinding: signed
 * by the peer's key, and by the device key over
 * "shoal:device-binding:v1" || peer || created_ms (8 bytes big-endian), so
 * neither can claim the other alone (docs/spec.md §6.2).
 */

import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { CaptureAttestation, DeviceBinding, SignedRecord } from '@shoal/records'

/** A capture device: its key and its binding to this peer. */
export interface CaptureDevice {
  key: PrivateKey
  binding: SignedRecord<DeviceBinding>
}

/** Options of {@link createDevice}. */
export interface CreateDeviceOptions {
  /** the device's key (a new Ed25519 key when absent) */
  key?: PrivateKey
  /** the device's model, e.g. "dashcam-x2" */
  model?: string
  /** the binding's creation time (default Date.now()) */
  createdMs?: number
}

/** Bind a device key (new or given) to the peer of `peerKey`. */
export async function createDevice (peerKey: PrivateKey, options: CreateDeviceOptions = {}): Promise<CaptureDevice> {
  throw new Error('not implemented')
}

/**
 * Open a DeviceBinding envelope and check both signatures and that it binds
 * `capturer`; throws a RecordError subclass of @shoal/records otherwise.
 */
export async function verifyDeviceBinding (bytes: Uint8Array, capturer: PeerId): Promise<SignedRecord<DeviceBinding>> {
  throw new Error('not implemented')
}

/**
 * What the device key signs for an attestation: "shoal:capture-device:v1"
 * followed by the SHA-256 of the attestation encoded with an empty
 * device_signature.
 */
export function deviceDigest (attestation: CaptureAttestation): Uint8Array {
  throw new Error('not implemented')
}
