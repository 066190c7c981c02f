/**
 * Opening a store: check its format, find a consistent head and load the
 * open epoch.
 *
 * Every append is one datastore batch that writes the head last. On an
 * atomic datastore (LevelDB's write batch) that is the whole story. On a
 * datastore whose batches are plain ordered puts, a crash can leave complete
 * log entries past the stored head: the log entry is the commit point, so
 * recovery rolls the head forward over each entry that links to it and has
 * its receipt, rewriting that entry's indexes. Anything else past the head is
 * corruption, and the store refuses to open.
 */

import { CorruptStoreError, InvalidParametersError } from './errors.js'
import { readLeaves } from './epochs.js'
import { getOrUndefined } from './keys.js'
import { GENESIS_HASH, decodeHead, decodeLogEntry, encodeHead, logEntryHash, sha256 } from './log.js'
import { decodeStoredValue } from './stored-receipt.js'
import { equalBytes, readU64, toHex, u64 } from './utils.js'
import type { StoreContext } from './context.js'
import type { LogHead } from './index.js'

const STORE_FORMAT = 1

/** Recover the log: set `ctx.head` to its consistent end and the open epoch's leaves. */
export async function recoverLog (ctx: StoreContext): Promise<void> {
  await checkFormat(ctx)
  const head = await readHead(ctx)
  const { length, hash } = await rollForward(ctx, head)
  ctx.head.length = length
  ctx.head.hash = hash
  ctx.head.leaves = await readLeaves(ctx, Math.floor(length / ctx.epochSize), length)
}

/** Write the format on a new store; refuse an unknown format or another epoch size. */
async function checkFormat (ctx: StoreContext): Promise<void> {
  const key = ctx.keys.meta()
  const meta = await getOrUndefined(ctx.datastore, key)
  if (meta == null) {
    const m = new Uint8Array(9)
    m[0] = STORE_FORMAT
    m.set(u64(ctx.epochSize), 1)
    await ctx.datastore.put(key, m)
    return
  }
  if (meta.byteLength !== 9 || meta[0] !== STORE_FORMAT) {
    throw new CorruptStoreError('Unknown store format', key.toString())
  }
  const stored = readU64(meta, 1)
  if (stored !== ctx.epochSize) {
    throw new InvalidParametersError(`Store was created with epochSize ${stored}, opened with ${ctx.epochSize}`)
  }
}

/** The stored head, checked against the entry it names. */
async function readHead (ctx: StoreContext): Promise<LogHead> {
  const headBytes = await getOrUndefined(ctx.datastore, ctx.keys.head())
  if (headBytes == null) {
    return { length: 0, hash: GENESIS_HASH }
  }
  const head = decodeHead(headBytes, ctx.keys.head().toString())
  if (head.length > 0) {
    const lk = ctx.keys.log(head.length - 1)
    const last = await getOrUndefined(ctx.datastore, lk)
    if (last == null || !equalBytes(logEntryHash(last), head.hash)) {
      throw new CorruptStoreError(`Head names entry ${head.length - 1}, which is missing or differs`, lk.toString())
    }
  }
  return head
}

/** Move the head over complete entries written after it (non-atomic datastores only), one batch each. */
async function rollForward (ctx: StoreContext, head: LogHead): Promise<LogHead> {
  let { length, hash } = head
  let rolled = 0
  for (;;) {
    const k = ctx.keys.log(length)
    const bytes = await getOrUndefined(ctx.datastore, k)
    if (bytes == null) {
      break
    }
    const entry = decodeLogEntry(bytes, k.toString())
    if (entry.seq !== length || !equalBytes(entry.prevHash, hash)) {
      throw new CorruptStoreError(`Entry ${length} past the head does not link to it`, k.toString())
    }
    const idHex = toHex(entry.receiptId)
    const rk = ctx.keys.receipt(idHex)
    const receipt = await getOrUndefined(ctx.datastore, rk)
    if (receipt == null || !equalBytes(sha256(receipt), entry.bytesHash)) {
      throw new CorruptStoreError(`Entry ${length} past the head has no matching receipt`, k.toString())
    }
    const value = decodeStoredValue(receipt, rk.toString()).value
    const batch = ctx.datastore.batch()
    ctx.keys.putIndexes(batch, idHex, entry.seq, value)
    hash = logEntryHash(bytes)
    length++
    batch.put(ctx.keys.head(), encodeHead(length, hash))
    await batch.commit()
    rolled++
  }
  if (rolled > 0) {
    ctx.log('rolled the log head forward over %d entries', rolled)
  }
  return { length, hash }
}
