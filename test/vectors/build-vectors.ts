/**
 * The one source of the published test vectors in `test-vectors/`: every
 * value is computed here from the Shoal packages' public API, from fixed
 * keys and fixed times, so another implementation written from
 * docs/spec.md can check its bytes against Shoal's. `npm run vectors`
 * writes the files; test/vectors.spec.ts fails when they drift from this.
 */

import { generateKeyPairFromSeed, privateKeyToProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import {
  CAPABILITY_PROTOCOL, KEY_PREFIX, PRECISIONS, advertisementKeys, capabilityKey, capabilityKeyString
} from '@shoal/discovery'
import { JOB_KINDS, SYNC_KIND_NUMBER, SYNC_PROTOCOL, TOPIC_PREFIX, encodeSyncRequest, jobTopic, topicsForAnnouncement } from '@shoal/job-board'
import { SHOAL_DHT_PROTOCOL } from '@shoal/node'
import {
  WITNESS_PROTOCOL, attestCapture, chunkInclusionPath, createDevice, deviceDigest, encodeCaptureProof, encodeWitnessMessage, hashChunk
} from '@shoal/provenance'
import {
  AssignmentType, CAPTURE_DEVICE_DOMAIN, COUNTERSIGN_DOMAIN_SUFFIX, CapabilityRecordType, CaptureAttestationType, CoordinateProbe, CoordinateReply,
  DeviceBindingType, Evidence, EvidenceKind, EvidenceType, JobAnnouncementType, JobKind, JobSyncRequest, JobWithdrawalType, NetworkCoordinate, PAYLOAD_CODE,
  PaymentVoucherType, QuoteType, WitnessStatementType, WorkReceiptType, countersign, decodeEnvelope, encodeRecord, signRecord, signingPayload
} from '@shoal/records'
import { COORDINATE_PROTOCOL, encodeMessage as encodeCoordinateMessage } from '@shoal/router'
import { sha256 } from '@shoal/utils'
import { FAILURE_CODE, PROTOCOL as WORK_PROTOCOL, encodeFrame } from '@shoal/work'
import { concat, hex, lenField, varintField, doubleField } from './proto-writer.js'
import type { PrivateKey } from '@libp2p/interface'
import type { Interests, TopicJobKind } from '@shoal/job-board'
import type { CapabilityRecord, CountersignedRecord, LoadReport, Price, RecordType, SignedRecord, WitnessMessage } from '@shoal/records'
import type { CoordinateMessage as RouterCoordinateMessage } from '@shoal/router'
import type { WorkFrame } from '@shoal/work'
import type { Json } from '../conformance/client/vector-format.js'

export type { Json }

/** The vector files by name, each a JSON object. */
export type VectorFiles = Record<string, { [key: string]: Json }>

/** Creation time of the first record: 2026-01-01T00:00:00Z. Never Date.now(): vectors must not change. */
export const VECTOR_TIME_MS = 1_767_225_600_000

/** The `now` at which every record vector is valid (opening checks expiry and not-yet-valid against it). */
export const VECTOR_NOW_MS = VECTOR_TIME_MS + 60_000

/** A key holder of the vectors: an Ed25519 key derived from a 32-byte seed of one repeated byte. */
interface Party {
  name: string
  seed: Uint8Array
  key: PrivateKey
  /** peer id multihash bytes */
  id: Uint8Array
}

async function party (name: string, seedByte: number): Promise<Party> {
  const seed = new Uint8Array(32).fill(seedByte)
  const key = await generateKeyPairFromSeed('Ed25519', seed)
  return { name, seed, key, id: peerIdFromPrivateKey(key).toMultihash().bytes }
}

/** `count` bytes counting up from `first` (fixed ids, nonces and lanes). */
function counting (first: number, count = 16): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => (first + i) & 0xff)
}

function utf8 (text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

function snakeCase (name: string): string {
  return name.replace(/[A-Z]/g, c => '_' + c.toLowerCase())
}

/** A JobKind or EvidenceKind by name and by its wire number. */
function kindJson (kind: TopicJobKind | EvidenceKind): Json {
  if (kind in SYNC_KIND_NUMBER) {
    return { name: kind, number: SYNC_KIND_NUMBER[kind as TopicJobKind] }
  }
  // the generated codec is the one table of evidence kind numbers: field 2, one varint byte
  return { name: kind, number: Evidence.encode({ kind: kind as EvidenceKind })[1] }
}

/**
 * A decoded protobuf value as JSON: proto field names (snake_case), bytes as
 * hex, the `kind` enum by name and number, unset (undefined) fields left out.
 */
export function fieldsJson (value: unknown): Json {
  if (value instanceof Uint8Array) {
    return hex(value)
  }
  if (Array.isArray(value)) {
    return value.map(fieldsJson)
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, Json> = {}
    for (const [key, field] of Object.entries(value)) {
      if (field === undefined) {
        continue
      }
      out[snakeCase(key)] = key === 'kind' && typeof field === 'string' ? kindJson(field as TopicJobKind | EvidenceKind) : fieldsJson(field)
    }
    return out
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return value
  }
  throw new TypeError(`No JSON form for ${typeof value}`)
}

function keyJson (p: Party): Json {
  return {
    name: p.name,
    seed: hex(p.seed),
    private_key: hex(privateKeyToProtobuf(p.key)),
    public_key: hex(publicKeyToProtobuf(p.key.publicKey)),
    peer_id: peerIdFromPrivateKey(p.key).toString(),
    peer_id_hex: hex(p.id)
  }
}

/** Sign a record and describe every step from its fields to its id. */
async function recordVector<T> (type: RecordType<T>, value: T, signer: Party, notes?: Record<string, Json>): Promise<{ record: SignedRecord<T>, json: Json }> {
  const record = await signRecord(type, value, signer.key)
  const payload = encodeRecord(type, value)
  const json: Record<string, Json> = {
    type: type.name,
    signer: keyJson(signer),
    fields: fieldsJson(value),
    payload: hex(payload),
    payload_code: PAYLOAD_CODE[type.name],
    payload_type: hex(type.payloadType),
    domain: type.domain,
    signing_payload: hex(signingPayload(type.domain, type.payloadType, payload)),
    signature: hex(decodeEnvelope(record.bytes, type.maxSize).signature),
    envelope: hex(record.bytes),
    record_id: hex(record.id)
  }
  if (notes != null) {
    json.notes = notes
  }
  return { record, json }
}

/** The countersignature of a two-party record, step by step. */
function countersignedVector<T> (signed: CountersignedRecord<T>, countersigner: Party): Json {
  const type = signed.record.type
  const domain = type.domain + COUNTERSIGN_DOMAIN_SUFFIX
  return {
    type: type.name,
    envelope: hex(signed.record.bytes),
    countersigner: keyJson(countersigner),
    domain,
    payload_type: hex(type.payloadType),
    signing_payload: hex(signingPayload(domain, type.payloadType, signed.record.bytes)),
    signature: hex(signed.countersignature),
    countersigned: hex(signed.bytes),
    record_id: hex(signed.id)
  }
}

/** Everything the record and wire vectors share: the parties and the chain of records of one job. */
async function buildRecords (): Promise<{ json: { [key: string]: Json }, chain: Chain }> {
  const requester = await party('requester', 0x01)
  const provider = await party('provider', 0x02)
  const witness = await party('witness', 0x03)
  const device = await party('capture device', 0x04)
  const t = VECTOR_TIME_MS
  const jobId = counting(0x01)
  const price: Price = { perUnit: 20, currency: 'USDC', unit: 'gpu-second' }
  const input = utf8('hello, shoal')
  const output = utf8('HELLO, SHOAL')

  const job = await recordVector(JobAnnouncementType, {
    version: 1,
    jobId,
    requester: requester.id,
    kind: JobKind.GPU_INFERENCE,
    requirements: { gpuModel: '', gpuClass: 'consumer-24g', minVramMib: 16384, gpuCount: 1, sensors: [], region: 'w21z', maxRttMs: 40 },
    priceCeiling: price,
    budget: 10_000,
    deadlineMs: t + 600_000,
    createdMs: t,
    expiresMs: t + 3_600_000,
    description: 'run a 7B model near Singapore',
    inputHash: sha256(input),
    inputBytes: input.byteLength,
    workload: 'llama-7b-q4'
  }, requester, { input_hash: 'sha2-256 of the UTF-8 input "hello, shoal"' })

  const withdrawal = await recordVector(JobWithdrawalType, { version: 1, jobId, requester: requester.id, createdMs: t + 50_000 }, requester)

  const addrs = ['/ip4/127.0.0.1/tcp/4001', '/ip6/::1/udp/4001/quic-v1']
  const capability = await recordVector(CapabilityRecordType, {
    version: 1,
    provider: provider.id,
    seq: 7,
    gpus: [
      { model: 'NVIDIA RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 2 },
      { model: 'NVIDIA H100', class: 'datacenter-80g', vramMib: 81920, count: 1 }
    ],
    sensors: ['video', 'gps'],
    geohash: 'w21z7',
    coordinate: { vec: [12.5, -3.25, 40, 0, 1.5, -7, 0.125, 2], height: 2.5, error: 0.25 },
    price,
    concurrency: 4,
    freeSlots: 2,
    addrs: addrs.map(a => multiaddr(a).bytes),
    createdMs: t,
    expiresMs: t + 3_600_000
  }, provider, { addrs: addrs })

  const quote = await recordVector(QuoteType, {
    version: 1,
    jobId,
    requester: requester.id,
    provider: provider.id,
    price,
    estUnits: 30,
    etaMs: 4000,
    freeSlots: 2,
    createdMs: t + 1_000,
    expiresMs: t + 61_000,
    nonce: counting(0x21)
  }, provider)

  const assignment = await recordVector(AssignmentType, {
    version: 1,
    jobId,
    requester: requester.id,
    provider: provider.id,
    quote: quote.record.bytes,
    maxUnits: 60,
    inputHash: sha256(input),
    createdMs: t + 2_000,
    expiresMs: t + 602_000,
    nonce: counting(0x31)
  }, requester, { quote: 'the envelope of the Quote vector' })

  const receipt = await recordVector(WorkReceiptType, {
    version: 1,
    jobId,
    assignmentId: assignment.record.id,
    requester: requester.id,
    provider: provider.id,
    units: 31,
    price,
    total: 620,
    resultHash: sha256(output),
    startedMs: t + 3_000,
    endedMs: t + 34_000,
    status: 0,
    prev: sha256(utf8('the provider\'s previous receipt'))
  }, provider, { assignment_id: 'the record id of the Assignment vector', result_hash: 'sha2-256 of the UTF-8 output "HELLO, SHOAL"' })

  const countersigned = await countersign(receipt.record, requester.key)

  // proof of recording (§7): the capture device (seed 04) bound to the provider, three one-second chunks,
  // the attestation for the assignment above, and a witness (seed 03) who watched it from the next cell
  const bound = await createDevice(provider.key, { key: device.key, model: 'dashcam-x2', createdMs: t })
  const binding = await recordVector(DeviceBindingType, bound.binding.value, provider, {
    device_signature: 'Ed25519 signature of the capture device key over UTF-8 "shoal:device-binding:v1" || peer || created_ms as 8 bytes big-endian (capture.binding_signed)'
  })
  if (hex(binding.record.bytes) !== hex(bound.binding.bytes)) {
    throw new Error('the DeviceBinding vector is not the binding createDevice signs')
  }
  const chunks = [utf8('second 0: a red car turns left at the lights'), utf8('second 1: a cyclist crosses on green'), utf8('second 2: the bus arrives')]
  const capturedMs = t + 10_000
  const signedAttestation = await attestCapture({
    chunks,
    mediaType: 'application/octet-stream',
    startedMs: capturedMs,
    durationMs: 2_500,
    geohash: 'w21z7',
    sensors: ['video', 'gps'],
    jobId,
    assignmentId: assignment.record.id
  }, provider.key, bound)
  const attestation = await recordVector(CaptureAttestationType, signedAttestation.value, provider, {
    device_signature: 'Ed25519 signature of the capture device key over UTF-8 "shoal:capture-device:v1" || sha2-256 of the payload with device_signature empty (capture.device_signed)',
    device_binding: 'the envelope of the DeviceBinding vector',
    assignment_id: 'the record id of the Assignment vector',
    chunk_root: 'RFC 6962 root over the chunk hashes of capture.chunks'
  })
  if (hex(attestation.record.bytes) !== hex(signedAttestation.bytes)) {
    throw new Error('the CaptureAttestation vector is not the attestation attestCapture signs')
  }

  const statement = await recordVector(WitnessStatementType, {
    version: 1,
    witness: witness.id,
    attestationId: attestation.record.id,
    capturer: provider.id,
    rttMs: 4,
    geohash: 'w21z6',
    createdMs: capturedMs + 3_100,
    rounds: 5,
    windowStartMs: capturedMs - 40,
    windowEndMs: capturedMs + 3_050,
    observedAddr: multiaddr(OBSERVED_ADDR).bytes
  }, witness, { attestation_id: 'the record id of the CaptureAttestation vector', observed_addr: OBSERVED_ADDR })

  // the witness's receipt for witnessing (§7.4 step 4), countersigned by the capturer (step 5)
  const witnessPrice: Price = { perUnit: 1, currency: 'USDC', unit: 'witness' }
  const witnessReceipt = await signRecord(WorkReceiptType, {
    version: 1,
    jobId,
    assignmentId: attestation.record.id,
    requester: provider.id,
    provider: witness.id,
    units: 1,
    price: witnessPrice,
    total: 1,
    resultHash: sha256(statement.record.bytes),
    startedMs: capturedMs - 40,
    endedMs: capturedMs + 3_100,
    status: 0,
    prev: new Uint8Array()
  }, witness.key)
  const witnessPaid = await countersign(witnessReceipt, provider.key)
  // the witness's history: work it did for the requester a day earlier, countersigned by them
  const earlier = await signRecord(WorkReceiptType, {
    version: 1,
    jobId: counting(0x51),
    assignmentId: sha256(utf8('an earlier assignment')),
    requester: requester.id,
    provider: witness.id,
    units: 10,
    price,
    total: 200,
    resultHash: sha256(utf8('an earlier output')),
    startedMs: t - 86_400_000,
    endedMs: t - 86_390_000,
    status: 0,
    prev: new Uint8Array()
  }, witness.key)
  const history = await countersign(earlier, requester.key)

  const chunkHashes = chunks.map(hashChunk)
  const unsignedAttestation = encodeRecord(CaptureAttestationType, { ...signedAttestation.value, deviceSignature: new Uint8Array() })
  const capture: Json = {
    description: 'The footage of the CaptureAttestation vector (spec §7.1, §7.2): its chunks, their hashes and RFC 6962 tree, and the bytes the device key signs.',
    chunks: chunks.map(hex),
    chunk_hashes: chunkHashes.map(hex),
    leaf_hashes: chunkHashes.map(h => hex(sha256(concat(new Uint8Array([0]), h)))),
    chunk_root: hex(signedAttestation.value.chunkRoot),
    audit_paths: chunkHashes.map((_, index) => ({ index, size: chunkHashes.length, path: chunkInclusionPath(chunkHashes, index).map(hex) })),
    content_hash: hex(signedAttestation.value.contentHash),
    content_bytes: signedAttestation.value.contentBytes,
    binding_signed: hex(concat(utf8(DeviceBindingType.domain), provider.id, bigEndian64(t))),
    unsigned_payload: hex(unsignedAttestation),
    device_signed: hex(deviceDigest(signedAttestation.value)),
    device_domain: CAPTURE_DEVICE_DOMAIN
  }

  const voucher = await recordVector(PaymentVoucherType, {
    version: 1,
    lane: counting(0x41),
    payer: requester.id,
    payee: provider.id,
    nonce: 1,
    cumulative: 620,
    currency: 'USDC',
    jobId,
    createdMs: t + 35_000
  }, requester)

  // the provider signs a second, different receipt for the same assignment:
  // equivocation, which the requester reports
  const second = await signRecord(WorkReceiptType, { ...receipt.record.value, resultHash: sha256(utf8('a different output')) }, provider.key)
  const evidence = await recordVector(EvidenceType, {
    version: 1,
    kind: EvidenceKind.EQUIVOCATION,
    offender: provider.id,
    receipts: [receipt.record.bytes, second.bytes],
    assignments: [],
    jobs: [],
    createdMs: t + 40_000
  }, requester, { receipts: 'the envelope of the WorkReceipt vector, then the provider\'s second receipt for the same assignment with result_hash sha2-256 of "a different output"' })

  const json = {
    description: 'Signed records of docs/spec.md §1: one per record type, from the fields to the envelope and its id; countersigned WorkReceipts (§1.3): the job\'s, the witness\'s for witnessing (§7.4) and one of the witness\'s history; and the footage of the CaptureAttestation (§7.1, §7.2).',
    now_ms: VECTOR_NOW_MS,
    keys: [requester, provider, witness, device].map(keyJson),
    records: [job, withdrawal, capability, quote, assignment, receipt, binding, attestation, statement, voucher, evidence].map(v => v.json),
    countersigned: [countersignedVector(countersigned, requester), countersignedVector(witnessPaid, provider), countersignedVector(history, requester)],
    capture
  }
  return {
    json,
    chain: { job: job.record.bytes, jobPayload: encodeRecord(JobAnnouncementType, job.record.value), quote: quote.record.bytes, assignment: assignment.record, input, output, receipt: receipt.record.bytes, countersigned: countersigned.bytes, voucher: voucher.record.bytes, capability: capability.record.value, attestation: attestation.record.bytes, statement: statement.record.bytes, witnessReceipt: witnessReceipt.bytes, witnessPaid: witnessPaid.bytes, history: history.bytes, jobId, startedMs: capturedMs, witnessPrice }
  }
}

/** The signed bytes of one job's records, carried by the work messages. */
interface Chain {
  job: Uint8Array
  jobPayload: Uint8Array
  quote: Uint8Array
  assignment: SignedRecord<unknown>
  input: Uint8Array
  output: Uint8Array
  receipt: Uint8Array
  countersigned: Uint8Array
  voucher: Uint8Array
  capability: CapabilityRecord
  attestation: Uint8Array
  statement: Uint8Array
  /** the witness's WorkReceipt envelope for witnessing */
  witnessReceipt: Uint8Array
  /** that receipt, countersigned by the capturer */
  witnessPaid: Uint8Array
  /** a countersigned receipt of the witness's history */
  history: Uint8Array
  jobId: Uint8Array
  startedMs: number
  witnessPrice: Price
}

/** The capturer's address as the witness saw it, in the WitnessStatement vector. */
const OBSERVED_ADDR = '/ip4/203.0.113.7/tcp/4001'

/** 8 bytes, big-endian. */
function bigEndian64 (n: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

/** NetworkCoordinate with `vec` unpacked: one I64 field per component (what proto2-style encoders write). */
function unpackedCoordinate (c: NetworkCoordinate): Uint8Array {
  return concat(...c.vec.map(x => doubleField(1, x)), NetworkCoordinate.encode({ ...c, vec: [] }))
}

function coordinateVector (name: string, message: RouterCoordinateMessage): Json {
  const coordinate: NetworkCoordinate = { vec: message.coordinate.vec, height: message.coordinate.height, error: message.coordinate.error }
  let fields: Json
  let unpacked: Uint8Array
  if (message.kind === 'probe') {
    fields = fieldsJson({ probe: { coordinate, wantLoad: message.wantLoad } })
    unpacked = lenField(1, concat(lenField(1, unpackedCoordinate(coordinate)), CoordinateProbe.encode({ wantLoad: message.wantLoad })))
  } else {
    const load: LoadReport | undefined = message.load == null ? undefined : { freeSlots: message.load.freeSlots, concurrency: message.load.concurrency, queueLength: message.load.queueLength ?? 0 }
    fields = fieldsJson({ reply: { coordinate, load } })
    unpacked = lenField(2, concat(lenField(1, unpackedCoordinate(coordinate)), CoordinateReply.encode({ load })))
  }
  return { name, protocol: COORDINATE_PROTOCOL, message: 'CoordinateMessage', fields, hex: hex(encodeCoordinateMessage(message)), unpacked_hex: hex(unpacked) }
}

function syncVector (name: string, interests: Interests): Json {
  const bytes = encodeSyncRequest(interests)
  const request = JobSyncRequest.decode(bytes)
  const unpacked = concat(...request.kinds.map(k => varintField(1, k)), JobSyncRequest.encode({ ...request, kinds: [] }))
  return {
    name,
    protocol: SYNC_PROTOCOL,
    message: 'JobSyncRequest',
    interests: { kinds: (interests.kinds ?? []).map(k => kindJson(k as TopicJobKind)), regions: interests.regions ?? [] },
    fields: fieldsJson(request),
    hex: hex(bytes),
    unpacked_hex: hex(unpacked)
  }
}

function workVector (name: string, frame: WorkFrame, notes?: Record<string, Json>): Json {
  const json: Record<string, Json> = {
    name,
    protocol: WORK_PROTOCOL,
    message: 'WorkMessage',
    body: snakeCase(frame.kind),
    fields: fieldsJson({ [frame.kind]: frame.body }),
    hex: hex(encodeFrame(frame))
  }
  if (notes != null) {
    json.notes = notes
  }
  return json
}

function witnessVector (name: string, message: WitnessMessage, notes?: Record<string, Json>): Json {
  const kinds = Object.entries(message).filter(([, body]) => body != null)
  if (kinds.length !== 1) {
    throw new Error('a WitnessMessage sets one body')
  }
  const json: Record<string, Json> = {
    name,
    protocol: WITNESS_PROTOCOL,
    message: 'WitnessMessage',
    body: snakeCase(kinds[0][0]),
    fields: fieldsJson(message),
    hex: hex(encodeWitnessMessage(message))
  }
  if (notes != null) {
    json.notes = notes
  }
  return json
}

function captureProofVector (chain: Chain): Json {
  const parts = { attestation: chain.attestation, witnesses: [chain.statement], history: [chain.history] }
  return {
    name: 'capture proof: the attestation, one witness and its history',
    protocol: WORK_PROTOCOL,
    message: 'CaptureProof',
    fields: fieldsJson(parts),
    hex: hex(encodeCaptureProof(parts)),
    notes: {
      travels: 'as the output of a capture job\'s WorkMessage result (§7.3); its sha2-256 is the receipt\'s result_hash',
      attestation: 'the envelope of the CaptureAttestation vector',
      witnesses: 'the envelope of the WitnessStatement vector',
      history: 'the third countersigned receipt of records.json'
    }
  }
}

function buildWire (chain: Chain): { [key: string]: Json } {
  const coordinate = { vec: [12.5, -3.25, 40, 0, 1.5, -7, 0.125, 2], height: 2.5, error: 0.25 }
  return {
    description: 'Unsigned protocol messages (docs/spec.md §2.5, §4, §6, §7.3, §7.4): fields and protobuf bytes. On a stream each travels as varint(length) || message. `hex` is the canonical encoding encoders write (repeated numbers packed); `unpacked_hex`, where present, is the same message with repeated numbers unpacked, which decoders must accept too.',
    messages: [
      syncVector('sync request: two kinds, two regions', { kinds: [JobKind.GPU_INFERENCE, JobKind.CAPTURE], regions: ['w2', 'u'] }),
      syncVector('sync request: one kind, no region', { kinds: [JobKind.GPU_BATCH] }),
      coordinateVector('coordinate probe asking for the load', { kind: 'probe', coordinate, wantLoad: true }),
      coordinateVector('coordinate reply with the load', { kind: 'reply', coordinate: { vec: [-1, 0.5, 300, -250.75, 0, 0, 8, 1], height: 0.75, error: 1 }, load: { freeSlots: 2, concurrency: 4, queueLength: 1 } }),
      workVector('quote request, direct mode (inline job)', { kind: 'quoteRequest', body: { job: new Uint8Array(), inlineJob: chain.jobPayload } }, { inline_job: 'the payload of the JobAnnouncement vector' }),
      workVector('quote request, open market (signed job)', { kind: 'quoteRequest', body: { job: chain.job, inlineJob: new Uint8Array() } }, { job: 'the envelope of the JobAnnouncement vector' }),
      workVector('quote reply', { kind: 'quote', body: { quote: chain.quote } }, { quote: 'the envelope of the Quote vector' }),
      workVector('assign', { kind: 'assign', body: { assignment: chain.assignment.bytes, input: chain.input } }, { assignment: 'the envelope of the Assignment vector' }),
      workVector('progress', { kind: 'progress', body: { assignmentId: chain.assignment.id, units: 12, permille: 400, message: 'decoding' } }),
      workVector('result', { kind: 'result', body: { receipt: chain.receipt, output: chain.output, location: '' } }, { receipt: 'the envelope of the WorkReceipt vector' }),
      workVector('countersign with a voucher', { kind: 'countersign', body: { receipt: chain.countersigned, voucher: chain.voucher } }, { receipt: 'the countersigned WorkReceipt of records.json', voucher: 'the envelope of the PaymentVoucher vector' }),
      workVector('voucher', { kind: 'voucher', body: { voucher: chain.voucher } }),
      workVector('ack', { kind: 'ack', body: { id: chain.assignment.id, paid: 620 } }),
      workVector('failure', { kind: 'error', body: { code: FAILURE_CODE.rateLimited, message: 'too many quote requests', retryAfterMs: 0 } }),
      workVector('busy failure with an estimated wait', { kind: 'error', body: { code: FAILURE_CODE.busy, message: 'running 2 of 2 jobs, 256 queued', retryAfterMs: 1200 } }),
      captureProofVector(chain),
      witnessVector('witness open', { open: { jobId: chain.jobId, geohash: 'w21z7', startedMs: chain.startedMs, durationMs: 2_500 } }),
      witnessVector('witness accept with a price', { accept: { geohash: 'w21z6', price: chain.witnessPrice } }),
      witnessVector('witness accept, free', { accept: { geohash: 'w21z6' } }, { price: 'unset: the witness asks nothing' }),
      witnessVector('witness echo', { echo: { nonce: counting(0x61, 8) } }),
      witnessVector('witness attest', { attest: { attestation: chain.attestation } }, { attestation: 'the envelope of the CaptureAttestation vector' }),
      witnessVector('witness signed', { signed: { statement: chain.statement, receipt: chain.witnessReceipt, history: [chain.history] } }, {
        statement: 'the envelope of the WitnessStatement vector',
        receipt: 'the witness\'s WorkReceipt envelope (the envelope of the second countersigned receipt of records.json)',
        history: 'the third countersigned receipt of records.json'
      }),
      witnessVector('witness countersign', { countersign: { receipt: chain.witnessPaid } }, { receipt: 'the second countersigned receipt of records.json' }),
      witnessVector('witness refusal', { error: { code: 'too-far', message: 'the claimed cell is more than 100 km away', retryAfterMs: 0 } })
    ]
  }
}

function buildDhtKeys (capability: CapabilityRecord): { [key: string]: Json } {
  const pairs: Array<[string, string]> = [
    ['gpu:consumer-24g', ''], ['gpu:consumer-24g', 'x'], ['gpu:consumer-24g', 'xn'], ['gpu:consumer-24g', 'xn7'],
    ['gpu:datacenter-80g', 'u09'], ['sensor:video', ''], ['sensor:video', 'w'], ['sensor:video', 'w2'], ['sensor:video', 'w21'],
    ['sensor:lidar', 'dr5']
  ]
  return {
    description: 'DHT provider keys of docs/spec.md §3.2: key string /shoal/cap/1/<class>/<cell>, its sha2-256, and the CIDv1 (raw codec 0x55, sha2-256 multihash) used as the kad-dht key.',
    keys: pairs.map(([capabilityClass, cell]) => {
      const cid = capabilityKey(capabilityClass, cell)
      return { class: capabilityClass, cell, precision: cell.length, key: capabilityKeyString(capabilityClass, cell), sha256: hex(cid.multihash.digest), cid: cid.toString(), cid_hex: hex(cid.bytes) }
    }),
    advertised: {
      record: 'the CapabilityRecord vector of records.json',
      geohash: capability.geohash,
      precisions: [...PRECISIONS],
      keys: advertisementKeys(capability, PRECISIONS).map(k => k.text)
    }
  }
}

function buildTopics (): { [key: string]: Json } {
  const announcements: Json[] = []
  for (const region of ['', 'w', 'w2', 'w21z7']) {
    for (const global of [false, true]) {
      announcements.push({ kind: kindJson(JobKind.GPU_INFERENCE), region, global, topics: topicsForAnnouncement({ kind: JobKind.GPU_INFERENCE, requirements: { gpuModel: '', gpuClass: '', minVramMib: 0, gpuCount: 0, sensors: [], region, maxRttMs: 0 } }, global) })
    }
  }
  return {
    description: 'Job board topics of docs/spec.md §2.1: the global and regional topic of each job kind, and the topics an announcement is published on for its requirements.region and its global flag.',
    job_topics: JOB_KINDS.map(kind => ({
      kind: kindJson(kind),
      global: jobTopic(kind),
      regional: ['w2', 'u09t4'].map(region => ({ region, topic: jobTopic(kind, region) }))
    })),
    announcements
  }
}

function buildProtocols (): { [key: string]: Json } {
  return {
    description: 'Protocol ids and name prefixes of a Shoal network.',
    work: WORK_PROTOCOL,
    capability: CAPABILITY_PROTOCOL,
    coordinate: COORDINATE_PROTOCOL,
    job_sync: SYNC_PROTOCOL,
    witness: WITNESS_PROTOCOL,
    dht: SHOAL_DHT_PROTOCOL,
    job_topic_prefix: TOPIC_PREFIX,
    capability_key_prefix: KEY_PREFIX
  }
}

/** Compute every vector file from the packages. Deterministic: the same code gives the same files. */
export async function buildVectors (): Promise<VectorFiles> {
  const { json: records, chain } = await buildRecords()
  return {
    'records.json': records,
    'wire.json': buildWire(chain),
    'dht-keys.json': buildDhtKeys(chain.capability),
    'topics.json': buildTopics(),
    'protocols.json': buildProtocols()
  }
}

/** A vector file's text: 2-space JSON with a trailing newline, keys in the order built. */
export function vectorText (json: Json): string {
  return JSON.stringify(json, null, 2) + '\n'
}
