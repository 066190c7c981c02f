import type { Continent } from './countries.js'

/** A place where peers can sit: a measured server's city or a world city. */
export interface Site {
  /** Index of this site in its model's `sites` array (0..n-1). */
  id: number
  /** Human-readable name, e.g. `Frankfurt`. */
  name: string
  /** The identifier the source data used (server id, matrix label), if any. */
  ref?: string
  /** ISO 3166 alpha-2 code when known, else the name the data gave. */
  country?: string
  /** Continent code, when the country is known. */
  continent?: Continent
  /** Latitude in decimal degrees; `NaN` when the source had no coordinates. */
  lat: number
  /** Longitude in decimal degrees; `NaN` when the source had no coordinates. */
  lon: number
  /** Inhabitants, used as a placement weight. */
  population?: number
}

/**
 * A pluggable latency model: a set of sites and the round-trip time between
 * any two of them. `rtt` is symmetric, in milliseconds, and `rtt(a, a) > 0`
 * (two peers in the same city still cross access links).
 */
export interface LatencyModel {
  readonly sites: readonly Site[]
  /** Round-trip time in ms between sites `a` and `b` (indices into `sites`). */
  rtt(a: number, b: number): number
  /** Measured RTT standard deviation in ms for the pair, or undefined when the model does not know it. */
  jitter?(a: number, b: number): number | undefined
}

/** One measured, symmetrised pair of a data set (`a < b`, both site indices). */
export interface MeasuredPair {
  a: number
  b: number
  /** Mean RTT in ms over every sample of (a, b) and (b, a). */
  rttMs: number
  /** Mean of the reported deviations (e.g. ping `mdev`), when the source gives them. */
  jitterMs?: number
  /** How many rows were averaged. */
  samples: number
}

/** A parsed latency data set: sites and the pairs measured between them. */
export interface LatencyDataset {
  /** The file or folder it came from, for messages. */
  source: string
  /** `wondernetwork`, `matrix`, `bare-matrix` or `edges`. */
  format: LatencyFormat
  sites: Site[]
  pairs: MeasuredPair[]
  /** Rows that were valid but unusable (e.g. a server id with no coordinates), with why. */
  skipped: Array<{ line: number, reason: string }>
  /**
   * The unit the file's RTTs were read in (pairs are always converted to
   * ms). Set by every parser; absent on hand-built data sets.
   */
  unit?: LatencyUnit
  /** Whether `unit` was detected from the values rather than given by the caller (or fixed by the format). */
  unitDetected?: boolean
}

/**
 * The latency file formats the simulator reads: a WonderNetwork-style folder,
 * a TSV matrix with site names, a bare square matrix of numbers (no names,
 * e.g. King or Meridian) and a CSV edge list.
 */
export type LatencyFormat = 'wondernetwork' | 'matrix' | 'bare-matrix' | 'edges'

/** The unit of the RTTs in a latency file: milliseconds, seconds or microseconds. */
export type LatencyUnit = 'ms' | 's' | 'us'
