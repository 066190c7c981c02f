import type { SimEvent } from '../harness/events.js'

function cell (v: unknown): string {
  if (v == null) return ''
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/**
 * Events as CSV: `t_ms,type,peer` then every other field that occurs, in
 * order of first appearance, one row per event (RFC 4180 quoting).
 */
export function eventsToCsv (events: readonly SimEvent[]): string {
  const columns = ['t', 'type', 'peer']
  const seen = new Set(columns)

  for (const e of events) {
    for (const k of Object.keys(e)) {
      if (!seen.has(k)) {
        seen.add(k)
        columns.push(k)
      }
    }
  }

  const lines = [['t_ms', ...columns.slice(1)].join(',')]

  for (const e of events) {
    lines.push(columns.map(c => cell(e[c])).join(','))
  }

  return lines.join('\n') + '\n'
}

/** Rows of objects as CSV with the given columns. */
export function rowsToCsv (rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): string {
  return [columns.join(','), ...rows.map(r => columns.map(c => cell(r[c])).join(','))].join('\n') + '\n'
}
