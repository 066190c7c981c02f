/**
 * Pure matching of capability records against a search query: why a record
 * matches (or does not), whether it fits the key it was found under, and
 * how far it probably is.
 */

import { FIBRE_KM_PER_MS, GPU_CLASS_PREFIX, SENSOR_CLASS_PREFIX } from './constants.js'
import { AdvertisementMismatchError, InvalidQueryError } from './errors.js'
import { decodeGeohash, isValidGeohash } from './geohash.js'
import { capabilityClasses, isCapabilityClass } from './keys.js'
import { show } from './show.js'
import type { CapabilityRecord, NetworkCoordinate } from '@shoal/records'

/** Highest acceptable price in a query. */
export interface PriceCeiling {
  /** most per unit, in the smallest unit of `currency` */
  perUnit: number
  /** currency or token symbol; a record priced in another currency does not match */
  currency: string
  /** unit priced (e.g. `gpu-second`); when set, a record priced per another unit does not match */
  unit?: string
}

/** What a search looks for, and where. */
export interface NearbyQuery {
  /** where the requester is (a geohash; its length caps the finest cell searched) */
  geohash: string
  /** GPU class wanted, e.g. `consumer-24g` (searched under `gpu:<class>`) */
  gpuClass?: string
  /** least VRAM per GPU, MiB */
  minVramMib?: number
  /** least number of matching GPUs in total */
  gpuCount?: number
  /** sensors wanted, all of them (searched under `sensor:<first>` unless a GPU class is given) */
  sensors?: string[]
  /** highest acceptable price */
  maxPrice?: PriceCeiling
  /** least free slots right now */
  minFreeSlots?: number
  /** the requester's network coordinate: results of each level are then ordered by estimated RTT */
  coordinate?: NetworkCoordinate
}

/** The outcome of matching a record against a query. */
export type MatchResult =
  | { matches: true, reasons: string[] }
  | { matches: false, reason: string }

/** Check a query and return the capability class it is searched under; throws InvalidQueryError. */
export function queryClass (query: NearbyQuery): string {
  if (query == null || typeof query !== 'object') {
    throw new InvalidQueryError('query must be an object')
  }
  if (!isValidGeohash(query.geohash)) {
    throw new InvalidQueryError('geohash must be a geohash of at most 12 characters')
  }
  for (const [name, value] of [['minVramMib', query.minVramMib], ['gpuCount', query.gpuCount], ['minFreeSlots', query.minFreeSlots]] as const) {
    if (value != null && (!Number.isSafeInteger(value) || value < 0)) {
      throw new InvalidQueryError(`${name} must be a non-negative integer`)
    }
  }
  if (query.maxPrice != null && (!Number.isSafeInteger(query.maxPrice.perUnit) || query.maxPrice.perUnit < 0 || typeof query.maxPrice.currency !== 'string')) {
    throw new InvalidQueryError('maxPrice must have a non-negative integer perUnit and a currency')
  }
  if (query.sensors != null && (!Array.isArray(query.sensors) || query.sensors.some(s => typeof s !== 'string' || !isCapabilityClass(SENSOR_CLASS_PREFIX + s)))) {
    throw new InvalidQueryError('sensors must be sensor names')
  }
  if (query.gpuClass != null) {
    const c = typeof query.gpuClass === 'string' ? GPU_CLASS_PREFIX + query.gpuClass : ''
    if (!isCapabilityClass(c)) {
      throw new InvalidQueryError(`not a GPU class: ${show(query.gpuClass)}`)
    }
    return c
  }
  if (query.sensors != null && query.sensors.length > 0) {
    return SENSOR_CLASS_PREFIX + query.sensors[0]
  }
  throw new InvalidQueryError('a query names a GPU class or at least one sensor')
}

/** Match a record's offer against a query (location aside: that is where it was found). */
export function matchRecord (query: NearbyQuery, record: CapabilityRecord): MatchResult {
  const reasons: string[] = []
  const wantsGpu = query.gpuClass != null || query.minVramMib != null || query.gpuCount != null

  if (wantsGpu) {
    const minVram = query.minVramMib ?? 0
    const gpus = record.gpus.filter(g => (query.gpuClass == null || g.class === query.gpuClass) && g.vramMib >= minVram)
    const count = gpus.reduce((n, g) => n + g.count, 0)
    const wanted = Math.max(1, query.gpuCount ?? 1)
    if (count < wanted) {
      return { matches: false, reason: count === 0 ? 'no matching GPU' : `${count} matching GPUs, ${wanted} wanted` }
    }
    const best = gpus.reduce((a, b) => (b.vramMib > a.vramMib ? b : a))
    reasons.push(`gpu ${best.class === '' ? best.model : best.class} x${count}, ${best.vramMib} MiB${minVram > 0 ? ` >= ${minVram}` : ''}`)
  }

  for (const sensor of query.sensors ?? []) {
    if (!record.sensors.includes(sensor)) {
      return { matches: false, reason: `no ${sensor} sensor` }
    }
  }
  if (query.sensors != null && query.sensors.length > 0) {
    reasons.push(`sensors ${query.sensors.join(', ')}`)
  }

  if (query.maxPrice != null) {
    const price = record.price
    if (price == null || price.currency !== query.maxPrice.currency) {
      return { matches: false, reason: `not priced in ${query.maxPrice.currency}` }
    }
    if (query.maxPrice.unit != null && price.unit !== query.maxPrice.unit) {
      return { matches: false, reason: `priced per ${price.unit}, not per ${query.maxPrice.unit}` }
    }
    if (price.perUnit > query.maxPrice.perUnit) {
      return { matches: false, reason: `price ${price.perUnit} above ${query.maxPrice.perUnit}` }
    }
    reasons.push(`price ${price.perUnit} ${price.currency}/${price.unit} <= ${query.maxPrice.perUnit}`)
  }

  if (query.minFreeSlots != null) {
    if (record.freeSlots < query.minFreeSlots) {
      return { matches: false, reason: `${record.freeSlots} free slots, ${query.minFreeSlots} wanted` }
    }
    reasons.push(`${record.freeSlots} free slots`)
  }

  return { matches: true, reasons }
}

/**
 * Check a record fits the key it was found under: it offers the class and
 * lies in the cell. Throws AdvertisementMismatchError otherwise (a junk
 * entry, or a provider that moved since it advertised).
 */
export function checkAdvertisement (record: CapabilityRecord, capabilityClass: string, cell: string): void {
  if (!capabilityClasses(record).includes(capabilityClass)) {
    throw new AdvertisementMismatchError(`record does not offer ${capabilityClass}`)
  }
  if (!record.geohash.startsWith(cell)) {
    throw new AdvertisementMismatchError(`record at ${JSON.stringify(record.geohash)} is not in cell ${JSON.stringify(cell)}`)
  }
}

/**
 * RTT predicted by two Vivaldi coordinates (distance plus both heights), in
 * ms; undefined when either is missing or their dimensions differ.
 */
export function estimateRtt (a: NetworkCoordinate | undefined, b: NetworkCoordinate | undefined): number | undefined {
  if (a == null || b == null || a.vec.length !== b.vec.length || a.vec.length === 0) {
    return undefined
  }
  let sum = 0
  for (let i = 0; i < a.vec.length; i++) {
    sum += (a.vec[i] - b.vec[i]) ** 2
  }
  const rtt = Math.sqrt(sum) + a.height + b.height
  return Number.isFinite(rtt) ? rtt : undefined
}

/**
 * A lower bound of the RTT, in ms, between anyone in cell `from` and anyone
 * in cell `to` ('' = world, bound 0): the shortest great-circle distance
 * between the two cells at the speed of light in fibre, there and back.
 * A search uses it to know that no provider still to be found in `to` can
 * beat a result already in hand.
 */
export function cellRttFloor (from: string, to: string): number {
  if (from === '' || to === '') {
    return 0
  }
  const a = decodeGeohash(from)
  const b = decodeGeohash(to)
  const latGap = Math.max(0, b.minLat - a.maxLat, a.minLat - b.maxLat)
  let lonGap = Infinity
  for (const shift of [-360, 0, 360]) {
    lonGap = Math.min(lonGap, Math.max(0, b.minLon + shift - a.maxLon, a.minLon - b.maxLon - shift))
  }
  const rad = Math.PI / 180
  // haversine with each term at its smallest over both cells: a lower bound of every pair's distance
  const maxAbsLat = Math.max(Math.abs(a.minLat), Math.abs(a.maxLat), Math.abs(b.minLat), Math.abs(b.maxLat))
  const h = Math.sin(latGap * rad / 2) ** 2 + (Math.cos(Math.min(90, maxAbsLat) * rad) * Math.sin(Math.min(180, lonGap) * rad / 2)) ** 2
  const km = 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)))
  return km / FIBRE_KM_PER_MS * 2
}
