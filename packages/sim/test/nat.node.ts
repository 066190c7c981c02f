import assert from 'node:assert/strict'
import { NatRefusedError, SimNetwork } from '../src/transport/index.js'
import { createSimNode } from './fixtures/sim-node.js'
import type { SimTestNode } from './fixtures/sim-node.js'
import type { NatInit } from '../src/transport/index.js'

describe('sim transport behind a NAT', function () {
  this.timeout(30_000)

  let nodes: SimTestNode[] = []
  let network: SimNetwork

  beforeEach(() => {
    network = new SimNetwork({ linkProfile: () => ({ rttMs: 20 }), seed: 1 })
  })

  afterEach(async () => {
    await Promise.all(nodes.map(async node => node.stop()))
    nodes = []
    network.close()
  })

  async function createNode (site: string, nat?: NatInit): Promise<SimTestNode> {
    const node = await createSimNode(network, network.newAddress(site), site, nat)
    nodes.push(node)
    return node
  }

  it('refuses an inbound dial to a NAT\'d peer that never dialed the dialer', async () => {
    const natted = await createNode('home', { type: 'address-restricted' })
    const outside = await createNode('dc')

    await assert.rejects(outside.dial(natted.getMultiaddrs()), (err: Error) => {
      // libp2p wraps per-address failures; the NAT's own error is among them
      const errors = err instanceof AggregateError ? err.errors as Error[] : [err]
      return errors.some(e => e.name === NatRefusedError.name) || err.message.includes('NAT')
    })
  })

  it('lets the remote an address-restricted NAT\'d peer dialed come back in', async () => {
    const natted = await createNode('home', { type: 'address-restricted' })
    const outside = await createNode('dc')

    await natted.dial(outside.getMultiaddrs())
    await natted.hangUp(outside.peerId)
    const connection = await outside.dial(natted.getMultiaddrs())
    assert.equal(connection.remotePeer.equals(natted.peerId), true)
  })

  it('never lets anyone into a peer behind a symmetric NAT, and still dials out', async () => {
    const natted = await createNode('home', { type: 'symmetric' })
    const outside = await createNode('dc')

    await natted.dial(outside.getMultiaddrs())
    await natted.hangUp(outside.peerId)
    await assert.rejects(outside.dial(natted.getMultiaddrs()))
  })

  it('lets two address-restricted peers meet when their dials cross (hole punching)', async () => {
    const a = await createNode('home-a', { type: 'address-restricted' })
    const b = await createNode('home-b', { type: 'address-restricted' })

    // both dial at once, as DCUtR has them do: each dial opens the way for the other
    const results = await Promise.allSettled([a.dial(b.getMultiaddrs()), b.dial(a.getMultiaddrs())])
    assert.ok(results.some(r => r.status === 'fulfilled'), 'neither of the crossing dials got through')
  })
})
