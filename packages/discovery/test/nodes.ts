/**
 * Real libp2p nodes for the integration tests: the loopback test node of
 * @shoal/test-support (TCP on 127.0.0.1, noise, yamux) with identify, ping,
 * kad-dht (server mode, Shoal's protocol id, loopback addresses kept) and,
 * unless told otherwise, the discovery service.
 */

import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { CapabilityRecordType, signRecord } from '@shoal/records'
import { capabilityRecord, createTestNode } from '@shoal/test-support'
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

/** What every node here has besides its services: a key if given, and no connection monitor (it would drop connections a busy test host is slow to ping). */
function base (privateKey?: PrivateKey): Pick<Libp2pOptions, 'privateKey' | 'connectionMonitor'> {
  return { privateKey, connectionMonitor: { enabled: false } }
}

/** Start a node with discovery; `wrap` changes what its discovery service is given of the node. */
export async function createDiscoveryNode (init: DiscoveryInit = {}, privateKey?: PrivateKey, wrap?: (components: DiscoveryComponents) => DiscoveryComponents): Promise<DiscoveryNode> {
  const service = discovery(init)
  return createTestNode({
    ...base(privateKey),
    services: { identify: identify(), ping: ping(), dht: dht(), discovery: (components: DiscoveryComponents) => service(wrap?.(components) ?? components) }
  })
}

/** Start a node with the DHT but without discovery. */
export async function createDhtNode (privateKey?: PrivateKey): Promise<DhtNode> {
  return createTestNode({
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

/** A CapabilityRecord value of `key`'s peer made now (the DHT checks expiry against the real clock), with defaults overridable. */
export function capability (key: PrivateKey, fields: Partial<CapabilityRecord> = {}): CapabilityRecord {
  return capabilityRecord(peerIdFromPrivateKey(key).toMultihash().bytes, fields, Date.now())
}

/** Sign a record with `key` (the record may name another provider: the point of a forgery). */
export async function sign (value: CapabilityRecord, key: PrivateKey): Promise<SignedRecord<CapabilityRecord>> {
  return signRecord(CapabilityRecordType, value, key)
}

/** A fresh Ed25519 key. */
export async function newKey (): Promise<PrivateKey> {
  return generateKeyPair('Ed25519')
}
