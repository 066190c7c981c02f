import assert from 'node:assert/strict'
import { SimNetwork } from '../src/transport/index.js'
import { assertSimulatedRtt, createSimNode, pingRtts } from './fixtures/sim-node.js'
import type { SimTestNode } from './fixtures/sim-node.js'
import type { LinkProfile, SimNetworkInit } from '../src/transport/index.js'
import type { Stream } from '@libp2p/interface'

const SINK = '/shoal-test/sink/1.0.0'

/** Read a stream to its end, then answer with one byte: the bytes have all arrived. */
async function sinkHandler (stream: Stream): Promise<void> {
  let received = 0

  for await (const buf of stream) {
    received += buf.byteLength
  }

  stream.send(Uint8Array.of(received > 0 ? 1 : 0))
  await stream.close()
}

async function sendAll (stream: Stream, bytes: number): Promise<void> {
  const chunk = new Uint8Array(16_384).fill(7)

  for (let sent = 0; sent < bytes; sent += chunk.byteLength) {
    if (!stream.send(chunk.subarray(0, Math.min(chunk.byteLength, bytes - sent)))) {
      await stream.onDrain()
    }
  }

  await stream.close()

  for await (const buf of stream) {
    assert.equal(buf.subarray()[0], 1)
  }
}

describe('sim transport through real libp2p nodes', function () {
  this.timeout(30_000)

  let nodes: SimTestNode[] = []
  let network: SimNetwork | undefined

  function createNetwork (profile: (from: string, to: string) => LinkProfile, init: SimNetworkInit = {}): SimNetwork {
    network = new SimNetwork({ linkProfile: profile, seed: 1, ...init })
    return network
  }

  async function createNode (net: SimNetwork, site: string): Promise<SimTestNode> {
    const node = await createSimNode(net, net.newAddress(site), site)
    nodes.push(node)
    return node
  }

  afterEach(async () => {
    await Promise.all(nodes.map(async node => node.stop()))
    nodes = []
    network?.close()
    network = undefined
  })

  it('delays a ping by the configured RTT between sites', async () => {
    const net = createNetwork((from, to) => ({ rttMs: from === to ? 1 : 120 }))
    const a = await createNode(net, 'paris')
    const b = await createNode(net, 'tokyo')
    await a.dial(b.getMultiaddrs()[0])

    assertSimulatedRtt(Math.min(...await pingRtts(a, b.peerId, 5)), 120)
  })

  it('adds half of each direction\'s RTT: an asymmetric pair is no quicker than the mean', async () => {
    const net = createNetwork((from) => ({ rttMs: from === 'east' ? 60 : 140 }))
    const a = await createNode(net, 'east')
    const b = await createNode(net, 'west')
    await a.dial(b.getMultiaddrs()[0])

    // no quicker than the mean of the two: the quicker direction alone would give 60 ms
    assertSimulatedRtt(Math.min(...await pingRtts(a, b.peerId, 5)), 100)
  })

  it('delivers every byte intact and in order under heavy jitter', async () => {
    // jitter larger than the RTT: a transport that reordered would break noise's nonces
    const net = createNetwork(() => ({ rttMs: 20, jitterMs: 40 }))
    const a = await createNode(net, 'a')
    const b = await createNode(net, 'b')
    const received: number[] = []

    await b.handle(SINK, async (stream) => {
      for await (const buf of stream) {
        for (const byte of buf.subarray()) {
          received.push(byte)
        }
      }
      stream.send(Uint8Array.of(1))
      await stream.close()
    })

    const stream = await a.dialProtocol(b.getMultiaddrs()[0], SINK)
    for (let i = 0; i < 200; i++) {
      stream.send(Uint8Array.of(i))
      await new Promise(resolve => setTimeout(resolve, 1))
    }
    await stream.close()
    for await (const buf of stream) {
      assert.equal(buf.subarray()[0], 1)
    }

    assert.deepEqual(received, Array.from({ length: 200 }, (_, i) => i))
  })

  it('accounts size / bandwidth of serialization for a 1 MB transfer, and delivers no sooner', async () => {
    const bandwidthBps = 4_000_000
    const size = 1_000_000
    const net = createNetwork(() => ({ rttMs: 10, bandwidthBps }))
    const a = await createNode(net, 'a')
    const b = await createNode(net, 'b')
    await b.handle(SINK, sinkHandler)

    const stream = await a.dialProtocol(b.getMultiaddrs()[0], SINK)
    const before = { ...net.linkStats('a', 'b') }
    const start = performance.now()
    await sendAll(stream, size)
    const elapsed = performance.now() - start

    // the link spent exactly bytes / bandwidth of simulated time serializing
    // what it carried (the megabyte plus encryption and framing)...
    const stats = net.linkStats('a', 'b')
    const carried = stats.bytes - before.bytes
    assert.ok(carried >= size, 'bytes counter saw the transfer')
    assert.ok(Math.abs((stats.serializationMs - before.serializationMs) - carried / bandwidthBps * 1000) < 1e-6, 'serialization time is bytes / bandwidth')
    // ...and the data could not arrive sooner than that (a slow machine only adds time)
    const expected = size / bandwidthBps * 1000
    assert.ok(elapsed >= expected * 0.95, `1 MB took ${elapsed} ms, faster than the ${expected} ms the bandwidth allows`)
  })

  it('delays data by a retransmission timeout when segments are lost', async () => {
    const net = createNetwork(() => ({ rttMs: 20, loss: 0.2 }), { tcp: { minRtoMs: 100 } })
    const a = await createNode(net, 'a')
    const b = await createNode(net, 'b')
    await a.dial(b.getMultiaddrs()[0])

    const rtts = await pingRtts(a, b.peerId, 20)

    assert.ok(net.totals().retransmits > 0, 'no segment was lost')
    // a ping whose request or reply was lost waits one RTO (100 ms) on top of the RTT
    assert.ok(Math.max(...rtts) >= 20 + 100 * 0.9, `no ping was delayed by an RTO: ${rtts.join(', ')}`)
    // and none is quicker than the plain RTT
    assertSimulatedRtt(Math.min(...rtts), 20, 'quickest ping RTT')
  })

  it('breaks the connection under sustained heavy loss', async () => {
    const net = createNetwork(() => ({ rttMs: 20 }), { tcp: { minRtoMs: 20, maxRetransmits: 2 } })
    const a = await createNode(net, 'a')
    const b = await createNode(net, 'b')
    const connection = await a.dial(b.getMultiaddrs()[0])
    await a.services.ping.ping(b.peerId)

    net.setLinkProfile(() => ({ rttMs: 20, loss: 0.95 }))
    const closed = new Promise<void>(resolve => { connection.addEventListener('close', () => { resolve() }) })

    await assert.rejects(a.services.ping.ping(b.peerId, { signal: AbortSignal.timeout(10_000) }))
    await closed

    assert.notEqual(connection.status, 'open')
    assert.ok(net.totals().timeouts > 0, 'the link did not give up')
    assert.equal(net.connectionCount, 0)
  })

  it('fails dials across a partition and accepts them again after heal', async () => {
    const net = createNetwork(() => ({ rttMs: 10 }), { cutDialTimeoutMs: 50 })
    const a = await createNode(net, 'europe')
    const b = await createNode(net, 'asia')
    const c = await createNode(net, 'asia')

    net.partition(['europe'], ['asia'])

    await assert.rejects(a.dial(b.getMultiaddrs()[0]))
    assert.equal(a.getConnections(b.peerId).length, 0)

    // inside a group, links still work
    await b.dial(c.getMultiaddrs()[0])
    await b.services.ping.ping(c.peerId)

    net.heal()

    await a.dial(b.getMultiaddrs()[0])
    await a.services.ping.ping(b.peerId)
  })

  it('holds data during a short cut and delivers it after heal', async () => {
    const net = createNetwork(() => ({ rttMs: 10 }), { tcp: { minRtoMs: 200, maxRetransmits: 6 } })
    const a = await createNode(net, 'a')
    const b = await createNode(net, 'b')
    await a.dial(b.getMultiaddrs()[0])
    await a.services.ping.ping(b.peerId)

    net.cut('a', 'b')
    const start = performance.now()
    const pinged = a.services.ping.ping(b.peerId)
    await new Promise(resolve => setTimeout(resolve, 300))
    net.heal('a', 'b')

    // the ping waited out the cut instead of failing
    await pinged
    const elapsed = performance.now() - start
    assert.ok(elapsed >= 300, `ping finished after ${elapsed} ms, inside the 300 ms cut`)
    assert.equal(a.getConnections(b.peerId).length, 1)
  })

  it('breaks connections that stay cut longer than the retransmissions last', async () => {
    const net = createNetwork(() => ({ rttMs: 10 }), { tcp: { minRtoMs: 20, maxRetransmits: 2 } })
    const a = await createNode(net, 'a')
    const b = await createNode(net, 'b')
    const connection = await a.dial(b.getMultiaddrs()[0])

    net.cut('a', 'b')
    const closed = new Promise<void>(resolve => { connection.addEventListener('close', () => { resolve() }) })
    await assert.rejects(a.services.ping.ping(b.peerId, { signal: AbortSignal.timeout(10_000) }))
    await closed
    assert.equal(a.getConnections(b.peerId).length, 0)
  })

  it('refuses dials to an address nobody listens on', async () => {
    const net = createNetwork(() => ({ rttMs: 10 }))
    const a = await createNode(net, 'a')
    const b = await createNode(net, 'b')
    const addr = b.getMultiaddrs()[0]
    await b.stop()

    await assert.rejects(a.dial(addr))
  })

  it('counts bytes and writes per direction between sites', async () => {
    const net = createNetwork(() => ({ rttMs: 2 }))
    const a = await createNode(net, 'a')
    const b = await createNode(net, 'b')
    await b.handle(SINK, sinkHandler)

    const stream = await a.dialProtocol(b.getMultiaddrs()[0], SINK)
    net.resetStats()
    await sendAll(stream, 100_000)

    const forward = net.linkStats('a', 'b')
    const back = net.linkStats('b', 'a')
    assert.ok(forward.bytes >= 100_000 && forward.bytes < 110_000, `forward bytes ${forward.bytes}`)
    assert.ok(forward.chunks > 0)
    assert.ok(back.bytes < forward.bytes)
    assert.equal(net.totals().bytes, forward.bytes + back.bytes)
  })
})
