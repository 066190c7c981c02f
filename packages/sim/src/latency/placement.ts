import { CONTINENTS, lookupCountry } from './countries.js'
import type { Rng } from '../random.js'
import type { Continent } from './countries.js'
import type { LatencyModel, Site } from './types.js'

/** Options of {@link placePeers}. */
export interface PlacementOptions {
  /**
   * Weight of each site (array by site index, or a function). Defaults to
   * population where the model knows it (sites without one get the median),
   * else uniform.
   */
  weights?: ArrayLike<number> | ((site: Site) => number)
  /**
   * Share of peers per region: keys are continent codes (`EU`) or names
   * (`Europe`, `North America`), ISO country codes (`DE`) or country names.
   * `world` (or `*`) is every site, the only region of a model whose sites
   * have no country (a bare matrix). Shares are normalised; counts are
   * rounded by largest remainder. Within a region peers follow the site weights.
   */
  regions?: Record<string, number>
}

const CONTINENT_NAMES: Record<string, Continent> = {
  africa: 'AF', antarctica: 'AN', asia: 'AS', europe: 'EU', northamerica: 'NA', southamerica: 'SA', oceania: 'OC', australia: 'OC'
}

/**
 * Returns a predicate matching the sites of a region key (see
 * {@link PlacementOptions.regions}). Two-letter continent codes win over the
 * country codes they collide with (`NA`, `SA`, `AS`, `AF`): name those
 * countries in full (`Namibia`).
 */
export function regionMatcher (key: string): (site: Site) => boolean {
  const upper = key.trim().toUpperCase()
  if (upper === 'WORLD' || upper === '*') {
    return () => true
  }
  const continent = CONTINENT_NAMES[key.toLowerCase().replace(/[^a-z]/g, '')] ??
    (CONTINENTS.includes(upper as Continent) ? upper as Continent : undefined)
  if (continent !== undefined) {
    return site => site.continent === continent
  }
  const country = lookupCountry(key)
  if (country != null) {
    return site => site.country === country.code
  }
  return site => site.country?.toLowerCase() === key.trim().toLowerCase()
}

function defaultWeights (sites: readonly Site[]): number[] {
  const pops = sites.map(s => s.population).filter((p): p is number => p !== undefined && p > 0).sort((x, y) => x - y)
  if (pops.length === 0) {
    return sites.map(() => 1)
  }
  const median = pops[Math.floor(pops.length / 2)]
  return sites.map(s => (s.population !== undefined && s.population > 0 ? s.population : median))
}

/** Splits `n` into integer counts proportional to `shares` (largest remainder, ties to the earlier key). */
export function apportion (n: number, shares: readonly number[]): number[] {
  const total = shares.reduce((x, y) => x + y, 0)
  const exact = shares.map(s => n * s / total)
  const counts = exact.map(Math.floor)
  let left = n - counts.reduce((x, y) => x + y, 0)
  const order = exact.map((e, i) => [e - Math.floor(e), i]).sort((x, y) => y[0] - x[0] || x[1] - y[1])
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) {
    counts[order[k][1]]++
  }
  return counts
}

/**
 * Places `n` peers on the model's sites, returning each peer's site index.
 * Sites are drawn with replacement by weight (several peers may share a
 * city), region by region when `regions` is given; the result is shuffled
 * so peer order does not follow regions. Same `rng` state, same placement.
 */
export function placePeers (model: LatencyModel, n: number, rng: Rng, options: PlacementOptions = {}): number[] {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`Peer count must be a non-negative integer, got ${n}`)
  }
  const sites = model.sites
  if (sites.length === 0) {
    throw new RangeError('The model has no sites')
  }
  let weights: number[]
  if (options.weights == null) {
    weights = defaultWeights(sites)
  } else if (typeof options.weights === 'function') {
    weights = sites.map(options.weights)
  } else {
    if (options.weights.length !== sites.length) {
      throw new RangeError(`Expected ${sites.length} weights, got ${options.weights.length}`)
    }
    weights = Array.from(options.weights)
  }
  weights.forEach((w, i) => {
    if (!(w >= 0) || !Number.isFinite(w)) {
      throw new RangeError(`Weight of site ${i} must be finite and >= 0, got ${w}`)
    }
  })

  const out: number[] = []
  if (options.regions == null) {
    for (let i = 0; i < n; i++) out.push(rng.weightedIndex(weights))
    return out
  }
  const keys = Object.keys(options.regions)
  const shares = keys.map(k => (options.regions as Record<string, number>)[k])
  shares.forEach((s, i) => {
    if (!(s >= 0) || !Number.isFinite(s)) {
      throw new RangeError(`Share of region ${keys[i]} must be finite and >= 0, got ${s}`)
    }
  })
  if (!(shares.reduce((x, y) => x + y, 0) > 0)) {
    throw new RangeError('Region shares must have a positive sum')
  }
  const counts = apportion(n, shares)
  keys.forEach((key, r) => {
    if (counts[r] === 0) return
    const match = regionMatcher(key)
    const local = weights.map((w, i) => (match(sites[i]) ? w : 0))
    if (!local.some(w => w > 0)) {
      throw new RangeError(`Region ${JSON.stringify(key)} matches no site with a positive weight`)
    }
    for (let i = 0; i < counts[r]; i++) out.push(rng.weightedIndex(local))
  })
  return rng.shuffle(out)
}
