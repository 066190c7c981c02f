/**
 * Signing, opening and countersigning records: the one path by which
 * Shoal turns untrusted bytes into values.
 */

import { errorMessage } from '@shoal/utils'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { COUNTERSIGN_DOMAIN_SUFFIX, CLOCK_SKEW_MS, MAX_SIZE } from './constants.js'
import { decodeEnvelope, decodePublicKey, equalBytes, openEnvelope, requireCanonical, recordId, sealEnvelope, signBytes, signingPayload, verifyBytes } from './envelope.js'
import {
  ExpiredRecordError, InvalidCountersignatureError, InvalidFieldError, MalformedRecordError, NotYetValidError,
  RecordError, RecordTooLargeError, UnsupportedVersionError, WrongRecordTypeError, WrongSignerError
} from './errors.js'
import { Countersigned } from './pb/records.js'
import { AssignmentType, QuoteType } from './types.js'
import type { RecordType } from './types.js'
import type { Assignment, Quote } from './pb/records.js'
import type { AbortOptions, PeerId, PrivateKey, PublicKey } from '@libp2p/interface'

/** A record whose signature, author, size and values have been checked. */
export interface SignedRecord<T> {
  /** the record's type */
  readonly type: RecordType<T>
  /** the decoded value (read-only view; the signed bytes are the record) */
  readonly value: T
  /** the marshaled signed envelope, exactly as signed; store and relay these */
  readonly bytes: Uint8Array
  /** SHA-256 of `bytes` */
  readonly id: Uint8Array
  /** the author, who signed it */
  readonly signer: PeerId
  /** the author's public key */
  readonly publicKey: PublicKey
}

/** A two-party record: signed by its author and countersigned by the other party. */
export interface CountersignedRecord<T> {
  /** the author-signed record */
  readonly record: SignedRecord<T>
  /** the second party, who countersigned */
  readonly countersigner: PeerId
  /** the countersigner's public key */
  readonly countersignerKey: PublicKey
  /** the countersignature */
  readonly countersignature: Uint8Array
  /** the marshaled Countersigned message holding both signatures */
  readonly bytes: Uint8Array
  /** the record's id (that of the author-signed envelope): both copies share it */
  readonly id: Uint8Array
}

/**
 * Records this package produced by signing or verifying, so code in the
 * same process can trust them without checking their signatures again.
 * A WeakSet: only this module can add to it, and it never keeps a record
 * alive. Trust covers the object this package returned; do not mutate its
 * bytes.
 */
const verified = new WeakSet<object>()

function markVerified<R extends object> (record: R): R {
  verified.add(record)
  return record
}

/**
 * Whether `record` is a SignedRecord or CountersignedRecord returned by this
 * package's sign or open functions (its signatures were made or checked
 * here), as opposed to an object built elsewhere that only claims to be one.
 */
export function isVerified (record: unknown): boolean {
  return typeof record === 'object' && record !== null && verified.has(record)
}

/** Options for opening records. */
export interface OpenOptions extends AbortOptions {
  /** current time in ms (or a clock); default Date.now */
  now?: number | (() => number)
  /**
   * clock skew allowed for expiry and not-yet-valid checks
   *
   * @default 30000
   */
  clockSkewMs?: number
  /** skip the expiry and not-yet-valid checks (for archived records such as old receipts) */
  ignoreTime?: boolean
}

/** The outcome of validating a record: accept, or reject with a named error. */
export type ValidationResult<T> =
  | { valid: true, record: SignedRecord<T> }
  | { valid: false, error: RecordError }

function nowOf (options: OpenOptions): number {
  const now = options.now
  if (typeof now === 'function') {
    return now()
  }
  return now ?? Date.now()
}

function decodePayload<T> (type: RecordType<T>, payload: Uint8Array): T {
  try {
    return type.codec.decode(payload)
  } catch (err: unknown) {
    throw new MalformedRecordError(`${type.name} does not decode: ${errorMessage(err)}`)
  }
}

function checkValue<T> (type: RecordType<T>, value: T): void {
  try {
    type.check(value)
  } catch (err: unknown) {
    if (err instanceof InvalidFieldError && err.field === 'version') {
      throw new UnsupportedVersionError(`${type.name}: ${err.message}`)
    }
    if (err instanceof RecordError) {
      throw err
    }
    throw new MalformedRecordError(`${type.name}: ${errorMessage(err)}`)
  }
}

function checkTime<T> (type: RecordType<T>, value: T, options: OpenOptions): void {
  if (options.ignoreTime === true) {
    return
  }
  const now = nowOf(options)
  const skew = options.clockSkewMs ?? CLOCK_SKEW_MS
  const created = type.created?.(value)
  if (created != null && created > now + skew) {
    throw new NotYetValidError(`${type.name} made ${created - now} ms in the future`)
  }
  const expires = type.expires?.(value)
  if (expires != null && expires + skew < now) {
    throw new ExpiredRecordError(`${type.name} expired ${now - expires} ms ago`)
  }
}

/** Encode a record value to its payload bytes (deterministic: same value, same bytes). */
export function encodeRecord<T> (type: RecordType<T>, value: T): Uint8Array {
  return type.codec.encode(value)
}

/**
 * Sign a record with its author's key. The value is checked first: a
 * node never signs what its peers would reject.
 */
export async function signRecord<T> (type: RecordType<T>, value: T, privateKey: PrivateKey): Promise<SignedRecord<T>> {
  checkValue(type, value)
  const signer = peerIdFromPublicKey(privateKey.publicKey)
  if (type.author != null && !equalBytes(type.author(value), signer.toMultihash().bytes)) {
    throw new WrongSignerError(`${type.name} names another author than the signing key`)
  }
  const payload = encodeRecord(type, value)
  const bytes = await sealEnvelope(privateKey, type.domain, type.payloadType, payload)
  if (bytes.byteLength > type.maxSize) {
    throw new RecordTooLargeError(`${type.name} is ${bytes.byteLength} bytes, limit is ${type.maxSize}`)
  }
  return markVerified({
    type,
    value: type.codec.decode(payload),
    bytes,
    id: recordId(bytes),
    signer,
    publicKey: privateKey.publicKey
  })
}

/**
 * Open a signed record: size limit (before decoding), envelope, record type,
 * signature, schema, version, values, author and time, in that order.
 * Throws a RecordError subclass naming what is wrong.
 */
export async function openRecord<T> (type: RecordType<T>, bytes: Uint8Array, options: OpenOptions = {}): Promise<SignedRecord<T>> {
  options.signal?.throwIfAborted()
  const opened = await openEnvelope(bytes, type.domain, type.payloadType, type.maxSize)
  const value = decodePayload(type, opened.payload)
  checkValue(type, value)

  if (type.author != null && !equalBytes(type.author(value), opened.signerBytes)) {
    throw new WrongSignerError(`${type.name} signed by ${peerIdFromPublicKey(opened.publicKey)} but names another author`)
  }

  checkTime(type, value, options)

  return markVerified(new OpenedRecord(type, value, bytes, recordId(bytes), opened.publicKey))
}

/** A verified record whose signer PeerId is only built when asked for. */
class OpenedRecord<T> implements SignedRecord<T> {
  private _signer?: PeerId

  constructor (
    readonly type: RecordType<T>,
    readonly value: T,
    readonly bytes: Uint8Array,
    readonly id: Uint8Array,
    readonly publicKey: PublicKey
  ) {}

  get signer (): PeerId {
    this._signer ??= peerIdFromPublicKey(this.publicKey)
    return this._signer
  }
}

/**
 * Decode a signed record and check its values without verifying its
 * signature or time: for inspecting bytes, never for trusting them.
 */
export function decodeRecord<T> (type: RecordType<T>, bytes: Uint8Array): T {
  const envelope = decodeEnvelope(bytes, type.maxSize)
  if (!equalBytes(envelope.payloadType, type.payloadType)) {
    throw new WrongRecordTypeError('Envelope carries another record type')
  }
  const value = decodePayload(type, envelope.payload)
  checkValue(type, value)
  return value
}

/** Like openRecord, but returns accept or reject instead of throwing (for validators at the network boundary). */
export async function validateRecord<T> (type: RecordType<T>, bytes: Uint8Array, options: OpenOptions = {}): Promise<ValidationResult<T>> {
  try {
    return { valid: true, record: await openRecord(type, bytes, options) }
  } catch (err: unknown) {
    if (err instanceof RecordError) {
      return { valid: false, error: err }
    }
    return { valid: false, error: new MalformedRecordError(errorMessage(err)) }
  }
}

function countersignDomain<T> (type: RecordType<T>): string {
  return type.domain + COUNTERSIGN_DOMAIN_SUFFIX
}

/**
 * Countersign a two-party record as its second party (the requester of a
 * receipt): sign the author's envelope bytes under the type's countersign
 * domain.
 */
export async function countersign<T> (record: SignedRecord<T>, privateKey: PrivateKey): Promise<CountersignedRecord<T>> {
  const type = record.type
  if (type.countersigner == null) {
    throw new InvalidCountersignatureError(`${type.name} is not a two-party record`)
  }
  const countersigner = peerIdFromPublicKey(privateKey.publicKey)
  if (!equalBytes(type.countersigner(record.value), countersigner.toMultihash().bytes)) {
    throw new WrongSignerError(`${type.name} names another countersigner than the signing key`)
  }
  const signature = await signBytes(privateKey, signingPayload(countersignDomain(type), type.payloadType, record.bytes))
  const bytes = Countersigned.encode({
    envelope: record.bytes,
    publicKey: publicKeyToProtobuf(privateKey.publicKey),
    signature: signature
  })
  return markVerified({ record, countersigner, countersignerKey: privateKey.publicKey, countersignature: signature, bytes, id: record.id })
}

/** Options for opening countersigned records. */
export interface OpenCountersignedOptions<T> extends OpenOptions {
  /**
   * The author-signed record, if this process already holds it verified
   * (e.g. the provider's own receipt): when the envelope inside is the same
   * bytes, its signature is not checked again
   */
  knownRecord?: SignedRecord<T>
}

/** Open a countersigned record: both signatures, both signers, and the record itself. */
export async function openCountersigned<T> (type: RecordType<T>, bytes: Uint8Array, options: OpenCountersignedOptions<T> = {}): Promise<CountersignedRecord<T>> {
  if (type.countersigner == null) {
    throw new InvalidCountersignatureError(`${type.name} is not a two-party record`)
  }
  if (!(bytes instanceof Uint8Array)) {
    throw new MalformedRecordError('Record must be bytes')
  }
  const limit = type.maxSize + MAX_SIZE.countersignOverhead
  if (bytes.byteLength > limit) {
    throw new RecordTooLargeError(`Countersigned ${type.name} is ${bytes.byteLength} bytes, limit is ${limit}`)
  }
  let wrapper: Countersigned
  try {
    wrapper = Countersigned.decode(bytes)
  } catch (err: unknown) {
    throw new MalformedRecordError(`Countersigned ${type.name} does not decode: ${errorMessage(err)}`)
  }
  requireCanonical(bytes, Countersigned.encode(wrapper))
  // the author's record may be one this process already verified (a
  // provider's own receipt coming back countersigned): reuse it
  const known = options.knownRecord
  let record: SignedRecord<T>
  if (known != null && isVerified(known) && known.type === type && equalBytes(known.bytes, wrapper.envelope)) {
    checkTime(type, known.value, options)
    record = known
  } else {
    record = await openRecord(type, wrapper.envelope, options)
  }
  let key: PublicKey
  try {
    key = decodePublicKey(wrapper.publicKey)
  } catch (err: unknown) {
    throw new InvalidCountersignatureError(`Countersigner key does not decode: ${errorMessage(err)}`)
  }
  const countersigner = peerIdFromPublicKey(key)
  if (!equalBytes(type.countersigner(record.value), countersigner.toMultihash().bytes)) {
    throw new WrongSignerError(`${type.name} countersigned by ${countersigner} but names another party`)
  }
  const valid = await verifyBytes(key, signingPayload(countersignDomain(type), type.payloadType, wrapper.envelope), wrapper.signature)
  if (!valid) {
    throw new InvalidCountersignatureError()
  }
  return markVerified({ record, countersigner, countersignerKey: key, countersignature: wrapper.signature, bytes, id: record.id })
}

/** An assignment with the provider's quote inside it, both verified. */
export interface OpenedAssignment {
  assignment: SignedRecord<Assignment>
  quote: SignedRecord<Quote>
}

/**
 * Open an assignment and the quote it embeds, and check they agree (same
 * job, same two peers): the two signatures of the two-party agreement.
 */
export async function openAssignment (bytes: Uint8Array, options: OpenOptions = {}): Promise<OpenedAssignment> {
  const assignment = await openRecord(AssignmentType, bytes, options)
  // the quote may have expired by the time the assignment is read; the assignment's own lifetime governs
  const quote = await openRecord(QuoteType, assignment.value.quote, { ...options, ignoreTime: true })
  const a = assignment.value
  const q = quote.value
  if (!equalBytes(a.jobId, q.jobId)) {
    throw new InvalidFieldError('quote', 'quote is for another job')
  }
  if (!equalBytes(a.provider, q.provider) || !equalBytes(a.requester, q.requester)) {
    throw new InvalidFieldError('quote', 'quote is between other peers')
  }
  return { assignment, quote }
}

/**
 * Decode an unsigned protocol message (one that travels only over an
 * authenticated stream, never relayed): size limit first, then the
 * protobuf decoder; anything wrong is a RecordError, never another throw.
 */
export function decodeMessage<T> (name: string, decode: (bytes: Uint8Array) => T, bytes: Uint8Array | { subarray(): Uint8Array }, maxSize: number): T {
  const buf = bytes instanceof Uint8Array ? bytes : bytes.subarray()
  if (buf.byteLength > maxSize) {
    throw new RecordTooLargeError(`${name} is ${buf.byteLength} bytes, limit is ${maxSize}`)
  }
  try {
    return decode(buf)
  } catch (err: unknown) {
    throw new MalformedRecordError(`${name} does not decode: ${errorMessage(err)}`)
  }
}
