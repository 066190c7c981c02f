/**
 * The search's scheduling, on a scripted DHT whose lookups and record
 * fetches the test releases one by one: which lookups run at once, when a
 * verified result may come out, and where it says it was found.
 */

import assert from 'node:assert/strict'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { GEOHASH_ALPHABET } from '../src/geohash.js'
import { Discovery, capabilityKey, searchLevels } from '../src/index.js'
import { capability, newKey, sign } from './nodes.js'
import type { DiscoveryComponents, DiscoveryInit, DiscoveryStats, NearbyProvider, NearbyQuery } from '../src/index.js'
import type { AbortOptions, Metrics, PeerId, PeerInfo } from '@libp2p/interface'
import type { CapabilityRecord, NetworkCoordinate, SignedRecord } from '@shoal/records'

const CLASS = 'gpu:consumer-24g'

/** A promise the test resolves when it decides. */
function gate (): { promise: Promise<void>, open(): void, opened: boolean } {
  let open = (): void => {}
  const g = {
    opened: false,
    promise: new Promise<void>(resolve => { open = resolve }),
    open: () => { g.opened = true; open() }
  }
  return g
}

async function until (signal: AbortSignal | undefined, ...waits: Array<Promise<void>>): Promise<void> {
  await Promise.race([...waits, new Promise<void>((_resolve, reject) => {
    signal?.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
  })])
}

/** Lists given providers under given cells; a cell's answer can wait for a gate. */
class ScriptedDht {
  readonly started: string[] = []
  /** cells whose lookup was aborted while it waited for its gate */
  readonly aborted: string[] = []
  /**
   * `holder`: the answer comes as a holder's reply (PEER_RESPONSE with its
   * whole list), as kad-dht gives it; `holders`: that many holders reply so;
   * `hold`: the lookup runs on after the answers until it opens
   */
  readonly cells = new Map<string, { providers: PeerInfo[], gate?: Promise<void>, holder?: boolean, holders?: number, hold?: Promise<void> }>()
  private readonly byKey = new Map<string, string>()

  constructor (query: string, precisions: number[]) {
    for (const level of searchLevels(query, precisions)) {
      for (const cell of level.cells) {
        this.byKey.set(capabilityKey(CLASS, cell).toString(), cell)
      }
    }
  }

  async * findProviders (key: { toString(): string }, options: AbortOptions = {}): AsyncGenerator<any> {
    const cell = this.byKey.get(key.toString()) ?? '?'
    this.started.push(cell)
    yield { name: 'SEND_QUERY' }
    const entry = this.cells.get(cell)
    if (entry?.gate != null) {
      await until(options.signal, entry.gate).catch(err => {
        this.aborted.push(cell)
        throw err
      })
    }
    const holders = entry?.holders ?? (entry?.holder === true ? 1 : 0)
    for (let i = 0; i < holders; i++) {
      yield { name: 'PEER_RESPONSE', from: `holder-${i}`, providers: entry?.providers ?? [], closer: [] }
      // as kad-dht: a PROVIDER event with those not given before
      if (i === 0 && entry != null && entry.providers.length > 0) {
        yield { name: 'PROVIDER', providers: entry.providers }
      }
    }
    if (holders === 0 && entry != null && entry.providers.length > 0) {
      yield { name: 'PROVIDER', providers: entry.providers }
    }
    if (entry?.hold != null) {
      await until(options.signal, entry.hold)
    }
  }

  async * provide (): AsyncGenerator<any> {}

  async cancelReprovide (): Promise<void> {}
}

interface Provider {
  id: PeerId
  info: PeerInfo
  record: SignedRecord<CapabilityRecord>
}

async function provider (geohash: string, coordinate?: NetworkCoordinate): Promise<Provider> {
  const key = await newKey()
  const id = peerIdFromPrivateKey(key)
  return { id, info: { id, multiaddrs: [] }, record: await sign(capability(key, { geohash, coordinate }), key) }
}

/** A scripted probe: the RTT it measures (undefined: the provider does not answer), released by an optional gate. */
interface Probe { rtt?: number, gate?: Promise<void> }

/** The components a searcher uses, stubbed: no network, the scripted DHT as `dht`. */
async function components (dht: ScriptedDht, extra: Partial<DiscoveryComponents> = {}): Promise<DiscoveryComponents> {
  const key = await newKey()
  const stubs = {
    peerId: peerIdFromPrivateKey(key),
    privateKey: key,
    registrar: { handle: async () => {}, unhandle: async () => {} },
    // no connection is ever open: every fetch counts as a cold dial
    connectionManager: { getConnections: () => [] },
    addressManager: { getAddresses: () => [] },
    logger: defaultLogger(),
    dht,
    ...extra
  }
  // the stubs have only what the service calls
  return stubs as unknown as DiscoveryComponents
}

async function searcher (dht: ScriptedDht, providers: Provider[], fetchGates: Map<string, Promise<void>>, init: DiscoveryInit, probes = new Map<string, Probe>(), probed: string[] = []): Promise<Discovery> {
  const service = new Discovery(await components(dht), init)
  await service.start()
  // records come from the script instead of the network
  service.fetchRecord = async (peer, options = {}) => {
    const id = 'id' in peer && !('toMultihash' in peer) ? peer.id : peer as PeerId
    const p = providers.find(p => p.id.equals(id))
    assert.ok(p != null)
    const g = fetchGates.get(id.toString())
    if (g != null) {
      await until(options.signal, g)
    }
    return p.record
  }
  // measurements too: a provider without a scripted probe does not answer
  service.measureRtt = async (peer, options = {}) => {
    probed.push(peer.toString())
    const probe = probes.get(peer.toString())
    if (probe?.gate != null) {
      await until(options.signal, probe.gate)
    }
    if (probe?.rtt == null) {
      throw new Error('no answer')
    }
    return probe.rtt
  }
  return service
}

function name (results: Array<NearbyProvider | undefined | void>, named: Record<string, Provider>): string[] {
  return results.map(r => Object.entries(named).find(([, p]) => r != null && p.id.equals(r.peerId))?.[0] ?? '?')
}

async function tick (n = 20): Promise<void> {
  for (let i = 0; i < n; i++) {
    await new Promise(resolve => setImmediate(resolve))
  }
}

describe('search scheduling (scripted DHT)', () => {
  let services: Discovery[] = []

  afterEach(async () => {
    await Promise.all(services.map(async s => s.stop()))
    services = []
  })

  it('looks up the world beside the finest level, yields a provider by where its record is, and holds coarser ones until the finer levels are done', async () => {
    const query: NearbyQuery = { geohash: 'xn76g', gpuClass: 'consumer-24g' }
    const dht = new ScriptedDht(query.geohash, [2, 1])
    const home = await provider('xn76u')
    // in 'x' but in none of the 9 cells around 'xn'
    const coarse = await provider('xb123')
    const homeLookup = gate()
    // `home` is listed at the world and at 'x' (which answer at once) and at its own cell 'xn' (which waits)
    dht.cells.set('xn', { providers: [home.info], gate: homeLookup.promise })
    dht.cells.set('x', { providers: [coarse.info, home.info] })
    dht.cells.set('', { providers: [home.info, coarse.info] })
    const service = await searcher(dht, [home, coarse], new Map(), { precisions: [2, 1] })
    services.push(service)

    const search = service.findNearby(query, { k: 5 })
    const next = search.next()
    // the world was looked up with the finest level, before the coarser level
    await tick()
    assert.deepEqual(dht.started.slice(0, 10), [...searchLevels(query.geohash, [2])[0].cells, ''])
    // `home` signed a location in the finest level: it comes while that level still runs
    const first = await next
    assert.ok(!homeLookup.opened)
    assert.deepEqual(name([first.value], { home, coarse }), ['home'])
    // found under the finest cell that listed it so far and holds its record
    assert.deepEqual(first.value?.found, { capabilityClass: CLASS, cell: 'x', precision: 1, home: true })

    // `coarse` is verified too, but nothing from a coarser level comes before the finest level is done
    let settled = false
    const second = search.next().finally(() => { settled = true })
    await tick()
    assert.equal(settled, false)
    homeLookup.open()
    assert.deepEqual(name([(await second).value], { home, coarse }), ['coarse'])
    assert.equal((await search.next()).done, true)
  })

  it('with a coordinate, yields a verified result once no running fetch can beat it, and holds one that a running fetch may beat', async () => {
    const query: NearbyQuery = { geohash: 'xn76g', gpuClass: 'consumer-24g', coordinate: { vec: [0, 0], height: 1, error: 0.2 } }
    const dht = new ScriptedDht(query.geohash, [1])
    const near = await provider('xn76u', { vec: [3, 4], height: 1, error: 0.2 })
    const slow = await provider('xn77b', { vec: [1, 0], height: 1, error: 0.2 })
    const far = await provider('xn76v', { vec: [900, 0], height: 1, error: 0.2 })
    dht.cells.set('x', { providers: [near.info, slow.info, far.info] })
    const slowFetch = gate()
    const service = await searcher(dht, [near, slow, far], new Map([[slow.id.toString(), slowFetch.promise]]), { precisions: [1], searchWorld: false })
    services.push(service)

    const search = service.findNearby(query, { k: 3 })
    // `near` (est. 7 ms) comes while `slow` is still being fetched
    const first = await search.next()
    assert.deepEqual(name([first.value], { near, slow, far }), ['near'])
    assert.equal(first.value?.estimatedRttMs, 7)
    assert.equal(slowFetch.opened, false)

    // `far` (est. 902 ms) is verified too, but `slow` may still be nearer: it waits
    slowFetch.open()
    const rest = [(await search.next()).value, (await search.next()).value]
    assert.deepEqual(name(rest, { near, slow, far }), ['slow', 'far'])
    assert.deepEqual(rest.map(r => r?.estimatedRttMs), [3, 902])
    assert.equal((await search.next()).done, true)
  })

  it('does not look up a coarser level once the finer levels hold k verified results', async () => {
    const query: NearbyQuery = { geohash: 'xn76g', gpuClass: 'consumer-24g', coordinate: { vec: [0, 0], height: 1, error: 0.2 } }
    const dht = new ScriptedDht(query.geohash, [2, 1])
    const a = await provider('xn76u', { vec: [3, 4], height: 1, error: 0.2 })
    const b = await provider('xn76v', { vec: [6, 8], height: 1, error: 0.2 })
    const neighbours = gate()
    dht.cells.set('xn', { providers: [a.info, b.info] })
    for (const cell of searchLevels(query.geohash, [2])[0].cells.slice(1)) {
      dht.cells.set(cell, { providers: [], gate: neighbours.promise })
    }
    const fetched: string[] = []
    const service = await searcher(dht, [a, b], new Map(), { precisions: [2, 1] })
    const fetchRecord = service.fetchRecord.bind(service)
    service.fetchRecord = async (peer, options) => {
      const record = await fetchRecord(peer, options)
      fetched.push(record.signer.toString())
      return record
    }
    services.push(service)

    const search = service.findNearby(query, { k: 2 })
    const first = search.next()
    await tick()
    assert.equal(fetched.length, 2)
    // the neighbours may still hold someone nearer: nothing yet, and the coarser level waits for a slot
    // (the world, looked up beside the finest level, listed nobody)
    assert.deepEqual(dht.started.filter(c => c.length < 2), [''])
    neighbours.open()
    const results = [(await first).value, (await search.next()).value]
    assert.deepEqual(name(results, { a, b }), ['a', 'b'])
    assert.equal((await search.next()).done, true)
    // the slots the neighbours freed did not go to the coarser level's lookups
    assert.deepEqual(dht.started.filter(c => c.length < 2), [''])
  })

  describe('newcomer share (init.standing)', () => {
    /** one cell listing `newcomers` fresh providers, then `established` ones whose fetches wait for a gate */
    async function crowd (newcomers: number, established: number, init: DiscoveryInit & { withStanding?: boolean }): Promise<{ service: Discovery, fresh: Provider[], known: Provider[], slow: ReturnType<typeof gate> }> {
      const query = 'xn76g'
      const dht = new ScriptedDht(query, [1])
      const fresh = await Promise.all(Array.from({ length: newcomers }, async () => provider('xn76u')))
      const known = await Promise.all(Array.from({ length: established }, async () => provider('xn76v')))
      dht.cells.set('x', { providers: [...fresh, ...known].map(p => p.info) })
      const slow = gate()
      const standing = (peer: PeerId): number => known.some(k => k.id.equals(peer)) ? 3 : 0
      const { withStanding, ...rest } = init
      const service = await searcher(dht, [...fresh, ...known], new Map(known.map(k => [k.id.toString(), slow.promise])), { precisions: [1], searchWorld: false, random: () => 0, ...rest, ...(withStanding === true ? { standing } : {}) })
      services.push(service)
      return { service, fresh, known, slow }
    }

    /** the first `before` results, whether the next one waited for the established providers' fetches, and all results */
    async function firstResults (service: Discovery, k: number, slow: { open(): void }, before: number): Promise<{ early: NearbyProvider[], heldBack: boolean, all: NearbyProvider[] }> {
      const search = service.findNearby({ geohash: 'xn76g', gpuClass: 'consumer-24g' }, { k })
      const early: NearbyProvider[] = []
      for (let i = 0; i < before; i++) {
        const next = await search.next()
        if (next.done === true) break
        early.push(next.value)
      }
      let settled = false
      const pending = search.next().finally(() => { settled = true })
      await tick()
      const heldBack = !settled
      slow.open()
      const all = [...early]
      for (let next = await pending; next.done !== true; next = await search.next()) {
        all.push(next.value)
      }
      return { early, heldBack, all }
    }

    it('lets at most ceil(share x k) newcomers take the k places while established providers are being examined', async () => {
      const { service, known, slow } = await crowd(6, 2, { withStanding: true, newcomerShare: 0.5 })
      const { early, heldBack, all } = await firstResults(service, 4, slow, 2)
      const isKnown = (r: NearbyProvider): boolean => known.some(k => k.id.equals(r.peerId))
      assert.equal(early.filter(isKnown).length, 0, 'two newcomers come at once')
      assert.ok(heldBack, 'the other newcomers wait while the established providers are examined')
      assert.equal(all.length, 4)
      assert.equal(all.filter(isKnown).length, 2, 'both established providers get their places')
    })

    it('fills the rest with newcomers once fewer established providers exist than places', async () => {
      const { service, known, slow } = await crowd(6, 1, { withStanding: true, newcomerShare: 0.25 })
      const { heldBack, all } = await firstResults(service, 4, slow, 1)
      assert.ok(heldBack, 'past the quota, newcomers wait while the established provider is examined')
      assert.equal(all.length, 4)
      assert.equal(all.filter(r => known.some(k => k.id.equals(r.peerId))).length, 1)
    })

    it('without standing, newcomers take every place they reach first', async () => {
      const { service, known, slow } = await crowd(6, 2, {})
      const search = service.findNearby({ geohash: 'xn76g', gpuClass: 'consumer-24g' }, { k: 4 })
      const results: NearbyProvider[] = []
      for await (const r of search) results.push(r)
      slow.open()
      assert.equal(results.length, 4)
      assert.equal(results.filter(r => known.some(k => k.id.equals(r.peerId))).length, 0)
    })
  })

  for (const holder of [true, false]) {
    it(`with a coordinate, ${holder ? 'yields while fine cells still run once a holder listed the world completely' : 'waits for the fine cells when the world was not listed by a holder'}`, async () => {
      const query: NearbyQuery = { geohash: 'xn76g', gpuClass: 'consumer-24g', coordinate: { vec: [0, 0], height: 1, error: 0.2 } }
      const dht = new ScriptedDht(query.geohash, [1])
      const a = await provider('xn76u', { vec: [3, 4], height: 1, error: 0.2 })
      const b = await provider('u4pru', { vec: [6, 8], height: 1, error: 0.2 })
      const fine = gate()
      for (const cell of searchLevels(query.geohash, [1])[0].cells) {
        dht.cells.set(cell, { providers: [], gate: fine.promise })
      }
      dht.cells.set('', { providers: [a.info, b.info], holder })
      // precision 0: providers advertise at the world too, so its listing holds everyone
      const service = await searcher(dht, [a, b], new Map(), { precisions: [0, 1] })
      services.push(service)

      const search = service.findNearby(query, { k: 2 })
      let settled = false
      const first = search.next().finally(() => { settled = true })
      await tick()
      // the empty fine cells (RTT floor 0 for the query's own) could still list someone nearer, unless the world list is complete
      assert.equal(settled, holder)
      fine.open()
      const results = [(await first).value, (await search.next()).value]
      assert.deepEqual(name(results, { a, b }), ['a', 'b'])
      assert.equal((await search.next()).done, true)
    })
  }

  describe('complete listings', () => {
    const query: NearbyQuery = { geohash: 'xn76g', gpuClass: 'consumer-24g' }

    /** the world lists a and b (providers advertise there: precision 0); the fine cells never answer; no lookup timeout within the test's */
    async function world (entry: { holders: number, hold?: Promise<void> }): Promise<{ dht: ScriptedDht, service: Discovery, named: Record<string, Provider> }> {
      const dht = new ScriptedDht(query.geohash, [1])
      const a = await provider('xn76u')
      const b = await provider('u4pru')
      for (const cell of searchLevels(query.geohash, [1])[0].cells) {
        dht.cells.set(cell, { providers: [], gate: new Promise(() => {}) })
      }
      dht.cells.set('', { providers: [a.info, b.info], ...entry })
      const service = await searcher(dht, [a, b], new Map(), { precisions: [0, 1], lookupTimeoutMs: 60_000 })
      services.push(service)
      return { dht, service, named: { a, b } }
    }

    async function all (search: AsyncIterable<NearbyProvider>): Promise<NearbyProvider[]> {
      const results: NearbyProvider[] = []
      for await (const result of search) {
        results.push(result)
      }
      return results
    }

    it('end the lookups of the cells inside once the listing cell\'s own lookup has ended, and the search with them', async () => {
      const { dht, service, named } = await world({ holders: 1 })
      // k beyond what exists: the search ends only when every lookup has
      const results = await all(service.findNearby(query, { k: 3 }))
      assert.deepEqual(name(results, named).sort(), ['a', 'b'])
      assert.ok(dht.started.includes(''))
      assert.deepEqual([...dht.aborted].sort(), dht.started.filter(c => c !== '').sort())
    })

    it('end them while the listing cell\'s lookup runs only once a second holder listed it so', async () => {
      const hold = gate()
      const { dht, service, named } = await world({ holders: 2, hold: hold.promise })
      const search = all(service.findNearby(query, { k: 3 }))
      await tick(50)
      assert.ok(dht.started.length > 1)
      assert.deepEqual([...dht.aborted].sort(), dht.started.filter(c => c !== '').sort())
      hold.open()
      assert.deepEqual(name(await search, named).sort(), ['a', 'b'])
    })

    it('from one holder while the lookup runs, do not end them: a short list cannot hide what finer cells list', async () => {
      const hold = gate()
      const { dht, service, named } = await world({ holders: 1, hold: hold.promise })
      const search = all(service.findNearby(query, { k: 3 }))
      await tick(50)
      assert.ok(dht.started.length > 1)
      assert.deepEqual(dht.aborted, [])
      hold.open()
      assert.deepEqual(name(await search, named).sort(), ['a', 'b'])
      assert.deepEqual([...dht.aborted].sort(), dht.started.filter(c => c !== '').sort())
    })

    it('of the world, when providers do not advertise there, end nothing: a located provider is not in it', async () => {
      const dht = new ScriptedDht(query.geohash, [1])
      const nowhere = await provider('')
      const located = await provider('xn76u')
      const fine = gate()
      for (const cell of searchLevels(query.geohash, [1])[0].cells) {
        dht.cells.set(cell, { providers: [], gate: fine.promise })
      }
      dht.cells.set('x', { providers: [located.info], gate: fine.promise })
      dht.cells.set('', { providers: [nowhere.info], holders: 2 })
      const service = await searcher(dht, [nowhere, located], new Map(), { precisions: [1], lookupTimeoutMs: 60_000 })
      services.push(service)
      const search = all(service.findNearby(query, { k: 3 }))
      await tick(50)
      assert.deepEqual(dht.aborted, [])
      fine.open()
      assert.deepEqual(name(await search, { nowhere, located }), ['located', 'nowhere'])
    })
  })

  describe('a regionless query', () => {
    it('looks up every cell of the coarsest precision and the world, and finds a provider wherever it is', async () => {
      const query: NearbyQuery = { geohash: '', gpuClass: 'consumer-24g' }
      const dht = new ScriptedDht(query.geohash, [3, 2, 1])
      const located = await provider('u33dc')
      const nowhere = await provider('')
      dht.cells.set('u', { providers: [located.info] })
      dht.cells.set('', { providers: [nowhere.info] })
      const service = await searcher(dht, [located, nowhere], new Map(), { precisions: [3, 2, 1], lookupConcurrency: 4 })
      services.push(service)
      const results = []
      for await (const result of service.findNearby(query, { k: 5 })) {
        results.push(result)
      }
      assert.deepEqual(name(results, { located, nowhere }), ['located', 'nowhere'])
      assert.deepEqual(results[0].found, { capabilityClass: CLASS, cell: 'u', precision: 1, home: false })
      assert.deepEqual([...dht.started].sort(), ['', ...GEOHASH_ALPHABET])
    })
  })

  describe('confirmation by measurement', () => {
    const query: NearbyQuery = { geohash: 'xn76g', gpuClass: 'consumer-24g', coordinate: { vec: [0, 0], height: 1, error: 0.2 } }
    const at = (x: number): NetworkCoordinate => ({ vec: [x, 0], height: 1, error: 0.2 })

    it('measures the best candidates by estimate, waits for a probe that may beat the best measured, and yields by measured RTT', async () => {
      const dht = new ScriptedDht(query.geohash, [1])
      // estimates 5, 10, 20 and 900 ms
      const a = await provider('xn76u', at(3))
      const b = await provider('xn76v', at(8))
      const c = await provider('xn77b', at(18))
      const d = await provider('xn76s', at(898))
      dht.cells.set('x', { providers: [a.info, b.info, c.info, d.info] })
      const aProbe = gate()
      const probed: string[] = []
      const probes = new Map<string, Probe>([
        [a.id.toString(), { rtt: 50, gate: aProbe.promise }],
        [b.id.toString(), { rtt: 8 }],
        [c.id.toString(), { rtt: 12 }],
        [d.id.toString(), { rtt: 1 }]
      ])
      // `d` arrives last: 3 verified ones have better estimates, it is not measured
      const dFetch = gate()
      const service = await searcher(dht, [a, b, c, d], new Map([[d.id.toString(), dFetch.promise]]), { precisions: [1], searchWorld: false, confirm: { candidates: 3 } }, probes, probed)
      services.push(service)

      const measured = new Map<string, { rttMs: number, estimatedRttMs?: number }>()
      const search = service.findNearby(query, {
        k: 2,
        onProgress: (evt) => {
          if (evt.type === 'shoal:discovery:measured') {
            measured.set(evt.detail.peerId.toString(), evt.detail)
          }
        }
      })
      let settled = false
      const first = search.next().finally(() => { settled = true })
      await tick()
      dFetch.open()
      await tick()
      // `a` (estimate 5 ms) could still measure below `b`'s 8 ms
      assert.equal(settled, false)
      aProbe.open()
      const results = [(await first).value, (await search.next()).value]
      assert.deepEqual(name(results, { a, b, c, d }), ['b', 'c'])
      assert.deepEqual(results.map(r => r?.measuredRttMs), [8, 12])
      assert.equal((await search.next()).done, true)
      // only the 3 best by estimate were measured
      assert.equal(probed.includes(d.id.toString()), false)
      assert.equal(probed.length, 3)
      // every measured candidate is reported, `a` too, though it is no result
      const byName = Object.fromEntries(Object.entries({ a, b, c }).map(([n, p]) => [n, measured.get(p.id.toString())?.rttMs]))
      assert.deepEqual(byName, { a: 50, b: 8, c: 12 })
      assert.equal(measured.size, 3)
      assert.ok([...measured.values()].every(m => m.estimatedRttMs != null && m.estimatedRttMs < 25))
    })

    // `a`: estimate 5 ms, measures 50; `b`: estimate 10, measures 8. While `a` is measured the
    // requester's loop is stuck (busy) or not: 45 ms above 1.5 x its estimate is then its own CPU or not
    for (const { label, busyMs, trustRatio, expected } of [
      { label: 'on a calm loop, believes a measurement far above the estimate', busyMs: 0, trustRatio: undefined, expected: ['b', 'a'] },
      { label: 'on a busy loop, believes a measurement above trustRatio x the estimate only beyond the lag seen', busyMs: 120, trustRatio: undefined, expected: ['a', 'b'] },
      { label: 'with trustRatio Infinity, believes a measurement whole on a busy loop too', busyMs: 120, trustRatio: Infinity, expected: ['b', 'a'] }
    ]) {
      it(label, async () => {
        const dht = new ScriptedDht(query.geohash, [1])
        const a = await provider('xn76u', at(3))
        const b = await provider('xn76v', at(8))
        dht.cells.set('x', { providers: [a.info, b.info] })
        const aProbe = gate()
        const probes = new Map<string, Probe>([[a.id.toString(), { rtt: 50, gate: aProbe.promise }], [b.id.toString(), { rtt: 8 }]])
        const service = await searcher(dht, [a, b], new Map(), { precisions: [1], searchWorld: false, confirm: { trustRatio } }, probes)
        services.push(service)

        const search = service.findNearby(query, { k: 2 })
        const first = search.next()
        await tick()
        const until = performance.now() + busyMs
        while (performance.now() < until) {
          // the requester's CPU is busy
        }
        // the loop-lag timer runs (late, after a busy stretch)
        await new Promise(resolve => setTimeout(resolve, 50))
        aProbe.open()
        const results = [(await first).value, (await search.next()).value]
        assert.deepEqual(name(results, { a, b }), expected)
        assert.deepEqual(results.map(r => r?.measuredRttMs), expected.map(n => n === 'a' ? 50 : 8))
      })
    }

    it('yields a measured result while a candidate that cannot plausibly beat it is still measured', async () => {
      const dht = new ScriptedDht(query.geohash, [1])
      const near = await provider('xn76u', at(3))
      const far = await provider('xn76v', at(898))
      dht.cells.set('x', { providers: [near.info, far.info] })
      const farProbe = gate()
      const probes = new Map<string, Probe>([
        [near.id.toString(), { rtt: 4 }],
        [far.id.toString(), { rtt: 1, gate: farProbe.promise }]
      ])
      const service = await searcher(dht, [near, far], new Map(), { precisions: [1], searchWorld: false }, probes)
      services.push(service)

      const results = []
      for await (const r of service.findNearby(query, { k: 1 })) {
        results.push(r)
      }
      assert.equal(farProbe.opened, false)
      assert.deepEqual(name(results, { near, far }), ['near'])
      assert.equal(results[0].measuredRttMs, 4)
    })

    it('ranks a provider that does not answer probes after the measured ones, by its estimate, without dropping it', async () => {
      const dht = new ScriptedDht(query.geohash, [1])
      const silent = await provider('xn76u', at(3))
      const b = await provider('xn76v', at(8))
      const c = await provider('xn77b', at(18))
      const d = await provider('xn76s', at(898))
      dht.cells.set('x', { providers: [silent.info, b.info, c.info, d.info] })
      const probes = new Map<string, Probe>([
        [b.id.toString(), { rtt: 30 }],
        [c.id.toString(), { rtt: 12 }]
      ])
      const service = await searcher(dht, [silent, b, c, d], new Map(), { precisions: [1], searchWorld: false, confirm: { candidates: 3 } }, probes)
      services.push(service)

      const results = []
      for await (const r of service.findNearby(query, { k: 4 })) {
        results.push(r)
      }
      assert.deepEqual(name(results, { silent, b, c, d }), ['c', 'b', 'silent', 'd'])
      assert.deepEqual(results.map(r => r.measuredRttMs), [12, 30, undefined, undefined])
    })

    it('refuses bad search options with InvalidQueryError before any lookup', async () => {
      const dht = new ScriptedDht(query.geohash, [1])
      const service = await searcher(dht, [], new Map(), { precisions: [1], searchWorld: false })
      services.push(service)
      for (const options of [{ k: 0 }, { maxFetches: 1.5 }, { confirm: { candidates: -1 } }, { confirm: { probes: 0 } }, { confirm: { trustRatio: 0.5 } }, { confirm: { trustRatio: NaN } }]) {
        await assert.rejects(service.findNearby(query, options).next(), { name: 'InvalidQueryError' }, JSON.stringify(options))
      }
      assert.deepEqual(dht.started, [])
    })

    it('ranks by estimate only with confirm.candidates 0', async () => {
      const dht = new ScriptedDht(query.geohash, [1])
      const a = await provider('xn76u', at(3))
      const b = await provider('xn76v', at(8))
      dht.cells.set('x', { providers: [a.info, b.info] })
      const probed: string[] = []
      const probes = new Map<string, Probe>([[a.id.toString(), { rtt: 30 }], [b.id.toString(), { rtt: 2 }]])
      const service = await searcher(dht, [a, b], new Map(), { precisions: [1], searchWorld: false }, probes, probed)
      services.push(service)

      const results = []
      for await (const r of service.findNearby(query, { k: 2, confirm: { candidates: 0 } })) {
        results.push(r)
      }
      assert.deepEqual(name(results, { a, b }), ['a', 'b'])
      assert.deepEqual(probed, [])
    })
  })

  it('reports its counters through components.metrics, read from its stats', async () => {
    const query: NearbyQuery = { geohash: 'xn76g', gpuClass: 'consumer-24g' }
    const dht = new ScriptedDht(query.geohash, [1])
    const a = await provider('xn76u')
    dht.cells.set('x', { providers: [a.info] })
    const groups = new Map<string, () => Record<string, number>>()
    const metrics = {
      registerCounterGroup: (name: string, options: { calculate: () => Record<string, number> }) => { groups.set(name, options.calculate) }
    }
    const service = new Discovery(await components(dht, { metrics: metrics as unknown as Metrics }), { precisions: [1], searchWorld: false })
    await service.start()
    services.push(service)
    service.fetchRecord = async () => a.record

    for await (const result of service.findNearby(query, { k: 1 })) {
      assert.ok(result.peerId.equals(a.id))
    }
    const counters = groups.get('shoal_discovery_operations_total')?.()
    const expected: DiscoveryStats = { ...service.stats }
    assert.deepEqual(counters, expected)
    assert.ok((counters?.lookups ?? 0) > 0)
  })
})
