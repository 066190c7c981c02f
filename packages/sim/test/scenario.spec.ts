import assert from 'node:assert/strict'
import fc from 'fast-check'
import { createRng, eventsToCsv, cdfPlot, geographicLatency, jsonLines, niceTicks, parseScenario, planDials, ScenarioError, scenarioPlacement, validateScenario, worldMap } from '../src/index.js'
import type { Scenario } from '../src/index.js'

const VALID: Scenario = {
  name: 'small',
  seed: 3,
  durationS: 30,
  latency: { model: 'geographic', lastMileMs: 2 },
  links: { loss: 'distance', bandwidthMbps: 50 },
  regions: {
    EU: { peers: 4, roles: { gpu: 1, requester: 3 } },
    AS: { peers: 3, roles: { gpu: 2, requester: 1 } }
  },
  connect: { bootstrap: 2, degree: 3, nearby: 0.5 },
  workload: { jobs: { ratePerS: 1, from: ['requester'], kinds: ['a', 'b'] }, pings: { everyS: 5, pairs: 3 } },
  churn: [{ atS: 5, action: 'crash', role: 'gpu', region: 'AS', fraction: 0.5, rejoinAfterS: 5 }],
  partitions: [{ atS: 10, healAtS: 20, a: ['EU'], b: ['AS'] }],
  adversaries: [{ behaviour: 'silent', count: 1, role: 'gpu' }]
}

function rejects (value: unknown, field: string): void {
  assert.throws(() => validateScenario(value), (err: unknown) => {
    assert.ok(err instanceof ScenarioError, String(err))
    assert.equal(err.field, field, `expected field ${field}, got ${err.field} (${err.message})`)
    return true
  })
}

function mutate (path: Array<string | number>, value: unknown): unknown {
  const copy = structuredClone(VALID) as unknown as Record<string | number, unknown>
  let o = copy
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>
  const last = path[path.length - 1]
  if (value === undefined) delete o[last]
  else o[last] = value
  return copy
}

describe('scenario validation', () => {
  it('accepts a well-formed scenario', () => {
    assert.deepEqual(validateScenario(structuredClone(VALID)), VALID)
  })

  it('names the field that is wrong', () => {
    rejects(mutate(['durationS'], -1), 'durationS')
    rejects(mutate(['name'], undefined), 'name')
    rejects(mutate(['regions', 'EU', 'peers'], 2.5), 'regions.EU.peers')
    rejects(mutate(['regions', 'EU', 'roles', 'gpu'], 2), 'regions.EU.roles')
    rejects(mutate(['regions', 'EU', 'colour'], 'blue'), 'regions.EU.colour')
    rejects(mutate(['latency', 'model'], 'magic'), 'latency.model')
    rejects(mutate(['links', 'loss'], 1.5), 'links.loss')
    rejects(mutate(['workload', 'jobs', 'from'], ['nobody']), 'workload.jobs.from[0]')
    rejects(mutate(['churn', 0, 'action'], 'explode'), 'churn[0].action')
    rejects(mutate(['churn', 0, 'atS'], 31), 'churn[0].atS')
    rejects(mutate(['churn', 0, 'region'], 'Mars'), 'churn[0].region')
    rejects(mutate(['churn', 0, 'count'], 1), 'churn[0].count')
    rejects(mutate(['partitions', 0, 'b'], ['EU']), 'partitions[0].b')
    rejects(mutate(['partitions', 0, 'healAtS'], 5), 'partitions[0].healAtS')
    rejects(mutate(['adversaries', 0, 'behaviour'], ''), 'adversaries[0].behaviour')
    rejects(mutate(['durationSec'], 10), 'durationSec')
  })

  it('accepts a nat section and names its wrong fields', () => {
    const nat = { share: 0.5, roles: ['gpu'], holePunch: 0.7, relays: 2, mappingS: 30 }
    assert.deepEqual(validateScenario({ ...structuredClone(VALID), nat }).nat, nat)
    rejects({ ...structuredClone(VALID), nat: { roles: ['gpu'] } }, 'nat.share')
    rejects({ ...structuredClone(VALID), nat: { share: 1.5 } }, 'nat.share')
    rejects({ ...structuredClone(VALID), nat: { share: 0.5, roles: ['nobody'] } }, 'nat.roles[0]')
    rejects({ ...structuredClone(VALID), nat: { share: 0.5, holePunch: -0.1 } }, 'nat.holePunch')
    rejects({ ...structuredClone(VALID), nat: { share: 0.5, relays: 0 } }, 'nat.relays')
    rejects({ ...structuredClone(VALID), nat: { share: 0.5, relays: 8 } }, 'nat.relays')
    rejects({ ...structuredClone(VALID), nat: { share: 0.5, mappingS: 0 } }, 'nat.mappingS')
    rejects({ ...structuredClone(VALID), nat: { share: 0.5, symmetric: 0.3 } }, 'nat.symmetric')
    rejects({ ...structuredClone(VALID), nat: true }, 'nat')
  })

  it('reports the line of the bad field in a file', () => {
    const text = JSON.stringify(mutate(['churn', 0, 'fraction'], 7), null, 2)
    assert.throws(() => parseScenario(text, 'bad.json'), (err: unknown) => {
      assert.ok(err instanceof ScenarioError, String(err))
      assert.equal(err.field, 'churn[0].fraction')
      assert.equal(text.split('\n')[(err.line ?? 0) - 1].trim(), '"fraction": 7,')
      assert.match(err.message, /^bad\.json:\d+: churn\[0\]\.fraction/)
      return true
    })
  })

  it('reports the line of a JSON syntax error', () => {
    assert.throws(() => parseScenario('{\n  "name": "x",\n  "durationS": 1,,\n}', 's.json'), (err: unknown) => {
      assert.ok(err instanceof ScenarioError, String(err))
      assert.equal(err.line, 3)
      return true
    })
  })

  it('rejects every malformed value with a ScenarioError naming a field, never anything else', () => {
    const paths = [['name'], ['seed'], ['durationS'], ['latency'], ['latency', 'model'], ['links', 'bandwidthMbps'], ['regions'], ['regions', 'EU'], ['regions', 'EU', 'peers'], ['regions', 'AS', 'roles'], ['connect', 'degree'], ['connect', 'nearby'], ['workload', 'jobs', 'ratePerS'], ['workload', 'pings'], ['churn'], ['churn', 0], ['churn', 0, 'fraction'], ['partitions', 0, 'a'], ['adversaries', 0, 'fromS']]
    const junk = fc.oneof(fc.constant(null), fc.constant(undefined), fc.boolean(), fc.double(), fc.integer({ min: -1e9, max: 1e9 }), fc.string({ maxLength: 8 }), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 3 }))
    fc.assert(fc.property(fc.constantFrom(...paths), junk, (path, value) => {
      const candidate = mutate(path, value)
      try {
        validateScenario(candidate)
      } catch (err: unknown) {
        assert.ok(err instanceof ScenarioError, err instanceof Error ? err.stack : String(err))
        assert.equal(typeof err.field, 'string')
      }
    }), { numRuns: 400 })
  })

  it('never throws anything but ScenarioError on arbitrary text', () => {
    fc.assert(fc.property(fc.oneof(fc.json(), fc.string({ maxLength: 200 })), text => {
      try {
        parseScenario(text)
      } catch (err: unknown) {
        assert.ok(err instanceof ScenarioError, err instanceof Error ? err.stack : String(err))
      }
    }), { numRuns: 300 })
  })

  it('locates every value of a JSON text', () => {
    fc.assert(fc.property(fc.jsonValue(), value => {
      const text = JSON.stringify({ root: value }, null, 2)
      const lines = jsonLines(text)
      assert.equal(lines.get('root'), 2)
      for (const line of lines.values()) {
        assert.ok(line >= 1 && line <= text.split('\n').length)
      }
    }), { numRuns: 200 })
  })
})

describe('scenario placement and wiring', () => {
  const model = geographicLatency()

  it('places each region in its region, with its roles, the same for the same seed', () => {
    const a = scenarioPlacement(VALID, model, createRng(5))
    const b = scenarioPlacement(VALID, model, createRng(5))
    assert.deepEqual(a, b)
    assert.equal(a.sites.length, 7)
    a.sites.forEach((site, i) => assert.equal(model.sites[site].continent, a.regions[i]))
    assert.equal(a.roles.filter((r, i) => r === 'gpu' && a.regions[i] === 'AS').length, 2)
  })

  it('plans each pair at most once and gives every peer a link', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 8 }), fc.integer(), (n, bootstrap, degree, seed) => {
      const alive = Array.from({ length: n }, (_, i) => i)
      const plan = planDials(alive, (a, b) => Math.abs(a - b), createRng(seed), { bootstrap, degree })
      const pairs = new Set(plan.map(d => `${Math.min(d.from, d.to)}:${Math.max(d.from, d.to)}`))
      assert.equal(pairs.size, plan.length)
      assert.ok(plan.every(d => d.from !== d.to))
      if (n > 1 && degree > 0) {
        const linked = new Set(plan.flatMap(d => [d.from, d.to]))
        assert.equal(linked.size, n)
      }
    }), { numRuns: 200 })
  })
})

describe('output', () => {
  it('quotes CSV cells that need it', () => {
    const csv = eventsToCsv([{ t: 1, type: 'a', peer: 0, note: 'x,"y"' }, { t: 2, type: 'b', extra: 3 }])
    assert.deepEqual(csv.trim().split('\n'), ['t_ms,type,peer,note,extra', '1,a,0,"x,""y""",', '2,b,,,3'])
  })

  it('draws ticks that cover the range in round steps', () => {
    fc.assert(fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: 1e-3, max: 1e6, noNaN: true }), (min, span) => {
      const ticks = niceTicks(min, min + span)
      assert.ok(ticks.length >= 2 && ticks.length <= 15, `${ticks.length} ticks for [${min}, ${min + span}]`)
    }))
  })

  it('writes well-formed SVG with the data it is given', () => {
    const cdf = cdfPlot({ title: 'RTT <test>', xLabel: 'ms', series: [{ label: 'a', values: [1, 2, 3] }, { label: 'b', values: [] }] })
    assert.match(cdf, /^<svg[^>]+xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
    assert.match(cdf, /RTT &lt;test&gt;/)
    assert.match(cdf, /a \(n=3\)/)
    assert.ok(cdf.trim().endsWith('</svg>'))
    const map = worldMap({ title: 'm', peers: [{ lat: 48.8, lon: 2.3, group: 'EU' }, { lat: 35.7, lon: 139.7, group: 'AS' }], links: [{ a: { lat: 48.8, lon: 2.3 }, b: { lat: 35.7, lon: 139.7 }, label: '230 ms' }] })
    assert.equal((map.match(/<circle /g) ?? []).length, 2 + 2) // two peers, two legend dots
    assert.match(map, /230 ms/)
  })
})
