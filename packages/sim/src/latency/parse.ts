import { MAX_RTT_MS, MS_PER_UNIT, UNIT_MICROSECONDS_ABOVE, UNIT_SECONDS_BELOW } from './constants.js'
import { continentOf, lookupCountry } from './countries.js'
import { isNumeric, parseNumber, parseRtt, sourceLines, splitFields } from './csv.js'
import { LatencyFileError } from './errors.js'
import type { LatencyDataset, LatencyFormat, LatencyUnit, MeasuredPair, Site } from './types.js'
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
  return { source: files.source ?? pingsFile, format: 'wondernetwork', sites, pairs: collector.pairs(), skipped, unit: 'ms', unitDetected: false }
}

const MISSING = new Set(['', 'na', 'nan', 'n/a', '-', 'null'])

/** Options of the single-file parsers. */
export interface ParseLatencyOptions {
  /**
   * The unit of the file's RTTs. A bare matrix without it detects its unit
   * (see {@link detectUnit}); the other formats default to ms.
   */
  unit?: LatencyUnit
}

/** Options of {@link parseBareMatrix}. */
export interface BareMatrixOptions extends ParseLatencyOptions {
  /**
   * What separates the cells of a row: `,` and `\t` separate one cell each
   * (an empty cell is unmeasured), `whitespace` is any run of spaces and tabs.
   * @default `,` when the first row has a comma; else `\t` when splitting the first row at each tab gives one cell per row; else `whitespace`
   */
  separator?: ',' | '\t' | 'whitespace'
}

/** Options of {@link parseLatencyFile}. */
export interface ParseLatencyFileOptions extends BareMatrixOptions {
  /** The file's format. @default detected by {@link detectFormat} */
  format?: Exclude<LatencyFormat, 'wondernetwork'>
}

/**
 * Parses a square TSV matrix of RTTs (in ms unless `options.unit` says
 * otherwise): the first row holds the site names (after a corner cell), each
 * further row a name and its RTTs. Cells may be empty or `NA` when
 * unmeasured; the diagonal is ignored; M[i][j] and M[j][i] are averaged.
 */
export function parseMatrixTsv (text: string, file = 'matrix.tsv', options: ParseLatencyOptions = {}): LatencyDataset {
  const msPerUnit = MS_PER_UNIT[options.unit ?? 'ms']
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
      const rtt = parseRtt(cell, file, src.line, names[col], col === row, msPerUnit)
      collector.add(row, col, rtt)
    }
  }
  if (seen.size !== names.length) {
    const missing = names.find((_, i) => !seen.has(i)) ?? ''
    throw new LatencyFileError(file, 0, missing, 'the matrix is not square: no row for this column')
  }
  return { source: file, format: 'matrix', sites, pairs: collector.pairs(), skipped: [], unit: options.unit ?? 'ms', unitDetected: false }
}

/**
 * Parses a CSV edge list `a,b,rtt_ms` (an optional header row is recognised
 * by a non-numeric third field; RTTs in ms unless `options.unit` says
 * otherwise). Repeated pairs, in either direction, are averaged; self pairs
 * are dropped.
 */
export function parseEdgeList (text: string, file = 'edges.csv', options: ParseLatencyOptions = {}): LatencyDataset {
  const msPerUnit = MS_PER_UNIT[options.unit ?? 'ms']
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
    const rtt = parseRtt(f[2], file, src.line, labels[2], a === b, msPerUnit)
    collector.add(a, b, rtt)
  }
  if (sites.length < 2) {
    throw new LatencyFileError(file, 0, 'rows', 'an edge list needs at least one pair of distinct sites')
  }
  return { source: file, format: 'edges', sites, pairs: collector.pairs(), skipped: [], unit: options.unit ?? 'ms', unitDetected: false }
}

type BareSeparator = NonNullable<BareMatrixOptions['separator']>

const SPACE = 0x20
const TAB = 0x09
const COMMA = 0x2c

function isDigit (c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

/** Whether `text[s, e)` is a plain decimal number (the grammar of {@link isNumeric}), without slicing it. */
function isNumberAt (text: string, s: number, e: number): boolean {
  let i = s
  let c = text.charCodeAt(i)
  if (c === 0x2b || c === 0x2d) c = text.charCodeAt(++i)
  let digits = 0
  while (i < e && isDigit(c)) { digits++; c = text.charCodeAt(++i) }
  if (i < e && c === 0x2e) {
    c = text.charCodeAt(++i)
    while (i < e && isDigit(c)) { digits++; c = text.charCodeAt(++i) }
  }
  if (digits === 0) return false
  if (i < e && (c === 0x65 || c === 0x45)) {
    c = text.charCodeAt(++i)
    if (c === 0x2b || c === 0x2d) c = text.charCodeAt(++i)
    let exp = 0
    while (i < e && isDigit(c)) { exp++; c = text.charCodeAt(++i) }
    if (exp === 0) return false
  }
  return i === e
}

/**
 * The value of one bare-matrix cell `text[s, e)` (already trimmed): the
 * number, or NaN when the cell says the pair is unmeasured (blank, `NA`,
 * `nan`, `-`, a negative number). Anything else throws.
 */
function cellValue (text: string, s: number, e: number, file: string, line: number, col: number): number {
  if (s === e) return Number.NaN
  if (isNumberAt(text, s, e)) {
    const v = Number(text.slice(s, e))
    if (!Number.isFinite(v)) {
      throw new LatencyFileError(file, line, `column ${col + 1}`, `number out of range: ${text.slice(s, Math.min(e, s + 40))}`)
    }
    return v < 0 ? Number.NaN : v
  }
  const cell = text.slice(s, e)
  if (e - s <= 4 && MISSING.has(cell.toLowerCase())) return Number.NaN
  throw new LatencyFileError(file, line, `column ${col + 1}`, `expected a number or a missing mark (blank, NA, nan, -1), got ${JSON.stringify(cell.slice(0, 40))}`)
}

/**
 * Scans one row of a bare matrix. With `out`, writes its first `n` cells
 * from `offset` on (NaN where unmeasured); without, only counts. Returns the
 * number of cells, a trailing separator not counted when the row would
 * otherwise have `n + 1`.
 */
function scanRow (src: SourceLine, sep: BareSeparator, n: number, file: string, out?: Float64Array, offset = 0): number {
  const text = src.text
  const len = text.length
  let count = 0
  let i = 0
  if (sep === 'whitespace') {
    for (;;) {
      while (i < len && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) i++
      if (i >= len) return count
      const s = i
      while (i < len && text.charCodeAt(i) !== SPACE && text.charCodeAt(i) !== TAB) i++
      if (out != null && count < n) out[offset + count] = cellValue(text, s, i, file, src.line, count)
      count++
    }
  }
  const sc = sep === ',' ? COMMA : TAB
  let lastEmpty = false
  for (;;) {
    let end = text.indexOf(sep, i)
    const last = end === -1
    if (last) end = len
    let s = i
    let e = end
    while (s < e && (text.charCodeAt(s) === SPACE || (sc === COMMA && text.charCodeAt(s) === TAB))) s++
    while (e > s && (text.charCodeAt(e - 1) === SPACE || (sc === COMMA && text.charCodeAt(e - 1) === TAB))) e--
    if (out != null && count < n) out[offset + count] = cellValue(text, s, e, file, src.line, count)
    count++
    lastEmpty = s === e
    if (last) break
    i = end + 1
  }
  return lastEmpty && count === n + 1 ? n : count
}

function defaultSeparator (first: SourceLine, n: number, file: string): BareSeparator {
  if (first.text.includes(',')) return ','
  if (first.text.includes('\t')) {
    // a tab per cell (blank cells allowed) unless tabs also pad the columns
    const cells = scanRow(first, '\t', n, file)
    return cells === n ? '\t' : 'whitespace'
  }
  return 'whitespace'
}

/**
 * The unit of a bare matrix's values from their median: below
 * {@link UNIT_SECONDS_BELOW} seconds, above {@link UNIT_MICROSECONDS_ABOVE}
 * microseconds, else milliseconds. `values` holds NaN where unmeasured; at
 * most ~100,000 of them (evenly spread) are looked at.
 */
export function detectUnit (values: ArrayLike<number>): LatencyUnit {
  const step = Math.max(1, Math.floor(values.length / 100_000))
  const sample: number[] = []
  for (let i = 0; i < values.length; i += step) {
    const v = values[i]
    if (v > 0) sample.push(v)
  }
  if (sample.length === 0) return 'ms'
  sample.sort((x, y) => x - y)
  const median = sample[Math.floor(sample.length / 2)]
  return median < UNIT_SECONDS_BELOW ? 's' : median > UNIT_MICROSECONDS_ABOVE ? 'us' : 'ms'
}

/**
 * Parses a bare square matrix of RTTs with no site names, as the King,
 * Meridian, PlanetLab and Harvard data sets are published: one row per line,
 * N cells per row separated by commas, tabs or runs of whitespace (see
 * {@link BareMatrixOptions.separator}; a trailing separator is allowed).
 * Sites are `site-0` … `site-(N-1)` (`ref` the index) without coordinates.
 *
 * A cell that is blank, `NA`, `nan`, `-`, negative or 0 is an unmeasured
 * pair; the diagonal is ignored. M[i][j] and M[j][i] are averaged when both
 * are measured, else the one that is counts. The unit is `options.unit`, or
 * detected from the median value (see {@link detectUnit}); the data set
 * says which in `unit` and `unitDetected`. Pairs are in ms.
 *
 * Refused with a {@link LatencyFileError}: a cell that is not a number
 * (line and column), a row with another number of cells than the others, a
 * matrix that is not square, fewer than 2 sites, no measured pair, an RTT
 * above {@link MAX_RTT_MS}.
 */
export function parseBareMatrix (text: string, file = 'matrix.txt', options: BareMatrixOptions = {}): LatencyDataset {
  // a tab-separated row with every cell blank is all tabs: a row, not a blank line
  let lines = sourceLines(text, options.separator === undefined || options.separator === '\t')
  if (lines.length === 0) {
    throw new LatencyFileError(file, 0, 'rows', 'the file is empty')
  }
  const sep = options.separator ?? defaultSeparator(lines[0], lines.length, file)
  if (sep !== '\t') {
    lines = lines.filter(l => l.text.trim() !== '')
  }
  const n = lines.length
  if (n === 0) {
    throw new LatencyFileError(file, 0, 'rows', 'the file is empty')
  }
  const width = scanRow(lines[0], sep, n, file)
  if (n < 2) {
    throw new LatencyFileError(file, 0, 'rows', `a bare matrix needs at least 2 sites, got ${n} row`)
  }
  if (width !== n) {
    throw new LatencyFileError(file, lines[0].line, 'row', `the matrix is not square: ${n} rows, but the first has ${width} cells`)
  }
  const raw = new Float64Array(n * n)
  for (let r = 0; r < n; r++) {
    const cells = scanRow(lines[r], sep, n, file, raw, r * n)
    if (cells !== n) {
      throw new LatencyFileError(file, lines[r].line, 'row', `expected ${n} cells like the first row, got ${cells}`)
    }
  }
  for (let r = 0; r < n; r++) {
    raw[r * n + r] = Number.NaN
  }
  for (let k = 0; k < raw.length; k++) {
    // 0 off the diagonal is how several data sets write "not measured"
    if (raw[k] === 0) raw[k] = Number.NaN
  }
  const unit = options.unit ?? detectUnit(raw)
  const msPerUnit = MS_PER_UNIT[unit]
  const pairs: MeasuredPair[] = []
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const x = raw[a * n + b]
      const y = raw[b * n + a]
      const hasX = !Number.isNaN(x)
      const hasY = !Number.isNaN(y)
      if (!hasX && !hasY) continue
      if (x * msPerUnit > MAX_RTT_MS || y * msPerUnit > MAX_RTT_MS) {
        const [v, row, col] = x * msPerUnit > MAX_RTT_MS ? [x, a, b] : [y, b, a]
        throw new LatencyFileError(file, lines[row].line, `column ${col + 1}`, `RTT ${v} ${unit} is above the ${MAX_RTT_MS} ms limit${options.unit === undefined ? ' (unit detected from the median value; pass the unit if that is wrong)' : ''}`)
      }
      const rttMs = (hasX && hasY ? (x + y) / 2 : hasX ? x : y) * msPerUnit
      pairs.push({ a, b, rttMs, samples: hasX && hasY ? 2 : 1 })
    }
  }
  if (pairs.length === 0) {
    throw new LatencyFileError(file, 0, 'pairs', 'every pair is missing (blank, NA, 0 or negative)')
  }
  const sites: Site[] = []
  for (let i = 0; i < n; i++) {
    sites.push({ id: i, name: `site-${i}`, ref: String(i), lat: Number.NaN, lon: Number.NaN })
  }
  return { source: file, format: 'bare-matrix', sites, pairs, skipped: [], unit, unitDetected: options.unit === undefined }
}

/**
 * Parses a single latency file, detecting its format (see
 * {@link detectFormat}) unless `options.format` names it. A WonderNetwork
 * pings file needs its servers file too: use {@link parseWonderNetwork} or
 * point `loadLatency` at the folder.
 */
export function parseLatencyFile (text: string, file: string, options: ParseLatencyFileOptions = {}): LatencyDataset {
  return parseLatencyText(text, file, options.format ?? detectFormat(text, file), options)
}

/** Parses `text` as the given single-file format. */
export function parseLatencyText (text: string, file: string, format: Exclude<LatencyFormat, 'wondernetwork'>, options: BareMatrixOptions = {}): LatencyDataset {
  switch (format) {
    case 'matrix': return parseMatrixTsv(text, file, options)
    case 'bare-matrix': return parseBareMatrix(text, file, options)
    default: return parseEdgeList(text, file, options)
  }
}

/** The trimmed cells of a line split at commas if it has any, else at tabs if it has any, else at runs of whitespace. */
function looseCells (text: string): string[] {
  const cells = text.includes(',') ? text.split(',') : text.includes('\t') ? text.split('\t') : text.trim().split(/[ \t]+/)
  return cells.map(c => c.trim())
}

function isNumberOrMissing (cell: string): boolean {
  return isNumeric(cell) || MISSING.has(cell.toLowerCase())
}

/**
 * Detects the format of a single latency file from its first meaningful
 * line (blank lines and `#` comments skipped):
 * - cells that are all numbers (or missing marks such as blank or `NA`),
 *   separated by commas, tabs or spaces: a bare matrix; but a tab-separated
 *   line with a blank first cell is the corner of a named TSV matrix, and
 *   three comma-separated numbers are an edge list `a,b,rtt` unless the file
 *   is exactly three such rows with a zero, blank or missing diagonal;
 * - any other line with a tab: a named TSV matrix;
 * - anything else: a CSV edge list.
 */
export function detectFormat (text: string, file: string): Exclude<LatencyFormat, 'wondernetwork'> {
  const head = sourceLines(text.slice(0, 65536))
  const first = head[0]
  if (first == null) {
    throw new LatencyFileError(file, 0, 'header', 'the file is empty')
  }
  const cells = looseCells(first.text)
  if (cells.length > 1 && cells[cells.length - 1] === '') cells.pop()
  const tsvCorner = first.text.includes('\t') && !first.text.includes(',') && cells[0] === ''
  if (!tsvCorner && cells.every(isNumberOrMissing) && cells.some(isNumeric)) {
    if (!(first.text.includes(',') && cells.length === 3 && cells.every(isNumeric))) {
      return 'bare-matrix'
    }
    const square = text.length <= 65536 && head.length === 3 && head.every((l, i) => {
      const c = looseCells(l.text)[i]
      return c !== undefined && (MISSING.has(c.toLowerCase()) || (isNumeric(c) && Number(c) <= 0))
    })
    if (square) {
      return 'bare-matrix'
    }
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
