/**
 * Reads of stored receipts through the log: a countersigned receipt is
 * visible only once its seq index exists, which is written after its log
 * entry, so a half-written append (non-atomic datastores) stays invisible.
 */

import { CorruptStoreError } from './errors.js'
import { getOrUndefined } from './keys.js'
import { decodeLogEntry } from './log.js'
import { LazyStoredReceipt, decodePending, decodeStoredValue } from './stored-receipt.js'
import { readU64, toHex } from './utils.js'
import type { StoreContext } from './context.js'
import type { StoredReceipt } from './index.js'
import type { AbortOptions } from '@libp2p/interface'
import type { Key } from 'interface-datastore'

/** The countersigned receipt with this id, or undefined. */
export async function getCountersigned (ctx: StoreContext, idHex: string, options?: AbortOptions): Promise<StoredReceipt | undefined> {
  const seqKey = ctx.keys.seq(idHex)
  // has() first: most lookups on the put path miss, and a miss by get() costs an exception
  if (!(await ctx.datastore.has(seqKey, options))) {
    return undefined
  }
  const seqBytes = await getOrUndefined(ctx.datastore, seqKey, options)
  if (seqBytes == null) {
    return undefined
  }
  const seq = readU64(seqBytes)
  if (seq == null || seqBytes.byteLength !== 8) {
    throw new CorruptStoreError('Malformed seq index', seqKey.toString())
  }
  return readAt(ctx, seq, idHex, options)
}

/** The receipt at a log position; with `idHex`, check that the entry names it. */
export async function readAt (ctx: StoreContext, seq: number, idHex: string | undefined, options?: AbortOptions): Promise<StoredReceipt> {
  const lk = ctx.keys.log(seq)
  const entryBytes = await getOrUndefined(ctx.datastore, lk, options)
  if (entryBytes == null) {
    throw new CorruptStoreError(`Log entry ${seq} is missing`, lk.toString())
  }
  const entry = decodeLogEntry(entryBytes, lk.toString())
  const entryIdHex = toHex(entry.receiptId)
  if (idHex != null && entryIdHex !== idHex) {
    throw new CorruptStoreError(`Log entry ${seq} names another receipt`, lk.toString())
  }
  const rk = ctx.keys.receipt(entryIdHex)
  const bytes = await getOrUndefined(ctx.datastore, rk, options)
  if (bytes == null) {
    throw new CorruptStoreError(`Receipt of entry ${seq} is missing`, rk.toString())
  }
  const { envelope, value } = decodeStoredValue(bytes, rk.toString())
  return new LazyStoredReceipt(entry.receiptId, 'countersigned', bytes, envelope, value, entry.addedAt, seq)
}

/** The pending receipt with this id, or undefined. */
export async function getPending (ctx: StoreContext, idHex: string, options?: AbortOptions): Promise<StoredReceipt | undefined> {
  const pk = ctx.keys.pending(idHex)
  const raw = await getOrUndefined(ctx.datastore, pk, options)
  if (raw == null) {
    return undefined
  }
  return decodePending(raw, pk.toString())
}

/** Seqs listed under an index prefix, in order. */
export async function indexSeqs (ctx: StoreContext, prefix: Key, options: AbortOptions): Promise<number[]> {
  const seqs: number[] = []
  const p = prefix.toString() + '/'
  for await (const key of ctx.datastore.queryKeys({ prefix: p }, options)) {
    const s = key.toString().slice(p.length)
    if (/^[0-9a-f]{16}$/.test(s)) {
      seqs.push(Number.parseInt(s, 16))
    }
  }
  return seqs.sort((a, b) => a - b)
}
