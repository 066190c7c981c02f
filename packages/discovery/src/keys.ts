/**
 * What a discovery key is made of (docs/spec.md §3.2): the CID of the
 * SHA-256 of `/shoal/cap/1/<class>/<cell>`, for each capability class of a
 * record and each advertised geohash precision.
 */

import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { show } from '@shoal/utils'
import { GPU_CLASS_PREFIX, KEY_PREFIX, SENSOR_CLASS_PREFIX } from './constants.js'
import { InvalidClassError, InvalidGeohashError } from './errors.js'
import { GEOHASH_ALPHABET, geohashNeighbours, isValidGeohash } from './geohash.js'
import type { CapabilityRecord } from '@shoal/records'

/** multicodec `raw`: the key names bytes, not a DAG. */
const RAW_CODEC = 0x55

/** multihash `sha2-256`. */
const SHA256_CODE = 0x12

/** A capability class: `gpu:<gpu class>` or `sensor:<sensor name>`, at most 72 characters of [A-Za-z0-9._+:-]. */
const CLASS_PATTERN = /^(gpu|sensor):[A-Za-z0-9._+-][A-Za-z0-9._+:-]{0,63}$/

/** Whether `value` is a capability class that can be made into a key. */
export function isCapabilityClass (value: unknown): value is string {
  return typeof value === 'string' && CLASS_PATTERN.test(value)
}

/** The capability class of a GPU class name, e.g. `consumer-24g` → `gpu:consumer-24g`. */
export function gpuClass (name: string): string {
  return requireClass(GPU_CLASS_PREFIX + name)
}

/** The capability class of a sensor name, e.g. `video` → `sensor:video`. */
export function sensorClass (name: string): string {
  return requireClass(SENSOR_CLASS_PREFIX + name)
}

function requireClass (value: string): string {
  if (!isCapabilityClass(value)) {
    throw new InvalidClassError(`not a capability class: ${show(value)}`)
  }
  return value
}

/**
 * The capability classes a record is advertised under: one per distinct GPU
 * class and one per sensor. Names that cannot be keys (e.g. containing `/`)
 * are left out: such a provider is still valid, just not findable by them.
 */
export function capabilityClasses (record: Pick<CapabilityRecord, 'gpus' | 'sensors'>): string[] {
  const out = new Set<string>()
  for (const gpu of record.gpus) {
    const c = GPU_CLASS_PREFIX + gpu.class
    if (isCapabilityClass(c)) {
      out.add(c)
    }
  }
  for (const sensor of record.sensors) {
    const c = SENSOR_CLASS_PREFIX + sensor
    if (isCapabilityClass(c)) {
      out.add(c)
    }
  }
  return [...out]
}

/** The string hashed into the key of (class, cell): `/shoal/cap/1/<class>/<cell>`. */
export function capabilityKeyString (capabilityClass: string, cell: string): string {
  requireClass(capabilityClass)
  if (!isValidGeohash(cell)) {
    throw new InvalidGeohashError(`not a geohash cell: ${show(cell)}`)
  }
  return `${KEY_PREFIX}${capabilityClass}/${cell}`
}

/** The DHT provider key of (class, cell): CIDv1, raw codec, SHA-256 of the key string. */
export function capabilityKey (capabilityClass: string, cell: string): CID {
  const text = capabilityKeyString(capabilityClass, cell)
  const digest = new Uint8Array(createHash('sha256').update(text, 'utf8').digest())
  return CID.createV1(RAW_CODEC, Digest.create(SHA256_CODE, digest))
}

/** One key a provider is advertised under. */
export interface AdvertisedKey {
  /** capability class, e.g. `gpu:consumer-24g` */
  capabilityClass: string
  /** geohash cell ('' for the whole world) */
  cell: string
  /** cell length */
  precision: number
  /** `/shoal/cap/1/<class>/<cell>` */
  text: string
  /** the DHT key */
  cid: CID
}

/**
 * The keys a record is advertised under: every class at every precision the
 * record's geohash is long enough for. A record that reveals less than the
 * coarsest precision (or no location) is advertised under the world cell ''.
 */
export function advertisementKeys (record: Pick<CapabilityRecord, 'gpus' | 'sensors' | 'geohash'>, precisions: readonly number[]): AdvertisedKey[] {
  const cells = new Set<string>()
  for (const p of precisions) {
    if (p <= record.geohash.length) {
      cells.add(record.geohash.slice(0, p))
    }
  }
  if (cells.size === 0) {
    cells.add('')
  }
  const out: AdvertisedKey[] = []
  for (const capabilityClass of capabilityClasses(record)) {
    for (const cell of cells) {
      out.push({ capabilityClass, cell, precision: cell.length, text: capabilityKeyString(capabilityClass, cell), cid: capabilityKey(capabilityClass, cell) })
    }
  }
  return out
}

/** One ring of a search: the cells looked up together. */
export interface SearchLevel {
  /** cell length of this level */
  precision: number
  /** the query's own cell first, then its neighbours; for a regionless query, every cell of the precision */
  cells: string[]
}

/**
 * The order in which a search looks at cells: at the finest precision the
 * query's geohash allows, its cell and its 8 neighbours; then the same one
 * character coarser; ...; and last the world cell '' (where providers that
 * reveal no location are found), if `world` is set. A regionless query
 * (geohash '') is near no cell in particular, and a located provider is
 * advertised only in cells of its own: it looks up every cell of the
 * coarsest precision (32 at precision 1), as one level, then the world.
 * Only up to MAX_REGIONLESS_PRECISION: with no precision that coarse
 * configured, a regionless query looks up the world cell alone (32^2 or more
 * lookups per search would be a flood, not a search).
 */
export function searchLevels (geohash: string, precisions: readonly number[], world = true): SearchLevel[] {
  if (!isValidGeohash(geohash)) {
    throw new InvalidGeohashError(`not a geohash: ${show(geohash)}`)
  }
  const positive = [...new Set(precisions)].filter(p => p > 0).sort((a, b) => b - a)
  const levels: SearchLevel[] = geohash === ''
    ? positive.slice(-1).filter(p => p <= MAX_REGIONLESS_PRECISION).map(p => ({ precision: p, cells: allCells(p) }))
    : positive.filter(p => p <= geohash.length).map(p => {
      const cell = geohash.slice(0, p)
      return { precision: p, cells: [cell, ...geohashNeighbours(cell)] }
    })
  if (world) {
    levels.push({ precision: 0, cells: [''] })
  }
  return levels
}

/** The finest precision whose every cell a regionless search looks up (32 cells). */
export const MAX_REGIONLESS_PRECISION = 1

/** Every geohash cell of `precision` characters, in alphabet order. */
function allCells (precision: number): string[] {
  let cells = ['']
  for (let i = 0; i < precision; i++) {
    cells = cells.flatMap(cell => [...GEOHASH_ALPHABET].map(c => cell + c))
  }
  return cells
}
