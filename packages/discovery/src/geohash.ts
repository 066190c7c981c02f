/**
 * Geohash helpers under the names this package has always exported. The
 * cell arithmetic is part of the wire contract (docs/spec.md §3), so it
 * lives in @shoal/records; this module only re-exports it.
 */

import { MAX_GEOHASH_LENGTH, greatCircleKm, isGeohash } from '@shoal/records'

export { GEOHASH_ALPHABET, decodeGeohash, encodeGeohash, geohashNeighbours, geohashParent } from '@shoal/records'
export type { GeohashCell } from '@shoal/records'

/** Longest geohash handled (@shoal/records' MAX_GEOHASH_LENGTH). */
export const MAX_GEOHASH_PRECISION = MAX_GEOHASH_LENGTH

/** Whether `hash` is a geohash of 0 to MAX_GEOHASH_PRECISION characters (the empty string is the whole world). */
export const isValidGeohash: (hash: unknown) => hash is string = isGeohash

/** Great-circle distance between two positions in km (haversine): how far apart two cells' centres are. */
export const distanceKm: (lat1: number, lon1: number, lat2: number, lon2: number) => number = greatCircleKm
