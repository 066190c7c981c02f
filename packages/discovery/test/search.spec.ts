/**
 * The search's scheduling, on a scripted DHT whose lookups and record
 * fetches the test releases one by one: which lookups run at once, when a
 * verified result may come out, and where it says it was found.
 */

import assert from 'node:assert/strict'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Discovery, capabilityKey, searchLevels } from '../src/index.js'
import { capability, newKey, sign } from './nodes.js'
import type { DiscoveryInit, NearbyProvider, NearbyQuery } from '../src/index.js'
import type { AbortOptions, PeerId, PeerInfo } from '@libp2p/interface'
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
  readonly cells = new Map<string, { providers: PeerInfo[], gate?: Promise<void> }>()
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
      await until(options.signal, entry.gate)
    }
    if (entry != null && entry.providers.length > 0) {
      yield { name: 'PROVIDER', providers: entry.providers }
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

async function searcher (dht: ScriptedDht, providers: Provider[], fetchGates: Map<string, Promise<void>>, init: DiscoveryInit): Promise<Discovery> {
  const key = await newKey()
  const components: any = {
    peerId: peerIdFromPrivateKey(key),
    privateKey: key,
    registrar: { handle: async () => {}, unhandle: async () => {} },
    connectionManager: {},
    addressManager: { getAddresses: () => [] },
    logger: defaultLogger(),
    dht
  }
  const service = new Discovery(components, init)
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

  it('starts the next level while a finer lookup is still running, yet yields finer levels first with the finest cell found', async () => {
    const query: NearbyQuery = { geohash: 'xn76g', gpuClass: 'consumer-24g' }
    const dht = new ScriptedDht(query.geohash, [2, 1])
    const home = await provider('xn76u')
    const coarse = await provider('xp123')
    const homeLookup = gate()
    // `home` is listed at the world and at 'x' (which answer at once) and at its own cell 'xn' (which waits)
    dht.cells.set('xn', { providers: [home.info], gate: homeLookup.promise })
    dht.cells.set('x', { providers: [coarse.info, home.info] })
    dht.cells.set('', { providers: [home.info, coarse.info] })
    const service = await searcher(dht, [home, coarse], new Map(), { precisions: [2, 1] })
    services.push(service)

    const search = service.findNearby(query, { k: 5 })
    let settled = false
    const first = search.next().finally(() => { settled = true })
    await tick()
    // the coarser level and the world were looked up while the own cell still ran
    assert.ok(dht.started.includes('x'))
    assert.ok(dht.started.includes(''))
    assert.ok(!homeLookup.opened)
    // both providers are verified, but nothing from a coarser level comes before the own level is done
    assert.equal(settled, false)

    homeLookup.open()
    const results = [(await first).value, (await search.next()).value]
    assert.equal((await search.next()).done, true)
    assert.deepEqual(name(results, { home, coarse }), ['home', 'coarse'])
    assert.deepEqual(results[0]?.found, { capabilityClass: CLASS, cell: 'xn', precision: 2, home: true })
    assert.deepEqual(results[1]?.found, { capabilityClass: CLASS, cell: 'x', precision: 1, home: true })
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
    assert.deepEqual(dht.started.filter(c => c.length < 2), [])
    neighbours.open()
    const results = [(await first).value, (await search.next()).value]
    assert.deepEqual(name(results, { a, b }), ['a', 'b'])
    assert.equal((await search.next()).done, true)
    // the slots the neighbours freed did not go to the coarser level's lookups
    assert.deepEqual(dht.started.filter(c => c.length < 2), [])
  })
})
