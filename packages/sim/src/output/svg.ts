/**
 * Figures as hand-written SVG (no plotting dependency): empirical CDFs and
 * a world map of peers. Styled for papers: serif-free 11 px labels, axis
 * ticks at round numbers, light grid, a framed legend, a colour-blind safe
 * palette (Okabe & Ito).
 */

/** Okabe–Ito colours, distinguishable with common colour-vision deficiencies. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000']

const FONT = 'font-family="Helvetica, Arial, sans-serif"'

function esc (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function fmt (x: number): string {
  if (x === 0) return '0'
  const abs = Math.abs(x)
  if (abs >= 1e4 || abs < 1e-3) return x.toExponential(0)
  return String(Number(x.toPrecision(6)))
}

/** Round tick values covering [min, max], about `count` of them. */
export function niceTicks (min: number, max: number, count = 6): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return []
  if (max === min) {
    max = min + 1
  }
  const span = max - min
  const raw = span / Math.max(1, count)
  const mag = Math.pow(10, Math.floor(Math.log10(raw)))
  const norm = raw / mag
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag
  const ticks: number[] = []
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) {
    ticks.push(Number(t.toPrecision(12)))
  }
  return ticks
}

/** One curve of a CDF plot. */
export interface CdfSeries {
  label: string
  values: readonly number[]
  color?: string
  /** dashed line */
  dashed?: boolean
}

/** Options of {@link cdfPlot}. */
export interface CdfPlotOptions {
  title: string
  xLabel: string
  series: readonly CdfSeries[]
  /** cut the x axis at this quantile of all values (drops a long tail) @default 1 */
  clipQuantile?: number
  width?: number
  height?: number
  /** a note under the title, e.g. sample sizes */
  subtitle?: string
}

/** An empirical CDF plot of one or more series. */
export function cdfPlot (options: CdfPlotOptions): string {
  const { width, height, m, pw, ph, out } = plotFrame(options)
  const all = options.series.flatMap(s => s.values.filter(Number.isFinite)).sort((a, b) => a - b)

  if (all.length === 0) {
    out.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle" font-size="13" fill="#777" ${FONT}>no data</text>`, '</svg>')
    return out.join('\n')
  }

  const q = options.clipQuantile ?? 1
  const xmaxRaw = all[Math.min(all.length - 1, Math.max(0, Math.ceil(q * all.length) - 1))]
  const xminRaw = Math.min(0, all[0])
  const xt = niceTicks(xminRaw, xmaxRaw, 6)
  const xmin = Math.min(xminRaw, xt[0])
  const xmax = Math.max(xmaxRaw, xt[xt.length - 1])
  const X = (v: number): number => m.left + (Math.min(Math.max(v, xmin), xmax) - xmin) / (xmax - xmin || 1) * pw
  const Y = (p: number): number => m.top + (1 - p) * ph

  out.push(...axes({ m, pw, ph, height, X, Y, xTicks: xt, yTicks: FRACTION_TICKS, xLabel: options.xLabel, yLabel: 'CDF (fraction ≤ x)' }))

  out.push(`<clipPath id="plot"><rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}"/></clipPath>`)
  options.series.forEach((s, i) => {
    const v = s.values.filter(Number.isFinite).slice().sort((a, b) => a - b)
    if (v.length === 0) return
    const color = s.color ?? PALETTE[i % PALETTE.length]
    let d = `M${X(v[0]).toFixed(1)},${Y(0).toFixed(1)}`
    v.forEach((x, k) => {
      d += ` H${X(x).toFixed(1)} V${Y((k + 1) / v.length).toFixed(1)}`
    })
    d += ` H${(m.left + pw).toFixed(1)}`
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''} clip-path="url(#plot)"/>`)
  })

  out.push(legend(options.series.map((s, i) => ({ label: `${s.label} (n=${s.values.filter(Number.isFinite).length})`, color: s.color ?? PALETTE[i % PALETTE.length], dashed: s.dashed, line: true })), m.left + pw - 10, m.top + ph - 10, 'bottom-right'))
  out.push('</svg>')
  return out.join('\n')
}

/** The size, margins and plot area of an x-y plot, and its SVG so far (header and titles). */
function plotFrame (options: { title: string, subtitle?: string, width?: number, height?: number }): { width: number, height: number, m: { left: number, right: number, top: number, bottom: number }, pw: number, ph: number, out: string[] } {
  const width = options.width ?? 640
  const height = options.height ?? 420
  const m = { left: 64, right: 24, top: options.subtitle != null ? 58 : 44, bottom: 56 }
  const out = [...header(width, height), ...titles(width / 2, options.title, options.subtitle)]
  return { width, height, m, pw: width - m.left - m.right, ph: height - m.top - m.bottom, out }
}

/** The y ticks of a fraction axis. */
const FRACTION_TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1]

/** A plot's title and subtitle, centred on `x`. */
function titles (x: number, title: string, subtitle?: string): string[] {
  const out = [`<text x="${x.toFixed(1)}" y="22" text-anchor="middle" font-size="15" font-weight="bold" ${FONT}>${esc(title)}</text>`]
  if (subtitle != null) {
    out.push(`<text x="${x.toFixed(1)}" y="40" text-anchor="middle" font-size="11" fill="#555" ${FONT}>${esc(subtitle)}</text>`)
  }
  return out
}

interface AxesOptions {
  m: { left: number, top: number }
  pw: number
  ph: number
  height: number
  X(v: number): number
  Y(v: number): number
  xTicks: readonly number[]
  yTicks: readonly number[]
  xLabel: string
  yLabel: string
}

/** Grid, ticks, frame and axis labels of an x-y plot. */
function axes ({ m, pw, ph, height, X, Y, xTicks, yTicks, xLabel, yLabel }: AxesOptions): string[] {
  const out: string[] = []
  for (const t of xTicks) {
    out.push(`<line x1="${X(t).toFixed(1)}" y1="${m.top}" x2="${X(t).toFixed(1)}" y2="${m.top + ph}" stroke="#e5e5e5"/>`)
    out.push(`<line x1="${X(t).toFixed(1)}" y1="${m.top + ph}" x2="${X(t).toFixed(1)}" y2="${m.top + ph + 5}" stroke="#000"/>`)
    out.push(`<text x="${X(t).toFixed(1)}" y="${m.top + ph + 18}" text-anchor="middle" font-size="11" ${FONT}>${fmt(t)}</text>`)
  }
  for (const p of yTicks) {
    out.push(`<line x1="${m.left}" y1="${Y(p).toFixed(1)}" x2="${m.left + pw}" y2="${Y(p).toFixed(1)}" stroke="#e5e5e5"/>`)
    out.push(`<line x1="${m.left - 5}" y1="${Y(p).toFixed(1)}" x2="${m.left}" y2="${Y(p).toFixed(1)}" stroke="#000"/>`)
    out.push(`<text x="${m.left - 8}" y="${(Y(p) + 4).toFixed(1)}" text-anchor="end" font-size="11" ${FONT}>${p.toFixed(1)}</text>`)
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#000"/>`)
  out.push(`<text x="${m.left + pw / 2}" y="${height - 14}" text-anchor="middle" font-size="13" ${FONT}>${esc(xLabel)}</text>`)
  out.push(`<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="13" ${FONT}>${esc(yLabel)}</text>`)
  return out
}

/** One line of a {@link linePlot}: points (x, y); a null y breaks the line. */
export interface LineSeries {
  label: string
  points: ReadonlyArray<readonly [number, number | null]>
  color?: string
  dashed?: boolean
}

/** A labelled vertical mark of a {@link linePlot}, e.g. when churn struck. */
export interface XMark {
  x: number
  label: string
}

/** Options of {@link linePlot}. */
export interface LinePlotOptions {
  title: string
  subtitle?: string
  xLabel: string
  /** a fraction from 0 to 1 */
  yLabel: string
  series: readonly LineSeries[]
  marks?: readonly XMark[]
  width?: number
  height?: number
}

/** Lines of a fraction (0 to 1) over x, with dots at each point and labelled vertical marks. */
export function linePlot (options: LinePlotOptions): string {
  const { width, height, m, pw, ph, out } = plotFrame(options)
  const xs = [...options.series.flatMap(s => s.points.map(p => p[0])), ...(options.marks ?? []).map(k => k.x)].filter(Number.isFinite)
  if (options.series.every(s => s.points.every(p => p[1] == null || !Number.isFinite(p[1])))) {
    out.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle" font-size="13" fill="#777" ${FONT}>no data</text>`, '</svg>')
    return out.join('\n')
  }
  const xt = niceTicks(Math.min(0, ...xs), Math.max(...xs), 6)
  const xmin = Math.min(0, ...xs, xt[0])
  const xmax = Math.max(...xs, xt[xt.length - 1])
  const X = (v: number): number => m.left + (v - xmin) / (xmax - xmin || 1) * pw
  const Y = (p: number): number => m.top + (1 - Math.min(1, Math.max(0, p))) * ph
  out.push(...axes({ m, pw, ph, height, X, Y, xTicks: xt, yTicks: FRACTION_TICKS, xLabel: options.xLabel, yLabel: options.yLabel }))

  ;(options.marks ?? []).filter(k => Number.isFinite(k.x)).forEach((k, i) => {
    out.push(`<line x1="${X(k.x).toFixed(1)}" y1="${m.top}" x2="${X(k.x).toFixed(1)}" y2="${m.top + ph}" stroke="#777" stroke-dasharray="3 3"/>`)
    // labels alternate in height so marks close together stay readable
    out.push(`<text x="${(X(k.x) + 3).toFixed(1)}" y="${m.top + 12 + (i % 3) * 12}" font-size="10" fill="#444" ${FONT}>${esc(k.label)}</text>`)
  })
  options.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]
    let d = ''
    let pen = false
    for (const [x, y] of s.points) {
      if (y == null || !Number.isFinite(y) || !Number.isFinite(x)) {
        pen = false
        continue
      }
      d += `${pen ? ' L' : ' M'}${X(x).toFixed(1)},${Y(y).toFixed(1)}`
      pen = true
      out.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="2.5" fill="${color}"/>`)
    }
    if (d !== '') out.push(`<path d="${d.trim()}" fill="none" stroke="${color}" stroke-width="2"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`)
  })
  out.push(legend(options.series.map((s, i) => ({ label: s.label, color: s.color ?? PALETTE[i % PALETTE.length], dashed: s.dashed, line: true })), m.left + pw - 10, m.top + ph - 10, 'bottom-right'))
  out.push('</svg>')
  return out.join('\n')
}

interface LegendItem {
  label: string
  color: string
  dashed?: boolean
  /** a line sample instead of a dot */
  line?: boolean
}

function legend (items: readonly LegendItem[], x: number, y: number, anchor: 'bottom-right' | 'top-left'): string {
  const rowH = 18
  const w = 28 + Math.max(...items.map(i => i.label.length)) * 6.2
  const h = items.length * rowH + 10
  const x0 = anchor === 'bottom-right' ? x - w : x
  const y0 = anchor === 'bottom-right' ? y - h : y
  const out = [`<g><rect x="${x0.toFixed(1)}" y="${y0.toFixed(1)}" width="${w.toFixed(1)}" height="${h}" fill="#fff" fill-opacity="0.9" stroke="#999"/>`]
  items.forEach((item, k) => {
    const cy = y0 + 14 + k * rowH
    if (item.line === true) {
      out.push(`<line x1="${x0 + 6}" y1="${cy - 4}" x2="${x0 + 22}" y2="${cy - 4}" stroke="${item.color}" stroke-width="2"${item.dashed === true ? ' stroke-dasharray="4 3"' : ''}/>`)
    } else {
      out.push(`<circle cx="${x0 + 14}" cy="${cy - 4}" r="4.5" fill="${item.color}" stroke="#fff" stroke-width="0.8"/>`)
    }
    out.push(`<text x="${x0 + 28}" y="${cy}" font-size="11" ${FONT}>${esc(item.label)}</text>`)
  })
  out.push('</g>')
  return out.join('\n')
}

function header (width: number, height: number): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`
  ]
}

/** A peer on the map. */
export interface MapPeer {
  lat: number
  lon: number
  /** legend group, e.g. its region */
  group: string
}

/** A link drawn on the map, labelled with its latency. */
export interface MapLink {
  a: { lat: number, lon: number }
  b: { lat: number, lon: number }
  /** label, e.g. `142 ms` */
  label?: string
  /** @default grey */
  color?: string
}

/** A point marked with a cross on the map, e.g. where a job failed. */
export interface MapMark {
  lat: number
  lon: number
  color?: string
}

/** A legend entry for what the map's links or marks mean. */
export interface MapKey {
  label: string
  color: string
  /** drawn as a line sample (links) or a cross (marks) */
  shape: 'line' | 'cross'
}

/** Options of {@link worldMap}. */
export interface WorldMapOptions {
  title: string
  subtitle?: string
  peers: readonly MapPeer[]
  links?: readonly MapLink[]
  marks?: readonly MapMark[]
  /** legend entries of the links and marks @default one grey "link (oracle RTT)" line when there are links */
  keys?: readonly MapKey[]
  width?: number
}

/**
 * Peers on an equirectangular world map: a 30° graticule with degree
 * labels (no coastlines), peers coloured by group, links as straight
 * lines in the projection, some labelled with their latency.
 */
export function worldMap (options: WorldMapOptions): string {
  const width = options.width ?? 960
  const m = { left: 44, right: 150, top: options.subtitle != null ? 58 : 44, bottom: 36 }
  const pw = width - m.left - m.right
  const ph = pw / 2
  const height = m.top + ph + m.bottom
  const X = (lon: number): number => m.left + (lon + 180) / 360 * pw
  const Y = (lat: number): number => m.top + (90 - lat) / 180 * ph
  const out = [...header(width, height), ...titles(m.left + pw / 2, options.title, options.subtitle)]
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph.toFixed(1)}" fill="#f4f8fb" stroke="none"/>`)

  for (let lon = -180; lon <= 180; lon += 30) {
    out.push(`<line x1="${X(lon).toFixed(1)}" y1="${m.top}" x2="${X(lon).toFixed(1)}" y2="${(m.top + ph).toFixed(1)}" stroke="${lon === 0 ? '#b8c4cc' : '#d8e0e6'}" stroke-width="${lon === 0 ? 1 : 0.7}"/>`)
    out.push(`<text x="${X(lon).toFixed(1)}" y="${(m.top + ph + 16).toFixed(1)}" text-anchor="middle" font-size="10" fill="#444" ${FONT}>${Math.abs(lon)}°${lon < 0 ? 'W' : lon > 0 ? 'E' : ''}</text>`)
  }
  for (let lat = -90; lat <= 90; lat += 30) {
    out.push(`<line x1="${m.left}" y1="${Y(lat).toFixed(1)}" x2="${m.left + pw}" y2="${Y(lat).toFixed(1)}" stroke="${lat === 0 ? '#b8c4cc' : '#d8e0e6'}" stroke-width="${lat === 0 ? 1 : 0.7}"/>`)
    out.push(`<text x="${m.left - 6}" y="${(Y(lat) + 3.5).toFixed(1)}" text-anchor="end" font-size="10" fill="#444" ${FONT}>${Math.abs(lat)}°${lat < 0 ? 'S' : lat > 0 ? 'N' : ''}</text>`)
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph.toFixed(1)}" fill="none" stroke="#000"/>`)

  const links = (options.links ?? []).filter(l => [l.a.lat, l.a.lon, l.b.lat, l.b.lon].every(Number.isFinite))
  out.push(`<clipPath id="map-area"><rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph.toFixed(1)}"/></clipPath>`, '<g clip-path="url(#map-area)">')
  for (const l of links) {
    // a link crossing the antimeridian is drawn the short way, in two pieces
    const dx = l.b.lon - l.a.lon
    if (Math.abs(dx) > 180) {
      const shift = dx > 0 ? -360 : 360
      out.push(linkLine(X(l.a.lon), Y(l.a.lat), X(l.b.lon + shift), Y(l.b.lat), l.color))
      out.push(linkLine(X(l.a.lon - shift), Y(l.a.lat), X(l.b.lon), Y(l.b.lat), l.color))
    } else {
      out.push(linkLine(X(l.a.lon), Y(l.a.lat), X(l.b.lon), Y(l.b.lat), l.color))
    }
  }
  for (const k of options.marks ?? []) {
    if (Number.isFinite(k.lat) && Number.isFinite(k.lon)) out.push(cross(X(k.lon), Y(k.lat), k.color ?? '#000'))
  }
  out.push('</g>')

  const groups = [...new Set(options.peers.map(p => p.group))].sort()
  const color = new Map(groups.map((g, i) => [g, PALETTE[i % PALETTE.length]]))
  for (const p of options.peers) {
    if (!Number.isFinite(p.lat) || !Number.isFinite(p.lon)) continue
    out.push(`<circle cx="${X(p.lon).toFixed(1)}" cy="${Y(p.lat).toFixed(1)}" r="3.6" fill="${color.get(p.group) ?? '#000'}" fill-opacity="0.85" stroke="#fff" stroke-width="0.6"/>`)
  }

  for (const l of links) {
    if (l.label == null || Math.abs(l.b.lon - l.a.lon) > 180) continue
    const mx = (X(l.a.lon) + X(l.b.lon)) / 2
    const my = (Y(l.a.lat) + Y(l.b.lat)) / 2
    out.push(`<text x="${mx.toFixed(1)}" y="${(my - 3).toFixed(1)}" text-anchor="middle" font-size="9.5" fill="#222" stroke="#fff" stroke-width="2.5" paint-order="stroke" ${FONT}>${esc(l.label)}</text>`)
  }

  const counts = new Map<string, number>()
  options.peers.forEach(p => counts.set(p.group, (counts.get(p.group) ?? 0) + 1))
  out.push(legend(groups.map(g => ({ label: `${g} (${counts.get(g) ?? 0})`, color: color.get(g) ?? '#000' })), m.left + pw + 12, m.top, 'top-left'))
  const keys = options.keys ?? (links.length > 0 ? [{ label: 'link (oracle RTT)', color: '#555', shape: 'line' as const }] : [])
  keys.forEach((k, i) => {
    const y = m.top + groups.length * 18 + 24 + i * 18
    out.push(k.shape === 'line'
      ? `<line x1="${m.left + pw + 18}" y1="${y}" x2="${m.left + pw + 34}" y2="${y}" stroke="${k.color}" stroke-width="1.5" stroke-opacity="0.8"/>`
      : cross(m.left + pw + 26, y, k.color))
    out.push(`<text x="${m.left + pw + 40}" y="${y + 4}" font-size="11" ${FONT}>${esc(k.label)}</text>`)
  })
  out.push('</svg>')
  return out.join('\n')
}

function linkLine (x1: number, y1: number, x2: number, y2: number, color?: string): string {
  // grey links are the many of the wiring; coloured ones carry a meaning and are drawn stronger
  const style = color == null ? 'stroke="#555" stroke-width="0.8" stroke-opacity="0.45"' : `stroke="${color}" stroke-width="1.2" stroke-opacity="0.7"`
  return `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" ${style}/>`
}

function cross (x: number, y: number, color: string): string {
  return `<path d="M${(x - 3.5).toFixed(1)},${(y - 3.5).toFixed(1)} l7,7 m0,-7 l-7,7" stroke="${color}" stroke-width="1.8"/>`
}
