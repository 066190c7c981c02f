/** Real nodes for the witness and service tests: the memory transport, for its per-listener latency. */

import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { memory } from '@libp2p/memory'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { createReceiptStore, receiptStore } from '@shoal/receipts'
import { RECORD_VERSION, WorkReceiptType, countersign, newRandomId, signRecord } from '@shoal/records'
import { createTestNode, party } from '@shoal/test-support'
import { MemoryDatastore } from 'datastore-core'
import { provenance } from '../src/index.js'
import type { Provenance, ProvenanceInit } from '../src/index.js'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { ReceiptStore } from '@shoal/receipts'
import type { Datastore } from 'interface-datastore'

/** Berlin and a cell next to it, and Madrid (about 1870 km away). */
export const BERLIN = 'u33db'
export const BERLIN_NEAR = 'u33dc'
export const MADRID = 'ezjmg'

let counter = 0

/** A node listening on the memory transport; messages to it wait `latency` ms. */
export async function memoryNode<S extends Record<string, unknown>> (services: S, options: { latency?: number, privateKey?: PrivateKey } = {}): Promise<Libp2p<any>> {
  return createTestNode({
    privateKey: options.privateKey,
    addresses: { listen: [`/memory/shoal-provenance-test-${process.pid}-${counter++}`] },
    transports: [memory({ latency: options.latency ?? 0 })],
    services: services as any
  })
}

export type ProvenanceNode = Libp2p<{ identify: Identify, ping: Ping, receipts: ReceiptStore, provenance: Provenance }>

/** A full node: identify, ping, a receipt store and the provenance service. */
export async function provenanceNode (init: ProvenanceInit, options: { latency?: number, history?: boolean, privateKey?: PrivateKey, datastore?: Datastore } = {}): Promise<ProvenanceNode> {
  const privateKey = options.privateKey ?? await generateKeyPair('Ed25519')
  const node = await createTestNode({
    privateKey,
    datastore: options.datastore ?? new MemoryDatastore(),
    addresses: { listen: [`/memory/shoal-provenance-test-${process.pid}-${counter++}`] },
    transports: [memory({ latency: options.latency ?? 0 })],
    services: {
      identify: identify(),
      ping: ping(),
      receipts: receiptStore(),
      provenance: provenance(init)
    }
  }) as ProvenanceNode
  if (options.history !== false) {
    await seedHistory(node.services.receipts, privateKey)
  }
  return node
}

/**
 * The market's regular client: every test node has worked for it, so each
 * verifier holds a receipt with it, and a witness's receipt with it counts
 * as history (a counterparty the verifier itself knows).
 */
let regular: Awaited<ReturnType<typeof party>> | undefined

/** A countersigned receipt of work `key`'s peer did for the regular client, ended two hours ago: independent history. */
export async function seedHistory (store: Pick<ReceiptStore, 'put'>, key: PrivateKey): Promise<void> {
  regular ??= await party()
  const stranger = regular
  const ended = Date.now() - 2 * 60 * 60 * 1000
  const receipt = await signRecord(WorkReceiptType, {
    version: RECORD_VERSION,
    jobId: newRandomId(),
    assignmentId: new Uint8Array(32).fill(7),
    requester: stranger.id,
    provider: peerIdFromPrivateKey(key).toMultihash().bytes,
    units: 10,
    price: { perUnit: 2, currency: 'USDC', unit: 'gpu-second' },
    total: 20,
    resultHash: new Uint8Array(32).fill(1),
    startedMs: ended - 10_000,
    endedMs: ended,
    status: 0,
    prev: new Uint8Array()
  }, key)
  await store.put(await countersign(receipt, stranger.key))
}

/** A started receipt store in memory. */
export async function memoryReceipts (): Promise<ReceiptStore> {
  return createReceiptStore({ datastore: new MemoryDatastore() })
}

/** Connect every node to `hub`, and wait for identify to tell the hub their protocols. */
export async function connect (hub: Libp2p, ...others: Libp2p[]): Promise<void> {
  for (const other of others) {
    await hub.dial(other.getMultiaddrs())
  }
}
