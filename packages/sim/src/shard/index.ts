/**
 * Sharding: the peers of one simulation spread over worker threads, child
 * processes or processes on other machines, connected through gateways that carry simulated
 * packets between the shards' networks after the sender's link model has
 * delayed them.
 */

export { SimGateway } from './gateway.js'
export type { GatewayRoute, GatewayStats, SimGatewayInit } from './gateway.js'
export { MessagePortChannel, SocketChannel } from './channel.js'
export type { ChannelHandler, GatewayChannel, SocketChannelInit } from './channel.js'
export { encodeFrame, decodeFrame, FrameReader, FrameKind, lengthPrefixed, FLAG_FROM_DIALER, FLAG_TIMEOUT } from './frame.js'
export type { GatewayFrame, SynPayload } from './frame.js'
export { InvalidGatewayFrameError, InvalidControlFrameError, ShardError } from './errors.js'
export { WorkerLink, ProcessLink, SocketLink, decodeControlMessage, encodeControlMessage, parseHostPort } from './control.js'
export type { ControlLink, SocketLinkInit } from './control.js'
export { runShard, joinCoordinator, CONTROL_PROTOCOL_VERSION } from './shard-runner.js'
export type { ShardBindOptions, JoinOptions } from './shard-runner.js'
export * from './constants.js'
export { ShardedSimulation, createShardedSimulation, autoShards } from './sharded-simulation.js'
export type { ShardedSimulationInit, ShardedPeer } from './sharded-simulation.js'
export type { ServicesModule, ShardPlan, ShardStats, PeerStatus, GatewayAddress, ShardInit, ShardWorkerData, ToShard, FromShard, ShardMethods, ShardResult, ShardHandlers } from './protocol.js'
