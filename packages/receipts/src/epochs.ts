/**
 * Merkle epochs: every `epochSize` log entries form an epoch whose root is
 * stored when it closes; the open epoch's leaves are kept in memory.
 */

import { CorruptStoreError, InvalidParametersError, ReceiptNotFoundError } from './errors.js'
import { getOrUndefined } from './keys.js'
import { decodeLogEntry } from './log.js'
import { inclusionPath, leafHash, merkleRoot } from './merkle.js'
import { checkId } from './stored-receipt.js'
import { equalBytes, readU64 } from './utils.js'
import type { StoreContext } from './context.js'
import type { EpochRoot } from './index.js'
import type { InclusionProof } from './merkle.js'
import type { AbortOptions } from '@libp2p/interface'

/** The epoch a log position belongs to. */
export function epochOf (ctx: StoreContext, seq: number): number {
  return Math.floor(seq / ctx.epochSize)
}

/** The leaf hashes of an epoch's entries, from its start up to `end` (exclusive). */
export async function readLeaves (ctx: StoreContext, epoch: number, end: number, options?: AbortOptions): Promise<Uint8Array[]> {
  const leaves: Uint8Array[] = []
  const start = epoch * ctx.epochSize
  for (let s = start; s < end; s++) {
    const k = ctx.keys.log(s)
    const bytes = await getOrUndefined(ctx.datastore, k, options)
    if (bytes == null) {
      throw new CorruptStoreError(`Log entry ${s} is missing`, k.toString())
    }
    leaves.push(leafHash(decodeLogEntry(bytes, k.toString()).receiptId))
  }
  return leaves
}

function checkEpoch (ctx: StoreContext, epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0) {
    throw new InvalidParametersError('epoch must be a non-negative integer')
  }
  if (epoch > epochOf(ctx, ctx.head.length)) {
    throw new ReceiptNotFoundError(`Epoch ${epoch} has not started`)
  }
}

/** The root of an epoch: stored once complete, computed from memory for the open one. */
export async function epochRoot (ctx: StoreContext, epoch: number, options: AbortOptions = {}): Promise<EpochRoot> {
  checkEpoch(ctx, epoch)
  if (epoch === epochOf(ctx, ctx.head.length)) {
    const leaves = ctx.head.leaves
    return { epoch, root: merkleRoot(leaves), size: leaves.length, complete: false }
  }
  const ek = ctx.keys.epoch(epoch)
  const root = await getOrUndefined(ctx.datastore, ek, options)
  if (root == null || root.byteLength !== 32) {
    throw new CorruptStoreError(`Root of epoch ${epoch} is missing`, ek.toString())
  }
  return { epoch, root, size: ctx.epochSize, complete: true }
}

/** An audit path of a countersigned receipt in its epoch's tree. */
export async function proveInclusion (ctx: StoreContext, receiptId: Uint8Array, options: AbortOptions = {}): Promise<InclusionProof> {
  const idHex = checkId(receiptId)
  const seqBytes = await getOrUndefined(ctx.datastore, ctx.keys.seq(idHex), options)
  const seq = seqBytes == null ? undefined : readU64(seqBytes)
  if (seq == null) {
    throw new ReceiptNotFoundError('No countersigned receipt with that id')
  }
  const epoch = epochOf(ctx, seq)
  const leaves = epoch === epochOf(ctx, ctx.head.length)
    ? ctx.head.leaves
    : await readLeaves(ctx, epoch, (epoch + 1) * ctx.epochSize, options)
  const index = seq - epoch * ctx.epochSize
  if (!equalBytes(leaves[index] ?? new Uint8Array(), leafHash(receiptId))) {
    throw new CorruptStoreError(`Log entry ${seq} names another receipt`, ctx.keys.log(seq).toString())
  }
  return { epoch, index, size: leaves.length, siblings: inclusionPath(leaves, index), root: merkleRoot(leaves) }
}
