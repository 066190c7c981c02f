import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import {
  MAX_RTT_MS, ScenarioError, createRng, detectFormat, detectUnit, latencyModelOf, linkProfileFor,
  loadLatency, loadLatencyDataset, measuredLatency, parseBareMatrix, parseEdgeList, parseLatencyFile, parseMatrixTsv,
  placePeers, scenarioPlacement, validateScenario
} from '../src/index.js'
import { expectFileError, onlyFileErrors } from './fixtures/latency-errors.js'
import type { LatencyDataset, LatencyUnit, Scenario } from '../src/index.js'

/** RTT (ms) of pair (a, b) in a data set, or undefined when unmeasured. */
function rtt (ds: LatencyDataset, a: number, b: number): number | undefined {
  return ds.pairs.find(p => p.a === Math.min(a, b) && p.b === Math.max(a, b))?.rttMs
}

const MS_PER: Record<LatencyUnit, number> = { ms: 1, s: 1000, us: 0.001 }

describe('bare latency matrices', () => {
  describe('parseBareMatrix', () => {
    it('reads a King-like matrix in microseconds, detecting the unit', () => {
      const ds = parseBareMatrix('0 45123 -1\n45000 0 81000\n-1 80000 0\n', 'king.txt')
      assert.equal(ds.format, 'bare-matrix')
      assert.equal(ds.unit, 'us')
      assert.equal(ds.unitDetected, true)
      assert.deepEqual(ds.sites.map(s => [s.name, s.ref]), [['site-0', '0'], ['site-1', '1'], ['site-2', '2']])
      assert.ok(ds.sites.every(s => Number.isNaN(s.lat) && Number.isNaN(s.lon)))
      assert.equal(ds.pairs.length, 2, 'the -1 pair is missing both ways')
      assert.ok(Math.abs((rtt(ds, 0, 1) as number) - 45.0615) < 1e-9, 'both directions averaged, in ms')
      assert.equal(rtt(ds, 1, 2), 80.5)
      assert.equal(rtt(ds, 0, 2), undefined)
      assert.deepEqual(ds.pairs.map(p => p.samples), [2, 2])
    })

    it('reads seconds and milliseconds, and takes the unit it is given', () => {
      const s = parseBareMatrix('0,0.045,0.120\n0.045,0,0.2\n0.12,0.2,0\n', 'sec.csv')
      assert.equal(s.unit, 's')
      assert.equal(rtt(s, 0, 1), 45)
      assert.equal(rtt(s, 1, 2), 200)
      const ms = parseBareMatrix('0\t45.5\t120\n45.5\t0\t200\n120\t200\t0\n', 'ms.tsv')
      assert.equal(ms.unit, 'ms')
      assert.equal(rtt(ms, 0, 2), 120)
      // a LAN in ms would be detected as seconds: the caller says so
      const lan = parseBareMatrix('0 0.4 0.6\n0.4 0 0.5\n0.6 0.5 0\n', 'lan.txt', { unit: 'ms' })
      assert.equal(lan.unit, 'ms')
      assert.equal(lan.unitDetected, false)
      assert.equal(rtt(lan, 0, 1), 0.4)
    })

    it('treats 0, blank, NA, nan and negative cells as missing and takes the one direction measured', () => {
      const ds = parseBareMatrix('0,10,NA,nan\n12,,0,-1\n30,,,\n,40,7,0\n', 'm.csv')
      assert.equal(ds.unit, 'ms')
      assert.equal(rtt(ds, 0, 1), 11)
      assert.equal(rtt(ds, 0, 2), 30)
      assert.equal(rtt(ds, 0, 3), undefined)
      assert.equal(rtt(ds, 1, 2), undefined)
      assert.equal(rtt(ds, 1, 3), 40)
      assert.equal(rtt(ds, 2, 3), 7)
      assert.deepEqual(ds.pairs.map(p => p.samples), [2, 1, 1, 1])
    })

    it('ignores the diagonal, whatever it holds', () => {
      const ds = parseBareMatrix('5 10\n10 99\n', 'm.txt')
      assert.deepEqual(ds.pairs, [{ a: 0, b: 1, rttMs: 10, samples: 2 }])
    })

    it('accepts trailing separators, CRLF, comments, blank lines and padded columns', () => {
      const variants = [
        '0,10,20,\r\n10,0,30,\r\n20,30,0,\r\n',
        '# King-style, us\n\n0 \t10   20 \n10 0 30\n  20 30 0  \n',
        '0\t10\t20\t\n10\t0\t30\t\n20\t30\t0\t\n',
        '0\t\t10\t\t20\n10\t\t0\t\t30\n20\t\t30\t\t0\n'
      ]
      for (const text of variants) {
        const ds = parseBareMatrix(text, 'm', { unit: 'ms' })
        assert.deepEqual(ds.pairs.map(p => p.rttMs), [10, 20, 30], JSON.stringify(text))
      }
    })

    it('reads blank cells of a tab-separated matrix as missing, one tab per cell', () => {
      const ds = parseBareMatrix('\t10\t20\n10\t\t\n20\t\t\n', 'm.tsv')
      assert.deepEqual(ds.pairs.map(p => [p.a, p.b, p.rttMs]), [[0, 1, 10], [0, 2, 20]])
      // a separator given by the caller wins over detection
      expectFileError(() => parseBareMatrix('0\t\t10\n10\t\t0\n', 'm.tsv', { separator: '\t' }), 1, 'row')
    })

    it('refuses a cell that is not a number with its line and column', () => {
      let err = expectFileError(() => parseBareMatrix('0 1 2\n1 0 x3\n2 3 0\n', 'm.txt'), 2, 'column 3')
      assert.match(err.message, /m\.txt:2: column 3: .*"x3"/)
      err = expectFileError(() => parseBareMatrix('# c\n0,1\n1,"0"\n', 'm.csv'), 3, 'column 2')
      expectFileError(() => parseBareMatrix('0 1\n1 0x10\n', 'm.txt'), 2, 'column 2')
      expectFileError(() => parseBareMatrix('0 1e999\n1 0\n', 'm.txt'), 1, 'column 2')
    })

    it('refuses ragged rows, a matrix that is not square, one site and no pairs', () => {
      expectFileError(() => parseBareMatrix('0 1 2\n1 0\n2 3 0\n', 'm.txt'), 2, 'row')
      const err = expectFileError(() => parseBareMatrix('0 1 2\n1 0 3\n', 'm.txt'), 1, 'row')
      assert.match(err.message, /not square/)
      expectFileError(() => parseBareMatrix('0\n', 'm.txt'), 0, 'rows')
      expectFileError(() => parseBareMatrix('# nothing\n', 'm.txt'), 0, 'rows')
      expectFileError(() => parseBareMatrix('0 -1\nNA 0\n', 'm.txt'), 0, 'pairs')
    })

    it('refuses an RTT above the limit, pointing at its cell', () => {
      const err = expectFileError(() => parseBareMatrix('0 10\n70 0\n', 'm.txt', { unit: 's' }), 2, 'column 1')
      assert.match(err.message, new RegExp(`${MAX_RTT_MS} ms`))
    })

    it('reads a 1000 x 1000 matrix', () => {
      const n = 1000
      const rows: string[] = []
      for (let i = 0; i < n; i++) {
        const r = new Array<number>(n)
        for (let j = 0; j < n; j++) r[j] = i === j ? 0 : (i + j) % 97 === 0 ? -1 : 10_000 + ((i * 31 + j * 17) % 1000) * 100
        rows.push(r.join(' '))
      }
      const ds = parseBareMatrix(rows.join('\n'), 'big.txt')
      assert.equal(ds.sites.length, n)
      assert.equal(ds.unit, 'us')
      let missing = 0
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if ((i + j) % 97 === 0) missing++
      assert.equal(ds.pairs.length, n * (n - 1) / 2 - missing)
      const p = ds.pairs[12345]
      const expect = (10_000 + ((p.a * 31 + p.b * 17) % 1000) * 100 + 10_000 + ((p.b * 31 + p.a * 17) % 1000) * 100) / 2 / 1000
      assert.ok(Math.abs(p.rttMs - expect) < 1e-9)
    })
  })

  describe('detectUnit', () => {
    it('follows the median of the measured values', () => {
      assert.equal(detectUnit([0.02, 0.05, 0.3, Number.NaN]), 's')
      assert.equal(detectUnit([4.9, 4.9, 5]), 's')
      assert.equal(detectUnit([5, 80, 300]), 'ms')
      assert.equal(detectUnit([4000, 5000, 5001]), 'ms')
      assert.equal(detectUnit([2000, 45000, 90000]), 'us')
      assert.equal(detectUnit([]), 'ms')
    })
  })

  describe('detectFormat', () => {
    it('sends lines of numbers to the bare matrix parser and keeps named matrices and edge lists', () => {
      assert.equal(detectFormat('0 45 20\n45 0 3\n20 3 0\n', 'f'), 'bare-matrix')
      assert.equal(detectFormat('# King\n0\t45\n45\t0\n', 'f'), 'bare-matrix')
      assert.equal(detectFormat('0,45,,\n', 'f'), 'bare-matrix')
      assert.equal(detectFormat('NA,45\n45,NA\n', 'f'), 'bare-matrix')
      assert.equal(detectFormat('x\tA\tB\nA\t0\t1\nB\t1\t0\n', 'f'), 'matrix')
      assert.equal(detectFormat('\t101\t102\n101\t0\t5\n102\t5\t0\n', 'f'), 'matrix', 'a blank corner names the columns')
      assert.equal(detectFormat('a,b,rtt_ms\nx,y,3\n', 'f'), 'edges')
      assert.equal(detectFormat('x,y,3\n', 'f'), 'edges')
      assert.equal(detectFormat('NA,EU,120\n', 'f'), 'edges')
    })

    it('tells three numbers per line apart: an edge list of numeric ids or a 3 x 3 matrix', () => {
      assert.equal(detectFormat('1,2,30\n2,3,40\n1,3,50\n', 'f'), 'edges')
      assert.equal(detectFormat('0,1,30\n1,2,40\n', 'f'), 'edges')
      assert.equal(detectFormat('0,1,30\n1,2,40\n0,2,50\n3,4,5\n', 'f'), 'edges')
      assert.equal(detectFormat('0,30,50\n30,0,40\n50,40,0\n', 'f'), 'bare-matrix')
      assert.equal(detectFormat('NA,30,50\n30,,40\n50,40,-1\n', 'f'), 'bare-matrix')
    })

    it('parses a bare matrix, named or edge file through parseLatencyFile, with a format override', () => {
      assert.equal(parseLatencyFile('0 45\n45 0\n', 'f').format, 'bare-matrix')
      const forced = parseLatencyFile('1,2,30\n2,3,40\n1,3,50\n', 'f', { format: 'bare-matrix', unit: 'ms' })
      assert.equal(forced.format, 'bare-matrix')
      assert.deepEqual(forced.pairs.map(p => p.rttMs), [2, 15.5, 21.5])
    })
  })

  describe('the unit of the other formats', () => {
    it('scales edge lists and named matrices, which default to ms', () => {
      const e = parseEdgeList('a,b,45000\nb,c,70000\n', 'e.csv', { unit: 'us' })
      assert.equal(e.unit, 'us')
      assert.equal(e.unitDetected, false)
      assert.deepEqual(e.pairs.map(p => p.rttMs), [45, 70], 'above the ms limit as raw numbers, fine in us')
      assert.equal(parseEdgeList('a,b,45\n', 'e.csv').unit, 'ms')
      const m = parseMatrixTsv('x\tA\tB\nA\t0\t0.05\nB\t0.05\t0\n', 'm.tsv', { unit: 's' })
      assert.equal(m.unit, 's')
      assert.equal(m.pairs[0].rttMs, 50)
      expectFileError(() => parseEdgeList('a,b,61\n', 'e.csv', { unit: 's' }), 1, 'rtt_ms')
    })
  })

  describe('properties', () => {
    const units: LatencyUnit[] = ['ms', 's', 'us']
    /** A random square matrix: RTTs in ms (undefined = missing), the mark used per missing cell, a separator, a unit. */
    const matrices = fc.integer({ min: 2, max: 9 }).chain(n => fc.record({
      // 6 ms and up (10 % less, 5.4, is the least a direction can be): the unit a median of these is detected as is the one written
      rtts: fc.array(fc.option(fc.double({ min: 6, max: 2000, noNaN: true }), { nil: undefined, freq: 3 }), { minLength: n * n, maxLength: n * n }),
      asym: fc.array(fc.double({ min: 0.9, max: 1.1, noNaN: true }), { minLength: n * n, maxLength: n * n }),
      marks: fc.array(fc.constantFrom('0', '-1', 'NA', 'nan', ''), { minLength: n * n, maxLength: n * n }),
      sep: fc.constantFrom(',', '\t', ' ', '  ', ', '),
      trailing: fc.boolean(),
      crlf: fc.boolean(),
      unit: fc.constantFrom(...units),
      giveUnit: fc.boolean()
    }).map(r => ({ n, ...r })))

    it('a written matrix parses back to its pairs, in any separator and unit', () => {
      fc.assert(fc.property(matrices, m => {
        const { n } = m
        // blank cells only exist where a separator delimits them
        const blankOk = m.sep !== ' ' && m.sep !== '  '
        const cell = (i: number, j: number): string => {
          if (i === j) return blankOk ? m.marks[i * n + j] : '0'
          const lo = Math.min(i, j)
          const hi = Math.max(i, j)
          const v = m.rtts[lo * n + hi]
          // each direction may be missing on its own; when both are present they differ a little
          const dirMissing = m.rtts[hi * n + lo] === undefined && i > j
          if (v === undefined || dirMissing) {
            const mark = m.marks[i * n + j]
            return mark === '' && !blankOk ? '-1' : mark
          }
          return String(v * m.asym[i * n + j] / MS_PER[m.unit])
        }
        const lines: string[] = []
        for (let i = 0; i < n; i++) {
          const cells: string[] = []
          for (let j = 0; j < n; j++) cells.push(cell(i, j))
          lines.push(cells.join(m.sep) + (m.trailing && blankOk ? m.sep : ''))
        }
        const text = lines.join(m.crlf ? '\r\n' : '\n') + '\n'
        const expected = new Map<string, number>()
        for (let i = 0; i < n; i++) {
          for (let j = i + 1; j < n; j++) {
            if (m.rtts[i * n + j] === undefined) continue
            const up = m.rtts[i * n + j] as number * m.asym[i * n + j]
            const down = m.rtts[j * n + i] === undefined ? undefined : m.rtts[i * n + j] as number * m.asym[j * n + i]
            expected.set(`${i}-${j}`, down === undefined ? up : (up + down) / 2)
          }
        }
        const separator = m.sep.trim() === ',' ? ',' : m.sep === '\t' ? '\t' : 'whitespace'
        const options = { unit: m.giveUnit ? m.unit : undefined, separator } as const
        if (expected.size === 0) {
          expectFileError(() => parseBareMatrix(text, 'm', options), 0, 'pairs')
          return
        }
        const ds = parseBareMatrix(text, 'm', options)
        assert.equal(ds.sites.length, n)
        assert.equal(ds.unitDetected, !m.giveUnit)
        assert.equal(ds.unit, m.unit)
        assert.equal(ds.pairs.length, expected.size)
        for (const p of ds.pairs) {
          const want = expected.get(`${p.a}-${p.b}`)
          assert.ok(want !== undefined, `unexpected pair ${p.a}-${p.b}`)
          assert.ok(Math.abs(p.rttMs - want) <= 1e-9 * want, `${p.a}-${p.b}: ${p.rttMs} vs ${want}`)
        }
        // the same file with the separator detected
        if (m.sep !== '\t' && m.sep !== ' ' && m.sep !== '  ') {
          assert.deepEqual(parseBareMatrix(text, 'm', { unit: ds.unit }).pairs, ds.pairs)
        }
      }), { numRuns: 500 })
    })

    it('random text and mutated matrices never throw anything but LatencyFileError', () => {
      const base = '0 45123 -1 NA\n45000 0 81000 12\n-1 80000 0 ,\n1 2 3 0\n'
      const mutated = fc.array(fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.constantFrom(',', '\t', '\n', '"', '-', '1', 'e', ' ', '\r', 'x', '', '.', '#', '9'.repeat(400))), { minLength: 1, maxLength: 8 })
        .map(edits => {
          let s = base
          for (const [pos, kind, ch] of edits) {
            const i = s.length === 0 ? 0 : pos % s.length
            s = kind === 0 ? s.slice(0, i) + ch + s.slice(i) : kind === 1 ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i) + ch + s.slice(i + 1)
          }
          return s
        })
      const separators = fc.constantFrom(undefined, ',', '\t', 'whitespace') as fc.Arbitrary<',' | '\t' | 'whitespace' | undefined>
      fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 300, unit: 'binary' }), mutated), separators, fc.constantFrom<LatencyUnit | undefined>(undefined, ...units), (text, separator, unit) => {
        onlyFileErrors(() => measuredLatency(parseBareMatrix(text, 'm', { separator, unit })))
        onlyFileErrors(() => measuredLatency(parseLatencyFile(text, 'f', { unit })))
      }), { numRuns: 2000 })
    })
  })

  describe('end to end', () => {
    let dir: string
    before(() => { dir = mkdtempSync(join(tmpdir(), 'shoal-bare-')) })
    after(() => { rmSync(dir, { recursive: true, force: true }) })

    it('loadLatency builds a model over a bare matrix, filling unmeasured pairs by the shortest measured path', async () => {
      writeFileSync(join(dir, 'king.txt'), '0 10000 -1 50000\n10000 0 20000 -1\n-1 20000 0 5000\n50000 -1 5000 0\n')
      const model = await loadLatency(join(dir, 'king.txt'))
      assert.equal(model.dataset.format, 'bare-matrix')
      assert.equal(model.dataset.unit, 'us')
      assert.equal(model.dataset.unitDetected, true)
      assert.equal(model.fill, 'shortest-path')
      assert.equal(model.filledPairs, 2)
      assert.equal(model.rtt(0, 1), 10)
      assert.equal(model.rtt(0, 2), 30, 'via site 1')
      assert.equal(model.rtt(1, 3), 25, 'via site 2')
      assert.equal(model.rtt(0, 3), 50)
      assert.equal(model.rtt(2, 2), 1)
      // no coordinates: links estimate their distance from the RTT
      const link = linkProfileFor(model)(0, 3)
      assert.equal(link.rttMs, 50)
      assert.ok(link.loss > 0)
      const placed = placePeers(model, 20, createRng(1), { regions: { world: 1 } })
      assert.equal(placed.length, 20)
      assert.ok(placed.every(s => s >= 0 && s < 4))
    })

    it('takes the unit and format from the options, and names synthetic sites without geocoding them', async () => {
      writeFileSync(join(dir, 'ms.csv'), '0,0.5,0.7\n0.5,0,0.9\n0.7,0.9,0\n')
      const ds = await loadLatencyDataset(join(dir, 'ms.csv'), { unit: 'ms' })
      assert.equal(ds.unit, 'ms')
      assert.equal(ds.pairs[0].rttMs, 0.5)
      assert.ok(ds.sites.every(s => Number.isNaN(s.lat)))
      const detected = await loadLatencyDataset(join(dir, 'ms.csv'))
      assert.equal(detected.unit, 's')
      assert.equal(detected.pairs[0].rttMs, 500)
      writeFileSync(join(dir, 'ids.csv'), '0,1,30\n1,2,40\n0,2,50\n')
      assert.equal((await loadLatencyDataset(join(dir, 'ids.csv'), { geocode: false })).format, 'edges')
      assert.equal((await loadLatencyDataset(join(dir, 'ids.csv'), { format: 'bare-matrix' })).format, 'bare-matrix')
    })

    it('a scenario loads a bare matrix with its unit and places its peers in the region "world"', async () => {
      writeFileSync(join(dir, 'sec.txt'), '0 0.045 0.1\n0.045 0 0.08\n0.1 0.08 0\n')
      const scenario = validateScenario({
        name: 'bare',
        durationS: 1,
        latency: { model: 'measured', path: 'sec.txt', unit: 'ms', format: 'bare-matrix' },
        regions: { world: { peers: 5 } }
      })
      const model = await latencyModelOf(scenario.latency, dir)
      assert.equal(model.rtt(0, 1), 0.045)
      const seconds = await latencyModelOf({ model: 'measured', path: 'sec.txt' }, dir)
      assert.equal(seconds.rtt(0, 1), 45)
      const placement = scenarioPlacement(scenario, seconds, createRng(2))
      assert.equal(placement.sites.length, 5)
      // a continent matches no site of a bare matrix, and says so
      assert.throws(() => scenarioPlacement({ ...scenario, regions: { EU: { peers: 1 } } } satisfies Scenario, seconds, createRng(2)),
        (err: unknown) => err instanceof ScenarioError && err.field === 'regions.EU')
    })

    it('validates the scenario unit and format', () => {
      const base = { name: 'x', durationS: 1, regions: { world: { peers: 1 } } }
      for (const [latency, field] of [
        [{ model: 'measured', path: 'p', unit: 'ns' }, 'latency.unit'],
        [{ model: 'measured', path: 'p', format: 'wondernetwork' }, 'latency.format'],
        [{ model: 'geographic', unit: 'ms' }, 'latency.unit']
      ] as const) {
        assert.throws(() => validateScenario({ ...base, latency }), (err: unknown) => err instanceof ScenarioError && err.field === field, JSON.stringify(latency))
      }
      assert.equal((validateScenario({ ...base, latency: { model: 'measured', path: 'p', unit: 'us' } }).latency as { unit: string }).unit, 'us')
    })
  })
})
