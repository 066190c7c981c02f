import assert from 'node:assert/strict'
import { identify } from '@libp2p/identify'
import { createTestNode, stoppedAfterEach } from '@shoal/test-support'
import { MemoryBlockstore } from 'blockstore-core'
import { createFootageStore, entryChunkHash, hashChunk, syntheticSource } from '../src/index.js'
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

  it('a chunk no peer serves is missing after the chunk timeout, the others arrive, and the listing names every raw-leaf chunk hash', async () => {
    const a = await node()
    const b = await node()
    nodes.push(a, b)
    const blockstore = new MemoryBlockstore()
    const storeA = await createFootageStore({ libp2p: a, blockstore })
    const storeB = await createFootageStore({ libp2p: b, chunkTimeoutMs: 500 })
    stores.push(storeA, storeB)
    const chunks = await collect(syntheticSource({ realTime: false, seed: 8, bytesPerSecond: 8192 }).record(3000, {}))
    const cid = await storeA.add(chunks)
    const entries = await storeA.list(cid)
    assert.deepEqual(entries.map(e => e.name), ['000000', '000001', '000002'])
    // small chunks are raw leaves: their CIDs' digests are the chunk hashes
    entries.forEach((entry, i) => { assert.deepEqual(entryChunkHash(entry.cid), hashChunk(chunks[i])) })
    await blockstore.delete(entries[1].cid)

    await b.dial(a.getMultiaddrs()[0])
    // the caller's deadline is far off: only the per-chunk timeout ends the wait for the missing block
    const got = await storeB.get(cid, { signal: AbortSignal.timeout(30_000) })
    assert.equal(got.length, 3)
    assert.deepEqual(got[0], chunks[0])
    assert.equal(got[1], undefined)
    assert.deepEqual(got[2], chunks[2])
    assert.deepEqual((await storeB.list(cid)).map(e => e.cid.toString()), entries.map(e => e.cid.toString()))
  })

  it('a listing no peer serves fails with FootageError after the listing timeout', async () => {
    const a = await node()
    nodes.push(a)
    const storeA = await createFootageStore({ libp2p: a, listTimeoutMs: 500 })
    stores.push(storeA)
    const other = await createFootageStore()
    stores.push(other)
    const unknown = await other.add([new Uint8Array(5000).fill(9)])
    await assert.rejects(storeA.list(unknown), { name: 'FootageError' })
    await assert.rejects(storeA.get(unknown), { name: 'FootageError' })
  })
})
