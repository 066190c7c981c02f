import { DEFAULT_BANDWIDTH_BPS, DEFAULT_GEO_PARAMS, DEFAULT_JITTER, DEFAULT_LOSS_CURVE, FIBER_KM_PER_RTT_MS } from './constants.js'
import { hasCoordinates, siteDistanceKm } from './geo.js'
import type { LatencyModel, Site } from './types.js'

/**
 * What the simulation transport applies to the path between two sites
 * (structurally the transport's own `LinkProfile`, with every field set).
 */
export interface SiteLinkProfile {
  /** Round-trip time in ms (each direction delays by half). */
  rttMs: number
  /**
   * Width of the one-way delay spread in ms: the transport draws each
   * one-way delay uniformly from `rttMs / 2 ± jitterMs / 2`. A measured RTT
   * standard deviation σ becomes `jitterMs = √6 · σ`, which gives the same σ
   * over a round trip.
   */
  jitterMs: number
  /** Probability that a TCP segment is lost, in [0, 1). */
  loss: number
  /** Capacity of each direction in bytes per second. */
  bandwidthBps: number
}

/** Loss as `[distanceKm, loss]` points, linearly interpolated and flat beyond the ends. */
export type LossCurve = ReadonlyArray<readonly [number, number]>

/** Options of {@link linkProfileFor}; every field is optional. */
export interface LinkProfileOptions {
  /**
   * Loss per link: a constant, a curve over great-circle distance, or a
   * function. Sites without coordinates use a distance estimated from the
   * RTT. @default DEFAULT_LOSS_CURVE (0.01% metro ... 0.3% intercontinental ... 1% for the longest paths)
   */
  loss?: number | LossCurve | ((distanceKm: number, rttMs: number, a: Site, b: Site) => number)
  /**
   * Jitter when the model has no measured deviation for the pair: a floor
   * plus a fraction of the RTT, or a function. @default { floorMs: 0.2, fraction: 0.02 }
   */
  jitter?: { floorMs?: number, fraction?: number } | ((rttMs: number, a: Site, b: Site) => number)
  /** Use the model's measured RTT deviation (e.g. ping mdev, converted as above) where it has one. @default true */
  measuredJitter?: boolean
  /** Bandwidth of each direction in bytes per second, constant or per pair. @default 12_500_000 (100 Mbit/s) */
  bandwidthBps?: number | ((a: Site, b: Site) => number)
}

/** Interpolates a loss curve at `distanceKm`. */
export function lossAtDistance (curve: LossCurve, distanceKm: number): number {
  if (curve.length === 0) return 0
  if (distanceKm <= curve[0][0]) return curve[0][1]
  for (let i = 1; i < curve.length; i++) {
    const [x1, y1] = curve[i]
    if (distanceKm <= x1) {
      const [x0, y0] = curve[i - 1]
      return x1 === x0 ? y1 : y0 + (y1 - y0) * (distanceKm - x0) / (x1 - x0)
    }
  }
  return curve[curve.length - 1][1]
}

/** Distance implied by an RTT under the default geographic parameters (for sites without coordinates). */
function distanceFromRtt (rttMs: number): number {
  return Math.max(0, rttMs - 2 * DEFAULT_GEO_PARAMS.accessMs) * FIBER_KM_PER_RTT_MS / DEFAULT_GEO_PARAMS.inflation
}

function clampLoss (loss: number): number {
  if (!Number.isFinite(loss) || loss <= 0) return 0
  return Math.min(loss, 0.999)
}

/**
 * Turns a latency model into per-link profiles for the simulation
 * transport: RTT from the model, jitter measured or derived, loss rising
 * with distance, and a bandwidth.
 *
 * @example
 * ```ts
 * const profile = linkProfileFor(model, { loss: 0.01 })
 * const { rttMs, jitterMs, loss, bandwidthBps } = profile(siteOfA, siteOfB)
 * ```
 */
export function linkProfileFor (model: LatencyModel, options: LinkProfileOptions = {}): (a: number, b: number) => SiteLinkProfile {
  const lossOpt = options.loss ?? DEFAULT_LOSS_CURVE
  if (Array.isArray(lossOpt)) {
    for (let i = 0; i < lossOpt.length; i++) {
      const [x, y] = lossOpt[i] as [number, number]
      if (!(x >= 0) || !(y >= 0 && y < 1) || (i > 0 && x < lossOpt[i - 1][0])) {
        throw new RangeError(`Loss curve point ${i} must be [km >= 0 ascending, 0 <= loss < 1], got [${x}, ${y}]`)
      }
    }
  } else if (typeof lossOpt === 'number' && !(lossOpt >= 0 && lossOpt < 1)) {
    throw new RangeError(`Loss must be in [0, 1), got ${lossOpt}`)
  }
  const jitterOpt = options.jitter ?? DEFAULT_JITTER
  const jitterOf = typeof jitterOpt === 'function'
    ? jitterOpt
    : (rtt: number) => (jitterOpt.floorMs ?? DEFAULT_JITTER.floorMs) + (jitterOpt.fraction ?? DEFAULT_JITTER.fraction) * rtt
  const useMeasured = options.measuredJitter ?? true
  const bw = options.bandwidthBps ?? DEFAULT_BANDWIDTH_BPS
  if (typeof bw === 'number' && !(bw > 0)) {
    throw new RangeError(`bandwidthBps must be > 0, got ${bw}`)
  }

  return (a: number, b: number): SiteLinkProfile => {
    const rttMs = model.rtt(a, b)
    const sa = model.sites[a]
    const sb = model.sites[b]
    const km = hasCoordinates(sa) && hasCoordinates(sb) ? siteDistanceKm(sa, sb) : distanceFromRtt(rttMs)
    let loss: number
    if (typeof lossOpt === 'number') {
      loss = lossOpt
    } else if (typeof lossOpt === 'function') {
      loss = clampLoss(lossOpt(km, rttMs, sa, sb))
    } else {
      loss = clampLoss(lossAtDistance(lossOpt as LossCurve, km))
    }
    const sigma = useMeasured ? model.jitter?.(a, b) : undefined
    const jitterMs = Math.max(0, sigma !== undefined ? Math.sqrt(6) * sigma : jitterOf(rttMs, sa, sb))
    const bandwidthBps = typeof bw === 'number' ? bw : bw(sa, sb)
    return { rttMs, jitterMs, loss, bandwidthBps }
  }
}
