/**
 * The operator's log of a full node: one line per thing that happened (a job
 * served, a receipt stored, a peer banned), as text or JSON, on stderr. The
 * `debug`-module output of libp2p and the Shoal services (`DEBUG=shoal:*`)
 * is the developer's log and stays separate.
 */

/** How much the node says, least to most. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug'

/** `text`: `time level event key=value ...`; `json`: one object per line. */
export type LogFormat = 'text' | 'json'

/** Every level, least to most verbose. */
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug']

/** Every format. */
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json']

/** Values of a log line, by key. Undefined values are left out. */
export type LogFields = Record<string, string | number | boolean | undefined>

/** Writes operator log lines at or above its level. */
export interface NodeLogger {
  readonly level: LogLevel
  error(event: string, fields?: LogFields): void
  warn(event: string, fields?: LogFields): void
  info(event: string, fields?: LogFields): void
  debug(event: string, fields?: LogFields): void
  /** whether lines of `level` are written */
  enabled(level: LogLevel): boolean
}

/** Options of `createNodeLogger()`. */
export interface NodeLoggerInit {
  /** @default 'info' */
  level?: LogLevel
  /** @default 'text' */
  format?: LogFormat
  /** where lines go @default process.stderr */
  stream?: { write(line: string): unknown }
  /** clock, ms @default Date.now */
  now?(): number
}

/**
 * A value as text: bare when it is one word of printable ASCII, else quoted
 * (JSON, which escapes control characters), so a peer-supplied value can
 * neither split a line nor carry terminal escapes.
 */
function textValue (value: string | number | boolean): string {
  const s = String(value)
  return s === '' || /[^\x21-\x7e]|["=\\]/.test(s) ? JSON.stringify(s) : s
}

/** Format one log line (without the newline). */
export function formatLogLine (format: LogFormat, time: number, level: LogLevel, event: string, fields: LogFields = {}): string {
  const entries = Object.entries(fields).filter((e): e is [string, string | number | boolean] => e[1] !== undefined)
  const at = new Date(time).toISOString()
  if (format === 'json') {
    return JSON.stringify({ time: at, level, event, ...Object.fromEntries(entries) })
  }
  return [at, level.padEnd(5), event, ...entries.map(([k, v]) => `${k}=${textValue(v)}`)].join(' ')
}

/** A logger writing one line per call at or above `level`. */
export function createNodeLogger (init: NodeLoggerInit = {}): NodeLogger {
  const level = init.level ?? 'info'
  const format = init.format ?? 'text'
  const stream = init.stream ?? process.stderr
  const now = init.now ?? Date.now
  const rank = LOG_LEVELS.indexOf(level)
  const enabled = (at: LogLevel): boolean => LOG_LEVELS.indexOf(at) <= rank
  const line = (at: LogLevel) => (event: string, fields?: LogFields): void => {
    if (enabled(at)) stream.write(formatLogLine(format, now(), at, event, fields) + '\n')
  }
  return { level, enabled, error: line('error'), warn: line('warn'), info: line('info'), debug: line('debug') }
}
