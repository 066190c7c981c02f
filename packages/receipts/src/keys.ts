/**
 * Where the store keeps what under its prefix: one place that names every
 * datastore key, and the reads every role shares.
 */

import { Key } from 'interface-datastore'
import { errorName } from '@shoal/utils'
import { seqHex, toHex, u64 } from './utils.js'
import type { EquivocationKind } from './equivocation.js'
import type { AbortOptions } from '@libp2p/interface'
import type { WorkReceipt } from '@shoal/records'
import type { Batch, Datastore } from 'interface-datastore'

/** The datastore keys of one store, all under its prefix. */
export class StoreKeys {
  private readonly prefix: string

  constructor (prefix: string) {
    this.prefix = prefix.replace(/\/+$/, '')
  }

  /** A key under the prefix, or the prefix of a key family when given one part. */
  key (...parts: string[]): Key {
    return new Key(`${this.prefix}/${parts.join('/')}`, false)
  }

  meta (): Key { return this.key('meta') }
  head (): Key { return this.key('head') }
  log (seq: number): Key { return this.key('log', seqHex(seq)) }
  receipt (idHex: string): Key { return this.key('receipt', idHex) }
  seq (idHex: string): Key { return this.key('seq', idHex) }
  pending (idHex: string): Key { return this.key('pending', idHex) }
  provider (peerHex: string, seq: number): Key { return this.key('provider', peerHex, seqHex(seq)) }
  requester (peerHex: string, seq: number): Key { return this.key('requester', peerHex, seqHex(seq)) }
  job (providerHex: string, jobIdHex: string): Key { return this.key('job', providerHex, jobIdHex) }
  assignment (assignmentIdHex: string): Key { return this.key('assignment', assignmentIdHex) }
  epoch (epoch: number): Key { return this.key('epoch', seqHex(epoch)) }
  equivocation (seq: number, kind: EquivocationKind): Key { return this.key('equivocation', seqHex(seq), kind) }

  /** Write the indexes of a countersigned receipt at `seq`: by id, by provider, by requester. */
  putIndexes (batch: Batch, idHex: string, seq: number, value: WorkReceipt): void {
    const id = Buffer.from(idHex, 'hex')
    batch.put(this.seq(idHex), u64(seq))
    batch.put(this.provider(toHex(value.provider), seq), id)
    batch.put(this.requester(toHex(value.requester), seq), id)
  }
}

/** A datastore value, or undefined when the key is absent (other errors are thrown). */
export async function getOrUndefined (datastore: Datastore, key: Key, options?: AbortOptions): Promise<Uint8Array | undefined> {
  try {
    return await datastore.get(key, options)
  } catch (err: unknown) {
    if (errorName(err) === 'NotFoundError') {
      return undefined
    }
    throw err
  }
}
