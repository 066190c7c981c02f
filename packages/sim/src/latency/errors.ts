/**
 * Errors raised while reading latency data. A malformed file is refused as a
 * whole, before any simulation starts, with the place that is wrong.
 */

/**
 * A latency file (or folder) is malformed. `file`, `line` (1-based; 0 when
 * the problem is the file as a whole) and `field` (column name, or a short
 * label such as `header`) say where.
 */
export class LatencyFileError extends Error {
  static override name = 'LatencyFileError'
  /** The file (as given by the caller) that is wrong. */
  readonly file: string
  /** 1-based line number, 0 for the file as a whole. */
  readonly line: number
  /** Column name or a short label of what is wrong on that line. */
  readonly field: string

  constructor (file: string, line: number, field: string, problem: string) {
    super(`${file}${line > 0 ? `:${line}` : ''}: ${field}: ${problem}`)
    this.name = 'LatencyFileError'
    this.file = file
    this.line = line
    this.field = field
  }
}

/** A latency model or calibration was asked for something the data cannot give. */
export class LatencyModelError extends Error {
  static override name = 'LatencyModelError'

  constructor (message: string) {
    super(message)
    this.name = 'LatencyModelError'
  }
}
