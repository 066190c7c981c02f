/**
 * A libp2p transport for simulations: hundreds of real nodes in one process,
 * connected through links with per-site-pair delay, jitter, bandwidth and
 * TCP-like loss, which can be cut and healed. Noise, yamux and every service
 * run over it unchanged.
 *
 * Model, per direction of a connection:
 * - a chunk waits for the link to finish serializing earlier chunks, takes
 *   `bytes / bandwidthBps` to serialize, then `rttMs / 2 ± jitterMs / 2` to
 *   propagate; bytes never overtake each other;
 * - each of its `ceil(bytes / mss)` segments is lost with probability
 *   `loss`; a lost segment costs one RTO (`max(minRtoMs, rtt + 4 * jitter)`),
 *   doubling per lost retransmission, and blocks what follows; after
 *   `maxRetransmits` lost retransmissions the connection breaks with
 *   `LinkTimeoutError` on both ends once the sender would have given up;
 * - a cut holds everything in flight (a black hole): healed in time, the data
 *   arrives one propagation delay after the heal; otherwise the connection
 *   breaks like under loss. Idle connections notice nothing, as with TCP.
 *   Dials across a cut fail after `cutDialTimeoutMs`.
 * - opening costs a three-way handshake over the same links.
 *
 * Not modelled: congestion control (slow start), a shared access link per
 * node (bandwidth is per connection and direction), packet header overhead.
 *
 * @example
 *
 * ```TypeScript
 * import { SimNetwork, simTransport } from '@shoal/sim'
 *
 * const network = new SimNetwork({
 *   linkProfile: (from, to) => ({ rttMs: from === to ? 2 : 120, jitterMs: 2, loss: 0.001 }),
 *   seed: 7
 * })
 * const node = await createLibp2p({
 *   addresses: { listen: ['/memory/node-1'] },
 *   transports: [simTransport({ network, site: 'sydney' })],
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()]
 * })
 * network.partition(['sydney'], ['london'])
 * network.heal()
 * ```
 */

export { SimNetwork } from './network.js'
export type { SimNetworkInit, LinkStats } from './network.js'
export { SimTransport, simTransport } from './transport.js'
export type { SimTransportInit, SimTransportComponents } from './transport.js'
export { SimMultiaddrConnection } from './connection.js'
export { Scheduler } from './scheduler.js'
export type { Clock, ScheduledTask, SchedulerInit } from './scheduler.js'
export {
  planChunk,
  directionParams,
  retransmissionTimeout,
  retransmissionDelay,
  giveUpAfter,
  segmentCount,
  chunkLossProbability,
  backlogBytes,
  backlogFallsTo
} from './link-model.js'
export type { LinkProfile, LinkProfileFunction, RandomSource, TcpModel, DirectionParams, DirectionState, ChunkPlan } from './link-model.js'
export { InvalidLinkProfileError, LinkTimeoutError, LinkResetError, NatRefusedError } from './errors.js'
export { NatMapping } from './nat.js'
export type { NatInit, NatType } from './nat.js'
export * from './constants.js'
