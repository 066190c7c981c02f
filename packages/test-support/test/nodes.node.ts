import assert from 'node:assert/strict'
import { createTestNode, stoppedAfterEach } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'

describe('createTestNode', function () {
  this.timeout(30_000)
  const nodes = stoppedAfterEach<Libp2p>()

  it('listens on TCP 127.0.0.1 and connects to another test node (noise, yamux)', async () => {
    const [a, b] = await Promise.all([createTestNode(), createTestNode()])
    nodes.push(a, b)
    assert.match(a.getMultiaddrs()[0].toString(), /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
    const connection = await a.dial(b.getMultiaddrs()[0])
    assert.equal(connection.remotePeer.toString(), b.peerId.toString())
    assert.equal(connection.encryption, '/noise')
    assert.equal(connection.multiplexer, '/yamux/1.0.0')
  })

  it('lets an option replace a default', async () => {
    const node = await createTestNode({ addresses: { listen: [] } })
    nodes.push(node)
    assert.deepEqual(node.getMultiaddrs(), [])
  })
})
