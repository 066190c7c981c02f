/**
 * @packageDocumentation
 *
 * Work in progress.
 */

export {}

export * from './latency/index.js'
export * from './random.js'
export * from './transport/index.js'
