import { errorMessage } from '../error-text.js'
import { ScenarioError } from './errors.js'
import { jsonLines, lineOf } from './json-locate.js'
import type { Scenario } from './types.js'

type Obj = Record<string, unknown>

/** Where a field sits, for messages: a JSON path to line map and the file name. */
interface Ctx {
  lines?: Map<string, number>
  source?: string
}

const TOP_KEYS = ['name', 'description', 'seed', 'durationS', 'latency', 'links', 'regions', 'connect', 'workload', 'churn', 'partitions', 'adversaries', 'market']

/** Largest peer count a scenario may ask for (one machine, one process). */
export const MAX_SCENARIO_PEERS = 100_000

class Checker {
  constructor (private readonly ctx: Ctx) {}

  fail (field: string, message: string): never {
    throw new ScenarioError(field, message, this.lineOf(field), this.ctx.source)
  }

  /** Line of `field`, else of its nearest enclosing value (a missing field is reported at its parent). */
  private lineOf (field: string): number | undefined {
    let path = field

    for (;;) {
      const line = this.ctx.lines?.get(path)

      if (line != null || path === '') {
        return line
      }

      const parent = path.replace(/(\.[^.[\]]*|\[\d+\])$/, '')
      path = parent === path ? '' : parent
    }
  }

  object (v: unknown, field: string): Obj {
    if (v == null || typeof v !== 'object' || Array.isArray(v)) {
      this.fail(field, `must be an object, got ${kind(v)}`)
    }
    return v as Obj
  }

  keys (o: Obj, field: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) {
        this.fail(join(field, k), `unknown field (expected one of ${allowed.join(', ')})`)
      }
    }
  }

  number (v: unknown, field: string, opts: { min?: number, max?: number, int?: boolean, exclusiveMin?: boolean } = {}): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.fail(field, `must be a finite number, got ${kind(v)}`)
    }
    if (opts.int === true && !Number.isSafeInteger(v)) {
      this.fail(field, `must be an integer, got ${v}`)
    }
    if (opts.min != null && (opts.exclusiveMin === true ? v <= opts.min : v < opts.min)) {
      this.fail(field, `must be ${opts.exclusiveMin === true ? '>' : '>='} ${opts.min}, got ${v}`)
    }
    if (opts.max != null && v > opts.max) {
      this.fail(field, `must be <= ${opts.max}, got ${v}`)
    }
    return v
  }

  string (v: unknown, field: string): string {
    if (typeof v !== 'string' || v.trim() === '') {
      this.fail(field, `must be a non-empty string, got ${kind(v)}`)
    }
    return v
  }

  strings (v: unknown, field: string): string[] {
    if (!Array.isArray(v) || v.length === 0) {
      this.fail(field, `must be a non-empty array of strings, got ${kind(v)}`)
    }
    return v.map((s, i) => this.string(s, `${field}[${i}]`))
  }

  array (v: unknown, field: string): unknown[] {
    if (!Array.isArray(v)) {
      this.fail(field, `must be an array, got ${kind(v)}`)
    }
    return v
  }
}

function kind (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v)
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '…' : v}"`
  if (typeof v === 'object') return 'an object'
  return `${typeof v} ${String(v)}`
}

function join (field: string, key: string): string {
  return field === '' ? key : `${field}.${key}`
}

/** What later sections are checked against: the regions, their peers and roles. */
interface Known {
  /** region names */
  names: string[]
  /** every role some region has */
  roles: Set<string>
  /** peers over all regions */
  total: number
  /** the scenario's duration, s: timeline times must fall within it */
  durationS: number
}

/**
 * Checks that `value` is a well-formed {@link Scenario} and returns it. The
 * first problem is thrown as a {@link ScenarioError} naming the field (and
 * the line, when `ctx` comes from {@link parseScenario}); unknown fields
 * are refused, so a typo does not silently fall back to a default.
 */
export function validateScenario (value: unknown, ctx: Ctx = {}): Scenario {
  const c = new Checker(ctx)
  const s = c.object(value, '')
  c.keys(s, '', TOP_KEYS)
  checkHeader(c, s)
  if (s.latency != null) checkLatency(c, c.object(s.latency, 'latency'))
  if (s.links != null) checkLinks(c, c.object(s.links, 'links'))
  const known = checkRegions(c, c.object(s.regions, 'regions'), s.durationS as number)
  if (s.connect != null) checkConnect(c, c.object(s.connect, 'connect'), known)
  if (s.workload != null) checkWorkload(c, c.object(s.workload, 'workload'), known)
  if (s.churn != null) c.array(s.churn, 'churn').forEach((e, i) => { checkChurn(c, e, `churn[${i}]`, known) })
  if (s.partitions != null) c.array(s.partitions, 'partitions').forEach((e, i) => { checkPartition(c, e, `partitions[${i}]`, known) })
  if (s.adversaries != null) c.array(s.adversaries, 'adversaries').forEach((e, i) => { checkAdversary(c, e, `adversaries[${i}]`, known) })
  return s as unknown as Scenario
}

function checkHeader (c: Checker, s: Obj): void {
  c.string(s.name, 'name')
  if (s.description != null) c.string(s.description, 'description')
  if (s.seed != null) c.number(s.seed, 'seed', { int: true })
  c.number(s.durationS, 'durationS', { min: 0, max: 7 * 24 * 3600 })
}

function checkLatency (c: Checker, l: Obj): void {
  if (l.model === 'geographic') {
    c.keys(l, 'latency', ['model', 'minPopulation', 'lastMileMs', 'backbone'])
    if (l.minPopulation != null) c.number(l.minPopulation, 'latency.minPopulation', { min: 1000 })
    if (l.lastMileMs != null) c.number(l.lastMileMs, 'latency.lastMileMs', { min: 0, max: 10_000 })
    if (l.backbone != null) c.string(l.backbone, 'latency.backbone')
  } else if (l.model === 'measured') {
    c.keys(l, 'latency', ['model', 'path'])
    c.string(l.path, 'latency.path')
  } else {
    c.fail('latency.model', `must be "geographic" or "measured", got ${kind(l.model)}`)
  }
}

function checkLinks (c: Checker, l: Obj): void {
  c.keys(l, 'links', ['loss', 'bandwidthMbps'])
  if (l.loss != null && l.loss !== 'distance') c.number(l.loss, 'links.loss', { min: 0, max: 0.99 })
  if (l.bandwidthMbps != null) c.number(l.bandwidthMbps, 'links.bandwidthMbps', { min: 0, exclusiveMin: true, max: 1e6 })
}

/** Each region's peers and role counts; returns what later sections refer to. */
function checkRegions (c: Checker, regions: Obj, durationS: number): Known {
  const names = Object.keys(regions)
  if (names.length === 0) c.fail('regions', 'must name at least one region')
  let total = 0
  const roles = new Set<string>()
  for (const name of names) {
    const field = `regions.${name}`
    const r = c.object(regions[name], field)
    c.keys(r, field, ['peers', 'roles'])
    const peers = c.number(r.peers, `${field}.peers`, { int: true, min: 0, max: MAX_SCENARIO_PEERS })
    total += peers
    if (r.roles != null) {
      const rr = c.object(r.roles, `${field}.roles`)
      let sum = 0
      for (const role of Object.keys(rr)) {
        sum += c.number(rr[role], `${field}.roles.${role}`, { int: true, min: 0 })
        roles.add(role)
      }
      if (sum !== peers) c.fail(`${field}.roles`, `role counts add up to ${sum}, not to the region's ${peers} peers`)
    } else {
      roles.add('peer')
    }
  }
  if (total < 1) c.fail('regions', 'must hold at least one peer')
  if (total > MAX_SCENARIO_PEERS) c.fail('regions', `hold ${total} peers, more than ${MAX_SCENARIO_PEERS}`)
  return { names, roles, total, durationS }
}

function checkConnect (c: Checker, k: Obj, { total }: Known): void {
  c.keys(k, 'connect', ['bootstrap', 'degree', 'nearby'])
  if (k.bootstrap != null) c.number(k.bootstrap, 'connect.bootstrap', { int: true, min: 0, max: total })
  if (k.degree != null) c.number(k.degree, 'connect.degree', { int: true, min: 0, max: 1000 })
  if (k.nearby != null) c.number(k.nearby, 'connect.nearby', { min: 0, max: 1 })
}

function checkWorkload (c: Checker, w: Obj, { roles }: Known): void {
  c.keys(w, 'workload', ['jobs', 'pings'])
  if (w.jobs != null) {
    const j = c.object(w.jobs, 'workload.jobs')
    c.keys(j, 'workload.jobs', ['ratePerS', 'from', 'kinds'])
    c.number(j.ratePerS, 'workload.jobs.ratePerS', { min: 0, max: 10_000 })
    if (j.from != null) {
      c.strings(j.from, 'workload.jobs.from').forEach((role, i) => {
        if (!roles.has(role)) c.fail(`workload.jobs.from[${i}]`, `no region has role "${role}"`)
      })
    }
    if (j.kinds != null) c.strings(j.kinds, 'workload.jobs.kinds')
  }
  if (w.pings != null) {
    const p = c.object(w.pings, 'workload.pings')
    c.keys(p, 'workload.pings', ['everyS', 'pairs'])
    c.number(p.everyS, 'workload.pings.everyS', { min: 0, exclusiveMin: true })
    c.number(p.pairs, 'workload.pings.pairs', { int: true, min: 0, max: 100_000 })
  }
}

/** A time on the timeline, s: within the run. */
function checkTime (c: Checker, v: unknown, field: string, { durationS }: Known): number {
  return c.number(v, field, { min: 0, max: durationS })
}

/** Which peers a churn event or adversary picks: a fraction or a count, of a role and/or region. */
function checkSelector (c: Checker, o: Obj, field: string, { names, roles, total }: Known): void {
  if (o.fraction == null && o.count == null) c.fail(field, 'needs "fraction" or "count"')
  if (o.fraction != null && o.count != null) c.fail(`${field}.count`, 'give "fraction" or "count", not both')
  if (o.fraction != null) c.number(o.fraction, `${field}.fraction`, { min: 0, max: 1 })
  if (o.count != null) c.number(o.count, `${field}.count`, { int: true, min: 0, max: total })
  if (o.role != null && !roles.has(c.string(o.role, `${field}.role`))) c.fail(`${field}.role`, `no region has role "${String(o.role)}"`)
  if (o.region != null && !names.includes(c.string(o.region, `${field}.region`))) c.fail(`${field}.region`, `not a region of this scenario (${names.join(', ')})`)
}

function checkChurn (c: Checker, e: unknown, field: string, known: Known): void {
  const o = c.object(e, field)
  c.keys(o, field, ['atS', 'action', 'fraction', 'count', 'role', 'region', 'rejoinAfterS'])
  checkTime(c, o.atS, `${field}.atS`, known)
  if (o.action !== 'crash' && o.action !== 'leave' && o.action !== 'join') {
    c.fail(`${field}.action`, `must be "crash", "leave" or "join", got ${kind(o.action)}`)
  }
  checkSelector(c, o, field, known)
  if (o.rejoinAfterS != null) {
    if (o.action === 'join') c.fail(`${field}.rejoinAfterS`, 'only applies to "crash" and "leave"')
    c.number(o.rejoinAfterS, `${field}.rejoinAfterS`, { min: 0 })
  }
}

function checkPartition (c: Checker, e: unknown, field: string, known: Known): void {
  const { names } = known
  const o = c.object(e, field)
  c.keys(o, field, ['atS', 'healAtS', 'a', 'b'])
  const at = checkTime(c, o.atS, `${field}.atS`, known)
  if (o.healAtS != null && c.number(o.healAtS, `${field}.healAtS`, { min: 0 }) <= at) {
    c.fail(`${field}.healAtS`, `must be after atS (${at})`)
  }
  for (const side of ['a', 'b'] as const) {
    c.strings(o[side], `${field}.${side}`).forEach((r, k) => {
      if (!names.includes(r)) c.fail(`${field}.${side}[${k}]`, `not a region of this scenario (${names.join(', ')})`)
    })
  }
  const overlap = (o.a as string[]).find(r => (o.b as string[]).includes(r))
  if (overlap != null) c.fail(`${field}.b`, `region "${overlap}" is on both sides`)
}

function checkAdversary (c: Checker, e: unknown, field: string, known: Known): void {
  const o = c.object(e, field)
  c.keys(o, field, ['behaviour', 'fraction', 'count', 'role', 'region', 'fromS'])
  c.string(o.behaviour, `${field}.behaviour`)
  checkSelector(c, o, field, known)
  if (o.fromS != null) checkTime(c, o.fromS, `${field}.fromS`, known)
}

/**
 * Parses and validates a scenario file's text. Syntax errors and invalid
 * fields are thrown as {@link ScenarioError} with the line (and field).
 */
export function parseScenario (text: string, source?: string): Scenario {
  let value: unknown

  try {
    value = JSON.parse(text)
  } catch (err: unknown) {
    const message = errorMessage(err)
    const pos = /position (\d+)/.exec(message)
    const lc = /line (\d+)/.exec(message)
    const line = pos != null ? lineOf(text, Number(pos[1])) : lc != null ? Number(lc[1]) : undefined
    throw new ScenarioError('', `not valid JSON (${message})`, line, source)
  }

  return validateScenario(value, { lines: jsonLines(text), source })
}
