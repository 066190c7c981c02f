import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { MAX_MESSAGE_SIZE, WitnessMessage, WorkReceiptType, openCountersigned } from '@shoal/records'
import { stoppedAfterEach, waitFor } from '@shoal/test-support'
import { sha256 } from '@shoal/utils'
import fc from 'fast-check'
import {
  WITNESS_PROTOCOL, WitnessHandler, attestCapture, createDevice, decodeWitnessMessage, encodeWitnessMessage, openWitnessSession, syntheticSource
} from '../src/index.js'
import { BERLIN, BERLIN_NEAR, MADRID, memoryNode, memoryReceipts, seedHistory } from './nodes.js'
import type { WitnessHandlerInit, WitnessResult } from '../src/index.js'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Price } from '@shoal/records'
import type { ReceiptStore } from '@shoal/receipts'

const log = defaultLogger().forComponent('shoal:provenance:test')
const PRICE: Price = { perUnit: 3, currency: 'USDC', unit: 'witness' }

interface Witness {
  node: Libp2p
  key: PrivateKey
  handler: WitnessHandler
  receipts: ReceiptStore
  refused: string[]
}

describe('/shoal/witness/1.0.0 (real nodes over the memory transport)', function () {
  this.timeout(60_000)
  const nodes = stoppedAfterEach<Libp2p>()

  /** A witness node; `latency` delays each message on connections to it (both ways), ms. */
  async function witness (init: Partial<WitnessHandlerInit> = {}, latency = 0): Promise<Witness> {
    const key = await generateKeyPair('Ed25519')
    const node = await memoryNode({}, { privateKey: key, latency })
    nodes.push(node)
    const receipts = await memoryReceipts()
    await seedHistory(receipts, key)
    const refused: string[] = []
    const handler = new WitnessHandler({
      peerId: node.peerId,
      privateKey: key,
      log,
      geohash: BERLIN,
      rounds: 3,
      receipts: () => receipts,
      onRefused: (r) => { refused.push(r.code) },
      ...init
    })
    await node.handle(WITNESS_PROTOCOL, handler.handle)
    return { node, key, handler, receipts, refused }
  }

  async function capturer (): Promise<{ node: Libp2p, key: PrivateKey }> {
    const key = await generateKeyPair('Ed25519')
    const node = await memoryNode({}, { privateKey: key })
    nodes.push(node)
    return { node, key }
  }

  /** One capture of `durationMs` at `geohash`, witnessed by `w`: the statement, or the refusal thrown. */
  async function witnessed (c: { node: Libp2p, key: PrivateKey }, w: Witness, geohash: string, options: { durationMs?: number, receipts?: ReceiptStore, maxPrice?: Price } = {}): Promise<WitnessResult> {
    const durationMs = options.durationMs ?? 1500
    const stream = await c.node.dialProtocol(w.node.getMultiaddrs(), WITNESS_PROTOCOL)
    const startedMs = Date.now()
    const session = await openWitnessSession(stream, w.node.peerId, { privateKey: c.key, log, geohash, startedMs, durationMs, maxPrice: options.maxPrice, receipts: options.receipts })
    const chunks: Uint8Array[] = []
    for await (const chunk of syntheticSource({ realTime: false, bytesPerSecond: 4096 }).record(durationMs, {})) {
      chunks.push(chunk)
    }
    await new Promise(resolve => setTimeout(resolve, startedMs + durationMs - Date.now()))
    const attestation = await attestCapture({ chunks, mediaType: 'video/mp4', startedMs, durationMs, geohash, sensors: ['video'] }, c.key, await createDevice(c.key))
    const result = await session.attest(attestation)
    assert.ok(session.answered >= 1)
    return result
  }

  it('signs a statement of the RTT it measured, bills it, and both sides keep the countersigned receipt', async () => {
    const w = await witness({ price: PRICE })
    const c = await capturer()
    const capturerReceipts = await memoryReceipts()
    const result = await witnessed(c, w, BERLIN_NEAR, { receipts: capturerReceipts, maxPrice: { perUnit: 5, currency: 'USDC', unit: 'witness' } })

    const s = result.statement.value
    assert.ok(result.statement.signer.equals(w.node.peerId))
    assert.equal(s.geohash, BERLIN)
    assert.ok(s.rounds >= 1 && s.rounds <= 3)
    assert.ok(s.windowEndMs >= s.windowStartMs)
    assert.ok(s.observedAddr.byteLength > 0)
    assert.equal(result.history.length, 1)

    const receipt = result.receipt
    assert.ok(receipt != null)
    assert.deepEqual(receipt.record.value.resultHash, sha256(result.statement.bytes))
    assert.equal(receipt.record.value.total, 3)
    assert.ok(receipt.countersigner.equals(c.node.peerId))
    assert.ok(await capturerReceipts.has(receipt.id))
    await waitFor(async () => w.receipts.has(receipt.id), 'the witness stored the countersigned receipt')
    const stored = await w.receipts.get(receipt.id)
    await openCountersigned(WorkReceiptType, stored.bytes)
  })

  it('a free witness sends no receipt; a priced one is declined by a capturer that accepts no price', async () => {
    const free = await witness()
    const c = await capturer()
    const result = await witnessed(c, free, BERLIN)
    assert.equal(result.receipt, undefined)

    const priced = await witness({ price: PRICE })
    await assert.rejects(witnessed(c, priced, BERLIN), { name: 'WitnessRefusedError', code: 'price' })
  })

  it('refuses a cell nearer than it claims: loopback RTT under the fibre floor to a cell ~1870 km away', async () => {
    const w = await witness({ rtt: { maxWitnessKm: 10_000 } })
    const c = await capturer()
    await assert.rejects(witnessed(c, w, MADRID), { name: 'WitnessRefusedError', code: 'witness-rtt-below-floor' })
    assert.deepEqual(w.refused, ['witness-rtt-below-floor'])
  })

  it('refuses a cell farther than the RTT allows: a capturer 60 ms away claiming the next cell', async () => {
    // the capturer dials, so the delay sits on the witness's listener: 30 ms each way
    const w = await witness({}, 30)
    const c = await capturer()
    await assert.rejects(witnessed(c, w, BERLIN_NEAR), { name: 'WitnessRefusedError', code: 'witness-rtt-above-ceiling' })
    assert.deepEqual(w.refused, ['witness-rtt-above-ceiling'])
  })

  it('refuses at open: disabled, too far, too long, no geohash', async () => {
    const c = await capturer()
    const cases: Array<[Partial<WitnessHandlerInit>, string, number, string]> = [
      [{ enabled: false }, BERLIN, 1000, 'refused'],
      [{}, MADRID, 1000, 'too-far'],
      [{ maxDurationMs: 500 }, BERLIN, 1000, 'too-long'],
      [{}, 'not-a-cell', 1000, 'invalid']
    ]
    for (const [init, geohash, durationMs, code] of cases) {
      const w = await witness(init)
      const stream = await c.node.dialProtocol(w.node.getMultiaddrs(), WITNESS_PROTOCOL)
      await assert.rejects(openWitnessSession(stream, w.node.peerId, { privateKey: c.key, log, geohash, startedMs: Date.now(), durationMs }), { name: 'WitnessRefusedError', code })
    }
  })

  it('survives any frames: random bytes, out-of-order and oversized messages get an error or a reset, and it witnesses after', async () => {
    const w = await witness({ rounds: 1 })
    const c = await capturer()
    const valid = fc.oneof(
      fc.record({ open: fc.record({ jobId: fc.uint8Array({ maxLength: 20 }), geohash: fc.string({ maxLength: 14 }), startedMs: fc.nat(), durationMs: fc.nat() }) }),
      fc.record({ echo: fc.record({ nonce: fc.uint8Array({ maxLength: 12 }) }) }),
      fc.record({ attest: fc.record({ attestation: fc.uint8Array({ maxLength: 200 }) }) }),
      fc.record({ countersign: fc.record({ receipt: fc.uint8Array({ maxLength: 200 }) }) })
    ).map(m => encodeWitnessMessage(m as WitnessMessage))
    const frame = fc.oneof(fc.uint8Array({ maxLength: 300 }), valid)
    await fc.assert(fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 4 }), async (frames) => {
      const stream = await c.node.dialProtocol(w.node.getMultiaddrs(), WITNESS_PROTOCOL)
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_SIZE.WitnessMessage })
      try {
        for (const f of frames) {
          await lp.write(f, { signal: AbortSignal.timeout(2_000) })
        }
        // whatever it answers must be a frame of the protocol (or nothing: a reset)
        const answer = await lp.read({ signal: AbortSignal.timeout(2_000) })
        decodeWitnessMessage(answer)
      } catch {
        // a reset or closed stream is a fine answer to garbage
      } finally {
        stream.abort(new Error('done'))
      }
    }), { numRuns: 25 })
    // an oversized frame is refused by its length alone
    const stream = await c.node.dialProtocol(w.node.getMultiaddrs(), WITNESS_PROTOCOL)
    await lpStream(stream, { maxDataLength: 10 * MAX_MESSAGE_SIZE.WitnessMessage }).write(new Uint8Array(MAX_MESSAGE_SIZE.WitnessMessage + 1)).catch(() => {})
    stream.abort(new Error('done'))

    await waitFor(() => w.handler.running === 0, 'the handler to finish every stream')
    const result = await witnessed(c, w, BERLIN, { durationMs: 1000 })
    assert.ok(result.statement.signer.equals(w.node.peerId))
    assert.equal(peerIdFromPrivateKey(w.key).toString(), w.node.peerId.toString())
  })

  it('a capturer that leaves mid-recording frees the witness at once, and stop() ends witnessings under way', async () => {
    // two rounds over a minute: the witness sleeps 30 s after the first echo
    const w = await witness({ rounds: 2, maxConcurrent: 1 })
    const c = await capturer()
    const open = async (): Promise<Awaited<ReturnType<typeof openWitnessSession>>> => {
      const stream = await c.node.dialProtocol(w.node.getMultiaddrs(), WITNESS_PROTOCOL)
      const session = await openWitnessSession(stream, w.node.peerId, { privateKey: c.key, log, geohash: BERLIN, startedMs: Date.now(), durationMs: 60_000 })
      await waitFor(() => session.answered >= 1, 'the first echo')
      return session
    }
    const first = await open()
    assert.equal(w.handler.running, 1)
    first.close()
    await waitFor(() => w.handler.running === 0, 'the witness to notice its capturer left', 3_000)

    // the slot is free: another capturer is watched, until the witness stops
    const second = await open()
    assert.equal(w.handler.running, 1)
    w.handler.stop()
    await waitFor(() => w.handler.running === 0, 'stop() to end the witnessing', 3_000)
    second.close()
  })
})

describe('witness frames', () => {
  it('decode exactly one message per frame or throw InvalidWitnessMessageError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      try {
        const { kind, message } = decodeWitnessMessage(bytes)
        assert.ok(message[kind] != null)
      } catch (err: any) {
        assert.equal(err.name, 'InvalidWitnessMessageError')
      }
    }), { numRuns: 2000 })
    assert.throws(() => decodeWitnessMessage(WitnessMessage.encode({ echo: { nonce: new Uint8Array(8) }, attest: { attestation: new Uint8Array(1) } })), { name: 'InvalidWitnessMessageError' })
    assert.throws(() => decodeWitnessMessage(new Uint8Array(0)), { name: 'InvalidWitnessMessageError' })
    assert.throws(() => decodeWitnessMessage(new Uint8Array(MAX_MESSAGE_SIZE.WitnessMessage + 1)), { name: 'InvalidWitnessMessageError' })
  })
})
