/**
 * @packageDocumentation
 *
 * Work in progress.
 */

export {}

export * from './latency/index.js'
export * from './random.js'
export * from './transport/index.js'
export * from './harness/index.js'
export * from './scenario/index.js'
export * from './output/index.js'
export * from './shard/index.js'
