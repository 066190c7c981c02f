import { strict as assert } from 'node:assert'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { Registry } from 'prom-client'
import { createShoalNode, metricsRegistry } from '../src/index.js'
import { Reachability, reachabilityStatus, relayOf } from '../src/reachability.js'
import { registerShoalMetrics } from '../src/metrics.js'
import { LOCAL } from './fixtures/local.js'
import { waitFor } from './fixtures/wait.js'
import type { ShoalNode } from '../src/index.js'
import type { ReachabilityComponents } from '../src/reachability.js'
import type { Connection } from '@libp2p/interface'

const RELAY = '12D3KooWLQpEFwiqwmxzTSkXTXTEMR6kETJ2iCp563tq7GUGUEmF'
const PEER = '12D3KooWJBDjb3DUMK2Hvy32aMQ6JboGUGxrQRuvHTnHgesvteJP'

/** An address as libp2p's address manager reports it. */
function addr (ma: string, verified: boolean, expires = 0): { multiaddr: ReturnType<typeof multiaddr>, verified: boolean, expires: number } {
  return { multiaddr: multiaddr(ma), verified, expires }
}

describe('reachability', () => {
  describe('status from the addresses', () => {
    it('public with a verified public address, relayed with only a relay address, unknown while a public one awaits AutoNAT, private otherwise', () => {
      const circuit = `/ip4/7.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit`
      assert.equal(reachabilityStatus([addr('/ip4/7.0.0.9/tcp/4001', true), addr(circuit, true)]), 'public')
      assert.equal(reachabilityStatus([addr('/ip4/192.168.1.2/tcp/4001', true), addr(circuit, true)]), 'relayed')
      assert.equal(reachabilityStatus([addr('/ip4/192.168.1.2/tcp/4001', true), addr('/ip4/7.0.0.2/tcp/4001', false)]), 'unknown')
      assert.equal(reachabilityStatus([addr('/ip4/192.168.1.2/tcp/4001', true), addr('/ip4/7.0.0.2/tcp/4001', false, Date.now() + 60_000)]), 'private')
      assert.equal(reachabilityStatus([addr('/ip4/127.0.0.1/tcp/4001', true)]), 'private')
      assert.equal(relayOf(multiaddr(`${circuit}/p2p/${PEER}`)), RELAY)
    })
  })

  describe('counting connections', () => {
    function stub (connections: Array<Pick<Connection, 'limits' | 'remoteAddr' | 'remotePeer'>>): { reachability: Reachability, open(c: Pick<Connection, 'limits' | 'remoteAddr' | 'remotePeer'>): void } {
      const events = new EventTarget()
      const components = {
        addressManager: { getAddressesWithMetadata: () => [addr(`/ip4/7.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit`, true)] },
        connectionManager: { getConnections: () => connections },
        events
      } as unknown as ReachabilityComponents
      const reachability = new Reachability(components)
      reachability.start()
      return { reachability, open: (c) => { events.dispatchEvent(new CustomEvent('connection:open', { detail: c })) } }
    }

    it('counts relayed and direct connections, and a relayed peer that gets a direct connection as one upgrade', () => {
      const peer = peerIdFromString(PEER)
      const relayed = { limits: { bytes: 131072n, seconds: 120 }, remoteAddr: multiaddr(`/ip4/7.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`), remotePeer: peer }
      const direct = { limits: undefined, remoteAddr: multiaddr('/ip4/7.0.0.2/tcp/4001'), remotePeer: peer }
      const { reachability, open } = stub([relayed, direct])
      open(direct)
      open(relayed)
      open(direct)
      open(direct)
      const status = reachability.status()
      assert.deepEqual(reachability.connectionsOpened, { direct: 3, relayed: 1 })
      assert.equal(status.directUpgrades, 1, 'a direct connection after a relayed one is an upgrade, once')
      assert.equal(status.relayedOpened, 1)
      assert.deepEqual(status.connections, { direct: 1, relayed: 1 })
      assert.deepEqual(status.relays, [RELAY])
      assert.equal(status.status, 'relayed')
      reachability.stop()
      open(relayed)
      assert.equal(reachability.status().relayedOpened, 1, 'stopped, it counts nothing')
    })
  })

  describe('a node with a relay reservation', () => {
    let nodes: ShoalNode[] = []

    afterEach(async () => {
      await Promise.all(nodes.map(async n => { await n.stop() }))
      nodes = []
    })

    it('reports its relayed address and the relay, in status and metrics', async () => {
      const relay = await createShoalNode({ ...LOCAL, role: 'bootstrap' })
      nodes.push(relay)
      const relayAddr = relay.getMultiaddrs()[0]
      const client = await createShoalNode({ ...LOCAL, metrics: true, metricsRegistry: new Registry(), bootstrap: [relayAddr.toString()], reachability: { autonat: false, relayClient: true, holePunching: false } })
      nodes.push(client)
      registerShoalMetrics(client)
      const status = await waitFor('a relay reservation', () => {
        const s = client.services.reachability.status()
        return s.relays.length > 0 ? s : undefined
      })
      assert.deepEqual(status.relays, [relay.peerId.toString()])
      assert.ok(status.relayed.length > 0 && status.relayed.every(a => a.includes(`/p2p/${relay.peerId.toString()}/p2p-circuit`)), status.relayed.join(', '))
      assert.ok(status.addresses.includes(status.relayed[0]))
      // a loopback address is verified but private: reachable only through the relay
      assert.equal(status.status, 'relayed')
      assert.deepEqual(status.connections, { direct: 1, relayed: 0 })
      assert.equal(relay.services.reachability.status().connections.direct, 1)

      const text = await metricsRegistry(client)?.metrics() ?? ''
      assert.match(text, /shoal_node_relay_reservations 1/)
      assert.match(text, /shoal_node_reachability\{status="relayed"\} 1/)
      assert.match(text, /shoal_node_connections_opened_total\{kind="direct"\} 1/)
      assert.match(text, /shoal_node_direct_upgrades_total 0/)
    })
  })
})
