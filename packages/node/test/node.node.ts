import { strict as assert } from 'node:assert'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { createTestNode } from '@shoal/test-support'
import { MemoryDatastore } from 'datastore-core'
import { createShoalNode, SHOAL_DHT_PROTOCOL, shoalServices } from '../src/index.js'
import { LOCAL_DHT_SERVER } from './fixtures/local.js'
import { waitFor } from './fixtures/wait.js'
import type { ShoalCoreServices, ShoalNode } from '../src/index.js'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'


type EmbedderNode = Libp2p<{ identify: Identify, ping: Ping, pubsub: GossipSub, dht: KadDHT } & ShoalCoreServices>

describe('createShoalNode and shoalServices (in process)', function () {
  this.timeout(60_000)
  let nodes: Array<ShoalNode | EmbedderNode> = []
  let root: string

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'shoal-node-'))
  })

  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
    await rm(root, { recursive: true, force: true })
  })

  it('creates a full node with every service, keyed as documented', async () => {
    const node = await createShoalNode(LOCAL_DHT_SERVER)
    nodes.push(node)
    for (const key of ['identify', 'ping', 'dht', 'pubsub', 'receipts', 'router', 'jobs', 'discovery', 'work']) {
      assert.ok(key in node.services, `missing service ${key}`)
    }
    assert.equal(node.services.relay, undefined, 'no relay server outside the bootstrap role')
    assert.ok(node.getProtocols().includes(SHOAL_DHT_PROTOCOL))
    assert.ok(!node.getProtocols().includes('/ipfs/kad/1.0.0'), 'not on the IPFS DHT')
  })

  it('the bootstrap role runs a relay server', async () => {
    const node = await createShoalNode({ ...LOCAL_DHT_SERVER, role: 'bootstrap' })
    nodes.push(node)
    assert.notEqual(node.services.relay, undefined)
    assert.equal(node.services.dht.getMode(), 'server')
  })

  it('keeps its identity and peer store in the data dir', async () => {
    const dataDir = join(root, 'data')
    const a = await createShoalNode({ ...LOCAL_DHT_SERVER, dataDir })
    const b = await createShoalNode(LOCAL_DHT_SERVER)
    nodes.push(b)
    await a.dial(b.getMultiaddrs()[0])
    const id = a.peerId.toString()
    await a.stop()
    assert.equal((await stat(join(dataDir, 'identity.key'))).mode & 0o777, 0o600)

    const again = await createShoalNode({ ...LOCAL_DHT_SERVER, dataDir })
    nodes.push(again)
    assert.equal(again.peerId.toString(), id)
    assert.ok(await again.peerStore.has(b.peerId), 'the peer store survived the restart')
  })

  it('meets a node found on the local network again after both restart on their data dirs (mDNS)', async function () {
    this.timeout(120_000)
    const local = { ...LOCAL_DHT_SERVER, mdns: true }
    const dirs = [join(root, 'a'), join(root, 'b')]
    const meet = async (a: ShoalNode, b: ShoalNode): Promise<void> => {
      await waitFor('the two nodes to find each other by mDNS', () => a.getConnections(b.peerId).length > 0 ? true : undefined, 45_000, 250)
    }
    let [a, b] = await Promise.all(dirs.map(async dataDir => createShoalNode({ ...local, dataDir })))
    nodes.push(a, b)
    await meet(a, b)
    await Promise.all([a.stop(), b.stop()])
    // both peer stores now know the other: libp2p announces no `peer:discovery` for a known peer
    ;[a, b] = await Promise.all(dirs.map(async dataDir => createShoalNode({ ...local, dataDir })))
    nodes.push(a, b)
    assert.ok(await a.peerStore.has(b.peerId), 'the peer store kept the other node')
    await meet(a, b)
  })

  it('refuses a data dir another node holds', async () => {
    const dataDir = join(root, 'held')
    const a = await createShoalNode({ ...LOCAL_DHT_SERVER, dataDir })
    nodes.push(a)
    await assert.rejects(createShoalNode({ ...LOCAL_DHT_SERVER, dataDir }), { name: 'DataDirLockedError' })
  })

  it('embeds the Shoal services in a node built by hand and talks to a full node', async () => {
    const full = await createShoalNode(LOCAL_DHT_SERVER)
    nodes.push(full)
    const own: EmbedderNode = await createTestNode({
      datastore: new MemoryDatastore(),
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub(),
        dht: kadDHT({ protocol: SHOAL_DHT_PROTOCOL, peerInfoMapper: passthroughMapper, clientMode: false }),
        ...shoalServices()
      }
    })
    nodes.push(own)
    await own.dial(full.getMultiaddrs()[0])
    const rtt = await own.services.ping.ping(full.peerId)
    assert.ok(rtt >= 0)
    assert.equal(own.services.receipts.head().length, 0)
    assert.ok(own.getProtocols().includes('/shoal/work/1.0.0'))
  })
})
