import { EARTH_RADIUS_KM } from './constants.js'
import type { Site } from './types.js'

const RAD = Math.PI / 180

/** Great-circle (haversine) distance in km between two points in decimal degrees. */
export function greatCircleKm (lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = (lat2 - lat1) * RAD
  const dLon = (lon2 - lon1) * RAD
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)))
}

/** Great-circle distance in km between two sites (`NaN` if either lacks coordinates). */
export function siteDistanceKm (a: Site, b: Site): number {
  return greatCircleKm(a.lat, a.lon, b.lat, b.lon)
}

/** Whether a site has usable coordinates. */
export function hasCoordinates (site: Site): boolean {
  return Number.isFinite(site.lat) && Number.isFinite(site.lon)
}
