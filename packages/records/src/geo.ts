/**
 * Geohash cells and great-circle distances. Records carry positions as
 * geohashes (a provider's `geohash`, a job's `region`), and discovery keys
 * and gossip topics are made of cells, so the exact cell arithmetic is part
 * of the wire meaning (docs/spec.md) and lives here, once.
 */

import { show } from '@shoal/utils'
import { MAX_GEOHASH_LENGTH } from './constants.js'
import { InvalidGeohashError } from './errors.js'

/** The geohash base32 alphabet (no a, i, l, o). */
export const GEOHASH_ALPHABET = '0123456789bcdefghjkmnpqrstuvwxyz'

/** Mean Earth radius used for every great-circle distance, km. */
export const EARTH_RADIUS_KM = 6371.0088

/**
 * Distance light travels in optical fibre per ms (about 2/3 of c): no RTT
 * between two places is shorter than twice their distance at this speed.
 *
 * @default 200
 */
export const FIBRE_KM_PER_MS = 200

const DECODE = new Map<string, number>([...GEOHASH_ALPHABET].map((c, i) => [c, i]))
const RAD = Math.PI / 180

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

/** Whether `value` is a geohash (or prefix) of at most MAX_GEOHASH_LENGTH characters; the empty string (the whole world) is one. */
export function isGeohash (value: unknown): value is string {
  if (typeof value !== 'string' || value.length > MAX_GEOHASH_LENGTH) {
    return false
  }
  for (const c of value) {
    if (!DECODE.has(c)) {
      return false
    }
  }
  return true
}

function requireGeohash (hash: string): void {
  if (!isGeohash(hash)) {
    throw new InvalidGeohashError(`not a geohash: ${show(hash)}`)
  }
}

/** Encode a position as a geohash of `precision` characters (0 to MAX_GEOHASH_LENGTH); throws InvalidGeohashError. */
export function encodeGeohash (lat: number, lon: number, precision: number): string {
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180) {
    throw new InvalidGeohashError(`position out of range: ${lat}, ${lon}`)
  }
  if (!Number.isInteger(precision) || precision < 0 || precision > MAX_GEOHASH_LENGTH) {
    throw new InvalidGeohashError(`precision must be 0..${MAX_GEOHASH_LENGTH}`)
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

/** Decode a geohash to its cell; the empty hash is the whole world. Throws InvalidGeohashError. */
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

/** Every cell `length` characters long inside `prefix` (32^(length - prefix.length) of them; `[prefix]` when it is already that long). */
export function geohashChildren (prefix: string, length: number): string[] {
  requireGeohash(prefix)
  let cells = [prefix]
  for (let i = prefix.length; i < length; i++) {
    cells = cells.flatMap(c => [...GEOHASH_ALPHABET].map(d => c + d))
  }
  return cells
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

/** Great-circle (haversine) distance in km between two positions in decimal degrees. */
export function greatCircleKm (lat1: number, lon1: number, lat2: number, lon2: number): number {
  return haversineKm((lat2 - lat1) * RAD, Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD), (lon2 - lon1) * RAD)
}

/**
 * A lower bound, in km, of the great-circle distance between any point of
 * cell `a` and any point of cell `b` (0 when either is the world or they
 * touch): the haversine with each term at its smallest over both cells.
 */
export function geohashGapKm (a: string, b: string): number {
  if (a === '' || b === '') {
    return 0
  }
  const ca = decodeGeohash(a)
  const cb = decodeGeohash(b)
  const latGap = Math.max(0, cb.minLat - ca.maxLat, ca.minLat - cb.maxLat)
  let lonGap = Infinity
  for (const shift of [-360, 0, 360]) {
    lonGap = Math.min(lonGap, Math.max(0, cb.minLon + shift - ca.maxLon, ca.minLon - cb.maxLon - shift))
  }
  const maxAbsLat = Math.max(Math.abs(ca.minLat), Math.abs(ca.maxLat), Math.abs(cb.minLat), Math.abs(cb.maxLat))
  return haversineKm(latGap * RAD, Math.cos(Math.min(90, maxAbsLat) * RAD) ** 2, Math.min(180, lonGap) * RAD)
}

/**
 * An upper bound, in km, of the great-circle distance between any point of
 * cell `a` and any point of cell `b`: their centres' distance plus each
 * cell's reach from its centre to its farthest corner (half the Earth's
 * circumference when either is the world).
 */
export function geohashSpanKm (a: string, b: string): number {
  if (a === '' || b === '') {
    return Math.PI * EARTH_RADIUS_KM
  }
  const ca = decodeGeohash(a)
  const cb = decodeGeohash(b)
  return Math.min(Math.PI * EARTH_RADIUS_KM, greatCircleKm(ca.lat, ca.lon, cb.lat, cb.lon) + cellReachKm(ca) + cellReachKm(cb))
}

/** The farthest a corner of `cell` is from its centre, km. */
function cellReachKm (cell: GeohashCell): number {
  let reach = 0
  for (const lat of [cell.minLat, cell.maxLat]) {
    for (const lon of [cell.minLon, cell.maxLon]) {
      reach = Math.max(reach, greatCircleKm(cell.lat, cell.lon, lat, lon))
    }
  }
  return reach
}

/**
 * A lower bound of the RTT, in ms, between anyone in cell `from` and anyone
 * in cell `to` ('' = world, bound 0): the shortest great-circle distance
 * between the two cells at the speed of light in fibre, there and back.
 */
export function cellRttFloor (from: string, to: string): number {
  return geohashGapKm(from, to) / FIBRE_KM_PER_MS * 2
}

/** The haversine formula from its parts: latitude difference, product of the latitudes' cosines, longitude difference (radians). */
function haversineKm (dLat: number, cosProduct: number, dLon: number): number {
  const h = Math.sin(dLat / 2) ** 2 + cosProduct * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)))
}
