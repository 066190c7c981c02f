/**
 * The central-cloud baseline's regions: the cities where the large cloud
 * providers run GPU regions (one entry per metro, even where several
 * providers share it), and how they map to a latency model's sites.
 */

import { greatCircleKm } from '@shoal/records'
import type { LatencyModel } from '../latency/types.js'

/** A cloud region's city. */
export interface CloudCity {
  name: string
  lat: number
  lon: number
}

/**
 * Twenty metros hosting GPU regions of the major clouds (AWS, Azure,
 * Google Cloud): the "fewer than 20 central regions" a distributed
 * network is compared with.
 */
export const CLOUD_REGIONS: readonly CloudCity[] = [
  { name: 'Ashburn', lat: 39.04, lon: -77.49 },
  { name: 'Columbus', lat: 39.96, lon: -83.0 },
  { name: 'Dallas', lat: 32.78, lon: -96.8 },
  { name: 'Des Moines', lat: 41.59, lon: -93.62 },
  { name: 'Portland', lat: 45.52, lon: -122.68 },
  { name: 'San Jose', lat: 37.34, lon: -121.89 },
  { name: 'Montreal', lat: 45.5, lon: -73.57 },
  { name: 'Sao Paulo', lat: -23.55, lon: -46.63 },
  { name: 'Dublin', lat: 53.35, lon: -6.26 },
  { name: 'London', lat: 51.51, lon: -0.13 },
  { name: 'Frankfurt', lat: 50.11, lon: 8.68 },
  { name: 'Amsterdam', lat: 52.37, lon: 4.9 },
  { name: 'Paris', lat: 48.86, lon: 2.35 },
  { name: 'Stockholm', lat: 59.33, lon: 18.07 },
  { name: 'Mumbai', lat: 19.08, lon: 72.88 },
  { name: 'Singapore', lat: 1.35, lon: 103.82 },
  { name: 'Tokyo', lat: 35.68, lon: 139.69 },
  { name: 'Seoul', lat: 37.57, lon: 126.98 },
  { name: 'Sydney', lat: -33.87, lon: 151.21 },
  { name: 'Johannesburg', lat: -26.2, lon: 28.05 }
]

/** A cloud region placed in a latency model. */
export interface PlacedCloudRegion {
  name: string
  /** the model's site nearest to the city */
  site: number
  /** how far that site is from the city, km */
  km: number
}

/**
 * The latency model's site of each named cloud city: the nearest site
 * with coordinates (a known city name is matched first, case-insensitively,
 * so a measured data set's "Frankfurt" is Frankfurt). Names that are not
 * among `CLOUD_REGIONS` must be site names of the model. Throws a
 * `RangeError` naming a city it cannot place.
 */
export function placeCloudRegions (cities: readonly string[], model: LatencyModel): PlacedCloudRegion[] {
  const byName = new Map(model.sites.map(s => [s.name.toLowerCase(), s.id]))
  return cities.map(name => {
    const exact = byName.get(name.toLowerCase())
    const city = CLOUD_REGIONS.find(c => c.name.toLowerCase() === name.toLowerCase())
    if (exact !== undefined) {
      return { name, site: exact, km: 0 }
    }
    if (city === undefined) {
      throw new RangeError(`cloud region "${name}" is neither a known cloud city nor a site of the latency model`)
    }
    let best = -1
    let bestKm = Infinity
    for (const site of model.sites) {
      if (!Number.isFinite(site.lat) || !Number.isFinite(site.lon)) continue
      const km = greatCircleKm(city.lat, city.lon, site.lat, site.lon)
      if (km < bestKm) {
        best = site.id
        bestKm = km
      }
    }
    if (best < 0) {
      throw new RangeError(`cloud region "${name}": no site of the latency model has coordinates`)
    }
    return { name, site: best, km: Math.round(bestKm) }
  })
}
