import assert from 'node:assert/strict'
import { MemoryDatastore } from 'datastore-core'
import { toHex } from '@shoal/utils'
import { ReplayIndex, hashChunk, verifyCapture } from '../src/index.js'
import { honestCapture } from './fixtures.js'
import type { Honest } from './fixtures.js'

describe('ReplayIndex', () => {
  let h: Honest
  before(async () => {
    h = await honestCapture(3, 2)
  })

  it('remembers the content hash and chunk hashes of a capture, and the verifier refuses them elsewhere', async () => {
    const index = new ReplayIndex()
    await index.add(h.attestation, h.chunks.map(hashChunk))
    assert.equal(index.size, 4)
    assert.deepEqual(index.seen(toHex(hashChunk(h.chunks[1]))), { attestationId: toHex(h.attestation.id), jobId: '' })
    assert.equal(index.seen('00'.repeat(32)), undefined)
    const again = await verifyCapture(h.attestation, h.statements, { chunks: h.chunks }, { ...h.context, seen: hex => index.seen(hex) })
    assert.equal(again.ok, true, 'the same attestation is no replay')
    const other = await honestCapture(3, 2)
    const replayed = await verifyCapture(other.attestation, other.statements, { chunks: other.chunks }, { ...other.context, seen: hex => index.seen(hex) })
    assert.equal(replayed.ok, false)
    assert.equal(replayed.reasons[0].code, 'replay')
  })

  it('drops the oldest hashes beyond its bound', async () => {
    const index = new ReplayIndex({ maxEntries: 3 })
    await index.add(h.attestation, h.chunks.map(hashChunk))
    assert.equal(index.size, 3)
    assert.equal(index.seen(toHex(h.attestation.value.contentHash)), undefined, 'the first added is dropped first')
    assert.ok(index.seen(toHex(hashChunk(h.chunks[2]))) != null)
  })

  it('survives a restart in the datastore, keeping its order and bound', async () => {
    const datastore = new MemoryDatastore()
    const first = new ReplayIndex({ datastore, maxEntries: 3 })
    await first.start()
    await first.add(h.attestation, h.chunks.map(hashChunk))
    const second = new ReplayIndex({ datastore, maxEntries: 3 })
    await second.start()
    assert.equal(second.size, 3)
    assert.equal(second.seen(toHex(h.attestation.value.contentHash)), undefined)
    assert.ok(second.seen(toHex(hashChunk(h.chunks[0]))) != null)
    const smaller = new ReplayIndex({ datastore, maxEntries: 1 })
    await smaller.start()
    assert.equal(smaller.size, 1)
    assert.ok(smaller.seen(toHex(hashChunk(h.chunks[2]))) != null, 'the newest is kept')
    let keys = 0
    for await (const _ of datastore.queryKeys({ prefix: '/shoal/provenance/replay/' })) { keys++ }
    assert.equal(keys, 1)
  })
})
