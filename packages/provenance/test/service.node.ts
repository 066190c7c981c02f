import assert from 'node:assert/strict'
import { WorkReceiptType, openCountersigned } from '@shoal/records'
import { stoppedAfterEach, waitFor } from '@shoal/test-support'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { createLibp2p } from 'libp2p'
import { DEVICE_KEY, WITNESS_PROTOCOL, syntheticSource } from '../src/index.js'
import { BERLIN, BERLIN_NEAR, MADRID, provenanceNode } from './nodes.js'
import type { ProvenanceNode } from './nodes.js'
import type { ProvenanceInit } from '../src/index.js'
import type { StoredReceipt } from '@shoal/receipts'
import type { Price } from '@shoal/records'

const PRICE: Price = { perUnit: 2, currency: 'USDC', unit: 'witness' }
const source = (): ReturnType<typeof syntheticSource> => syntheticSource({ realTime: false, bytesPerSecond: 8192 })

describe('provenance service (real nodes over the memory transport)', function () {
  this.timeout(60_000)
  const nodes = stoppedAfterEach<ProvenanceNode>()

  async function start (init: ProvenanceInit, options: { history?: boolean } = {}): Promise<ProvenanceNode> {
    const node = await provenanceNode(init, options)
    nodes.push(node)
    return node
  }

  async function connected (capturer: ProvenanceNode, ...witnesses: ProvenanceNode[]): Promise<void> {
    for (const w of witnesses) {
      await capturer.dial(w.getMultiaddrs())
    }
    await waitFor(async () => {
      for (const w of witnesses) {
        if (!(await capturer.peerStore.get(w.peerId)).protocols.includes(WITNESS_PROTOCOL)) {
          return false
        }
      }
      return true
    }, 'identify to name the witness protocol')
  }

  it('captures with two witnesses: signed statements, a proof that verifies exactly its seconds, witness receipts countersigned on both sides', async () => {
    const capturer = await start({ geohash: BERLIN_NEAR, maxWitnessPrice: { perUnit: 5, currency: 'USDC', unit: 'witness' } })
    const w1 = await start({ geohash: BERLIN, witness: { price: PRICE, rounds: 3 } })
    const w2 = await start({ geohash: BERLIN_NEAR, witness: { rounds: 3 } })
    const verifier = await start({ geohash: BERLIN })
    await connected(capturer, w1, w2)
    const signed: string[] = []
    w1.services.provenance.addEventListener('witness:signed', () => { signed.push('w1') })
    w2.services.provenance.addEventListener('witness:signed', () => { signed.push('w2') })

    // no witnesses named: the connected peers that speak the protocol, nearest first
    const capture = await capturer.services.provenance.capture(source(), { durationMs: 3000 })
    assert.equal(capture.statements.length, 2)
    assert.deepEqual(signed.sort(), ['w1', 'w2'])
    assert.equal(capture.chunks.length, 3)
    assert.equal(capture.verdict.ok, true, JSON.stringify(capture.verdict.reasons))
    assert.equal(capture.verdict.verifiedSeconds, 3)

    const verdict = await verifier.services.provenance.verify(capture.proof, { capturer: capturer.peerId })
    assert.equal(verdict.ok, true, JSON.stringify(verdict.reasons))
    assert.equal(verdict.claimedSeconds, 3)
    assert.equal(verdict.verifiedSeconds, 3)
    assert.deepEqual(verdict.verifiedChunks, [0, 1, 2])
    assert.deepEqual(verdict.witnesses.map(w => w.accepted), [true, true])

    // the priced witness billed one witnessing; both sides hold it countersigned
    const billed: StoredReceipt[] = []
    for await (const r of capturer.services.receipts.list({ provider: w1.peerId })) {
      billed.push(r)
    }
    assert.equal(billed.length, 1)
    assert.equal(billed[0].value.total, 2)
    assert.deepEqual(billed[0].value.assignmentId, capture.attestation.id)
    await openCountersigned(WorkReceiptType, billed[0].bytes)
    await waitFor(async () => w1.services.receipts.has(billed[0].id), 'the witness to store its countersigned receipt')
    // the free witness billed nothing
    for await (const r of capturer.services.receipts.list({ provider: w2.peerId })) {
      assert.fail(`unexpected receipt ${String(r.id)}`)
    }
  })

  it('a proof with one witness is refused as too-few-witnesses', async () => {
    const capturer = await start({ geohash: BERLIN_NEAR, verify: { minWitnesses: 1 } })
    const w1 = await start({ geohash: BERLIN, witness: { rounds: 2 } })
    const verifier = await start({ geohash: BERLIN })
    await connected(capturer, w1)
    const capture = await capturer.services.provenance.capture(source(), { durationMs: 2000, witnesses: [w1.peerId] })
    assert.equal(capture.statements.length, 1)
    const verdict = await verifier.services.provenance.verify(capture.proof)
    assert.equal(verdict.ok, false)
    assert.equal(verdict.verifiedSeconds, 0)
    assert.ok(verdict.reasons.some(r => r.code === 'too-few-witnesses'), JSON.stringify(verdict.reasons))
  })

  it("a witness that is the capturer's second identity (a fresh key, no history) is refused as witness-no-history", async () => {
    const capturer = await start({ geohash: BERLIN_NEAR })
    const honest = await start({ geohash: BERLIN, witness: { rounds: 2 } })
    const sybil = await start({ geohash: BERLIN, witness: { rounds: 2 } }, { history: false })
    const verifier = await start({ geohash: BERLIN })
    await connected(capturer, honest, sybil)
    const capture = await capturer.services.provenance.capture(source(), { durationMs: 2000, witnesses: [honest.peerId, sybil.peerId] })
    assert.equal(capture.statements.length, 2)
    const verdict = await verifier.services.provenance.verify(capture.proof)
    const byPeer = new Map(verdict.witnesses.map(w => [w.witness, w]))
    assert.equal(byPeer.get(honest.peerId.toString())?.accepted, true)
    assert.equal(byPeer.get(sybil.peerId.toString())?.code, 'witness-no-history')
    assert.equal(verdict.ok, false)
    assert.ok(verdict.reasons.some(r => r.code === 'too-few-witnesses'))
  })

  it('fails before recording when too few witnesses would watch, and they say why', async () => {
    const capturer = await start({ geohash: MADRID })
    const w1 = await start({ geohash: BERLIN })
    const w2 = await start({ geohash: BERLIN })
    await connected(capturer, w1, w2)
    const refused: string[] = []
    w1.services.provenance.addEventListener('witness:refused', (evt) => { refused.push(evt.detail.code) })
    let recorded = false
    const watched = source()
    const spy = { mediaType: watched.mediaType, sensors: watched.sensors, record: (d: number, o: any) => { recorded = true; return watched.record(d, o) } }
    await assert.rejects(capturer.services.provenance.capture(spy, { durationMs: 2000, witnesses: [w1.peerId, w2.peerId] }), { name: 'CaptureFailedError' })
    assert.equal(recorded, false)
    assert.deepEqual(refused, ['too-far'])
  })

  it('keeps its capture device across restarts (the key in the datastore)', async () => {
    const datastore = new MemoryDatastore()
    const privateKey = await generateKeyPair('Ed25519')
    const first = await provenanceNode({ geohash: BERLIN }, { datastore, privateKey, history: false })
    const before = first.services.provenance.device
    await first.stop()
    assert.ok(before != null)
    assert.ok(await datastore.has(new Key(DEVICE_KEY)))
    const second = await provenanceNode({ geohash: BERLIN }, { datastore, privateKey, history: false })
    nodes.push(second)
    assert.deepEqual(second.services.provenance.device?.key.publicKey.raw, before.key.publicKey.raw)
  })

  it('starts without optional components', async () => {
    const { provenance } = await import('../src/index.js')
    const node = await createLibp2p({ services: { provenance: provenance({ geohash: BERLIN }) } })
    await node.stop()
  })
})
