/**
 * The stored form of log entries and the head: fixed-size binary records,
 * so an entry's hash is well defined without a serialisation library.
 */

import { sha256 } from '@shoal/utils'
import { HEAD_LENGTH, LOG_ENTRY_LENGTH, LOG_FORMAT_VERSION } from './constants.js'
import { CorruptStoreError } from './errors.js'

/** One entry of the hash-linked log. */
export interface LogEntry {
  /** position, from 0 */
  seq: number
  /** when the receipt was added, ms */
  addedAt: number
  /** hash of the previous entry (GENESIS_HASH for seq 0) */
  prevHash: Uint8Array
  /** the receipt's record id */
  receiptId: Uint8Array
  /** SHA-256 of the stored countersigned bytes */
  bytesHash: Uint8Array
}

/** The previous-hash of the first entry: 32 zero bytes. */
export const GENESIS_HASH: Uint8Array = new Uint8Array(32)

/** SHA-256 of some bytes (re-exported for the store's parts). */
export { sha256 }

/** Encode an entry: version(1) seq(8, BE) addedAt(8, BE) prevHash(32) receiptId(32) bytesHash(32). */
export function encodeLogEntry (entry: LogEntry): Uint8Array {
  const out = new Uint8Array(LOG_ENTRY_LENGTH)
  const view = new DataView(out.buffer)
  out[0] = LOG_FORMAT_VERSION
  view.setBigUint64(1, BigInt(entry.seq))
  view.setBigUint64(9, BigInt(entry.addedAt))
  out.set(entry.prevHash, 17)
  out.set(entry.receiptId, 49)
  out.set(entry.bytesHash, 81)
  return out
}

/** Decode a stored entry; throws CorruptStoreError for anything but a well-formed v1 entry. */
export function decodeLogEntry (bytes: Uint8Array, key?: string): LogEntry {
  if (bytes.byteLength !== LOG_ENTRY_LENGTH || bytes[0] !== LOG_FORMAT_VERSION) {
    throw new CorruptStoreError('Malformed log entry', key)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const seq = view.getBigUint64(1)
  const addedAt = view.getBigUint64(9)
  if (seq > BigInt(Number.MAX_SAFE_INTEGER) || addedAt > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CorruptStoreError('Log entry number out of range', key)
  }
  return {
    seq: Number(seq),
    addedAt: Number(addedAt),
    prevHash: bytes.slice(17, 49),
    receiptId: bytes.slice(49, 81),
    bytesHash: bytes.slice(81, 113)
  }
}

/** The hash of an entry, which the next entry links to: SHA-256 of its encoding. */
export function logEntryHash (encoded: Uint8Array): Uint8Array {
  return sha256(encoded)
}

/** Encode the head: version(1) length(8, BE) hash(32). */
export function encodeHead (length: number, hash: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEAD_LENGTH)
  out[0] = LOG_FORMAT_VERSION
  new DataView(out.buffer).setBigUint64(1, BigInt(length))
  out.set(hash, 9)
  return out
}

/** Decode the head; throws CorruptStoreError. */
export function decodeHead (bytes: Uint8Array, key?: string): { length: number, hash: Uint8Array } {
  if (bytes.byteLength !== HEAD_LENGTH || bytes[0] !== LOG_FORMAT_VERSION) {
    throw new CorruptStoreError('Malformed log head', key)
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(1)
  if (length > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CorruptStoreError('Log head out of range', key)
  }
  return { length: Number(length), hash: bytes.slice(9, 41) }
}
