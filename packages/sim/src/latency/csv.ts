import { MAX_RTT_MS } from './constants.js'
import { LatencyFileError } from './errors.js'

/** A non-blank, non-comment line with its 1-based number. */
export interface SourceLine {
  line: number
  text: string
}

/**
 * Splits text into lines, dropping a BOM, blank lines and `#` comments;
 * `keepTabs` keeps blank lines that hold a tab (a row of empty TSV cells).
 */
export function sourceLines (text: string, keepTabs = false): SourceLine[] {
  const out: SourceLine[] = []
  if (text.charCodeAt(0) === 0xfeff) {
    text = text.slice(1)
  }
  let start = 0
  let n = 0
  while (start <= text.length) {
    let end = text.indexOf('\n', start)
    if (end === -1) {
      end = text.length
    }
    n++
    let line = text.slice(start, end)
    if (line.endsWith('\r')) {
      line = line.slice(0, -1)
    }
    if ((line.trim() !== '' || (keepTabs && line.includes('\t'))) && !line.trimStart().startsWith('#')) {
      out.push({ line: n, text: line })
    }
    start = end + 1
  }
  return out
}

/**
 * Splits one delimited line into fields. Fields may be double-quoted with
 * `""` as an escaped quote; quoted fields cannot span lines (a latency file
 * has no use for that, and it keeps line numbers exact).
 */
export function splitFields (src: SourceLine, sep: string, file: string): string[] {
  const text = src.text
  const fields: string[] = []
  let i = 0
  for (;;) {
    // skip leading blanks (never the separator itself)
    while (i < text.length && (text[i] === ' ' || (text[i] === '\t' && sep !== '\t'))) {
      i++
    }
    if (text[i] === '"') {
      let value = ''
      i++
      for (;;) {
        const q = text.indexOf('"', i)
        if (q === -1) {
          throw new LatencyFileError(file, src.line, `column ${fields.length + 1}`, 'unterminated quoted field')
        }
        value += text.slice(i, q)
        if (text[q + 1] === '"') {
          value += '"'
          i = q + 2
          continue
        }
        i = q + 1
        break
      }
      while (i < text.length && (text[i] === ' ' || (text[i] === '\t' && sep !== '\t'))) {
        i++
      }
      fields.push(value)
      if (i >= text.length) {
        return fields
      }
      if (text[i] !== sep) {
        throw new LatencyFileError(file, src.line, `column ${fields.length}`, 'unexpected text after a closing quote')
      }
      i++
    } else {
      const next = text.indexOf(sep, i)
      const end = next === -1 ? text.length : next
      const value = text.slice(i, end).trim()
      if (value.includes('"')) {
        throw new LatencyFileError(file, src.line, `column ${fields.length + 1}`, 'stray quote in an unquoted field')
      }
      fields.push(value)
      if (next === -1) {
        return fields
      }
      i = next + 1
    }
  }
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

/** Whether a field is a plain decimal number (no hex, no Infinity, not blank). */
export function isNumeric (value: string): boolean {
  return NUMBER.test(value)
}

/** Parses a decimal number, or throws a typed error naming file, line and field. */
export function parseNumber (value: string, file: string, line: number, field: string): number {
  if (!NUMBER.test(value)) {
    throw new LatencyFileError(file, line, field, `expected a number, got ${JSON.stringify(value.slice(0, 40))}`)
  }
  const n = Number(value)
  if (!Number.isFinite(n)) {
    throw new LatencyFileError(file, line, field, `number out of range: ${value.slice(0, 40)}`)
  }
  return n
}

/**
 * Parses an RTT into ms: a number that, times `msPerUnit` (the file's unit,
 * see {@link MS_PER_UNIT}), is in (0, MAX_RTT_MS]; `allowZero` admits 0 (self pairs).
 */
export function parseRtt (value: string, file: string, line: number, field: string, allowZero = false, msPerUnit = 1): number {
  const n = parseNumber(value, file, line, field) * msPerUnit
  if (n < 0 || (n === 0 && !allowZero)) {
    throw new LatencyFileError(file, line, field, `RTT must be positive, got ${value}`)
  }
  if (n > MAX_RTT_MS) {
    throw new LatencyFileError(file, line, field, `RTT ${value}${msPerUnit === 1 ? ' ms' : ''} is above the ${MAX_RTT_MS} ms limit`)
  }
  return n
}
