/**
 * Footage on IPFS: a capture is stored with Helia as a UnixFS directory
 * whose entries are the chunks, named by their index as six decimal digits
 * (`000000`, `000001`, ...), each a UnixFS file (docs/spec.md §6.1). Its CID
 * goes in the attestation; requesters fetch it over bitswap.
 */

import type { AbortOptions, Libp2p } from '@libp2p/interface'
import type { Blockstore } from 'interface-blockstore'
import type { Datastore } from 'interface-datastore'

/** Stores and fetches chunked footage by CID. */
export interface FootageStore {
  /** Store chunks; resolves to the directory's CID (string). */
  add(chunks: Uint8Array[], options?: AbortOptions): Promise<string>
  /**
   * The chunks of `cid`, in order, fetched from peers over bitswap when
   * not held (`undefined` where a chunk is missing). Throws FootageError
   * for a CID that is not such a directory, or beyond `maxChunks` / `maxBytes`.
   */
  get(cid: string, options?: AbortOptions & { maxChunks?: number, maxBytes?: number }): Promise<Array<Uint8Array | undefined>>
  /** Whether every block of `cid` is held here. */
  has(cid: string, options?: AbortOptions): Promise<boolean>
  /** Stop the Helia node (not the libp2p node it runs on). */
  stop(): Promise<void>
}

/** Options of {@link createFootageStore}. */
export interface FootageStoreInit {
  /** the libp2p node to fetch and serve over (bitswap); offline when absent */
  libp2p?: Libp2p
  /** where blocks are kept (memory when absent; the full node gives a FsBlockstore) */
  blockstore?: Blockstore
  /** Helia's own datastore (memory when absent) */
  datastore?: Datastore
}

/** A footage store on Helia. */
export async function createFootageStore (init: FootageStoreInit = {}): Promise<FootageStore> {
  throw new Error('not implemented')
}
