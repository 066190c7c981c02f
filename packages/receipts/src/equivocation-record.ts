/**
 * The stored form of an equivocation: both conflicting receipts as
 * evidence, with when the store found them.
 */

import { peerIdFromBytes, recordId } from '@shoal/records'
import { CorruptStoreError } from './errors.js'
import { sha256 } from './log.js'
import { decodeStoredValue } from './stored-receipt.js'
import { equalBytes, readU64 } from './utils.js'
import type { Equivocation, EquivocationKind } from './equivocation.js'

const EQUIVOCATION_FORMAT = 1

/** Encode: format(1) kind(1) detectedAt(8, BE) firstLength(4, BE) first second. */
export function encodeEquivocation (kind: EquivocationKind, detectedAt: number, first: Uint8Array, second: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + 1 + 8 + 4 + first.byteLength + second.byteLength)
  const view = new DataView(out.buffer)
  out[0] = EQUIVOCATION_FORMAT
  out[1] = kind === 'assignment' ? 0 : 1
  view.setBigUint64(2, BigInt(detectedAt))
  view.setUint32(10, first.byteLength)
  out.set(first, 14)
  out.set(second, 14 + first.byteLength)
  return out
}

function decodeEquivocationBytes (raw: Uint8Array): { kind: EquivocationKind, detectedAt: number, first: Uint8Array, second: Uint8Array } | undefined {
  if (raw.byteLength < 14 || raw[0] !== EQUIVOCATION_FORMAT || raw[1] > 1) {
    return undefined
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  const detectedAt = readU64(raw, 2)
  const firstLength = view.getUint32(10)
  if (detectedAt == null || 14 + firstLength > raw.byteLength) {
    return undefined
  }
  return {
    kind: raw[1] === 0 ? 'assignment' : 'job',
    detectedAt,
    first: raw.subarray(14, 14 + firstLength),
    second: raw.subarray(14 + firstLength)
  }
}

/** Decode a stored equivocation into the evidence it holds; throws CorruptStoreError. */
export function decodeEquivocation (raw: Uint8Array, key: string): Equivocation {
  const parsed = decodeEquivocationBytes(raw)
  if (parsed == null) {
    throw new CorruptStoreError('Malformed equivocation record', key)
  }
  const a = decodeStoredValue(parsed.first, key)
  const b = decodeStoredValue(parsed.second, key)
  const provider = peerIdFromBytes(a.value.provider)
  const offender = equalBytes(a.value.provider, b.value.provider) ? provider : peerIdFromBytes(a.value.requester)
  const firstId = recordId(a.envelope)
  const secondId = recordId(b.envelope)
  const ids = [firstId, secondId].sort((x, y) => Buffer.compare(x, y))
  return {
    id: sha256(Buffer.concat(ids)),
    kind: parsed.kind,
    offender,
    provider,
    jobId: a.value.jobId,
    first: parsed.first,
    second: parsed.second,
    firstId,
    secondId,
    detectedAt: parsed.detectedAt
  }
}
