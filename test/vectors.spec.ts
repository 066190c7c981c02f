/**
 * The published test vectors (test-vectors/): the files are
 * exactly what buildVectors() computes from the packages, and each vector
 * holds the other way round too — rebuilt by hand from docs/spec.md
 * (signing payloads, envelopes, wrappers, packed fields, keys, topics) and
 * read back with the packages' decoders.
 */

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { generateKeyPairFromSeed, privateKeyFromProtobuf, publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { decodeSyncRequest } from '@shoal/job-board'
import { chunkRoot, decodeCaptureProof, decodeWitnessMessage, verifyCaptureProof, verifyChunkInclusion, verifyDeviceBinding } from '@shoal/provenance'
import {
  CoordinateMessage, JobSyncRequest, RecordTypes, WorkReceiptType, openAssignment, openCountersigned, openRecord
} from '@shoal/records'
import { decodeMessage as decodeCoordinateMessage } from '@shoal/router'
import { decodeFrame } from '@shoal/work'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { buildVectors, fieldsJson, vectorText } from './vectors/build-vectors.js'
import { concat, doubleField, float64, fromHex, hex, lenField, lengthPrefixed, varint, varintField } from './vectors/proto-writer.js'
import type { Json, VectorFiles } from './vectors/build-vectors.js'
import type { DhtKeysFile, KeyVector, RecordVector, RecordsFile, TopicsFile, WireVector } from './conformance/client/vector-format.js'
import type { RecordType, RecordTypeName } from '@shoal/records'

const VECTORS_DIR = new URL('../../test-vectors/', import.meta.url)

function load<T> (name: string): T {
  return JSON.parse(readFileSync(new URL(name, VECTORS_DIR), 'utf8')) as T
}

function sha256 (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

function utf8 (text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

/** RFC 0002: varint(len(domain)) || domain || varint(len(type)) || type || varint(len(payload)) || payload. */
function rfc0002 (domain: string, payloadType: Uint8Array, payload: Uint8Array): Uint8Array {
  return concat(lengthPrefixed(utf8(domain)), lengthPrefixed(payloadType), lengthPrefixed(payload))
}

interface SyncVector extends WireVector<{ kinds: number[], regions: string[] }> {
  interests: { kinds: Array<{ name: string, number: number }>, regions: string[] }
  unpacked_hex: string
}

interface CoordinateJson { vec: number[], height: number, error: number }

interface CoordinateVector extends WireVector<{
  probe?: { coordinate: CoordinateJson, want_load: boolean }
  reply?: { coordinate: CoordinateJson, load?: { free_slots: number, concurrency: number, queue_length: number } }
}> {
  unpacked_hex: string
}

interface WorkVector extends WireVector<Record<string, Record<string, Json>>> {
  body: string
}

/** records.json's `capture` section: the footage of the CaptureAttestation vector. */
interface CaptureJson {
  chunks: string[]
  chunk_hashes: string[]
  leaf_hashes: string[]
  chunk_root: string
  audit_paths: Array<{ index: number, size: number, path: string[] }>
  content_hash: string
  content_bytes: number
  binding_signed: string
  unsigned_payload: string
  device_signed: string
  device_domain: string
}

const records = load<RecordsFile<RecordTypeName> & { capture: CaptureJson }>('records.json')
const wire = load<{ messages: WireVector[] }>('wire.json')
const dhtKeys = load<DhtKeysFile>('dht-keys.json')
const topics = load<TopicsFile>('topics.json')
const protocols = load<Record<string, string>>('protocols.json')
const now = records.now_ms

function recordOf (type: RecordTypeName): RecordVector {
  const found = records.records.find(r => r.type === type)
  assert.ok(found != null, `records.json has no ${type}`)
  return found
}

async function checkKey (k: KeyVector): Promise<void> {
  const key = privateKeyFromProtobuf(fromHex(k.private_key))
  assert.equal(hex((await generateKeyPairFromSeed('Ed25519', fromHex(k.seed))).raw), hex(key.raw), `${k.name}: key is not the one of its seed`)
  const peerId = peerIdFromPrivateKey(key)
  assert.equal(peerId.toString(), k.peer_id)
  assert.equal(hex(peerId.toMultihash().bytes), k.peer_id_hex)
  // an Ed25519 peer id is the identity multihash of the protobuf public key
  assert.equal(k.peer_id_hex, hex(concat(new Uint8Array([0x00]), lengthPrefixed(fromHex(k.public_key)))))
}

/** NetworkCoordinate with `vec` packed, by hand: one LEN field of little-endian doubles; zero height and error are left out. */
function packedCoordinate (c: CoordinateJson): Uint8Array {
  return concat(
    lenField(1, concat(...c.vec.map(float64))),
    c.height === 0 ? new Uint8Array() : doubleField(2, c.height),
    c.error === 0 ? new Uint8Array() : doubleField(3, c.error)
  )
}

describe('test vectors (test-vectors/)', () => {
  describe('the files are what the code computes', () => {
    let built: VectorFiles

    before(async () => {
      built = await buildVectors()
    })

    it('the folder holds exactly the generated files', () => {
      const files = readdirSync(VECTORS_DIR).filter(f => f.endsWith('.json')).sort()
      assert.deepEqual(files, Object.keys(built).sort(), 'test-vectors/ and buildVectors() name other files: run `npm run vectors`')
    })

    for (const name of ['records.json', 'wire.json', 'dht-keys.json', 'topics.json', 'protocols.json']) {
      it(`${name} has not drifted`, () => {
        const file = readFileSync(new URL(name, VECTORS_DIR), 'utf8')
        assert.ok(built[name] != null, `buildVectors() no longer builds ${name}`)
        assert.ok(file === vectorText(built[name]), `test-vectors/${name} differs from what the code computes: run \`npm run vectors\` and review the diff (a changed vector is a wire change)`)
      })
    }
  })

  describe('records.json', () => {
    it('covers every record type of the spec', () => {
      assert.deepEqual(records.records.map(r => r.type).sort(), Object.keys(RecordTypes).sort())
    })

    it('keys come from their seeds and name their peer ids', async () => {
      for (const k of records.keys) {
        await checkKey(k)
      }
    })

    for (const r of records.records) {
      describe(r.type, () => {
        it('signer key and peer id agree', async () => {
          await checkKey(r.signer)
        })

        it('payload type is the varint of the payload code', () => {
          assert.equal(r.payload_type, hex(varint(r.payload_code)))
        })

        it('signing payload is varint-prefixed domain, payload type and payload', () => {
          assert.equal(r.signing_payload, hex(rfc0002(r.domain, fromHex(r.payload_type), fromHex(r.payload))))
        })

        it('signature verifies, and Ed25519 signs it again to the same bytes', async () => {
          const key = privateKeyFromProtobuf(fromHex(r.signer.private_key))
          const publicKey = publicKeyFromProtobuf(fromHex(r.signer.public_key))
          assert.equal(await publicKey.verify(fromHex(r.signing_payload), fromHex(r.signature)), true)
          assert.equal(hex(await key.sign(fromHex(r.signing_payload))), r.signature)
        })

        it('envelope is fields 1, 2, 3, 5: public key, payload type, payload, signature', () => {
          const envelope = concat(
            lenField(1, fromHex(r.signer.public_key)), lenField(2, fromHex(r.payload_type)),
            lenField(3, fromHex(r.payload)), lenField(5, fromHex(r.signature))
          )
          assert.equal(r.envelope, hex(envelope))
        })

        it('record id is sha2-256 of the envelope', () => {
          assert.equal(r.record_id, hex(sha256(fromHex(r.envelope))))
        })

        it('opens with openRecord to the fields, signer and id', async () => {
          const type: RecordType<unknown> = RecordTypes[r.type]
          const opened = await openRecord(type, fromHex(r.envelope), { now })
          assert.deepEqual(fieldsJson(opened.value), r.fields)
          assert.equal(hex(opened.id), r.record_id)
          assert.equal(opened.signer.toString(), r.signer.peer_id)
        })
      })
    }

    it('the records are of one job: the assignment embeds the quote, the receipt settles the assignment', async () => {
      const quote = recordOf('Quote')
      const assignment = recordOf('Assignment')
      const opened = await openAssignment(fromHex(assignment.envelope), { now })
      assert.equal(hex(opened.quote.bytes), quote.envelope)
      assert.equal(recordOf('WorkReceipt').fields.assignment_id, assignment.record_id)
      assert.equal(recordOf('WitnessStatement').fields.attestation_id, recordOf('CaptureAttestation').record_id)
    })

    it('CapabilityRecord: the coordinate\'s vec is packed in the payload', () => {
      const { coordinate } = recordOf('CapabilityRecord').fields as unknown as { coordinate: CoordinateJson }
      assert.ok(recordOf('CapabilityRecord').payload.includes(hex(lenField(7, packedCoordinate(coordinate)))), 'field 7 (coordinate) is not the packed encoding')
    })

    describe('proof of recording (§7)', () => {
      const capture = records.capture
      const binding = recordOf('DeviceBinding')
      const attestation = recordOf('CaptureAttestation')

      it('the device binding: the peer signed it, the device key signed domain || peer || created_ms (8 bytes big-endian)', async () => {
        const f = binding.fields as { peer: string, device_key: string, device_signature: string, created_ms: number }
        const createdMs = new Uint8Array(8)
        new DataView(createdMs.buffer).setBigUint64(0, BigInt(f.created_ms))
        assert.equal(capture.binding_signed, hex(concat(utf8('shoal:device-binding:v1'), fromHex(f.peer), createdMs)))
        const deviceKey = publicKeyFromProtobuf(fromHex(f.device_key))
        assert.equal(await deviceKey.verify(fromHex(capture.binding_signed), fromHex(f.device_signature)), true)
        assert.equal(f.device_key, records.keys.find(k => k.name === 'capture device')?.public_key, 'the key of seed 04')
        await verifyDeviceBinding(fromHex(binding.envelope), peerIdFromString(binding.signer.peer_id), { now })
        // bound to the provider: it binds no other peer (key 0 is the requester)
        await assert.rejects(verifyDeviceBinding(fromHex(binding.envelope), peerIdFromString(records.keys[0].peer_id), { now }), { name: 'WrongSignerError' })
      })

      it('the attestation embeds the binding, and the device key signed its digest with device_signature empty', async () => {
        const f = attestation.fields as { device_binding: string, device_key: string, device_signature: string }
        assert.equal(f.device_binding, binding.envelope)
        assert.equal(f.device_key, (binding.fields as { device_key: string }).device_key)
        // the payload without field 4 is what the digest covers
        const withoutSignature = attestation.payload.replace(hex(lenField(4, fromHex(f.device_signature))), '')
        assert.equal(capture.unsigned_payload, withoutSignature)
        assert.equal(capture.device_signed, hex(concat(utf8(capture.device_domain), sha256(fromHex(capture.unsigned_payload)))))
        assert.equal(capture.device_domain, 'shoal:capture-device:v1')
        const deviceKey = publicKeyFromProtobuf(fromHex(f.device_key))
        assert.equal(await deviceKey.verify(fromHex(capture.device_signed), fromHex(f.device_signature)), true)
      })

      it('the chunk tree: chunk hashes, RFC 6962 leaves and root, audit paths; content hash and bytes', () => {
        const f = attestation.fields as { chunk_root: string, chunk_count: number, content_hash: string, content_bytes: number, duration_ms: number }
        const chunks = capture.chunks.map(fromHex)
        assert.deepEqual(capture.chunk_hashes, chunks.map(c => hex(sha256(c))))
        assert.deepEqual(capture.leaf_hashes, capture.chunk_hashes.map(h => hex(sha256(concat(new Uint8Array([0]), fromHex(h))))))
        // three leaves: node(node(l0, l1), l2)
        const node = (a: string, b: string): string => hex(sha256(concat(new Uint8Array([1]), fromHex(a), fromHex(b))))
        const [l0, l1, l2] = capture.leaf_hashes
        assert.equal(capture.chunk_root, node(node(l0, l1), l2))
        assert.equal(capture.chunk_root, hex(chunkRoot(capture.chunk_hashes.map(fromHex))))
        assert.equal(f.chunk_root, capture.chunk_root)
        assert.equal(f.chunk_count, chunks.length)
        assert.equal(f.chunk_count, Math.ceil(f.duration_ms / 1000))
        assert.equal(f.content_hash, hex(sha256(concat(...chunks))))
        assert.equal(f.content_hash, capture.content_hash)
        assert.equal(f.content_bytes, chunks.reduce((n, c) => n + c.byteLength, 0))
        for (const p of capture.audit_paths) {
          const root = fromHex(capture.chunk_root)
          assert.equal(verifyChunkInclusion(root, fromHex(capture.chunk_hashes[p.index]), p.index, p.size, p.path.map(fromHex)), true, `chunk ${p.index}`)
          assert.equal(verifyChunkInclusion(root, fromHex(capture.chunk_hashes[(p.index + 1) % p.size]), p.index, p.size, p.path.map(fromHex)), false, `another chunk at ${p.index}`)
        }
      })

      it('the attestation answers the Assignment vector, and the witness watched it', () => {
        assert.equal(attestation.fields.assignment_id, recordOf('Assignment').record_id)
        const a = attestation.fields as { started_ms: number, duration_ms: number }
        const s = recordOf('WitnessStatement').fields as { rounds: number, window_start_ms: number, window_end_ms: number, observed_addr: string }
        assert.ok(s.rounds > 0 && s.observed_addr !== '')
        assert.ok(s.window_start_ms <= a.started_ms && s.window_end_ms >= a.started_ms + a.duration_ms)
      })
    })

    describe('countersigned WorkReceipt', () => {
      const c = records.countersigned[0]

      it('is the WorkReceipt vector, countersigned by its requester under <domain>:countersign', async () => {
        const receipt = recordOf('WorkReceipt')
        assert.equal(c.envelope, receipt.envelope)
        assert.equal(c.domain, 'shoal:work-receipt:v1:countersign')
        assert.equal(c.payload_type, receipt.payload_type)
        assert.equal(c.countersigner.peer_id_hex, receipt.fields.requester)
        assert.equal(c.record_id, receipt.record_id)
        await checkKey(c.countersigner)
      })

      it('signing payload has the envelope as payload, and the signature verifies', async () => {
        assert.equal(c.signing_payload, hex(rfc0002(c.domain, fromHex(c.payload_type), fromHex(c.envelope))))
        const publicKey = publicKeyFromProtobuf(fromHex(c.countersigner.public_key))
        assert.equal(await publicKey.verify(fromHex(c.signing_payload), fromHex(c.signature)), true)
      })

      it('wrapper is fields 1, 2, 3: envelope, countersigner key, signature', () => {
        const wrapper = concat(lenField(1, fromHex(c.envelope)), lenField(2, fromHex(c.countersigner.public_key)), lenField(3, fromHex(c.signature)))
        assert.equal(c.countersigned, hex(wrapper))
      })

      it('opens with openCountersigned', async () => {
        const opened = await openCountersigned(WorkReceiptType, fromHex(c.countersigned), { now })
        assert.equal(opened.countersigner.toString(), c.countersigner.peer_id)
        assert.equal(hex(opened.id), c.record_id)
      })
    })
  })

  describe('wire.json', () => {
    const syncVectors = wire.messages.filter(m => m.message === 'JobSyncRequest') as SyncVector[]
    const coordinateVectors = wire.messages.filter(m => m.message === 'CoordinateMessage') as CoordinateVector[]
    const workVectors = wire.messages.filter(m => m.message === 'WorkMessage') as WorkVector[]
    const witnessVectors = wire.messages.filter(m => m.message === 'WitnessMessage') as WorkVector[]
    const proofVectors = wire.messages.filter(m => m.message === 'CaptureProof')

    /** JobSyncRequest with `kinds` packed, by hand: one LEN field of varints, then the regions. */
    function packedSyncRequest (fields: SyncVector['fields']): Uint8Array {
      const kinds = fields.kinds.length === 0 ? new Uint8Array() : lenField(1, concat(...fields.kinds.map(varint)))
      return concat(kinds, ...fields.regions.map(r => lenField(2, utf8(r))))
    }

    function uintFields (values: number[]): Uint8Array {
      return concat(...values.map((v, i) => v === 0 ? new Uint8Array() : varintField(i + 1, v)))
    }

    function packedCoordinateMessage ({ probe, reply }: CoordinateVector['fields']): Uint8Array {
      if (probe != null) {
        return lenField(1, concat(lenField(1, packedCoordinate(probe.coordinate)), probe.want_load ? varintField(2, 1) : new Uint8Array()))
      }
      assert.ok(reply != null, 'a coordinate message is a probe or a reply')
      const load = reply.load == null ? new Uint8Array() : lenField(2, uintFields([reply.load.free_slots, reply.load.concurrency, reply.load.queue_length]))
      return lenField(2, concat(lenField(1, packedCoordinate(reply.coordinate)), load))
    }

    it('has sync, coordinate and work messages', () => {
      assert.ok(syncVectors.length >= 1 && coordinateVectors.length >= 2 && workVectors.length >= 6)
      assert.deepEqual(coordinateVectors.map(m => Object.keys(m.fields)[0]).sort(), ['probe', 'reply'])
    })

    for (const m of syncVectors) {
      it(`${m.name}: both encodings decode to the fields and the interests`, () => {
        for (const encoding of [m.hex, m.unpacked_hex]) {
          assert.ok(encoding != null)
          assert.deepEqual(fieldsJson(JobSyncRequest.decode(fromHex(encoding))), m.fields)
          const interests = decodeSyncRequest(fromHex(encoding))
          assert.deepEqual(interests.kinds, m.interests.kinds.map(k => k.name))
          assert.deepEqual(interests.regions, m.interests.regions)
        }
        assert.deepEqual(m.fields.kinds, m.interests.kinds.map(k => k.number))
      })

      it(`${m.name}: the canonical encoding has kinds packed, and decodes`, () => {
        const packed = packedSyncRequest(m.fields)
        assert.equal(m.hex, hex(packed))
        assert.deepEqual(fieldsJson(JobSyncRequest.decode(packed)), m.fields)
      })
    }

    for (const m of coordinateVectors) {
      it(`${m.name}: both encodings decode to the fields, and the router accepts them`, () => {
        for (const encoding of [m.hex, m.unpacked_hex]) {
          assert.ok(encoding != null)
          assert.deepEqual(fieldsJson(CoordinateMessage.decode(fromHex(encoding))), m.fields)
          const decoded = decodeCoordinateMessage(fromHex(encoding))
          assert.equal(decoded.kind, m.fields.probe != null ? 'probe' : 'reply')
          assert.deepEqual(decoded.coordinate.vec, (m.fields.probe ?? m.fields.reply)?.coordinate.vec)
        }
      })

      it(`${m.name}: the canonical encoding has vec packed, and decodes`, () => {
        const packed = packedCoordinateMessage(m.fields)
        assert.equal(m.hex, hex(packed))
        assert.deepEqual(fieldsJson(CoordinateMessage.decode(packed)), m.fields)
      })
    }

    for (const m of workVectors) {
      it(`${m.name}: decodes to its one body and fields`, () => {
        const frame = decodeFrame(fromHex(m.hex), fromHex(m.hex).byteLength)
        assert.equal(frame.kind.replace(/[A-Z]/g, c => '_' + c.toLowerCase()), m.body)
        assert.deepEqual(fieldsJson({ [frame.kind]: frame.body }), m.fields)
      })
    }

    it('has every WitnessMessage body and a CaptureProof', () => {
      assert.deepEqual([...new Set(witnessVectors.map(m => m.body))].sort(), ['accept', 'attest', 'countersign', 'echo', 'error', 'open', 'signed'])
      assert.equal(proofVectors.length, 1)
    })

    for (const m of witnessVectors) {
      it(`${m.name}: decodes to its one body and fields`, () => {
        const { kind, message } = decodeWitnessMessage(fromHex(m.hex))
        assert.equal(kind, m.body)
        assert.deepEqual(fieldsJson(message), m.fields)
      })
    }

    it('the witness messages carry the record vectors', () => {
      const bodies = new Map(witnessVectors.map(m => [m.name, m.fields[m.body]]))
      assert.equal(bodies.get('witness attest')?.attestation, recordOf('CaptureAttestation').envelope)
      assert.equal(bodies.get('witness signed')?.statement, recordOf('WitnessStatement').envelope)
      assert.equal(bodies.get('witness signed')?.receipt, records.countersigned[1].envelope)
      assert.deepEqual(bodies.get('witness signed')?.history, [records.countersigned[2].countersigned])
      assert.equal(bodies.get('witness countersign')?.receipt, records.countersigned[1].countersigned)
      const open = bodies.get('witness open') as Record<string, Json>
      const a = recordOf('CaptureAttestation').fields
      assert.deepEqual([open.job_id, open.geohash, open.started_ms, open.duration_ms], [a.job_id, a.geohash, a.started_ms, a.duration_ms])
    })

    it('the CaptureProof: fields 1-3 by hand, and it verifies with its footage', async () => {
      const m = proofVectors[0]
      const f = m.fields as { attestation: string, witnesses: string[], history: string[] }
      assert.equal(f.attestation, recordOf('CaptureAttestation').envelope)
      assert.deepEqual(f.witnesses, [recordOf('WitnessStatement').envelope])
      assert.deepEqual(f.history, [records.countersigned[2].countersigned])
      assert.equal(m.hex, hex(concat(lenField(1, fromHex(f.attestation)), ...f.witnesses.map(w => lenField(2, fromHex(w))), ...f.history.map(h => lenField(3, fromHex(h))))))
      assert.deepEqual(decodeCaptureProof(fromHex(m.hex)), { attestation: fromHex(f.attestation), witnesses: f.witnesses.map(fromHex), history: f.history.map(fromHex) })
      const a = recordOf('CaptureAttestation').fields as { started_ms: number }
      const verdict = await verifyCaptureProof(fromHex(m.hex), { chunks: records.capture.chunks.map(fromHex) }, {
        now,
        minWitnesses: 1,
        capturer: peerIdFromString(recordOf('CaptureAttestation').signer.peer_id),
        jobId: fromHex(recordOf('Assignment').fields.job_id as string),
        assignmentId: fromHex(recordOf('Assignment').record_id),
        assignedMs: recordOf('Assignment').fields.created_ms as number,
        resultMs: a.started_ms + 4_000,
        // the statement's observed address is a documentation one (203.0.113.7), not a public host
        allowPrivateAddresses: true
      })
      assert.deepEqual(verdict.reasons, [])
      assert.equal(verdict.ok, true)
      // 2.5 s of footage in 3 chunks: the half second is not paid as a whole one
      assert.deepEqual(verdict.verifiedChunks, [0, 1, 2])
      assert.equal(verdict.verifiedSeconds, 2)
    })

    it('the work messages carry the record vectors', () => {
      const bodies = new Map(workVectors.map(m => [m.name, m.fields[m.body]]))
      assert.equal(bodies.get('quote reply')?.quote, recordOf('Quote').envelope)
      assert.equal(bodies.get('assign')?.assignment, recordOf('Assignment').envelope)
      assert.equal(bodies.get('result')?.receipt, recordOf('WorkReceipt').envelope)
      assert.equal(bodies.get('countersign with a voucher')?.receipt, records.countersigned[0].countersigned)
      assert.equal(bodies.get('quote request, direct mode (inline job)')?.inline_job, recordOf('JobAnnouncement').payload)
    })

    it('messages name the protocol ids of protocols.json', () => {
      const ids = new Set(Object.values(protocols))
      for (const m of wire.messages) {
        assert.ok(ids.has(m.protocol), `${m.name}: ${m.protocol}`)
      }
    })
  })

  describe('dht-keys.json', () => {
    it('holds the spec\'s vector', () => {
      const key = dhtKeys.keys.find(k => k.key === '/shoal/cap/1/gpu:consumer-24g/xn7')
      assert.equal(key?.sha256, '8aa30ef0897cacdabcb63568cf124ad3c0fe1bec4131acc38ce698ab306e6e60')
      assert.equal(key?.cid, 'bafkreiekumhpbcl4vtnlznrvndhreswtyd7bx3cbggwmhdhgtcvta3toma')
    })

    it('covers the world cell, precisions 1 to 3, gpu and sensor classes', () => {
      const precisions = new Set(dhtKeys.keys.map(k => k.precision))
      assert.deepEqual([0, 1, 2, 3].filter(p => precisions.has(p)), [0, 1, 2, 3])
      assert.ok(dhtKeys.keys.some(k => k.class.startsWith('gpu:')) && dhtKeys.keys.some(k => k.class.startsWith('sensor:')))
    })

    it('each key is the raw CIDv1 of the sha2-256 of /shoal/cap/1/<class>/<cell>', () => {
      for (const k of dhtKeys.keys) {
        assert.equal(k.key, `/shoal/cap/1/${k.class}/${k.cell}`)
        assert.equal(k.precision, k.cell.length)
        const digest = sha256(utf8(k.key))
        assert.equal(k.sha256, hex(digest))
        const cid = CID.createV1(0x55, Digest.create(0x12, digest))
        assert.equal(k.cid, cid.toString())
        assert.equal(k.cid_hex, hex(cid.bytes))
      }
    })

    it('the capability record vector is advertised under each class at each precision of its geohash', () => {
      const fields = recordOf('CapabilityRecord').fields as { geohash: string, gpus: Array<{ class: string }>, sensors: string[] }
      const classes = new Set([...fields.gpus.map(g => `gpu:${g.class}`), ...fields.sensors.map(s => `sensor:${s}`)])
      const expected = [...classes].flatMap(c => dhtKeys.advertised.precisions.map(p => `/shoal/cap/1/${c}/${fields.geohash.slice(0, p)}`))
      assert.equal(dhtKeys.advertised.geohash, fields.geohash)
      assert.deepEqual([...dhtKeys.advertised.keys].sort(), expected.sort())
    })
  })

  describe('topics.json', () => {
    // docs/spec.md §2.1
    const SEGMENT: Record<string, string> = { GPU_INFERENCE: 'gpu-inference', GPU_BATCH: 'gpu-batch', CAPTURE: 'capture' }

    it('each kind has a global topic and regional topics of the first 2 geohash characters', () => {
      assert.deepEqual(topics.job_topics.map(t => t.kind.name).sort(), Object.keys(SEGMENT).sort())
      for (const t of topics.job_topics) {
        assert.equal(t.global, `/shoal/jobs/1.0.0/${SEGMENT[t.kind.name]}/global`)
        for (const r of t.regional) {
          assert.equal(r.topic, `/shoal/jobs/1.0.0/${SEGMENT[t.kind.name]}/${r.region.slice(0, 2)}`)
        }
      }
    })

    it('an announcement goes to its regional topic when its region has 2 characters, else (or when global) to the global one', () => {
      assert.deepEqual([...new Set(topics.announcements.map(a => a.region.length))].sort(), [0, 1, 2, 5])
      for (const a of topics.announcements) {
        const expected: string[] = []
        if (a.region.length >= 2) {
          expected.push(`/shoal/jobs/1.0.0/${SEGMENT[a.kind.name]}/${a.region.slice(0, 2)}`)
        }
        if (a.region.length < 2 || a.global) {
          expected.push(`/shoal/jobs/1.0.0/${SEGMENT[a.kind.name]}/global`)
        }
        assert.deepEqual(a.topics, expected, `region "${a.region}", global ${String(a.global)}`)
      }
    })
  })
})
