/**
 * @packageDocumentation
 *
 * A simulator of real libp2p networks on one machine: hundreds to
 * thousands of real libp2p nodes (the stock stack plus Shoal services) on a
 * simulated transport whose links follow a latency model (RTT, jitter,
 * bandwidth, TCP-like loss, partitions), with churn, adversaries, JSON
 * scenarios, an event log, CSV/SVG output, and sharding over worker
 * threads, processes or machines.
 *
 * @example
 *
 * ```ts
 * import { createSimulation, geographicLatency } from '@shoal/sim'
 *
 * const sim = await createSimulation({ peers: 100, latency: geographicLatency(), seed: 42 })
 * const { rttMs, oracleMs } = await sim.ping(0, 1)
 * await sim.stop()
 * ```
 */

export * from './latency/index.js'
export * from './random.js'
export * from './time/index.js'
export * from './transport/index.js'
export * from './harness/index.js'
export * from './scenario/index.js'
export * from './output/index.js'
export * from './shard/index.js'
export * from './market/index.js'
