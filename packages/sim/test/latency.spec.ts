import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import {
  DEFAULT_LOSS_CURVE, FIBER_KM_PER_RTT_MS, LatencyFileError, calibrateGeographic, createRng, geographicLatency,
  greatCircleKm, linkProfileFor, loadLatency, loadLatencyDataset, lossAtDistance, measuredLatency, parseEdgeList,
  parseLatencyFile, parseMatrixTsv, parseWonderNetwork, placePeers, apportion, worldCities, geocodeCity, continentOf
} from '../src/index.js'
import { expectFileError, onlyFileErrors } from './fixtures/latency-errors.js'
import type { LatencyDataset, Site } from '../src/index.js'

/** The repository root: the first folder up from here whose package.json declares workspaces. */
function repoRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).workspaces != null) return dir
    const up = dirname(dir)
    if (up === dir) throw new Error('repository root not found')
    dir = up
  }
}

const WN_DIR = join(repoRoot(), '..', 'shared', 'data', 'latency', 'wondernetwork-2020-07')
const HAVE_WN = existsSync(join(WN_DIR, 'pings.csv')) && existsSync(join(WN_DIR, 'servers.csv'))

const SERVERS = `"id","name","title","location","state","country","state_abbv","continent","latitude","longitude"
"1","London","London","London","","United Kingdom","","3","51.5074","-0.1278"
"2","Paris","Paris","Paris","","France","","3","48.8566","2.3522"
"3","NewYork","New York","New York","NY","United States","NY","1","40.7128","-74.0060"
"4","Sydney","Sydney","Sydney","NSW","Australia","NSW","4","-33.8688","151.2093"
`
const PINGS = `source,destination,min,avg,max,mdev
1,1,0.01,0.02,0.03,0.01
1,2,8,10,12,1
2,1,9,12,13,3
1,3,70,75,80,2
3,1,70,77,80,2
2,3,80,82,84,1
1,4,250,260,270,4
2,4,270,280,290,4
3,4,200,210,220,4
9,1,1,1,1,1
`

function rttOf (ds: LatencyDataset, a: string, b: string): number | undefined {
  const ia = ds.sites.findIndex(s => s.ref === a || s.name === a)
  const ib = ds.sites.findIndex(s => s.ref === b || s.name === b)
  return ds.pairs.find(p => (p.a === Math.min(ia, ib) && p.b === Math.max(ia, ib)))?.rttMs
}

describe('latency', () => {
  describe('WonderNetwork parser', () => {
    it('averages both directions, drops self pairs and skips unknown server ids', () => {
      const ds = parseWonderNetwork(PINGS, SERVERS)
      assert.equal(ds.format, 'wondernetwork')
      assert.equal(ds.sites.length, 4)
      assert.equal(ds.pairs.length, 6)
      assert.equal(rttOf(ds, '1', '2'), 11)
      assert.equal(rttOf(ds, '1', '3'), 76)
      assert.equal(ds.pairs.find(p => p.a === 0 && p.b === 1)?.jitterMs, 2)
      assert.equal(ds.pairs.find(p => p.a === 0 && p.b === 1)?.samples, 2)
      assert.equal(ds.skipped.length, 1)
      assert.match(ds.skipped[0].reason, /server id 9/)
      assert.equal(ds.skipped[0].line, 11)
    })

    it('maps countries to ISO codes and continents', () => {
      const ds = parseWonderNetwork(PINGS, SERVERS)
      assert.deepEqual(ds.sites.map(s => [s.name, s.country, s.continent]), [
        ['London', 'GB', 'EU'], ['Paris', 'FR', 'EU'], ['New York', 'US', 'NA'], ['Sydney', 'AU', 'OC']
      ])
      assert.equal(continentOf('Russia'), 'EU')
      assert.equal(continentOf('TR'), 'AS')
      assert.equal(continentOf('Atlantis'), undefined)
    })

    it('refuses malformed files with file, line and field', () => {
      expectFileError(() => parseWonderNetwork(PINGS.replace('mdev\n', 'mdev\n').replace(',avg,', ',average,'), SERVERS), 1, 'avg')
      const e = expectFileError(() => parseWonderNetwork(PINGS.replace('1,3,70,75,', '1,3,70,7x5,'), SERVERS), 5, 'avg')
      assert.equal(e.file, 'pings.csv')
      assert.match(e.message, /^pings\.csv:5: avg:/)
      expectFileError(() => parseWonderNetwork(PINGS.replace('2,3,80,82,84,1', '2,3,80,82,84'), SERVERS), 7, 'row')
      expectFileError(() => parseWonderNetwork(PINGS.replace('1,2,8,10,', '1,2,8,-10,'), SERVERS), 3, 'avg')
      expectFileError(() => parseWonderNetwork(PINGS.replace('1,2,8,10,', '1,2,8,0,'), SERVERS), 3, 'avg')
      expectFileError(() => parseWonderNetwork(PINGS.replace('1,2,8,10,', ',2,8,10,'), SERVERS), 3, 'source')
      expectFileError(() => parseWonderNetwork(PINGS, SERVERS.replace('"51.5074"', '"151.5"')), 2, 'latitude')
      expectFileError(() => parseWonderNetwork(PINGS, SERVERS.replace('"2","Paris"', '"1","Paris"')), 3, 'id')
      expectFileError(() => parseWonderNetwork(PINGS, SERVERS.replace('"2.3522"', '"2.3522')), 3, /column/)
      expectFileError(() => parseWonderNetwork(PINGS, SERVERS.replace('"longitude"', '"lng_x"')), 1, 'longitude')
      expectFileError(() => parseWonderNetwork('', SERVERS), 0, 'header')
      expectFileError(() => parseWonderNetwork(PINGS, SERVERS.split('\n')[0]), 0, 'rows')
    })
  })

  describe('TSV matrix parser', () => {
    const tsv = 'site\tA\tB\tC\nA\t0\t10\tNA\nB\t12\t0\t20\nC\t\t20\t0\n'

    it('symmetrises, ignores the diagonal and keeps missing cells missing', () => {
      const ds = parseMatrixTsv(tsv, 'm.tsv')
      assert.equal(ds.format, 'matrix')
      assert.deepEqual(ds.sites.map(s => s.name), ['A', 'B', 'C'])
      assert.equal(rttOf(ds, 'A', 'B'), 11)
      assert.equal(rttOf(ds, 'B', 'C'), 20)
      assert.equal(rttOf(ds, 'A', 'C'), undefined)
      assert.ok(Number.isNaN(ds.sites[0].lat))
    })

    it('accepts rows in any order', () => {
      const ds = parseMatrixTsv('x\tA\tB\nB\t5\t0\nA\t0\t7\n', 'm.tsv')
      assert.equal(rttOf(ds, 'A', 'B'), 6)
    })

    it('refuses a matrix that is not square or well formed', () => {
      expectFileError(() => parseMatrixTsv('x\tA\tB\nA\t0\t1\n', 'm.tsv'), 0, 'B')
      expectFileError(() => parseMatrixTsv('x\tA\tB\nA\t0\t1\nB\t1\n', 'm.tsv'), 3, 'row')
      expectFileError(() => parseMatrixTsv('x\tA\tB\nA\t0\t1\nZ\t1\t0\n', 'm.tsv'), 3, 'name')
      expectFileError(() => parseMatrixTsv('x\tA\tB\nA\t0\t1\nA\t1\t0\n', 'm.tsv'), 3, 'name')
      expectFileError(() => parseMatrixTsv('x\tA\tA\nA\t0\t1\n', 'm.tsv'), 1, 'A')
      expectFileError(() => parseMatrixTsv('x\tA\tB\nA\t0\tfast\nB\t1\t0\n', 'm.tsv'), 2, 'B')
      expectFileError(() => parseMatrixTsv('x\tA\tB\nA\t0\t1e9\nB\t1\t0\n', 'm.tsv'), 2, 'B')
    })
  })

  describe('edge list parser', () => {
    it('reads a header, averages repeated pairs in either direction', () => {
      const ds = parseEdgeList('a,b,rtt_ms\nx,y,10\ny,x,14\nx,z,30\n# comment\n\nz,z,0\n', 'e.csv')
      assert.equal(ds.format, 'edges')
      assert.deepEqual(ds.sites.map(s => s.name), ['x', 'y', 'z'])
      assert.equal(rttOf(ds, 'x', 'y'), 12)
      assert.equal(ds.pairs.length, 2)
    })

    it('works without a header and with CRLF line ends', () => {
      const ds = parseEdgeList('x,y,10\r\ny,z,5.5\r\n', 'e.csv')
      assert.equal(rttOf(ds, 'y', 'z'), 5.5)
    })

    it('refuses bad rows with line and field', () => {
      expectFileError(() => parseEdgeList('a,b,rtt_ms\nx,y,10\nx,y\n', 'e.csv'), 3, 'row')
      expectFileError(() => parseEdgeList('a,b,rtt_ms\nx,y,abc\n', 'e.csv'), 2, 'rtt_ms')
      expectFileError(() => parseEdgeList('x,y,10\n,y,3\n', 'e.csv'), 2, 'a')
      expectFileError(() => parseEdgeList('x,y,10\nx,y,Infinity\n', 'e.csv'), 2, 'rtt_ms')
      expectFileError(() => parseEdgeList('x,x,1\n', 'e.csv'), 0, 'rows')
      expectFileError(() => parseEdgeList('x,y\n', 'e.csv'), 1, 'row')
    })

    it('detects formats and sends pings files to their folder', () => {
      assert.equal(parseLatencyFile('x\tA\tB\nA\t0\t1\nB\t1\t0\n', 'f').format, 'matrix')
      assert.equal(parseLatencyFile('x,y,3\n', 'f').format, 'edges')
      const err = expectFileError(() => parseLatencyFile(PINGS, 'pings.csv'), 1, 'header')
      assert.match(err.message, /folder/)
    })
  })

  describe('parser properties', () => {
    const validEdges = fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.constantFrom('a', 'b', 'c', 'd'), fc.double({ min: 0.01, max: 1000, noNaN: true })), { minLength: 1, maxLength: 20 })

    /** Mutates text by inserting, deleting or replacing characters at random places. */
    const mutated = (base: string): fc.Arbitrary<string> => fc.array(fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.constantFrom(',', '\t', '\n', '"', '-', '1', 'e', ' ', '\r', 'x', '', '9'.repeat(400))), { minLength: 1, maxLength: 8 })
      .map(edits => {
        let s = base
        for (const [pos, kind, ch] of edits) {
          const i = s.length === 0 ? 0 : pos % s.length
          s = kind === 0 ? s.slice(0, i) + ch + s.slice(i) : kind === 1 ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i) + ch + s.slice(i + 1)
        }
        return s
      })

    it('random text never throws anything but LatencyFileError', () => {
      fc.assert(fc.property(fc.string({ maxLength: 300, unit: 'binary' }), text => {
        onlyFileErrors(() => parseEdgeList(text, 'e.csv'))
        onlyFileErrors(() => parseMatrixTsv(text, 'm.tsv'))
        onlyFileErrors(() => parseLatencyFile(text, 'f'))
        onlyFileErrors(() => parseWonderNetwork(text, SERVERS))
        onlyFileErrors(() => parseWonderNetwork(PINGS, text))
      }), { numRuns: 2000 })
    })

    it('mutated valid files never throw anything but LatencyFileError', () => {
      fc.assert(fc.property(mutated(PINGS), mutated(SERVERS), mutated('s\tA\tB\tC\nA\t0\t10\t20\nB\t10\t0\t30\nC\t20\t30\t0\n'), mutated('a,b,rtt_ms\nx,y,1\ny,z,2.5\n'), (p, s, m, e) => {
        onlyFileErrors(() => measuredLatency(parseWonderNetwork(p, SERVERS)))
        onlyFileErrors(() => measuredLatency(parseWonderNetwork(PINGS, s)))
        onlyFileErrors(() => measuredLatency(parseMatrixTsv(m, 'm.tsv')))
        onlyFileErrors(() => measuredLatency(parseEdgeList(e, 'e.csv')))
      }), { numRuns: 2000 })
    })

    it('valid edge lists parse to the mean of each pair', () => {
      fc.assert(fc.property(validEdges, edges => {
        const text = edges.map(([a, b, r]) => `${a},${b},${r}`).join('\n')
        if (edges.every(([a, b]) => a === b)) {
          onlyFileErrors(() => parseEdgeList(text, 'e.csv'))
          return
        }
        const ds = parseEdgeList(text, 'e.csv')
        const sums = new Map<string, number[]>()
        for (const [a, b, r] of edges) {
          if (a === b) continue
          const k = [a, b].sort().join('|')
          sums.set(k, [...(sums.get(k) ?? []), r])
        }
        assert.equal(ds.pairs.length, sums.size)
        for (const [k, rs] of sums) {
          const [a, b] = k.split('|')
          const got = rttOf(ds, a, b) as number
          assert.ok(Math.abs(got - rs.reduce((x, y) => x + y, 0) / rs.length) < 1e-9)
        }
      }))
    })
  })

  describe('measured model', () => {
    it('is symmetric with a positive self RTT', () => {
      const m = measuredLatency(parseWonderNetwork(PINGS, SERVERS))
      for (let a = 0; a < 4; a++) {
        assert.ok(m.rtt(a, a) > 0)
        for (let b = 0; b < 4; b++) assert.equal(m.rtt(a, b), m.rtt(b, a))
      }
      assert.equal(m.rtt(0, 1), 11)
      assert.equal(m.jitter(0, 1), 2)
      assert.equal(m.fill, 'none')
      assert.throws(() => m.rtt(0, 4), RangeError)
    })

    it('fills unmeasured pairs by the shortest measured path when there are no coordinates', () => {
      const m = measuredLatency(parseEdgeList('a,b,10\nb,c,20\nc,d,5\na,d,100\n', 'e.csv'))
      assert.equal(m.fill, 'shortest-path')
      assert.equal(m.filledPairs, 2)
      assert.equal(m.rtt(0, 2), 30)
      assert.equal(m.rtt(0, 3), 100, 'a measurement stands even where a relay would be faster')
      assert.equal(m.isMeasured(0, 3), true)
      assert.equal(m.isMeasured(0, 2), false)
      assert.equal(m.rtt(1, 3), 25)
    })

    it('refuses a data set with a site unreachable from the others', () => {
      expectFileError(() => measuredLatency(parseEdgeList('a,b,10\nc,d,20\n', 'e.csv')), 0, /^[a-d]$/)
    })

    it('fills unmeasured pairs geographically when every site has coordinates', () => {
      const pings = PINGS.split('\n').filter(l => !l.startsWith('3,4') && !l.startsWith('2,4')).join('\n')
      const m = measuredLatency(parseWonderNetwork(pings, SERVERS))
      assert.equal(m.fill, 'geographic')
      assert.equal(m.filledPairs, 2)
      const km = greatCircleKm(40.7128, -74.006, -33.8688, 151.2093)
      assert.ok(m.rtt(2, 3) > km / FIBER_KM_PER_RTT_MS, 'never faster than light in fiber')
      assert.ok(m.rtt(2, 3) > m.rtt(0, 1))
    })
  })

  describe('loadLatency', () => {
    let dir: string
    before(() => { dir = mkdtempSync(join(tmpdir(), 'shoal-latency-')) })
    after(() => { rmSync(dir, { recursive: true, force: true }) })

    it('detects a WonderNetwork folder, a TSV matrix and an edge list', async () => {
      writeFileSync(join(dir, 'pings.csv'), PINGS)
      writeFileSync(join(dir, 'servers.csv'), SERVERS)
      writeFileSync(join(dir, 'm.tsv'), 'x\tA\tB\nA\t0\t4\nB\t4\t0\n')
      writeFileSync(join(dir, 'e.csv'), 'a,b,rtt_ms\nnode-1,node-2,9\n')
      assert.equal((await loadLatency(dir)).dataset.format, 'wondernetwork')
      assert.equal((await loadLatency(join(dir, 'pings.csv'))).dataset.format, 'wondernetwork')
      assert.equal((await loadLatency(join(dir, 'm.tsv'), { geocode: false })).rtt(0, 1), 4)
      assert.equal((await loadLatency(join(dir, 'e.csv'), { geocode: false })).rtt(1, 0), 9)
    })

    it('geocodes city names of name-only formats', async () => {
      writeFileSync(join(dir, 'cities.csv'), 'Tokyo,Frankfurt,230\nFrankfurt,SanFrancisco,150\n')
      const ds = await loadLatencyDataset(join(dir, 'cities.csv'))
      const tokyo = ds.sites.find(s => s.name === 'Tokyo') as Site
      assert.ok(Math.abs(tokyo.lat - 35.69) < 0.5 && Math.abs(tokyo.lon - 139.69) < 0.5, `${tokyo.lat},${tokyo.lon}`)
      assert.equal(tokyo.continent, 'AS')
      assert.equal(ds.sites.find(s => s.name === 'SanFrancisco')?.country, 'US')
      assert.equal(geocodeCity('London')?.country, 'GB')
      assert.equal(geocodeCity('London, CA')?.country, 'CA')
      assert.equal(geocodeCity('Qwzxyv Nonesuch'), undefined)
    })

    it('names the missing path or file', async () => {
      await assert.rejects(loadLatency(join(dir, 'nope.csv')), (err: unknown) => err instanceof LatencyFileError && err.field === 'path')
      const empty = mkdtempSync(join(dir, 'empty-'))
      await assert.rejects(loadLatency(empty), (err: unknown) => err instanceof LatencyFileError && /pings\.csv$/.test(err.file))
    })
  })

  describe('geographic model', () => {
    const cities: Site[] = [
      { id: 0, name: 'London', country: 'GB', continent: 'EU', lat: 51.5074, lon: -0.1278 },
      { id: 1, name: 'Paris', country: 'FR', continent: 'EU', lat: 48.8566, lon: 2.3522 },
      { id: 2, name: 'Sydney', country: 'AU', continent: 'OC', lat: -33.8688, lon: 151.2093 },
      { id: 3, name: 'Reading', country: 'GB', continent: 'EU', lat: 51.4543, lon: -0.9781 },
      { id: 4, name: 'Newark', country: 'US', continent: 'NA', lat: 40.7357, lon: -74.1724 }
    ]

    it('grows with distance, is symmetric and never beats light in fiber', () => {
      const m = geographicLatency({ sites: cities })
      assert.ok(m.rtt(0, 1) < m.rtt(0, 2))
      assert.equal(m.rtt(0, 2), m.rtt(2, 0))
      assert.ok(m.rtt(0, 0) > 0)
      for (let a = 0; a < cities.length; a++) {
        for (let b = 0; b < cities.length; b++) {
          const km = greatCircleKm(cities[a].lat, cities[a].lon, cities[b].lat, cities[b].lon)
          assert.ok(m.rtt(a, b) >= km / FIBER_KM_PER_RTT_MS)
        }
      }
    })

    it('applies the given parameters and last-mile legs', () => {
      const params = { inflation: 2, accessMs: 5, continentInflation: {}, continentAccessMs: {} }
      const m = geographicLatency({ sites: cities, params })
      const km = greatCircleKm(cities[0].lat, cities[0].lon, cities[1].lat, cities[1].lon)
      assert.ok(Math.abs(m.rtt(0, 1) - (10 + 2 * km / 100)) < 1e-9)
      const withLastMile = geographicLatency({ sites: cities, params, lastMileMs: 7 })
      assert.ok(Math.abs(withLastMile.rtt(0, 1) - m.rtt(0, 1) - 14) < 1e-9)
    })

    it('routes over a measured backbone between the nearest measured cities', () => {
      const backbone = measuredLatency(parseWonderNetwork(PINGS, SERVERS))
      const m = geographicLatency({ sites: cities, backbone, params: { backboneLegInflation: 1 } })
      assert.equal(m.nearestBackboneSite(3), 0, 'Reading is served from London')
      assert.equal(m.nearestBackboneSite(4), 2, 'Newark is served from New York')
      assert.equal(m.rtt(0, 2), backbone.rtt(0, 3), 'a site at a measured city gets the measured RTT')
      const leg = greatCircleKm(cities[3].lat, cities[3].lon, 51.5074, -0.1278) / FIBER_KM_PER_RTT_MS
      assert.ok(Math.abs(m.rtt(3, 2) - (backbone.rtt(0, 3) + leg)) < 1e-9)
      // Reading and London share their backbone city: the geographic formula applies
      assert.ok(m.rtt(0, 3) < backbone.rtt(0, 1))
      assert.equal(m.jitter(3, 2), backbone.jitter(0, 3), 'jitter comes from the backbone pair')
      assert.equal(m.jitter(0, 3), undefined)
    })

    it('refuses sites without coordinates', () => {
      assert.throws(() => geographicLatency({ sites: [{ id: 0, name: 'x', lat: Number.NaN, lon: 0 }] }), { name: 'LatencyModelError' })
    })

    it('loads world cities by population with continents', () => {
      const big = worldCities({ minPopulation: 1_000_000 })
      assert.ok(big.length > 200 && big.length < 1000, `${big.length} cities`)
      assert.ok(big.every(c => (c.population ?? 0) >= 1_000_000))
      assert.ok(big.every((c, i) => c.id === i))
      assert.ok(big.every((c, i) => i === 0 || (c.population ?? 0) <= (big[i - 1].population ?? 0)))
      assert.ok(big.filter(c => c.continent === undefined).length < 5)
      const eu = worldCities({ minPopulation: 1_000_000, continents: ['EU'] })
      assert.ok(eu.length > 10 && eu.every(c => c.continent === 'EU'))
      const model = geographicLatency({ cities: { minPopulation: 1_000_000 } })
      assert.equal(model.sites.length, big.length)
    })
  })

  describe('placement', () => {
    const sites: Site[] = [
      { id: 0, name: 'A', country: 'DE', continent: 'EU', lat: 50, lon: 8, population: 1000 },
      { id: 1, name: 'B', country: 'FR', continent: 'EU', lat: 48, lon: 2, population: 3000 },
      { id: 2, name: 'C', country: 'JP', continent: 'AS', lat: 35, lon: 139, population: 100 },
      { id: 3, name: 'D', country: 'US', continent: 'NA', lat: 40, lon: -74 }
    ]
    const model = geographicLatency({ sites })

    it('is deterministic for a seed', () => {
      assert.deepEqual(placePeers(model, 50, createRng(3)), placePeers(model, 50, createRng(3)))
      assert.notDeepEqual(placePeers(model, 50, createRng(3)), placePeers(model, 50, createRng(4)))
    })

    it('follows population, giving sites without one the median', () => {
      const counts = [0, 0, 0, 0]
      for (const s of placePeers(model, 20_000, createRng(1))) counts[s]++
      // weights 1000, 3000, 100, 1000 (median)
      assert.ok(Math.abs(counts[1] / counts[0] - 3) < 0.3, `${counts}`)
      assert.ok(Math.abs(counts[3] / counts[0] - 1) < 0.15, `${counts}`)
      assert.ok(counts[2] > 0 && counts[2] < counts[0] / 4)
    })

    it('gives each region its share exactly', () => {
      const placed = placePeers(model, 10, createRng(1), { regions: { Europe: 0.5, AS: 0.3, 'united states': 0.2 } })
      const cont = placed.map(i => sites[i].continent)
      assert.equal(cont.filter(c => c === 'EU').length, 5)
      assert.equal(cont.filter(c => c === 'AS').length, 3)
      assert.equal(cont.filter(c => c === 'NA').length, 2)
      assert.deepEqual(apportion(7, [1, 1, 1]), [3, 2, 2])
    })

    it('uses explicit weights and refuses impossible requests', () => {
      const placed = placePeers(model, 30, createRng(2), { weights: [0, 0, 1, 0] })
      assert.ok(placed.every(s => s === 2))
      assert.throws(() => placePeers(model, 5, createRng(1), { regions: { Africa: 1 } }), /Africa/)
      assert.throws(() => placePeers(model, 5, createRng(1), { weights: [1] }), RangeError)
      assert.throws(() => placePeers(model, -1, createRng(1)), RangeError)
      assert.deepEqual(placePeers(model, 0, createRng(1)), [])
    })
  })

  describe('link profiles', () => {
    it('raises loss with distance to a few tenths of a percent between continents', () => {
      const sites: Site[] = [
        { id: 0, name: 'London', continent: 'EU', lat: 51.5074, lon: -0.1278 },
        { id: 1, name: 'Paris', continent: 'EU', lat: 48.8566, lon: 2.3522 },
        { id: 2, name: 'New York', continent: 'NA', lat: 40.7128, lon: -74.006 },
        { id: 3, name: 'Sydney', continent: 'OC', lat: -33.8688, lon: 151.2093 }
      ]
      const link = linkProfileFor(geographicLatency({ sites }))
      const near = link(0, 1)
      const atlantic = link(0, 2)
      const far = link(0, 3)
      assert.ok(near.loss < 0.001, `${near.loss}`)
      assert.ok(atlantic.loss >= 0.002 && atlantic.loss <= 0.005, `${atlantic.loss}`)
      assert.ok(far.loss > atlantic.loss && far.loss <= 0.01, `${far.loss}`)
      assert.equal(link(0, 0).loss, DEFAULT_LOSS_CURVE[0][1])
      assert.ok(near.jitterMs > 0 && far.jitterMs > near.jitterMs)
      assert.equal(near.bandwidthBps, 12_500_000)
      assert.equal(near.rttMs, geographicLatency({ sites }).rtt(0, 1))
    })

    it('takes constant or custom loss, jitter and bandwidth', () => {
      const m = measuredLatency(parseWonderNetwork(PINGS, SERVERS))
      const fixed = linkProfileFor(m, { loss: 0.01, bandwidthBps: 1e6, measuredJitter: false, jitter: { floorMs: 1, fraction: 0 } })
      assert.deepEqual(fixed(0, 1), { rttMs: 11, jitterMs: 1, loss: 0.01, bandwidthBps: 1e6 })
      const measured = linkProfileFor(m)
      assert.ok(Math.abs(measured(0, 1).jitterMs - 2 * Math.sqrt(6)) < 1e-9, 'ping mdev becomes the transport spread')
      const custom = linkProfileFor(m, { loss: (km) => km > 1000 ? 0.5 : 0, bandwidthBps: (a, b) => a.id + b.id + 1 })
      assert.equal(custom(0, 1).loss, 0)
      assert.equal(custom(0, 2).loss, 0.5)
      assert.equal(custom(1, 3).bandwidthBps, 5)
      assert.throws(() => linkProfileFor(m, { loss: 1.5 }), RangeError)
      assert.throws(() => linkProfileFor(m, { loss: [[100, 0.1], [50, 0.2]] }), RangeError)
      assert.equal(lossAtDistance([[0, 0], [100, 0.1]], 50), 0.05)
      assert.equal(lossAtDistance([[0, 0], [100, 0.1]], 500), 0.1)
    })

    it('estimates distance from RTT for sites without coordinates', () => {
      const link = linkProfileFor(measuredLatency(parseEdgeList('a,b,2\nb,c,250\n', 'e.csv')))
      assert.ok(link(0, 1).loss < 0.0005)
      assert.ok(link(1, 2).loss > 0.003)
    })
  })

  describe('WonderNetwork 2020-07 (real data)', function () {
    let dataset: LatencyDataset

    before(async function () {
      if (!HAVE_WN) {
        // the data set lives outside the repository (../shared/data/latency/wondernetwork-2020-07)
        this.skip()
      }
      dataset = await loadLatencyDataset(WN_DIR)
    })

    it('loads every located server and symmetrises the mesh', () => {
      assert.equal(dataset.sites.length, 246)
      assert.ok(dataset.pairs.length > 29_000 && dataset.pairs.length <= 246 * 245 / 2)
      assert.deepEqual(dataset.skipped.map(s => s.reason.split(' ')[2]), ['292', '293', '294', '295'])
      assert.ok(dataset.sites.every(s => s.continent !== undefined), 'every country maps to a continent')
      const rtts = dataset.pairs.map(p => p.rttMs).sort((a, b) => a - b)
      const median = rtts[Math.floor(rtts.length / 2)]
      assert.ok(median > 120 && median < 160, `median ${median}`)
      const model = measuredLatency(dataset)
      assert.equal(model.fill, 'geographic')
      assert.ok(model.filledPairs < 100)
    })

    it('calibrates the geographic model: backbone < geographic < linear fit on held-out data', () => {
      const r = calibrateGeographic(dataset, { seed: 1, holdout: 0.2 })
      assert.ok(r.linear_fit_median_rel_err > 0.18 && r.linear_fit_median_rel_err < 0.26, `linear ${r.linear_fit_median_rel_err}`)
      assert.ok(r.median_rel_err < r.plain_median_rel_err && r.plain_median_rel_err < r.linear_fit_median_rel_err)
      assert.ok(r.backbone_median_rel_err < 0.1, `backbone ${r.backbone_median_rel_err}`)
      assert.ok(r.backbone_median_rel_err < r.median_rel_err)
      assert.ok(r.p90_rel_err > r.median_rel_err)
      assert.ok(r.params.inflation > 1 && r.params.inflation < 3)
      assert.deepEqual(calibrateGeographic(dataset, { seed: 1, holdout: 0.2 }), r, 'same seed, same result')
    })
  })
})
