/**
 * What a NetworkCoordinate (carried in capability records) means: the RTT
 * two Vivaldi coordinates predict. Anyone ranking providers by coordinate
 * must read it the same way, so the formula lives here, once.
 */

import type { NetworkCoordinate } from './pb/records.js'

/**
 * RTT predicted by two Vivaldi coordinates, ms: the Euclidean distance of
 * the vectors plus both heights. Undefined when either is missing, has no
 * dimensions, the dimensions differ, or the result is not finite.
 * Exactly symmetric: estimateRtt(a, b) === estimateRtt(b, a).
 */
export function estimateRtt (a: NetworkCoordinate | undefined, b: NetworkCoordinate | undefined): number | undefined {
  if (a == null || b == null || a.vec.length !== b.vec.length || a.vec.length === 0) {
    return undefined
  }
  let sum = 0
  for (let i = 0; i < a.vec.length; i++) {
    sum += (a.vec[i] - b.vec[i]) ** 2
  }
  // heights summed first: IEEE addition is commutative but not associative
  const rtt = Math.sqrt(sum) + (a.height + b.height)
  return Number.isFinite(rtt) ? rtt : undefined
}
