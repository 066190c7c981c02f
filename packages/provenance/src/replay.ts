/**
 * The replay index: every chunk hash and content hash of the captures this
 * node accepted, with the job each answered. Footage attested again for
 * another bounty is a replay. Bounded; persisted in the datastore when given.
 */

import { Key } from 'interface-datastore'
import { toHex } from '@shoal/utils'
import type { AbortOptions } from '@libp2p/interface'
import type { CaptureAttestation, SignedRecord } from '@shoal/records'
import type { Datastore } from 'interface-datastore'

/** Options of the replay index. */
export interface ReplayIndexInit {
  /** where entries survive restarts (memory only when absent) */
  datastore?: Datastore
  /** most hashes kept, oldest dropped first (default 1_000_000) */
  maxEntries?: number
}

/** An earlier capture holding a hash. */
export interface ReplayHit {
  /** hex of the record id of the earlier attestation */
  attestationId: string
  /** hex of its job id ('' when none) */
  jobId: string
}

/** Where entries are kept in the datastore: one key per hash (hex). */
export const REPLAY_PREFIX = '/shoal/provenance/replay/'

const DEFAULT_MAX_ENTRIES = 1_000_000

interface Entry extends ReplayHit {
  /** insertion order, so the oldest is dropped first after a restart too */
  seq: number
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

/** Hashes of accepted footage. */
export class ReplayIndex {
  private readonly entries = new Map<string, Entry>()
  private readonly datastore?: Datastore
  private readonly maxEntries: number
  private seq = 0

  constructor (init: ReplayIndexInit = {}) {
    this.datastore = init.datastore
    this.maxEntries = Math.max(1, init.maxEntries ?? DEFAULT_MAX_ENTRIES)
  }

  /** Load persisted entries (entries that do not parse are skipped). */
  async start (options?: AbortOptions): Promise<void> {
    if (this.datastore == null) {
      return
    }
    const loaded: Array<[string, Entry]> = []
    for await (const { key, value } of this.datastore.query({ prefix: REPLAY_PREFIX }, options)) {
      try {
        const e = JSON.parse(textDecoder.decode(value)) as Partial<Entry>
        if (typeof e.attestationId === 'string' && typeof e.jobId === 'string' && typeof e.seq === 'number') {
          loaded.push([key.baseNamespace(), { attestationId: e.attestationId, jobId: e.jobId, seq: e.seq }])
        }
      } catch {}
    }
    loaded.sort((a, b) => a[1].seq - b[1].seq)
    for (const [hash, entry] of loaded) {
      this.entries.delete(hash)
      this.entries.set(hash, entry)
      this.seq = Math.max(this.seq, entry.seq + 1)
    }
    await this.evict(options)
  }

  async stop (): Promise<void> {}

  /** Hashes held. */
  get size (): number {
    return this.entries.size
  }

  /** The earlier capture holding `hashHex` (a chunk or content hash, hex), if any. */
  seen (hashHex: string): ReplayHit | undefined {
    const e = this.entries.get(hashHex.toLowerCase())
    return e == null ? undefined : { attestationId: e.attestationId, jobId: e.jobId }
  }

  /** Record an accepted capture's content hash and chunk hashes (a hash held already keeps its first capture). */
  async add (attestation: SignedRecord<CaptureAttestation>, chunkHashes: Uint8Array[], options?: AbortOptions): Promise<void> {
    const hit: ReplayHit = { attestationId: toHex(attestation.id), jobId: toHex(attestation.value.jobId) }
    const added: Array<[string, Entry]> = []
    for (const hash of [attestation.value.contentHash, ...chunkHashes]) {
      const hex = toHex(hash)
      if (this.entries.has(hex)) {
        continue
      }
      const entry = { ...hit, seq: this.seq++ }
      this.entries.set(hex, entry)
      added.push([hex, entry])
    }
    if (this.datastore != null && added.length > 0) {
      const batch = this.datastore.batch()
      for (const [hex, entry] of added) {
        batch.put(new Key(REPLAY_PREFIX + hex), textEncoder.encode(JSON.stringify(entry)))
      }
      await batch.commit(options)
    }
    await this.evict(options)
  }

  /** Drop the oldest entries beyond the bound. */
  private async evict (options?: AbortOptions): Promise<void> {
    const over = this.entries.size - this.maxEntries
    if (over <= 0) {
      return
    }
    const dropped: string[] = []
    for (const hex of this.entries.keys()) {
      if (dropped.length >= over) {
        break
      }
      dropped.push(hex)
    }
    for (const hex of dropped) {
      this.entries.delete(hex)
    }
    if (this.datastore != null) {
      const batch = this.datastore.batch()
      for (const hex of dropped) {
        batch.delete(new Key(REPLAY_PREFIX + hex))
      }
      await batch.commit(options)
    }
  }
}
