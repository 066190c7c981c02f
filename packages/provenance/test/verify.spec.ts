import assert from 'node:assert/strict'
import { CaptureAttestationType, signBytes, signRecord } from '@shoal/records'
import { party } from '@shoal/test-support'
import { toHex } from '@shoal/utils'
import fc from 'fast-check'
import { attestCapture, createDevice, deviceDigest, encodeCaptureProof, hashChunk, mediaRate, verifyCapture, verifyCaptureProof } from '../src/index.js'
import { HOUR, T0, honestCapture, receipt, statement } from './fixtures.js'
import type { Honest } from './fixtures.js'
import type { CaptureRefusalCode, CaptureVerdict, VerifyContext } from '../src/index.js'

function codes (v: CaptureVerdict): CaptureRefusalCode[] {
  return v.reasons.map(r => r.code)
}

function assertFatal (v: CaptureVerdict, code: CaptureRefusalCode): void {
  assert.equal(v.ok, false, `refused ${code}: ${JSON.stringify(v.reasons)}`)
  assert.equal(v.verifiedSeconds, 0)
  assert.ok(v.reasons.some(r => r.code === code && r.fatal), `expected fatal ${code}, got ${JSON.stringify(v.reasons)}`)
  assert.ok(v.reasons[0].fatal, 'fatal reasons first')
}

function assertOnlyWitnessRefused (v: CaptureVerdict, code: CaptureRefusalCode, witness: string): void {
  const r = v.reasons.find(r => r.code === code)
  assert.ok(r != null, `expected ${code}, got ${JSON.stringify(v.reasons)}`)
  assert.equal(r.fatal, false)
  assert.equal(r.witness, witness)
  assert.equal(v.witnesses.find(w => w.witness === witness)?.accepted, false)
  assert.equal(v.witnesses.find(w => w.witness === witness)?.code, code)
}

async function verifyHonest (h: Honest, over: VerifyContext = {}, footage = true): Promise<CaptureVerdict> {
  return verifyCapture(h.attestation.bytes, h.statements.map(s => s.bytes), footage ? { chunks: h.chunks } : undefined, { ...h.context, ...over })
}

describe('verifyCapture', function () {
  let h: Honest
  before(async () => {
    h = await honestCapture(5, 3)
  })

  it('verifies exactly the seconds of an honest capture with its witnesses', async () => {
    const v = await verifyHonest(h, { minWitnesses: 2 })
    assert.deepEqual(v.reasons, [])
    assert.equal(v.ok, true)
    assert.equal(v.claimedSeconds, 5)
    assert.equal(v.verifiedSeconds, 5)
    assert.deepEqual(v.verifiedChunks, [0, 1, 2, 3, 4])
    assert.equal(v.accepted.length, 3)
    assert.ok(v.witnesses.every(w => w.accepted && w.floorMs != null && w.ceilingMs != null))
    assert.equal(toHex(v.attestation!.id), toHex(h.attestation.id))
  })

  it('verifies with two witnesses, and without the footage', async () => {
    const two = await honestCapture(3, 2)
    const v = await verifyCapture(two.attestation, two.statements, undefined, two.context)
    assert.equal(v.ok, true)
    assert.equal(v.verifiedSeconds, 3)
  })

  it('verifies a CaptureProof, its history inside', async () => {
    const proof = encodeCaptureProof({ attestation: h.attestation.bytes, witnesses: h.statements.map(s => s.bytes), history: h.history })
    const v = await verifyCaptureProof(proof, { chunks: h.chunks }, { ...h.context, history: undefined })
    assert.equal(v.ok, true)
    assert.equal(v.verifiedSeconds, 5)
    const bad = await verifyCaptureProof(new Uint8Array([0xff, 0xff]), undefined, h.context)
    assertFatal(bad, 'attestation-invalid')
  })

  it('never throws for any bytes', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 3 }), async (att, ws) => {
      const v = await verifyCapture(att, ws, { chunks: [att] }, {})
      assert.equal(v.ok, false)
      const p = await verifyCaptureProof(att, undefined, {})
      assert.equal(p.ok, false)
    }), { numRuns: 200 })
  })

  describe('the attestation', () => {
    it('attestation-invalid: a flipped byte', async () => {
      const bytes = h.attestation.bytes.slice()
      bytes[bytes.length - 3] ^= 1
      assertFatal(await verifyCapture(bytes, h.statements, undefined, h.context), 'attestation-invalid')
    })

    it('attestation-invalid: an attestation ending in the future', async () => {
      assertFatal(await verifyHonest(h, { now: T0 - HOUR }), 'attestation-invalid')
    })

    it('device-binding-invalid: none, another peer\'s, another device key\'s', async () => {
      const other = await party()
      const otherDevice = await createDevice(other.key)
      const mine = await createDevice(h.capturer.key)
      for (const deviceBinding of [new Uint8Array(), otherDevice.binding.bytes, mine.binding.bytes]) {
        const v = { ...h.attestation.value, deviceBinding }
        v.deviceSignature = await signBytes(h.device.key, deviceDigest(v))
        const att = await signRecord(CaptureAttestationType, v, h.capturer.key)
        const verdict = await verifyCapture(att, [], undefined, h.context)
        assertFatal(verdict, 'device-binding-invalid')
        assert.ok(!codes(verdict).includes('device-signature-invalid'), 'the device did sign')
      }
    })

    it('device-signature-invalid: any field changed after the device signed', async () => {
      await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 3 }), async (how) => {
        const v = { ...h.attestation.value }
        switch (how) {
          case 0: v.startedMs += 1; break
          case 1: v.geohash = 'w21z7'; break
          case 2: v.contentCid = 'bafyother'; break
          default: v.deviceSignature = new Uint8Array(64)
        }
        const att = await signRecord(CaptureAttestationType, v, h.capturer.key)
        assertFatal(await verifyCapture(att, [], undefined, h.context), 'device-signature-invalid')
      }), { numRuns: 8 })
    })

    it('wrong-capturer, wrong-job, wrong-assignment', async () => {
      const other = await party()
      assertFatal(await verifyHonest(h, { capturer: other.peerId }), 'wrong-capturer')
      assertFatal(await verifyHonest(h, { jobId: new Uint8Array(16).fill(1) }), 'wrong-job')
      assertFatal(await verifyHonest(h, { assignmentId: new Uint8Array(32).fill(1) }), 'wrong-assignment')
      const ok = await verifyHonest(h, { capturer: h.capturer.peerId, jobId: new Uint8Array(), assignmentId: new Uint8Array() })
      assert.equal(ok.ok, true)
    })

    it('outside-region and missing-sensor', async () => {
      assertFatal(await verifyHonest(h, { region: 'u4' }), 'outside-region')
      assert.equal((await verifyHonest(h, { region: 'w21' })).ok, true)
      const v = await verifyHonest(h, { sensors: ['video', 'lidar'] })
      assertFatal(v, 'missing-sensor')
      assert.match(v.reasons[0].explain, /lidar/)
    })

    it('starts-before-assignment: any backdated start beyond the skew', async () => {
      await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 10 * HOUR }), async (backdated) => {
        const skew = 1000
        assertFatal(await verifyHonest(h, { assignedMs: T0 + skew + backdated, clockSkewMs: skew }, false), 'starts-before-assignment')
      }), { numRuns: 10 })
      assert.equal((await verifyHonest(h, { assignedMs: T0 + 1000, clockSkewMs: 1000 })).ok, true)
    })

    it('ends-after-result', async () => {
      assertFatal(await verifyHonest(h, { resultMs: T0 + 5000 - 1001, clockSkewMs: 1000 }), 'ends-after-result')
      assert.equal((await verifyHonest(h, { resultMs: T0 + 4000, clockSkewMs: 1000 })).ok, true)
    })

    it('duration-mismatch: a duration that is not one second per chunk', async () => {
      const att = await attestCapture({ chunks: h.chunks, durationMs: 9000, mediaType: 'video/mp4', startedMs: T0, geohash: 'w21z6', sensors: [] }, h.capturer.key, h.device)
      const v = await verifyCapture(att, await Promise.all(h.witnesses.map(async w => statement(w, att))), undefined, h.context)
      assertFatal(v, 'duration-mismatch')
      assert.match(v.reasons[0].explain, /5 chunks attested for 9 s \(9 expected\)/)
    })

    it('bytes-implausible: any claimed duration with too few bytes', async () => {
      await fc.assert(fc.asyncProperty(fc.integer({ min: 2, max: 120 }), fc.integer({ min: 1, max: 4 }), async (claimed, chunkKiB) => {
        const perChunk = chunkKiB * 1024
        // at least one second short of what video needs for the claimed duration
        const chunks = Array.from({ length: claimed }, () => new Uint8Array(perChunk))
        const total = perChunk * claimed
        fc.pre(total < mediaRate('video/mp4').minBytesPerSecond * claimed)
        const att = await attestCapture({ chunkHashes: chunks.map(hashChunk), contentBytes: total, contentHash: new Uint8Array(32), mediaType: 'video/mp4', startedMs: T0, geohash: 'w21z6', sensors: [] }, h.capturer.key, h.device)
        assertFatal(await verifyCapture(att, [], undefined, h.context), 'bytes-implausible')
      }), { numRuns: 15 })
    })

    it('bytes-implausible: 60 s claimed for 6 s of bytes', async () => {
      const six = await honestCapture(6, 0)
      const chunks = [...six.chunks, ...Array.from({ length: 54 }, () => new Uint8Array(1))]
      const att = await attestCapture({ chunks, mediaType: 'video/mp4', startedMs: T0, geohash: 'w21z6', sensors: [] }, six.capturer.key, six.device)
      assertFatal(await verifyCapture(att, [], undefined, six.context), 'bytes-implausible')
    })

    it('replay: footage or a chunk already attested by another attestation', async () => {
      const other = { attestationId: 'ab'.repeat(32), jobId: 'cd'.repeat(16) }
      const contentHex = toHex(h.attestation.value.contentHash)
      assertFatal(await verifyHonest(h, { seen: hex => hex === contentHex ? other : undefined }), 'replay')
      const chunkHex = toHex(hashChunk(h.chunks[2]))
      assertFatal(await verifyHonest(h, { seen: hex => hex === chunkHex ? other : undefined }), 'replay')
      const itself = { attestationId: toHex(h.attestation.id), jobId: '' }
      assert.equal((await verifyHonest(h, { seen: () => itself })).ok, true, 'the same attestation again is no replay')
    })
  })

  describe('the footage', () => {
    it('chunk-root-mismatch: any mutated chunk', async () => {
      await fc.assert(fc.asyncProperty(fc.nat(4), fc.nat(), fc.integer({ min: 1, max: 255 }), async (i, pos, x) => {
        const chunks = h.chunks.map(c => c.slice())
        chunks[i][pos % chunks[i].length] ^= x
        assertFatal(await verifyCapture(h.attestation, h.statements, { chunks }, h.context), 'chunk-root-mismatch')
      }), { numRuns: 10 })
    })

    it('chunk-root-mismatch: chunks reordered, or another count', async () => {
      const swapped = [h.chunks[1], h.chunks[0], ...h.chunks.slice(2)]
      assertFatal(await verifyCapture(h.attestation, h.statements, { chunks: swapped }, h.context), 'chunk-root-mismatch')
      assertFatal(await verifyCapture(h.attestation, h.statements, { chunks: h.chunks.slice(1) }, h.context), 'chunk-root-mismatch')
    })

    it('chunk-missing: that second unverified when the missing hash binds the rest; refused without it', async () => {
      const chunks = [...h.chunks] as Array<Uint8Array | undefined>
      chunks[3] = undefined
      const chunkHashes = [undefined, undefined, undefined, hashChunk(h.chunks[3])]
      const v = await verifyCapture(h.attestation, h.statements, { chunks, chunkHashes }, h.context)
      assert.equal(v.ok, true)
      assert.deepEqual(v.verifiedChunks, [0, 1, 2, 4])
      assert.deepEqual(v.reasons.map(r => [r.code, r.chunk, r.fatal]), [['chunk-missing', 3, false]])
      const wrongHash = await verifyCapture(h.attestation, h.statements, { chunks, chunkHashes: [undefined, undefined, undefined, new Uint8Array(32)] }, h.context)
      assertFatal(wrongHash, 'chunk-root-mismatch')
      const unbound = await verifyCapture(h.attestation, h.statements, { chunks }, h.context)
      assertFatal(unbound, 'chunk-root-mismatch')
      assert.ok(codes(unbound).includes('chunk-missing'))
    })

    it('content-mismatch: the root holds but the content hash or byte count does not', async () => {
      const att = await attestCapture({ chunkHashes: h.chunks.map(hashChunk), contentBytes: 5 * 8192, contentHash: new Uint8Array(32).fill(3), mediaType: 'video/mp4', startedMs: T0, geohash: 'w21z6', sensors: [] }, h.capturer.key, h.device)
      assertFatal(await verifyCapture(att, [], { chunks: h.chunks }, h.context), 'content-mismatch')
    })

    it('chunk-implausible: one chunk too small for a second, the others verified', async () => {
      const c = await honestCapture(3, 2)
      const chunks = [c.chunks[0], new Uint8Array(100), c.chunks[2]]
      const att = await attestCapture({ chunks, mediaType: 'video/mp4', startedMs: T0, geohash: 'w21z6', sensors: [] }, c.capturer.key, c.device)
      const statements = await Promise.all(c.witnesses.map(async w => statement(w, att)))
      const v = await verifyCapture(att, statements, { chunks }, c.context)
      assert.equal(v.ok, true)
      assert.deepEqual(v.verifiedChunks, [0, 2])
      assert.deepEqual(v.reasons.map(r => [r.code, r.chunk]), [['chunk-implausible', 1]])
    })
  })

  describe('the witnesses', () => {
    it('witness-invalid, and too-few-witnesses once it is left out', async () => {
      const bytes = h.statements[0].bytes.slice()
      bytes[bytes.length - 1] ^= 1
      const v = await verifyCapture(h.attestation, [bytes, h.statements[1].bytes], undefined, h.context)
      assert.deepEqual(v.witnesses.map(w => [w.accepted, w.code]), [[false, 'witness-invalid'], [true, undefined]])
      assertFatal(v, 'too-few-witnesses')
      assert.match(v.reasons[0].explain, /1 witness\(es\) accepted, 2 needed/)
    })

    it('witness-other-capture: about another attestation or capturer', async () => {
      const other = await honestCapture(2, 1)
      const v = await verifyHonest(h, {}, false)
      assert.equal(v.ok, true)
      const w = h.witnesses[0]
      const aboutOther = await statement(w, other.attestation)
      const v2 = await verifyCapture(h.attestation, [aboutOther, ...h.statements.slice(1)], undefined, h.context)
      assertOnlyWitnessRefused(v2, 'witness-other-capture', w.peerId.toString())
      assert.equal(v2.ok, true, 'two others remain')
    })

    it('witness-self and witness-duplicate', async () => {
      const self = await statement(h.capturer, h.attestation)
      const v = await verifyCapture(h.attestation, [self, h.statements[0], h.statements[0]], undefined, h.context)
      assert.deepEqual(v.witnesses.map(w => w.code), ['witness-self', undefined, 'witness-duplicate'])
      assertFatal(v, 'too-few-witnesses')
    })

    it('witness-window: watched only part of the recording', async () => {
      const w = h.witnesses[0]
      const late = await statement(w, h.attestation, { windowStartMs: T0 + 3000, windowEndMs: T0 + 5000 })
      const v = await verifyCapture(h.attestation, [late, ...h.statements.slice(1)], undefined, h.context)
      assertOnlyWitnessRefused(v, 'witness-window', w.peerId.toString())
      const early = await statement(w, h.attestation, { windowStartMs: T0 - 10_000, windowEndMs: T0 + 2000 })
      assertOnlyWitnessRefused(await verifyCapture(h.attestation, [early], undefined, h.context), 'witness-window', w.peerId.toString())
      const within = await statement(w, h.attestation, { windowStartMs: T0 + 1500, windowEndMs: T0 + 3500 })
      assert.equal((await verifyCapture(h.attestation, [within], undefined, { ...h.context, minWitnesses: 1 })).ok, true, 'within the 2 s tolerance')
    })

    it('witness-rtt-below-floor, witness-rtt-above-ceiling, witness-too-far', async () => {
      const w = h.witnesses[0]
      const id = w.peerId.toString()
      const fast = await statement(w, h.attestation, { geohash: 'w21zs', rttMs: 0 })
      assertOnlyWitnessRefused(await verifyCapture(h.attestation, [fast], undefined, { ...h.context, rtt: { toleranceMs: 0 } }), 'witness-rtt-below-floor', id)
      const slow = await statement(w, h.attestation, { rttMs: 900 })
      assertOnlyWitnessRefused(await verifyCapture(h.attestation, [slow], undefined, h.context), 'witness-rtt-above-ceiling', id)
      const far = await statement(w, h.attestation, { geohash: 'u4pru', rttMs: 30 })
      assertOnlyWitnessRefused(await verifyCapture(h.attestation, [far], undefined, h.context), 'witness-too-far', id)
    })

    it('witness-sybil-address: a public address shared with the capturer, not a private one', async () => {
      const [w0, w1, w2] = h.witnesses
      const hosts = new Map([
        [h.capturer.peerId.toString(), ['203.0.114.7', '192.168.1.2', '/ip4/127.0.0.1/tcp/4001']],
        [w0.peerId.toString(), ['/ip4/203.0.114.7/tcp/4001']],
        [w1.peerId.toString(), ['192.168.1.2', '127.0.0.1']],
        [w2.peerId.toString(), ['8.8.4.4']]
      ])
      const v = await verifyHonest(h, { addresses: p => hosts.get(p.toString()) ?? [] })
      assertOnlyWitnessRefused(v, 'witness-sybil-address', w0.peerId.toString())
      assert.deepEqual(v.witnesses.map(w => w.accepted), [false, true, true])
      assert.match(v.reasons.find(r => r.code === 'witness-sybil-address')!.explain, /203\.0\.114\.7/)
      // the capturer as the witness saw it, at one of the witness's own addresses
      const observed = await statement(w2, h.attestation, { observedAddr: new Uint8Array([0x04, 8, 8, 4, 4, 0x06, 0x0f, 0xa1]) })
      const v2 = await verifyCapture(h.attestation, [observed], undefined, { ...h.context, addresses: p => hosts.get(p.toString()) ?? [] })
      assertOnlyWitnessRefused(v2, 'witness-sybil-address', w2.peerId.toString())
    })

    it('witness-no-history: only receipts with the capturer or another witness', async () => {
      const [w0, w1] = h.witnesses
      const history = [await receipt(w0, h.capturer, T0 - 2 * HOUR), await receipt(w1, w0, T0 - 2 * HOUR), ...h.history.slice(1)]
      const v = await verifyHonest(h, { history })
      assertOnlyWitnessRefused(v, 'witness-no-history', w0.peerId.toString())
      assert.equal(v.ok, true)
      // the verifier's own view vouches instead
      const vouched = await verifyHonest(h, { history, standing: (p, exclude) => { assert.equal(exclude.length, 3); return p.equals(w0.peerId) ? 1 : 0 } })
      assert.deepEqual(vouched.reasons, [])
      // two counterparties required
      const two = await verifyHonest(h, { minWitnessCounterparties: 2 })
      assertFatal(two, 'too-few-witnesses')
      assert.ok(codes(two).filter(c => c === 'witness-no-history').length === 3)
    })

    it('witness-too-new: its oldest independent receipt ends just before the capture', async () => {
      const w0 = h.witnesses[0]
      const history = [await receipt(await party(), w0, T0 - 10 * 60_000), ...h.history.slice(1)]
      const v = await verifyHonest(h, { history })
      assertOnlyWitnessRefused(v, 'witness-too-new', w0.peerId.toString())
      assert.equal((await verifyHonest(h, { history, minWitnessAgeMs: 5 * 60_000 })).ok, true)
    })

    it('too-few-witnesses: none at all', async () => {
      const v = await verifyCapture(h.attestation, [], { chunks: h.chunks }, h.context)
      assertFatal(v, 'too-few-witnesses')
      assert.deepEqual(codes(v), ['too-few-witnesses'])
    })
  })
})
