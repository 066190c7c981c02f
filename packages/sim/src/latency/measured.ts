import { DEFAULT_GEO_PARAMS, DEFAULT_SELF_RTT_MS } from './constants.js'
import { LatencyFileError } from './errors.js'
import { fitGeoParams, geoRttMs } from './fit.js'
import { hasCoordinates, siteDistanceKm } from './geo.js'
import type { FitSample, GeoParams } from './fit.js'
import type { LatencyDataset, LatencyModel, Site } from './types.js'

/** Options of {@link measuredLatency}. */
export interface MeasuredLatencyOptions {
  /** RTT between two peers placed at the same site (ms). @default 1 */
  selfRttMs?: number
}

/** How the pairs a data set did not measure were filled in. */
export type FillMethod = 'none' | 'geographic' | 'shortest-path'

/**
 * A latency model backed by measurements: `rtt(a, b)` is the data set's
 * symmetrised mean RTT.
 *
 * Unmeasured pairs are filled once, up front:
 * - when every site has coordinates, from the geographic model fitted to
 *   this data set's own pairs (`fitted` holds the parameters), or with
 *   {@link DEFAULT_GEO_PARAMS} when it has fewer than 10 pairs;
 * - otherwise with the shortest path over measured pairs (an upper bound:
 *   real routes seldom beat a relay by much). A site with no path to another
 *   is refused with a {@link LatencyFileError}.
 */
export class MeasuredLatency implements LatencyModel {
  readonly [Symbol.toStringTag] = '@shoal/sim/measured-latency'
  readonly sites: readonly Site[]
  readonly dataset: LatencyDataset
  /** How unmeasured pairs were filled. */
  readonly fill: FillMethod
  /** Number of unordered pairs that were filled rather than measured. */
  readonly filledPairs: number
  /** Geographic parameters used to fill pairs (fitted on this data set when it had enough pairs). */
  readonly fitted?: GeoParams
  private readonly n: number
  private readonly matrix: Float64Array
  private readonly jitterMatrix?: Float64Array
  private readonly selfRttMs: number
  private measuredSet?: Set<number>

  constructor (dataset: LatencyDataset, options: MeasuredLatencyOptions = {}) {
    const n = dataset.sites.length
    if (n === 0) {
      throw new LatencyFileError(dataset.source, 0, 'sites', 'no sites')
    }
    this.dataset = dataset
    this.sites = dataset.sites
    this.n = n
    this.selfRttMs = options.selfRttMs ?? DEFAULT_SELF_RTT_MS
    if (!(this.selfRttMs > 0)) {
      throw new RangeError('selfRttMs must be > 0')
    }
    this.matrix = new Float64Array(n * n).fill(Number.NaN)
    const withJitter = dataset.pairs.some(p => p.jitterMs !== undefined)
    if (withJitter) {
      this.jitterMatrix = new Float64Array(n * n).fill(Number.NaN)
    }
    for (const p of dataset.pairs) {
      this.matrix[p.a * n + p.b] = this.matrix[p.b * n + p.a] = p.rttMs
      if (this.jitterMatrix != null && p.jitterMs !== undefined) {
        this.jitterMatrix[p.a * n + p.b] = this.jitterMatrix[p.b * n + p.a] = p.jitterMs
      }
    }
    for (let i = 0; i < n; i++) {
      this.matrix[i * n + i] = this.selfRttMs
    }
    const missing = n * (n - 1) / 2 - dataset.pairs.length
    this.filledPairs = missing
    if (missing === 0) {
      this.fill = 'none'
    } else if (dataset.sites.every(hasCoordinates)) {
      this.fill = 'geographic'
      this.fitted = dataset.pairs.length >= 10 ? fitGeoParams(datasetSamples(dataset)) : DEFAULT_GEO_PARAMS
      this.fillGeographic(this.fitted)
    } else {
      this.fill = 'shortest-path'
      this.fillShortestPaths()
    }
  }

  /** Mean measured RTT (ms) between sites `a` and `b`. */
  rtt (a: number, b: number): number {
    if (!(a >= 0 && a < this.n && b >= 0 && b < this.n) || !Number.isInteger(a) || !Number.isInteger(b)) {
      throw new RangeError(`No site ${a} or ${b} (model has ${this.n} sites)`)
    }
    return this.matrix[a * this.n + b]
  }

  /** Mean measured deviation (ms) between `a` and `b`, when the data gave it. */
  jitter (a: number, b: number): number | undefined {
    if (this.jitterMatrix == null || a === b) {
      return undefined
    }
    const v = this.jitterMatrix[a * this.n + b]
    return Number.isNaN(v) ? undefined : v
  }

  /** Whether the pair was measured (as opposed to filled or a self pair). */
  isMeasured (a: number, b: number): boolean {
    if (this.measuredSet == null) {
      this.measuredSet = new Set(this.dataset.pairs.map(p => p.a * this.n + p.b))
    }
    return a !== b && this.measuredSet.has(Math.min(a, b) * this.n + Math.max(a, b))
  }

  private fillGeographic (params: GeoParams): void {
    const { n, sites } = this
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++) {
        if (Number.isNaN(this.matrix[a * n + b])) {
          const v = geoRttMs(params, sites[a], sites[b], siteDistanceKm(sites[a], sites[b]))
          this.matrix[a * n + b] = this.matrix[b * n + a] = v
        }
      }
    }
  }

  /** Dijkstra from every site that has an unmeasured pair (dense graphs, so O(n²) per source). */
  private fillShortestPaths (): void {
    const { n } = this
    const m = this.matrix
    const direct = Float64Array.from(m)
    const dist = new Float64Array(n)
    const done = new Uint8Array(n)
    for (let s = 0; s < n; s++) {
      let needs = false
      for (let t = 0; t < n && !needs; t++) needs = Number.isNaN(m[s * n + t])
      if (!needs) continue
      dist.fill(Infinity)
      done.fill(0)
      dist[s] = 0
      for (let iter = 0; iter < n; iter++) {
        let u = -1
        let best = Infinity
        for (let v = 0; v < n; v++) {
          if (done[v] === 0 && dist[v] < best) { best = dist[v]; u = v }
        }
        if (u === -1) break
        done[u] = 1
        for (let v = 0; v < n; v++) {
          const w = direct[u * n + v]
          if (v !== u && !Number.isNaN(w) && dist[u] + w < dist[v]) dist[v] = dist[u] + w
        }
      }
      for (let t = 0; t < n; t++) {
        if (!Number.isNaN(m[s * n + t])) continue
        if (!Number.isFinite(dist[t])) {
          throw new LatencyFileError(this.dataset.source, 0, this.sites[t].name, `no measured path from ${this.sites[s].name}; add pairs or coordinates`)
        }
        m[s * n + t] = m[t * n + s] = dist[t]
      }
    }
  }
}

/** Builds a {@link MeasuredLatency} model from a parsed data set. */
export function measuredLatency (dataset: LatencyDataset, options: MeasuredLatencyOptions = {}): MeasuredLatency {
  return new MeasuredLatency(dataset, options)
}

/** The measured pairs of a data set whose sites both have coordinates, ready for fitting. */
export function datasetSamples (dataset: LatencyDataset): FitSample[] {
  const out: FitSample[] = []
  for (const p of dataset.pairs) {
    const a = dataset.sites[p.a]
    const b = dataset.sites[p.b]
    if (hasCoordinates(a) && hasCoordinates(b)) {
      out.push({ a, b, distanceKm: siteDistanceKm(a, b), rttMs: p.rttMs })
    }
  }
  return out
}

/** A data set restricted to some of its sites, re-indexed 0..k-1 (for hold-out experiments). */
export function subsetDataset (dataset: LatencyDataset, keep: Iterable<number>): LatencyDataset {
  const ids = [...new Set(keep)].sort((x, y) => x - y)
  const map = new Map<number, number>()
  const sites = ids.map((old, id) => {
    map.set(old, id)
    return { ...dataset.sites[old], id }
  })
  const pairs = dataset.pairs
    .filter(p => map.has(p.a) && map.has(p.b))
    .map(p => ({ ...p, a: map.get(p.a) as number, b: map.get(p.b) as number }))
  return { ...dataset, sites, pairs, skipped: [] }
}
