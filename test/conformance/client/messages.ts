/**
 * The Shoal messages this client needs, encoded and decoded by hand from the
 * schemas of docs/spec.md and records.proto (field numbers and types only).
 */

import { Reader, Writer } from './protobuf.js'

/** enum JobKind */
export const JOB_KIND = { GPU_INFERENCE: 1, GPU_BATCH: 2, CAPTURE: 3 } as const

export interface Price { perUnit: number, currency: string, unit: string }

export interface Requirements {
  gpuModel?: string
  gpuClass?: string
  minVramMib?: number
  gpuCount?: number
  sensors?: string[]
  region?: string
  maxRttMs?: number
}

export interface JobAnnouncement {
  version: number
  jobId: Uint8Array
  requester: Uint8Array
  kind: number
  requirements?: Requirements
  priceCeiling?: Price
  budget: number
  deadlineMs: number
  createdMs: number
  expiresMs: number
  description?: string
  inputHash?: Uint8Array
  inputBytes?: number
  workload?: string
}

export interface Gpu { model: string, class: string, vramMib: number, count: number }

export interface NetworkCoordinate { vec: number[], height: number, error: number }

export interface CapabilityRecord {
  version: number
  provider: Uint8Array
  seq: number
  gpus: Gpu[]
  sensors: string[]
  geohash: string
  coordinate?: NetworkCoordinate
  price?: Price
  concurrency: number
  freeSlots: number
  addrs: Uint8Array[]
  createdMs: number
  expiresMs: number
}

export interface Quote {
  version: number
  jobId: Uint8Array
  requester: Uint8Array
  provider: Uint8Array
  price?: Price
  estUnits: number
  etaMs: number
  freeSlots: number
  createdMs: number
  expiresMs: number
  nonce: Uint8Array
}

export interface Assignment {
  version: number
  jobId: Uint8Array
  requester: Uint8Array
  provider: Uint8Array
  quote: Uint8Array
  maxUnits: number
  inputHash: Uint8Array
  createdMs: number
  expiresMs: number
  nonce: Uint8Array
}

export interface WorkReceipt {
  version: number
  jobId: Uint8Array
  assignmentId: Uint8Array
  requester: Uint8Array
  provider: Uint8Array
  units: number
  price?: Price
  total: number
  resultHash: Uint8Array
  startedMs: number
  endedMs: number
  status: number
  prev: Uint8Array
}

export interface PaymentVoucher {
  version: number
  lane: Uint8Array
  payer: Uint8Array
  payee: Uint8Array
  nonce: number
  cumulative: number
  currency: string
  jobId: Uint8Array
  createdMs: number
}

export interface JobWithdrawal { version: number, jobId: Uint8Array, requester: Uint8Array, createdMs: number }

export interface CaptureAttestation {
  version: number
  capturer: Uint8Array
  deviceKey: Uint8Array
  deviceSignature: Uint8Array
  contentHash: Uint8Array
  contentBytes: number
  mediaType: string
  startedMs: number
  durationMs: number
  geohash: string
  sensors: string[]
  jobId: Uint8Array
}

export interface WitnessStatement {
  version: number
  witness: Uint8Array
  attestationId: Uint8Array
  capturer: Uint8Array
  rttMs: number
  geohash: string
  createdMs: number
}

/** A codec of one message type. */
export interface Codec<T> {
  encode(value: T): Uint8Array
  decode(bytes: Uint8Array): T
}

export const PriceCodec: Codec<Price> = {
  encode: p => new Writer().uint(1, p.perUnit).string(2, p.currency).string(3, p.unit).finish(),
  decode: b => { const r = new Reader(b); return { perUnit: r.uint(1), currency: r.string(2), unit: r.string(3) } }
}

const RequirementsCodec: Codec<Requirements> = {
  encode: q => new Writer().string(1, q.gpuModel).string(2, q.gpuClass).uint(3, q.minVramMib).uint(4, q.gpuCount)
    .repeatedString(5, q.sensors ?? []).string(6, q.region).uint(7, q.maxRttMs).finish(),
  decode: b => {
    const r = new Reader(b)
    return { gpuModel: r.string(1), gpuClass: r.string(2), minVramMib: r.uint(3), gpuCount: r.uint(4), sensors: r.repeatedString(5), region: r.string(6), maxRttMs: r.uint(7) }
  }
}

function optional<T> (codec: Codec<T>, bytes: Uint8Array | undefined): T | undefined {
  return bytes == null ? undefined : codec.decode(bytes)
}

export const JobAnnouncementCodec: Codec<JobAnnouncement> = {
  encode: j => new Writer().uint(1, j.version).bytes(2, j.jobId).bytes(3, j.requester).uint(4, j.kind)
    .message(5, j.requirements == null ? undefined : RequirementsCodec.encode(j.requirements))
    .message(6, j.priceCeiling == null ? undefined : PriceCodec.encode(j.priceCeiling))
    .uint(7, j.budget).uint(8, j.deadlineMs).uint(9, j.createdMs).uint(10, j.expiresMs).string(11, j.description)
    .bytes(12, j.inputHash).uint(13, j.inputBytes).string(14, j.workload).finish(),
  decode: b => {
    const r = new Reader(b)
    return {
      version: r.uint(1),
      jobId: r.bytes(2),
      requester: r.bytes(3),
      kind: r.uint(4),
      requirements: optional(RequirementsCodec, r.message(5)),
      priceCeiling: optional(PriceCodec, r.message(6)),
      budget: r.uint(7),
      deadlineMs: r.uint(8),
      createdMs: r.uint(9),
      expiresMs: r.uint(10),
      description: r.string(11),
      inputHash: r.bytes(12),
      inputBytes: r.uint(13),
      workload: r.string(14)
    }
  }
}

export const JobWithdrawalCodec: Codec<JobWithdrawal> = {
  encode: w => new Writer().uint(1, w.version).bytes(2, w.jobId).bytes(3, w.requester).uint(4, w.createdMs).finish(),
  decode: b => { const r = new Reader(b); return { version: r.uint(1), jobId: r.bytes(2), requester: r.bytes(3), createdMs: r.uint(4) } }
}

export const NetworkCoordinateCodec: Codec<NetworkCoordinate> = {
  encode: c => new Writer().packedDouble(1, c.vec).double(2, c.height).double(3, c.error).finish(),
  decode: b => { const r = new Reader(b); return { vec: r.repeatedDouble(1), height: r.double(2), error: r.double(3) } }
}

const GpuCodec: Codec<Gpu> = {
  encode: g => new Writer().string(1, g.model).string(2, g.class).uint(3, g.vramMib).uint(4, g.count).finish(),
  decode: b => { const r = new Reader(b); return { model: r.string(1), class: r.string(2), vramMib: r.uint(3), count: r.uint(4) } }
}

export const CapabilityRecordCodec: Codec<CapabilityRecord> = {
  encode: c => new Writer().uint(1, c.version).bytes(2, c.provider).uint(3, c.seq).repeatedBytes(4, c.gpus.map(g => GpuCodec.encode(g)))
    .repeatedString(5, c.sensors).string(6, c.geohash)
    .message(7, c.coordinate == null ? undefined : NetworkCoordinateCodec.encode(c.coordinate))
    .message(8, c.price == null ? undefined : PriceCodec.encode(c.price))
    .uint(9, c.concurrency).uint(10, c.freeSlots).repeatedBytes(11, c.addrs).uint(12, c.createdMs).uint(13, c.expiresMs).finish(),
  decode: b => {
    const r = new Reader(b)
    return {
      version: r.uint(1),
      provider: r.bytes(2),
      seq: r.uint(3),
      gpus: r.repeatedBytes(4).map(g => GpuCodec.decode(g)),
      sensors: r.repeatedString(5),
      geohash: r.string(6),
      coordinate: optional(NetworkCoordinateCodec, r.message(7)),
      price: optional(PriceCodec, r.message(8)),
      concurrency: r.uint(9),
      freeSlots: r.uint(10),
      addrs: r.repeatedBytes(11),
      createdMs: r.uint(12),
      expiresMs: r.uint(13)
    }
  }
}

export const QuoteCodec: Codec<Quote> = {
  encode: q => new Writer().uint(1, q.version).bytes(2, q.jobId).bytes(3, q.requester).bytes(4, q.provider)
    .message(5, q.price == null ? undefined : PriceCodec.encode(q.price)).uint(6, q.estUnits).uint(7, q.etaMs).uint(8, q.freeSlots)
    .uint(9, q.createdMs).uint(10, q.expiresMs).bytes(11, q.nonce).finish(),
  decode: b => {
    const r = new Reader(b)
    return {
      version: r.uint(1),
      jobId: r.bytes(2),
      requester: r.bytes(3),
      provider: r.bytes(4),
      price: optional(PriceCodec, r.message(5)),
      estUnits: r.uint(6),
      etaMs: r.uint(7),
      freeSlots: r.uint(8),
      createdMs: r.uint(9),
      expiresMs: r.uint(10),
      nonce: r.bytes(11)
    }
  }
}

export const AssignmentCodec: Codec<Assignment> = {
  encode: a => new Writer().uint(1, a.version).bytes(2, a.jobId).bytes(3, a.requester).bytes(4, a.provider).bytes(5, a.quote)
    .uint(6, a.maxUnits).bytes(7, a.inputHash).uint(8, a.createdMs).uint(9, a.expiresMs).bytes(10, a.nonce).finish(),
  decode: b => {
    const r = new Reader(b)
    return {
      version: r.uint(1),
      jobId: r.bytes(2),
      requester: r.bytes(3),
      provider: r.bytes(4),
      quote: r.bytes(5),
      maxUnits: r.uint(6),
      inputHash: r.bytes(7),
      createdMs: r.uint(8),
      expiresMs: r.uint(9),
      nonce: r.bytes(10)
    }
  }
}

export const WorkReceiptCodec: Codec<WorkReceipt> = {
  encode: w => new Writer().uint(1, w.version).bytes(2, w.jobId).bytes(3, w.assignmentId).bytes(4, w.requester).bytes(5, w.provider)
    .uint(6, w.units).message(7, w.price == null ? undefined : PriceCodec.encode(w.price)).uint(8, w.total).bytes(9, w.resultHash)
    .uint(10, w.startedMs).uint(11, w.endedMs).sint(12, w.status).bytes(13, w.prev).finish(),
  decode: b => {
    const r = new Reader(b)
    return {
      version: r.uint(1),
      jobId: r.bytes(2),
      assignmentId: r.bytes(3),
      requester: r.bytes(4),
      provider: r.bytes(5),
      units: r.uint(6),
      price: optional(PriceCodec, r.message(7)),
      total: r.uint(8),
      resultHash: r.bytes(9),
      startedMs: r.uint(10),
      endedMs: r.uint(11),
      status: r.sint(12),
      prev: r.bytes(13)
    }
  }
}

export const PaymentVoucherCodec: Codec<PaymentVoucher> = {
  encode: v => new Writer().uint(1, v.version).bytes(2, v.lane).bytes(3, v.payer).bytes(4, v.payee).uint(5, v.nonce)
    .uint(6, v.cumulative).string(7, v.currency).bytes(8, v.jobId).uint(9, v.createdMs).finish(),
  decode: b => {
    const r = new Reader(b)
    return {
      version: r.uint(1),
      lane: r.bytes(2),
      payer: r.bytes(3),
      payee: r.bytes(4),
      nonce: r.uint(5),
      cumulative: r.uint(6),
      currency: r.string(7),
      jobId: r.bytes(8),
      createdMs: r.uint(9)
    }
  }
}

export const CaptureAttestationCodec: Codec<CaptureAttestation> = {
  encode: c => new Writer().uint(1, c.version).bytes(2, c.capturer).bytes(3, c.deviceKey).bytes(4, c.deviceSignature).bytes(5, c.contentHash)
    .uint(6, c.contentBytes).string(7, c.mediaType).uint(8, c.startedMs).uint(9, c.durationMs).string(10, c.geohash)
    .repeatedString(11, c.sensors).bytes(12, c.jobId).finish(),
  decode: b => {
    const r = new Reader(b)
    return {
      version: r.uint(1),
      capturer: r.bytes(2),
      deviceKey: r.bytes(3),
      deviceSignature: r.bytes(4),
      contentHash: r.bytes(5),
      contentBytes: r.uint(6),
      mediaType: r.string(7),
      startedMs: r.uint(8),
      durationMs: r.uint(9),
      geohash: r.string(10),
      sensors: r.repeatedString(11),
      jobId: r.bytes(12)
    }
  }
}

export const WitnessStatementCodec: Codec<WitnessStatement> = {
  encode: w => new Writer().uint(1, w.version).bytes(2, w.witness).bytes(3, w.attestationId).bytes(4, w.capturer).uint(5, w.rttMs)
    .string(6, w.geohash).uint(7, w.createdMs).finish(),
  decode: b => {
    const r = new Reader(b)
    return {
      version: r.uint(1),
      witness: r.bytes(2),
      attestationId: r.bytes(3),
      capturer: r.bytes(4),
      rttMs: r.uint(5),
      geohash: r.string(6),
      createdMs: r.uint(7)
    }
  }
}

/** §2.5 JobSyncRequest: `kinds` is a repeated uint32, written packed. */
export interface JobSyncRequest { kinds: number[], regions: string[] }

export const JobSyncRequestCodec: Codec<JobSyncRequest> = {
  encode: s => new Writer().packedUint(1, s.kinds).repeatedString(2, s.regions).finish(),
  decode: b => { const r = new Reader(b); return { kinds: r.repeatedUint(1), regions: r.repeatedString(2) } }
}

/** §6 LoadReport */
export interface LoadReport { freeSlots: number, concurrency: number, queueLength: number }

/** §6 CoordinateMessage: exactly one of probe and reply. */
export type CoordinateMessage =
  | { kind: 'probe', coordinate?: NetworkCoordinate, wantLoad: boolean }
  | { kind: 'reply', coordinate?: NetworkCoordinate, load?: LoadReport }

export const CoordinateMessageCodec: Codec<CoordinateMessage> = {
  encode: m => {
    const coordinate = m.coordinate == null ? undefined : NetworkCoordinateCodec.encode(m.coordinate)
    if (m.kind === 'probe') {
      return new Writer().message(1, new Writer().message(1, coordinate).uint(2, m.wantLoad).finish()).finish()
    }
    const load = m.load == null ? undefined : new Writer().uint(1, m.load.freeSlots).uint(2, m.load.concurrency).uint(3, m.load.queueLength).finish()
    return new Writer().message(2, new Writer().message(1, coordinate).message(2, load).finish()).finish()
  },
  decode: b => {
    const r = new Reader(b)
    const probe = r.message(1)
    const reply = r.message(2)
    if ((probe == null) === (reply == null)) throw new RangeError('a CoordinateMessage sets exactly one of probe and reply')
    if (probe != null) {
      const p = new Reader(probe)
      return { kind: 'probe', coordinate: optional(NetworkCoordinateCodec, p.message(1)), wantLoad: p.bool(2) }
    }
    const q = new Reader(reply as Uint8Array)
    const load = q.message(2)
    const l = load == null ? undefined : new Reader(load)
    return {
      kind: 'reply',
      coordinate: optional(NetworkCoordinateCodec, q.message(1)),
      load: l == null ? undefined : { freeSlots: l.uint(1), concurrency: l.uint(2), queueLength: l.uint(3) }
    }
  }
}

/** §4.1 WorkMessage, one body, tagged by its field name. */
export type WorkMessage =
  | { kind: 'quoteRequest', job?: Uint8Array, inlineJob?: Uint8Array }
  | { kind: 'quote', quote: Uint8Array }
  | { kind: 'assign', assignment: Uint8Array, input: Uint8Array }
  | { kind: 'progress', assignmentId: Uint8Array, units: number, permille: number, message: string }
  | { kind: 'result', receipt: Uint8Array, output: Uint8Array, location: string }
  | { kind: 'countersign', receipt: Uint8Array, voucher?: Uint8Array }
  | { kind: 'voucher', voucher: Uint8Array }
  | { kind: 'ack', id: Uint8Array, paid: number }
  | { kind: 'error', code: string, message: string }

const WORK_FIELD = { quoteRequest: 1, quote: 2, assign: 3, progress: 4, result: 5, countersign: 6, voucher: 7, ack: 8, error: 9 } as const

export const WorkMessageCodec: Codec<WorkMessage> = {
  encode: m => {
    const body = new Writer()
    switch (m.kind) {
      case 'quoteRequest': body.bytes(1, m.job).bytes(2, m.inlineJob); break
      case 'quote': body.bytes(1, m.quote); break
      case 'assign': body.bytes(1, m.assignment).bytes(2, m.input); break
      case 'progress': body.bytes(1, m.assignmentId).uint(2, m.units).uint(3, m.permille).string(4, m.message); break
      case 'result': body.bytes(1, m.receipt).bytes(2, m.output).string(3, m.location); break
      case 'countersign': body.bytes(1, m.receipt).bytes(2, m.voucher); break
      case 'voucher': body.bytes(1, m.voucher); break
      case 'ack': body.bytes(1, m.id).uint(2, m.paid); break
      case 'error': body.string(1, m.code).string(2, m.message); break
    }
    return new Writer().message(WORK_FIELD[m.kind], body.finish()).finish()
  },
  decode: b => {
    const fields = new Reader(b).fields
    const numbers = new Set(fields.map(f => f.field))
    const known = Object.entries(WORK_FIELD).filter(([, n]) => numbers.has(n))
    if (known.length !== 1) throw new RangeError(`a WorkMessage sets exactly one body, this one ${known.length}`)
    const [kind, n] = known[0] as [WorkMessage['kind'], number]
    const r = new Reader(new Reader(b).message(n) ?? new Uint8Array(0))
    switch (kind) {
      case 'quoteRequest': return { kind, job: r.bytes(1), inlineJob: r.bytes(2) }
      case 'quote': return { kind, quote: r.bytes(1) }
      case 'assign': return { kind, assignment: r.bytes(1), input: r.bytes(2) }
      case 'progress': return { kind, assignmentId: r.bytes(1), units: r.uint(2), permille: r.uint(3), message: r.string(4) }
      case 'result': return { kind, receipt: r.bytes(1), output: r.bytes(2), location: r.string(3) }
      case 'countersign': return { kind, receipt: r.bytes(1), voucher: r.bytes(2) }
      case 'voucher': return { kind, voucher: r.bytes(1) }
      case 'ack': return { kind, id: r.bytes(1), paid: r.uint(2) }
      case 'error': return { kind, code: r.string(1), message: r.string(2) }
    }
  }
}
