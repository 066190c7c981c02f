/**
 * Where a node's payment state survives a restart, in the node's datastore
 * (LevelDB in the full node): the payer's lanes (so nonces and totals go on
 * where they were, instead of opening a new lane per run until the payee's
 * lane limit refuses it), and the payee's latest voucher per lane and what
 * each payer was charged (the voucher is what a settlement needs; losing it
 * in a crash would lose the money it stands for).
 *
 * Entries are local state, not wire data, but they are read back like wire
 * data: a malformed one is a CorruptLedgerError and is skipped.
 */

import { Key } from 'interface-datastore'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { CorruptLedgerError } from './errors.js'
import { hex, sha256 } from './utils.js'
import type { AbortOptions } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/** Prefix of the payer's lanes: one entry per (payee, currency). */
export const PAYER_LANES_PREFIX = '/shoal/work/payer-lanes'
/** Prefix of the payee's latest vouchers: one entry per (payer, lane). */
export const PAYEE_VOUCHERS_PREFIX = '/shoal/work/payee-vouchers'
/** Prefix of what each payer was charged: one entry per (payer, currency). */
export const CHARGES_PREFIX = '/shoal/work/charges'

/** Longest saved entry, bytes (a lane or charge is well under 1 KiB). */
const MAX_ENTRY_BYTES = 4096

/** A key for `parts` under `prefix` that needs no escaping, whatever the parts hold. */
export function ledgerKey (prefix: string, ...parts: string[]): Key {
  return new Key(`${prefix}/${hex(sha256(uint8ArrayFromString(parts.join('\n'))))}`)
}

/** The payer's saved state of one lane. */
export interface SavedPayerLane {
  lane: Uint8Array
  payee: string
  currency: string
  nonce: number
  cumulative: number
}

/** What `payer` was charged in `currency`. */
export interface SavedCharge {
  payer: string
  currency: string
  owed: number
}

export function encodePayerLane (lane: SavedPayerLane): Uint8Array {
  return uint8ArrayFromString(JSON.stringify({ lane: uint8ArrayToString(lane.lane, 'base64'), payee: lane.payee, currency: lane.currency, nonce: lane.nonce, cumulative: lane.cumulative }))
}

/** Decode a saved lane; throws CorruptLedgerError for anything malformed. */
export function decodePayerLane (bytes: Uint8Array): SavedPayerLane {
  const o = parse(bytes)
  const lane = decodeBase64(o.lane)
  if (lane.byteLength === 0 || lane.byteLength > 64) {
    throw new CorruptLedgerError('lane id of a saved lane is missing or too long')
  }
  return { lane, payee: text(o.payee, 'payee'), currency: text(o.currency, 'currency'), nonce: amount(o.nonce, 'nonce'), cumulative: amount(o.cumulative, 'cumulative') }
}

export function encodeCharge (charge: SavedCharge): Uint8Array {
  return uint8ArrayFromString(JSON.stringify({ payer: charge.payer, currency: charge.currency, owed: charge.owed }))
}

/** Decode a saved charge; throws CorruptLedgerError for anything malformed. */
export function decodeCharge (bytes: Uint8Array): SavedCharge {
  const o = parse(bytes)
  return { payer: text(o.payer, 'payer'), currency: text(o.currency, 'currency', 0), owed: amount(o.owed, 'owed') }
}

/** Parse a saved entry of at most `maxBytes` as a JSON object; throws CorruptLedgerError otherwise. */
export function parse (bytes: Uint8Array, maxBytes = MAX_ENTRY_BYTES): Record<string, unknown> {
  if (bytes.byteLength > maxBytes) {
    throw new CorruptLedgerError(`saved entry is ${bytes.byteLength} bytes`)
  }
  let o: unknown
  try {
    o = JSON.parse(uint8ArrayToString(bytes))
  } catch {
    throw new CorruptLedgerError('saved entry is not JSON')
  }
  if (o == null || typeof o !== 'object' || Array.isArray(o)) {
    throw new CorruptLedgerError('saved entry is not an object')
  }
  return o as Record<string, unknown>
}

/** A string field of a saved entry, `min`..`max` characters. */
export function text (value: unknown, field: string, min = 1, max = 256): string {
  if (typeof value !== 'string' || value.length < min || value.length > max) {
    throw new CorruptLedgerError(`${field} of a saved entry is not a string of ${min}..${max} characters`)
  }
  return value
}

/** A non-negative safe integer field of a saved entry. */
export function amount (value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new CorruptLedgerError(`${field} of a saved entry is not a non-negative safe integer`)
  }
  return value
}

function decodeBase64 (value: unknown): Uint8Array {
  if (typeof value !== 'string' || value.length > 128) {
    throw new CorruptLedgerError('lane id of a saved lane is not base64')
  }
  try {
    return uint8ArrayFromString(value, 'base64')
  } catch {
    throw new CorruptLedgerError('lane id of a saved lane is not base64')
  }
}

/**
 * Writes per key in call order, each write saving the state as it is when
 * the write runs: a later state never lands before an earlier one, and a
 * caller that awaits its write knows its state (or a newer one) is saved.
 */
export class LedgerWriter {
  private readonly datastore: Datastore
  private readonly chains = new Map<string, Promise<void>>()

  constructor (datastore: Datastore) {
    this.datastore = datastore
  }

  async write (key: Key, value: () => Uint8Array, options?: AbortOptions): Promise<void> {
    const id = key.toString()
    const previous = this.chains.get(id) ?? Promise.resolve()
    const next = previous.catch(() => {}).then(async () => { await this.datastore.put(key, value(), options) })
    this.chains.set(id, next)
    try {
      await next
    } finally {
      if (this.chains.get(id) === next) {
        this.chains.delete(id)
      }
    }
  }

  /**
   * Open every saved entry under `prefix` with `open`, which decodes it (or
   * throws) and says which key it belongs under; it is applied only if it
   * was found there. What fails is skipped and reported, never trusted.
   */
  async read (prefix: string, open: (value: Uint8Array) => LedgerEntry | Promise<LedgerEntry>, result: LedgerLoad, options?: AbortOptions): Promise<void> {
    for await (const { key, value } of this.datastore.query({ prefix }, options)) {
      try {
        const entry = await open(value)
        if (entry.key.toString() !== key.toString()) {
          throw new CorruptLedgerError('saved entry is under another key')
        }
        entry.apply()
        result.loaded++
      } catch (err: unknown) {
        result.skipped.push({ key: key.toString(), error: err instanceof Error ? err : new CorruptLedgerError(String(err)) })
      }
    }
  }
}

/** A decoded saved entry: the key it belongs under, and how to take it up. */
export interface LedgerEntry {
  key: Key
  apply(): void
}

/** What loading saved payment state did: entries taken, and entries skipped with why. */
export interface LedgerLoad {
  loaded: number
  skipped: Array<{ key: string, error: Error }>
}
