/**
 * Real libp2p nodes for the integration tests: TCP on 127.0.0.1, noise,
 * yamux, identify, ping, kad-dht (server mode, Shoal's protocol id, loopback
 * addresses kept) and, unless told otherwise, the discovery service.
 */

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { CapabilityRecordType, RECORD_VERSION, signRecord } from '@shoal/records'
import { createLibp2p } from 'libp2p'
import { discovery } from '../src/index.js'
import type { Discovery, DiscoveryComponents, DiscoveryInit } from '../src/index.js'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { KadDHTComponents, SingleKadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { CapabilityRecord, SignedRecord } from '@shoal/records'
import type { Libp2pOptions } from 'libp2p'

/** A node with discovery. */
export type DiscoveryNode = Libp2p<{ identify: Identify, ping: Ping, dht: SingleKadDHT, discovery: Discovery }>

/** A node with only the DHT (attackers, bystanders). */
export type DhtNode = Libp2p<{ identify: Identify, ping: Ping, dht: SingleKadDHT }>

/** The DHT protocol of the test network (kept apart from the public Amino DHT). */
export const KAD_PROTOCOL = '/shoal/kad/1.0.0'

/** kad-dht, typed as the single DHT it is (its routing table's size is public there). */
function dht (): (components: KadDHTComponents) => SingleKadDHT {
  const factory = kadDHT({
    protocol: KAD_PROTOCOL,
    clientMode: false,
    peerInfoMapper: passthroughMapper,
    allowQueryWithZeroPeers: true,
    initialQuerySelfInterval: 500
  })
  return (components) => factory(components) as SingleKadDHT
}

function base (privateKey?: PrivateKey): Libp2pOptions {
  return {
    privateKey,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false }
  }
}

/** Start a node with discovery; `wrap` changes what its discovery service is given of the node. */
export async function createDiscoveryNode (init: DiscoveryInit = {}, privateKey?: PrivateKey, wrap?: (components: DiscoveryComponents) => DiscoveryComponents): Promise<DiscoveryNode> {
  const service = discovery(init)
  return createLibp2p({
    ...base(privateKey),
    services: { identify: identify(), ping: ping(), dht: dht(), discovery: (components: DiscoveryComponents) => service(wrap?.(components) ?? components) }
  })
}

/** Start a node with the DHT but without discovery. */
export async function createDhtNode (privateKey?: PrivateKey): Promise<DhtNode> {
  return createLibp2p({
    ...base(privateKey),
    services: { identify: identify(), ping: ping(), dht: dht() }
  })
}

/** Connect nodes in a ring with chords (i to i+1 and i+2), then wait until every routing table holds `minPeers`. */
export async function connect (nodes: Array<Libp2p<{ dht: SingleKadDHT }>>, minPeers = 2): Promise<void> {
  for (let i = 0; i < nodes.length; i++) {
    for (const step of [1, 2]) {
      const other = nodes[(i + step) % nodes.length]
      if (other !== nodes[i]) {
        // a dial crossing the other side's own dial to us can be reset on a busy host: try again
        for (let attempt = 0; ; attempt++) {
          try {
            await nodes[i].dial(other.getMultiaddrs())
            break
          } catch (err) {
            if (attempt >= 2) {
              throw err
            }
            await new Promise(resolve => setTimeout(resolve, 100))
          }
        }
      }
    }
  }
  const deadline = Date.now() + 20_000
  for (const node of nodes) {
    while (node.services.dht.routingTable.size < Math.min(minPeers, nodes.length - 1)) {
      if (Date.now() > deadline) {
        throw new Error('routing tables did not fill')
      }
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
}

/** A CapabilityRecord value of `key`'s peer, with defaults overridable. */
export function capability (key: PrivateKey, fields: Partial<CapabilityRecord> = {}): CapabilityRecord {
  const now = Date.now()
  return {
    version: RECORD_VERSION,
    provider: peerIdFromPrivateKey(key).toMultihash().bytes,
    seq: now,
    gpus: [{ model: 'RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 1 }],
    sensors: [],
    geohash: 'xn76u',
    price: { perUnit: 10, currency: 'USDC', unit: 'gpu-second' },
    concurrency: 1,
    freeSlots: 1,
    addrs: [],
    createdMs: now,
    expiresMs: now + 600_000,
    ...fields
  }
}

/** Sign a record with `key` (the record may name another provider: the point of a forgery). */
export async function sign (value: CapabilityRecord, key: PrivateKey): Promise<SignedRecord<CapabilityRecord>> {
  return signRecord(CapabilityRecordType, value, key)
}

/** A fresh Ed25519 key. */
export async function newKey (): Promise<PrivateKey> {
  return generateKeyPair('Ed25519')
}
