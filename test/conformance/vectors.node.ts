/**
 * Conformance: the stock-libp2p client of ./client checks its own
 * code against the published test vectors of test-vectors/ (format in
 * test-vectors/README.md). Like the client, this file imports no Shoal code:
 * only the client, stock packages and the JSON files.
 */

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { generateKeyPairFromSeed, privateKeyFromProtobuf, privateKeyToProtobuf, publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { fromString } from 'uint8arrays/from-string'
import { toString } from 'uint8arrays/to-string'
import {
  CAPABILITY_KEY_PREFIX, JOB_TOPIC_PREFIX, PRECISIONS, PROTOCOL, advertisedCells, announcementTopics, capabilityClasses, capabilityKey,
  capabilityKeyString, jobTopic, openCapability, openJob, validateJobMessage
} from './client/client.js'
import { COUNTERSIGN_SUFFIX, RECORD, countersign, open, openCountersigned, recordId, seal, sha256, signingPayload } from './client/envelope.js'
import {
  AssignmentCodec, CapabilityRecordCodec, CaptureAttestationCodec, CaptureProofCodec, CoordinateMessageCodec, DeviceBindingCodec, JOB_KIND,
  JobAnnouncementCodec, JobSyncRequestCodec, EvidenceCodec, JobWithdrawalCodec, PaymentVoucherCodec, QuoteCodec, WitnessMessageCodec,
  WitnessStatementCodec, WorkMessageCodec, WorkReceiptCodec
} from './client/messages.js'
import {
  WITNESS_PROTOCOL, bindingSigned, chunkRoot, deviceSigned, openDeviceBinding, rttRefusal, verifyAttestation, verifyInclusion
} from './client/provenance.js'
import { concat, encodeVarint } from './client/protobuf.js'
import type { Codec } from './client/messages.js'
import type { DhtKeysFile, Json, JsonObject, RecordsFile, TopicsFile, WireVector } from './client/vector-format.js'

/** test-vectors/ from test/dist/conformance/ (compiled) */
const VECTORS = new URL('../../../test-vectors/', import.meta.url)

function load<T> (file: string): T {
  return JSON.parse(readFileSync(new URL(file, VECTORS), 'utf8'))
}

/** records.json's footage of the CaptureAttestation vector (test-vectors/README.md). */
interface CaptureFootageVector {
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

const records = load<RecordsFile<keyof typeof RECORD> & { capture: CaptureFootageVector }>('records.json')
const wire = load<{ messages: WireVector[] }>('wire.json')
const dhtKeys = load<DhtKeysFile>('dht-keys.json')
const topics = load<TopicsFile>('topics.json')
const protocols = load<Record<string, string>>('protocols.json')

/** The client's payload codec of each record type. */
const RECORD_CODEC: Record<keyof typeof RECORD, Codec<any>> = {
  JobAnnouncement: JobAnnouncementCodec,
  JobWithdrawal: JobWithdrawalCodec,
  CapabilityRecord: CapabilityRecordCodec,
  Quote: QuoteCodec,
  Assignment: AssignmentCodec,
  WorkReceipt: WorkReceiptCodec,
  CaptureAttestation: CaptureAttestationCodec,
  WitnessStatement: WitnessStatementCodec,
  DeviceBinding: DeviceBindingCodec,
  PaymentVoucher: PaymentVoucherCodec,
  Evidence: EvidenceCodec
}

/** The client's codec of each unsigned message of wire.json. */
const WIRE_CODEC: Record<string, Codec<any>> = {
  JobSyncRequest: JobSyncRequestCodec,
  CoordinateMessage: CoordinateMessageCodec,
  WorkMessage: WorkMessageCodec,
  WitnessMessage: WitnessMessageCodec,
  CaptureProof: CaptureProofCodec
}

/** §1.2: the field that names each record type's author (Evidence names none: its signer is the reporter). */
const AUTHOR: Partial<Record<keyof typeof RECORD, string>> = {
  JobAnnouncement: 'requester',
  JobWithdrawal: 'requester',
  CapabilityRecord: 'provider',
  Quote: 'provider',
  Assignment: 'requester',
  WorkReceipt: 'provider',
  CaptureAttestation: 'capturer',
  WitnessStatement: 'witness',
  DeviceBinding: 'peer',
  PaymentVoucher: 'payer'
}

/** The proto fields of type `bytes` (and `repeated bytes`) in the vectors: their hex becomes bytes. */
const BYTES_FIELDS = new Set([
  'job_id', 'requester', 'provider', 'input_hash', 'quote', 'nonce', 'assignment_id', 'result_hash', 'prev', 'lane', 'payer', 'payee',
  'addrs', 'offender', 'receipts', 'assignments', 'jobs', 'capturer', 'device_key', 'device_signature', 'content_hash', 'witness', 'attestation_id',
  // WorkMessage bodies
  'job', 'inline_job', 'assignment', 'input', 'receipt', 'output', 'voucher', 'id',
  // proof of recording (§7): records, CaptureProof and WitnessMessage bodies
  'peer', 'chunk_root', 'device_binding', 'observed_addr', 'attestation', 'witnesses', 'history', 'statement'
])

/** The oneof messages: `{ <body>: {...} }` in the vectors, `{ kind: '<body>', ... }` in the client. */
const ONEOF_MESSAGES = new Set(['CoordinateMessage', 'WorkMessage', 'WitnessMessage'])

const bytes = (hex: string): Uint8Array => fromString(hex, 'base16')
const hex = (b: Uint8Array): string => toString(b, 'base16')
const camel = (name: string): string => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())

/** A vector's field values in the client's shapes: camelCase names, `bytes` fields as Uint8Array, enums as their number. */
function toClient (value: Json, name = ''): any {
  if (Array.isArray(value)) return value.map(v => toClient(v, name))
  if (typeof value === 'string') return BYTES_FIELDS.has(name) ? bytes(value) : value
  if (value == null || typeof value !== 'object') return value
  const keys = Object.keys(value)
  if (keys.length === 2 && keys.includes('name') && typeof value.number === 'number') return value.number
  return Object.fromEntries(keys.map(k => [camel(k), toClient(value[k], k)]))
}

/** A oneof message's fields in the client's tagged form. */
function toClientMessage (message: string, fields: JsonObject): any {
  if (!ONEOF_MESSAGES.has(message)) return toClient(fields)
  const [body, ...others] = Object.keys(fields)
  assert.equal(others.length, 0, `${message} sets one body`)
  return { kind: camel(body), ...toClient(fields[body]) }
}

describe('conformance: the client against the published test vectors', () => {
  describe('records.json', () => {
    it('covers every record type the client knows, each with a payload codec', () => {
      assert.deepEqual(records.records.map(r => r.type).sort(), Object.keys(RECORD).sort())
      assert.deepEqual(Object.keys(RECORD_CODEC).sort(), Object.keys(RECORD).sort())
    })

    it('keys: the seed gives the private key, the public key and the peer id', async () => {
      for (const k of records.keys) {
        const key = await generateKeyPairFromSeed('Ed25519', bytes(k.seed))
        assert.equal(hex(privateKeyToProtobuf(key)), k.private_key, k.name)
        const peer = peerIdFromString(k.peer_id)
        assert.ok(peer.equals(peerIdFromPublicKey(key.publicKey)), k.name)
        assert.equal(hex(peer.toMultihash().bytes), k.peer_id_hex, k.name)
        assert.ok(publicKeyFromProtobuf(bytes(k.public_key)).equals(key.publicKey), k.name)
      }
    })

    for (const v of records.records) {
      describe(v.type, () => {
        const kind = RECORD[v.type]
        const codec = RECORD_CODEC[v.type]

        it('the type\'s domain and payload type are the client\'s', () => {
          assert.equal(kind.domain, v.domain)
          assert.equal(kind.code, v.payload_code)
          assert.equal(hex(encodeVarint(kind.code)), v.payload_type)
        })

        it('open() accepts the envelope as this type, signed by the author; record id', async () => {
          const opened = await open(bytes(v.envelope), kind)
          assert.equal(opened.signer.toString(), v.signer.peer_id)
          assert.equal(hex(opened.payload), v.payload)
          assert.equal(hex(opened.id), v.record_id)
          assert.equal(hex(recordId(bytes(v.envelope))), v.record_id)
          const author = AUTHOR[v.type]
          if (author != null) {
            assert.equal(v.fields[author], v.signer.peer_id_hex, 'the author field is the signer')
          }
          // and refuses it as any other type (payload type and domain differ)
          const other = v.type === 'Quote' ? RECORD.Assignment : RECORD.Quote
          await assert.rejects(open(bytes(v.envelope), { ...other, maxSize: 8192 }), /wrong payload type/)
          await assert.rejects(open(bytes(v.envelope), { ...kind, domain: other.domain }), /signature does not verify/)
        })

        it('decodes the payload to the fields and encodes the fields to the payload', () => {
          const fields = toClient(v.fields)
          assert.deepEqual(codec.decode(bytes(v.payload)), fields)
          assert.equal(hex(codec.encode(fields)), v.payload)
        })

        it('signing payload, signature and envelope byte for byte (Ed25519 is deterministic)', async () => {
          assert.equal(hex(signingPayload(v.domain, bytes(v.payload_type), bytes(v.payload))), v.signing_payload)
          const key = privateKeyFromProtobuf(bytes(v.signer.private_key))
          assert.equal(hex(await key.sign(bytes(v.signing_payload))), v.signature)
          assert.equal(hex(await seal(key, kind, codec.encode(toClient(v.fields)))), v.envelope)
        })
      })
    }

    it('a job announcement and a withdrawal open at now_ms and pass the client\'s §2.3 relay checks', async () => {
      const job = records.records.find(r => r.type === 'JobAnnouncement')
      const withdrawal = records.records.find(r => r.type === 'JobWithdrawal')
      assert.ok(job != null && withdrawal != null)
      const opened = await openJob(bytes(job.envelope), records.now_ms)
      const requester = peerIdFromString(job.signer.peer_id)
      const topic = announcementTopics(opened.value.kind, opened.value.requirements?.region)[0]
      assert.equal(await validateJobMessage(topic, requester, bytes(job.envelope), records.now_ms), TopicValidatorResult.Accept)
      assert.equal(await validateJobMessage(topic, requester, bytes(withdrawal.envelope), records.now_ms), TopicValidatorResult.Accept)
      assert.equal(await validateJobMessage(jobTopic(JOB_KIND.CAPTURE, 'w2'), requester, bytes(job.envelope), records.now_ms), TopicValidatorResult.Reject)
    })

    it('the capability record opens at now_ms for every key it is advertised under; those keys are the vector\'s', async () => {
      const v = records.records.find(r => r.type === 'CapabilityRecord')
      assert.ok(v != null)
      const record = CapabilityRecordCodec.decode(bytes(v.payload))
      assert.equal(record.geohash, dhtKeys.advertised.geohash)
      assert.deepEqual(PRECISIONS, dhtKeys.advertised.precisions, 'the default precisions')
      const keys = capabilityClasses(record).flatMap(c => advertisedCells(record.geohash).map(cell => ({ c, cell })))
      assert.deepEqual(keys.map(({ c, cell }) => capabilityKeyString(c, cell)).sort(), [...dhtKeys.advertised.keys].sort())
      const provider = peerIdFromString(v.signer.peer_id)
      for (const { c, cell } of keys) {
        await openCapability(bytes(v.envelope), provider, c, cell, records.now_ms)
      }
    })

    for (const v of records.countersigned) {
      it(`countersigned ${v.type}: countersign() reproduces the wrapper, openCountersigned() accepts it`, async () => {
        const kind = RECORD[v.type]
        assert.equal(v.domain, kind.domain + COUNTERSIGN_SUFFIX)
        assert.equal(v.payload_type, hex(encodeVarint(kind.code)))
        assert.equal(hex(signingPayload(v.domain, bytes(v.payload_type), bytes(v.envelope))), v.signing_payload)
        const key = privateKeyFromProtobuf(bytes(v.countersigner.private_key))
        assert.equal(hex(await key.sign(bytes(v.signing_payload))), v.signature)
        assert.equal(hex(await countersign(key, kind, bytes(v.envelope))), v.countersigned)

        const { record, countersigner } = await openCountersigned(bytes(v.countersigned), kind)
        assert.equal(countersigner.toString(), v.countersigner.peer_id)
        assert.equal(hex(record.id), v.record_id, 'the id of the author\'s envelope')
        assert.equal(hex(record.bytes), v.envelope)
        // §1.3: the countersigner is the record's second party (a WorkReceipt's requester)
        const receipt = WorkReceiptCodec.decode(record.payload)
        assert.equal(hex(receipt.requester), v.countersigner.peer_id_hex)
      })
    }
  })

  describe('records.json: proof of recording (§7)', () => {
    const capture = records.capture
    const recordOf = (type: keyof typeof RECORD): (typeof records.records)[number] => {
      const found = records.records.find(r => r.type === type)
      assert.ok(found != null, type)
      return found
    }

    it('the device binding: the bytes the device key signs, and the binding opens', async () => {
      const v = recordOf('DeviceBinding')
      const binding = await openDeviceBinding(bytes(v.envelope))
      assert.equal(hex(bindingSigned(binding.value)), capture.binding_signed)
      assert.equal(await publicKeyFromProtobuf(binding.value.deviceKey).verify(bindingSigned(binding.value), binding.value.deviceSignature), true)
    })

    it('the attestation: the device digest, then every data rule the client checks, with the footage', async () => {
      const v = recordOf('CaptureAttestation')
      const value = CaptureAttestationCodec.decode(bytes(v.payload))
      assert.equal(hex(CaptureAttestationCodec.encode({ ...value, deviceSignature: new Uint8Array(0) })), capture.unsigned_payload)
      assert.equal(hex(deviceSigned(value)), capture.device_signed)
      const chunks = capture.chunks.map(bytes)
      const checked = await verifyAttestation(bytes(v.envelope), { chunks, capturer: peerIdFromString(v.signer.peer_id), now: records.now_ms })
      assert.equal(hex(checked.id), v.record_id)
    })

    it('the attestation is refused with another footage, another capturer or another byte', async () => {
      const v = recordOf('CaptureAttestation')
      const chunks = capture.chunks.map(bytes)
      const now = records.now_ms
      const swapped = [chunks[1], chunks[0], chunks[2]]
      await assert.rejects(verifyAttestation(bytes(v.envelope), { chunks: swapped, now }), { code: 'content-mismatch' })
      // the same bytes cut at other seconds: the content hash holds, the chunk root does not
      const recut = [chunks[0].subarray(0, 10), concat([chunks[0].subarray(10), chunks[1]]), chunks[2]]
      await assert.rejects(verifyAttestation(bytes(v.envelope), { chunks: recut, now }), { code: 'chunk-root-mismatch' })
      const changed = chunks.map(c => Uint8Array.from(c))
      changed[2][0] ^= 1
      await assert.rejects(verifyAttestation(bytes(v.envelope), { chunks: changed, now }), { code: 'content-mismatch' })
      await assert.rejects(verifyAttestation(bytes(v.envelope), { chunks: chunks.slice(0, 2), now }), { code: 'content-mismatch' })
      await assert.rejects(verifyAttestation(bytes(v.envelope), { capturer: peerIdFromString(records.keys[0].peer_id), now }), { code: 'wrong-capturer' })
      const tampered = bytes(v.envelope)
      tampered[tampered.byteLength - 70] ^= 1
      await assert.rejects(verifyAttestation(tampered, { now }), { code: 'attestation-invalid' })
    })

    it('the chunk tree: hashes, leaves, root and every audit path', () => {
      const hashes = capture.chunks.map(c => sha256(bytes(c)))
      assert.deepEqual(hashes.map(hex), capture.chunk_hashes)
      assert.equal(hex(chunkRoot(hashes)), capture.chunk_root)
      assert.equal(hex(sha256(concat(capture.chunks.map(bytes)))), capture.content_hash)
      for (const p of capture.audit_paths) {
        assert.equal(verifyInclusion(bytes(capture.chunk_root), hashes[p.index], p.index, p.size, p.path.map(bytes)), true, `chunk ${p.index}`)
        assert.equal(verifyInclusion(bytes(capture.chunk_root), hashes[(p.index + 1) % p.size], p.index, p.size, p.path.map(bytes)), false)
      }
    })

    it('the witness statement: its witness could have measured its RTT from its cell to the claimed one (W4-W5)', () => {
      const s = WitnessStatementCodec.decode(bytes(recordOf('WitnessStatement').payload))
      const a = CaptureAttestationCodec.decode(bytes(recordOf('CaptureAttestation').payload))
      assert.equal(rttRefusal(s.geohash, a.geohash, s.rttMs), undefined)
      assert.equal(rttRefusal(s.geohash, a.geohash, 60), 'witness-rtt-above-ceiling')
      assert.equal(rttRefusal('ezjmg', a.geohash, s.rttMs), 'witness-too-far')
      assert.ok(s.windowStartMs <= a.startedMs && s.windowEndMs >= a.startedMs + a.durationMs, 'it watched the recording')
    })
  })

  describe('wire.json', () => {
    it('has a client codec for every message', () => {
      for (const m of wire.messages) assert.ok(WIRE_CODEC[m.message] != null, m.message)
    })

    for (const m of wire.messages) {
      it(`${m.message}: ${m.name}`, () => {
        const codec = WIRE_CODEC[m.message]
        const fields = toClientMessage(m.message, m.fields)
        // an unset message field is absent from the vector and undefined in the client
        const decoded = Object.fromEntries(Object.entries(codec.decode(bytes(m.hex))).filter(([, value]) => value !== undefined))
        assert.deepEqual(decoded, fields)
        if (m.unpacked_hex != null) {
          assert.deepEqual(codec.decode(bytes(m.unpacked_hex)), fields, 'the unpacked form decodes to the same value')
        }
        assert.equal(hex(codec.encode(fields)), m.hex, 'encoders write the packed form')
        if (m.body != null) assert.equal(fields.kind, camel(m.body))
        if (m.interests != null) {
          assert.deepEqual(m.interests.kinds.map(k => JOB_KIND[k.name as keyof typeof JOB_KIND]), fields.kinds)
          assert.deepEqual(m.interests.regions, fields.regions)
        }
        // a CaptureProof travels as a capture job's output (§7.3)
        const protocol: Record<string, string> = {
          JobSyncRequest: PROTOCOL.sync, CoordinateMessage: PROTOCOL.coordinate, WorkMessage: PROTOCOL.work, WitnessMessage: WITNESS_PROTOCOL, CaptureProof: PROTOCOL.work
        }
        assert.equal(protocol[m.message], m.protocol)
      })
    }
  })

  describe('dht-keys.json', () => {
    for (const k of dhtKeys.keys) {
      it(`${k.key}: key string, sha2-256 and CID`, async () => {
        assert.equal(capabilityKeyString(k.class, k.cell), k.key)
        const cid = await capabilityKey(k.class, k.cell)
        assert.equal(cid.toString(), k.cid)
        assert.equal(hex(cid.bytes), k.cid_hex)
        assert.equal(hex(cid.multihash.digest), k.sha256)
      })
    }
  })

  describe('topics.json', () => {
    it('each kind\'s global and regional topics, and the kind numbers are the client\'s', () => {
      for (const t of topics.job_topics) {
        assert.equal(JOB_KIND[t.kind.name as keyof typeof JOB_KIND], t.kind.number)
        assert.equal(jobTopic(t.kind.number), t.global)
        for (const r of t.regional) assert.equal(jobTopic(t.kind.number, r.region), r.topic)
      }
    })

    it('the topics an announcement is published on', () => {
      for (const a of topics.announcements) {
        // §2.1 names the topics, not an order
        assert.deepEqual(announcementTopics(a.kind.number, a.region, a.global).sort(), [...a.topics].sort(), `region '${a.region}', global ${a.global}`)
      }
    })
  })

  it('protocols.json: the client\'s protocol ids and prefixes', () => {
    assert.deepEqual({
      work: PROTOCOL.work,
      capability: PROTOCOL.capability,
      coordinate: PROTOCOL.coordinate,
      job_sync: PROTOCOL.sync,
      witness: WITNESS_PROTOCOL,
      dht: PROTOCOL.kad,
      job_topic_prefix: JOB_TOPIC_PREFIX,
      capability_key_prefix: CAPABILITY_KEY_PREFIX
    }, Object.fromEntries(Object.entries(protocols).filter(([k]) => k !== 'description')))
  })
})
