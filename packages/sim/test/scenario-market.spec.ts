import assert from 'node:assert/strict'
import fc from 'fast-check'
import { parseScenario, ScenarioError, validateScenario } from '../src/index.js'
import { computeModelOf, computeMs, resolveMarket } from '../src/market/config.js'
import type { Scenario } from '../src/index.js'
import type { ScenarioMarket } from '../src/market/types.js'

const MARKET: ScenarioMarket = {
  roles: {
    gpu: {
      service: 'gpu',
      gpus: [{ model: 'RTX 4090', vramMib: 24576, class: 'consumer-24g', count: 2 }],
      sensors: [],
      slots: 4,
      pricePerUnit: 2,
      currency: 'USDC',
      compute: { '*': { fixedMs: 400 }, inference: { fixedMs: 200, perUnitMs: 50, jitter: 0.1 } },
      revealPrecision: 5
    },
    capture: { sensors: ['video', 'audio'], pricePerUnit: 1 },
    edge: { service: 'witness' }
  },
  jobs: {
    inference: { type: 'inference', units: 2, gpuClass: 'consumer-24g', minVramMib: 16384, deadlineS: 10, maxRttMs: 150, maxPricePerUnit: 5, region: 'local', regionPrecision: 2, inputBytes: 4096 },
    capture: { sensors: ['video'], deadlineS: 60 },
    render: { type: 'batch', units: 30 }
  },
  cloud: { cities: ['Frankfurt', 'Tokyo'], computeFactor: 0.8 },
  choice: 'random',
  k: 3,
  roundTrips: 2,
  advertiseWaitS: 20
}

const BASE: Scenario = {
  name: 'market',
  seed: 7,
  durationS: 60,
  regions: {
    EU: { peers: 6, roles: { gpu: 2, capture: 1, requester: 2, edge: 1 } },
    AS: { peers: 2, roles: { gpu: 1, requester: 1 } }
  },
  workload: { jobs: { ratePerS: 1, from: ['requester'], kinds: ['inference', 'capture', 'render'] } }
}

const VALID: Scenario = { ...BASE, market: MARKET }

type Path = Array<string | number>

/** A copy of `scenario` with the value at `path` (under the scenario) set to `value`, or deleted for `undefined`. */
function mutate (path: Path, value: unknown, scenario: Scenario = VALID): Record<string, unknown> {
  const copy = structuredClone(scenario) as unknown as Record<string, unknown>
  let o = copy as Record<string | number, unknown>
  let template = VALID as unknown as Record<string | number, unknown> | undefined
  for (const k of path.slice(0, -1)) {
    // a generated market may lack the enclosing object: take the full market's
    if (o[k] == null || typeof o[k] !== 'object') o[k] = structuredClone(template?.[k])
    o = o[k] as Record<string | number, unknown>
    template = template?.[k] as Record<string | number, unknown> | undefined
  }
  const last = path[path.length - 1]
  if (value === undefined) delete o[last]
  else o[last] = value
  return copy
}

function rejects (value: unknown, field: string, message?: RegExp): void {
  assert.throws(() => validateScenario(value), (err: unknown) => {
    assert.ok(err instanceof ScenarioError, String(err))
    assert.equal(err.field, field, `expected field ${field}, got ${err.field} (${err.message})`)
    if (message != null) assert.match(err.message, message)
    return true
  })
}

const fieldOf = (path: Path): string => path.map(k => typeof k === 'number' ? `[${k}]` : `.${k}`).join('').slice(1).replace(/\.\[/g, '[')

describe('scenario market validation', () => {
  it('accepts a full market and returns it unchanged', () => {
    assert.deepEqual(validateScenario(structuredClone(VALID)), VALID)
  })

  it('accepts market false, an empty market and a market without a workload', () => {
    assert.deepEqual(validateScenario({ ...BASE, market: false }), { ...BASE, market: false })
    validateScenario({ ...BASE, market: {} })
    validateScenario({ ...BASE, workload: undefined, market: { jobs: { job: { deadlineS: 5 } }, roles: { gpu: { compute: { job: { fixedMs: 1 } } } } } })
  })

  it('names the field that is wrong and why', () => {
    const cases: Array<[Path, unknown, RegExp]> = [
      [['market'], true, /must be an object/],
      [['market', 'rolls'], {}, /unknown field \(expected one of roles, jobs, cloud/],
      [['market', 'roles', 'miner'], {}, /not a role of any region \(gpu, capture, requester, edge\)/],
      [['market', 'roles', 'gpu', 'service'], 'cpu', /must be "gpu", "capture", "witness", "requester", "bootstrap", got "cpu"/],
      [['market', 'roles', 'gpu', 'colour'], 'red', /unknown field/],
      [['market', 'roles', 'gpu', 'gpus'], Array.from({ length: 65 }, () => ({ model: 'A100', vramMib: 1 })), /at most 64 entries/],
      [['market', 'roles', 'gpu', 'gpus', 0, 'model'], '', /non-empty string/],
      [['market', 'roles', 'gpu', 'gpus', 0, 'model'], 'x'.repeat(65), /at most 64 characters/],
      [['market', 'roles', 'gpu', 'gpus', 0, 'vramMib'], 0, /must be >= 1/],
      [['market', 'roles', 'gpu', 'gpus', 0, 'vramMib'], 2 ** 24 + 1, /must be <= 16777216/],
      [['market', 'roles', 'gpu', 'gpus', 0, 'class'], 'c'.repeat(65), /at most 64 characters/],
      [['market', 'roles', 'gpu', 'gpus', 0, 'count'], 1.5, /integer/],
      [['market', 'roles', 'gpu', 'gpus', 0, 'vram'], 1, /unknown field \(expected one of model, vramMib, class, count\)/],
      [['market', 'roles', 'capture', 'sensors'], Array.from({ length: 17 }, (_, i) => `s${i}`), /at most 16 entries/],
      [['market', 'roles', 'capture', 'sensors', 1], 7, /non-empty string/],
      [['market', 'roles', 'gpu', 'slots'], 4097, /<= 4096/],
      [['market', 'roles', 'gpu', 'slots'], 0, />= 1/],
      [['market', 'roles', 'gpu', 'pricePerUnit'], -1, />= 0/],
      [['market', 'roles', 'gpu', 'pricePerUnit'], 0.5, /integer/],
      [['market', 'roles', 'gpu', 'currency'], 'U'.repeat(17), /at most 16 characters/],
      [['market', 'roles', 'gpu', 'compute', 'upscale'], { fixedMs: 1 }, /not a job kind of the workload or "\*" \(\*, inference, capture, render\)/],
      [['market', 'roles', 'gpu', 'compute', 'inference', 'fixedMs'], 86_400_001, /<= 86400000/],
      [['market', 'roles', 'gpu', 'compute', 'inference', 'fixedMs'], undefined, /finite number, got undefined/],
      [['market', 'roles', 'gpu', 'compute', 'inference', 'perUnitMs'], -1, />= 0/],
      [['market', 'roles', 'gpu', 'compute', 'inference', 'jitter'], 2.5, /<= 2/],
      [['market', 'roles', 'gpu', 'revealPrecision'], 13, /<= 12/],
      [['market', 'roles', 'gpu', 'gpus'], [], /no GPUs would advertise nothing/],
      [['market', 'roles', 'capture', 'sensors'], [], /no sensors would advertise nothing/],
      [['market', 'jobs', 'upscale'], {}, /not a job kind of the workload \(inference, capture, render\)/],
      [['market', 'jobs', 'inference', 'type'], 'training', /must be "inference", "batch", "capture"/],
      [['market', 'jobs', 'inference', 'units'], 1_000_001, /<= 1000000/],
      [['market', 'jobs', 'inference', 'gpuClass'], '', /non-empty string/],
      [['market', 'jobs', 'inference', 'minVramMib'], -1, />= 0/],
      [['market', 'jobs', 'inference', 'deadlineS'], 0, /must be > 0/],
      [['market', 'jobs', 'inference', 'deadlineS'], 86_401, /<= 86400/],
      [['market', 'jobs', 'inference', 'maxRttMs'], 60_001, /<= 60000/],
      [['market', 'jobs', 'inference', 'maxRttMs'], 0, />= 1/],
      [['market', 'jobs', 'inference', 'maxPricePerUnit'], -0.5, />= 0|integer/],
      [['market', 'jobs', 'inference', 'region'], 'global', /must be "any", "local" or a geohash/],
      [['market', 'jobs', 'inference', 'region'], 'w21zxxxxxxxxx', /a geohash of 1 to 12 characters/],
      [['market', 'jobs', 'inference', 'regionPrecision'], 0, />= 1/],
      [['market', 'jobs', 'inference', 'inputBytes'], 64 * 1024 * 1024 + 1, /<= 67108864/],
      [['market', 'jobs', 'capture', 'sensors'], [], /capture job must name at least one sensor/],
      [['market', 'jobs', 'render', 'deadline'], 3, /unknown field/],
      [['market', 'cloud'], 'aws', /must be an object/],
      [['market', 'cloud', 'cities'], [], /non-empty array/],
      [['market', 'cloud', 'cities'], Array.from({ length: 201 }, () => 'Paris'), /at most 200 entries/],
      [['market', 'cloud', 'computeFactor'], 0, /must be > 0/],
      [['market', 'cloud', 'computeFactor'], 1001, /<= 1000/],
      [['market', 'choice'], 'best', /must be "router", "random"/],
      [['market', 'k'], 65, /<= 64/],
      [['market', 'roundTrips'], 0, />= 1/],
      [['market', 'advertiseWaitS'], 601, /<= 600/]
    ]
    for (const [path, value, message] of cases) {
      rejects(mutate(path, value), fieldOf(path), message)
    }
  })

  it('reports the line of a bad market field in a file', () => {
    const text = JSON.stringify(mutate(['market', 'roles', 'gpu', 'compute', 'inference', 'fixedMs'], -5), null, 2)
    assert.throws(() => parseScenario(text, 'm.json'), (err: unknown) => {
      assert.ok(err instanceof ScenarioError, String(err))
      assert.equal(err.field, 'market.roles.gpu.compute.inference.fixedMs')
      assert.equal(text.split('\n')[(err.line ?? 0) - 1].trim(), '"fixedMs": -5,')
      return true
    })
  })

  it('takes the default kind "job" when the workload names none', () => {
    rejects({ ...BASE, workload: undefined, market: { jobs: { inference: {} } } }, 'market.jobs.inference', /\(job\)/)
  })

  it('refuses a default-named provider with nothing to offer', () => {
    // `gpu` plays the gpu service by its name, so an empty GPU list is refused without `service`
    rejects(mutate(['market', 'roles', 'gpu'], { gpus: [] }), 'market.roles.gpu.gpus', /advertise nothing/)
    // a requester may carry an empty list
    validateScenario(mutate(['market', 'roles', 'requester'], { gpus: [], sensors: [] }))
  })

  it('throws only ScenarioError for any JSON value in the market, a role or a job kind', () => {
    const paths: Path[] = [['market'], ['market', 'roles'], ['market', 'roles', 'gpu'], ['market', 'roles', 'gpu', 'compute'], ['market', 'jobs'], ['market', 'jobs', 'inference'], ['market', 'cloud']]
    fc.assert(fc.property(fc.constantFrom(...paths), fc.jsonValue(), (path, value) => {
      try {
        validateScenario(mutate(path, value))
      } catch (err: unknown) {
        assert.ok(err instanceof ScenarioError, err instanceof Error ? err.stack : String(err))
        assert.ok(err.field.startsWith(fieldOf(path)), `${err.field} is not under ${fieldOf(path)}`)
      }
    }), { numRuns: 500 })
  })

  it('accepts every market built by the rules, and resolves it to values the job records take', () => {
    fc.assert(fc.property(validMarket, market => {
      const scenario = { ...BASE, market }
      assert.deepEqual(validateScenario(structuredClone(scenario)), scenario)
      const resolved = resolveMarket(scenario)
      assert.ok(resolved != null)
      for (const kind of Object.values(resolved.jobs)) {
        assert.ok(Number.isSafeInteger(kind.deadlineMs) && kind.deadlineMs >= 1, `deadlineMs ${kind.deadlineMs}`)
        assert.ok(Number.isSafeInteger(kind.budget) && kind.budget >= 1, `budget ${kind.budget}`)
        for (const role of Object.values(resolved.roles)) {
          const ms = computeMs(role, kind.name, kind.units, 1, 'j')
          assert.ok(Number.isFinite(ms) && ms >= 0 && ms < 2 ** 31, `compute ${ms} ms`)
        }
      }
    }), { numRuns: 300 })
  })

  it('refuses a valid market with one field out of range, naming that field', () => {
    fc.assert(fc.property(validMarket, outOfRange, (market, [path, value]) => {
      rejects(mutate(path, value, { ...BASE, market }), fieldOf(path))
    }), { numRuns: 500 })
  })
})

describe('resolveMarket', () => {
  it('reads only a role\'s own compute models: a kind named like an Object property gets the default', () => {
    const scenario = { ...BASE, workload: { jobs: { ratePerS: 1, kinds: ['toString', '__proto__'] } }, market: JSON.parse('{ "roles": { "gpu": { "compute": { "__proto__": { "fixedMs": 7 } } } } }') }
    const resolved = resolveMarket(validateScenario(scenario))
    assert.ok(resolved != null)
    const gpu = resolved.roles.gpu
    assert.deepEqual(computeModelOf(gpu, 'toString'), computeModelOf(gpu, '*'))
    assert.deepEqual(computeModelOf(gpu, '__proto__'), { fixedMs: 7, perUnitMs: 0, jitter: 0 })
    assert.equal(Object.getPrototypeOf(gpu.compute), Object.prototype)
    assert.ok(Number.isFinite(computeMs(gpu, 'toString', 1, 1, 'j')))
    const toString: string = 'toString'
    assert.equal(resolved.jobs[toString].type, 'inference')
  })

  it('gives an integer deadline in ms and a budget of at least 1', () => {
    const resolved = resolveMarket({ ...BASE, market: { jobs: { inference: { deadlineS: 2.3, maxPricePerUnit: 0, units: 3 }, render: { deadlineS: 1e-6, maxPricePerUnit: 4, units: 5 } } } })
    assert.ok(resolved != null)
    assert.equal(resolved.jobs.inference.deadlineMs, 2300)
    assert.equal(resolved.jobs.inference.budget, 1)
    assert.equal(resolved.jobs.render.deadlineMs, 1)
    assert.equal(resolved.jobs.render.budget, 20)
  })

  it('caps a compute time at the longest a timer waits', () => {
    const resolved = resolveMarket({ ...BASE, market: { roles: { gpu: { compute: { render: { fixedMs: 86_400_000, perUnitMs: 86_400_000 } } } } } })
    assert.ok(resolved != null)
    assert.equal(computeMs(resolved.roles.gpu, 'render', 1_000_000, 1, 'j'), 2 ** 31 - 1)
  })
})

// generators: a market from the rules, and one field of it out of range

const KINDS = ['inference', 'capture', 'render']
const name = (maxLength: number): fc.Arbitrary<string> => fc.string({ minLength: 1, maxLength }).filter(s => s.trim() !== '')
const names = fc.array(name(64), { minLength: 1, maxLength: 16 })
const finite = (min: number, max: number): fc.Arbitrary<number> => fc.double({ min, max, noNaN: true, noDefaultInfinity: true })
const optional = (model: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> => fc.record(model, { requiredKeys: [], noNullPrototype: true })

const compute = fc.record({ fixedMs: finite(0, 86_400_000), perUnitMs: finite(0, 86_400_000), jitter: finite(0, 2) }, { requiredKeys: ['fixedMs'], noNullPrototype: true })
const gpu = fc.record({ model: name(64), vramMib: fc.integer({ min: 1, max: 2 ** 24 }), class: name(64), count: fc.integer({ min: 1, max: 64 }) }, { requiredKeys: ['model', 'vramMib'], noNullPrototype: true })
const role = optional({
  service: fc.constantFrom('gpu', 'capture', 'witness', 'requester', 'bootstrap'),
  gpus: fc.array(gpu, { minLength: 1, maxLength: 64 }),
  sensors: names,
  slots: fc.integer({ min: 1, max: 4096 }),
  pricePerUnit: fc.integer({ min: 0, max: 1e9 }),
  currency: name(16),
  compute: optional(Object.fromEntries(['*', ...KINDS].map(k => [k, compute]))),
  revealPrecision: fc.integer({ min: 0, max: 12 })
})
const job = optional({
  type: fc.constantFrom('inference', 'batch', 'capture'),
  units: fc.integer({ min: 1, max: 1_000_000 }),
  gpuClass: name(64),
  minVramMib: fc.integer({ min: 0, max: 2 ** 24 }),
  sensors: names,
  deadlineS: fc.double({ min: 0, max: 86_400, minExcluded: true, noNaN: true }),
  maxRttMs: fc.integer({ min: 1, max: 60_000 }),
  maxPricePerUnit: fc.integer({ min: 0, max: 1e9 }),
  region: fc.constantFrom('any', 'local', 'w', 'u0', 'qqg'),
  regionPrecision: fc.integer({ min: 1, max: 12 }),
  inputBytes: fc.integer({ min: 0, max: 64 * 1024 * 1024 })
})
const cloud = optional({ cities: fc.array(name(40), { minLength: 1, maxLength: 200 }), computeFactor: fc.double({ min: 0, max: 1000, minExcluded: true, noNaN: true }) })
const validMarket = optional({
  roles: optional(Object.fromEntries(['gpu', 'capture', 'requester', 'edge'].map(r => [r, role]))),
  jobs: optional(Object.fromEntries(KINDS.map(k => [k, job]))),
  cloud: fc.oneof(fc.constant(false as const), cloud),
  choice: fc.constantFrom('router', 'random', 'alternate'),
  k: fc.integer({ min: 1, max: 64 }),
  roundTrips: fc.integer({ min: 1, max: 20 }),
  advertiseWaitS: finite(0, 600)
}) as fc.Arbitrary<unknown> as fc.Arbitrary<ScenarioMarket>

/** A number outside [min, max] (or `min` itself when excluded), a fraction for an integer field, or no number at all. */
function outside (min: number, max: number, opts: { int?: boolean, minExcluded?: boolean } = {}): fc.Arbitrary<unknown> {
  const bad: Array<fc.Arbitrary<unknown>> = [
    fc.double({ max: min, noNaN: true }).filter(v => v < min || (opts.minExcluded === true && v === min)),
    fc.double({ min: max, minExcluded: true, noNaN: true }),
    fc.constantFrom(Number.NaN, '1', true, [], {})
  ]
  if (opts.int === true) bad.push(finite(min, max).filter(v => !Number.isInteger(v)))
  return fc.oneof(...bad)
}

const role0: Path = ['market', 'roles', 'gpu']
const job0: Path = ['market', 'jobs', 'inference']
const BAD: Array<[Path, fc.Arbitrary<unknown>]> = [
  [[...role0, 'service'], fc.string().filter(s => !['gpu', 'capture', 'witness', 'requester', 'bootstrap'].includes(s))],
  [[...role0, 'gpus', 0, 'model'], fc.oneof(fc.constant(' '), fc.string({ minLength: 65 }))],
  [[...role0, 'gpus', 0, 'vramMib'], outside(1, 2 ** 24, { int: true })],
  [[...role0, 'gpus', 0, 'count'], outside(1, 64, { int: true })],
  [[...role0, 'slots'], outside(1, 4096, { int: true })],
  [[...role0, 'pricePerUnit'], outside(0, 1e9, { int: true })],
  [[...role0, 'currency'], fc.string({ minLength: 17 })],
  [[...role0, 'compute', 'inference', 'fixedMs'], outside(0, 86_400_000)],
  [[...role0, 'compute', 'inference', 'perUnitMs'], outside(0, 86_400_000)],
  [[...role0, 'compute', 'inference', 'jitter'], outside(0, 2)],
  [[...role0, 'revealPrecision'], outside(0, 12, { int: true })],
  [[...job0, 'type'], fc.string().filter(s => !['inference', 'batch', 'capture'].includes(s))],
  [[...job0, 'units'], outside(1, 1_000_000, { int: true })],
  [[...job0, 'minVramMib'], outside(0, 2 ** 24, { int: true })],
  [['market', 'jobs', 'capture', 'sensors', 0], fc.oneof(fc.constant(''), fc.string({ minLength: 65 }))],
  [[...job0, 'deadlineS'], outside(0, 86_400, { minExcluded: true })],
  [[...job0, 'maxRttMs'], outside(1, 60_000, { int: true })],
  [[...job0, 'maxPricePerUnit'], outside(0, 1e9, { int: true })],
  [[...job0, 'regionPrecision'], outside(1, 12, { int: true })],
  [[...job0, 'inputBytes'], outside(0, 64 * 1024 * 1024, { int: true })],
  [['market', 'cloud', 'computeFactor'], outside(0, 1000, { minExcluded: true })],
  [['market', 'k'], outside(1, 64, { int: true })],
  [['market', 'roundTrips'], outside(1, 20, { int: true })],
  [['market', 'advertiseWaitS'], outside(0, 600)]
]
const outOfRange = fc.oneof(...BAD.map(([path, value]) => value.map(v => [path, v] as [Path, unknown])))
