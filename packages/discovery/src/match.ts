/**
 * Pure matching of capability records against a search query: why a record
 * matches (or does not, by @shoal/records' matchOffer, the rules a provider
 * bids by), whether it fits the key it was found under, and how far it
 * probably is.
 */

import { JobKind, matchOffer, needsGpu } from '@shoal/records'
import { show } from '@shoal/utils'
import { GPU_CLASS_PREFIX, SENSOR_CLASS_PREFIX } from './constants.js'
import { AdvertisementMismatchError, InvalidQueryError } from './errors.js'
import { isValidGeohash } from './geohash.js'
import { capabilityClasses, isCapabilityClass } from './keys.js'
import type { CapabilityRecord, JobTerms, NetworkCoordinate } from '@shoal/records'

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
  /** where the requester is (a geohash; its length caps the finest cell searched; '' searches every region) */
  geohash: string
  /** GPU class wanted, e.g. `consumer-24g` (searched under `gpu:<class>`) */
  gpuClass?: string
  /** exact GPU model wanted, e.g. `NVIDIA GeForce RTX 4090` (a filter: searched under the class) */
  gpuModel?: string
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
  if (query.gpuModel != null && typeof query.gpuModel !== 'string') {
    throw new InvalidQueryError('gpuModel must be a string')
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

/**
 * Match a record's offer against a query (location aside: that is where it
 * was found). The query is read as a job's terms and matched by
 * @shoal/records' matchOffer, the rules a provider bids by; a query without
 * a price unit accepts the record's unit. Free slots are checked last.
 */
export function matchRecord (query: NearbyQuery, record: CapabilityRecord): MatchResult {
  const wantsGpu = query.gpuClass != null || query.gpuModel != null || query.minVramMib != null || query.gpuCount != null
  const terms: JobTerms = {
    kind: wantsGpu ? JobKind.GPU_INFERENCE : JobKind.CAPTURE,
    requirements: {
      gpuModel: query.gpuModel ?? '',
      gpuClass: query.gpuClass ?? '',
      minVramMib: query.minVramMib ?? 0,
      gpuCount: query.gpuCount ?? 0,
      sensors: query.sensors ?? [],
      region: '',
      maxRttMs: 0
    },
    priceCeiling: query.maxPrice == null
      ? undefined
      : { perUnit: query.maxPrice.perUnit, currency: query.maxPrice.currency, unit: query.maxPrice.unit ?? record.price?.unit ?? '' }
  }
  const { mismatches, reasons } = matchOffer(terms, record)
  if (mismatches.length > 0) {
    return { matches: false, reason: mismatches[0].reason }
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
 * The search for providers of a job: its GPU needs (for a GPU job, or one
 * naming any), its sensors and its price ceiling (currency and unit), near
 * `geohash` (where the requester is) if that lies in the job's region, else
 * from the region ('' for none: every region, see searchLevels). A record
 * matchRecord accepts for it, in a cell inside the job's region, is one
 * whose provider would bid (docs/spec.md §1.6). Searching needs a GPU class
 * or a sensor (queryClass).
 */
export function queryForJob (job: JobTerms, geohash?: string): NearbyQuery {
  const r = job.requirements
  const region = r?.region ?? ''
  // a search widens from its geohash to the cells around it, never to a far region
  const query: NearbyQuery = { geohash: geohash != null && geohash.startsWith(region) ? geohash : region }
  if (needsGpu(job)) {
    query.gpuCount = r?.gpuCount ?? 0
    query.minVramMib = r?.minVramMib ?? 0
    if (r != null && r.gpuClass !== '') {
      query.gpuClass = r.gpuClass
    }
    if (r != null && r.gpuModel !== '') {
      query.gpuModel = r.gpuModel
    }
  }
  if (r != null && r.sensors.length > 0) {
    query.sensors = [...r.sensors]
  }
  if (job.priceCeiling != null) {
    query.maxPrice = { ...job.priceCeiling }
  }
  return query
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

/** RTT predicted by two Vivaldi coordinates, ms (defined by @shoal/records). */
export { estimateRtt } from '@shoal/records'

/**
 * A lower bound of the RTT between two cells, ms (defined by @shoal/records).
 * A search uses it to know that no provider still to be found in a cell can
 * beat a result already in hand.
 */
export { cellRttFloor } from '@shoal/records'
