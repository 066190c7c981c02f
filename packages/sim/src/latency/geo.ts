import { greatCircleKm } from '@shoal/records'
import type { Site } from './types.js'

/** Great-circle (haversine) distance in km between two points in decimal degrees (@shoal/records' formula). */
export { greatCircleKm }

/** Great-circle distance in km between two sites (`NaN` if either lacks coordinates). */
export function siteDistanceKm (a: Site, b: Site): number {
  return greatCircleKm(a.lat, a.lon, b.lat, b.lon)
}

/** Whether a site has usable coordinates. */
export function hasCoordinates (site: Site): boolean {
  return Number.isFinite(site.lat) && Number.isFinite(site.lon)
}
