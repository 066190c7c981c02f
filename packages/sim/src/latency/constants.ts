import type { GeoParams } from './fit.js'
import type { LatencyFormat, LatencyUnit } from './types.js'

/**
 * Physical constants and defaults of the latency models. The fitted defaults
 * come from `calibrateGeographic` on the WonderNetwork 2020-07 mesh (all
 * pairs); re-run it to refit on another data set.
 */

/** Mean Earth radius used for great-circle distances (@shoal/records' constant). @default 6371.0088 */
export { EARTH_RADIUS_KM } from '@shoal/records'

/**
 * Kilometres of great-circle distance per millisecond of RTT over fiber:
 * light in glass travels ~200 km/ms one way, so ~100 km per ms of round trip.
 * @default 100
 */
export const FIBER_KM_PER_RTT_MS = 100

/** Highest RTT a latency file may state; larger values are refused as typos. @default 60000 */
export const MAX_RTT_MS = 60_000

/** The units a latency file's RTTs may be in. */
export const LATENCY_UNITS: readonly LatencyUnit[] = ['ms', 's', 'us']

/** The formats of a single latency file (a WonderNetwork data set is a folder). */
export const LATENCY_FILE_FORMATS: ReadonlyArray<Exclude<LatencyFormat, 'wondernetwork'>> = ['matrix', 'bare-matrix', 'edges']

/** Milliseconds per unit of each {@link LatencyUnit} a latency file may be in. */
export const MS_PER_UNIT: Readonly<Record<LatencyUnit, number>> = { ms: 1, s: 1000, us: 0.001 }

/**
 * A bare matrix whose median measured value is below this is in seconds
 * (a 5 ms median RTT is a LAN, not a published Internet data set).
 * @default 5
 */
export const UNIT_SECONDS_BELOW = 5

/**
 * A bare matrix whose median measured value is above this is in
 * microseconds (King, Meridian; a 5 s median RTT in ms is not a network).
 * @default 5000
 */
export const UNIT_MICROSECONDS_ABOVE = 5000

/** Smallest per-endpoint access leg, so that rtt(a, a) > 0. @default 0.25 */
export const MIN_ACCESS_MS = 0.25

/** Population threshold of the bundled world cities. @default 100000 */
export const DEFAULT_MIN_CITY_POPULATION = 100_000

/** A continent-pair inflation or continent access is fitted only with at least this many training pairs. @default 30 */
export const MIN_GROUP_PAIRS = 30

/**
 * Packet loss by great-circle distance, as `[km, loss]` points linearly
 * interpolated (flat beyond the ends): ~0.01% in a metro, ~0.1% regional,
 * ~0.3% intercontinental, rising to ~1% for the longest paths. This is the
 * range long-running Internet measurements (PingER, RIPE Atlas) report for
 * well-connected regions; loss is drawn per segment, and one libp2p request
 * is several segments (noise, yamux data and window updates), so a curve in
 * whole percents makes a large share of requests wait for a retransmission.
 * Pass a constant or a curve of your own for lossier regions.
 * @default [[0, 0.0001], [1000, 0.001], [5000, 0.003], [20000, 0.01]]
 */
export const DEFAULT_LOSS_CURVE: ReadonlyArray<readonly [number, number]> = [[0, 0.0001], [1000, 0.001], [5000, 0.003], [20000, 0.01]]

/**
 * Jitter (width of the one-way delay spread, ms, as the transport reads it)
 * as a floor plus a fraction of the RTT, when the model has no measured
 * deviation for the pair. @default { floorMs: 0.2, fraction: 0.02 }
 */
export const DEFAULT_JITTER = { floorMs: 0.2, fraction: 0.02 } as const

/** Default bandwidth of each link direction in bytes per second (100 Mbit/s). @default 12_500_000 */
export const DEFAULT_BANDWIDTH_BPS = 12_500_000

/** RTT between two peers at the same measured site when the data cannot tell (ms). @default 1 */
export const DEFAULT_SELF_RTT_MS = 1

/**
 * Geographic model parameters fitted (`fitGeoParams`) on every pair of the
 * WonderNetwork 2020-07 mesh; `calibrateGeographic` reports their error on
 * held-out pairs. Used when a model is built without its own fit.
 */
export const DEFAULT_GEO_PARAMS: GeoParams = {
  inflation: 1.71,
  accessMs: 3.66,
  continentInflation: {
    'AF-AF': 2.34, 'AF-AS': 2.73, 'AF-EU': 1.87, 'AF-NA': 1.7, 'AF-OC': 2.28, 'AF-SA': 2.39,
    'AS-AS': 3.16, 'AS-EU': 2.49, 'AS-NA': 1.68, 'AS-OC': 2.14, 'AS-SA': 1.78,
    'EU-EU': 2.25, 'EU-NA': 1.59, 'EU-OC': 1.74, 'EU-SA': 1.77,
    'NA-NA': 1.81, 'NA-OC': 1.47, 'NA-SA': 1.62,
    'OC-OC': 1.38, 'OC-SA': 2.2,
    'SA-SA': 2.11
  },
  // large African and South American legs: their inter-city paths often detour via Europe or Miami
  continentAccessMs: { AF: 19.15, AS: 0.34, EU: 1.8, NA: 2.08, OC: 0.9, SA: 22.98 },
  // the held-out-city optimum scatters between 0.1 and 2 across seeds (a flat minimum); 1 is straight fiber
  backboneLegInflation: 1
}
