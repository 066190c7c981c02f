import assert from 'node:assert/strict'
import { createSimulation, NatRefusedError, SimNetwork } from '../src/index.js'
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

    await assert.rejects(outside.dial(natted.getMultiaddrs()), { name: NatRefusedError.name })
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
    await assert.rejects(outside.dial(natted.getMultiaddrs()), { name: NatRefusedError.name })
  })

  it('lets two address-restricted peers meet when their dials cross (hole punching)', async () => {
    const a = await createNode('home-a', { type: 'address-restricted' })
    const b = await createNode('home-b', { type: 'address-restricted' })

    // both dial at once, as DCUtR has them do: each dial opens the way for the other
    const results = await Promise.allSettled([a.dial(b.getMultiaddrs()), b.dial(a.getMultiaddrs())])
    assert.ok(results.some(r => r.status === 'fulfilled'), 'neither of the crossing dials got through')
  })
})

describe('simulation with NATs: relay and DCUtR', function () {
  this.timeout(60_000)

  it('reaches a NAT\'d peer through the relay, and DCUtR upgrades the connection to a direct one', async () => {
    // peers 0..2 are bootstrap peers (public), 0 the relay; peer 3 sits behind an address-restricted NAT
    const sim = await createSimulation({
      peers: 4,
      roles: ['peer', 'peer', 'peer', 'home'],
      seed: 3,
      nat: { share: 1, roles: ['home'], holePunch: 1, relays: 1 },
      connect: false,
      dhtStartDelayMs: 60_000
    })
    try {
      assert.equal(sim.peers[3].nat, 'address-restricted')
      assert.equal(sim.peers[0].relay, true)
      // peer 3 dials the relay (and only it); peer 2 is connected to nobody yet
      await sim.connect({ bootstrap: 1, degree: 0 })
      const home = sim.peers[3].node
      const outside = sim.peers[2].node
      assert.ok(home != null && outside != null)
      await pEvent(home, 'self:peer:update', () => home.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit')))
      assert.equal(outside.getConnections(home.peerId).length, 0)

      // the direct addresses are refused; the relayed one gets through
      const first = await outside.dial(home.getMultiaddrs())
      assert.ok(first.limits != null, `the first connection is direct: ${first.remoteAddr.toString()}`)
      // DCUtR: the NAT'd peer dials back directly (its own outbound dial passes its NAT)
      await pEvent(outside, 'connection:open', () => outside.getConnections(home.peerId).some(c => c.limits == null))
    } finally {
      await sim.stop()
    }
  })
})

/** Resolves once `target` dispatches `type` and `done()` holds (checked at once too). */
async function pEvent (target: EventTarget, type: string, done: () => boolean): Promise<void> {
  if (done()) return
  await new Promise<void>(resolve => {
    const listener = (): void => {
      if (done()) {
        target.removeEventListener(type, listener)
        resolve()
      }
    }
    target.addEventListener(type, listener)
  })
}
