/**
 * The market section of a scenario with every default filled in: plain
 * data, structured-cloneable, so a coordinator hands the same resolved
 * market to every shard.
 */

import { JobKind, requirementsOf } from '@shoal/records'
import { gpuClass } from '@shoal/work'
import { createRng } from '../random.js'
import { CLOUD_REGIONS } from './cloud.js'
import type { ComputeModel, MarketGpu, MarketJobKind, MarketRole, MarketService, ScenarioMarket } from './types.js'
import type { Scenario } from '../scenario/types.js'
import type { Gpu, JobTerms, Offer, Price, Requirements } from '@shoal/records'

/** Compute time when a role names none for a kind. */
export const COMPUTE_MODEL: Readonly<Required<ComputeModel>> = { fixedMs: 500, perUnitMs: 100, jitter: 0.1 }
const DEFAULT_GPU: MarketGpu = { model: 'RTX 4090', vramMib: 24576 }
const DEADLINE_S = 30
const MAX_PRICE_PER_UNIT = 10
const INPUT_BYTES = 1024
const REGION_PRECISION = 2
const REVEAL_PRECISION = 5
const K = 5
const ROUND_TRIPS = 2
const ADVERTISE_WAIT_S = 30
/** Longest a timer waits (Node fires a longer one at once). */
const MAX_TIMER_MS = 2 ** 31 - 1

/** A role with its defaults. */
export interface ResolvedRole {
  name: string
  service: MarketService
  gpus: Gpu[]
  sensors: string[]
  slots: number
  price: Price
  /** by job kind name; `*` for the others */
  compute: Record<string, Required<ComputeModel>>
  revealPrecision: number
}

/** A job kind with its defaults. */
export interface ResolvedJobKind {
  name: string
  type: 'inference' | 'batch' | 'capture'
  kind: JobKind
  units: number
  gpuClass: string
  minVramMib: number
  sensors: string[]
  deadlineS: number
  /** `deadlineS` in whole ms (at least 1): the job record's deadline is an integer */
  deadlineMs: number
  /** what a job may pay in all: the ceiling for its units, at least 1 (the job record's least budget) */
  budget: number
  /** 0 = no bound */
  maxRttMs: number
  maxPricePerUnit: number
  /** `any`, `local` or a geohash */
  region: string
  regionPrecision: number
  inputBytes: number
}

/** The market of a run. */
export interface ResolvedMarket {
  /** by role name, every role the scenario's regions use */
  roles: Record<string, ResolvedRole>
  /** by kind name, every kind of the workload */
  jobs: Record<string, ResolvedJobKind>
  cloud: { cities: string[], computeFactor: number } | false
  choice: 'router' | 'random' | 'alternate'
  k: number
  roundTrips: number
  advertiseWaitS: number
  /** the scenario's seed: job jitter draws from it */
  seed: number
  /** which peers run the defences against dishonest peers: all, none, or those of even index */
  defences: 'on' | 'off' | 'alternate'
  /** the workload's job arrivals per s over the network (a spammer publishes at a multiple of it) */
  jobRatePerS: number
}

/** Every service a role may play. */
export const MARKET_SERVICES: readonly MarketService[] = ['gpu', 'capture', 'witness', 'requester', 'bootstrap']

/** The job kind names of a scenario's workload. */
export function workloadKinds (scenario: Pick<Scenario, 'workload'>): string[] {
  return scenario.workload?.jobs?.kinds ?? ['job']
}

/** The service of role `name`: the one it names, else its own name when that is a service, else `requester`. */
export function serviceOf (name: string, spec: MarketRole): MarketService {
  return spec.service ?? ((MARKET_SERVICES as readonly string[]).includes(name) ? name as MarketService : 'requester')
}

/** The type of job kind `name`: the one it names, else by its name (`capture`; `render`, `batch`), else `inference`. */
export function jobTypeOf (name: string, spec: MarketJobKind): ResolvedJobKind['type'] {
  return spec.type ?? (name === 'capture' ? 'capture' : name === 'render' || name === 'batch' ? 'batch' : 'inference')
}

/** `record[key]` when it is the record's own entry: a kind or role named `toString` or `__proto__` is not the prototype's. */
export function ownEntry<T> (record: Record<string, T> | undefined, key: string): T | undefined {
  return record != null && Object.hasOwn(record, key) ? record[key] : undefined
}

/** Whether the peer of `index` runs the defences under the market's `defences` setting. */
export function isDefended (market: Pick<ResolvedMarket, 'defences'>, index: number): boolean {
  return market.defences === 'on' || (market.defences === 'alternate' && index % 2 === 0)
}

/** Whether a role offers work (advertises and bids). */
export function isProvider (role: ResolvedRole): boolean {
  return role.service === 'gpu' || role.service === 'capture'
}

/** The scenario's market with its defaults, or `undefined` when it has none. */
export function resolveMarket (scenario: Scenario): ResolvedMarket | undefined {
  const market = scenario.market
  if (market == null || market === false) return undefined

  const roleNames = new Set<string>()
  for (const region of Object.values(scenario.regions)) {
    for (const name of Object.keys(region.roles ?? { peer: region.peers })) roleNames.add(name)
  }
  for (const name of Object.keys(market.roles ?? {})) roleNames.add(name)

  const kindNames = new Set<string>(workloadKinds(scenario))
  for (const name of Object.keys(market.jobs ?? {})) kindNames.add(name)

  const roles = Object.fromEntries([...roleNames].map(name => [name, resolveRole(name, market)]))
  // discovery searches by GPU class: a GPU job that names none asks for the first class offered
  const firstClass = Object.values(roles).find(r => r.service === 'gpu' && r.gpus.length > 0)?.gpus[0].class ?? ''
  return {
    roles,
    jobs: Object.fromEntries([...kindNames].map(name => [name, resolveJobKind(name, market, firstClass)])),
    cloud: market.cloud === false ? false : { cities: market.cloud?.cities ?? CLOUD_REGIONS.map(c => c.name), computeFactor: market.cloud?.computeFactor ?? 1 },
    choice: market.choice ?? 'router',
    k: market.k ?? K,
    roundTrips: market.roundTrips ?? ROUND_TRIPS,
    advertiseWaitS: market.advertiseWaitS ?? ADVERTISE_WAIT_S,
    seed: scenario.seed ?? 1,
    defences: market.defences ?? 'on',
    jobRatePerS: scenario.workload?.jobs?.ratePerS ?? 0
  }
}

function resolveRole (name: string, market: ScenarioMarket): ResolvedRole {
  const spec = ownEntry(market.roles, name) ?? {}
  const service = serviceOf(name, spec)
  const gpus = spec.gpus ?? (service === 'gpu' ? [DEFAULT_GPU] : [])
  // built by fromEntries: a kind named `__proto__` is an entry, not the prototype
  const compute: Record<string, Required<ComputeModel>> = Object.fromEntries([
    ['*', { ...COMPUTE_MODEL }],
    ...Object.entries(spec.compute ?? {}).map(([kind, model]) => [kind, { fixedMs: model.fixedMs, perUnitMs: model.perUnitMs ?? 0, jitter: model.jitter ?? 0 }])
  ])
  return {
    name,
    service,
    gpus: gpus.map(g => ({ model: g.model, vramMib: g.vramMib, class: g.class ?? gpuClass(g.model, g.vramMib), count: g.count ?? 1 })),
    sensors: spec.sensors ?? (service === 'capture' ? ['video'] : []),
    slots: spec.slots ?? 1,
    price: { perUnit: spec.pricePerUnit ?? 1, currency: spec.currency ?? 'USDC', unit: service === 'capture' ? 'second' : 'gpu-second' },
    compute,
    revealPrecision: spec.revealPrecision ?? REVEAL_PRECISION
  }
}

function resolveJobKind (name: string, market: ScenarioMarket, defaultClass: string): ResolvedJobKind {
  const spec = ownEntry(market.jobs, name) ?? {}
  const type = jobTypeOf(name, spec)
  const units = spec.units ?? 1
  const deadlineS = spec.deadlineS ?? DEADLINE_S
  const maxPricePerUnit = spec.maxPricePerUnit ?? MAX_PRICE_PER_UNIT
  return {
    name,
    type,
    kind: type === 'capture' ? JobKind.CAPTURE : type === 'batch' ? JobKind.GPU_BATCH : JobKind.GPU_INFERENCE,
    units,
    gpuClass: spec.gpuClass ?? (type === 'capture' ? '' : defaultClass),
    minVramMib: spec.minVramMib ?? 0,
    sensors: spec.sensors ?? (type === 'capture' ? ['video'] : []),
    deadlineS,
    deadlineMs: Math.max(1, Math.round(deadlineS * 1000)),
    budget: Math.max(1, maxPricePerUnit * units),
    maxRttMs: spec.maxRttMs ?? 0,
    maxPricePerUnit,
    region: spec.region ?? 'any',
    regionPrecision: spec.regionPrecision ?? REGION_PRECISION,
    inputBytes: spec.inputBytes ?? INPUT_BYTES
  }
}

/**
 * The first provider role that can serve jobs of `kind` (a capture role for
 * capture jobs, a GPU role for the others): whose compute model the
 * requester expects and the cloud baseline scales.
 */
export function servingRole (market: ResolvedMarket, kind: ResolvedJobKind): ResolvedRole | undefined {
  return Object.values(market.roles).find(role => isProvider(role) && (kind.type === 'capture') === (role.service === 'capture'))
}

/** The compute model of `role` for jobs of kind `kind`. */
export function computeModelOf (role: ResolvedRole, kind: string): Required<ComputeModel> {
  return ownEntry(role.compute, kind) ?? ownEntry(role.compute, '*') ?? COMPUTE_MODEL
}

/**
 * The jitter factor of one job: log-normal around 1, drawn from the seed
 * and the job's id, so every provider (and the oracle) sees the same one.
 */
export function jitterFactor (seed: number, job: string, jitter: number): number {
  if (!(jitter > 0)) return 1
  return Math.exp(createRng(seed).fork(`job-jitter:${job}`).normal(0, jitter))
}

/**
 * ms that one job of `kind` (with `units`) takes on a provider of `role`,
 * the job's jitter included; at most a timer's longest wait (far past any
 * deadline), which a longer time would wrap to an instant.
 */
export function computeMs (role: ResolvedRole, kind: string, units: number, seed: number, job: string, factor = 1): number {
  const model = computeModelOf(role, kind)
  return Math.min(MAX_TIMER_MS, (model.fixedMs + model.perUnitMs * units) * factor * jitterFactor(seed, job, model.jitter))
}

/** The offer a provider of `role` at `geohash` makes, in the terms records' `matchOffer` reads. */
export function providerOffer (role: ResolvedRole, geohash: string): Offer {
  return {
    kinds: role.service === 'capture' ? [JobKind.CAPTURE] : role.service === 'gpu' ? [JobKind.GPU_INFERENCE, JobKind.GPU_BATCH] : [],
    gpus: role.gpus,
    sensors: role.sensors,
    geohash: geohash.slice(0, role.revealPrecision),
    price: role.price
  }
}

/** The requirements a job of `kind` from a requester at `geohash` carries. */
export function jobRequirements (kind: ResolvedJobKind, geohash: string): Requirements {
  return requirementsOf({
    gpuClass: kind.gpuClass,
    minVramMib: kind.minVramMib,
    sensors: kind.sensors,
    region: kind.region === 'local' ? geohash.slice(0, kind.regionPrecision) : kind.region === 'any' ? '' : kind.region,
    maxRttMs: kind.maxRttMs
  })
}

/** The terms of a job of `kind` from a requester at `geohash`, for `matchOffer`. */
export function jobTerms (kind: ResolvedJobKind, geohash: string): JobTerms {
  return {
    kind: kind.kind,
    requirements: jobRequirements(kind, geohash),
    priceCeiling: { perUnit: kind.maxPricePerUnit, currency: 'USDC', unit: kind.type === 'capture' ? 'second' : 'gpu-second' }
  }
}
