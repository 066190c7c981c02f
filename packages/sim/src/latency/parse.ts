import { continentOf, lookupCountry } from './countries.js'
import { isNumeric, parseNumber, parseRtt, sourceLines, splitFields } from './csv.js'
import { LatencyFileError } from './errors.js'
import type { LatencyDataset, LatencyFormat, MeasuredPair, Site } from './types.js'
import type { SourceLine } from './csv.js'

/** Running sums for one unordered pair. */
interface PairAccumulator {
  lo: number
  hi: number
  sum: number
  count: number
  jitterSum: number
  jitterCount: number
}

/** Collects samples per unordered pair and averages them (symmetrising A->B and B->A). */
class PairCollector {
  private readonly acc = new Map<number, PairAccumulator>()

  constructor (private readonly n: () => number) {}

  add (a: number, b: number, rtt: number, jitter?: number): void {
    if (a === b) {
      return
    }
    const lo = Math.min(a, b)
    const hi = Math.max(a, b)
    // n grows while an edge list is read, so key by a pairing that does not depend on it
    const key = hi * (hi - 1) / 2 + lo
    let e = this.acc.get(key)
    if (e == null) {
      e = { lo, hi, sum: 0, count: 0, jitterSum: 0, jitterCount: 0 }
      this.acc.set(key, e)
    }
    e.sum += rtt
    e.count++
    if (jitter !== undefined) {
      e.jitterSum += jitter
      e.jitterCount++
    }
  }

  pairs (): MeasuredPair[] {
    const out: MeasuredPair[] = []
    const n = this.n()
    for (const e of this.acc.values()) {
      if (e.hi >= n) {
        continue
      }
      const p: MeasuredPair = { a: e.lo, b: e.hi, rttMs: e.sum / e.count, samples: e.count }
      if (e.jitterCount > 0) {
        p.jitterMs = e.jitterSum / e.jitterCount
      }
      out.push(p)
    }
    out.sort((x, y) => x.a - y.a || x.b - y.b)
    return out
  }
}

interface Header {
  line: number
  names: string[]
}

function readHeader (first: SourceLine | undefined, sep: string, file: string): Header {
  if (first == null) {
    throw new LatencyFileError(file, 0, 'header', 'the file is empty')
  }
  const names = splitFields(first, sep, file).map(h => h.trim().toLowerCase())
  return { line: first.line, names }
}

function column (header: Header, file: string, wanted: string[], required: true): number
function column (header: Header, file: string, wanted: string[], required: false): number | undefined
function column (header: Header, file: string, wanted: string[], required: boolean): number | undefined {
  for (const w of wanted) {
    const i = header.names.indexOf(w)
    if (i !== -1) {
      return i
    }
  }
  if (required) {
    throw new LatencyFileError(file, header.line, wanted[0], `missing column (header has: ${header.names.join(', ').slice(0, 200)})`)
  }
  return undefined
}

function rowFields (src: SourceLine, sep: string, file: string, header: Header): string[] {
  const fields = splitFields(src, sep, file)
  if (fields.length !== header.names.length) {
    throw new LatencyFileError(file, src.line, 'row', `expected ${header.names.length} fields, got ${fields.length}`)
  }
  return fields
}

/** File names used in error messages for a WonderNetwork-style folder. */
export interface WonderNetworkFiles {
  /** @default 'pings.csv' */
  pings?: string
  /** @default 'servers.csv' */
  servers?: string
  /** The folder, used as the data set's `source`. @default the pings file name */
  source?: string
}

/**
 * Parses a WonderNetwork-style ping mesh: `servers` has `id, name/title, ...,
 * country, latitude, longitude`; `pings` has `source, destination, ..., avg,
 * ... [, mdev]` in ms keyed by server id (extra columns such as `timestamp`,
 * `min`, `max` are ignored). Every sample of A->B and B->A is averaged into one
 * symmetric pair; self pairs are dropped. Rows naming a server id that has no
 * coordinates are skipped and listed in `skipped`. Any malformed row throws a
 * {@link LatencyFileError}.
 */
export function parseWonderNetwork (pingsText: string, serversText: string, files: WonderNetworkFiles = {}): LatencyDataset {
  const pingsFile = files.pings ?? 'pings.csv'
  const serversFile = files.servers ?? 'servers.csv'

  const serverLines = sourceLines(serversText)
  const sh = readHeader(serverLines[0], ',', serversFile)
  const idCol = column(sh, serversFile, ['id'], true)
  const latCol = column(sh, serversFile, ['latitude', 'lat'], true)
  const lonCol = column(sh, serversFile, ['longitude', 'lon', 'lng'], true)
  const titleCol = column(sh, serversFile, ['title', 'name', 'location', 'city'], false)
  const countryCol = column(sh, serversFile, ['country', 'country_code'], false)
  const popCol = column(sh, serversFile, ['population'], false)

  const sites: Site[] = []
  const byRef = new Map<string, number>()
  for (const src of serverLines.slice(1)) {
    const f = rowFields(src, ',', serversFile, sh)
    const ref = f[idCol]
    if (ref === '') {
      throw new LatencyFileError(serversFile, src.line, sh.names[idCol], 'empty server id')
    }
    if (byRef.has(ref)) {
      throw new LatencyFileError(serversFile, src.line, sh.names[idCol], `duplicate server id ${JSON.stringify(ref.slice(0, 40))}`)
    }
    const lat = parseNumber(f[latCol], serversFile, src.line, sh.names[latCol])
    const lon = parseNumber(f[lonCol], serversFile, src.line, sh.names[lonCol])
    if (lat < -90 || lat > 90) {
      throw new LatencyFileError(serversFile, src.line, sh.names[latCol], `latitude ${lat} is outside [-90, 90]`)
    }
    if (lon < -180 || lon > 180) {
      throw new LatencyFileError(serversFile, src.line, sh.names[lonCol], `longitude ${lon} is outside [-180, 180]`)
    }
    const site: Site = { id: sites.length, name: titleCol !== undefined && f[titleCol] !== '' ? f[titleCol] : ref, ref, lat, lon }
    if (countryCol !== undefined && f[countryCol] !== '') {
      const c = lookupCountry(f[countryCol])
      site.country = c?.code ?? f[countryCol]
      const continent = continentOf(f[countryCol])
      if (continent !== undefined) {
        site.continent = continent
      }
    }
    if (popCol !== undefined && f[popCol] !== '') {
      const pop = parseNumber(f[popCol], serversFile, src.line, sh.names[popCol])
      if (pop < 0) {
        throw new LatencyFileError(serversFile, src.line, sh.names[popCol], 'population must be >= 0')
      }
      site.population = pop
    }
    byRef.set(ref, site.id)
    sites.push(site)
  }
  if (sites.length === 0) {
    throw new LatencyFileError(serversFile, 0, 'rows', 'no servers')
  }

  const pingLines = sourceLines(pingsText)
  const ph = readHeader(pingLines[0], ',', pingsFile)
  const srcCol = column(ph, pingsFile, ['source', 'src', 'from'], true)
  const dstCol = column(ph, pingsFile, ['destination', 'dest', 'dst', 'to'], true)
  const avgCol = column(ph, pingsFile, ['avg', 'mean', 'rtt', 'rtt_ms'], true)
  const mdevCol = column(ph, pingsFile, ['mdev', 'stddev', 'jitter'], false)

  const collector = new PairCollector(() => sites.length)
  const unknown = new Map<string, { line: number, rows: number }>()
  for (const src of pingLines.slice(1)) {
    const f = rowFields(src, ',', pingsFile, ph)
    const a = f[srcCol]
    const b = f[dstCol]
    if (a === '') {
      throw new LatencyFileError(pingsFile, src.line, ph.names[srcCol], 'empty server id')
    }
    if (b === '') {
      throw new LatencyFileError(pingsFile, src.line, ph.names[dstCol], 'empty server id')
    }
    const rtt = parseRtt(f[avgCol], pingsFile, src.line, ph.names[avgCol], a === b)
    let jitter: number | undefined
    if (mdevCol !== undefined && f[mdevCol] !== '') {
      jitter = parseNumber(f[mdevCol], pingsFile, src.line, ph.names[mdevCol])
      if (jitter < 0) {
        throw new LatencyFileError(pingsFile, src.line, ph.names[mdevCol], 'deviation must be >= 0')
      }
    }
    if (a === b) {
      continue
    }
    const ia = byRef.get(a)
    const ib = byRef.get(b)
    if (ia === undefined || ib === undefined) {
      const missing = ia === undefined ? a : b
      const u = unknown.get(missing)
      if (u == null) {
        unknown.set(missing, { line: src.line, rows: 1 })
      } else {
        u.rows++
      }
      continue
    }
    collector.add(ia, ib, rtt, jitter)
  }
  const skipped = [...unknown].map(([id, u]) => ({ line: u.line, reason: `server id ${id} has no row in ${serversFile} (${u.rows} rows skipped)` }))
  return { source: files.source ?? pingsFile, format: 'wondernetwork', sites, pairs: collector.pairs(), skipped }
}

const MISSING = new Set(['', 'na', 'nan', 'n/a', '-', 'null'])

/**
 * Parses a square TSV matrix of RTTs in ms: the first row holds the site
 * names (after a corner cell), each further row a name and its RTTs. Cells
 * may be empty or `NA` when unmeasured; the diagonal is ignored; M[i][j] and
 * M[j][i] are averaged.
 */
export function parseMatrixTsv (text: string, file = 'matrix.tsv'): LatencyDataset {
  const lines = sourceLines(text)
  if (lines.length === 0) {
    throw new LatencyFileError(file, 0, 'header', 'the file is empty')
  }
  const names = splitFields(lines[0], '\t', file).slice(1)
  if (names.length === 0) {
    throw new LatencyFileError(file, lines[0].line, 'header', 'no site names (a TSV matrix starts with a corner cell and the names, tab-separated)')
  }
  const index = new Map<string, number>()
  const sites: Site[] = []
  names.forEach((name, i) => {
    if (name === '') {
      throw new LatencyFileError(file, lines[0].line, `column ${i + 2}`, 'empty site name')
    }
    if (index.has(name)) {
      throw new LatencyFileError(file, lines[0].line, name, 'duplicate site name')
    }
    index.set(name, i)
    sites.push({ id: i, name, ref: name, lat: Number.NaN, lon: Number.NaN })
  })
  const seen = new Set<number>()
  const collector = new PairCollector(() => sites.length)
  for (const src of lines.slice(1)) {
    const f = splitFields(src, '\t', file)
    if (f.length !== names.length + 1) {
      throw new LatencyFileError(file, src.line, 'row', `expected ${names.length + 1} fields (a name and ${names.length} RTTs), got ${f.length}`)
    }
    const row = index.get(f[0])
    if (row === undefined) {
      throw new LatencyFileError(file, src.line, 'name', `row ${JSON.stringify(f[0].slice(0, 40))} is not a column name`)
    }
    if (seen.has(row)) {
      throw new LatencyFileError(file, src.line, 'name', `duplicate row ${JSON.stringify(f[0].slice(0, 40))}`)
    }
    seen.add(row)
    for (let col = 0; col < names.length; col++) {
      const cell = f[col + 1]
      if (MISSING.has(cell.toLowerCase())) {
        continue
      }
      const rtt = parseRtt(cell, file, src.line, names[col], col === row)
      collector.add(row, col, rtt)
    }
  }
  if (seen.size !== names.length) {
    const missing = names.find((_, i) => !seen.has(i)) ?? ''
    throw new LatencyFileError(file, 0, missing, 'the matrix is not square: no row for this column')
  }
  return { source: file, format: 'matrix', sites, pairs: collector.pairs(), skipped: [] }
}

/**
 * Parses a CSV edge list `a,b,rtt_ms` (an optional header row is recognised
 * by a non-numeric third field). Repeated pairs, in either direction, are
 * averaged; self pairs are dropped.
 */
export function parseEdgeList (text: string, file = 'edges.csv'): LatencyDataset {
  const lines = sourceLines(text)
  if (lines.length === 0) {
    throw new LatencyFileError(file, 0, 'header', 'the file is empty')
  }
  let width = 3
  let start = 0
  const labels = ['a', 'b', 'rtt_ms']
  const first = splitFields(lines[0], ',', file)
  if (first.length < 3) {
    throw new LatencyFileError(file, lines[0].line, 'row', `expected at least 3 fields (a,b,rtt_ms), got ${first.length}`)
  }
  if (!isNumeric(first[2])) {
    width = first.length
    start = 1
    labels.splice(0, 3, ...first.slice(0, 3).map((h, i) => h === '' ? labels[i] : h))
  }
  const index = new Map<string, number>()
  const sites: Site[] = []
  const siteOf = (name: string, line: number, field: string): number => {
    if (name === '') {
      throw new LatencyFileError(file, line, field, 'empty site name')
    }
    let i = index.get(name)
    if (i === undefined) {
      i = sites.length
      index.set(name, i)
      sites.push({ id: i, name, ref: name, lat: Number.NaN, lon: Number.NaN })
    }
    return i
  }
  const collector = new PairCollector(() => sites.length)
  for (const src of lines.slice(start)) {
    const f = splitFields(src, ',', file)
    if (f.length !== width) {
      throw new LatencyFileError(file, src.line, 'row', `expected ${width} fields, got ${f.length}`)
    }
    const a = siteOf(f[0], src.line, labels[0])
    const b = siteOf(f[1], src.line, labels[1])
    const rtt = parseRtt(f[2], file, src.line, labels[2], a === b)
    collector.add(a, b, rtt)
  }
  if (sites.length < 2) {
    throw new LatencyFileError(file, 0, 'rows', 'an edge list needs at least one pair of distinct sites')
  }
  return { source: file, format: 'edges', sites, pairs: collector.pairs(), skipped: [] }
}

/**
 * Parses a single latency file, detecting its format: tab-separated first
 * line means a TSV matrix, else a CSV edge list. A WonderNetwork pings file
 * needs its servers file too: use {@link parseWonderNetwork} or point
 * `loadLatency` at the folder.
 */
export function parseLatencyFile (text: string, file: string): LatencyDataset {
  return parseLatencyText(text, file, detectFormat(text, file))
}

/** Parses `text` as the given single-file format. */
export function parseLatencyText (text: string, file: string, format: Exclude<LatencyFormat, 'wondernetwork'>): LatencyDataset {
  return format === 'matrix' ? parseMatrixTsv(text, file) : parseEdgeList(text, file)
}

/** Detects the format of a single latency file from its first meaningful line. */
export function detectFormat (text: string, file: string): Exclude<LatencyFormat, 'wondernetwork'> {
  const first = sourceLines(text.slice(0, 65536))[0]
  if (first == null) {
    throw new LatencyFileError(file, 0, 'header', 'the file is empty')
  }
  if (first.text.includes('\t')) {
    return 'matrix'
  }
  const lower = first.text.toLowerCase()
  if (/(^|,)\s*"?source"?\s*,/.test(lower) && lower.includes('destination')) {
    throw new LatencyFileError(file, first.line, 'header', 'this is a WonderNetwork-style pings file: load its folder (pings.csv + servers.csv) instead')
  }
  return 'edges'
}
