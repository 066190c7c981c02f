/**
 * Signed records as docs/spec.md §1 describes them: RFC 0002 envelopes in
 * canonical form, the record types' domains and payload types, record ids,
 * and §1.3 countersignatures. Envelopes are sealed and their signatures
 * checked by the stock `@libp2p/peer-record` (the spec says Shoal's are
 * exactly its envelopes; the vectors test holds it to that); the canonical
 * form and the countersignature, which it does not cover, are checked here.
 * Keys and peer ids come from `@libp2p/crypto` and `@libp2p/peer-id`.
 */

import { createHash } from 'node:crypto'
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { equals } from 'uint8arrays/equals'
import { codecOf, concat, encodeVarint, readFields, readVarint } from './protobuf.js'
import type { PeerId, PrivateKey, PublicKey } from '@libp2p/interface'

/** A record type of §1.2. */
export interface RecordKind {
  domain: string
  /** multicodec of the payload type */
  code: number
  /** most envelope bytes */
  maxSize: number
}

/** The §1.2 table. */
export const RECORD = {
  JobAnnouncement: { domain: 'shoal:job-announcement:v1', code: 0x300101, maxSize: 2048 },
  JobWithdrawal: { domain: 'shoal:job-withdrawal:v1', code: 0x300102, maxSize: 512 },
  CapabilityRecord: { domain: 'shoal:capability:v1', code: 0x300201, maxSize: 8192 },
  Quote: { domain: 'shoal:quote:v1', code: 0x300301, maxSize: 1024 },
  Assignment: { domain: 'shoal:assignment:v1', code: 0x300302, maxSize: 2048 },
  WorkReceipt: { domain: 'shoal:work-receipt:v1', code: 0x300303, maxSize: 1024 },
  CaptureAttestation: { domain: 'shoal:capture-attestation:v1', code: 0x300401, maxSize: 4096 },
  WitnessStatement: { domain: 'shoal:witness-statement:v1', code: 0x300402, maxSize: 1024 },
  DeviceBinding: { domain: 'shoal:device-binding:v1', code: 0x300403, maxSize: 1024 },
  PaymentVoucher: { domain: 'shoal:payment-voucher:v1', code: 0x300501, maxSize: 1024 },
  Evidence: { domain: 'shoal:evidence:v1', code: 0x300601, maxSize: 65536 }
} as const satisfies Record<string, RecordKind>

/** §1.3: the countersignature's domain is the type's domain with this suffix. */
export const COUNTERSIGN_SUFFIX = ':countersign'

/** Extra bytes a countersigned WorkReceipt may have over the envelope limit (§1.2). */
export const COUNTERSIGN_OVERHEAD = 256

/** SHA-256. */
export function sha256 (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

/** §1.1 record id: SHA-256 of the envelope bytes. */
export function recordId (envelope: Uint8Array): Uint8Array {
  return sha256(envelope)
}

/** RFC 0002 signing payload: varint-prefixed domain, payload type and payload. */
export function signingPayload (domain: string, payloadType: Uint8Array, payload: Uint8Array): Uint8Array {
  const d = new TextEncoder().encode(domain)
  return concat([encodeVarint(d.byteLength), d, encodeVarint(payloadType.byteLength), payloadType, encodeVarint(payload.byteLength), payload])
}

/** The payload type code an envelope names, read without checking anything else. */
export function payloadCode (envelope: Uint8Array): number {
  return readVarint(EnvelopeCodec.decode(envelope).payloadType, 0)[0]
}

/** A decoded envelope. */
export interface Envelope { publicKey: Uint8Array, payloadType: Uint8Array, payload: Uint8Array, signature: Uint8Array }

const EnvelopeCodec = codecOf<Envelope>({ publicKey: [1, 'bytes'], payloadType: [2, 'bytes'], payload: [3, 'bytes'], signature: [5, 'bytes'] })

/** Sign `payload` as a record of `kind` with `key`: the envelope bytes (a stock RecordEnvelope). */
export async function seal (key: PrivateKey, kind: RecordKind, payload: Uint8Array): Promise<Uint8Array> {
  const record = { domain: kind.domain, codec: encodeVarint(kind.code), marshal: () => payload, equals: () => false }
  const bytes = (await RecordEnvelope.seal(record, key)).marshal()
  if (bytes.byteLength > kind.maxSize) {
    throw new RangeError(`envelope of ${bytes.byteLength} bytes is above ${kind.maxSize}`)
  }
  return bytes
}

/** An envelope whose signature verified. */
export interface Opened {
  bytes: Uint8Array
  id: Uint8Array
  payload: Uint8Array
  publicKey: PublicKey
  signer: PeerId
}

/** A public key from its protobuf bytes, refused unless they are its canonical encoding (§1.1). */
function canonicalKey (bytes: Uint8Array): PublicKey {
  const key = publicKeyFromProtobuf(bytes)
  if (!equals(publicKeyToProtobuf(key), bytes)) {
    throw new Error('public key is not in canonical form')
  }
  return key
}

/**
 * Open an envelope as §1.4 steps 1-4 say: size, canonical form (the four
 * fields, in order, non-empty, minimal lengths, nothing else: the bytes must
 * equal their re-encoding), payload type, signature.
 */
export async function open (bytes: Uint8Array, kind: RecordKind, maxSize = kind.maxSize): Promise<Opened> {
  if (bytes.byteLength > maxSize) throw new Error(`envelope of ${bytes.byteLength} bytes is above ${maxSize}`)
  const e = EnvelopeCodec.decode(bytes)
  if (!equals(EnvelopeCodec.encode(e), bytes) || readFields(bytes).length !== 4) throw new Error('envelope is not in canonical form')
  const publicKey = canonicalKey(e.publicKey)
  if (!equals(e.payloadType, encodeVarint(kind.code))) throw new Error('wrong payload type')
  // the signature over the RFC 0002 payload for the type's domain
  await RecordEnvelope.openAndCertify(bytes, kind.domain).catch((err: Error) => {
    throw new Error(`signature does not verify: ${err.message}`)
  })
  return { bytes, id: recordId(bytes), payload: e.payload, publicKey, signer: peerIdFromPublicKey(publicKey) }
}

/** §1.3 Countersigned wrapper. */
export interface Countersigned { envelope: Uint8Array, publicKey: Uint8Array, signature: Uint8Array }

const CountersignedCodec = codecOf<Countersigned>({ envelope: [1, 'bytes'], publicKey: [2, 'bytes'], signature: [3, 'bytes'] })

/** Countersign the author's envelope bytes (§1.3: domain `<type domain>:countersign`, the type's payload type, the envelope as payload). */
export async function countersign (key: PrivateKey, kind: RecordKind, envelope: Uint8Array): Promise<Uint8Array> {
  const signature = await key.sign(signingPayload(kind.domain + COUNTERSIGN_SUFFIX, encodeVarint(kind.code), envelope))
  return CountersignedCodec.encode({ envelope, publicKey: publicKeyToProtobuf(key.publicKey), signature })
}

/** Open a countersigned record: the canonical wrapper, the author's envelope and the countersignature. */
export async function openCountersigned (bytes: Uint8Array, kind: RecordKind): Promise<{ record: Opened, countersigner: PeerId }> {
  if (bytes.byteLength > kind.maxSize + COUNTERSIGN_OVERHEAD) throw new Error('countersigned record too large')
  const c = CountersignedCodec.decode(bytes)
  if (!equals(CountersignedCodec.encode(c), bytes) || readFields(bytes).length !== 3) throw new Error('countersigned wrapper is not in canonical form')
  const record = await open(c.envelope, kind)
  const key = canonicalKey(c.publicKey)
  if (!(await key.verify(signingPayload(kind.domain + COUNTERSIGN_SUFFIX, encodeVarint(kind.code), c.envelope), c.signature))) {
    throw new Error('countersignature does not verify')
  }
  return { record, countersigner: peerIdFromPublicKey(key) }
}
