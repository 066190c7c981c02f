/**
 * The Shoal messages this client needs, each declared once as a schema table
 * (field numbers and types of docs/spec.md and records.proto) for the one
 * generic codec of protobuf.ts.
 */

import { codecOf } from './protobuf.js'
import type { Codec, Schema } from './protobuf.js'

export type { Codec, Schema }

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

/** Evidence (§ Evidence): `kind` is the EvidenceKind number. */
export interface Evidence {
  version: number
  kind: number
  offender: Uint8Array
  receipts: Uint8Array[]
  assignments: Uint8Array[]
  jobs: Uint8Array[]
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
  chunkRoot: Uint8Array
  chunkCount: number
  contentCid: string
  assignmentId: Uint8Array
  deviceBinding: Uint8Array
}

export interface WitnessStatement {
  version: number
  witness: Uint8Array
  attestationId: Uint8Array
  capturer: Uint8Array
  rttMs: number
  geohash: string
  createdMs: number
  rounds: number
  windowStartMs: number
  windowEndMs: number
  observedAddr: Uint8Array
}

/** §7.2 DeviceBinding */
export interface DeviceBinding {
  version: number
  peer: Uint8Array
  deviceKey: Uint8Array
  deviceSignature: Uint8Array
  model: string
  createdMs: number
}

/** §7.3 CaptureProof (unsigned) */
export interface CaptureProof { attestation: Uint8Array, witnesses: Uint8Array[], history: Uint8Array[] }

const PriceSchema: Schema<Price> = { perUnit: [1, 'uint'], currency: [2, 'string'], unit: [3, 'string'] }

const RequirementsSchema: Schema<Requirements> = {
  gpuModel: [1, 'string'], gpuClass: [2, 'string'], minVramMib: [3, 'uint'], gpuCount: [4, 'uint'], sensors: [5, 'repeated string'],
  region: [6, 'string'], maxRttMs: [7, 'uint']
}

const JobAnnouncementSchema: Schema<JobAnnouncement> = {
  version: [1, 'uint'], jobId: [2, 'bytes'], requester: [3, 'bytes'], kind: [4, 'uint'], requirements: [5, 'message', RequirementsSchema],
  priceCeiling: [6, 'message', PriceSchema], budget: [7, 'uint'], deadlineMs: [8, 'uint'], createdMs: [9, 'uint'], expiresMs: [10, 'uint'],
  description: [11, 'string'], inputHash: [12, 'bytes'], inputBytes: [13, 'uint'], workload: [14, 'string']
}

const JobWithdrawalSchema: Schema<JobWithdrawal> = { version: [1, 'uint'], jobId: [2, 'bytes'], requester: [3, 'bytes'], createdMs: [4, 'uint'] }

const NetworkCoordinateSchema: Schema<NetworkCoordinate> = { vec: [1, 'repeated double'], height: [2, 'double'], error: [3, 'double'] }

const GpuSchema: Schema<Gpu> = { model: [1, 'string'], class: [2, 'string'], vramMib: [3, 'uint'], count: [4, 'uint'] }

const CapabilityRecordSchema: Schema<CapabilityRecord> = {
  version: [1, 'uint'], provider: [2, 'bytes'], seq: [3, 'uint'], gpus: [4, 'repeated message', GpuSchema], sensors: [5, 'repeated string'],
  geohash: [6, 'string'], coordinate: [7, 'message', NetworkCoordinateSchema], price: [8, 'message', PriceSchema], concurrency: [9, 'uint'],
  freeSlots: [10, 'uint'], addrs: [11, 'repeated bytes'], createdMs: [12, 'uint'], expiresMs: [13, 'uint']
}

const QuoteSchema: Schema<Quote> = {
  version: [1, 'uint'], jobId: [2, 'bytes'], requester: [3, 'bytes'], provider: [4, 'bytes'], price: [5, 'message', PriceSchema],
  estUnits: [6, 'uint'], etaMs: [7, 'uint'], freeSlots: [8, 'uint'], createdMs: [9, 'uint'], expiresMs: [10, 'uint'], nonce: [11, 'bytes']
}

const AssignmentSchema: Schema<Assignment> = {
  version: [1, 'uint'], jobId: [2, 'bytes'], requester: [3, 'bytes'], provider: [4, 'bytes'], quote: [5, 'bytes'], maxUnits: [6, 'uint'],
  inputHash: [7, 'bytes'], createdMs: [8, 'uint'], expiresMs: [9, 'uint'], nonce: [10, 'bytes']
}

const WorkReceiptSchema: Schema<WorkReceipt> = {
  version: [1, 'uint'], jobId: [2, 'bytes'], assignmentId: [3, 'bytes'], requester: [4, 'bytes'], provider: [5, 'bytes'],
  units: [6, 'uint'], price: [7, 'message', PriceSchema], total: [8, 'uint'], resultHash: [9, 'bytes'], startedMs: [10, 'uint'],
  endedMs: [11, 'uint'], status: [12, 'sint'], prev: [13, 'bytes']
}

const PaymentVoucherSchema: Schema<PaymentVoucher> = {
  version: [1, 'uint'], lane: [2, 'bytes'], payer: [3, 'bytes'], payee: [4, 'bytes'], nonce: [5, 'uint'], cumulative: [6, 'uint'],
  currency: [7, 'string'], jobId: [8, 'bytes'], createdMs: [9, 'uint']
}

const EvidenceSchema: Schema<Evidence> = {
  version: [1, 'uint'], kind: [2, 'uint'], offender: [3, 'bytes'], receipts: [4, 'repeated bytes'], assignments: [5, 'repeated bytes'],
  jobs: [6, 'repeated bytes'], createdMs: [7, 'uint']
}

const CaptureAttestationSchema: Schema<CaptureAttestation> = {
  version: [1, 'uint'], capturer: [2, 'bytes'], deviceKey: [3, 'bytes'], deviceSignature: [4, 'bytes'], contentHash: [5, 'bytes'],
  contentBytes: [6, 'uint'], mediaType: [7, 'string'], startedMs: [8, 'uint'], durationMs: [9, 'uint'], geohash: [10, 'string'],
  sensors: [11, 'repeated string'], jobId: [12, 'bytes'], chunkRoot: [13, 'bytes'], chunkCount: [14, 'uint'], contentCid: [15, 'string'],
  assignmentId: [16, 'bytes'], deviceBinding: [17, 'bytes']
}

const WitnessStatementSchema: Schema<WitnessStatement> = {
  version: [1, 'uint'], witness: [2, 'bytes'], attestationId: [3, 'bytes'], capturer: [4, 'bytes'], rttMs: [5, 'uint'],
  geohash: [6, 'string'], createdMs: [7, 'uint'], rounds: [8, 'uint'], windowStartMs: [9, 'uint'], windowEndMs: [10, 'uint'],
  observedAddr: [11, 'bytes']
}

const DeviceBindingSchema: Schema<DeviceBinding> = {
  version: [1, 'uint'], peer: [2, 'bytes'], deviceKey: [3, 'bytes'], deviceSignature: [4, 'bytes'], model: [5, 'string'], createdMs: [6, 'uint']
}

/** The codecs of the signed records' payloads (§1.2) and of the messages they embed. */
export const PriceCodec = codecOf(PriceSchema)
export const JobAnnouncementCodec = codecOf(JobAnnouncementSchema)
export const JobWithdrawalCodec = codecOf(JobWithdrawalSchema)
export const NetworkCoordinateCodec = codecOf(NetworkCoordinateSchema)
export const CapabilityRecordCodec = codecOf(CapabilityRecordSchema)
export const QuoteCodec = codecOf(QuoteSchema)
export const AssignmentCodec = codecOf(AssignmentSchema)
export const WorkReceiptCodec = codecOf(WorkReceiptSchema)
export const PaymentVoucherCodec = codecOf(PaymentVoucherSchema)
export const EvidenceCodec = codecOf(EvidenceSchema)
export const CaptureAttestationCodec = codecOf(CaptureAttestationSchema)
export const WitnessStatementCodec = codecOf(WitnessStatementSchema)
export const DeviceBindingCodec = codecOf(DeviceBindingSchema)

/** §7.3: a capture job's inline output. */
export const CaptureProofCodec = codecOf<CaptureProof>({ attestation: [1, 'bytes'], witnesses: [2, 'repeated bytes'], history: [3, 'repeated bytes'] })

/** §2.5 JobSyncRequest: `kinds` is a repeated uint32, written packed. */
export interface JobSyncRequest { kinds: number[], regions: string[] }

/** Its codec: `kinds` written packed, read packed or not. */
export const JobSyncRequestCodec = codecOf<JobSyncRequest>({ kinds: [1, 'repeated uint'], regions: [2, 'repeated string'] })

/** A oneof's body of a given `kind`, without the tag. */
type Body<M extends { kind: string }, K extends M['kind']> = Omit<Extract<M, { kind: K }>, 'kind'>

/** A oneof wrapper as the message it is on the wire: one optional body field per kind. */
type Bodies<M extends { kind: string }> = { [K in M['kind']]?: Body<M, K> }

/** The codec of a oneof wrapper: exactly one body set, tagged in TS by its field name as `kind`. */
function oneofCodec<M extends { kind: string }> (name: string, schema: Schema<Bodies<M>>): Codec<M> {
  const codec = codecOf(schema)
  return {
    encode: ({ kind, ...body }) => codec.encode({ [kind]: body } as Bodies<M>),
    decode: bytes => {
      const set = Object.entries(codec.decode(bytes)).filter(([, body]) => body != null)
      if (set.length !== 1) throw new RangeError(`a ${name} sets exactly one body, this one ${set.length}`)
      const [kind, body] = set[0]
      return { kind, ...(body as object) } as M
    }
  }
}

/** §6 LoadReport */
export interface LoadReport { freeSlots: number, concurrency: number, queueLength: number }

/** §6 CoordinateMessage: exactly one of probe and reply. */
export type CoordinateMessage =
  | { kind: 'probe', coordinate?: NetworkCoordinate, wantLoad: boolean }
  | { kind: 'reply', coordinate?: NetworkCoordinate, load?: LoadReport }

export const CoordinateMessageCodec = oneofCodec<CoordinateMessage>('CoordinateMessage', {
  probe: [1, 'message', { coordinate: [1, 'message', NetworkCoordinateSchema], wantLoad: [2, 'bool'] }],
  reply: [2, 'message', {
    coordinate: [1, 'message', NetworkCoordinateSchema],
    load: [2, 'message', { freeSlots: [1, 'uint'], concurrency: [2, 'uint'], queueLength: [3, 'uint'] }]
  }]
})

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
  | { kind: 'error', code: string, message: string, retryAfterMs?: number }

export const WorkMessageCodec = oneofCodec<WorkMessage>('WorkMessage', {
  quoteRequest: [1, 'message', { job: [1, 'bytes'], inlineJob: [2, 'bytes'] }],
  quote: [2, 'message', { quote: [1, 'bytes'] }],
  assign: [3, 'message', { assignment: [1, 'bytes'], input: [2, 'bytes'] }],
  progress: [4, 'message', { assignmentId: [1, 'bytes'], units: [2, 'uint'], permille: [3, 'uint'], message: [4, 'string'] }],
  result: [5, 'message', { receipt: [1, 'bytes'], output: [2, 'bytes'], location: [3, 'string'] }],
  countersign: [6, 'message', { receipt: [1, 'bytes'], voucher: [2, 'bytes'] }],
  voucher: [7, 'message', { voucher: [1, 'bytes'] }],
  ack: [8, 'message', { id: [1, 'bytes'], paid: [2, 'uint'] }],
  error: [9, 'message', { code: [1, 'string'], message: [2, 'string'], retryAfterMs: [3, 'uint'] }]
})

/** §7.4 WitnessMessage, one body, tagged by its field name. */
export type WitnessMessage =
  | { kind: 'open', jobId: Uint8Array, geohash: string, startedMs: number, durationMs: number }
  | { kind: 'accept', geohash: string, price?: Price }
  | { kind: 'echo', nonce: Uint8Array }
  | { kind: 'attest', attestation: Uint8Array }
  | { kind: 'signed', statement: Uint8Array, receipt: Uint8Array, history: Uint8Array[] }
  | { kind: 'countersign', receipt: Uint8Array }
  | { kind: 'error', code: string, message: string, retryAfterMs?: number }

export const WitnessMessageCodec = oneofCodec<WitnessMessage>('WitnessMessage', {
  open: [1, 'message', { jobId: [1, 'bytes'], geohash: [2, 'string'], startedMs: [3, 'uint'], durationMs: [4, 'uint'] }],
  accept: [2, 'message', { geohash: [1, 'string'], price: [2, 'message', PriceSchema] }],
  echo: [3, 'message', { nonce: [1, 'bytes'] }],
  attest: [4, 'message', { attestation: [1, 'bytes'] }],
  signed: [5, 'message', { statement: [1, 'bytes'], receipt: [2, 'bytes'], history: [3, 'repeated bytes'] }],
  countersign: [6, 'message', { receipt: [1, 'bytes'] }],
  error: [7, 'message', { code: [1, 'string'], message: [2, 'string'], retryAfterMs: [3, 'uint'] }]
})
