import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { party } from '@shoal/test-support'
import {
  CaptureAttestationType, DeviceBindingType, MAX_CAPTURE_WITNESSES, MAX_MESSAGE_SIZE, MAX_WITNESS_HISTORY, openRecord, signRecord, verifyBytes
} from '@shoal/records'
import { equalBytes } from '@shoal/utils'
import fc from 'fast-check'
import {
  MEDIA_RATES, attestCapture, bytesFitDuration, chunkInclusionPath, chunkRoot, createDevice, decodeCaptureProof, deviceDigest,
  encodeCaptureProof, hashChunk, mediaRate, sensorMediaMismatch, syntheticSource, verifyChunkInclusion, verifyDeviceBinding
} from '../src/index.js'
import { decodeDeviceKey } from '../src/device.js'
import type { CaptureProofParts } from '../src/index.js'

const hashesArb = fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 40 })

async function collect (source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const c of source) {
    out.push(c)
  }
  return out
}

describe('chunks', () => {
  it('hashes a chunk with SHA-256', () => {
    const chunk = new Uint8Array([1, 2, 3])
    assert.deepEqual(hashChunk(chunk), new Uint8Array(createHash('sha256').update(chunk).digest()))
  })

  it('proves every chunk of any capture under its root', () => {
    fc.assert(fc.property(hashesArb, (hashes) => {
      const root = chunkRoot(hashes)
      for (let i = 0; i < hashes.length; i++) {
        assert.ok(verifyChunkInclusion(root, hashes[i], i, hashes.length, chunkInclusionPath(hashes, i)), `chunk ${i} of ${hashes.length}`)
      }
    }), { numRuns: 50 })
  })

  it('refuses a chunk under another index or root, another chunk, or a mutated hash', () => {
    const distinct = fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 2, maxLength: 40, selector: h => Buffer.from(h).toString('hex') })
    fc.assert(fc.property(distinct, fc.nat(), fc.nat(31), (hashes, iSeed, byte) => {
      const i = iSeed % hashes.length
      const root = chunkRoot(hashes)
      const path = chunkInclusionPath(hashes, i)
      const mutated = hashes[i].slice()
      mutated[byte] ^= 1
      assert.equal(verifyChunkInclusion(root, mutated, i, hashes.length, path), false)
      assert.equal(verifyChunkInclusion(root, hashes[i], (i + 1) % hashes.length, hashes.length, path), false)
      assert.equal(verifyChunkInclusion(root, hashes[(i + 1) % hashes.length], i, hashes.length, path), false)
      assert.equal(verifyChunkInclusion(chunkRoot(hashes.slice(1)), hashes[i], i, hashes.length, path), false)
    }), { numRuns: 50 })
  })

  it('changes the root when the order of the chunks changes', () => {
    const a = hashChunk(new Uint8Array([1]))
    const b = hashChunk(new Uint8Array([2]))
    assert.ok(!equalBytes(chunkRoot([a, b]), chunkRoot([b, a])))
  })
})

describe('media rates', () => {
  it('matches a type, then its wildcard, ignoring parameters and case; knows no other type', () => {
    assert.equal(mediaRate('video/mp4'), MEDIA_RATES['video/*'])
    assert.equal(mediaRate('Video/MP4; codecs="avc1.42E01E"'), MEDIA_RATES['video/*'])
    assert.equal(mediaRate('audio/opus'), MEDIA_RATES['audio/*'])
    assert.equal(mediaRate('application/octet-stream'), MEDIA_RATES['application/octet-stream'])
    assert.equal(mediaRate('text/plain'), undefined)
    assert.equal(mediaRate('nonsense'), undefined)
    assert.equal(mediaRate('application/json'), undefined, 'application/octet-stream is no application/* entry')
    assert.ok(!Object.hasOwn(MEDIA_RATES, '*/*'), 'no catch-all by default')
    const own = { 'video/mp4': { minBytesPerSecond: 10, maxBytesPerSecond: 20 } }
    assert.equal(mediaRate('video/mp4', own), own['video/mp4'])
    assert.equal(mediaRate('video/webm', own), undefined, 'rates replace the defaults')
    const any = { ...MEDIA_RATES, '*/*': { minBytesPerSecond: 1, maxBytesPerSecond: 2 } }
    assert.equal(mediaRate('text/plain', any), any['*/*'], 'a catch-all is an opt-in of the rates given')
    assert.equal(mediaRate('video/mp4', any), MEDIA_RATES['video/*'])
  })

  it('property: a type with neither its own nor its type/* entry has no bounds, and no bytes fit it', () => {
    const token = fc.stringMatching(/^[a-z0-9][a-z0-9.+-]{0,12}$/)
    fc.assert(fc.property(token, token, fc.nat(), fc.integer({ min: 1, max: 3600 }), (top, sub, bytes, seconds) => {
      const type = `${top}/${sub}`
      fc.pre(!['video', 'audio', 'image'].includes(top) && type !== 'application/octet-stream')
      assert.equal(mediaRate(type), undefined)
      assert.equal(bytesFitDuration(type, bytes, seconds), false)
    }))
  })

  it('sensorMediaMismatch: video needs video/*, audio needs audio/* or video/*, other sensors anything', () => {
    assert.equal(sensorMediaMismatch(['video', 'gps'], 'video/mp4'), undefined)
    assert.equal(sensorMediaMismatch(['Video'], 'VIDEO/webm; codecs=vp9'), undefined)
    assert.equal(sensorMediaMismatch(['audio'], 'video/mp4'), undefined)
    assert.equal(sensorMediaMismatch(['audio'], 'audio/opus'), undefined)
    assert.equal(sensorMediaMismatch(['gps', 'lidar'], 'application/octet-stream'), undefined)
    assert.equal(sensorMediaMismatch([], 'text/plain'), undefined)
    assert.equal(sensorMediaMismatch(['gps', 'video'], 'audio/opus'), 'video')
    assert.equal(sensorMediaMismatch(['video'], 'application/octet-stream'), 'video')
    assert.equal(sensorMediaMismatch(['audio'], 'image/jpeg'), 'audio')
    assert.equal(sensorMediaMismatch(['video'], 'videomp4'), 'video')
  })

  it('has sane per-second bounds', () => {
    for (const [type, rate] of Object.entries(MEDIA_RATES)) {
      assert.ok(rate.minBytesPerSecond > 0 && rate.minBytesPerSecond < rate.maxBytesPerSecond, type)
    }
    assert.ok(MEDIA_RATES['video/*'].minBytesPerSecond >= 1024)
    assert.ok(MEDIA_RATES['audio/*'].maxBytesPerSecond < MEDIA_RATES['video/*'].maxBytesPerSecond)
  })

  it('refuses any claimed duration the bytes are too few or too many for', () => {
    fc.assert(fc.property(fc.constantFrom('video/mp4', 'audio/aac', 'image/jpeg', 'application/octet-stream'), fc.integer({ min: 1, max: 86_400 }), (type, seconds) => {
      const rate = mediaRate(type) ?? assert.fail(`no rate for ${type}`)
      assert.ok(bytesFitDuration(type, rate.minBytesPerSecond * seconds, seconds))
      assert.ok(bytesFitDuration(type, rate.maxBytesPerSecond * seconds, seconds))
      assert.ok(!bytesFitDuration(type, rate.minBytesPerSecond * seconds - 1, seconds))
      assert.ok(!bytesFitDuration(type, rate.maxBytesPerSecond * seconds + 1, seconds))
    }))
  })

  it('refuses 60 s claimed for 6 s of video bytes', () => {
    const sixSeconds = 6 * 4096
    assert.ok(bytesFitDuration('video/mp4', sixSeconds, 6))
    assert.ok(!bytesFitDuration('video/mp4', sixSeconds, 60))
  })

  it('refuses non-finite, negative and zero inputs', () => {
    for (const [bytes, seconds] of [[NaN, 1], [1e6, NaN], [-1, 1], [1e6, 0], [1e6, -1], [Infinity, 1]]) {
      assert.equal(bytesFitDuration('video/mp4', bytes, seconds), false)
    }
  })
})

describe('device binding', () => {
  it('binds a device key to the peer, both signatures checked', async () => {
    const peer = await party()
    const device = await createDevice(peer.key, { model: 'dashcam-x2', createdMs: 1_700_000_000_000 })
    const opened = await verifyDeviceBinding(device.binding.bytes, peer.peerId, { now: 1_700_000_000_000 })
    assert.equal(opened.value.model, 'dashcam-x2')
    assert.ok(equalBytes(opened.value.deviceKey, publicKeyToProtobuf(device.key.publicKey)))
  })

  it('uses the given device key', async () => {
    const peer = await party()
    const key = await generateKeyPair('Ed25519')
    const device = await createDevice(peer.key, { key })
    assert.equal(device.key, key)
  })

  it('refuses a binding of another peer', async () => {
    const peer = await party()
    const other = await party()
    const device = await createDevice(peer.key)
    await assert.rejects(verifyDeviceBinding(device.binding.bytes, other.peerId), { name: 'WrongSignerError' })
  })

  it('refuses any forged device signature', async () => {
    const peer = await party()
    const device = await createDevice(peer.key, { createdMs: 1_700_000_000_000 })
    const forger = await generateKeyPair('Ed25519')
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 3 }), fc.nat(63), async (how, byte) => {
      const v = { ...device.binding.value }
      switch (how) {
        case 0: v.deviceSignature = v.deviceSignature.slice(); v.deviceSignature[byte] ^= 1; break
        case 1: v.deviceKey = publicKeyToProtobuf(forger.publicKey); break
        case 2: v.createdMs += 1 + byte; break
        default: v.deviceSignature = new Uint8Array(64).fill(byte)
      }
      const forged = await signRecord(DeviceBindingType, v, peer.key)
      await assert.rejects(verifyDeviceBinding(forged.bytes, peer.peerId, { now: 1_800_000_000_000 }), { name: 'InvalidSignatureError' })
    }), { numRuns: 20 })
  })

  it('refuses a device key that is not a key', async () => {
    const peer = await party()
    const device = await createDevice(peer.key)
    const forged = await signRecord(DeviceBindingType, { ...device.binding.value, deviceKey: new Uint8Array([8, 1, 18, 3, 1, 2, 3]) }, peer.key)
    await assert.rejects(verifyDeviceBinding(forged.bytes, peer.peerId), { name: 'InvalidFieldError' })
    assert.throws(() => decodeDeviceKey(new Uint8Array([1, 2, 3])), { name: 'InvalidFieldError' })
  })

  it('refuses a binding signed by another peer key', async () => {
    const peer = await party()
    const device = await createDevice(peer.key)
    const bytes = device.binding.bytes.slice()
    bytes[bytes.length - 1] ^= 1
    await assert.rejects(verifyDeviceBinding(bytes, peer.peerId), { name: 'InvalidSignatureError' })
  })
})

describe('attestCapture', () => {
  it('attests chunks: hashes, root, content hash and bytes, device signature, binding', async () => {
    const peer = await party()
    const device = await createDevice(peer.key)
    const chunks = await collect(syntheticSource({ realTime: false, seed: 7, bytesPerSecond: 5000 }).record(3000, {}))
    const att = await attestCapture({ chunks, mediaType: 'video/mp4', startedMs: 1_700_000_000_000, geohash: 'w21z6', sensors: ['video'], contentCid: 'bafy' }, peer.key, device)
    const opened = await openRecord(CaptureAttestationType, att.bytes, { ignoreTime: true })
    const v = opened.value
    assert.equal(v.chunkCount, 3)
    assert.equal(v.durationMs, 3000)
    assert.equal(v.contentBytes, 15000)
    assert.equal(v.contentCid, 'bafy')
    assert.ok(equalBytes(v.chunkRoot, chunkRoot(chunks.map(hashChunk))))
    assert.ok(equalBytes(v.contentHash, new Uint8Array(createHash('sha256').update(Buffer.concat(chunks)).digest())))
    assert.ok(equalBytes(v.deviceBinding, device.binding.bytes))
    assert.ok(await verifyBytes(decodeDeviceKey(v.deviceKey), deviceDigest(v), v.deviceSignature))
    assert.ok(opened.signer.equals(peer.peerId))
  })

  it('attests from hashes alone the same record as from the chunks', async () => {
    const peer = await party()
    const device = await createDevice(peer.key)
    const chunks = [new Uint8Array(5000).fill(1), new Uint8Array(5000).fill(2)]
    const init = { mediaType: 'video/mp4', startedMs: 1_700_000_000_000, geohash: 'w21z6', sensors: ['video'] }
    const a = await attestCapture({ ...init, chunks }, peer.key, device)
    const b = await attestCapture({
      ...init,
      chunkHashes: chunks.map(hashChunk),
      contentBytes: 10000,
      contentHash: new Uint8Array(createHash('sha256').update(Buffer.concat(chunks)).digest())
    }, peer.key, device)
    assert.ok(equalBytes(a.bytes, b.bytes))
  })

  it('makes the device digest depend on every field but the device signature', async () => {
    const peer = await party()
    const device = await createDevice(peer.key)
    const att = await attestCapture({ chunks: [new Uint8Array(5000)], mediaType: 'video/mp4', startedMs: 1_700_000_000_000, geohash: 'w21z6', sensors: [] }, peer.key, device)
    const v = att.value
    assert.ok(equalBytes(deviceDigest(v), deviceDigest({ ...v, deviceSignature: new Uint8Array(64) })))
    assert.ok(!equalBytes(deviceDigest(v), deviceDigest({ ...v, startedMs: v.startedMs + 1 })))
    assert.ok(!equalBytes(deviceDigest(v), deviceDigest({ ...v, geohash: 'w21z7' })))
  })

  it('refuses to attest without chunks or hashes', async () => {
    const peer = await party()
    const device = await createDevice(peer.key)
    await assert.rejects(attestCapture({ mediaType: 'video/mp4', startedMs: 1, geohash: 'w21z6', sensors: [] }, peer.key, device), TypeError)
  })
})

describe('CaptureProof codec', () => {
  const partsArb = fc.record({
    attestation: fc.uint8Array({ minLength: 1, maxLength: 200 }),
    witnesses: fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: MAX_CAPTURE_WITNESSES })
  }).chain(p => fc.record({
    attestation: fc.constant(p.attestation),
    witnesses: fc.constant(p.witnesses),
    history: fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: p.witnesses.length * MAX_WITNESS_HISTORY })
  }))

  it('round-trips any proof within its limits', () => {
    fc.assert(fc.property(partsArb, (parts: CaptureProofParts) => {
      assert.deepEqual(decodeCaptureProof(encodeCaptureProof(parts)), { ...parts })
    }))
  })

  it('never throws anything but InvalidCaptureProofError for any bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      try {
        decodeCaptureProof(bytes)
      } catch (err: any) {
        assert.equal(err.name, 'InvalidCaptureProofError')
      }
    }), { numRuns: 2000 })
  })

  it('never throws anything but InvalidCaptureProofError for mutated proofs', () => {
    fc.assert(fc.property(partsArb, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), (parts, flips) => {
      const bytes = encodeCaptureProof(parts)
      for (const [pos, value] of flips) {
        bytes[pos % bytes.length] = value
      }
      try {
        decodeCaptureProof(bytes)
      } catch (err: any) {
        assert.equal(err.name, 'InvalidCaptureProofError')
      }
    }), { numRuns: 500 })
  })

  it('refuses proofs over their limits', () => {
    const one = new Uint8Array([1])
    assert.throws(() => encodeCaptureProof({ attestation: one, witnesses: Array(MAX_CAPTURE_WITNESSES + 1).fill(one), history: [] }), { name: 'InvalidCaptureProofError' })
    assert.throws(() => encodeCaptureProof({ attestation: one, witnesses: [one], history: Array(MAX_WITNESS_HISTORY + 1).fill(one) }), { name: 'InvalidCaptureProofError' })
    assert.throws(() => encodeCaptureProof({ attestation: new Uint8Array(), witnesses: [], history: [] }), { name: 'InvalidCaptureProofError' })
    assert.throws(() => encodeCaptureProof({ attestation: new Uint8Array(MAX_MESSAGE_SIZE.CaptureProof), witnesses: [], history: [] }), { name: 'InvalidCaptureProofError' })
    assert.throws(() => decodeCaptureProof(new Uint8Array(MAX_MESSAGE_SIZE.CaptureProof + 1)), { name: 'InvalidCaptureProofError' })
    // too many witnesses on the wire: the generated decoder's limit
    const wire = Buffer.concat([Buffer.from([0x0a, 1, 1]), ...Array(MAX_CAPTURE_WITNESSES + 1).fill(Buffer.from([0x12, 1, 1]))])
    assert.throws(() => decodeCaptureProof(wire), { name: 'InvalidCaptureProofError' })
    // more history than its witnesses may present
    const history = Buffer.concat([Buffer.from([0x0a, 1, 1, 0x12, 1, 1]), ...Array(MAX_WITNESS_HISTORY + 1).fill(Buffer.from([0x1a, 1, 1]))])
    assert.throws(() => decodeCaptureProof(history), { name: 'InvalidCaptureProofError' })
  })
})

describe('syntheticSource', () => {
  it('records the same footage for one seed, other footage for another', async () => {
    const a = await collect(syntheticSource({ realTime: false, seed: 1 }).record(2500, {}))
    const b = await collect(syntheticSource({ realTime: false, seed: 1 }).record(2500, {}))
    const c = await collect(syntheticSource({ realTime: false, seed: 2 }).record(2500, {}))
    assert.equal(a.length, 3)
    assert.deepEqual(a.map(x => x.byteLength), [32768, 32768, 16384])
    assert.deepEqual(a, b)
    assert.notDeepEqual(a, c)
    assert.ok(!equalBytes(a[0], a[1]))
  })

  it('starts with an mp4 ftyp box', async () => {
    const [first] = await collect(syntheticSource({ realTime: false, seed: 3 }).record(1000, {}))
    assert.equal(Buffer.from(first.subarray(4, 8)).toString('latin1'), 'ftyp')
    const [audio] = await collect(syntheticSource({ realTime: false, seed: 3, mediaType: 'audio/aac' }).record(1000, {}))
    assert.notEqual(Buffer.from(audio.subarray(4, 8)).toString('latin1'), 'ftyp')
  })

  it('stops when aborted', async () => {
    const controller = new AbortController()
    const source = syntheticSource({ realTime: true, seed: 4, bytesPerSecond: 10 })
    const got: Uint8Array[] = []
    await assert.rejects((async () => {
      for await (const chunk of source.record(60_000, { signal: controller.signal })) {
        got.push(chunk)
        controller.abort()
      }
    })())
    assert.equal(got.length, 1)
  })
})
