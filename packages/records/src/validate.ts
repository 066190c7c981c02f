/**
 * Field checks shared by the record types: each throws InvalidFieldError
 * naming the field.
 */

import { errorMessage } from '@shoal/utils'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { MAX_LIST_LENGTH, MAX_NAME_LENGTH, MAX_SAFE_AMOUNT } from './constants.js'
import { InvalidFieldError } from './errors.js'
import { isGeohash } from './geo.js'
import type { PeerId } from '@libp2p/interface'

/** Decode peer id multihash bytes, or throw InvalidFieldError for `field`. */
export function peerIdFromBytes (bytes: Uint8Array, field = 'peer'): PeerId {
  try {
    return peerIdFromMultihash(Digest.decode(bytes))
  } catch (err: unknown) {
    throw new InvalidFieldError(field, `not a peer id (${errorMessage(err)})`)
  }
}

/**
 * Check a peer id field has the shape of a libp2p peer id multihash: an
 * identity hash of a key (up to 42 bytes) or a SHA-256 hash. Cheap by
 * design; the key inside is parsed only when a signature needs it.
 */
export function checkPeer (field: string, bytes: Uint8Array): void {
  const identity = bytes.byteLength >= 4 && bytes[0] === 0x00 && bytes[1] <= 42 && bytes[1] + 2 === bytes.byteLength
  const sha256 = bytes.byteLength === 34 && bytes[0] === 0x12 && bytes[1] === 0x20
  if (!identity && !sha256) {
    throw new InvalidFieldError(field, 'not a peer id multihash')
  }
}

/** Check a byte field has one of the given lengths. */
export function checkLength (field: string, bytes: Uint8Array, ...lengths: number[]): void {
  if (!lengths.includes(bytes.byteLength)) {
    throw new InvalidFieldError(field, `must be ${lengths.join(' or ')} bytes, got ${bytes.byteLength}`)
  }
}

/** Check an integer lies in [min, max] (and is safe). */
export function checkInt (field: string, value: number, min = 0, max = MAX_SAFE_AMOUNT): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidFieldError(field, `must be an integer in [${min}, ${max}], got ${value}`)
  }
}

/** Check a string's length and, optionally, that it is not empty. */
export function checkString (field: string, value: string, max = MAX_NAME_LENGTH, required = false): void {
  if (value.length > max) {
    throw new InvalidFieldError(field, `longer than ${max} characters`)
  }
  if (required && value.length === 0) {
    throw new InvalidFieldError(field, 'must not be empty')
  }
}

/** Check a list of short names. */
export function checkNames (field: string, values: string[], max = MAX_LIST_LENGTH): void {
  if (values.length > max) {
    throw new InvalidFieldError(field, `more than ${max} entries`)
  }
  values.forEach((v, i) => { checkString(`${field}[${i}]`, v, MAX_NAME_LENGTH, true) })
}

/** Check a geohash field. */
export function checkGeohash (field: string, value: string): void {
  if (!isGeohash(value)) {
    throw new InvalidFieldError(field, 'not a geohash')
  }
}

/** Check a lifetime: `expires` after `created`, and no longer than `maxTtl`. */
export function checkLifetime (created: number, expires: number, maxTtl: number): void {
  checkInt('createdMs', created, 1)
  checkInt('expiresMs', expires, 1)
  if (expires <= created) {
    throw new InvalidFieldError('expiresMs', 'must be after createdMs')
  }
  if (expires - created > maxTtl) {
    throw new InvalidFieldError('expiresMs', `lifetime longer than ${maxTtl} ms`)
  }
}

/** Check a list of embedded envelopes: how many (in [min, max]) and that each is non-empty and at most `maxSize` bytes. */
export function checkEnvelopes (field: string, values: Uint8Array[], min: number, max: number, maxSize: number): void {
  if (values.length < min || values.length > max) {
    throw new InvalidFieldError(field, min === max ? `must have ${min} entries, got ${values.length}` : `must have ${min}..${max} entries, got ${values.length}`)
  }
  values.forEach((v, i) => {
    if (v.byteLength === 0 || v.byteLength > maxSize) {
      throw new InvalidFieldError(`${field}[${i}]`, `empty or larger than ${maxSize} bytes`)
    }
  })
}
