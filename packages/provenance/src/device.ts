/**
 * The capture device's own key, bound to a peer by a DeviceBinding: signed
 * by the peer's key, and by the device key over
 * "shoal:device-binding:v1" || peer || created_ms (8 bytes big-endian), so
 * neither can claim the other alone (docs/spec.md §7.2).
 */

import { generateKeyPair, publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  CAPTURE_DEVICE_DOMAIN, CaptureAttestationType, DOMAIN, DeviceBindingType, InvalidFieldError, InvalidSignatureError,
  WrongSignerError, encodeRecord, openRecord, signBytes, signRecord, verifyBytes
} from '@shoal/records'
import { equalBytes, errorMessage, sha256 } from '@shoal/utils'
import type { PeerId, PrivateKey, PublicKey } from '@libp2p/interface'
import type { CaptureAttestation, DeviceBinding, OpenOptions, SignedRecord } from '@shoal/records'

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

const textEncoder = new TextEncoder()
const BINDING_DOMAIN = textEncoder.encode(DOMAIN.DeviceBinding)
const DEVICE_DOMAIN = textEncoder.encode(CAPTURE_DEVICE_DOMAIN)

/** What the device key signs to bind itself: "shoal:device-binding:v1" || peer || created_ms (8 bytes, big-endian). */
function bindingPayload (peer: Uint8Array, createdMs: number): Uint8Array {
  const out = new Uint8Array(BINDING_DOMAIN.byteLength + peer.byteLength + 8)
  out.set(BINDING_DOMAIN, 0)
  out.set(peer, BINDING_DOMAIN.byteLength)
  new DataView(out.buffer).setBigUint64(BINDING_DOMAIN.byteLength + peer.byteLength, BigInt(createdMs))
  return out
}

/** Bind a device key (new or given) to the peer of `peerKey`. */
export async function createDevice (peerKey: PrivateKey, options: CreateDeviceOptions = {}): Promise<CaptureDevice> {
  const key = options.key ?? await generateKeyPair('Ed25519')
  const peer = peerIdFromPrivateKey(peerKey).toMultihash().bytes
  const createdMs = options.createdMs ?? Date.now()
  const binding = await signRecord(DeviceBindingType, {
    version: 1,
    peer,
    deviceKey: publicKeyToProtobuf(key.publicKey),
    deviceSignature: await signBytes(key, bindingPayload(peer, createdMs)),
    model: options.model ?? '',
    createdMs
  }, peerKey)
  return { key, binding }
}

/** Decode a protobuf-encoded device key as a RecordError (field `field`) when it is not one. */
export function decodeDeviceKey (bytes: Uint8Array, field = 'deviceKey'): PublicKey {
  try {
    return publicKeyFromProtobuf(bytes)
  } catch (err: unknown) {
    throw new InvalidFieldError(field, `not a public key: ${errorMessage(err)}`)
  }
}

/**
 * Open a DeviceBinding envelope and check both signatures and that it binds
 * `capturer`; throws a RecordError subclass of @shoal/records otherwise.
 * `options` are those of `openRecord` (a binding never expires; one made
 * in the future is refused unless `ignoreTime`).
 */
export async function verifyDeviceBinding (bytes: Uint8Array, capturer: PeerId, options: OpenOptions = {}): Promise<SignedRecord<DeviceBinding>> {
  const binding = await openRecord(DeviceBindingType, bytes, options)
  if (!equalBytes(binding.value.peer, capturer.toMultihash().bytes)) {
    throw new WrongSignerError(`DeviceBinding binds ${binding.signer.toString()}, not ${capturer.toString()}`)
  }
  const deviceKey = decodeDeviceKey(binding.value.deviceKey)
  const valid = await verifyBytes(deviceKey, bindingPayload(binding.value.peer, binding.value.createdMs), binding.value.deviceSignature)
  if (!valid) {
    throw new InvalidSignatureError('The device key did not sign this binding')
  }
  return binding
}

/**
 * What the device key signs for an attestation: "shoal:capture-device:v1"
 * followed by the SHA-256 of the attestation encoded with an empty
 * device_signature.
 */
export function deviceDigest (attestation: CaptureAttestation): Uint8Array {
  const digest = sha256(encodeRecord(CaptureAttestationType, { ...attestation, deviceSignature: new Uint8Array(0) }))
  const out = new Uint8Array(DEVICE_DOMAIN.byteLength + digest.byteLength)
  out.set(DEVICE_DOMAIN, 0)
  out.set(digest, DEVICE_DOMAIN.byteLength)
  return out
}
