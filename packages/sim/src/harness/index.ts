/**
 * The simulation harness: N real libp2p nodes (noise, yamux, identify,
 * ping, kad-dht, gossipsub plus the caller's services) in one process on the
 * sim transport, placed by a latency model, wired as the network would wire
 * them, with the oracle RTT, churn, partitions and an event log.
 */

export { createSimulation, Simulation, shardOf } from './simulation.js'
export type { ConnectReport, SettleOptions, SimProgress, SimulationInit } from './simulation.js'
export type { PeerRef, PeerSpec, PeerState, SimPeer } from './peer.js'
export type { LookupResult, PingOptions, PingResult } from './probes.js'
export { planDials, planJoin, pool, randomPairs } from './connect.js'
export type { ConnectOptions, PlannedDial } from './connect.js'
export { EventLog } from './events.js'
export type { EventLogEvents, SimEvent, SimEventValue } from './events.js'
export { simNodeOptions } from './stack.js'
export type { SimNodeParams, SimReachability, SimServiceFactories, SimServices, SimStackOptions } from './stack.js'
export { planNat, simIpAddress, DEFAULT_HOLE_PUNCH_SHARE, DEFAULT_RELAYS } from './nat.js'
export type { SimNatOptions, SimNatPlan } from './nat.js'
export { silentLogger, simLogger } from './logger.js'
export { SimulationConfigError, UnknownPeerError } from './errors.js'
export * from './constants.js'
