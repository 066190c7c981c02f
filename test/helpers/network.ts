/**
 * The embedder's node: a plain libp2p 3 node built the way a user builds
 * their own (TCP on 127.0.0.1, noise, yamux, identify, ping, kad-dht,
 * gossipsub), with the Shoal services spread in from `shoalServices()`.
 * The flows that run on it (`startProvider`, `submitJob`) come from
 * `@shoal/node` as they are.
 */

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { JOB_BOARD_SCORE_THRESHOLDS, jobBoardScoreParams } from '@shoal/job-board'
import { SHOAL_DHT_PROTOCOL, shoalServices } from '@shoal/node'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import type { KadDHT, SingleKadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { ShoalCoreServices, ShoalServicesInit } from '@shoal/node'

/** A user's own libp2p node with the Shoal services added. */
export type EmbedderNode = Libp2p<{ identify: Identify, ping: Ping, pubsub: GossipSub, dht: KadDHT } & ShoalCoreServices>

/** Start an embedder's node on 127.0.0.1 with `shoalServices(init)`. */
export async function createEmbedderNode (init: ShoalServicesInit = {}): Promise<EmbedderNode> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    datastore: new MemoryDatastore(),
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({ scoreParams: jobBoardScoreParams(), scoreThresholds: JOB_BOARD_SCORE_THRESHOLDS }),
      // loopback addresses are private: keep them in DHT records or nobody is dialable
      dht: kadDHT({ protocol: SHOAL_DHT_PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper }),
      ...shoalServices(init)
    }
  })
}

/** Dial every pair, then wait until every DHT routing table knows the others. */
export async function connectAll (nodes: EmbedderNode[]): Promise<void> {
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      await nodes[i].dial(nodes[j].getMultiaddrs())
    }
  }
  await waitFor(() => nodes.every(n => (n.services.dht as SingleKadDHT).routingTable.size >= nodes.length - 1), 'DHT routing tables to fill')
}

/** Wait until the publisher knows `peers` are subscribed to `topic` (gossipsub learns subscriptions after connecting). */
export async function waitForSubscribers (publisher: EmbedderNode, topic: string, peers: EmbedderNode[]): Promise<void> {
  await waitFor(() => {
    const subscribers = publisher.services.pubsub.getSubscribers(topic)
    return peers.every(p => subscribers.some(s => s.equals(p.peerId)))
  }, `subscribers of ${topic}`)
}

/** Poll `condition` every 25 ms until it holds; throw after `timeout` ms naming what was awaited. */
export async function waitFor (condition: () => boolean | Promise<boolean>, what: string, timeout = 20_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`)
    }
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}
