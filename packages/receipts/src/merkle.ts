/**
 * RFC 6962 / RFC 9162 Merkle trees over receipt ids: domain-separated leaf
 * (0x00) and node (0x01) hashing so a leaf can never pass for an interior
 * node, trees of any size (not only powers of two), and audit paths.
 */

import { createHash } from 'node:crypto'
import { LEAF_PREFIX, NODE_PREFIX } from './constants.js'
import { equals as equal } from 'uint8arrays/equals'

/** Proof that a receipt is leaf `index` of the `size`-leaf tree of `epoch`. */
export interface InclusionProof {
  /** the epoch whose tree holds the receipt */
  readonly epoch: number
  /** the leaf position within the epoch (log seq minus `epoch * epochSize`) */
  readonly index: number
  /** number of leaves of the tree the proof is for */
  readonly size: number
  /** the audit path, from the leaf's sibling up to the root's child */
  readonly siblings: Uint8Array[]
  /** the root the proof leads to (check it against an anchored root, not against itself) */
  readonly root: Uint8Array
}

const EMPTY_ROOT = sha256Parts([])

function sha256Parts (parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of parts) {
    h.update(p)
  }
  const d = h.digest()
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}

/** The leaf hash of a receipt id: SHA-256(0x00 || id). */
export function leafHash (receiptId: Uint8Array): Uint8Array {
  return sha256Parts([Uint8Array.of(LEAF_PREFIX), receiptId])
}

/** An interior node hash: SHA-256(0x01 || left || right). */
export function nodeHash (left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256Parts([Uint8Array.of(NODE_PREFIX), left, right])
}

/** Largest power of two strictly less than n (n >= 2). */
function split (n: number): number {
  let k = 1
  while (k * 2 < n) {
    k *= 2
  }
  return k
}

function mth (leaves: Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start
  if (n === 1) {
    return leaves[start]
  }
  const k = split(n)
  return nodeHash(mth(leaves, start, start + k), mth(leaves, start + k, end))
}

/** The Merkle tree hash of leaf hashes (SHA-256 of nothing for an empty tree). */
export function merkleRoot (leafHashes: Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) {
    return EMPTY_ROOT
  }
  return mth(leafHashes, 0, leafHashes.length)
}

/** The audit path of leaf `index` in the tree of `leafHashes` (RFC 6962 §2.1.1). */
export function inclusionPath (leafHashes: Uint8Array[], index: number): Uint8Array[] {
  if (!Number.isInteger(index) || index < 0 || index >= leafHashes.length) {
    throw new RangeError(`Leaf ${index} is not in a tree of ${leafHashes.length}`)
  }
  const path: Uint8Array[] = []
  let start = 0
  let end = leafHashes.length
  let m = index
  // walk down from the root, collecting the other subtree at each split, then reverse
  while (end - start > 1) {
    const k = split(end - start)
    if (m < k) {
      path.push(mth(leafHashes, start + k, end))
      end = start + k
    } else {
      path.push(mth(leafHashes, start, start + k))
      start = start + k
      m -= k
    }
  }
  return path.reverse()
}


/**
 * Check that `receiptId` is in the tree with this `root` (RFC 9162 §2.1.3.2).
 * Pure, needs nothing but its arguments; false for any malformed or
 * mismatching proof, never throws.
 */
export function verifyInclusion (receiptId: Uint8Array, proof: InclusionProof, root: Uint8Array): boolean {
  try {
    if (!(receiptId instanceof Uint8Array) || !(root instanceof Uint8Array) || root.byteLength !== 32) {
      return false
    }
    const { index, size, siblings } = proof
    if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size || size > 2 ** 31) {
      return false
    }
    if (!Array.isArray(siblings) || siblings.length > 64) {
      return false
    }
    let fn = index
    let sn = size - 1
    let r = leafHash(receiptId)
    for (const p of siblings) {
      if (!(p instanceof Uint8Array) || p.byteLength !== 32 || sn === 0) {
        return false
      }
      if ((fn & 1) === 1 || fn === sn) {
        r = nodeHash(p, r)
        if ((fn & 1) === 0) {
          while ((fn & 1) === 0 && fn !== 0) {
            fn >>>= 1
            sn >>>= 1
          }
        }
      } else {
        r = nodeHash(r, p)
      }
      fn >>>= 1
      sn >>>= 1
    }
    return sn === 0 && equal(r, root)
  } catch {
    return false
  }
}
