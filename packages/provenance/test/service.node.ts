import assert from 'node:assert/strict'
import { WorkReceiptType, openCountersigned } from '@shoal/records'
import { stoppedAfterEach, waitFor } from '@shoal/test-support'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { createLibp2p } from 'libp2p'
import { identify } from '@libp2p/identify'
import { MemoryBlockstore } from 'blockstore-core'
import { toHex } from '@shoal/utils'
import { DEVICE_KEY, WITNESS_PROTOCOL, createFootageStore, decodeCaptureProof, hashChunk, syntheticSource } from '../src/index.js'
import { BERLIN, BERLIN_NEAR, MADRID, memoryNode, provenanceNode } from './nodes.js'
import type { CaptureSource, FootageStore } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'
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

  describe('fixes', () => {
    const others = stoppedAfterEach<Libp2p>()
    const stores = stoppedAfterEach<FootageStore>()

    /** A capturer and two honest free witnesses, connected. */
    async function trio (init: ProvenanceInit = {}): Promise<{ capturer: ProvenanceNode, w1: ProvenanceNode, w2: ProvenanceNode }> {
      const capturer = await start({ geohash: BERLIN_NEAR, ...init })
      const w1 = await start({ geohash: BERLIN, witness: { rounds: 2 } })
      const w2 = await start({ geohash: BERLIN_NEAR, witness: { rounds: 2 } })
      await connected(capturer, w1, w2)
      return { capturer, w1, w2 }
    }

    /** A source of `chunks` chunks whatever duration is asked. */
    function stopsAfter (chunks: number): CaptureSource {
      const inner = source()
      return {
        mediaType: inner.mediaType,
        sensors: inner.sensors,
        async * record (durationMs, options) {
          let n = 0
          for await (const chunk of inner.record(durationMs, options)) {
            if (n++ >= chunks) {
              return
            }
            yield chunk
          }
        }
      }
    }

    it('a candidate that speaks the protocol but never answers open does not fail the capture when two honest witnesses watch', async () => {
      const { capturer, w1, w2 } = await trio()
      const silent = await memoryNode({ identify: identify() })
      others.push(silent)
      await silent.handle(WITNESS_PROTOCOL, () => {})
      await capturer.dial(silent.getMultiaddrs())
      const capture = await capturer.services.provenance.capture(source(), { durationMs: 2000, witnesses: [silent.peerId, w1.peerId, w2.peerId] })
      assert.equal(capture.statements.length, 2)
      assert.equal(capture.verdict.ok, true, JSON.stringify(capture.verdict.reasons))
      assert.equal(capture.verdict.verifiedSeconds, 2)
    })

    it('a source that stops early is attested for what it recorded; one that records nothing fails the capture', async () => {
      const { capturer, w1, w2 } = await trio()
      const capture = await capturer.services.provenance.capture(stopsAfter(1), { durationMs: 3000, witnesses: [w1.peerId, w2.peerId] })
      assert.equal(capture.chunks.length, 1)
      assert.equal(capture.attestation.value.durationMs, 1000)
      assert.equal(capture.verdict.ok, true, JSON.stringify(capture.verdict.reasons))
      assert.equal(capture.verdict.verifiedSeconds, 1)
      await assert.rejects(capturer.services.provenance.capture(stopsAfter(0), { durationMs: 2000, witnesses: [w1.peerId, w2.peerId] }), { name: 'CaptureFailedError' })
    })

    it('two proofs of the same footage verified at once with remember: one passes, the other is a replay', async () => {
      const { capturer, w1, w2 } = await trio()
      const verifier = await start({ geohash: BERLIN })
      const same = (): CaptureSource => syntheticSource({ realTime: false, bytesPerSecond: 8192, seed: 42 })
      const a = await capturer.services.provenance.capture(same(), { durationMs: 1000, witnesses: [w1.peerId, w2.peerId] })
      const b = await capturer.services.provenance.capture(same(), { durationMs: 1000, witnesses: [w1.peerId, w2.peerId] })
      assert.deepEqual(a.attestation.value.contentHash, b.attestation.value.contentHash)
      const verdicts = await Promise.all([a, b].map(async c => verifier.services.provenance.verify(c.proof, { remember: true })))
      assert.deepEqual(verdicts.map(v => v.ok).sort(), [false, true], JSON.stringify(verdicts.map(v => v.reasons)))
      assert.ok(verdicts.find(v => !v.ok)?.reasons.some(r => r.code === 'replay'))
    })

    it('footage is fetched only for a proof that could pass, within the seconds paid for and this node\'s byte limit; a failing fetch verifies no second but does not throw', async () => {
      const { capturer, w1, w2 } = await trio()
      const verifier = await start({ geohash: BERLIN, maxFootageBytes: 100 })
      const offline = await createFootageStore()
      stores.push(offline)
      capturer.services.provenance.footage = offline
      const capture = await capturer.services.provenance.capture(source(), { durationMs: 2000, witnesses: [w1.peerId, w2.peerId] })
      const asked: Array<{ maxBytes?: number, maxChunks?: number }> = []
      verifier.services.provenance.footage = {
        async add () { return '' },
        async has () { return false },
        async stop () {},
        async list () { return [] },
        async get (_cid, options = {}) {
          asked.push({ maxBytes: options.maxBytes, maxChunks: options.maxChunks })
          throw new Error('no peer has it')
        }
      }
      assert.notEqual(capture.cid, '')
      assert.ok(capture.attestation.value.contentBytes > 100)
      // a fatal refusal without footage: nothing fetched
      const wrong = await verifier.services.provenance.verify(capture.proof, { capturer: w1.peerId, fetchFootage: true })
      assert.ok(wrong.reasons.some(r => r.code === 'wrong-capturer'))
      // longer than paid for: nothing fetched, nothing verified
      const long = await verifier.services.provenance.verify(capture.proof, { fetchFootage: true, maxSeconds: 1 })
      assert.equal(long.ok, false)
      assert.equal(long.verifiedSeconds, 0)
      assert.deepEqual(asked, [])
      // otherwise fetched, at most this node's limit, and a failure is missing footage
      const failed = await verifier.services.provenance.verify(capture.proof, { fetchFootage: true, maxSeconds: 2 })
      assert.deepEqual(asked, [{ maxBytes: 100, maxChunks: 2 }])
      assert.equal(failed.ok, false)
      assert.ok(failed.reasons.some(r => r.code === 'chunk-missing'))
    })

    it('with one chunk missing over bitswap the others verify (bound by the listing\'s hashes) and are remembered', async () => {
      const { capturer, w1, w2 } = await trio()
      const verifier = await start({ geohash: BERLIN })
      const blockstore = new MemoryBlockstore()
      const held = await createFootageStore({ libp2p: capturer, blockstore })
      const fetching = await createFootageStore({ libp2p: verifier, chunkTimeoutMs: 500 })
      stores.push(held, fetching)
      capturer.services.provenance.footage = held
      verifier.services.provenance.footage = fetching
      const capture = await capturer.services.provenance.capture(source(), { durationMs: 3000, witnesses: [w1.peerId, w2.peerId] })
      const entries = await held.list(capture.cid)
      await blockstore.delete(entries[1].cid)
      await verifier.dial(capturer.getMultiaddrs())

      const verdict = await verifier.services.provenance.verify(capture.proof, { remember: true, signal: AbortSignal.timeout(30_000) })
      assert.equal(verdict.ok, true, JSON.stringify(verdict.reasons))
      assert.deepEqual(verdict.verifiedChunks, [0, 2])
      assert.ok(verdict.reasons.some(r => r.code === 'chunk-missing' && r.chunk === 1))
      const replays = verifier.services.provenance.replays
      assert.ok(replays.seen(toHex(hashChunk(capture.chunks[0]))) != null)
      assert.ok(replays.seen(toHex(hashChunk(capture.chunks[2]))) != null)
    })

    it('a witness\'s history that proves nothing (not receipts, or not its own) is left out of the proof', async () => {
      const capturer = await start({ geohash: BERLIN_NEAR })
      const honest = await start({ geohash: BERLIN, witness: { rounds: 2 } })
      const padded = await start({ geohash: BERLIN_NEAR, witness: { rounds: 2 } })
      await connected(capturer, honest, padded)
      // the padded witness lists its real receipt, then entries whose bytes are no receipt
      const store = padded.services.receipts
      const list = store.list.bind(store)
      store.list = async function * (options) {
        const real = []
        for await (const r of list(options)) {
          real.push(r)
          yield r
        }
        if (options?.provider != null && real.length > 0) {
          for (let i = 0; i < 3; i++) {
            yield { ...real[0], bytes: new Uint8Array(3000).fill(i + 1), value: { ...real[0].value, requester: new Uint8Array(38).fill(i + 1) } }
          }
        }
      }
      const capture = await capturer.services.provenance.capture(source(), { durationMs: 1000, witnesses: [honest.peerId, padded.peerId] })
      assert.equal(capture.statements.length, 2)
      assert.equal(decodeCaptureProof(capture.proof).history.length, 2)
      assert.equal(capture.verdict.ok, true, JSON.stringify(capture.verdict.reasons))
    })
  })
})
