import { readFile, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { continentOf } from './countries.js'
import { LatencyFileError } from './errors.js'
import { measuredLatency } from './measured.js'
import { parseLatencyFile, parseWonderNetwork } from './parse.js'
import { geocodeCity } from './world-cities.js'
import { errorCodeOrMessage } from '../error-text.js'
import type { MeasuredLatency, MeasuredLatencyOptions } from './measured.js'
import type { ParseLatencyFileOptions } from './parse.js'
import type { LatencyDataset } from './types.js'

/**
 * Options of {@link loadLatencyDataset} and {@link loadLatency}. `unit`,
 * `format` and `separator` apply to single files; a WonderNetwork folder is
 * always in ms.
 */
export interface LoadLatencyOptions extends MeasuredLatencyOptions, ParseLatencyFileOptions {
  /**
   * Look site names up in the world cities list when the file gives no
   * coordinates (TSV matrix, edge list), so that the data set can serve as
   * a geographic backbone. Names that match nothing keep NaN coordinates.
   * A bare matrix has no names to look up.
   * @default true
   */
  geocode?: boolean
}

async function readText (path: string, label: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err: unknown) {
    throw new LatencyFileError(label, 0, 'file', `cannot read: ${errorCodeOrMessage(err)}`)
  }
}

/**
 * Reads a latency data set from `path`, detecting the format:
 * - a folder holding `pings.csv` and `servers.csv` (WonderNetwork style),
 *   or the path of such a `pings.csv`;
 * - a file whose first line is all numbers: a bare square matrix without
 *   site names (King, Meridian), in the unit `options.unit` or detected;
 * - a file whose first line has tabs: a square TSV matrix with site names;
 * - any other file: a CSV edge list `a,b,rtt_ms`
 * (see {@link detectFormat}; `options.format` overrides it).
 *
 * Malformed input is refused with a {@link LatencyFileError} naming the
 * file, line and field.
 */
export async function loadLatencyDataset (path: string, options: LoadLatencyOptions = {}): Promise<LatencyDataset> {
  let info
  try {
    info = await stat(path)
  } catch {
    throw new LatencyFileError(path, 0, 'path', 'no such file or folder')
  }
  let folder: string | undefined
  if (info.isDirectory()) {
    folder = path
  } else if (basename(path).toLowerCase() === 'pings.csv') {
    folder = dirname(path)
  }
  let dataset: LatencyDataset
  if (folder !== undefined) {
    const pings = join(folder, 'pings.csv')
    const servers = join(folder, 'servers.csv')
    const [pingsText, serversText] = [await readText(pings, pings), await readText(servers, servers)]
    dataset = parseWonderNetwork(pingsText, serversText, { pings, servers, source: folder })
  } else {
    dataset = parseLatencyFile(await readText(path, path), path, options)
  }
  if ((options.geocode ?? true) && dataset.format !== 'bare-matrix') {
    geocodeSites(dataset)
  }
  return dataset
}

/** Fills in coordinates (and country, population) of sites that have none, from their names. */
export function geocodeSites (dataset: LatencyDataset): void {
  for (const site of dataset.sites) {
    if (Number.isFinite(site.lat) && Number.isFinite(site.lon)) continue
    const hit = geocodeCity(site.name)
    if (hit == null) continue
    site.lat = hit.lat
    site.lon = hit.lon
    site.country ??= hit.country
    site.population ??= hit.population
    site.continent ??= continentOf(site.country)
  }
}

/**
 * Loads a measured latency model from a file or folder (see
 * {@link loadLatencyDataset} for the formats).
 *
 * @example
 * ```ts
 * const model = await loadLatency('data/wondernetwork-2020-07')
 * model.rtt(0, 1) // ms
 * ```
 */
export async function loadLatency (path: string, options: LoadLatencyOptions = {}): Promise<MeasuredLatency> {
  return measuredLatency(await loadLatencyDataset(path, options), options)
}
