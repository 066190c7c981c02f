import assert from 'node:assert/strict'
import { identify } from '@libp2p/identify'
import { createTestNode, stoppedAfterEach } from '@shoal/test-support'
import { createFootageStore, syntheticSource } from '../src/index.js'
import { collect } from './fixtures.js'
import type { FootageStore } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'

/** A node with identify, which tells bitswap that its peer speaks it. */
async function node (): Promise<Libp2p> {
  return createTestNode({ services: { identify: identify() } })
}

describe('footage store', function () {
  const nodes = stoppedAfterEach<Libp2p>()
  const stores = stoppedAfterEach<FootageStore>()

  it('stores footage offline as a directory of six-digit chunks, and reads it back', async () => {
    const store = await createFootageStore()
    stores.push(store)
    const chunks = await collect(syntheticSource({ realTime: false, seed: 5, bytesPerSecond: 300_000 }).record(3500, {}))
    const cid = await store.add(chunks)
    assert.match(cid, /^bafy/)
    assert.deepEqual(await store.get(cid), chunks)
    assert.equal(await store.has(cid), true)
    assert.equal(await store.add(chunks), cid, 'the same footage, the same CID')
    await assert.rejects(store.get(cid, { maxChunks: 3 }), { name: 'FootageError' })
    await assert.rejects(store.get(cid, { maxBytes: 300_000 }), { name: 'FootageError' })
    await assert.rejects(store.get('not a cid'), { name: 'FootageError' })
    assert.equal(await store.has('not a cid'), false)
  })

  it('refuses a CID that is a file, not footage', async () => {
    const store = await createFootageStore()
    stores.push(store)
    const dir = await store.add([new Uint8Array(10)])
    const listed = await store.get(dir)
    assert.equal(listed.length, 1)
    // a chunk's own CID is a file
    const { unixfs } = await import('@helia/unixfs')
    const { MemoryBlockstore } = await import('blockstore-core')
    const blockstore = new MemoryBlockstore()
    const fileCid = await unixfs({ blockstore }).addBytes(new Uint8Array(10))
    const same = await createFootageStore({ blockstore })
    stores.push(same)
    await assert.rejects(same.get(fileCid.toString()), { name: 'FootageError' })
  })

  it('fetches another node\'s footage by CID over bitswap, identical chunks', async () => {
    const a = await node()
    const b = await node()
    nodes.push(a, b)
    const storeA = await createFootageStore({ libp2p: a })
    const storeB = await createFootageStore({ libp2p: b })
    stores.push(storeA, storeB)
    const chunks = await collect(syntheticSource({ realTime: false, seed: 6, bytesPerSecond: 40_000 }).record(4000, {}))
    const cid = await storeA.add(chunks)
    assert.equal(await storeB.has(cid), false)
    await b.dial(a.getMultiaddrs()[0])
    const got = await storeB.get(cid, { signal: AbortSignal.timeout(30_000) })
    assert.deepEqual(got, chunks)
    assert.equal(await storeB.has(cid), true)
    // stopping Helia leaves the libp2p node running
    await storeB.stop()
    assert.equal(b.status, 'started')
  })

  it('refuses a CID no peer holds with FootageError once the signal ends', async () => {
    const a = await node()
    const b = await node()
    nodes.push(a, b)
    const storeA = await createFootageStore({ libp2p: a })
    const storeB = await createFootageStore({ libp2p: b })
    stores.push(storeA, storeB)
    await b.dial(a.getMultiaddrs()[0])
    const other = await createFootageStore()
    stores.push(other)
    const unknown = await other.add([new Uint8Array(5000).fill(7)])
    await assert.rejects(storeB.get(unknown, { signal: AbortSignal.timeout(1500) }), { name: 'FootageError' })
  })
})
