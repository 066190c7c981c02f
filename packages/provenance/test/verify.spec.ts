import assert from 'node:assert/strict'
import { CaptureAttestationType, WorkReceiptType, openCountersigned, signBytes, signRecord } from '@shoal/records'
import { party } from '@shoal/test-support'
import { toHex } from '@shoal/utils'
import fc from 'fast-check'
import { attestCapture, createDevice, deviceDigest, encodeCaptureProof, hashChunk, mediaRate, verifyCapture, verifyCaptureProof } from '../src/index.js'
import { HOUR, T0, honestCapture, receipt, statement } from './fixtures.js'
import type { Honest } from './fixtures.js'
import type { CaptureRefusalCode, CaptureVerdict, VerifyContext } from '../src/index.js'
import type { PeerId } from '@libp2p/interface'
import type { Party } from '@shoal/test-support'

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
        fc.pre(total < mediaRate('video/mp4')!.minBytesPerSecond * claimed)
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

  describe('rules a forger passed', () => {
    const CID = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'
    let withCid: Honest
    before(async () => {
      withCid = await honestCapture(3, 2, { contentCid: CID })
    })

    it('footage-missing: with requireFootage, no footage or no content CID verifies no second', async () => {
      await fc.assert(fc.asyncProperty(fc.boolean(), fc.boolean(), fc.boolean(), async (require, given, cid) => {
        const c = cid ? withCid : h
        const v = await verifyHonest(c, { requireFootage: require }, given)
        if (require && (!given || !cid)) {
          assertFatal(v, 'footage-missing')
        } else {
          assert.deepEqual(v.reasons, [], 'without requireFootage, or with footage and its CID, nothing changes')
          assert.equal(v.ok, true)
        }
      }), { numRuns: 16 })
      const none = await verifyHonest(withCid, { requireFootage: true }, false)
      assert.match(none.reasons[0].explain, /no footage given/)
      const noCid = await verifyHonest(h, { requireFootage: true })
      assert.match(noCid.reasons[0].explain, /no content CID/)
    })

    it('media-type-unknown: any type without its own or a type/* entry, unless the rates opt in to */*', async () => {
      const c = await honestCapture(2, 2)
      const token = fc.stringMatching(/^[a-z][a-z0-9.+-]{0,10}$/)
      await fc.assert(fc.asyncProperty(token, token, async (top, sub) => {
        const mediaType = `${top}/${sub}`
        fc.pre(!['video', 'audio', 'image'].includes(top) && mediaType !== 'application/octet-stream')
        const att = await attestCapture({ chunks: c.chunks, mediaType, startedMs: T0, geohash: 'w21z6', sensors: ['gps'] }, c.capturer.key, c.device)
        const statements = await Promise.all(c.witnesses.map(async w => statement(w, att)))
        const v = await verifyCapture(att, statements, { chunks: c.chunks }, c.context)
        assertFatal(v, 'media-type-unknown')
        assert.deepEqual(codes(v), ['media-type-unknown'], 'one reason, no chunk of it implausible')
        const optIn = await verifyCapture(att, statements, { chunks: c.chunks }, { ...c.context, mediaRates: { '*/*': { minBytesPerSecond: 1, maxBytesPerSecond: 1 << 30 } } })
        assert.equal(optIn.ok, true, JSON.stringify(optIn.reasons))
      }), { numRuns: 8 })
      // and rates given replace the defaults: video/mp4 unknown to rates that only know audio
      assertFatal(await verifyHonest(c, { mediaRates: { 'audio/*': { minBytesPerSecond: 1, maxBytesPerSecond: 1 << 20 } } }), 'media-type-unknown')
    })

    it('media-type-mismatch: a video bounty needs video/*, an audio one audio/* or video/*', async () => {
      const c = await honestCapture(2, 2)
      const attest = async (mediaType: string): Promise<[Awaited<ReturnType<typeof attestCapture>>, Uint8Array[]]> => {
        const att = await attestCapture({ chunks: c.chunks, mediaType, startedMs: T0, geohash: 'w21z6', sensors: ['video', 'audio', 'gps'] }, c.capturer.key, c.device)
        return [att, await Promise.all(c.witnesses.map(async w => (await statement(w, att)).bytes))]
      }
      for (const [mediaType, sensors, ok] of [
        ['audio/opus', ['video'], false],
        ['application/octet-stream', ['video', 'gps'], false],
        ['image/jpeg', ['audio'], false],
        ['application/octet-stream', ['gps'], true],
        ['audio/opus', ['audio'], true],
        ['video/webm', ['audio'], true],
        ['video/mp4', ['video', 'audio'], true]
      ] as Array<[string, string[], boolean]>) {
        const [att, statements] = await attest(mediaType)
        const v = await verifyCapture(att, statements, { chunks: c.chunks }, { ...c.context, sensors })
        if (ok) {
          assert.equal(v.ok, true, `${mediaType} for ${sensors.join(',')}: ${JSON.stringify(v.reasons)}`)
        } else {
          assertFatal(v, 'media-type-mismatch')
        }
      }
    })

    it('verifiedSeconds: the verified chunks\' milliseconds, rounded down (4001 ms verify 4 s)', async () => {
      const c = await honestCapture(10, 2)
      await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 10_000 }), fc.option(fc.nat(9), { nil: undefined }), async (durationMs, gap) => {
        const n = Math.ceil(durationMs / 1000)
        const chunks = c.chunks.slice(0, n)
        const att = await attestCapture({ chunks, durationMs, mediaType: 'video/mp4', startedMs: T0, geohash: 'w21z6', sensors: [] }, c.capturer.key, c.device)
        const statements = await Promise.all(c.witnesses.map(async w => statement(w, att)))
        const missing = gap != null && gap < n ? gap : undefined
        const given = chunks.map((chunk, i) => i === missing ? undefined : chunk)
        const chunkHashes = chunks.map((chunk, i) => i === missing ? hashChunk(chunk) : undefined)
        const v = await verifyCapture(att, statements, { chunks: given, chunkHashes }, c.context)
        const verifiedMs = durationMs - (missing == null ? 0 : Math.min(1000, durationMs - missing * 1000))
        assert.equal(v.claimedSeconds, n)
        assert.deepEqual(v.verifiedChunks, chunks.map((_, i) => i).filter(i => i !== missing))
        assert.equal(v.verifiedSeconds, Math.floor(verifiedMs / 1000), `${durationMs} ms, chunk ${String(missing)} missing`)
        assert.equal(v.ok, v.verifiedSeconds > 0)
      }), { numRuns: 25, examples: [[4001, undefined], [4500, 4], [999, undefined], [1500, 0]] })
    })

    describe('observedAddr', () => {
      /** multiaddr bytes of /ip4/a.b.c.d/tcp/4001 */
      const ip4 = (octets: number[]): Uint8Array => new Uint8Array([0x04, ...octets, 0x06, 0x0f, 0xa1])
      /** multiaddr bytes of /ip6/…/tcp/4001 */
      const ip6 = (bytes: readonly number[]): Uint8Array => new Uint8Array([0x29, ...bytes, 0x06, 0x0f, 0xa1])
      const octet = fc.integer({ min: 0, max: 255 })
      const privateV4 = fc.oneof(
        fc.tuple(fc.constant(127), octet, octet, octet),
        fc.tuple(fc.constant(10), octet, octet, octet),
        fc.tuple(fc.constant(172), fc.integer({ min: 16, max: 31 }), octet, octet),
        fc.tuple(fc.constant(192), fc.constant(168), octet, octet),
        fc.tuple(fc.constant(169), fc.constant(254), octet, octet),
        fc.tuple(fc.constant(100), fc.integer({ min: 64, max: 127 }), octet, octet)
      ).map(ip4)
      const privateV6 = fc.oneof(
        fc.constant<number[]>([...new Array<number>(15).fill(0), 1]), // ::1
        fc.tuple(fc.constant(0xfe), fc.integer({ min: 0x80, max: 0xbf }), fc.array(octet, { minLength: 14, maxLength: 14 })).map(([a, b, rest]) => [a, b, ...rest]), // fe80::/10
        fc.tuple(fc.integer({ min: 0xfc, max: 0xfd }), fc.array(octet, { minLength: 15, maxLength: 15 })).map(([a, rest]) => [a, ...rest]), // fc00::/7
        fc.tuple(fc.constant([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127]), octet, octet, octet).map(([p, b, c, d]) => [...p, b, c, d]) // ::ffff:127.x.y.z
      ).map(ip6)

      it('witness-sybil-address: a witness that saw the capturer at a loopback, private, link-local or CGNAT address', async () => {
        const [w0] = h.witnesses
        await fc.assert(fc.asyncProperty(fc.oneof(privateV4, privateV6), async (observedAddr) => {
          const s = await statement(w0, h.attestation, { observedAddr })
          const v = await verifyCapture(h.attestation, [s, ...h.statements.slice(1)], undefined, h.context)
          assertOnlyWitnessRefused(v, 'witness-sybil-address', w0.peerId.toString())
          assert.match(v.reasons.find(r => r.code === 'witness-sybil-address')!.explain, /not a public address/)
          const allowed = await verifyCapture(h.attestation, [s, ...h.statements.slice(1)], undefined, { ...h.context, allowPrivateAddresses: true })
          assert.deepEqual(allowed.reasons, [], 'a LAN or testnet verifier allows them')
        }), { numRuns: 30 })
      })

      it('a public observedAddr, or none, or a non-IP one, is no sybil by itself', async () => {
        const [w0] = h.witnesses
        for (const observedAddr of [ip4([8, 8, 4, 4]), ip6([0x26, 0x06, 0x47, 0, 0x47, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11, 0x11]), new Uint8Array(), new Uint8Array([0x01, 0x02])]) {
          const s = await statement(w0, h.attestation, { observedAddr })
          const v = await verifyCapture(h.attestation, [s, ...h.statements.slice(1)], undefined, h.context)
          assert.deepEqual(v.reasons, [], toHex(observedAddr))
        }
      })
    })

    describe('witness history', () => {
      /** the counterparties of the honest history's receipts: peers the verifier knows */
      const realCounterparties = new Set<string>()
      before(async () => {
        for (const bytes of h.history) {
          realCounterparties.add((await openCountersigned(WorkReceiptType, bytes, { ignoreTime: true })).countersigner.toString())
        }
      })
      const knownHere = (...more: Party[]) => (p: PeerId): boolean => realCounterparties.has(p.toString()) || more.some(m => m.peerId.equals(p))

      it('witness-no-history: with `established`, a history with made-up counterparties counts for nothing', async () => {
        const [w0] = h.witnesses
        await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 4 }), async (n) => {
          // w0 mints receipts with keys of its own making, backdated as it likes
          const madeUp = await Promise.all(Array.from({ length: n }, async () => receipt(w0, await party(), T0 - 48 * HOUR)))
          const history = [...madeUp, ...h.history.slice(1)]
          const v = await verifyHonest(h, { history, established: knownHere() })
          assertOnlyWitnessRefused(v, 'witness-no-history', w0.peerId.toString())
          assert.match(v.reasons.find(r => r.code === 'witness-no-history')!.explain, new RegExp(`${n} receipt\\(s\\) of history with counterparties unknown here`))
          // without `established`, history is taken at its word (as before)
          assert.deepEqual((await verifyHonest(h, { history })).reasons, [])
        }), { numRuns: 4 })
      })

      it('an established counterparty of history counts', async () => {
        const [w0] = h.witnesses
        const known = await party()
        const history = [await receipt(known, w0, T0 - 3 * HOUR), ...h.history.slice(1)]
        const v = await verifyHonest(h, { history, established: knownHere(known) })
        assert.deepEqual(v.reasons, [])
      })

      it('witness-too-new: only established counterparties\' receipts date a witness', async () => {
        const [w0] = h.witnesses
        const known = await party()
        // a fresh receipt with a peer the verifier knows, and a backdated one with a key w0 made
        const history = [await receipt(known, w0, T0 - 10 * 60_000), await receipt(w0, await party(), T0 - 48 * HOUR), ...h.history.slice(1)]
        const established = knownHere(known)
        const v = await verifyHonest(h, { history, established })
        assertOnlyWitnessRefused(v, 'witness-too-new', w0.peerId.toString())
        // counterparties known only to the verifier have no dates: no age rule for them
        const only = await verifyHonest(h, { history: h.history.slice(1), established, counterparties: p => p.equals(w0.peerId) ? [known.peerId.toString()] : [] })
        assert.deepEqual(only.reasons, [])
      })

      it('counts the history\'s and the verifier\'s counterparties as one set, never the capture\'s own parties', async () => {
        const [w0, w1, w2] = h.witnesses
        const x = await party()
        const y = await party()
        const history = [await receipt(w0, x, T0 - 2 * HOUR), ...h.history.slice(1)]
        const two = { history, minWitnessCounterparties: 2 }
        // the other witnesses are known here with two counterparties each
        const of = (list: string[]) => (p: PeerId): string[] => p.equals(w0.peerId) ? list : [x.peerId.toString(), y.peerId.toString()]
        // x twice (history and the verifier's own receipts) is one counterparty
        const same = await verifyHonest(h, { ...two, counterparties: of([x.peerId.toString()]) })
        assertOnlyWitnessRefused(same, 'witness-no-history', w0.peerId.toString())
        // the capturer, the other witnesses and the witness itself never count
        const own = await verifyHonest(h, { ...two, counterparties: of([x.peerId.toString(), h.capturer.peerId.toString(), w1.peerId.toString(), w2.peerId.toString(), w0.peerId.toString()]) })
        assertOnlyWitnessRefused(own, 'witness-no-history', w0.peerId.toString())
        // another peer makes two
        assert.deepEqual((await verifyHonest(h, { ...two, counterparties: of([x.peerId.toString(), y.peerId.toString()]) })).reasons, [])
        // the deprecated `standing` count is not added to history's either
        const standing = await verifyHonest(h, { ...two, standing: p => p.equals(w0.peerId) ? 1 : 2 })
        assertOnlyWitnessRefused(standing, 'witness-no-history', w0.peerId.toString())
      })
    })
  })
})
