import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeGeohash } from '@shoal/records'
import fc from 'fast-check'
import { quantile } from '../src/latency/calibrate.js'
import { analyseMarket } from '../src/market/analysis.js'
import { computeMs, jitterFactor, resolveMarket } from '../src/market/config.js'
import { writeRun } from '../src/output/write.js'
import type { AnalysisPeer, MarketFigures, MarketSummary } from '../src/market/analysis.js'
import type { SimEvent } from '../src/harness/events.js'
import type { PlacedCloudRegion } from '../src/market/cloud.js'
import type { ResolvedMarket } from '../src/market/config.js'
import type { RunResult, Scenario } from '../src/index.js'

const SEED = 7
const SCENARIO: Scenario = {
  name: 'market-analysis',
  seed: SEED,
  durationS: 60,
  regions: { EU: { peers: 5, roles: { requester: 1, gpu: 3, cam: 1 } }, AS: { peers: 1, roles: { requester: 1 } } },
  workload: { jobs: { ratePerS: 1, from: ['requester'], kinds: ['infer', 'near', 'local', 'capture'] } },
  market: {
    roles: {
      gpu: { slots: 1, compute: { '*': { fixedMs: 100, perUnitMs: 50, jitter: 0.3 } } },
      cam: { service: 'capture', compute: { '*': { fixedMs: 40 } } }
    },
    jobs: { infer: { deadlineS: 5, units: 2 }, near: { maxRttMs: 10 }, local: { region: 'local', regionPrecision: 3 }, capture: {} },
    cloud: { cities: ['Frankfurt', 'Tokyo'], computeFactor: 1.5 }
  }
}

/**
 * Sites: 0 Frankfurt, 1 next to it, 2 Paris, 3 Tokyo, 4 Seoul, 5 the
 * Frankfurt cloud region.
 */
const RTT: Record<string, number> = {
  '0-1': 4, '0-2': 12, '0-3': 250, '0-4': 260, '0-5': 3,
  '1-2': 10, '1-3': 250, '1-4': 260, '1-5': 3,
  '2-3': 245, '2-4': 255, '2-5': 11,
  '3-4': 35, '3-5': 250,
  '4-5': 255
}
const rtt = (a: number, b: number): number => a === b ? 1 : RTT[`${Math.min(a, b)}-${Math.max(a, b)}`]

const PEERS: AnalysisPeer[] = [
  { index: 0, role: 'requester', region: 'EU', siteIndex: 0, lat: 50.11, lon: 8.68 },
  { index: 1, role: 'gpu', region: 'EU', siteIndex: 1, lat: 50.1, lon: 8.6 },
  { index: 2, role: 'gpu', region: 'EU', siteIndex: 2, lat: 48.86, lon: 2.35 },
  { index: 3, role: 'gpu', region: 'AS', siteIndex: 3, lat: 35.68, lon: 139.69 },
  { index: 4, role: 'cam', region: 'EU', siteIndex: 1, lat: 50.1, lon: 8.6 },
  { index: 5, role: 'requester', region: 'AS', siteIndex: 4, lat: 37.57, lon: 126.98 }
]
const CLOUD: PlacedCloudRegion[] = [{ name: 'Frankfurt', site: 5, km: 0 }, { name: 'Tokyo', site: 3, km: 0 }]

function market (): ResolvedMarket {
  const m = resolveMarket(SCENARIO)
  assert.ok(m != null)
  return m
}

function started (): SimEvent[] {
  return [{ t: 0, type: 'run:start' }, ...PEERS.map(p => ({ t: 0, type: 'peer:started', peer: p.index }))]
}

function analyse (events: SimEvent[]): MarketSummary {
  return analyseMarket({ events, peers: PEERS, rtt, market: market(), cloud: CLOUD })
}

function row (s: MarketSummary, job: string): MarketSummary['rows'][number] {
  const r = s.rows.find(r => r.job === job)
  assert.ok(r != null, `no row for ${job}`)
  return r
}

/** ms the oracle should give `job` of `kind` at a GPU provider `rttMs` away. */
function gpuMs (job: string, kind: string, rttMs: number, factor = 1): number {
  const m = market()
  return Math.round((m.roundTrips * rttMs + computeMs(m.roles.gpu, kind, m.jobs[kind].units, SEED, job, factor)) * 1000) / 1000
}

const arrival = (t: number, job: string, kind: string, peer = 0): SimEvent => ({ t, type: 'job:arrival', peer, job, kind, role: 'requester' })

describe('analyseMarket', () => {
  it('gives the oracle to the nearest provider with a free slot, not a nearer busy one, with the job\'s own jitter', () => {
    const s = analyse([
      ...started(),
      { t: 10, type: 'work:start', peer: 1, job: 'other' },
      arrival(20, 'job-1', 'infer'),
      { t: 30, type: 'work:end', peer: 1, job: 'other', ms: 20 },
      arrival(40, 'job-2', 'infer')
    ])
    assert.equal(row(s, 'job-1').oracle_provider, 2)
    assert.equal(row(s, 'job-1').oracle_busy, false)
    assert.equal(row(s, 'job-1').oracle_ms, gpuMs('job-1', 'infer', 12))
    assert.notEqual(jitterFactor(SEED, 'job-1', 0.3), 1)
    assert.notEqual(row(s, 'job-1').oracle_ms, 2 * 12 + 100 + 50 * 2, 'the jitter is applied')
    assert.equal(row(s, 'job-2').oracle_provider, 1, 'the slot is free again after work:end')
    assert.equal(row(s, 'job-2').oracle_ms, gpuMs('job-2', 'infer', 4))
  })

  it('skips a crashed provider until it rejoins, and ignores slots when every eligible provider is busy', () => {
    const s = analyse([
      ...started(),
      { t: 10, type: 'peer:crashed', peer: 1 },
      arrival(20, 'job-1', 'infer'),
      { t: 30, type: 'peer:joined', peer: 1 },
      arrival(40, 'job-2', 'infer'),
      { t: 50, type: 'work:start', peer: 1, job: 'a' },
      { t: 50, type: 'work:start', peer: 2, job: 'b' },
      { t: 50, type: 'work:start', peer: 3, job: 'c' },
      arrival(60, 'job-3', 'infer')
    ])
    assert.equal(row(s, 'job-1').oracle_provider, 2)
    assert.equal(row(s, 'job-2').oracle_provider, 1)
    assert.equal(row(s, 'job-3').oracle_provider, 1)
    assert.equal(row(s, 'job-3').oracle_busy, true)
    assert.equal(s.oracle_busy, 1)
  })

  it('respects maxRttMs and a local region; a job without an eligible provider counts in jobs but not in eligible_jobs', () => {
    // the local job's region is Frankfurt's 3-character cell: the provider next to it is inside, Paris is not
    assert.equal(encodeGeohash(50.1, 8.6, 3), encodeGeohash(50.11, 8.68, 3))
    assert.notEqual(encodeGeohash(48.86, 2.35, 3), encodeGeohash(50.11, 8.68, 3))
    const s = analyse([
      ...started(),
      arrival(10, 'job-1', 'near'),
      arrival(10, 'job-2', 'local'),
      { t: 20, type: 'peer:crashed', peer: 1 },
      arrival(30, 'job-3', 'near'),
      arrival(30, 'job-4', 'local'),
      arrival(30, 'job-5', 'infer'),
      { t: 40, type: 'job:completed', peer: 0, job: 'job-5', kind: 'infer', provider: 2, ms: 400, late: false, rtt_ms: 12, failovers: 0 }
    ])
    assert.equal(row(s, 'job-1').oracle_provider, 1)
    assert.equal(row(s, 'job-2').oracle_provider, 1)
    assert.equal(row(s, 'job-3').oracle_ms, null, 'Paris is 12 ms away, over the 10 ms bound')
    assert.equal(row(s, 'job-4').oracle_ms, null, 'Paris is outside the local cell')
    assert.equal(row(s, 'job-5').oracle_provider, 2)
    assert.equal(s.jobs, 5)
    assert.equal(s.eligible_jobs, 3)
    assert.equal(s.job_success_ratio, 1 / 5)
    assert.equal(s.eligible_success_ratio, 1 / 3)
    assert.equal(s.unfinished, 4)
  })

  it('computes stretch and its nearest-rank quantiles over completed jobs, late ones included', () => {
    const events: SimEvent[] = [...started()]
    const measured = [300, 500, 900, 1200, 6000]
    measured.forEach((ms, i) => {
      events.push(arrival(10 + i, `job-${i}`, 'infer'))
      events.push({ t: 10 + i + ms, type: 'job:completed', peer: 0, job: `job-${i}`, kind: 'infer', provider: 2, ms, late: ms > 5000, rtt_ms: 12, failovers: i === 0 ? 1 : 0 })
    })
    const s = analyse(events)
    const stretch = s.rows.map(r => {
      assert.ok(r.oracle_ms != null && r.ms != null)
      return r.ms / r.oracle_ms
    })
    assert.equal(s.completed, 4)
    assert.equal(s.late, 1)
    assert.equal(row(s, 'job-4').outcome, 'late')
    assert.ok(Math.abs((s.e2e_stretch_p50 ?? NaN) - quantile(stretch, 0.5)) < 1e-3)
    assert.ok(Math.abs((s.e2e_stretch_p90 ?? NaN) - quantile(stretch, 0.9)) < 1e-3)
    assert.equal(s.completion_ms.p50, 900)
    assert.equal(s.completion_ms.p99, 6000)
    assert.deepEqual(s.failovers, { total: 1, jobs: 1 })
    assert.equal(s.under_10ms_ratio, 0, 'Paris is 12 ms away')
  })

  it('sends the cloud job to the nearest region by RTT and compares the same jobs', () => {
    const s = analyse([
      ...started(),
      arrival(10, 'job-1', 'infer', 0),
      arrival(10, 'job-2', 'infer', 5),
      { t: 400, type: 'job:completed', peer: 0, job: 'job-1', kind: 'infer', provider: 1, ms: 390, late: false, rtt_ms: 4, failovers: 0 },
      { t: 900, type: 'job:completed', peer: 5, job: 'job-2', kind: 'infer', provider: 3, ms: 890, late: false, rtt_ms: 35, failovers: 0 }
    ])
    assert.equal(row(s, 'job-1').cloud_region, 'Frankfurt')
    assert.equal(row(s, 'job-1').cloud_ms, gpuMs('job-1', 'infer', 3, 1.5))
    assert.equal(row(s, 'job-2').cloud_region, 'Tokyo')
    assert.equal(row(s, 'job-2').cloud_ms, gpuMs('job-2', 'infer', 35, 1.5))
    assert.equal(s.cloud_pairs, 2)
    assert.equal(s.cloud_under_10ms_ratio, 0.5)
    assert.equal(s.under_10ms_ratio, 0.5)
    assert.equal(s.shoal_completion_p50_ms, 390)
    const cloud = quantile([row(s, 'job-1').cloud_ms ?? NaN, row(s, 'job-2').cloud_ms ?? NaN], 0.5)
    assert.equal(s.cloud_completion_p50_ms, cloud)
    assert.ok(Math.abs((s.ratio ?? NaN) - 390 / cloud) < 1e-3)
  })

  it('leaves capture jobs out of the cloud figures and says so', () => {
    const s = analyse([
      ...started(),
      arrival(10, 'job-1', 'capture'),
      { t: 200, type: 'job:completed', peer: 0, job: 'job-1', kind: 'capture', provider: 4, ms: 190, late: false, rtt_ms: 4, failovers: 0 }
    ])
    assert.equal(row(s, 'job-1').oracle_provider, 4)
    assert.equal(row(s, 'job-1').cloud_ms, null)
    assert.equal(s.cloud_pairs, 0)
    assert.equal(s.cloud_under_10ms_ratio, null)
    assert.ok(s.notes.some(n => n.includes('capture')))
  })

  it('gives NAT\'d providers\' share of the slots and of the jobs served, and how the jobs reached them', () => {
    // providers 1 and 2 behind NATs: two of the three GPU slots and the camera's one
    const peers = PEERS.map(p => ({ ...p, nat: p.index === 1 || p.index === 2 }))
    const done = (t: number, job: string, provider: number, connection: string, upgraded: boolean): SimEvent =>
      ({ t, type: 'job:completed', peer: 0, job, kind: 'infer', provider, ms: 400, late: false, rtt_ms: 4, failovers: 0, connection, upgraded })
    const s = analyseMarket({
      events: [
        ...started(),
        { t: 500, type: 'nat:relayed', peer: 1, nat: 'address-restricted', ms: 300 },
        arrival(1000, 'job-1', 'infer'),
        arrival(1000, 'job-2', 'infer'),
        arrival(1000, 'job-3', 'infer'),
        arrival(1000, 'job-4', 'infer'),
        { t: 1200, type: 'job:failover', peer: 0, job: 'job-4', kind: 'infer', provider: 2, reason: 'RelayLimitError: input of 40000 bytes over the relayed limit', attempt_ms: 10 },
        done(1400, 'job-1', 1, 'relayed', false),
        done(1400, 'job-2', 2, 'direct', true),
        done(1400, 'job-3', 3, 'direct', false),
        { t: 2000, type: 'job:failed', peer: 0, job: 'job-4', kind: 'infer', reason: 'RelayLimitError', error: 'x', stage: 'ranked', failovers: 1, ms: 1000 },
        { t: 30_000, type: 'run:end' }
      ],
      peers,
      rtt,
      market: market(),
      cloud: CLOUD
    })
    assert.deepEqual(s.nat, {
      providers: 4,
      nat_providers: 2,
      nat_capacity_share: 0.5,
      nat_jobs_share: 0.667,
      jobs_relayed: 1,
      jobs_direct_after_upgrade: 1,
      relay_refused: 2,
      nat_relayed: 1
    })
    assert.equal(row(s, 'job-1').connection, 'relayed')
    assert.equal(row(s, 'job-2').upgraded, true)
    assert.equal(analyse([...started(), { t: 30_000, type: 'run:end' }]).nat, null, 'no NAT\'d peer, no NAT figures')
  })

  it('counts failures by reason, unfinished jobs, quotes, receipts and payments, per region and over time', () => {
    const s = analyse([
      ...started(),
      arrival(1000, 'job-1', 'infer', 0),
      arrival(1000, 'job-2', 'infer', 5),
      arrival(1000, 'job-3', 'infer', 5),
      arrival(1000, 'job-4', 'infer', 0),
      { t: 1050, type: 'job:quoted', peer: 0, provider: 1, job: 'job-1' },
      { t: 1080, type: 'job:quoted', peer: 0, provider: 2, job: 'job-1' },
      { t: 1100, type: 'job:assigned', peer: 0, job: 'job-1', kind: 'infer', provider: 1, choice: 'router' },
      { t: 1100, type: 'job:assigned', peer: 5, job: 'job-2', kind: 'infer', provider: 1, choice: 'random' },
      { t: 1500, type: 'job:completed', peer: 0, job: 'job-1', kind: 'infer', provider: 1, ms: 500, late: false, rtt_ms: 4, failovers: 0 },
      { t: 1500, type: 'receipt', peer: 0, job: 'job-1', kind: 'infer', provider: 1, acknowledged: true, stored: true, error: null },
      { t: 1500, type: 'payment', peer: 0, job: 'job-1', kind: 'infer', provider: 1, amount: 2.5, currency: 'USDC' },
      { t: 2000, type: 'job:failed', peer: 5, job: 'job-2', kind: 'infer', reason: 'TimeoutError', error: 'x', stage: 'ranked', failovers: 2, ms: 1000 },
      { t: 2100, type: 'job:failed', peer: 5, job: 'job-3', kind: 'infer', reason: 'TimeoutError', error: 'x', stage: 'ranked', failovers: 0, ms: 1100 },
      { t: 5000, type: 'churn', action: 'crash', index: 0 },
      { t: 8000, type: 'partition', a: 'EU', b: 'AS' },
      { t: 9000, type: 'heal' },
      { t: 30_000, type: 'run:end' }
    ])
    assert.deepEqual([s.completed, s.failed, s.unfinished], [1, 2, 1])
    assert.deepEqual(s.failure_reasons, { TimeoutError: 2 })
    assert.equal(row(s, 'job-1').first_quote_ms, 50)
    assert.equal(s.first_quote_ms_p50, 50)
    // the choice each job's requester made, from job:assigned
    assert.equal(s.per_choice.router?.jobs, 1)
    assert.equal(s.per_choice.router?.completed, 1)
    assert.equal(s.per_choice.random?.jobs, 1)
    assert.deepEqual(s.receipts, { count: 1, acknowledged: 1, stored: 1 })
    assert.deepEqual(s.payments, { count: 1, total: { USDC: 2.5 } })
    assert.deepEqual(Object.keys(s.per_region), ['AS', 'EU'])
    assert.deepEqual([s.per_region.EU.jobs, s.per_region.EU.completed, s.per_region.EU.unfinished], [2, 1, 1])
    assert.deepEqual([s.per_region.AS.jobs, s.per_region.AS.failed, s.per_region.AS.job_success_ratio], [2, 2, 0])
    assert.deepEqual(s.over_time.marks.map(m => m.label), ['churn: crash', 'partition', 'heal'])
    assert.deepEqual(s.over_time.marks.map(m => m.t_s), [5, 8, 9])
    assert.equal(s.over_time.bucket_s, 1)
    assert.deepEqual(s.over_time.buckets[1], { start_s: 1, jobs: 4, completed: 1, ratio: 0.25 })
    assert.equal(s.over_time.buckets.reduce((n, b) => n + b.jobs, 0), 4)
  })

  it('never throws on any event list and keeps its ratios within [0, 1]', () => {
    const junk = fc.oneof(fc.double(), fc.integer({ min: -2, max: 8 }), fc.string({ maxLength: 4 }), fc.boolean(), fc.constant(null))
    const event = fc.record({
      t: fc.oneof(fc.double({ min: 0, max: 60_000 }), fc.double()),
      type: fc.constantFrom('job:arrival', 'job:completed', 'job:failed', 'job:quote', 'job:quoted', 'job:assigned', 'work:start', 'work:end', 'peer:crashed', 'peer:joined', 'peer:started', 'receipt', 'payment', 'churn', 'heal', 'run:start', 'run:end', 'other'),
      peer: fc.oneof(fc.integer({ min: -1, max: 7 }), junk),
      job: fc.oneof(fc.constantFrom('job-1', 'job-2', 'job-3'), junk),
      kind: fc.oneof(fc.constantFrom('infer', 'near', 'local', 'capture', 'nope', '__proto__', 'toString', 'constructor'), junk),
      ms: junk,
      late: junk,
      provider: junk,
      rtt_ms: junk,
      failovers: junk,
      amount: junk,
      currency: junk,
      reason: junk
    }, { requiredKeys: ['t', 'type'] })
    const inUnit = (x: number | null): boolean => x == null || (x >= 0 && x <= 1)
    const unitFigures = (f: MarketFigures): boolean => [f.job_success_ratio, f.eligible_success_ratio, f.under_10ms_ratio, f.cloud_under_10ms_ratio].every(inUnit)
    fc.assert(fc.property(fc.array(event, { maxLength: 40 }), (events) => {
      const s = analyse(events as SimEvent[])
      assert.ok(unitFigures(s))
      assert.ok(Object.values(s.per_region).every(unitFigures))
      assert.ok(s.over_time.buckets.every(b => inUnit(b.ratio)))
      assert.equal(s.completed + s.late + s.failed + s.unfinished, s.jobs)
      // a kind named after an Object property is no job kind of the market: no oracle, no cloud
      assert.ok(s.rows.filter(r => ['__proto__', 'toString', 'constructor'].includes(r.kind)).every(r => r.oracle_ms == null && r.cloud_ms == null))
    }), { numRuns: 300 })
  })
})

/** Whether `svg` is well-formed XML as far as these plots go: balanced tags, escaped text. */
function assertWellFormed (svg: string, file: string): void {
  const stack: string[] = []
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w-]*)(?:\s[^<>]*?)?(\/?)>/g)) {
    const [, close, name, self] = m
    if (self === '/') continue
    if (close === '/') assert.equal(stack.pop(), name, `${file}: </${name}> closes another tag`)
    else stack.push(name)
  }
  assert.deepEqual(stack, [], `${file}: tags left open`)
  assert.doesNotMatch(svg.replace(/<[^<>]*>/g, ''), /[<>]|&(?!amp;|lt;|gt;|quot;)/, `${file}: unescaped text`)
  assert.match(svg, /^<svg[^>]+xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
}

describe('writeRun with a market', () => {
  let dir: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-market-'))
  })

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('writes jobs.csv and the market plots, each well-formed with its series', async () => {
    const events: SimEvent[] = [
      ...started(),
      arrival(1000, 'job-1', 'infer', 0),
      arrival(2000, 'job-2', 'infer', 5),
      arrival(3000, 'job-3', 'infer', 5),
      { t: 1400, type: 'job:completed', peer: 0, job: 'job-1', kind: 'infer', provider: 1, ms: 400, late: false, rtt_ms: 4, failovers: 0 },
      { t: 2900, type: 'job:completed', peer: 5, job: 'job-2', kind: 'infer', provider: 3, ms: 900, late: false, rtt_ms: 35, failovers: 0 },
      { t: 4000, type: 'job:failed', peer: 5, job: 'job-3', kind: 'infer', reason: 'AbortError', error: 'x', stage: 'ranked', failovers: 0, ms: 1000 },
      { t: 2500, type: 'churn', action: 'crash', index: 0 },
      { t: 10_000, type: 'run:end' }
    ].sort((a, b) => a.t - b.t)
    const result: RunResult = {
      scenario: SCENARIO,
      timing: { start_s: 0, connect_s: 0, settle_s: 0, market_open_s: 0, run_s: 10, total_s: 10 },
      connect: { dials: 0, failed: 0, seconds: 0, connections: 0 },
      peers: PEERS.map(p => ({ index: p.index, peer_id: '', role: p.role, region: p.region, site: `s${p.siteIndex}`, country: '', lat: p.lat, lon: p.lon, bootstrap: false, state: 'running' })),
      events,
      memory: { rss_mb: 0, heap_mb: 0, rss_mb_per_peer: 0 },
      links: [],
      market: analyse(events)
    }
    const { summary, files } = await writeRun(dir, result)
    for (const f of ['jobs.csv', 'completion-cdf.svg', 'success-over-time.svg', 'job-flows.svg', 'summary.json']) assert.ok(files.includes(f), `${f} written`)
    assert.equal(summary.market?.jobs, 3)
    assert.equal((summary.market as Record<string, unknown>).rows, undefined, 'the rows go to jobs.csv, not summary.json')

    const csv = (await readFile(join(dir, 'jobs.csv'), 'utf8')).trim().split('\n')
    assert.equal(csv.length, 4)
    assert.match(csv[0], /^job,kind,requester,region,arrival_s,outcome/)
    assert.match(csv[3], /^job-3,infer,5,AS,3,failed,AbortError,/)

    const cdf = await readFile(join(dir, 'completion-cdf.svg'), 'utf8')
    assertWellFormed(cdf, 'completion-cdf.svg')
    assert.match(cdf, /Shoal \(measured\) \(n=2\)/)
    assert.match(cdf, /oracle \(best provider\) \(n=3\)/)
    assert.match(cdf, /cloud \(nearest region\) \(n=3\)/)

    const time = await readFile(join(dir, 'success-over-time.svg'), 'utf8')
    assertWellFormed(time, 'success-over-time.svg')
    assert.match(time, /churn: crash/)
    assert.ok((time.match(/<path d="M/g) ?? []).length >= 1, 'the success line')

    const flows = await readFile(join(dir, 'job-flows.svg'), 'utf8')
    assertWellFormed(flows, 'job-flows.svg')
    assert.equal((flows.match(/<line [^>]*stroke-opacity="0.7"/g) ?? []).length, 2, 'a line per completed job')
    assert.match(flows, /failed \(at requester\)/)
    assert.match(flows, /stretch ≤ 1.25/)
  })
})
