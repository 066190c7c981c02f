import { errorMessage } from '../error-text.js'
import { jobTypeOf, MARKET_SERVICES, serviceOf, workloadKinds } from '../market/config.js'
import { isGeohash } from '@shoal/records'
import { ScenarioError } from './errors.js'
import { MAX_SHARDS } from '../shard/constants.js'
import { LATENCY_FILE_FORMATS, LATENCY_UNITS } from '../latency/constants.js'
import { jsonLines, lineOf } from './json-locate.js'
import type { Scenario } from './types.js'
import type { MarketJobKind, MarketRole } from '../market/types.js'

type Obj = Record<string, unknown>

/** Where a field sits, for messages: a JSON path to line map and the file name. */
interface Ctx {
  lines?: Map<string, number>
  source?: string
}

const TOP_KEYS = ['name', 'description', 'seed', 'shards', 'durationS', 'latency', 'links', 'regions', 'connect', 'workload', 'churn', 'partitions', 'adversaries', 'market', 'nat', 'time', 'cpu']

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

  string (v: unknown, field: string, maxLength = Infinity): string {
    if (typeof v !== 'string' || v.trim() === '') {
      this.fail(field, `must be a non-empty string, got ${kind(v)}`)
    }
    if (v.length > maxLength) {
      this.fail(field, `must be at most ${maxLength} characters, got ${v.length}`)
    }
    return v
  }

  /** An array of non-empty strings: non-empty itself unless `empty`, of at most `max` entries of at most `maxLength` characters. */
  strings (v: unknown, field: string, opts: { empty?: boolean, max?: number, maxLength?: number } = {}): string[] {
    if (!Array.isArray(v) || (v.length === 0 && opts.empty !== true)) {
      this.fail(field, `must be a ${opts.empty === true ? '' : 'non-empty '}array of strings, got ${kind(v)}`)
    }
    return this.array(v, field, opts.max).map((s, i) => this.string(s, `${field}[${i}]`, opts.maxLength))
  }

  /** One of a few strings. */
  oneOf<T extends string> (v: unknown, field: string, allowed: readonly T[]): T {
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.fail(field, `must be ${allowed.map(a => `"${a}"`).join(', ')}, got ${kind(v)}`)
    }
    return v as T
  }

  /** An object whose keys are names of `what` that exist: `names`. */
  entries (v: unknown, field: string, names: readonly string[], what: string): Obj {
    const o = this.object(v, field)
    for (const k of Object.keys(o)) {
      if (!names.includes(k)) this.fail(join(field, k), `not ${what} (${names.join(', ')})`)
    }
    return o
  }

  array (v: unknown, field: string, max = Infinity): unknown[] {
    if (!Array.isArray(v)) {
      this.fail(field, `must be an array, got ${kind(v)}`)
    }
    if (v.length > max) {
      this.fail(field, `must have at most ${max} entries, got ${v.length}`)
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
  if (s.nat != null) checkNat(c, c.object(s.nat, 'nat'), known)
  if (s.time != null) c.oneOf(s.time, 'time', ['virtual', 'wall'])
  if (s.cpu != null) checkCpu(c, c.object(s.cpu, 'cpu'), known)
  if (s.market != null && s.market !== false) checkMarket(c, c.object(s.market, 'market'), known, workloadKinds(s))
  return s as unknown as Scenario
}

function checkCpu (c: Checker, cpu: Obj, known: Known): void {
  c.keys(cpu, 'cpu', ['factor', 'roles'])
  if (cpu.factor != null) c.number(cpu.factor, 'cpu.factor', { min: 0, max: 1000 })
  if (cpu.roles != null) {
    const roles = c.entries(cpu.roles, 'cpu.roles', [...known.roles], 'a role of the regions')
    for (const [role, f] of Object.entries(roles)) c.number(f, `cpu.roles.${role}`, { min: 0, max: 1000 })
  }
}

function checkHeader (c: Checker, s: Obj): void {
  c.string(s.name, 'name')
  if (s.description != null) c.string(s.description, 'description')
  if (s.seed != null) c.number(s.seed, 'seed', { int: true })
  if (s.shards != null && s.shards !== 'auto') c.number(s.shards, 'shards', { int: true, min: 1, max: MAX_SHARDS })
  c.number(s.durationS, 'durationS', { min: 0, max: 7 * 24 * 3600 })
}

function checkLatency (c: Checker, l: Obj): void {
  if (l.model === 'geographic') {
    c.keys(l, 'latency', ['model', 'minPopulation', 'lastMileMs', 'backbone'])
    if (l.minPopulation != null) c.number(l.minPopulation, 'latency.minPopulation', { min: 1000 })
    if (l.lastMileMs != null) c.number(l.lastMileMs, 'latency.lastMileMs', { min: 0, max: 10_000 })
    if (l.backbone != null) c.string(l.backbone, 'latency.backbone')
  } else if (l.model === 'measured') {
    c.keys(l, 'latency', ['model', 'path', 'unit', 'format'])
    c.string(l.path, 'latency.path')
    if (l.unit != null) c.oneOf(l.unit, 'latency.unit', LATENCY_UNITS)
    if (l.format != null) c.oneOf(l.format, 'latency.format', LATENCY_FILE_FORMATS)
  } else {
    c.fail('latency.model', `must be "geographic" or "measured", got ${kind(l.model)}`)
  }
}

function checkLinks (c: Checker, l: Obj): void {
  c.keys(l, 'links', ['loss', 'bandwidthMbps'])
  if (Array.isArray(l.loss)) {
    checkLossCurve(c, l.loss)
  } else if (l.loss != null && l.loss !== 'distance') {
    c.number(l.loss, 'links.loss', { min: 0, max: 0.99 })
  }
  if (l.bandwidthMbps != null) c.number(l.bandwidthMbps, 'links.bandwidthMbps', { min: 0, exclusiveMin: true, max: 1e6 })
}

/** A loss curve: 1 to 64 `[km, loss]` points, km ascending, loss in [0, 0.99]. */
function checkLossCurve (c: Checker, curve: unknown[]): void {
  c.array(curve, 'links.loss', 64)
  if (curve.length === 0) c.fail('links.loss', 'a loss curve needs at least one [km, loss] point')
  let last = -Infinity
  curve.forEach((point, i) => {
    const field = `links.loss[${i}]`
    if (!Array.isArray(point) || point.length !== 2) c.fail(field, 'must be a [km, loss] pair')
    const km = c.number(point[0], `${field}[0]`, { min: 0, max: 40_075 })
    c.number(point[1], `${field}[1]`, { min: 0, max: 0.99 })
    if (km < last) c.fail(`${field}[0]`, `km must not decrease along the curve (${km} after ${last})`)
    last = km
  })
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
  c.keys(o, field, ['behaviour', 'fraction', 'count', 'role', 'region', 'fromS', 'cell'])
  c.string(o.behaviour, `${field}.behaviour`)
  checkSelector(c, o, field, known)
  if (o.fromS != null) checkTime(c, o.fromS, `${field}.fromS`, known)
  if (o.cell != null && !/^[0-9b-hjkmnp-z]{1,12}$/.test(c.string(o.cell, `${field}.cell`))) c.fail(`${field}.cell`, 'must be a geohash of 1 to 12 characters')
}

function checkNat (c: Checker, n: Obj, { roles, total }: Known): void {
  c.keys(n, 'nat', ['share', 'roles', 'holePunch', 'relays', 'mappingS'])
  c.number(n.share, 'nat.share', { min: 0, max: 1 })
  if (n.roles != null) {
    c.strings(n.roles, 'nat.roles').forEach((role, i) => {
      if (!roles.has(role)) c.fail(`nat.roles[${i}]`, `no region has role "${role}"`)
    })
  }
  if (n.holePunch != null) c.number(n.holePunch, 'nat.holePunch', { min: 0, max: 1 })
  if (n.relays != null) c.number(n.relays, 'nat.relays', { ...INT, min: 1, max: total })
  if (n.mappingS != null) c.number(n.mappingS, 'nat.mappingS', { min: 0, exclusiveMin: true, max: 86_400 })
}

/** Longest name a record carries (a GPU model or class, a sensor). */
const NAME = 64
/** Most sensors a record lists. */
const SENSORS = 16
/** Largest price per unit: a job's budget (price x units) stays a safe integer. */
const MAX_PRICE = 1e9
/** Largest compute time of a job, ms: a day. */
const MAX_COMPUTE_MS = 86_400_000
const INT = { int: true } as const

function checkMarket (c: Checker, m: Obj, known: Known, kinds: string[]): void {
  c.keys(m, 'market', ['roles', 'jobs', 'cloud', 'choice', 'k', 'roundTrips', 'advertiseWaitS', 'defences'])
  if (m.roles != null) {
    const roles = c.entries(m.roles, 'market.roles', [...known.roles], 'a role of any region')
    for (const name of Object.keys(roles)) checkMarketRole(c, name, c.object(roles[name], `market.roles.${name}`), kinds)
  }
  if (m.jobs != null) {
    const jobs = c.entries(m.jobs, 'market.jobs', kinds, 'a job kind of the workload')
    for (const name of Object.keys(jobs)) checkMarketJob(c, name, c.object(jobs[name], `market.jobs.${name}`))
  }
  if (m.cloud != null && m.cloud !== false) checkMarketCloud(c, c.object(m.cloud, 'market.cloud'))
  if (m.choice != null) c.oneOf(m.choice, 'market.choice', ['router', 'random', 'alternate'])
  if (m.defences != null) c.oneOf(m.defences, 'market.defences', ['on', 'off', 'alternate'])
  if (m.k != null) c.number(m.k, 'market.k', { ...INT, min: 1, max: 64 })
  if (m.roundTrips != null) c.number(m.roundTrips, 'market.roundTrips', { ...INT, min: 1, max: 20 })
  if (m.advertiseWaitS != null) c.number(m.advertiseWaitS, 'market.advertiseWaitS', { min: 0, max: 600 })
}

function checkMarketRole (c: Checker, name: string, r: Obj, kinds: string[]): void {
  const field = `market.roles.${name}`
  c.keys(r, field, ['service', 'gpus', 'sensors', 'slots', 'pricePerUnit', 'currency', 'compute', 'revealPrecision'])
  if (r.service != null) c.oneOf(r.service, `${field}.service`, MARKET_SERVICES)
  if (r.gpus != null) {
    c.array(r.gpus, `${field}.gpus`, 64).forEach((g, i) => { checkGpu(c, c.object(g, `${field}.gpus[${i}]`), `${field}.gpus[${i}]`) })
  }
  if (r.sensors != null) c.strings(r.sensors, `${field}.sensors`, { empty: true, max: SENSORS, maxLength: NAME })
  if (r.slots != null) c.number(r.slots, `${field}.slots`, { ...INT, min: 1, max: 4096 })
  if (r.pricePerUnit != null) c.number(r.pricePerUnit, `${field}.pricePerUnit`, { ...INT, min: 0, max: MAX_PRICE })
  if (r.currency != null) c.string(r.currency, `${field}.currency`, 16)
  if (r.compute != null) {
    const compute = c.entries(r.compute, `${field}.compute`, ['*', ...kinds], 'a job kind of the workload or "*"')
    for (const k of Object.keys(compute)) checkCompute(c, c.object(compute[k], `${field}.compute.${k}`), `${field}.compute.${k}`)
  }
  if (r.revealPrecision != null) c.number(r.revealPrecision, `${field}.revealPrecision`, { ...INT, min: 0, max: 12 })
  // a provider with nothing to offer advertises nothing and never bids
  const service = serviceOf(name, r as MarketRole)
  if (service === 'gpu' && Array.isArray(r.gpus) && r.gpus.length === 0) c.fail(`${field}.gpus`, 'a gpu provider with no GPUs would advertise nothing')
  if (service === 'capture' && Array.isArray(r.sensors) && r.sensors.length === 0) c.fail(`${field}.sensors`, 'a capture provider with no sensors would advertise nothing')
}

function checkGpu (c: Checker, g: Obj, field: string): void {
  c.keys(g, field, ['model', 'vramMib', 'class', 'count'])
  c.string(g.model, `${field}.model`, NAME)
  c.number(g.vramMib, `${field}.vramMib`, { ...INT, min: 1, max: 1 << 24 })
  if (g.class != null) c.string(g.class, `${field}.class`, NAME)
  if (g.count != null) c.number(g.count, `${field}.count`, { ...INT, min: 1, max: 64 })
}

function checkCompute (c: Checker, m: Obj, field: string): void {
  c.keys(m, field, ['fixedMs', 'perUnitMs', 'jitter'])
  c.number(m.fixedMs, `${field}.fixedMs`, { min: 0, max: MAX_COMPUTE_MS })
  if (m.perUnitMs != null) c.number(m.perUnitMs, `${field}.perUnitMs`, { min: 0, max: MAX_COMPUTE_MS })
  if (m.jitter != null) c.number(m.jitter, `${field}.jitter`, { min: 0, max: 2 })
}

function checkMarketJob (c: Checker, name: string, j: Obj): void {
  const field = `market.jobs.${name}`
  c.keys(j, field, ['type', 'units', 'gpuClass', 'minVramMib', 'sensors', 'deadlineS', 'maxRttMs', 'maxPricePerUnit', 'region', 'regionPrecision', 'inputBytes'])
  if (j.type != null) c.oneOf(j.type, `${field}.type`, ['inference', 'batch', 'capture'])
  if (j.units != null) c.number(j.units, `${field}.units`, { ...INT, min: 1, max: 1_000_000 })
  if (j.gpuClass != null) c.string(j.gpuClass, `${field}.gpuClass`, NAME)
  if (j.minVramMib != null) c.number(j.minVramMib, `${field}.minVramMib`, { ...INT, min: 0, max: 1 << 24 })
  if (j.sensors != null) c.strings(j.sensors, `${field}.sensors`, { empty: true, max: SENSORS, maxLength: NAME })
  if (j.deadlineS != null) c.number(j.deadlineS, `${field}.deadlineS`, { min: 0, exclusiveMin: true, max: 86_400 })
  if (j.maxRttMs != null) c.number(j.maxRttMs, `${field}.maxRttMs`, { ...INT, min: 1, max: 60_000 })
  if (j.maxPricePerUnit != null) c.number(j.maxPricePerUnit, `${field}.maxPricePerUnit`, { ...INT, min: 0, max: MAX_PRICE })
  if (j.region != null && j.region !== 'any' && j.region !== 'local' && !(isGeohash(j.region) && j.region.length <= 12)) {
    c.fail(`${field}.region`, `must be "any", "local" or a geohash of 1 to 12 characters, got ${kind(j.region)}`)
  }
  if (j.regionPrecision != null) c.number(j.regionPrecision, `${field}.regionPrecision`, { ...INT, min: 1, max: 12 })
  if (j.inputBytes != null) c.number(j.inputBytes, `${field}.inputBytes`, { ...INT, min: 0, max: 64 * 1024 * 1024 })
  // the job record refuses a capture job that names no sensor
  if (jobTypeOf(name, j as MarketJobKind) === 'capture' && Array.isArray(j.sensors) && j.sensors.length === 0) {
    c.fail(`${field}.sensors`, 'a capture job must name at least one sensor')
  }
}

function checkMarketCloud (c: Checker, o: Obj): void {
  c.keys(o, 'market.cloud', ['cities', 'computeFactor'])
  if (o.cities != null) c.strings(o.cities, 'market.cloud.cities', { max: 200 })
  if (o.computeFactor != null) c.number(o.computeFactor, 'market.cloud.computeFactor', { min: 0, exclusiveMin: true, max: 1000 })
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
