/**
 * Geohash helpers: encode, decode, the 8 neighbouring cells and the parent
 * cell. Written here (not pulled from npm) because discovery's keys are made
 * of cells, so the exact cell arithmetic is part of the wire contract
 * (docs/spec.md §3) and is property-tested in this package.
 */

import { InvalidGeohashError } from './errors.js'
import { show } from './show.js'

/** The geohash base32 alphabet (no a, i, l, o). */
export const GEOHASH_ALPHABET = '0123456789bcdefghjkmnpqrstuvwxyz'

/** Longest geohash handled (matches @shoal/records' limit). */
export const MAX_GEOHASH_PRECISION = 12

const DECODE = new Map<string, number>([...GEOHASH_ALPHABET].map((c, i) => [c, i]))

/** A decoded cell: its centre and its bounds, in degrees. */
export interface GeohashCell {
  /** latitude of the centre */
  lat: number
  /** longitude of the centre */
  lon: number
  /** southern bound */
  minLat: number
  /** northern bound */
  maxLat: number
  /** western bound */
  minLon: number
  /** eastern bound */
  maxLon: number
}

/** Whether `hash` is a geohash of 0 to MAX_GEOHASH_PRECISION characters (the empty string is the whole world). */
export function isValidGeohash (hash: unknown): hash is string {
  if (typeof hash !== 'string' || hash.length > MAX_GEOHASH_PRECISION) {
    return false
  }
  for (const c of hash) {
    if (!DECODE.has(c)) {
      return false
    }
  }
  return true
}

function requireGeohash (hash: string): void {
  if (!isValidGeohash(hash)) {
    throw new InvalidGeohashError(`not a geohash: ${show(hash)}`)
  }
}

/** Encode a position as a geohash of `precision` characters (1 to 12). */
export function encodeGeohash (lat: number, lon: number, precision: number): string {
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180) {
    throw new InvalidGeohashError(`position out of range: ${lat}, ${lon}`)
  }
  if (!Number.isInteger(precision) || precision < 0 || precision > MAX_GEOHASH_PRECISION) {
    throw new InvalidGeohashError(`precision must be 0..${MAX_GEOHASH_PRECISION}`)
  }

  let minLat = -90
  let maxLat = 90
  let minLon = -180
  let maxLon = 180
  let hash = ''
  let bits = 0
  let value = 0
  let even = true

  while (hash.length < precision) {
    if (even) {
      const mid = (minLon + maxLon) / 2
      if (lon >= mid) {
        value = (value << 1) | 1
        minLon = mid
      } else {
        value = value << 1
        maxLon = mid
      }
    } else {
      const mid = (minLat + maxLat) / 2
      if (lat >= mid) {
        value = (value << 1) | 1
        minLat = mid
      } else {
        value = value << 1
        maxLat = mid
      }
    }
    even = !even
    if (++bits === 5) {
      hash += GEOHASH_ALPHABET[value]
      bits = 0
      value = 0
    }
  }

  return hash
}

/** Decode a geohash to its cell; the empty hash is the whole world. */
export function decodeGeohash (hash: string): GeohashCell {
  requireGeohash(hash)
  let minLat = -90
  let maxLat = 90
  let minLon = -180
  let maxLon = 180
  let even = true

  for (const c of hash) {
    const value = DECODE.get(c) ?? 0
    for (let bit = 4; bit >= 0; bit--) {
      const set = ((value >> bit) & 1) === 1
      if (even) {
        const mid = (minLon + maxLon) / 2
        if (set) { minLon = mid } else { maxLon = mid }
      } else {
        const mid = (minLat + maxLat) / 2
        if (set) { minLat = mid } else { maxLat = mid }
      }
      even = !even
    }
  }

  return { lat: (minLat + maxLat) / 2, lon: (minLon + maxLon) / 2, minLat, maxLat, minLon, maxLon }
}

/** The cell one character coarser; the parent of a 1-character cell is the world (''). */
export function geohashParent (hash: string): string {
  requireGeohash(hash)
  if (hash.length === 0) {
    throw new InvalidGeohashError('the world has no parent cell')
  }
  return hash.slice(0, -1)
}

/**
 * The cells of the same precision around `hash`, clockwise from north:
 * 8 cells, fewer next to a pole (there is nothing beyond it), longitude wraps
 * at the antimeridian. The world ('') has no neighbours.
 */
export function geohashNeighbours (hash: string): string[] {
  requireGeohash(hash)
  if (hash.length === 0) {
    return []
  }
  const cell = decodeGeohash(hash)
  const height = cell.maxLat - cell.minLat
  const width = cell.maxLon - cell.minLon
  const out: string[] = []
  const offsets: Array<[number, number]> = [[1, 0], [1, 1], [0, 1], [-1, 1], [-1, 0], [-1, -1], [0, -1], [1, -1]]

  for (const [dLat, dLon] of offsets) {
    const lat = cell.lat + dLat * height
    if (lat > 90 || lat < -90) {
      continue
    }
    // centres never sit on ±180 exactly, so wrapping the centre is unambiguous
    let lon = cell.lon + dLon * width
    if (lon > 180) {
      lon -= 360
    } else if (lon < -180) {
      lon += 360
    }
    const neighbour = encodeGeohash(lat, lon, hash.length)
    if (neighbour !== hash && !out.includes(neighbour)) {
      out.push(neighbour)
    }
  }

  return out
}

/** Great-circle distance between two positions in km (haversine): how far apart two cells' centres are. */
export function distanceKm (lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180
  const dLat = (lat2 - lat1) * rad
  const dLon = (lon2 - lon1) * rad
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(a)))
}
