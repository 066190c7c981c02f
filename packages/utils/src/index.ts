/**
 * @packageDocumentation
 *
 * Small helpers shared by the Shoal packages, in the spirit of
 * `@libp2p/utils`: a per-key token bucket rate limiter, a size-bounded map,
 * byte helpers, a safe rendering of untrusted values for error messages and
 * reads of libp2p's components (`optionalService`, `serviceAs`). Nothing here knows about Shoal's records or protocols.
 *
 * @example
 *
 * ```ts
 * import { BoundedMap, TokenBucketLimiter, sha256, toHex } from '@shoal/utils'
 *
 * // 5 requests at once, then 1 per second, per peer; at most 10,000 peers tracked
 * const limiter = new TokenBucketLimiter({ burst: 5, perSecond: 1, maxKeys: 10_000 })
 * if (!limiter.tryTake(peerId.toString())) {
 *   // refuse
 * }
 *
 * // the 1,000 most recently written entries
 * const seen = new BoundedMap<string, number>(1_000)
 * seen.set(toHex(sha256(bytes)), Date.now())
 * ```
 */

export { TokenBucketLimiter } from './token-bucket.js'
export type { TokenBucketInit } from './token-bucket.js'
export { BoundedMap } from './bounded-map.js'
export { EMPTY_BYTES, equalBytes, sha256, toHex } from './bytes.js'
export { show } from './show.js'
export { asError, describeError, errorCode, errorMessage, errorName } from './thrown.js'
export { optionalService, serviceAs } from './components.js'
export { Rng, createRng } from './random.js'
export { sleep, timeoutSignal, untilAborted } from './timeout.js'
export type { Seed } from './random.js'
export { existingConnection, openStreamTo } from './streams.js'
export type { OpenConnection, StreamOpener, StreamOpenOptions } from './streams.js'
