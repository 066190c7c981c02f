import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, connect } from 'node:net'
import { MessageChannel } from 'node:worker_threads'
import { MessagePortChannel, SimGateway, SocketChannel } from '../src/shard/index.js'
import { SimNetwork } from '../src/transport/index.js'
import { assertSimulatedRtt, createSimNode, pingRtts } from './fixtures/sim-node.js'
import type { SimTestNode } from './fixtures/sim-node.js'
import type { GatewayChannel, GatewayRoute } from '../src/shard/index.js'
import type { LinkProfile } from '../src/transport/index.js'
import type { Server, Socket } from 'node:net'

/** Two shards' networks in one process; `a-*` addresses live in shard 0, `b-*` in shard 1. */
interface Pair {
  nets: [SimNetwork, SimNetwork]
  gateways: [SimGateway, SimGateway]
  invalid: Error[]
}

const route = (address: string): GatewayRoute | undefined => {
  const m = /^\/memory\/(a|b)-([a-z]+)$/.exec(address)
  return m == null ? undefined : { shard: m[1] === 'a' ? 0 : 1, site: m[2] }
}

function createPair (profile: (from: string, to: string) => LinkProfile, channels: [GatewayChannel, GatewayChannel]): Pair {
  const invalid: Error[] = []
  const nets: [SimNetwork, SimNetwork] = [new SimNetwork({ linkProfile: profile, seed: 1 }), new SimNetwork({ linkProfile: profile, seed: 2 })]
  const gateways = nets.map((network, shard) => new SimGateway({ network, shard, route, onInvalidFrame: (err) => invalid.push(err) })) as [SimGateway, SimGateway]
  gateways[0].addChannel(1, channels[0])
  gateways[1].addChannel(0, channels[1])
  return { nets, gateways, invalid }
}

function portChannels (): [GatewayChannel, GatewayChannel] {
  const { port1, port2 } = new MessageChannel()
  return [new MessagePortChannel(port1), new MessagePortChannel(port2)]
}

async function socketChannels (): Promise<{ channels: [GatewayChannel, GatewayChannel], server: Server, sockets: Socket[] }> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  assert.ok(address != null && typeof address === 'object')
  const accepted = once(server, 'connection')
  const client = connect(address.port, '127.0.0.1')
  await once(client, 'connect')
  const [serverSide] = await accepted as [Socket]
  return { channels: [new SocketChannel(client), new SocketChannel(serverSide)], server, sockets: [client, serverSide] }
}

describe('shard gateway between two sim networks', function () {
  this.timeout(30_000)

  let nodes: SimTestNode[] = []
  let pair: Pair | undefined
  let server: Server | undefined

  async function createNode (net: SimNetwork, address: string): Promise<SimTestNode> {
    const node = await createSimNode(net, address, route(address)?.site ?? '?')
    nodes.push(node)
    return node
  }

  afterEach(async () => {
    await Promise.all(nodes.map(async node => node.stop()))
    nodes = []
    pair?.gateways.forEach(g => { g.close() })
    pair?.nets.forEach(n => { n.close() })
    pair = undefined
    server?.close()
    server = undefined
  })

  const profile = (from: string, to: string): LinkProfile => ({ rttMs: from === to ? 2 : 120 })

  for (const kind of ['MessagePort', 'TCP'] as const) {
    it(`carries a libp2p ping over a ${kind} channel, delayed by the modelled RTT`, async () => {
      let channels: [GatewayChannel, GatewayChannel]
      if (kind === 'TCP') {
        const s = await socketChannels()
        server = s.server
        channels = s.channels
      } else {
        channels = portChannels()
      }
      pair = createPair(profile, channels)
      const a = await createNode(pair.nets[0], '/memory/a-paris')
      const b = await createNode(pair.nets[1], '/memory/b-tokyo')
      await a.dial(b.getMultiaddrs()[0])

      assertSimulatedRtt(Math.min(...await pingRtts(a, b.peerId, 5)), 120, 'ping RTT through the gateway')
      assert.equal(b.getConnections(a.peerId).length, 1, 'the listener has the connection too')
      assert.equal(pair.invalid.length, 0)
      assert.ok(pair.gateways[0].stats.framesSent > 0 && pair.gateways[1].stats.framesSent > 0)
    })
  }

  it('applies the sender\'s link model: an asymmetric pair is no quicker than the mean', async () => {
    pair = createPair((from) => ({ rttMs: from === 'east' ? 60 : 140 }), portChannels())
    const a = await createNode(pair.nets[0], '/memory/a-east')
    const b = await createNode(pair.nets[1], '/memory/b-west')
    const accepted = once(b, 'peer:connect')
    await a.dial(b.getMultiaddrs()[0])
    await accepted
    // no quicker than the mean of the two: the sender's quicker direction alone would give 60 ms
    assertSimulatedRtt(Math.min(...await pingRtts(b, a.peerId, 5)), 100)
  })

  it('refuses dials to unknown addresses and to stopped peers, as a local dial', async () => {
    pair = createPair(profile, portChannels())
    const a = await createNode(pair.nets[0], '/memory/a-paris')
    const b = await createNode(pair.nets[1], '/memory/b-tokyo')
    const addr = b.getMultiaddrs()[0]
    await b.stop()

    await assert.rejects(a.dial(addr))
    await assert.rejects(a.dial(addr.decapsulate('/p2p').decapsulate('/memory').encapsulate('/memory/b-nowhere0')))
    assert.equal(pair.gateways[0].openHalves, 0)
    assert.equal(pair.gateways[1].openHalves, 0)
  })

  it('closing one end closes the other', async () => {
    pair = createPair(profile, portChannels())
    const a = await createNode(pair.nets[0], '/memory/a-paris')
    const b = await createNode(pair.nets[1], '/memory/b-tokyo')
    const conn = await a.dial(b.getMultiaddrs()[0])
    await a.services.ping.ping(b.peerId)
    const gone = once(b, 'peer:disconnect')
    await conn.close()
    await gone
    assert.equal(b.getConnections(a.peerId).length, 0)
  })

  it('a crashed peer\'s connections are reset on the other shard', async () => {
    pair = createPair(profile, portChannels())
    const a = await createNode(pair.nets[0], '/memory/a-paris')
    const b = await createNode(pair.nets[1], '/memory/b-tokyo')
    await a.dial(b.getMultiaddrs()[0])
    const gone = once(b, 'peer:disconnect')
    for (const c of a.getConnections()) c.abort(new Error('crash'))
    await gone
    assert.equal(b.getConnections(a.peerId).length, 0)
  })

  it('a cut applied on both shards fails cross-shard dials until healed', async () => {
    pair = createPair(profile, portChannels())
    pair.nets.forEach(n => { n.partition(['paris'], ['tokyo']) })
    const a = await createNode(pair.nets[0], '/memory/a-paris')
    const b = await createNode(pair.nets[1], '/memory/b-tokyo')
    await assert.rejects(a.dial(b.getMultiaddrs()[0]), { name: 'ConnectionFailedError' })
    pair.nets.forEach(n => { n.heal() })
    await a.dial(b.getMultiaddrs()[0])
    assert.ok(await a.services.ping.ping(b.peerId) > 0)
  })

  it('drops malformed frames with a typed error and keeps working', async () => {
    const { port1, port2 } = new MessageChannel()
    const evil = new MessageChannel()
    pair = createPair(profile, [new MessagePortChannel(port1), new MessagePortChannel(port2)])
    pair.gateways[1].addChannel(5, new MessagePortChannel(evil.port1))
    evil.port2.postMessage(new Uint8Array([9, 9, 9]).buffer)
    evil.port2.postMessage('not a frame')
    const a = await createNode(pair.nets[0], '/memory/a-paris')
    const b = await createNode(pair.nets[1], '/memory/b-tokyo')
    await a.dial(b.getMultiaddrs()[0])
    assert.ok(await a.services.ping.ping(b.peerId) > 0)
    assert.deepEqual(pair.invalid.map(e => e.name), ['InvalidGatewayFrameError', 'InvalidGatewayFrameError'])
    evil.port2.close()
  })
})
