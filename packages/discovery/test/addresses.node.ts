import assert from 'node:assert/strict'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createTestNode, stoppedAfterEach, waitFor } from '@shoal/test-support'
import { discovery } from '../src/index.js'
import { KAD_PROTOCOL } from './nodes.js'
import type { Libp2p } from '@libp2p/interface'

describe('@shoal/discovery: our addresses change', function () {
  this.timeout(30_000)
  const nodes = stoppedAfterEach<Libp2p>()

  it('signs the record again with the /p2p-circuit address a relay reservation adds', async () => {
    const relay = await createTestNode({ services: { identify: identify(), relay: circuitRelayServer() } })
    nodes.push(relay)
    // a provider behind NAT: it looks for a relay among the peers it connects to
    const provider = await createTestNode({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'] },
      transports: [tcp(), circuitRelayTransport()],
      connectionMonitor: { enabled: false },
      services: {
        identify: identify(),
        ping: ping(),
        dht: kadDHT({ protocol: KAD_PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper }),
        discovery: discovery({ addressChangeDebounceMs: 100, provideTimeoutMs: 1000 })
      }
    })
    nodes.push(provider)
    const circuitIn = (addrs: Uint8Array[]): boolean => addrs.some(a => multiaddr(a).toString().includes('/p2p-circuit'))

    const first = await provider.services.discovery.advertise({ geohash: 'xn76u', gpus: [{ model: 'RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 1 }], price: { perUnit: 1, currency: 'USDC', unit: 'job' } })
    assert.ok(!circuitIn(first.record.value.addrs), 'no relayed address before the reservation')

    await provider.dial(relay.getMultiaddrs()[0])
    await waitFor(() => provider.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit')), 'the relay reservation')
    await waitFor(() => circuitIn(provider.services.discovery.currentRecord?.value.addrs ?? []), 'the record listing the relayed address')
    const record = provider.services.discovery.currentRecord
    assert.ok(record != null && record.value.seq > first.record.value.seq)
    assert.equal(record.value.price?.perUnit, 1, 'the same offer, signed again')
  })
})
