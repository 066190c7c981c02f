/** Render rows as an aligned plain-text table (no colours: output is often piped or logged). */
export function table (headers: string[], rows: string[][]): string {
  if (rows.length === 0) return '  (none)'
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => '  ' + cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i])).join('  ')
  return [line(headers), line(widths.map(w => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

/** `12D3KooW…abcdef`: a peer id short enough for a table, still recognisable at both ends. */
export function shortPeer (peerId: string): string {
  return peerId.length > 20 ? `${peerId.slice(0, 10)}…${peerId.slice(-6)}` : peerId
}

/** A duration in ms as `3d 4h`, `5m 2s`, `812ms`. */
export function duration (ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  const h = Math.floor(m / 60)
  if (h < 24) return `${h}h ${m % 60}m`
  return `${Math.floor(h / 24)}d ${h % 24}h`
}

/** A time in ms as an ISO string without milliseconds. */
export function time (ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}
