import assert from 'node:assert/strict'
import { identify } from '@libp2p/identify'
import { PING_PROTOCOL, ping } from '@libp2p/ping'
import { RecordEnvelope } from '@libp2p/peer-record'
import { lpStream } from '@libp2p/utils'
import { CapabilityRecord, CapabilityRecordType } from '@shoal/records'
import { createLibp2p } from 'libp2p'
import { GEOHASH_ALPHABET } from '../src/geohash.js'
import { CAPABILITY_PROTOCOL, capabilityKey, discovery } from '../src/index.js'
import { capability, connect, createDhtNode, createDiscoveryNode, newKey, sign } from './nodes.js'
import type { DhtNode, DiscoveryNode } from './nodes.js'
import type { DiscoveryComponents, DiscoveryInit, FindNearbyOptions, FindNearbyProgressEvents, NearbyProvider, NearbyQuery, Offer, SearchSummary } from '../src/index.js'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Connection, Libp2p, NewStreamOptions, PrivateKey, Stream } from '@libp2p/interface'

const RTX_4090 = { model: 'RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 1 }
const USDC = (perUnit: number): Offer['price'] => ({ perUnit, currency: 'USDC', unit: 'gpu-second' })

interface Search {
  results: NearbyProvider[]
  summary: SearchSummary
  lookups: Array<{ cell: string, precision: number, entries: number, examined: number }>
  rejections: string[]
  /** every RTT reported for each measured candidate, in order */
  measured: Map<string, number[]>
}

async function search (node: DiscoveryNode, query: NearbyQuery, options: FindNearbyOptions = {}): Promise<Search> {
  const out: Omit<Search, 'summary'> = { results: [], lookups: [], rejections: [], measured: new Map() }
  let summary: SearchSummary | undefined
  const onProgress = (evt: FindNearbyProgressEvents): void => {
    options.onProgress?.(evt)
    if (evt.type === 'shoal:discovery:done') {
      summary = evt.detail
    } else if (evt.type === 'shoal:discovery:lookup') {
      out.lookups.push(evt.detail)
    } else if (evt.type === 'shoal:discovery:rejected') {
      out.rejections.push(evt.detail.error.name)
    } else if (evt.type === 'shoal:discovery:measured') {
      const id = evt.detail.peerId.toString()
      out.measured.set(id, [...out.measured.get(id) ?? [], evt.detail.rttMs])
    }
  }
  for await (const result of node.services.discovery.findNearby(query, { ...options, onProgress })) {
    out.results.push(result)
  }
  assert.ok(summary != null, 'a search reports its summary when it ends')
  return { ...out, summary }
}

function ids (results: NearbyProvider[]): string[] {
  return results.map(r => r.peerId.toString()).sort()
}

/**
 * Wait `ms` by `performance.now()`, which times the samples: a timer may
 * fire up to a millisecond early by that clock (libuv counts from the
 * start of the loop's turn), and a delayed peer must never measure below
 * its delay.
 */
async function sleepAtLeast (ms: number): Promise<void> {
  const until = performance.now() + ms
  for (let left = ms; left > 0; left = until - performance.now()) {
    await new Promise(resolve => setTimeout(resolve, Math.ceil(left)))
  }
}

/**
 * Make every stream a node's discovery service opens to a peer take
 * `delays.get(peer)` ms longer to open, as a longer path would (the record's
 * stream and the ping stream's opening are both RTT samples): the service is
 * given a connection manager whose `openStream` waits after opening. Not
 * with `node.use()` middleware: libp2p adds the protocol handler to a
 * protocol's middleware list on every inbound stream, so once a peer had
 * pinged the node, its own ping handler ran on the node's outbound ping
 * streams and waited for a ping that never came.
 */
function delayStreams (delays: Map<string, number>): (components: DiscoveryComponents) => DiscoveryComponents {
  return (components) => {
    const manager = components.connectionManager
    const openStream: ConnectionManager['openStream'] = async (peer, protocol, options) => {
      const stream = await manager.openStream(peer, protocol, options)
      await sleepAtLeast(delays.get(peer.toString()) ?? 0)
      return stream
    }
    // streams opened on a connection already open (as discovery opens them) are delayed the same way
    const delayed = (connection: Connection): Connection => new Proxy(connection, {
      get: (target, prop) => {
        if (prop === 'newStream') {
          return async (protocols: string | string[], options?: NewStreamOptions) => {
            const stream = await target.newStream(protocols, options)
            await sleepAtLeast(delays.get(target.remotePeer.toString()) ?? 0)
            return stream
          }
        }
        const value: unknown = Reflect.get(target, prop)
        return typeof value === 'function' ? value.bind(target) : value
      }
    })
    const getConnections: ConnectionManager['getConnections'] = (peer) => manager.getConnections(peer).map(delayed)
    const connectionManager = new Proxy(manager, {
      get: (target, prop) => {
        if (prop === 'openStream') {
          return openStream
        }
        if (prop === 'getConnections') {
          return getConnections
        }
        const value: unknown = Reflect.get(target, prop)
        return typeof value === 'function' ? value.bind(target) : value
      }
    })
    return new Proxy(components, {
      get: (target, prop, receiver) => prop === 'connectionManager' ? connectionManager : Reflect.get(target, prop, receiver)
    })
  }
}

function idsOf (...nodes: Libp2p[]): string[] {
  return nodes.map(n => n.peerId.toString()).sort()
}

describe('@shoal/discovery on real nodes', function () {
  this.timeout(60_000)

  let nodes: Libp2p[] = []

  async function discoveryNodes (n: number, init: DiscoveryInit = {}, wrap?: (components: DiscoveryComponents) => DiscoveryComponents): Promise<DiscoveryNode[]> {
    const created = await Promise.all(Array.from({ length: n }, async () => createDiscoveryNode(init, undefined, wrap)))
    nodes.push(...created)
    return created
  }

  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  it('shares one fetch of a provider\'s record among searches asking for it at once, past the protocol\'s stream limit', async () => {
    const [searcher, provider, ...rest] = await discoveryNodes(4)
    await connect([searcher, provider, ...rest])
    await provider.services.discovery.advertise({ geohash: 'xn76u', gpus: [RTX_4090], price: USDC(10), concurrency: 2 })
    const records = await Promise.all(Array.from({ length: 12 }, async () => searcher.services.discovery.fetchRecord(provider.peerId)))
    assert.ok(records.every(r => r === records[0]), 'one fetch answered them all')
    const gaveUp = new AbortController()
    gaveUp.abort(new Error('gave up'))
    await assert.rejects(searcher.services.discovery.fetchRecord(provider.peerId, { signal: gaveUp.signal }), { message: 'gave up' })
  })

  it('fails clearly at start on a node without a DHT', async () => {
    await assert.rejects(createLibp2p({
      // @ts-expect-error the types refuse a node without a DHT already; this is what JavaScript callers get
      services: { identify: identify(), ping: ping(), discovery: discovery() }
    }), (err: Error) => err.name === 'UnmetServiceDependenciesError' && /kad-dht/.test(err.message))
  })

  it('advertises, then finds nearby providers first, with where and why', async () => {
    const [searcher, tokyo, tokyoDear, nextDoor, seoul, camera, ...rest] = await discoveryNodes(9)
    await connect([searcher, tokyo, tokyoDear, nextDoor, seoul, camera, ...rest])

    const advertised = await tokyo.services.discovery.advertise({ geohash: 'xn76u', gpus: [RTX_4090], price: USDC(10) })
    // one class at precisions 1, 2, 3: three provide operations, each reaching DHT peers
    assert.deepEqual(advertised.keys.map(k => k.text), ['/shoal/cap/1/gpu:consumer-24g/xn7', '/shoal/cap/1/gpu:consumer-24g/xn', '/shoal/cap/1/gpu:consumer-24g/x'])
    assert.equal(advertised.provided.length, 3)
    assert.deepEqual(advertised.failed, [])
    assert.ok(advertised.messages > 0)
    await tokyoDear.services.discovery.advertise({ geohash: 'xn76v', gpus: [RTX_4090], price: USDC(50) })
    await nextDoor.services.discovery.advertise({ geohash: 'xne1', gpus: [RTX_4090], price: USDC(12) })
    await seoul.services.discovery.advertise({ geohash: 'wydm9', gpus: [RTX_4090], price: USDC(8) })
    await camera.services.discovery.advertise({ geohash: 'xn76x', sensors: ['video'], price: { perUnit: 1, currency: 'USDC', unit: 'footage-second' } })

    const announced: string[] = []
    searcher.services.discovery.addEventListener('peer', evt => { announced.push(evt.detail.id.toString()) })

    const gpus = await search(searcher, { geohash: 'xn76g', gpuClass: 'consumer-24g', minVramMib: 16384, maxPrice: { perUnit: 20, currency: 'USDC' } }, { k: 3 })
    // on failure, say what the search saw: a slow host once cut this search short
    assert.equal(gpus.results.length, 3, `search summary ${JSON.stringify(gpus.summary)}, rejections ${gpus.rejections.join(', ')}, lookups ${gpus.lookups.length}`)
    // the own cell and its neighbours come first, at the finest precision
    assert.deepEqual(ids(gpus.results.slice(0, 2)), idsOf(tokyo, nextDoor))
    const atTokyo = gpus.results.find(r => r.peerId.equals(tokyo.peerId))
    assert.deepEqual(atTokyo?.found, { capabilityClass: 'gpu:consumer-24g', cell: 'xn7', precision: 3, home: true })
    const atNextDoor = gpus.results.find(r => r.peerId.equals(nextDoor.peerId))
    assert.deepEqual(atNextDoor?.found, { capabilityClass: 'gpu:consumer-24g', cell: 'xne', precision: 3, home: false })
    // then, widening, Seoul in a coarser cell
    assert.ok(gpus.results[2].peerId.equals(seoul.peerId))
    assert.ok(gpus.results[2].found.precision < 3)
    assert.deepEqual(atTokyo?.reasons, ['gpu consumer-24g x1, 24576 MiB >= 16384', 'price 10 USDC/gpu-second <= 20'])
    // the expensive provider next door was examined but never offered
    assert.ok(!ids(gpus.results).includes(tokyoDear.peerId.toString()))
    assert.ok(atTokyo != null && atTokyo.multiaddrs.length > 0)
    assert.equal(atTokyo?.record.value.geohash, 'xn76u')
    // its record's stream timed one round trip (on loopback: well under the fetch, dial included)
    assert.ok(atTokyo?.measuredRttMs != null && atTokyo.measuredRttMs >= 0 && atTokyo.measuredRttMs <= atTokyo.fetchMs)
    // the node's peer discovery saw them too
    assert.deepEqual([...announced].sort(), ids(gpus.results))

    // capture peers are found the same way, and a search that cannot fill k is exhausted down to the world cell
    const video = await search(searcher, { geohash: 'xn76g', sensors: ['video'] }, { k: 5 })
    assert.deepEqual(ids(video.results), idsOf(camera))
    assert.equal(video.results[0].found.cell, 'xn7')
    assert.equal(video.summary.found, 1)
    assert.equal(video.summary.lastPrecision, 0)
  })

  it('finds a located provider from a searcher with no geohash, beside one that reveals no location', async () => {
    const [searcher, provider, nowhere, ...rest] = await discoveryNodes(6)
    await connect([searcher, provider, nowhere, ...rest])
    const located = await provider.services.discovery.advertise({ geohash: 'u33d', gpus: [RTX_4090], price: USDC(10) })
    // the provider's DHT cost is what it was: one provide per precision, none in the world cell
    assert.deepEqual(located.keys.map(k => k.cell), ['u33', 'u3', 'u'])
    await nowhere.services.discovery.advertise({ geohash: '', gpus: [RTX_4090], price: USDC(10) })

    const found = await search(searcher, { geohash: '', gpuClass: 'consumer-24g' }, { k: 5 })
    assert.deepEqual(ids(found.results), idsOf(provider, nowhere), `search summary ${JSON.stringify(found.summary)}, lookups ${found.lookups.length}`)
    assert.deepEqual(found.results.find(r => r.peerId.equals(provider.peerId))?.found, { capabilityClass: 'gpu:consumer-24g', cell: 'u', precision: 1, home: false })
    assert.deepEqual(found.results.find(r => r.peerId.equals(nowhere.peerId))?.found.cell, '')
    // the world and the 32 cells of one character, nothing finer
    assert.deepEqual(found.lookups.map(l => l.cell).sort(), ['', ...GEOHASH_ALPHABET])
  })

  it('orders each level by estimated RTT when the query has a coordinate', async () => {
    const [searcher, near, far, ...rest] = await discoveryNodes(6)
    await connect([searcher, near, far, ...rest])
    await far.services.discovery.advertise({ geohash: 'xn76u', gpus: [RTX_4090], price: USDC(10), coordinate: { vec: [90, 0], height: 1, error: 0.2 } })
    await near.services.discovery.advertise({ geohash: 'xn76v', gpus: [RTX_4090], price: USDC(10), coordinate: { vec: [3, 4], height: 1, error: 0.2 } })

    // on loopback every RTT is about the same: rank by the estimate alone
    const found = await search(searcher, { geohash: 'xn76g', gpuClass: 'consumer-24g', coordinate: { vec: [0, 0], height: 1, error: 0.2 } }, { k: 2, confirm: { candidates: 0 } })
    assert.deepEqual(found.results.map(r => r.peerId.toString()), [near.peerId.toString(), far.peerId.toString()])
    assert.deepEqual(found.results.map(r => r.estimatedRttMs), [7, 92])
  })

  it('confirms candidates by measuring them: a provider nearer by measurement comes before one nearer by estimate only', async () => {
    // only the searcher searches, so only its streams are delayed
    const delays = new Map<string, number>()
    const [searcher, liar, honest, ...rest] = await discoveryNodes(6, {}, delayStreams(delays))
    await connect([searcher, liar, honest, ...rest])
    // `liar` claims a coordinate next to the searcher's, but is 60 ms away: its ping echoes come late,
    // and the searcher's streams to it (record and ping: both are timed as samples) open late
    await liar.services.discovery.advertise({ geohash: 'xn76u', gpus: [RTX_4090], price: USDC(10), coordinate: { vec: [3, 4], height: 1, error: 0.2 } })
    await honest.services.discovery.advertise({ geohash: 'xn76v', gpus: [RTX_4090], price: USDC(10), coordinate: { vec: [90, 0], height: 1, error: 0.2 } })
    await liar.unhandle(PING_PROTOCOL)
    await liar.handle(PING_PROTOCOL, async (stream: Stream) => {
      for await (const buf of stream) {
        await sleepAtLeast(60)
        stream.send(buf)
      }
      await stream.close()
    })
    delays.set(liar.peerId.toString(), 60)
    // measurements count whole (`trustRatio: Infinity`): with the default, a loop busy for over 50 ms
    // while this test runs beside others would rightly discount the liar's 60 ms to 1.5 x its 7 ms estimate

    const found = await search(searcher, { geohash: 'xn76g', gpuClass: 'consumer-24g', coordinate: { vec: [0, 0], height: 1, error: 0.2 } }, { k: 2, confirm: { candidates: 4, probes: 2, trustRatio: Infinity } })
    assert.deepEqual(found.results.map(r => r.peerId.toString()), [honest.peerId.toString(), liar.peerId.toString()])
    assert.deepEqual(found.results.map(r => r.estimatedRttMs), [92, 7])
    const [h, l] = found.results.map(r => r.measuredRttMs)
    assert.ok(h != null && l != null, 'both measured')
    assert.ok(l >= 60 && h < l, `measured ${h} and ${l} ms`)
    // each measurement is reported as it gets lower (2 rounds and the stream openings), ending at the result's
    for (const r of found.results) {
      const reported = found.measured.get(r.peerId.toString()) ?? []
      assert.ok(reported.length > 0 && reported.every((ms, i) => i === 0 || ms < reported[i - 1]), `reported ${reported.join(', ')}`)
      assert.equal(reported.at(-1), r.measuredRttMs)
    }
  })

  it('yields a measured result once a candidate\'s ping round has been out longer than its RTT, without waiting for that probe', async function () {
    // a probe that does not end before fetchTimeoutMs (30 s): without that rule the search would wait for it,
    // past this test's own limit
    this.timeout(15_000)
    const delays = new Map<string, number>()
    const [searcher, near, silent, ...rest] = await discoveryNodes(6, { fetchTimeoutMs: 30_000 }, delayStreams(delays))
    await connect([searcher, near, silent, ...rest])
    // both claim the same plausible coordinate; `near` is 40 ms away (its echo takes 400 ms, which the
    // record and ping streams' own round trips undercut), `silent` 200 ms away and never echoes: its
    // round is out before `near` is measured
    await near.services.discovery.advertise({ geohash: 'xn76u', gpus: [RTX_4090], price: USDC(10), coordinate: { vec: [3, 4], height: 1, error: 0.2 } })
    await silent.services.discovery.advertise({ geohash: 'xn76v', gpus: [RTX_4090], price: USDC(10), coordinate: { vec: [3, 4], height: 1, error: 0.2 } })
    await near.unhandle(PING_PROTOCOL)
    await near.handle(PING_PROTOCOL, async (stream: Stream) => {
      for await (const buf of stream) {
        await sleepAtLeast(400)
        stream.send(buf)
      }
      await stream.close()
    })
    await silent.unhandle(PING_PROTOCOL)
    await silent.handle(PING_PROTOCOL, async (stream: Stream) => {
      // reads and never answers
      for await (const buf of stream) {
        void buf
      }
    })
    delays.set(near.peerId.toString(), 40)
    delays.set(silent.peerId.toString(), 200)

    const found = await search(searcher, { geohash: 'xn76g', gpuClass: 'consumer-24g', coordinate: { vec: [0, 0], height: 1, error: 0.2 } }, { k: 1 })
    assert.deepEqual(found.results.map(r => r.peerId.toString()), [near.peerId.toString()])
    const rtt = found.results[0].measuredRttMs
    // at least the 40 ms delay; under the 400 ms echo + 40 ms: the measurement is not the echo's
    // (a bound a loaded machine could only break by stretching a 40 ms round trip tenfold)
    assert.ok(rtt != null && rtt >= 40 && rtt < 440, `measured ${rtt} ms`)
  })

  it('re-signs its record before expiry without re-providing, moves its keys, and is gone after stop', async () => {
    // one clock for every node, moved by the test: records expire when it says so. The refresh timer
    // runs in real time (refreshFraction of the lifetime): a tiny fraction makes it fire every ~300 ms
    const start = Date.now()
    let clock = start
    const ttl = 10 * 60_000
    const [searcher, provider, ...rest] = await discoveryNodes(6, { recordTtlMs: ttl, refreshFraction: 300 / ttl, now: () => clock })
    await connect([searcher, provider, ...rest])
    const first = await provider.services.discovery.advertise({ geohash: 'xn76u', gpus: [RTX_4090], price: USDC(10), concurrency: 2 })
    assert.equal(provider.services.discovery.stats.provides, 3)

    const before = await searcher.services.discovery.fetchRecord(provider.peerId)
    assert.ok(before.value.seq >= first.record.value.seq)

    // past the lifetime of what was served: the next refresh signs a fresh record, and no provide runs
    clock = start + ttl + 1
    await new Promise<void>(resolve => {
      const onSigned = (evt: CustomEvent<{ value: { createdMs: number } }>): void => {
        if (evt.detail.value.createdMs >= clock) {
          provider.services.discovery.removeEventListener('record:signed', onSigned)
          resolve()
        }
      }
      provider.services.discovery.addEventListener('record:signed', onSigned)
    })
    const after = await searcher.services.discovery.fetchRecord(provider.peerId)
    assert.ok(after.value.seq > before.value.seq)
    assert.ok(after.value.expiresMs > clock)
    assert.ok(before.value.expiresMs < clock)
    assert.equal(provider.services.discovery.stats.provides, 3)

    // a price or load change costs no DHT operation
    const cheaper = await provider.services.discovery.update({ price: USDC(5), freeSlots: 1 })
    assert.deepEqual([cheaper.provided.length, cheaper.messages], [0, 0])
    assert.equal((await searcher.services.discovery.fetchRecord(provider.peerId)).value.price?.perUnit, 5)

    // moving does: new cells provided, old ones no longer re-provided
    const moved = await provider.services.discovery.update({ geohash: 'u4pru' })
    assert.deepEqual(moved.provided.map(k => k.cell), ['u4p', 'u4', 'u'])
    // (in the order the provides completed)
    assert.deepEqual(provider.services.discovery.advertisedKeys.map(k => k.cell).sort(), ['u', 'u4', 'u4p'])
    // the old cells still list it in the DHT until those entries expire, but its record no longer matches them
    const oldCell = await search(searcher, { geohash: 'xn76g', gpuClass: 'consumer-24g' }, { k: 1 })
    assert.deepEqual(oldCell.results, [])
    assert.ok(oldCell.rejections.includes('AdvertisementMismatchError'))
    const newCell = await search(searcher, { geohash: 'u4pru', gpuClass: 'consumer-24g' }, { k: 1 })
    assert.deepEqual(ids(newCell.results), idsOf(provider))

    // stopped: its DHT entries linger, but nobody answers for it
    let withdrawn = 0
    provider.services.discovery.addEventListener('advertisement:withdrawn', evt => { withdrawn = evt.detail.length })
    await provider.stop()
    assert.equal(withdrawn, 3)
    // (a searcher that has no cached copy of its record; caches keep records up to recordCacheTtlMs)
    const gone = await search(rest[0], { geohash: 'u4pru', gpuClass: 'consumer-24g' }, { k: 1, maxFetches: 4 })
    assert.deepEqual(gone.results, [])
    assert.ok(gone.summary.rejected >= 1)
  })

  it('with standing, keeps established providers among the results past a crowd of 20 sybils in their cell', async function () {
    this.timeout(180_000)
    const established = new Set<string>()
    const standing = (p: { toString(): string }): number => established.has(p.toString()) ? 2 : 0
    const searcher = await createDiscoveryNode({ standing, newcomerShare: 0.5 })
    const plain = await createDiscoveryNode()
    nodes.push(searcher, plain)
    const providers = await discoveryNodes(23)
    for (const p of providers.slice(0, 3)) {
      established.add(p.peerId.toString())
    }
    await connect([searcher, plain, ...providers], 4)
    // all advertise the same offer in the same cell: only standing tells them apart
    for (const p of providers) {
      await p.services.discovery.advertise({ geohash: 'xn76u', gpus: [RTX_4090], price: USDC(10) })
    }
    const query = { geohash: 'xn76u', gpuClass: 'consumer-24g' }

    const defended = await search(searcher, query, { k: 5 })
    const found = defended.results.filter(r => established.has(r.peerId.toString()))
    assert.equal(defended.results.length, 5, `search summary ${JSON.stringify(defended.summary)}`)
    assert.deepEqual(ids(found), idsOf(...providers.slice(0, 3)), 'every established provider is among the 5')
    assert.ok(defended.results.length - found.length <= Math.ceil(0.5 * 5))

    // without standing the same search sees a random sample of the cell: its share of established providers is chance, not asserted
    const undefended = await search(plain, query, { k: 5 })
    assert.equal(undefended.results.length, 5)
  })

  describe('bad input', () => {
    const CELLS = ['xn7', 'xn', 'x']

    /** A DHT-only node that provides under the popular keys and answers the capability protocol as `serve` says. */
    async function attacker (serve?: (key: PrivateKey, stream: Stream) => Promise<void>): Promise<{ node: DhtNode, key: PrivateKey }> {
      const key = await newKey()
      const node = await createDhtNode(key)
      nodes.push(node)
      if (serve != null) {
        await node.handle(CAPABILITY_PROTOCOL, async (stream) => {
          try {
            await serve(key, stream)
            await stream.close()
          } catch (err) {
            stream.abort(err instanceof Error ? err : new Error(String(err)))
          }
        })
      }
      return { node, key }
    }

    async function send (stream: Stream, bytes: Uint8Array): Promise<void> {
      await lpStream(stream).write(bytes)
    }

    async function seal (value: CapabilityRecord, key: PrivateKey): Promise<Uint8Array> {
      const envelope = await RecordEnvelope.seal({ domain: CapabilityRecordType.domain, codec: CapabilityRecordType.payloadType, marshal: () => CapabilityRecord.encode(value), equals: () => false }, key)
      return envelope.marshal()
    }

    it('rejects forged, stale, relayed and junk records, within bounds, and still finds the honest providers', async () => {
      const [searcher, honestA, honestB, fresh, ...bystanders] = await discoveryNodes(7, { maxCandidatesPerCell: 4 })
      const honestRecord = (): Uint8Array => honestA.services.discovery.currentRecord?.bytes ?? new Uint8Array()
      const honestValue = (): CapabilityRecord => {
        const record = honestA.services.discovery.currentRecord
        assert.ok(record != null)
        return { ...record.value }
      }

      const attackers = await Promise.all([
        // a forged signature
        attacker(async (key, stream) => {
          const bytes = (await sign(capability(key), key)).bytes.slice()
          bytes[bytes.length - 1] ^= 1
          await send(stream, bytes)
        }),
        // an honest peer's genuine record, relayed by someone else
        attacker(async (_, stream) => { await send(stream, honestRecord()) }),
        // a record for the honest peer, signed by the attacker
        attacker(async (key, stream) => { await send(stream, await seal(honestValue(), key)) }),
        // an expired record
        attacker(async (key, stream) => { await send(stream, (await sign(capability(key, { createdMs: Date.now() - 1_200_000, expiresMs: Date.now() - 600_000 }), key)).bytes) }),
        // impossible values (more free slots than slots)
        attacker(async (key, stream) => { await send(stream, await seal(capability(key, { concurrency: 1, freeSlots: 9 }), key)) }),
        // a valid record that is not in the cell it was advertised under
        attacker(async (key, stream) => { await send(stream, (await sign(capability(key, { geohash: 'u4pru' }), key)).bytes) }),
        // garbage
        attacker(async (_, stream) => { await send(stream, new TextEncoder().encode('not a record at all')) }),
        // a length prefix far beyond the record size limit
        attacker(async (_, stream) => { stream.send(Uint8Array.from([0x80, 0x80, 0x40, 1, 2, 3])) }),
        // nothing at all
        attacker(async () => {}),
        // does not even speak the protocol
        attacker()
      ])

      await connect([searcher, honestA, honestB, fresh, ...bystanders, ...attackers.map(a => a.node)])
      await honestA.services.discovery.advertise({ geohash: 'xn76u', gpus: [RTX_4090], price: USDC(10) })
      await honestB.services.discovery.advertise({ geohash: 'xn77b', gpus: [RTX_4090], price: USDC(10) })
      await Promise.all(attackers.map(async ({ node }) => {
        for (const cell of CELLS) {
          for await (const _ of node.services.dht.provide(capabilityKey('gpu:consumer-24g', cell))) { void _ }
        }
      }))

      // exhaustive search: every entry gets examined across the three levels, never more than 4 per cell
      const first = await search(searcher, { geohash: 'xn76g', gpuClass: 'consumer-24g' }, { k: 20 })
      assert.deepEqual(ids(first.results), idsOf(honestA, honestB))
      for (const lookup of first.lookups) {
        assert.ok(lookup.examined <= 4, `examined ${lookup.examined} in ${lookup.cell}`)
      }
      assert.deepEqual([...new Set(first.rejections)].sort(), [
        'AdvertisementMismatchError', 'ExpiredRecordError', 'InvalidFieldError', 'InvalidSignatureError', 'MalformedRecordError',
        'NoRecordError', 'RecordTooLargeError', 'UnsupportedProtocolError', 'WrongProviderError', 'WrongSignerError'
      ])
      assert.equal(first.summary.rejected, 10)
      assert.equal(first.summary.fetches, 12)
      assert.ok(first.lookups.some(l => l.entries > 4), 'a cell held more entries than the cap')

      // the next search skips the rejected peers and reuses the verified records: nothing is fetched
      const second = await search(searcher, { geohash: 'xn76g', gpuClass: 'consumer-24g' }, { k: 2 })
      assert.deepEqual(ids(second.results), idsOf(honestA, honestB))
      assert.equal(second.summary.fetches, 0)

      // a per-query fetch budget bounds the work of a searcher that knows nobody yet
      const budget = await search(fresh, { geohash: 'xn76g', gpuClass: 'consumer-24g' }, { k: 20, maxFetches: 3 })
      assert.ok(budget.summary.fetches <= 3)
      assert.ok(budget.results.every(r => [honestA, honestB].some(h => h.peerId.equals(r.peerId))))
    })
  })
})
