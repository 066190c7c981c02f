/**
 * Footage on IPFS: a capture is stored with Helia as a UnixFS directory
 * whose entries are the chunks, named by their index as six decimal digits
 * (`000000`, `000001`, ...), each a UnixFS file (docs/spec.md §7.1). Its CID
 * goes in the attestation; requesters fetch it over bitswap.
 */

import { withBitswap } from '@helia/bitswap'
import { unixfs } from '@helia/unixfs'
import { createHeliaLight } from 'helia'
import { CID } from 'multiformats/cid'
import { MAX_CAPTURE_CHUNKS } from '@shoal/records'
import { setMaxListeners } from '@libp2p/interface'
import { errorMessage } from '@shoal/utils'
import { FootageError } from './errors.js'
import type { AbortOptions, Libp2p } from '@libp2p/interface'
import type { Blockstore } from 'interface-blockstore'
import type { Datastore } from 'interface-datastore'

/** One entry of a footage directory, as its listing names it (no chunk bytes fetched). */
export interface FootageEntry {
  /** the entry name: the chunk index as six decimal digits */
  name: string
  /** the chunk file's CID */
  cid: CID
  /** the size the listing reports (the link's Tsize, not necessarily the chunk's byte count) */
  size: bigint
}

/** Options of {@link FootageStore.get}. */
export interface FootageGetOptions extends AbortOptions {
  /** most chunks @default MAX_CAPTURE_CHUNKS */
  maxChunks?: number
  /** most bytes of all chunks together @default DEFAULT_MAX_FOOTAGE_BYTES */
  maxBytes?: number
  /** longest wait for one chunk, ms: past it the chunk is missing @default the store's chunkTimeoutMs */
  chunkTimeoutMs?: number
}

/** Stores and fetches chunked footage by CID. */
export interface FootageStore {
  /** Store chunks; resolves to the directory's CID (string). */
  add(chunks: Uint8Array[], options?: AbortOptions): Promise<string>
  /**
   * The chunks of `cid`, in order, fetched from peers over bitswap when
   * not held (`undefined` where a chunk is missing: not fetched within
   * `chunkTimeoutMs`, or failing). Throws FootageError for a CID that is
   * not such a directory, whose listing is not had within the listing
   * timeout, or beyond `maxChunks` / `maxBytes`.
   */
  get(cid: string, options?: FootageGetOptions): Promise<Array<Uint8Array | undefined>>
  /**
   * The entries of the footage directory `cid`, in chunk order, checked to
   * be named `000000`, `000001`, ...: what is knowable without fetching a
   * chunk. Throws FootageError as `get` does.
   */
  list(cid: string, options?: AbortOptions & { maxChunks?: number }): Promise<FootageEntry[]>
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
  /** longest wait for one chunk, ms: one block no peer serves costs at most this @default DEFAULT_CHUNK_TIMEOUT_MS */
  chunkTimeoutMs?: number
  /** longest wait for a directory's listing, ms @default DEFAULT_LIST_TIMEOUT_MS */
  listTimeoutMs?: number
}

/** Longest wait for one chunk of footage by default, ms. @default 20_000 */
export const DEFAULT_CHUNK_TIMEOUT_MS = 20_000

/** Longest wait for a footage directory's listing by default, ms. @default 20_000 */
export const DEFAULT_LIST_TIMEOUT_MS = 20_000

/** The multicodec of raw blocks. */
const RAW_CODEC = 0x55

/** The multihash code of SHA-256. */
const SHA2_256 = 0x12

/**
 * The chunk hash a footage entry's CID names, when it names one: a chunk
 * small enough to be one raw leaf has a raw-codec SHA-256 CID whose digest
 * is the SHA-256 of its bytes (docs/spec.md §7.1's chunk hash). Larger
 * chunks are UnixFS DAGs, whose CID says nothing of the bytes' hash.
 */
export function entryChunkHash (cid: CID): Uint8Array | undefined {
  if (cid.code !== RAW_CODEC || cid.multihash.code !== SHA2_256 || cid.multihash.digest.byteLength !== 32) {
    return undefined
  }
  return cid.multihash.digest
}

/** Most bytes `get` returns unless told otherwise: a day of the densest video the media rates allow is far more; 1 GiB is what a verifier holds in memory. */
export const DEFAULT_MAX_FOOTAGE_BYTES = 1024 * 1024 * 1024

/** The entry name of chunk `index`. */
export function chunkName (index: number): string {
  return index.toString().padStart(6, '0')
}

/** The caller's signal, ending after `ms` at the latest. */
function anySignal (signal: AbortSignal | undefined, ms: number): AbortSignal {
  const out = signal == null ? AbortSignal.timeout(ms) : AbortSignal.any([signal, AbortSignal.timeout(ms)])
  setMaxListeners(Infinity, out)
  return out
}

function parseCid (cid: string): CID {
  try {
    return CID.parse(cid)
  } catch (err: unknown) {
    throw new FootageError(`Not a CID: ${cid} (${errorMessage(err)})`)
  }
}

/**
 * A footage store on Helia. With `libp2p`, blocks are served and fetched
 * over bitswap on that node, which Helia does not own: Helia's libp2p
 * mixin (which would create a node of its own and stop it with Helia) is
 * left out, and the given node is handed to bitswap as Helia's `libp2p`.
 */
export async function createFootageStore (init: FootageStoreInit = {}): Promise<FootageStore> {
  const helia = createHeliaLight({ blockstore: init.blockstore, datastore: init.datastore })
  if (init.libp2p != null) {
    Object.defineProperty(helia, 'libp2p', { value: init.libp2p, enumerable: true, configurable: true })
    // @ts-expect-error withBitswap types its argument as a Helia with libp2p, which `helia` now is
    withBitswap(helia)
  }
  await helia.start()
  const fs = unixfs(helia)
  const chunkTimeoutMs = init.chunkTimeoutMs ?? DEFAULT_CHUNK_TIMEOUT_MS
  const listTimeoutMs = init.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS

  const store: FootageStore = {
    async add (chunks, options = {}) {
      if (chunks.length === 0 || chunks.length > MAX_CAPTURE_CHUNKS) {
        throw new FootageError(`Footage of ${chunks.length} chunks cannot be stored (1..${MAX_CAPTURE_CHUNKS})`)
      }
      let root: CID | undefined
      try {
        const entries = chunks.map((content, i) => ({ path: chunkName(i), content }))
        for await (const entry of fs.addAll(entries, { ...options, wrapWithDirectory: true })) {
          root = entry.cid
        }
      } catch (err: unknown) {
        throw new FootageError(`Footage could not be stored: ${errorMessage(err)}`)
      }
      if (root == null) {
        throw new FootageError('Footage could not be stored')
      }
      return root.toString()
    },

    async list (cid, options = {}) {
      const root = parseCid(cid)
      const maxChunks = options.maxChunks ?? MAX_CAPTURE_CHUNKS
      const entries: FootageEntry[] = []
      // the listing is a few blocks: a peer that will not serve them costs the listing timeout, not the caller's deadline
      const signal = anySignal(options.signal, listTimeoutMs)
      try {
        const stat = await fs.stat(root, { signal })
        if (stat.type !== 'directory') {
          throw new FootageError(`${cid} is a ${stat.type}, not a footage directory`)
        }
        for await (const entry of fs.ls(root, { signal })) {
          if (entries.length >= maxChunks) {
            throw new FootageError(`${cid} holds more than ${maxChunks} chunks`)
          }
          entries.push({ cid: entry.cid, name: entry.name, size: entry.size })
        }
      } catch (err: unknown) {
        if (err instanceof FootageError) {
          throw err
        }
        throw new FootageError(`Footage ${cid} unavailable: ${errorMessage(err)}`)
      }
      entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
      entries.forEach((entry, i) => {
        if (entry.name !== chunkName(i)) {
          throw new FootageError(`${cid} is not footage: entry ${JSON.stringify(entry.name)} where chunk ${chunkName(i)} belongs`)
        }
      })
      return entries
    },

    async get (cid, options = {}) {
      const maxBytes = options.maxBytes ?? DEFAULT_MAX_FOOTAGE_BYTES
      const perChunkMs = options.chunkTimeoutMs ?? chunkTimeoutMs
      const entries = await store.list(cid, options)

      const chunks: Array<Uint8Array | undefined> = []
      let total = 0
      for (const entry of entries) {
        options.signal?.throwIfAborted()
        const parts: Uint8Array[] = []
        let length = 0
        try {
          for await (const part of fs.cat(entry.cid, { signal: anySignal(options.signal, perChunkMs) })) {
            total += part.byteLength
            if (total > maxBytes) {
              throw new FootageError(`${cid} holds more than ${maxBytes} bytes`)
            }
            parts.push(part)
            length += part.byteLength
          }
        } catch (err: unknown) {
          if (err instanceof FootageError) {
            throw err
          }
          // a chunk not fetched in time is missing: its second goes unverified
          total -= length
          chunks.push(undefined)
          continue
        }
        const chunk = new Uint8Array(length)
        let offset = 0
        for (const part of parts) {
          chunk.set(part, offset)
          offset += part.byteLength
        }
        chunks.push(chunk)
      }
      options.signal?.throwIfAborted()
      return chunks
    },

    async has (cid, options = {}) {
      let root: CID
      try {
        root = CID.parse(cid)
      } catch {
        return false
      }
      try {
        for await (const entry of fs.ls(root, { signal: options.signal, offline: true })) {
          for await (const _ of fs.cat(entry.cid, { signal: options.signal, offline: true })) {}
        }
        return true
      } catch {
        return false
      }
    },

    async stop () {
      await helia.stop()
    }
  }
  return store
}
