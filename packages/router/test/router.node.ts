import assert from 'node:assert/strict'
import { identify } from '@libp2p/identify'
import { memory } from '@libp2p/memory'
import { ping } from '@libp2p/ping'
import { lpStream } from '@libp2p/utils'
import { createTestNode } from '@shoal/test-support'
import { createLibp2p } from 'libp2p'
import { COORDINATE_PROTOCOL, router } from '../src/index.js'
import type { Router, RouterInit, RouterChoice, RouterCandidate, LoadReport } from '../src/index.js'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'

type Node = Libp2p<{ identify: Identify, ping: Ping, router: Router }>

const WORK_PROTOCOL = '/shoal-test/work/1.0.0'
let addressCounter = 0

interface NodeOptions {
  /** one-way delay of every message sent to this node's listener, ms */
  latency?: number
  router?: RouterInit
  /** how this node answers work: a reply, 'refuse' (reset the stream), or a delay before replying */
  work?: { reply?: string, refuse?: boolean, delay?: number }
}

async function createNode (opts: NodeOptions = {}): Promise<Node> {
  // the memory transport instead of TCP, for its per-listener latency
  const node = await createTestNode({
    addresses: { listen: [`/memory/shoal-router-test-${process.pid}-${addressCounter++}`] },
    transports: [memory({ latency: opts.latency ?? 0 })],
    services: {
      identify: identify(),
      ping: ping(),
      router: router({ probeIntervalMs: 0, ...opts.router })
    }
  })

  if (opts.work != null) {
    const work = opts.work
    await node.handle(WORK_PROTOCOL, async (stream) => {
      const lp = lpStream(stream)
      await lp.read()

      if (work.refuse === true) {
        stream.abort(new Error('refused'))
        return
      }

      if (work.delay != null) {
        await new Promise(resolve => setTimeout(resolve, work.delay))
      }

      try {
        await lp.write(new TextEncoder().encode(work.reply ?? 'ok'))
        await stream.close()
      } catch {
        // the requester may have hedged and aborted us: that is expected
      }
    })
  }

  return node
}

/** An attempt function: sends a job over a real stream, returns the reply */
function sendWork (requester: Node): (choice: RouterChoice, signal: AbortSignal) => Promise<string> {
  return async (choice, signal) => {
    const stream = await requester.dialProtocol(choice.peerId, WORK_PROTOCOL, { signal })
    const lp = lpStream(stream)
    await lp.write(new TextEncoder().encode('job'), { signal })
    const reply = new TextDecoder().decode((await lp.read({ signal })).subarray())
    await stream.close({ signal })
    return reply
  }
}

function load (report: LoadReport): () => LoadReport {
  return () => report
}

describe('router (real libp2p nodes over the memory transport)', function () {
  this.timeout(60_000)
  let nodes: Node[] = []

  async function start (opts: NodeOptions = {}): Promise<Node> {
    const node = await createNode(opts)
    nodes.push(node)
    return node
  }

  async function connect (a: Node, b: Node): Promise<PeerId> {
    await a.dial(b.getMultiaddrs()[0])
    return b.peerId
  }

  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  it('declares its dependency on @libp2p/ping', async () => {
    await assert.rejects(createLibp2p({
      // the types already forbid this; check the run-time guard for JS users
      services: { router: router({ probeIntervalMs: 0 }) as unknown as (components: Record<string, unknown>) => Router }
    }), /ping/)
  })

  it('measures RTT with ping and probes, and exchanges coordinates', async () => {
    const requester = await start()
    const near = await start({ latency: 2 })
    const far = await start({ latency: 60 })
    await connect(requester, near)
    await connect(requester, far)

    const measured: number[] = []
    requester.services.router.addEventListener('peer:measured', (evt) => { measured.push(evt.detail.rtt) })

    for (let i = 0; i < 3; i++) {
      await requester.services.router.probe(near.peerId)
      await requester.services.router.probe(far.peerId)
    }

    const pinged = await requester.services.router.ping(far.peerId)

    // each message to `far` is delayed 60 ms each way
    assert.ok(pinged >= 100, `ping RTT ${pinged}`)
    assert.equal(measured.length, 7)

    const nearRtt = requester.services.router.measured(near.peerId)
    const farRtt = requester.services.router.measured(far.peerId)
    assert.ok(nearRtt != null && farRtt != null)
    assert.equal(farRtt.samples, 4)
    assert.ok(farRtt.median >= 100, `far median ${farRtt.median}`)
    assert.ok(nearRtt.median < farRtt.median)
    assert.equal(farRtt.loss, 0)

    // both sides learned the other's coordinate; the prober's moved off the origin
    assert.deepEqual(requester.services.router.coordinateOf(far.peerId), far.services.router.coordinate)
    assert.ok(far.services.router.coordinateOf(requester.peerId) != null)
    assert.ok(requester.services.router.coordinate.vec.some(x => x !== 0))
    assert.ok(requester.services.router.coordinate.error < 1.5)
  })

  it('probes connected peers in the background', async () => {
    const requester = await start({ router: { probeIntervalMs: 50 } })
    const provider = await start({ latency: 5 })

    const measured = new Promise<PeerId>(resolve => {
      requester.services.router.addEventListener('peer:measured', (evt) => { resolve(evt.detail.peerId) }, { once: true })
    })
    await connect(requester, provider)

    assert.equal((await measured).toString(), provider.peerId.toString())
    assert.ok(requester.services.router.coordinateOf(provider.peerId) != null)
  })

  it('shares one probe among callers probing the same peer at once, past the protocol\'s stream limit', async () => {
    const requester = await start()
    const provider = await start()
    await connect(requester, provider)
    const results = await Promise.all(Array.from({ length: 12 }, async () => requester.services.router.probe(provider.peerId, { load: true })))
    assert.equal(results.length, 12)
    assert.ok(results.every(r => r === results[0]), 'one probe answered them all')
    const again = await requester.services.router.probe(provider.peerId, { load: true })
    assert.notEqual(again, results[0], 'a probe after it is a new one')
  })

  it('counts probes that go unanswered as loss, but not peers without the protocol', async () => {
    const requester = await start({ router: { timeoutMs: 300 } })
    const silent = await start()
    const other = await start()
    await connect(requester, silent)
    await connect(requester, other)
    const r = requester.services.router

    // a peer that accepts probes and never answers
    await silent.services.router.stop()
    await silent.handle(COORDINATE_PROTOCOL, () => {})
    await other.services.router.stop()

    await assert.rejects(r.probe(silent.peerId))
    await assert.rejects(r.probe(other.peerId), { name: 'UnsupportedProtocolError' })

    assert.ok(r.rtt.loss(silent.peerId.toString()) > 0)
    assert.equal(r.rtt.loss(other.peerId.toString()), 0)
  })

  it('drops garbage on the coordinate protocol with a typed error, penalises the sender and keeps serving', async () => {
    const requester = await start()
    const provider = await start()
    await connect(requester, provider)
    const penalties: string[] = []
    provider.services.router.addEventListener('peer:penalized', (evt) => { penalties.push(evt.detail.event) })

    const stream = await requester.dialProtocol(provider.peerId, COORDINATE_PROTOCOL)
    const lp = lpStream(stream)
    await lp.write(Uint8Array.from([7, 7, 7, 7]))
    await assert.rejects(lp.read())

    assert.deepEqual(penalties, ['invalid-message'])
    assert.ok(provider.services.router.trust.get(requester.peerId.toString()) < 0.8)
    const result = await requester.services.router.probe(provider.peerId)
    assert.ok(result.coordinate != null)
  })

  it('ignores, without punishing, a coordinate of another dimension; punishes an absurd one', async () => {
    const requester = await start()
    const other = await start({ router: { vivaldi: { dimensions: 3 } } })
    // every component passes the wire limit (|x| <= 10 s), but the norm is
    // 25 s: its own limits allow that, ours stop at 10 s
    const absurd = await start({ router: { vivaldi: { coordinate: { vec: new Array(8).fill(9000), height: 0, error: 0.5 }, maxMagnitude: 50_000 } } })
    await connect(requester, other)
    await connect(requester, absurd)
    const r = requester.services.router

    const fromOther = await r.probe(other.peerId)
    const fromAbsurd = await r.probe(absurd.peerId)

    assert.equal(fromOther.coordinate, undefined)
    assert.equal(r.trust.get(other.peerId.toString()), 0.8)
    assert.equal(fromAbsurd.coordinate, undefined)
    assert.ok(r.trust.get(absurd.peerId.toString()) < 0.8)
    // both were still measured
    assert.ok(r.measured(other.peerId) != null && r.measured(absurd.peerId) != null)
  })

  it('late binding: probes the best predicted candidates for load and picks the one that will finish first', async () => {
    const requester = await start()
    // near but full, with a queue: the stale record said it had room
    const busy = await start({ latency: 2, router: { load: load({ freeSlots: 0, concurrency: 1, queueLength: 5 }) } })
    // farther but idle
    const idle = await start({ latency: 30, router: { load: load({ freeSlots: 3, concurrency: 4 }) } })
    await connect(requester, busy)
    await connect(requester, idle)

    const candidates: RouterCandidate[] = [
      { peerId: busy.peerId, freeSlots: 2, reputation: 0.9 },
      { peerId: idle.peerId, freeSlots: 3, reputation: 0.9 }
    ]

    const decision = await requester.services.router.choose(candidates, { computeTime: 2000 }, { probes: 2 })

    assert.equal(decision.probes, 2)
    assert.equal(decision.choices[0].peerId.toString(), idle.peerId.toString())
    assert.equal(decision.choices[1].probe?.load?.freeSlots, 0)
    assert.match(decision.choices[0].explain, /ms measured, .*3 free slots, 0\.8 reputation.*\(probed\)/)
    assert.match(decision.choices[1].explain, /no free slot, 5 queued/)
  })

  it('fails over to the next candidate, and a provider that claims free slots but refuses work stops being chosen', async () => {
    const requester = await start()
    const liar = await start({ router: { load: load({ freeSlots: 4, concurrency: 4 }) }, work: { refuse: true } })
    const honest = await start({ latency: 20, router: { load: load({ freeSlots: 1, concurrency: 1 }) }, work: { reply: 'done' } })
    await connect(requester, liar)
    await connect(requester, honest)
    const candidates = [{ peerId: liar.peerId }, { peerId: honest.peerId }]
    const r = requester.services.router

    for (let round = 0; round < 2; round++) {
      const { choices } = await r.choose(candidates, { computeTime: 100 })
      // the liar is nearer and claims more room, so it is tried first
      assert.equal(choices[0].peerId.toString(), liar.peerId.toString())

      const { result, candidate, attempts } = await r.failover(choices, sendWork(requester), { timeoutMs: 20_000, attemptTimeoutMs: 5_000 })
      assert.equal(result, 'done')
      assert.equal(candidate.peerId.toString(), honest.peerId.toString())
      assert.equal(attempts[0].ok, false)
    }

    assert.ok(r.trust.get(liar.peerId.toString()) < 0.3, `liar trust ${r.trust.get(liar.peerId.toString())}`)
    assert.ok(r.trust.get(honest.peerId.toString()) > 0.8)

    const { choices, rejected } = await r.choose(candidates, { computeTime: 100 })
    assert.deepEqual(choices.map(c => c.peerId.toString()), [honest.peerId.toString()])
    assert.match(rejected[0].explain, /refused, untrusted/)
  })

  it('a failure the caller reads as an honest decline costs a plain failure, not the free-slots lie', async () => {
    const requester = await start()
    const decliner = await start({ router: { load: load({ freeSlots: 4, concurrency: 4 }) }, work: { refuse: true } })
    const honest = await start({ latency: 20, router: { load: load({ freeSlots: 1, concurrency: 1 }) }, work: { reply: 'done' } })
    await connect(requester, decliner)
    await connect(requester, honest)
    const r = requester.services.router
    const events: string[] = []
    r.addEventListener('peer:penalized', evt => { events.push(evt.detail.event) })

    const { choices } = await r.choose([{ peerId: decliner.peerId }, { peerId: honest.peerId }], { computeTime: 100 })
    assert.equal(choices[0].peerId.toString(), decliner.peerId.toString(), 'the decliner claimed free slots and is tried first')
    const read: Array<Error | undefined> = []
    const { result } = await r.failover(choices, sendWork(requester), {
      timeoutMs: 20_000,
      attemptTimeoutMs: 5_000,
      classifyFailure: (error) => { read.push(error); return 'failed' }
    })
    assert.equal(result, 'done')
    assert.equal(read.length, 1, 'the failed attempt is read by the caller')
    assert.deepEqual(events, ['failure'])
  })

  it('a caller\'s classifyFailure that throws costs the provider what the default reading would, and the failover goes on', async () => {
    const requester = await start()
    const liar = await start({ router: { load: load({ freeSlots: 4, concurrency: 4 }) }, work: { refuse: true } })
    const honest = await start({ latency: 20, router: { load: load({ freeSlots: 1, concurrency: 1 }) }, work: { reply: 'done' } })
    await connect(requester, liar)
    await connect(requester, honest)
    const r = requester.services.router
    const events: string[] = []
    r.addEventListener('peer:penalized', evt => { events.push(evt.detail.event) })

    const { choices } = await r.choose([{ peerId: liar.peerId }, { peerId: honest.peerId }], { computeTime: 100 })
    const { result } = await r.failover(choices, sendWork(requester), {
      timeoutMs: 20_000,
      attemptTimeoutMs: 5_000,
      classifyFailure: () => { throw new Error('reader broke') }
    })
    assert.equal(result, 'done')
    assert.deepEqual(events, ['refused-with-free-slots'])
  })

  it('hedges: sends to two, keeps the first answer and aborts the loser', async () => {
    const requester = await start()
    const slow = await start({ router: { load: load({ freeSlots: 1, concurrency: 1 }) }, work: { reply: 'slow', delay: 3_000 } })
    const fast = await start({ latency: 10, router: { load: load({ freeSlots: 1, concurrency: 1 }) }, work: { reply: 'fast' } })
    await connect(requester, slow)
    await connect(requester, fast)
    const r = requester.services.router

    const { choices } = await r.choose([{ peerId: slow.peerId }, { peerId: fast.peerId }], { computeTime: 10 })
    // the slow one is nearer, so it is the first choice: hedging saves us
    assert.equal(choices[0].peerId.toString(), slow.peerId.toString())

    const { result, attempts } = await r.hedge(choices, sendWork(requester), { timeoutMs: 20_000 })

    assert.equal(result, 'fast')
    assert.deepEqual(attempts.map(a => [a.candidate.peerId.toString(), a.ok, a.cancelled]), [
      [fast.peerId.toString(), true, false],
      [slow.peerId.toString(), false, true]
    ])
    // the loser was cancelled, not failed: its trust is untouched
    assert.equal(r.trust.get(slow.peerId.toString()), 0.8)
  })

  it('a peer whose claimed coordinate is disproven by the RTT loses trust and stops being chosen', async () => {
    // a confident requester at the origin
    const requester = await start({ router: { vivaldi: { coordinate: { vec: new Array(8).fill(0), height: 1, error: 0.1 } } } })
    // claims to sit right next to the requester, with high confidence, but is 80+ ms away
    const liar = await start({
      latency: 40,
      router: {
        load: load({ freeSlots: 8, concurrency: 8 }),
        vivaldi: { coordinate: { vec: [1, 0, 0, 0, 0, 0, 0, 0], height: 1, error: 0.05 } }
      }
    })
    const honest = await start({ latency: 15, router: { load: load({ freeSlots: 1, concurrency: 1 }) } })
    await connect(requester, liar)
    await connect(requester, honest)
    const r = requester.services.router
    const penalties: string[] = []
    r.addEventListener('peer:penalized', (evt) => { penalties.push(evt.detail.event) })

    // the advertised (signed-record) coordinate is the same lie
    const candidates: RouterCandidate[] = [
      { peerId: liar.peerId, coordinate: liar.services.router.coordinate },
      { peerId: honest.peerId }
    ]

    const first = await r.choose(candidates, { computeTime: 50 })
    assert.ok(penalties.includes('coordinate-lie'))
    // its lying coordinate is not kept for predictions
    assert.equal(r.coordinateOf(liar.peerId), undefined)
    assert.equal(first.choices[0].peerId.toString(), honest.peerId.toString())

    await r.choose(candidates, { computeTime: 50 })
    const third = await r.choose(candidates, { computeTime: 50 })

    assert.ok(r.trust.get(liar.peerId.toString()) < 0.3)
    assert.deepEqual(third.choices.map(c => c.peerId.toString()), [honest.peerId.toString()])
    assert.equal(third.rejected[0].peerId.toString(), liar.peerId.toString())
    assert.match(third.rejected[0].reason, /untrusted/)
  })

  it('refuses a candidate that answers faster than light allows from the place it claims, and one implausibly slow for a job that requires a region', async () => {
    const requester = await start()
    // sits next door, claims Tokyo
    const liar = await start()
    // claims the requester's neighbourhood and answers like it
    const honest = await start({ latency: 2 })
    // claims the requester's neighbourhood, answers like the other side of the world
    const far = await start({ latency: 120 })
    const r = requester.services.router
    for (const n of [liar, honest, far]) {
      await connect(requester, n)
      await r.ping(n.peerId)
      await r.ping(n.peerId)
    }
    const penalties: string[] = []
    r.addEventListener('peer:penalized', (evt) => { penalties.push(evt.detail.event) })
    const candidates: RouterCandidate[] = [
      { peerId: liar.peerId, geohash: 'xn76cyd' },
      { peerId: honest.peerId, geohash: 'u09tvw1' },
      { peerId: far.peerId, geohash: 'u09tvw2' }
    ]
    const options = { geohash: 'u09tvw0', probes: 0 }

    const anywhere = await r.choose(candidates, { computeTime: 50 }, options)
    assert.deepEqual(anywhere.rejected.map(x => [x.peerId.toString(), x.reason]), [[liar.peerId.toString(), 'location-lie']])
    assert.equal(anywhere.choices.length, 2)
    assert.deepEqual(penalties, ['location-lie'])
    // the same RTT samples prove the same lie once: a second decision costs nothing more
    await r.choose(candidates, { computeTime: 50 }, options)
    assert.deepEqual(penalties, ['location-lie'])

    // a job that must run in the region refuses the one too slow to be where it says, at no cost in trust
    const regional = await r.choose(candidates, { computeTime: 50, region: 'u09' }, options)
    assert.deepEqual(regional.choices.map(c => c.peerId.toString()), [honest.peerId.toString()])
    assert.equal(regional.rejected.find(x => x.peerId.equals(far.peerId))?.reason, 'location-implausible')
    assert.deepEqual(penalties, ['location-lie'])

    // without our own place, or with the check off, nothing is refused for its place
    assert.equal((await r.choose(candidates, { computeTime: 50, region: 'u09' }, { probes: 0 })).rejected.length, 0)
    const unchecked = await start({ router: { locationCheck: false } })
    await connect(unchecked, liar)
    await unchecked.services.router.ping(liar.peerId)
    assert.equal((await unchecked.services.router.choose([candidates[0]], {}, options)).rejected.length, 0)
  })
})
