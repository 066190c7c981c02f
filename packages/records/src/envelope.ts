/**
 * libp2p signed envelopes (RFC 0002) with Shoal's limits and a fast path
 * for Ed25519: node's crypto with the key object cached per key, because
 * building a key object per signature costs about as much as the signature.
 */

import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto'
import { publicKeyFromProtobuf, publicKeyFromRaw, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import * as varint from 'uint8-varint'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { BoundedMap, errorMessage, sha256 } from '@shoal/utils'
import { InvalidSignatureError, MalformedRecordError, RecordTooLargeError, WrongRecordTypeError } from './errors.js'
import { Envelope } from './pb/records.js'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import type { KeyObject } from 'node:crypto'
import { equals as equalBytes } from 'uint8arrays/equals'

/** A verified envelope: who signed, what, with which key. */
export interface OpenedEnvelope {
  publicKey: PublicKey
  /** the signer's peer id as multihash bytes, for comparing with record fields */
  signerBytes: Uint8Array
  payloadType: Uint8Array
  payload: Uint8Array
  signature: Uint8Array
}

const KEY_CACHE_SIZE = 4096
const privateKeyObjects = new WeakMap<PrivateKey, KeyObject>()

/** A decoded signer key with what verification needs, cached per key bytes. */
interface CachedKey {
  publicKey: PublicKey
  /** node key object for Ed25519 keys */
  keyObject?: KeyObject
  /** the signer's peer id multihash */
  signerBytes: Uint8Array
}

/**
 * Peers sign many records with one key, and building a node key object
 * costs about as much as a verification, so decoded keys are kept in a
 * bounded cache keyed by their protobuf bytes (oldest entry evicted first).
 */
const keyCache = new BoundedMap<string, CachedKey>(KEY_CACHE_SIZE)

function cachedKey (protobufKey: Uint8Array): CachedKey {
  const cacheKey = Buffer.from(protobufKey.buffer, protobufKey.byteOffset, protobufKey.byteLength).toString('latin1')
  let entry = keyCache.get(cacheKey)

  if (entry == null) {
    const publicKey = decodePublicKey(protobufKey)
    entry = {
      publicKey,
      keyObject: publicKey.type === 'Ed25519'
        ? createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: uint8ArrayToString(publicKey.raw, 'base64url') } })
        : undefined,
      signerBytes: peerIdBytesOf(protobufKey)
    }

    keyCache.set(cacheKey, entry)
  }

  return entry
}

function ed25519PrivateKeyObject (key: PrivateKey): KeyObject {
  let obj = privateKeyObjects.get(key)

  if (obj == null) {
    obj = createPrivateKey({
      format: 'jwk',
      key: {
        kty: 'OKP',
        crv: 'Ed25519',
        d: uint8ArrayToString(key.raw.subarray(0, 32), 'base64url'),
        x: uint8ArrayToString(key.publicKey.raw, 'base64url')
      }
    })
    privateKeyObjects.set(key, obj)
  }

  return obj
}

/** Write `n` as a varint at `offset`; returns the offset after it. */
function writeVarint (buf: Uint8Array, offset: number, n: number): number {
  varint.encode(n, buf, offset)
  return offset + varint.encodingLength(n)
}

const domainBytesCache = new Map<string, Uint8Array>()

function domainBytes (domain: string): Uint8Array {
  let bytes = domainBytesCache.get(domain)
  if (bytes == null) {
    bytes = new TextEncoder().encode(domain)
    domainBytesCache.set(domain, bytes)
  }
  return bytes
}

/**
 * The RFC 0002 bytes that are signed: the domain, payload type and payload,
 * each prefixed with its length as a varint.
 */
export function signingPayload (domain: string, payloadType: Uint8Array, payload: Uint8Array): Uint8Array {
  const d = domainBytes(domain)
  const size = varint.encodingLength(d.byteLength) + d.byteLength +
    varint.encodingLength(payloadType.byteLength) + payloadType.byteLength +
    varint.encodingLength(payload.byteLength) + payload.byteLength
  const out = new Uint8Array(size)
  let offset = writeVarint(out, 0, d.byteLength)
  out.set(d, offset)
  offset += d.byteLength
  offset = writeVarint(out, offset, payloadType.byteLength)
  out.set(payloadType, offset)
  offset += payloadType.byteLength
  offset = writeVarint(out, offset, payload.byteLength)
  out.set(payload, offset)
  return out
}

/** Sign bytes with a libp2p private key (Ed25519 through a cached node key object). */
export async function signBytes (privateKey: PrivateKey, data: Uint8Array): Promise<Uint8Array> {
  if (privateKey.type === 'Ed25519') {
    return nodeSign(null, data, ed25519PrivateKeyObject(privateKey))
  }

  return privateKey.sign(data)
}

/** Verify a signature with a libp2p public key; false for a bad signature, never throws for one. */
export async function verifyBytes (publicKey: PublicKey, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const keyObject = publicKey.type === 'Ed25519' ? cachedKey(publicKeyToProtobuf(publicKey)).keyObject : undefined
  return verifyWith(publicKey, keyObject, data, signature)
}

function verifyWith (publicKey: PublicKey, keyObject: KeyObject | undefined, data: Uint8Array, signature: Uint8Array): boolean | Promise<boolean> {
  try {
    if (keyObject != null) {
      return signature.byteLength === 64 && nodeVerify(null, data, keyObject, signature)
    }
    return Promise.resolve(publicKey.verify(data, signature)).catch(() => false)
  } catch {
    return false
  }
}

/** Sign a payload into marshaled envelope bytes. */
export async function sealEnvelope (privateKey: PrivateKey, domain: string, payloadType: Uint8Array, payload: Uint8Array): Promise<Uint8Array> {
  const signature = await signBytes(privateKey, signingPayload(domain, payloadType, payload))

  return Envelope.encode({
    publicKey: publicKeyToProtobuf(privateKey.publicKey),
    payloadType: payloadType,
    payload: payload,
    signature: signature
  })
}


/**
 * Read a minimal unsigned varint at `pos`; returns [value, next position].
 * Over-long (padded) varints are refused so every message has one encoding.
 */
function readVarint (bytes: Uint8Array, pos: number): [number, number] {
  let value = 0
  let shift = 1
  for (let i = 0; i < 5; i++) {
    if (pos >= bytes.byteLength) {
      throw new MalformedRecordError('Truncated varint')
    }
    const b = bytes[pos++]
    value += (b & 0x7f) * shift
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) {
        throw new MalformedRecordError('Non-canonical varint')
      }
      return [value, pos]
    }
    shift *= 128
  }
  throw new MalformedRecordError('Varint too long')
}

/** The field numbers of the Envelope message, in the only order accepted. */
const ENVELOPE_FIELDS = [1, 2, 3, 5] as const

/**
 * Decode an envelope without checking its signature (size and structure
 * only). Strict by design: the four fields of the libp2p Envelope, each
 * once, in field order, length-delimited, with minimal varints, and
 * nothing else. The record id is the hash of these bytes, so a message must
 * have exactly one encoding or one record could circulate under many ids;
 * this is the canonical protobuf encoding, byte-identical to what
 * @libp2p/peer-record writes.
 */
export function decodeEnvelope (bytes: Uint8Array, maxSize: number): Envelope {
  if (!(bytes instanceof Uint8Array)) {
    throw new MalformedRecordError('Record must be bytes')
  }

  if (bytes.byteLength > maxSize) {
    throw new RecordTooLargeError(`Record is ${bytes.byteLength} bytes, limit is ${maxSize}`)
  }

  const fields: Uint8Array[] = []
  let pos = 0
  for (const field of ENVELOPE_FIELDS) {
    if (pos >= bytes.byteLength || bytes[pos] !== ((field << 3) | 2)) {
      throw new MalformedRecordError(`Envelope field ${field} missing or out of order`)
    }
    const [length, start] = readVarint(bytes, pos + 1)
    if (length === 0 || start + length > bytes.byteLength) {
      throw new MalformedRecordError(`Envelope field ${field} empty or truncated`)
    }
    fields.push(bytes.subarray(start, start + length))
    pos = start + length
  }
  if (pos !== bytes.byteLength) {
    throw new MalformedRecordError('Trailing bytes after envelope')
  }

  return { publicKey: fields[0], payloadType: fields[1], payload: fields[2], signature: fields[3] }
}

/**
 * Reject encodings that decode to the same message but differ in bytes
 * (wrong wire types, repeated or reordered fields, padded varints).
 * The signed payload needs no such check: its bytes are what was signed.
 */
export function requireCanonical (received: Uint8Array, canonical: Uint8Array): void {
  if (!equalBytes(received, canonical)) {
    throw new MalformedRecordError('Non-canonical encoding')
  }
}

/**
 * Decode a protobuf-encoded libp2p public key, refusing non-canonical
 * encodings. Ed25519 keys (KeyType 1, then 32 bytes) take a short path.
 */
export function decodePublicKey (bytes: Uint8Array): PublicKey {
  if (bytes.byteLength === 36 && bytes[0] === 0x08 && bytes[1] === 0x01 && bytes[2] === 0x12 && bytes[3] === 0x20) {
    return publicKeyFromRaw(bytes.subarray(4))
  }
  let key: PublicKey
  try {
    key = publicKeyFromProtobuf(bytes)
  } catch (err: unknown) {
    throw new MalformedRecordError(`Public key does not decode: ${errorMessage(err)}`)
  }
  requireCanonical(bytes, publicKeyToProtobuf(key))
  return key
}

/**
 * The peer id multihash of a canonical protobuf public key, as libp2p
 * derives it: the identity hash of keys up to 42 bytes, SHA-256 otherwise.
 */
export function peerIdBytesOf (protobufKey: Uint8Array): Uint8Array {
  if (protobufKey.byteLength <= 42) {
    const out = new Uint8Array(protobufKey.byteLength + 2)
    out[0] = 0x00
    out[1] = protobufKey.byteLength
    out.set(protobufKey, 2)
    return out
  }
  const out = new Uint8Array(34)
  out[0] = 0x12
  out[1] = 0x20
  out.set(sha256(protobufKey), 2)
  return out
}

/**
 * Decode and verify an envelope for a domain and payload type: the checks
 * every signed record goes through before its payload is looked at.
 */
export async function openEnvelope (bytes: Uint8Array, domain: string, payloadType: Uint8Array, maxSize: number): Promise<OpenedEnvelope> {
  const envelope = decodeEnvelope(bytes, maxSize)

  if (!equalBytes(envelope.payloadType, payloadType)) {
    throw new WrongRecordTypeError('Envelope carries another record type')
  }

  const key = cachedKey(envelope.publicKey)
  const verified = verifyWith(key.publicKey, key.keyObject, signingPayload(domain, envelope.payloadType, envelope.payload), envelope.signature)
  const valid = verified === true || (verified !== false && await verified)

  if (!valid) {
    throw new InvalidSignatureError()
  }

  return {
    publicKey: key.publicKey,
    signerBytes: key.signerBytes,
    payloadType: envelope.payloadType,
    payload: envelope.payload,
    signature: envelope.signature
  }
}

/** The id of a signed record: SHA-256 of its envelope bytes. */
export function recordId (bytes: Uint8Array): Uint8Array {
  return sha256(bytes)
}

export { equalBytes }
