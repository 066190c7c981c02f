/**
 * The replay index: every chunk hash and content hash of the captures this
 * node accepted, with the job each answered. Footage attested again for
 * another bounty is a replay. Bounded; persisted in the datastore when given.
 */

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

/** Hashes of accepted footage. */
export class ReplayIndex {
  constructor (init: ReplayIndexInit = {}) {
    throw new Error('not implemented')
  }

  /** Load persisted entries. */
  async start (options?: AbortOptions): Promise<void> {}

  async stop (): Promise<void> {}

  /** The earlier capture holding `hashHex` (a chunk or content hash, hex), if any. */
  seen (hashHex: string): ReplayHit | undefined {
    throw new Error('not implemented')
  }

  /** Record an accepted capture's content hash and chunk hashes. */
  async add (attestation: SignedRecord<CaptureAttestation>, chunkHashes: Uint8Array[], options?: AbortOptions): Promise<void> {
    throw new Error('not implemented')
  }
}
