import { FIBER_KM_PER_RTT_MS, MIN_ACCESS_MS, MIN_GROUP_PAIRS } from './constants.js'
import type { Continent } from './countries.js'
import type { Site } from './types.js'

/**
 * Parameters of the geographic latency model:
 *
 * `rtt(a, b) = access(a) + access(b) + inflation(a, b) * distanceKm / 100`
 *
 * where 100 km per ms is light in fiber there and back, `inflation` is how
 * much longer (and slower, with queues and routers) real paths are than the
 * great circle, per continent pair when known, and `access` is each
 * endpoint's fixed cost (last mile, data-centre fabric), per continent when
 * known. With a measured backbone, `backboneLegInflation` scales the extra
 * distance from a site to its nearest measured city.
 */
export interface GeoParams {
  /** Path inflation for continent pairs with no entry of their own. */
  inflation: number
  /** Access leg per endpoint (ms) for continents with no entry of their own. */
  accessMs: number
  /** Inflation by continent pair, keyed `AS-EU` (codes sorted). */
  continentInflation: Record<string, number>
  /** Access leg per endpoint by continent. */
  continentAccessMs: Partial<Record<Continent, number>>
  /** Inflation of the leg from a site to its nearest measured backbone city. */
  backboneLegInflation: number
}

/** Key of a continent pair in {@link GeoParams.continentInflation}. */
export function continentPairKey (a: Continent | undefined, b: Continent | undefined): string | undefined {
  if (a === undefined || b === undefined) {
    return undefined
  }
  return a <= b ? `${a}-${b}` : `${b}-${a}`
}

/** The access leg (ms) of one endpoint under `params`. */
export function accessLegMs (params: GeoParams, site: Site): number {
  const v = site.continent !== undefined ? params.continentAccessMs[site.continent] ?? params.accessMs : params.accessMs
  return Math.max(MIN_ACCESS_MS, v)
}

/** The path inflation between two sites under `params`. */
export function pathInflation (params: GeoParams, a: Site, b: Site): number {
  const key = continentPairKey(a.continent, b.continent)
  return key !== undefined ? params.continentInflation[key] ?? params.inflation : params.inflation
}

/**
 * Geographic RTT (ms) between two sites `distanceKm` apart. Never below the
 * speed of light in fiber plus the minimum access legs.
 */
export function geoRttMs (params: GeoParams, a: Site, b: Site, distanceKm: number): number {
  const rtt = accessLegMs(params, a) + accessLegMs(params, b) + pathInflation(params, a, b) * distanceKm / FIBER_KM_PER_RTT_MS
  return Math.max(rtt, distanceKm / FIBER_KM_PER_RTT_MS + 2 * MIN_ACCESS_MS)
}

/** A measured pair ready for fitting. */
export interface FitSample {
  a: Site
  b: Site
  distanceKm: number
  rttMs: number
}

/**
 * Solves the weighted least squares `min Σ w (y - Xβ)²` by normal equations
 * with a tiny ridge (so an unidentifiable column gives 0, not NaN).
 */
export function weightedLeastSquares (rows: number[][], y: number[], w: number[]): number[] {
  const k = rows[0]?.length ?? 0
  const A = Array.from({ length: k }, () => new Float64Array(k))
  const B = new Float64Array(k)
  for (let i = 0; i < rows.length; i++) {
    const x = rows[i]
    const wi = w[i]
    for (let r = 0; r < k; r++) {
      if (x[r] === 0) continue
      const wx = wi * x[r]
      B[r] += wx * y[i]
      for (let c = 0; c < k; c++) {
        A[r][c] += wx * x[c]
      }
    }
  }
  let trace = 0
  for (let r = 0; r < k; r++) trace += A[r][r]
  const ridge = 1e-10 * (trace / Math.max(1, k) + 1)
  for (let r = 0; r < k; r++) A[r][r] += ridge
  // Gaussian elimination with partial pivoting
  for (let i = 0; i < k; i++) {
    let m = i
    for (let r = i + 1; r < k; r++) {
      if (Math.abs(A[r][i]) > Math.abs(A[m][i])) m = r
    }
    if (m !== i) {
      const t = A[i]; A[i] = A[m]; A[m] = t
      const tb = B[i]; B[i] = B[m]; B[m] = tb
    }
    const piv = A[i][i]
    if (piv === 0) continue
    for (let r = 0; r < k; r++) {
      if (r === i) continue
      const f = A[r][i] / piv
      if (f === 0) continue
      for (let c = i; c < k; c++) A[r][c] -= f * A[i][c]
      B[r] -= f * B[i]
    }
  }
  return Array.from(B, (b, i) => (A[i][i] === 0 ? 0 : b / A[i][i]))
}

/**
 * Fits β minimising the sum of absolute relative errors `Σ |Xβ - y| / y`
 * by iteratively reweighted least squares. Relative (not squared) error is
 * what the model is judged on, and it keeps the many long intercontinental
 * pairs from drowning out the short ones.
 */
export function fitRelativeL1 (rows: number[][], y: number[], iterations = 25): number[] {
  let w = y.map(v => 1 / (v * v))
  let beta = weightedLeastSquares(rows, y, w)
  for (let it = 0; it < iterations; it++) {
    w = y.map((v, i) => {
      let f = 0
      const x = rows[i]
      for (let j = 0; j < x.length; j++) f += x[j] * beta[j]
      return 1 / (v * Math.max(1e-3 * v, Math.abs(f - v)))
    })
    beta = weightedLeastSquares(rows, y, w)
  }
  return beta
}

/** Ordinary least squares `rtt = intercept + slope · km`: the plain linear baseline. */
export function fitLinear (samples: readonly FitSample[]): { interceptMs: number, msPerKm: number } {
  const [interceptMs, msPerKm] = weightedLeastSquares(samples.map(s => [1, s.distanceKm]), samples.map(s => s.rttMs), samples.map(() => 1))
  return { interceptMs, msPerKm }
}

/** Fits one inflation and one access leg for everything. */
export function fitPlainGeoParams (samples: readonly FitSample[]): GeoParams {
  const [accessMs, inflation] = fitRelativeL1(samples.map(s => [2, s.distanceKm / FIBER_KM_PER_RTT_MS]), samples.map(s => s.rttMs))
  return { inflation, accessMs, continentInflation: {}, continentAccessMs: {}, backboneLegInflation: 1 }
}

/**
 * Fits the global parameters, then an inflation per continent pair wherever
 * at least {@link MIN_GROUP_PAIRS} training pairs support it, and an access
 * leg per continent whose own intra-continent pairs are that many;
 * everything else keeps the global values.
 */
export function fitGeoParams (samples: readonly FitSample[]): GeoParams {
  const plain = fitPlainGeoParams(samples)
  const groupCount = new Map<string, number>()
  for (const s of samples) {
    const key = continentPairKey(s.a.continent, s.b.continent)
    if (key !== undefined) groupCount.set(key, (groupCount.get(key) ?? 0) + 1)
  }
  const groups = [...groupCount].filter(([, n]) => n >= MIN_GROUP_PAIRS).map(([k]) => k).sort()
  const used = samples.filter(s => {
    const key = continentPairKey(s.a.continent, s.b.continent)
    return key !== undefined && groups.includes(key)
  })
  if (used.length < MIN_GROUP_PAIRS) {
    return plain
  }
  // a continent's access leg is identifiable only from its own intra-continent pairs; without
  // them it trades off against its inflations (e.g. 86 ms access, 0.9 inflation) and breaks short paths
  const continents = [...new Set(used.flatMap(s => [s.a.continent as Continent, s.b.continent as Continent]))]
    .filter(c => groups.includes(`${c}-${c}`))
    .sort()
  const fixedAccess = (c: Continent | undefined): number => (c !== undefined && continents.includes(c) ? 0 : plain.accessMs)
  const rows = used.map(s => {
    const row = new Array<number>(continents.length + groups.length).fill(0)
    for (const c of [s.a.continent, s.b.continent]) {
      const i = continents.indexOf(c as Continent)
      if (i !== -1) row[i] += 1
    }
    row[continents.length + groups.indexOf(continentPairKey(s.a.continent, s.b.continent) as string)] = s.distanceKm / FIBER_KM_PER_RTT_MS
    return row
  })
  const beta = fitRelativeL1(rows, used.map(s => s.rttMs - fixedAccess(s.a.continent) - fixedAccess(s.b.continent)))
  const params: GeoParams = { ...plain, continentInflation: {}, continentAccessMs: {} }
  continents.forEach((c, i) => { params.continentAccessMs[c] = beta[i] })
  groups.forEach((g, i) => { params.continentInflation[g] = beta[continents.length + i] })
  return params
}
