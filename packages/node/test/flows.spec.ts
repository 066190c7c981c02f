import { strict as assert } from 'node:assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { TypedEventEmitter } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PublishRateLimitedError } from '@shoal/job-board'
import { JobKind, requirementsOf } from '@shoal/records'
import { busyRetryAfter } from '../src/flows/submit-job.js'
import { NoProviderError, startProvider, submitJob } from '../src/index.js'
import type { StartProviderServices, SubmitJobEvent, SubmitJobServices, ProviderCandidate } from '../src/index.js'
import type { PeerId } from '@libp2p/interface'
import type { AdvertiseResult, NearbyProvider, NearbyQuery, Offer } from '@shoal/discovery'
import type { JobBoardEvents, JobEntry } from '@shoal/job-board'
import type { StoredReceipt } from '@shoal/receipts'
import type { CapabilityRecord, JobAnnouncement, Quote, SignedRecord } from '@shoal/records'
import type { JobProfile, RoutingDecision } from '@shoal/router'
import type { DirectRunOptions, JobSpec, RunOutcome, WorkEvents } from '@shoal/work'

const SPEC: JobSpec = {
  kind: JobKind.GPU_INFERENCE,
  requirements: { gpuClass: 'consumer-24g', minVramMib: 16384, region: 'w2' },
  priceCeiling: { perUnit: 5, currency: 'USDC', unit: 'gpu-second' },
  budget: 100,
  input: new TextEncoder().encode('hello')
}
const COORDINATE = { vec: [1, 2], height: 3, error: 0.4 }

async function peer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

function nearby (peerId: PeerId, price = 2, geohash = 'w21z'): NearbyProvider {
  const value = {
    provider: peerId.toMultihash().bytes,
    geohash,
    gpus: [{ model: 'rtx-4090', class: 'consumer-24g', vramMib: 24576, count: 1 }],
    sensors: [],
    coordinate: { vec: [10, 20], height: 1, error: 0.2 },
    price: { perUnit: price, currency: 'USDC', unit: 'gpu-second' },
    concurrency: 2,
    freeSlots: 1
  } as unknown as CapabilityRecord
  return { peerId, record: { value } as unknown as SignedRecord<CapabilityRecord>, multiaddrs: [], found: { capabilityClass: 'gpu:consumer-24g', cell: 'w2', precision: 2, home: true }, reasons: [], fetchMs: 0 }
}

const JOB_ID = new Uint8Array(16).fill(7)

/** A quote `signer` offers on the board for the job (by default the stub requester's). */
function quoteFrom (signer: PeerId, price = 2, freeSlots = 3, jobId = JOB_ID): SignedRecord<Quote> {
  const value = { jobId, provider: signer.toMultihash().bytes, price: { perUnit: price, currency: 'USDC', unit: 'gpu-second' }, estUnits: 1, freeSlots, expiresMs: Date.now() + 60_000 }
  return { signer, value, id: crypto.getRandomValues(new Uint8Array(32)), bytes: new Uint8Array() } as unknown as SignedRecord<Quote>
}

/** A requester's services that record what the flow asked of them. */
class Requester {
  readonly job = { value: { jobId: JOB_ID, kind: SPEC.kind, requirements: requirementsOf(SPEC.requirements), priceCeiling: SPEC.priceCeiling } } as unknown as SignedRecord<JobAnnouncement>
  readonly queries: NearbyQuery[] = []
  readonly ranked: Array<{ candidates: ProviderCandidate[], profile: JobProfile }> = []
  runs: Array<{ order: PeerId[], options: DirectRunOptions }> = []
  publishError?: Error
  rounds: Array<NearbyProvider[] | Error> = []
  refuse = false
  reputation = new Map<string, number>()
  run: (order: PeerId[], options: DirectRunOptions) => Promise<RunOutcome> = async (order) => this.outcome(order[0])
  /** with a market, the work service reports quotes offered on the board (`quote:received`, `offersFor`), as the real one does */
  market?: TypedEventEmitter<WorkEvents>
  /** quotes the work service already holds when the flow asks (`offersFor`) */
  held: Array<SignedRecord<Quote>> = []
  /** quotes providers offer once the flow listens, each on its own macrotask */
  offers: Array<SignedRecord<Quote>> = []

  /** A market to take quotes from, as the open market gives them. */
  openMarket (): TypedEventEmitter<WorkEvents> {
    this.market = new TypedEventEmitter<WorkEvents>()
    return this.market
  }

  services (): SubmitJobServices {
    const market = this.market
    const board = market == null
      ? {}
      : {
          addEventListener: (type: 'quote:received', listener: (evt: CustomEvent<SignedRecord<Quote>>) => void) => {
            market.addEventListener(type, listener)
            for (const quote of this.offers) setTimeout(() => market.safeDispatchEvent('quote:received', { detail: quote }), 0)
          },
          removeEventListener: (type: 'quote:received', listener: (evt: CustomEvent<SignedRecord<Quote>>) => void) => { market.removeEventListener(type, listener) },
          offersFor: (jobId: Uint8Array) => this.held.filter(q => q.value.jobId.every((b, i) => b === jobId[i]))
        }
    return {
      jobs: { publish: async () => { if (this.publishError != null) throw this.publishError; return this.job } },
      discovery: {
        findNearby: (query: NearbyQuery) => {
          this.queries.push(query)
          const round = this.rounds.shift() ?? []
          return (async function * () {
            if (round instanceof Error) throw round
            yield * round
          })()
        }
      },
      router: {
        coordinate: COORDINATE,
        choose: async <T extends ProviderCandidate>(candidates: T[], profile: JobProfile = {}): Promise<RoutingDecision<T>> => {
          this.ranked.push({ candidates, profile })
          if (this.refuse) {
            return { choices: [], rejected: candidates.map(c => ({ candidate: { id: c.peerId.toString() }, reason: 'untrusted', explain: `${c.peerId.toString()}: refused, untrusted`, peerId: c.peerId, input: c })), probes: 0 }
          }
          // best first: the cheapest
          const sorted = [...candidates].sort((a, b) => (a.price ?? 0) - (b.price ?? 0))
          return { choices: sorted.map(c => ({ candidate: { id: c.peerId.toString() }, score: 1, breakdown: {} as never, reasons: [], explain: 'ok', peerId: c.peerId, input: c })), rejected: [], probes: 0 }
        }
      } as unknown as SubmitJobServices['router'],
      work: {
        createJob: async () => this.job,
        run: async (target: PeerId | PeerId[], _job: unknown, _input: Uint8Array, options: DirectRunOptions = {}) => {
          const order = Array.isArray(target) ? target : [target]
          this.runs.push({ order, options })
          return this.run(order, options)
        },
        ...board
      } as unknown as SubmitJobServices['work'],
      receipts: {
        reputation: async (peerId: PeerId) => this.reputation.get(peerId.toString()) ?? 0.5,
        get: async () => ({ state: 'countersigned' }) as unknown as StoredReceipt
      } as unknown as SubmitJobServices['receipts']
    }
  }

  outcome (provider: PeerId, attempts: RunOutcome['attempts'] = [{ candidate: provider, ok: true, cancelled: false, elapsed: 1 }]): RunOutcome {
    return { provider, output: new Uint8Array([1]), receipt: { id: new Uint8Array(32) }, acknowledged: true, attempts } as unknown as RunOutcome
  }
}

async function collect (events: AsyncIterable<SubmitJobEvent>): Promise<SubmitJobEvent[]> {
  const out: SubmitJobEvent[] = []
  for await (const event of events) out.push(event)
  return out
}

describe('submitJob: the requester flow with stubbed services', () => {
  it('publishes, finds, ranks with coordinates and reputation, runs down the ranking and ends with the receipt', async () => {
    const [cheap, dear] = [await peer(), await peer()]
    const r = new Requester()
    r.rounds = [[nearby(dear, 4), nearby(cheap, 2)]]
    r.reputation.set(dear.toString(), 0.9)
    const events = await collect(submitJob(r.services(), SPEC, { geohash: 'w21z', timeoutMs: 60_000 }))

    assert.deepEqual(events.map(e => e.type), ['created', 'published', 'searched', 'ranked', 'receipt'])
    assert.equal(r.queries[0].geohash, 'w21z', 'searched from where the requester is')
    assert.deepEqual(r.queries[0].coordinate, COORDINATE, 'with the requester\'s coordinate')
    assert.equal(r.queries[0].gpuClass, 'consumer-24g')
    // the unit too: a provider priced per another unit would not bid
    assert.deepEqual(r.queries[0].maxPrice, { perUnit: 5, currency: 'USDC', unit: 'gpu-second' })
    const { candidates, profile } = r.ranked[0]
    assert.deepEqual(candidates.map(c => c.reputation), [0.9, 0.5], 'reputation from the receipt store')
    assert.deepEqual(candidates[0].coordinate, { vec: [10, 20], height: 1, error: 0.2 }, 'the provider\'s coordinate from its record')
    assert.equal(profile.priceCeiling, 5)
    assert.equal(profile.transferBytes, 5)
    assert.deepEqual(r.runs[0].order.map(String), [cheap.toString(), dear.toString()], 'run in the router\'s order')
    assert.equal(r.runs[0].options.attemptTimeoutMs, 30_000, 'the time shared between the candidates')
    const last = events[events.length - 1]
    assert.ok(last.type === 'receipt')
    assert.ok(last.detail.outcome.provider.equals(cheap))
    assert.equal(last.detail.stored?.state, 'countersigned')
  })

  it('goes on in direct mode when the job board cannot publish, and says so', async () => {
    const r = new Requester()
    r.publishError = Object.assign(new Error('no pubsub'), { name: 'NotStartedError' })
    r.rounds = [[nearby(await peer())]]
    const events = await collect(submitJob(r.services(), SPEC))
    const failed = events.find(e => e.type === 'publish-failed')
    assert.ok(failed?.type === 'publish-failed')
    assert.equal(failed.detail.error.name, 'NotStartedError')
    assert.equal(events[events.length - 1].type, 'receipt')
  })

  it('searches again while nobody is found, reports a round that broke off, then throws NoProviderError', async () => {
    const r = new Requester()
    r.rounds = [[], new Error('lookup broke')]
    const events: SubmitJobEvent[] = []
    await assert.rejects(async () => {
      for await (const event of submitJob(r.services(), SPEC, { searchAttempts: 3, searchDelayMs: 1 })) events.push(event)
    }, (err: Error) => err.name === 'NoProviderError')
    const rounds = events.filter(e => e.type === 'searched')
    assert.equal(rounds.length, 3)
    assert.ok(rounds[1].type === 'searched' && rounds[1].detail.error?.message === 'lookup broke')
    assert.equal(r.runs.length, 0)
  })

  it('runs only providers whose offer matches the job: one found outside the job\'s region is reported, not tried', async () => {
    const r = new Requester()
    const near = await peer()
    const elsewhere = await peer()
    r.rounds = [[nearby(elsewhere, 1, 'u33d'), nearby(near, 2, 'w21z')]]
    const events = await collect(submitJob(r.services(), SPEC))
    const round = events.find(e => e.type === 'searched')
    assert.ok(round?.type === 'searched')
    assert.deepEqual(round.detail.found.map(p => p.peerId.toString()), [near.toString()])
    assert.deepEqual(round.detail.unmatched.map(u => u.provider.peerId.toString()), [elsewhere.toString()])
    assert.match(round.detail.unmatched[0].reasons.join(' '), /region/)
    assert.deepEqual(r.runs[0].order.map(String), [near.toString()], 'the cheaper provider in another region is never tried')
  })

  it('stops searching when every provider found would not bid, and says why in NoProviderError', async () => {
    const r = new Requester()
    const elsewhere = await peer()
    r.rounds = [[nearby(elsewhere, 1, 'u33d')], [nearby(await peer())]]
    await assert.rejects(collect(submitJob(r.services(), SPEC, { searchAttempts: 3, searchDelayMs: 1 })), (err: Error) => {
      assert.ok(err instanceof NoProviderError)
      assert.equal(err.reasons.length, 1)
      assert.match(err.reasons[0], new RegExp(`^${elsewhere.toString()}: .*region`))
      return true
    })
    assert.equal(r.queries.length, 1, 'a second search finds the same providers')
    assert.equal(r.runs.length, 0)
  })

  it('ends with the receipt when the store cannot rank or read it back: the job is done all the same', async () => {
    const r = new Requester()
    const provider = await peer()
    r.rounds = [[nearby(provider)]]
    const services = r.services()
    const broken = Object.assign(new Error('store not open'), { name: 'StoreNotOpenError' })
    services.receipts = { reputation: async () => { throw broken }, get: async () => { throw broken } } as unknown as SubmitJobServices['receipts']
    const events = await collect(submitJob(services, SPEC))
    const last = events[events.length - 1]
    assert.ok(last.type === 'receipt')
    assert.ok(last.detail.outcome.provider.equals(provider))
    assert.equal(last.detail.stored, undefined)
    assert.equal(last.detail.storeError, broken)
    assert.equal(r.ranked[0].candidates[0].reputation, undefined, 'ranked by the router\'s trust alone')
  })

  it('stops at once on a query discovery refuses', async () => {
    const r = new Requester()
    r.rounds = [Object.assign(new Error('bad geohash'), { name: 'InvalidQueryError' })]
    await assert.rejects(collect(submitJob(r.services(), SPEC, { searchAttempts: 3, searchDelayMs: 1 })), { name: 'InvalidQueryError' })
    assert.equal(r.queries.length, 1)
  })

  it('throws NoProviderError with the router\'s reasons when it refuses everyone, and runs nothing', async () => {
    const r = new Requester()
    r.rounds = [[nearby(await peer())]]
    r.refuse = true
    await assert.rejects(collect(submitJob(r.services(), SPEC)), (err: unknown) => {
      assert.ok(err instanceof NoProviderError)
      assert.match(err.reasons[0], /untrusted/)
      return true
    })
    assert.equal(r.runs.length, 0)
  })

  it('yields the provider\'s progress and each failover as they happen, before the run ends', async () => {
    const [first, second] = [await peer(), await peer()]
    const r = new Requester()
    r.rounds = [[nearby(first, 1), nearby(second, 2)]]
    const failure = Object.assign(new Error('boom'), { name: 'ExecutorError' })
    const log: string[] = []
    r.run = async (order, options) => {
      options.onProgress?.({ assignmentId: new Uint8Array(), units: 1, permille: 500, message: 'half' })
      const failed = { candidate: order[0], ok: false, error: failure, cancelled: false, elapsed: 1 }
      options.onAttempt?.(failed)
      // a macrotask: every event already pushed reaches the consumer first, unless the flow holds them back
      await new Promise(resolve => setTimeout(resolve, 0))
      const succeeded = { candidate: order[1], ok: true, cancelled: false, elapsed: 1 }
      options.onAttempt?.(succeeded)
      log.push('run returned')
      return r.outcome(order[1], [failed, succeeded])
    }
    const events: SubmitJobEvent[] = []
    for await (const event of submitJob(r.services(), SPEC)) {
      events.push(event)
      log.push(event.type)
    }
    assert.deepEqual(events.map(e => e.type), ['created', 'published', 'searched', 'ranked', 'progress', 'failed-over', 'receipt'])
    assert.deepEqual(log.slice(4), ['progress', 'failed-over', 'run returned', 'receipt'], 'the failover reached the consumer while the job still ran')
    const over = events[5]
    assert.ok(over.type === 'failed-over')
    assert.ok(over.detail.attempt.candidate.equals(first))
    assert.equal(over.detail.attempt.error?.name, 'ExecutorError')
  })

  it('does not call the last candidate\'s failure a failover: the run\'s error is thrown', async () => {
    const [first, second] = [await peer(), await peer()]
    const r = new Requester()
    r.rounds = [[nearby(first, 1), nearby(second, 2)]]
    r.run = async (order, options) => {
      for (const candidate of order) options.onAttempt?.({ candidate, ok: false, error: new Error('boom'), cancelled: false, elapsed: 1 })
      throw Object.assign(new Error('all 2 candidates failed'), { name: 'AllCandidatesFailedError' })
    }
    const events: SubmitJobEvent[] = []
    await assert.rejects(async () => {
      for await (const event of submitJob(r.services(), SPEC)) events.push(event)
    }, { name: 'AllCandidatesFailedError' })
    const overs = events.filter(e => e.type === 'failed-over')
    assert.equal(overs.length, 1)
    assert.ok(overs[0].type === 'failed-over' && overs[0].detail.attempt.candidate.equals(first))
  })

  it('aborts the run when the consumer stops iterating', async () => {
    const r = new Requester()
    r.rounds = [[nearby(await peer())]]
    let aborted = false
    r.run = async (_order, options) => {
      options.onProgress?.({ assignmentId: new Uint8Array(), units: 0, permille: 1, message: '' })
      return new Promise((_resolve, reject) => {
        options.signal?.addEventListener('abort', () => { aborted = true; reject(options.signal?.reason) })
      })
    }
    for await (const event of submitJob(r.services(), SPEC)) {
      if (event.type === 'progress') break
    }
    assert.equal(aborted, true)
  })
})

describe('submitJob: candidates the job board brings (quotes offered for the job)', () => {
  /** what a flow that wrongly waits out a long `boardWaitMs` / `gatherMs` is cut short by: its test then fails, not hangs */
  const LONG = 60_000
  const guard = (): AbortSignal => AbortSignal.timeout(10_000)
  const types = (events: SubmitJobEvent[]): string[] => events.map(e => e.type)
  const candidateOf = (r: Requester, peerId: PeerId): ProviderCandidate | undefined => r.ranked[0].candidates.find(c => c.peerId.equals(peerId))

  it('ranks and runs the providers that quoted before boardWaitMs, with no discovery search', async () => {
    const [dear, cheap] = [await peer(), await peer()]
    const r = new Requester()
    const market = r.openMarket()
    r.offers = [quoteFrom(dear, 3, 2), quoteFrom(cheap, 1, 4)]
    const events = await collect(submitJob(r.services(), SPEC, { boardWaitMs: 1_000, gatherMs: 10 }))

    assert.deepEqual(types(events), ['created', 'published', 'quoted', 'quoted', 'ranked', 'receipt'])
    assert.equal(r.queries.length, 0, 'findNearby never called')
    assert.equal(r.ranked[0].candidates.length, 2)
    const quoted = candidateOf(r, dear)
    assert.equal(quoted?.quote, r.offers[0], 'the candidate carries its quote, for the run to assign')
    assert.equal(quoted.provider, undefined, 'known by its quote alone')
    assert.equal(quoted.freeSlots, 2, 'the quote\'s free slots')
    assert.equal(quoted.price, 3, 'the quote\'s price per unit')
    assert.equal(quoted.reputation, 0.5, 'reputation from the receipt store')
    assert.deepEqual(r.runs[0].order.map(String), [cheap.toString(), dear.toString()], 'run in the router\'s order')
    const last = events[events.length - 1]
    assert.ok(last.type === 'receipt' && last.detail.outcome.provider.equals(cheap))
    assert.equal(market.listenerCount('quote:received'), 0, 'the flow stopped listening when it ended')
  })

  it('searches as before when no quote came within boardWaitMs', async () => {
    const provider = await peer()
    const r = new Requester()
    r.openMarket()
    r.rounds = [[nearby(provider)]]
    const events = await collect(submitJob(r.services(), SPEC, { boardWaitMs: 5, gatherMs: 10 }))
    assert.deepEqual(types(events), ['created', 'published', 'searched', 'ranked', 'receipt'])
    assert.equal(r.queries.length, 1)
    const candidate = candidateOf(r, provider)
    assert.equal(candidate?.provider?.peerId, provider)
    assert.equal(candidate.quote, undefined)
  })

  it('stops gathering once k providers quoted, without waiting out gatherMs', async () => {
    const [a, b, c] = [await peer(), await peer(), await peer()]
    const r = new Requester()
    r.openMarket()
    r.offers = [quoteFrom(a), quoteFrom(b), quoteFrom(c)]
    const events = await collect(submitJob(r.services(), SPEC, { k: 2, boardWaitMs: LONG, gatherMs: LONG, signal: guard() }))
    assert.deepEqual(types(events), ['created', 'published', 'quoted', 'quoted', 'ranked', 'receipt'])
    assert.deepEqual(r.ranked[0].candidates.map(c => c.peerId.toString()), [a.toString(), b.toString()])
    assert.equal(r.queries.length, 0)
  })

  it('ignores a quote for another job', async () => {
    const [found, other] = [await peer(), await peer()]
    const r = new Requester()
    r.openMarket()
    r.offers = [quoteFrom(other, 1, 3, new Uint8Array(16).fill(9))]
    r.rounds = [[nearby(found)]]
    const events = await collect(submitJob(r.services(), SPEC, { boardWaitMs: 20, gatherMs: 10 }))
    assert.deepEqual(types(events), ['created', 'published', 'searched', 'ranked', 'receipt'])
    assert.deepEqual(r.ranked[0].candidates.map(c => c.peerId.toString()), [found.toString()])
  })

  it('counts quotes the work service already holds for the job (offersFor)', async () => {
    const provider = await peer()
    const r = new Requester()
    r.openMarket()
    r.held = [quoteFrom(provider, 2, 5), quoteFrom(await peer(), 1, 1, new Uint8Array(16).fill(9))]
    const events = await collect(submitJob(r.services(), SPEC, { boardWaitMs: 1_000, gatherMs: 10 }))
    assert.deepEqual(types(events), ['created', 'published', 'quoted', 'ranked', 'receipt'])
    assert.equal(r.queries.length, 0)
    assert.equal(r.ranked[0].candidates.length, 1)
    assert.equal(candidateOf(r, provider)?.quote, r.held[0])
    assert.deepEqual(r.runs[0].order.map(String), [provider.toString()])
  })

  it('makes a provider both found and quoting one candidate, with its record and its quote', async () => {
    const [both, found] = [await peer(), await peer()]
    const r = new Requester()
    r.openMarket()
    r.held = [quoteFrom(both, 1, 4)]
    r.rounds = [[nearby(both, 2), nearby(found, 3)]]
    // boardWaitMs 0: the search starts at once, so it finds the provider that quoted too
    const events = await collect(submitJob(r.services(), SPEC, { boardWaitMs: 0, gatherMs: LONG, signal: guard() }))
    assert.deepEqual(types(events), ['created', 'published', 'quoted', 'searched', 'ranked', 'receipt'])
    assert.equal(r.ranked[0].candidates.length, 2)
    const candidate = candidateOf(r, both)
    assert.equal(candidate?.provider?.peerId, both)
    assert.equal(candidate.quote, r.held[0])
    // the quote is newer than the record: its free slots (4, the record says 1) and price (1, the record says 2) stand
    assert.equal(candidate.freeSlots, 4)
    assert.equal(candidate.price, 1)
    assert.equal(candidateOf(r, found)?.quote, undefined)
    assert.equal(candidateOf(r, found)?.freeSlots, 1)
  })

  it('leaves out held offers that have expired: they would be asked for again anyway', async () => {
    const [fresh, stale] = [await peer(), await peer()]
    const r = new Requester()
    r.openMarket()
    const expired = quoteFrom(stale, 1, 5)
    ;(expired.value as { expiresMs: number }).expiresMs = Date.now() - 1
    r.held = [quoteFrom(fresh, 2, 5), expired]
    const events = await collect(submitJob(r.services(), SPEC, { boardWaitMs: 1_000, gatherMs: 10 }))
    assert.deepEqual(types(events), ['created', 'published', 'quoted', 'ranked', 'receipt'])
    assert.deepEqual(r.ranked[0].candidates.map(c => c.peerId.toString()), [fresh.toString()])
  })

  it('yields one quoted event per provider, however many quotes it offers', async () => {
    const [a, b] = [await peer(), await peer()]
    const r = new Requester()
    r.openMarket()
    r.held = [quoteFrom(a, 2)]
    r.offers = [quoteFrom(a, 1), quoteFrom(b, 3)]
    const events = await collect(submitJob(r.services(), SPEC, { k: 2, boardWaitMs: LONG, gatherMs: LONG, signal: guard() }))
    const quoted = events.flatMap(e => e.type === 'quoted' ? [e.detail.quote] : [])
    assert.deepEqual(quoted.map(q => q.signer.toString()), [a.toString(), b.toString()])
    assert.equal(quoted[0], r.held[0], 'the first quote a provider offered stands')
    assert.equal(r.ranked[0].candidates.length, 2)
    assert.equal(candidateOf(r, a)?.quote, r.held[0])
  })

  it('stops listening for quotes when the consumer stops early', async () => {
    const r = new Requester()
    const market = r.openMarket()
    r.offers = [quoteFrom(await peer())]
    let listening = 0
    for await (const event of submitJob(r.services(), SPEC, { boardWaitMs: LONG, gatherMs: LONG, signal: guard() })) {
      if (event.type === 'quoted') {
        listening = market.listenerCount('quote:received')
        break
      }
    }
    assert.equal(listening, 1, 'it listened while gathering')
    assert.equal(market.listenerCount('quote:received'), 0)
    assert.equal(r.runs.length, 0)
  })

  it('stops listening for quotes when gathering throws', async () => {
    const r = new Requester()
    const market = r.openMarket()
    r.rounds = [Object.assign(new Error('bad geohash'), { name: 'InvalidQueryError' })]
    await assert.rejects(collect(submitJob(r.services(), SPEC, { boardWaitMs: 1, gatherMs: 10 })), { name: 'InvalidQueryError' })
    assert.equal(market.listenerCount('quote:received'), 0)

    r.rounds = [[]]
    await assert.rejects(collect(submitJob(r.services(), SPEC, { boardWaitMs: 1, gatherMs: 10, searchAttempts: 1 })), { name: 'NoProviderError' })
    assert.equal(market.listenerCount('quote:received'), 0)
  })

  it('searches at once when the job could not be published: no provider saw it on the board', async () => {
    const provider = await peer()
    const r = new Requester()
    r.openMarket()
    r.publishError = Object.assign(new Error('no pubsub'), { name: 'NotStartedError' })
    r.rounds = [[nearby(provider)]]
    const events = await collect(submitJob(r.services(), SPEC, { boardWaitMs: LONG, gatherMs: LONG, signal: guard() }))
    assert.deepEqual(types(events), ['created', 'publish-failed', 'searched', 'ranked', 'receipt'])
    assert.deepEqual(r.runs[0].order.map(String), [provider.toString()])
  })

  it('takes the job board\'s pacing of a burst (PublishRateLimitedError) as a soft failure: searches at once and runs', async () => {
    const provider = await peer()
    const r = new Requester()
    r.openMarket()
    r.publishError = new PublishRateLimitedError('peers accept 10 announcements at once, then one every 2 s; room again in 1.6 s', 1600)
    r.rounds = [[nearby(provider)]]
    const events = await collect(submitJob(r.services(), SPEC, { boardWaitMs: LONG, gatherMs: LONG, signal: guard() }))
    assert.deepEqual(types(events), ['created', 'publish-failed', 'searched', 'ranked', 'receipt'])
    const failed = events.find(e => e.type === 'publish-failed')
    assert.ok(failed?.type === 'publish-failed')
    assert.equal(failed.detail.error.name, 'PublishRateLimitedError')
  })
})

/** A provider's services: discovery that fails `failures` times, a job board to announce on, quotes recorded. */
class ProviderStub {
  readonly board = new TypedEventEmitter<JobBoardEvents>()
  readonly advertised: Offer[] = []
  readonly quoted: Array<SignedRecord<JobAnnouncement>> = []
  failures = 0
  quoteError?: Error

  services (): StartProviderServices {
    return {
      discovery: {
        advertise: async (offer: Offer) => {
          this.advertised.push(offer)
          if (this.failures-- > 0) throw new Error('no DHT peer')
          return { failed: [] } as unknown as AdvertiseResult
        }
      },
      jobs: this.board,
      work: {
        onJobAnnounced: async (record: SignedRecord<JobAnnouncement>) => {
          this.quoted.push(record)
          if (this.quoteError != null) throw this.quoteError
          return {} as SignedRecord<Quote>
        }
      } as unknown as StartProviderServices['work']
    }
  }

  announce (source: JobEntry['source']): void {
    this.board.safeDispatchEvent('job:announced', { detail: { record: {} as SignedRecord<JobAnnouncement>, key: 'ab', source } as unknown as JobEntry })
  }
}

const OFFER: Offer = { geohash: 'w21z7', price: { perUnit: 2, currency: 'USDC', unit: 'gpu-second' } }

describe('startProvider: the provider flow with stubbed services', () => {
  it('advertises again after a failure, reporting it, until the offer is out', async () => {
    const p = new ProviderStub()
    p.failures = 2
    const provider = startProvider(p.services(), OFFER, { retryDelayMs: 1 })
    const failures: Array<Error | undefined> = []
    provider.addEventListener('advertise:failed', (evt) => { failures.push(evt.detail.error) })
    await provider.advertised
    provider.stop()
    assert.equal(p.advertised.length, 3)
    assert.deepEqual(failures.map(e => e?.message), ['no DHT peer', 'no DHT peer'])
  })

  it('stop() ends the retries and rejects `advertised`', async () => {
    const p = new ProviderStub()
    p.failures = Infinity
    const provider = startProvider(p.services(), OFFER, { retryDelayMs: 1 })
    await new Promise(resolve => setTimeout(resolve, 20))
    provider.stop()
    await assert.rejects(provider.advertised, { name: 'AbortError' })
    const attempts = p.advertised.length
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.equal(p.advertised.length, attempts, 'no attempt after stop')
  })

  it('quotes jobs other peers announced, not its own, reports a failed quote, and stops quoting on stop()', async () => {
    const p = new ProviderStub()
    const provider = startProvider(p.services(), OFFER)
    await provider.advertised
    p.announce('local')
    p.announce('gossip')
    assert.equal(p.quoted.length, 1)

    p.quoteError = new Error('rate limited')
    const failed = new Promise<Error>(resolve => { provider.addEventListener('quote:failed', (evt) => { resolve(evt.detail.error) }, { once: true }) })
    p.announce('sync')
    assert.equal((await failed).message, 'rate limited')

    provider.stop()
    p.announce('gossip')
    assert.equal(p.quoted.length, 2)
  })
})

describe('busyRetryAfter: how long the next round waits for busy providers', () => {
  const failed = (...errors: Error[]): Error => Object.assign(new Error('all failed'), { name: 'AllCandidatesFailedError', errors })
  const busy = (retryAfterMs: number): Error => Object.assign(new Error('busy'), { name: 'ProviderBusyError', retryAfterMs })

  it('takes the longest wait a busy provider asked for that fits the limit', () => {
    assert.equal(busyRetryAfter(failed(busy(300), new Error('gone'), busy(1200)), 5000), 1200)
    assert.equal(busyRetryAfter(failed(busy(300), busy(9000)), 5000), 300, 'a wait past the time left is no use')
    assert.equal(busyRetryAfter(failed(busy(9000))), 9000, 'no limit without a timeout')
  })

  it('is 0 for errors without a wait', () => {
    assert.equal(busyRetryAfter(failed(new Error('gone')), 5000), 0)
    assert.equal(busyRetryAfter(new Error('plain'), 5000), 0)
    assert.equal(busyRetryAfter(undefined), 0)
  })
})
