/**
 * Output of a run: JSON and CSV of every event, a summary, and SVG figures
 * (CDFs, a world map) drawn without a plotting dependency.
 */

export { eventsToCsv, rowsToCsv } from './csv.js'
export { formatSummary, summarize } from './summary.js'
export type { RunSummary } from './summary.js'
export { cdfPlot, linePlot, niceTicks, PALETTE, worldMap } from './svg.js'
export type { CdfPlotOptions, CdfSeries, LinePlotOptions, LineSeries, MapKey, MapLink, MapMark, MapPeer, WorldMapOptions, XMark } from './svg.js'
export { runPlots, writeRun } from './write.js'
