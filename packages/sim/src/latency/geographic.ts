import { DEFAULT_GEO_PARAMS, FIBER_KM_PER_RTT_MS } from './constants.js'
import { LatencyModelError } from './errors.js'
import { accessLegMs, geoRttMs } from './fit.js'
import { hasCoordinates, siteDistanceKm } from './geo.js'
import { worldCities } from './world-cities.js'
import type { GeoParams } from './fit.js'
import type { LatencyModel, Site } from './types.js'
import type { WorldCitiesOptions } from './world-cities.js'

/** Options of {@link geographicLatency}. */
export interface GeographicLatencyInit {
  /** Where peers can be; every site needs coordinates. @default worldCities(cities) */
  sites?: readonly Site[]
  /** Which world cities to use when `sites` is not given. @default { minPopulation: 100000 } */
  cities?: WorldCitiesOptions
  /** Model parameters; missing fields take {@link DEFAULT_GEO_PARAMS}. */
  params?: Partial<GeoParams>
  /**
   * A measured model whose sites have coordinates. When given, the RTT
   * between two sites is the backbone RTT between their nearest backbone
   * sites plus a leg from each site to its nearest backbone site.
   */
  backbone?: LatencyModel
  /**
   * Extra access delay per endpoint (ms), e.g. 5-20 for residential last
   * miles. The fitted parameters describe data-centre servers, so this
   * defaults to 0. @default 0
   */
  lastMileMs?: number
}

/**
 * RTT from geography.
 *
 * Without a backbone: `rtt(a, b) = access(a) + access(b) + inflation ·
 * distance / 100 km/ms` (see {@link GeoParams}), plus `lastMileMs` per end.
 *
 * With a backbone: let `A`, `B` be the backbone sites nearest `a`, `b`.
 * `rtt(a, b) = backbone.rtt(A, B) + leg(a) + leg(b)`, where `leg(x) =
 * backboneLegInflation · distance(x, X) / 100 km/ms` (0 when `x` is at a
 * backbone site). When `A = B` the geographic formula is used instead, since
 * the backbone says nothing about paths inside one metro area.
 */
export class GeographicLatency implements LatencyModel {
  readonly [Symbol.toStringTag] = '@shoal/sim/geographic-latency'
  readonly sites: readonly Site[]
  readonly params: GeoParams
  readonly backbone?: LatencyModel
  readonly lastMileMs: number
  private readonly nearest?: Int32Array
  private readonly legMs?: Float64Array

  constructor (init: GeographicLatencyInit = {}) {
    this.sites = init.sites ?? worldCities(init.cities)
    this.params = { ...DEFAULT_GEO_PARAMS, ...init.params }
    this.lastMileMs = init.lastMileMs ?? 0
    if (!(this.lastMileMs >= 0)) {
      throw new RangeError('lastMileMs must be >= 0')
    }
    const bad = this.sites.find((s, i) => !hasCoordinates(s) || s.id !== i)
    if (bad != null) {
      throw new LatencyModelError(`Site ${bad.id} (${bad.name}) ${hasCoordinates(bad) ? 'has an id that is not its index' : 'has no coordinates'}`)
    }
    if (init.backbone != null) {
      const bb = init.backbone
      this.backbone = bb
      const candidates = bb.sites.filter(hasCoordinates)
      if (candidates.length === 0) {
        throw new LatencyModelError('The backbone has no sites with coordinates')
      }
      this.nearest = new Int32Array(this.sites.length)
      this.legMs = new Float64Array(this.sites.length)
      for (const s of this.sites) {
        let best = candidates[0]
        let bestKm = Infinity
        for (const c of candidates) {
          const d = siteDistanceKm(s, c)
          if (d < bestKm) {
            bestKm = d
            best = c
          }
        }
        this.nearest[s.id] = best.id
        this.legMs[s.id] = this.params.backboneLegInflation * bestKm / FIBER_KM_PER_RTT_MS
      }
    }
  }

  /** RTT in ms between sites `a` and `b`. */
  rtt (a: number, b: number): number {
    const sa = this.sites[a]
    const sb = this.sites[b]
    if (sa == null || sb == null) {
      throw new RangeError(`No site ${a} or ${b} (model has ${this.sites.length} sites)`)
    }
    const extra = 2 * this.lastMileMs
    if (this.backbone != null && this.nearest != null && this.legMs != null) {
      const na = this.nearest[a]
      const nb = this.nearest[b]
      if (na !== nb) {
        return this.backbone.rtt(na, nb) + this.legMs[a] + this.legMs[b] + extra
      }
    }
    if (a === b) {
      return accessLegMs(this.params, sa) * 2 + extra
    }
    return geoRttMs(this.params, sa, sb, siteDistanceKm(sa, sb)) + extra
  }

  /** The backbone's measured RTT deviation between the nearest backbone sites, when it has one. */
  jitter (a: number, b: number): number | undefined {
    if (this.backbone?.jitter == null || this.nearest == null) {
      return undefined
    }
    const na = this.nearest[a]
    const nb = this.nearest[b]
    return na === undefined || nb === undefined || na === nb ? undefined : this.backbone.jitter(na, nb)
  }

  /** The backbone site nearest to `site`, when a backbone is used. */
  nearestBackboneSite (site: number): number | undefined {
    return this.nearest?.[site]
  }
}

/** Creates a {@link GeographicLatency} model (world cities by default). */
export function geographicLatency (init: GeographicLatencyInit = {}): GeographicLatency {
  return new GeographicLatency(init)
}
