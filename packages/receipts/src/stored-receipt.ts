/**
 * The stored forms of a receipt: how bytes this store wrote decode back
 * into a `StoredReceipt` (no signature checks: they were verified when
 * stored), and how `put()` input is told apart.
 */

import {
  Countersigned, MalformedRecordError, WorkReceiptType, decodeEnvelope, decodeRecord, peerIdFromBytes, recordId
} from '@shoal/records'
import { errorMessage } from '@shoal/utils'
import { CorruptStoreError, InvalidParametersError } from './errors.js'
import { readU64, toHex, u64 } from './utils.js'
import type { ReceiptInput, ReceiptState, StoredReceipt } from './index.js'
import type { PeerId } from '@libp2p/interface'
import type { CountersignedRecord, SignedRecord, WorkReceipt } from '@shoal/records'

/** A stored receipt whose PeerIds are built only when asked for. */
export class LazyStoredReceipt implements StoredReceipt {
  private _provider?: PeerId
  private _requester?: PeerId

  constructor (
    readonly id: Uint8Array,
    readonly state: ReceiptState,
    readonly bytes: Uint8Array,
    readonly envelope: Uint8Array,
    readonly value: WorkReceipt,
    readonly addedAt: number,
    readonly seq?: number
  ) {}

  get provider (): PeerId {
    this._provider ??= peerIdFromBytes(this.value.provider, 'provider')
    return this._provider
  }

  get requester (): PeerId {
    this._requester ??= peerIdFromBytes(this.value.requester, 'requester')
    return this._requester
  }
}

/** Decode countersigned bytes this store wrote (verified when stored): no signature checks. */
export function decodeStoredValue (bytes: Uint8Array, key: string): { envelope: Uint8Array, value: WorkReceipt } {
  try {
    const wrapper = Countersigned.decode(bytes)
    return { envelope: wrapper.envelope, value: decodeRecord(WorkReceiptType, wrapper.envelope) }
  } catch (err: unknown) {
    throw new CorruptStoreError(`Stored receipt does not decode: ${errorMessage(err)}`, key)
  }
}

/** Encode a pending receipt as stored: addedAt (8 bytes, BE), then the provider's envelope. */
export function encodePending (addedAt: number, envelope: Uint8Array): Uint8Array {
  const value = new Uint8Array(8 + envelope.byteLength)
  value.set(u64(addedAt), 0)
  value.set(envelope, 8)
  return value
}

/** Decode a stored pending receipt; throws CorruptStoreError. */
export function decodePending (raw: Uint8Array, key: string): StoredReceipt {
  const addedAt = readU64(raw)
  if (addedAt == null) {
    throw new CorruptStoreError('Malformed pending receipt', key)
  }
  const envelope = raw.subarray(8)
  let value: WorkReceipt
  try {
    value = decodeRecord(WorkReceiptType, envelope)
  } catch (err: unknown) {
    throw new CorruptStoreError(`Pending receipt does not decode: ${errorMessage(err)}`, key)
  }
  return new LazyStoredReceipt(recordId(envelope), 'pending', envelope, envelope, value, addedAt)
}

/** The bytes of `put()` input: objects @shoal/records did not produce are re-opened from their bytes, such an object being only a claim. */
export function inputBytes (input: ReceiptInput): Uint8Array {
  if (input instanceof Uint8Array) {
    return input
  }
  const bytes = (input as CountersignedRecord<WorkReceipt> | SignedRecord<WorkReceipt> | undefined)?.bytes
  if (!(bytes instanceof Uint8Array)) {
    throw new MalformedRecordError('Receipt must be bytes, a SignedRecord or a CountersignedRecord')
  }
  return bytes
}

/** An envelope has the four envelope fields and nothing else; a Countersigned wrapper never parses as one. */
export function isEnvelope (bytes: Uint8Array): boolean {
  try {
    decodeEnvelope(bytes, WorkReceiptType.maxSize)
    return true
  } catch {
    return false
  }
}

/** The hex of a receipt id, which must be 32 bytes. */
export function checkId (id: Uint8Array): string {
  if (!(id instanceof Uint8Array) || id.byteLength !== 32) {
    throw new InvalidParametersError('A receipt id is 32 bytes')
  }
  return toHex(id)
}
