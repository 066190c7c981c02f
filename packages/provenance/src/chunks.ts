/**
 * One-second chunks of footage and their Merkle root (docs/spec.md §7.1):
 * chunk hash = SHA-256 of the chunk's bytes; the root is the RFC 6962 Merkle
 * tree hash over the chunk hashes in order (leaf = SHA-256(0x00 || chunk
 * hash), node = SHA-256(0x01 || left || right)), as @shoal/receipts builds
 * for receipt ids.
 */

import { inclusionPath, leafHash, merkleRoot, verifyInclusion } from '@shoal/receipts'
import { sha256 } from '@shoal/utils'

/** SHA-256 of one chunk. */
export function hashChunk (chunk: Uint8Array): Uint8Array {
  return sha256(chunk)
}

/** The Merkle root over chunk hashes, in order. */
export function chunkRoot (chunkHashes: Uint8Array[]): Uint8Array {
  return merkleRoot(chunkHashes.map(leafHash))
}

/** The audit path of chunk `index` among `chunkHashes`; throws RangeError for an index outside them. */
export function chunkInclusionPath (chunkHashes: Uint8Array[], index: number): Uint8Array[] {
  return inclusionPath(chunkHashes.map(leafHash), index)
}

/** Whether `chunkHash` is chunk `index` of `count` under `root`, by its audit path. Never throws. */
export function verifyChunkInclusion (root: Uint8Array, chunkHash: Uint8Array, index: number, count: number, path: Uint8Array[]): boolean {
  return verifyInclusion(chunkHash, { epoch: 0, index, size: count, siblings: path, root }, root)
}
