/**
 * @packageDocumentation
 *
 * Find nearby GPU and data-capture providers through the Kademlia DHT.
 * Providers advertise a signed CapabilityRecord under DHT provider keys per
 * (capability class, geohash cell) at a few precisions; searchers look up
 * their own cell, its neighbours, then coarser cells, and fetch and verify
 * each provider's record from the provider itself over
 * `/shoal/capability/1.0.0`. The key format is in docs/spec.md §3.
 *
 * @example
 *
 * ```ts
 * import { noise } from '@chainsafe/libp2p-noise'
 * import { yamux } from '@chainsafe/libp2p-yamux'
 * import { identify } from '@libp2p/identify'
 * import { kadDHT } from '@libp2p/kad-dht'
 * import { ping } from '@libp2p/ping'
 * import { tcp } from '@libp2p/tcp'
 * import { discovery } from '@shoal/discovery'
 * import { createLibp2p } from 'libp2p'
 *
 * const node = await createLibp2p({
 *   addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
 *   transports: [tcp()],
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()],
 *   services: { identify: identify(), ping: ping(), dht: kadDHT({ protocol: '/shoal/kad/1.0.0' }), discovery: discovery() }
 * })
 *
 * for await (const provider of node.services.discovery.findNearby({ geohash: 'xn76u', gpuClass: 'consumer-24g', minVramMib: 16384 }, { k: 5 })) {
 *   console.log(provider.peerId.toString(), provider.found.cell, provider.reasons)
 * }
 * ```
 */

import { Discovery } from './discovery.js'
import type { DiscoveryComponents, DiscoveryInit } from './discovery.js'

export { Discovery } from './discovery.js'
export type {
  AdvertiseResult, ConfirmOptions, DiscoveryComponents, DiscoveryEvents, DiscoveryInit, DiscoveryStats, FindNearbyOptions,
  FindNearbyProgressEvents, FoundUnder, MeasuredCandidate, NearbyProvider, Offer, SearchSummary
} from './discovery.js'
export * from './constants.js'
export * from './errors.js'
export * from './geohash.js'
export * from './keys.js'
export * from './match.js'

/** Create the discovery service: `services: { discovery: discovery() }` (needs a kad-dht service, by default named `dht`). */
export function discovery (init: DiscoveryInit = {}): (components: DiscoveryComponents) => Discovery {
  return (components) => new Discovery(components, init)
}
