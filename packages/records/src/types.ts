/**
 * The record type descriptors: one per wire record, with its domain,
 * payload type, size limit, codec, author field and value checks.
 */

import * as varint from 'uint8-varint'
import {
  DOMAIN, MAX_ADDR_LENGTH, MAX_ADDRS, MAX_CAPABILITY_TTL_MS, MAX_CAPTURE_CHUNKS, MAX_CAPTURE_DURATION_MS, MAX_COORDINATE_DIMENSIONS,
  MAX_COORDINATE_ERROR, MAX_COORDINATE_MS, MAX_EVIDENCE_RECEIPTS, MAX_GPUS, MAX_JOB_TTL_MS, MAX_QUOTE_TTL_MS, MAX_SIZE, MAX_TEXT_LENGTH, PAYLOAD_CODE,
  RANDOM_ID_LENGTH, RECORD_ID_LENGTH, RECORD_VERSION
} from './constants.js'
import { InvalidFieldError } from './errors.js'
import {
  Assignment, CapabilityRecord, CaptureAttestation, Evidence, EvidenceKind, JobAnnouncement, JobKind, JobWithdrawal, PaymentVoucher, Quote,
  WitnessStatement, WorkReceipt, DeviceBinding
} from './pb/records.js'
import { checkEnvelopes, checkGeohash, checkInt, checkLength, checkLifetime, checkNames, checkPeer, checkString } from './validate.js'
import type { RecordTypeName } from './constants.js'
import type { NetworkCoordinate, Price } from './pb/records.js'

/** Encoder and decoder of a record's payload (the generated protobuf functions). */
export interface PayloadCodec<T> {
  encode(value: T): Uint8Array
  decode(bytes: Uint8Array): T
}

/** Everything the package knows about one record type. */
export interface RecordType<T> {
  /** type name, e.g. `JobAnnouncement` */
  readonly name: RecordTypeName
  /** signing domain */
  readonly domain: string
  /** envelope payload type (varint multicodec) */
  readonly payloadType: Uint8Array
  /** largest signed record accepted, in bytes */
  readonly maxSize: number
  /** protobuf codec of the payload */
  readonly codec: PayloadCodec<T>
  /**
   * peer id bytes of the author, who must be the envelope's signer; absent
   * for a record that names no author (Evidence: whoever signs it reports it)
   */
  author?(value: T): Uint8Array
  /** peer id bytes of the second signer, for two-party records */
  countersigner?(value: T): Uint8Array
  /** throws InvalidFieldError for impossible values */
  check(value: T): void
  /** when the record was made (ms), for the not-yet-valid check */
  created?(value: T): number
  /** when the record stops being valid (ms), for the expiry check */
  expires?(value: T): number
}

function checkVersion (version: number): void {
  if (version !== RECORD_VERSION) {
    // UnsupportedVersionError is raised by the caller, which knows the type name
    throw new InvalidFieldError('version', `unsupported version ${version}`)
  }
}

/** Check a price: amount, currency and unit. */
export function checkPrice (field: string, price: Price | undefined, required = true): void {
  if (price == null) {
    if (required) {
      throw new InvalidFieldError(field, 'missing')
    }
    return
  }
  checkInt(`${field}.perUnit`, price.perUnit)
  checkString(`${field}.currency`, price.currency, 16, true)
  checkString(`${field}.unit`, price.unit, 32, true)
}

/** Check a network coordinate is finite, bounded and of sane dimension. */
export function checkCoordinate (field: string, c: NetworkCoordinate): void {
  if (c.vec.length === 0 || c.vec.length > MAX_COORDINATE_DIMENSIONS) {
    throw new InvalidFieldError(`${field}.vec`, `must have 1..${MAX_COORDINATE_DIMENSIONS} dimensions`)
  }
  for (const x of c.vec) {
    if (!Number.isFinite(x) || Math.abs(x) > MAX_COORDINATE_MS) {
      throw new InvalidFieldError(`${field}.vec`, 'component out of range')
    }
  }
  if (!Number.isFinite(c.height) || c.height < 0 || c.height > MAX_COORDINATE_MS) {
    throw new InvalidFieldError(`${field}.height`, 'out of range')
  }
  if (!Number.isFinite(c.error) || c.error < 0 || c.error > MAX_COORDINATE_ERROR) {
    throw new InvalidFieldError(`${field}.error`, 'out of range')
  }
}

function checkKind (kind: JobKind): void {
  if (kind === JobKind.JOB_KIND_UNSPECIFIED) {
    throw new InvalidFieldError('kind', 'unspecified')
  }
}

function define<T> (name: RecordTypeName, codec: PayloadCodec<T>, rest: Omit<RecordType<T>, 'name' | 'domain' | 'payloadType' | 'maxSize' | 'codec'>): RecordType<T> {
  return Object.freeze({
    name,
    domain: DOMAIN[name],
    payloadType: varint.encode(PAYLOAD_CODE[name]),
    maxSize: MAX_SIZE[name],
    codec,
    ...rest
  })
}

/** A job or data bounty, gossiped by its requester. */
export const JobAnnouncementType: RecordType<JobAnnouncement> = define<JobAnnouncement>('JobAnnouncement', JobAnnouncement, {
  author: v => v.requester,
  created: v => v.createdMs,
  expires: v => v.expiresMs,
  check (v) {
    checkVersion(v.version)
    checkLength('jobId', v.jobId, RANDOM_ID_LENGTH)
    checkPeer('requester', v.requester)
    checkKind(v.kind)
    const r = v.requirements
    if (r != null) {
      checkString('requirements.gpuModel', r.gpuModel)
      checkString('requirements.gpuClass', r.gpuClass)
      checkInt('requirements.minVramMib', r.minVramMib, 0, 1 << 24)
      checkInt('requirements.gpuCount', r.gpuCount, 0, 1024)
      checkNames('requirements.sensors', r.sensors)
      checkGeohash('requirements.region', r.region)
      checkInt('requirements.maxRttMs', r.maxRttMs, 0, 60_000)
    }
    if (v.kind === JobKind.CAPTURE && (r == null || r.sensors.length === 0)) {
      throw new InvalidFieldError('requirements.sensors', 'a capture job names at least one sensor')
    }
    checkPrice('priceCeiling', v.priceCeiling)
    checkInt('budget', v.budget, 1)
    checkLifetime(v.createdMs, v.expiresMs, MAX_JOB_TTL_MS)
    checkInt('deadlineMs', v.deadlineMs, v.createdMs)
    checkString('description', v.description, MAX_TEXT_LENGTH)
    checkString('workload', v.workload, 256)
    if (v.inputHash.byteLength !== 0) {
      checkLength('inputHash', v.inputHash, 32)
    }
    checkInt('inputBytes', v.inputBytes)
  }
})

/** The requester's withdrawal of one of its announcements. */
export const JobWithdrawalType: RecordType<JobWithdrawal> = define<JobWithdrawal>('JobWithdrawal', JobWithdrawal, {
  author: v => v.requester,
  created: v => v.createdMs,
  check (v) {
    checkVersion(v.version)
    checkLength('jobId', v.jobId, RANDOM_ID_LENGTH)
    checkPeer('requester', v.requester)
    checkInt('createdMs', v.createdMs, 1)
  }
})

/** What a provider offers, where, at what price. */
export const CapabilityRecordType: RecordType<CapabilityRecord> = define<CapabilityRecord>('CapabilityRecord', CapabilityRecord, {
  author: v => v.provider,
  created: v => v.createdMs,
  expires: v => v.expiresMs,
  check (v) {
    checkVersion(v.version)
    checkPeer('provider', v.provider)
    checkInt('seq', v.seq)
    if (v.gpus.length > MAX_GPUS) {
      throw new InvalidFieldError('gpus', `more than ${MAX_GPUS} entries`)
    }
    v.gpus.forEach((g, i) => {
      checkString(`gpus[${i}].model`, g.model, 64, true)
      checkString(`gpus[${i}].class`, g.class)
      checkInt(`gpus[${i}].vramMib`, g.vramMib, 1, 1 << 24)
      checkInt(`gpus[${i}].count`, g.count, 1, 1024)
    })
    checkNames('sensors', v.sensors)
    checkGeohash('geohash', v.geohash)
    if (v.coordinate != null) {
      checkCoordinate('coordinate', v.coordinate)
    }
    checkPrice('price', v.price)
    checkInt('concurrency', v.concurrency, 1, 4096)
    checkInt('freeSlots', v.freeSlots, 0, v.concurrency)
    if (v.addrs.length > MAX_ADDRS) {
      throw new InvalidFieldError('addrs', `more than ${MAX_ADDRS} entries`)
    }
    v.addrs.forEach((a, i) => {
      if (a.byteLength === 0 || a.byteLength > MAX_ADDR_LENGTH) {
        throw new InvalidFieldError(`addrs[${i}]`, 'empty or oversized multiaddr')
      }
    })
    checkLifetime(v.createdMs, v.expiresMs, MAX_CAPABILITY_TTL_MS)
    if (v.gpus.length === 0 && v.sensors.length === 0) {
      throw new InvalidFieldError('gpus', 'a provider offers at least one GPU or sensor')
    }
  }
})

/** A provider's signed price and ETA for a job. */
export const QuoteType: RecordType<Quote> = define<Quote>('Quote', Quote, {
  author: v => v.provider,
  created: v => v.createdMs,
  expires: v => v.expiresMs,
  check (v) {
    checkVersion(v.version)
    checkLength('jobId', v.jobId, RANDOM_ID_LENGTH)
    checkPeer('requester', v.requester)
    checkPeer('provider', v.provider)
    checkPrice('price', v.price)
    checkInt('estUnits', v.estUnits)
    checkInt('etaMs', v.etaMs)
    checkInt('freeSlots', v.freeSlots)
    checkLifetime(v.createdMs, v.expiresMs, MAX_QUOTE_TTL_MS)
    checkLength('nonce', v.nonce, RANDOM_ID_LENGTH)
  }
})

/**
 * The requester's signed acceptance of a quote. It embeds the provider's
 * signed quote, so it carries both parties' signatures; `openAssignment`
 * verifies the inner one too.
 */
export const AssignmentType: RecordType<Assignment> = define<Assignment>('Assignment', Assignment, {
  author: v => v.requester,
  created: v => v.createdMs,
  expires: v => v.expiresMs,
  check (v) {
    checkVersion(v.version)
    checkLength('jobId', v.jobId, RANDOM_ID_LENGTH)
    checkPeer('requester', v.requester)
    checkPeer('provider', v.provider)
    if (v.quote.byteLength === 0 || v.quote.byteLength > MAX_SIZE.Quote) {
      throw new InvalidFieldError('quote', 'missing or oversized quote')
    }
    checkInt('maxUnits', v.maxUnits, 1)
    if (v.inputHash.byteLength !== 0) {
      checkLength('inputHash', v.inputHash, 32)
    }
    checkLifetime(v.createdMs, v.expiresMs, MAX_QUOTE_TTL_MS)
    checkLength('nonce', v.nonce, RANDOM_ID_LENGTH)
  }
})

/**
 * What was done, for how long, at what price, with what result: signed by
 * the provider and countersigned by the requester.
 */
export const WorkReceiptType: RecordType<WorkReceipt> = define<WorkReceipt>('WorkReceipt', WorkReceipt, {
  author: v => v.provider,
  countersigner: v => v.requester,
  created: v => v.endedMs,
  check (v) {
    checkVersion(v.version)
    checkLength('jobId', v.jobId, RANDOM_ID_LENGTH)
    checkLength('assignmentId', v.assignmentId, RECORD_ID_LENGTH)
    checkPeer('requester', v.requester)
    checkPeer('provider', v.provider)
    checkInt('units', v.units)
    checkPrice('price', v.price)
    checkInt('total', v.total)
    if (v.price != null && (!Number.isSafeInteger(v.units * v.price.perUnit) || v.units * v.price.perUnit !== v.total)) {
      throw new InvalidFieldError('total', 'must equal units x price.perUnit')
    }
    checkLength('resultHash', v.resultHash, 32)
    checkInt('startedMs', v.startedMs, 1)
    checkInt('endedMs', v.endedMs, v.startedMs)
    if (v.prev.byteLength !== 0) {
      checkLength('prev', v.prev, RECORD_ID_LENGTH)
    }
  }
})

/**
 * A capturer's "proof of recording": the footage's chunk root and content
 * hash, time, place, the device key (bound to the capturer by an embedded
 * DeviceBinding) and its signature. The records layer checks shape only;
 * `@shoal/provenance` checks the signatures, chunks and plausibility.
 */
export const CaptureAttestationType: RecordType<CaptureAttestation> = define<CaptureAttestation>('CaptureAttestation', CaptureAttestation, {
  author: v => v.capturer,
  created: v => v.startedMs + v.durationMs,
  check (v) {
    checkVersion(v.version)
    checkPeer('capturer', v.capturer)
    if (v.deviceKey.byteLength > 128 || v.deviceSignature.byteLength > 128) {
      throw new InvalidFieldError('deviceKey', 'oversized')
    }
    checkLength('contentHash', v.contentHash, 32)
    checkInt('contentBytes', v.contentBytes, 1)
    checkString('mediaType', v.mediaType, 128, true)
    checkInt('startedMs', v.startedMs, 1)
    checkInt('durationMs', v.durationMs, 1, MAX_CAPTURE_DURATION_MS)
    checkGeohash('geohash', v.geohash)
    checkNames('sensors', v.sensors)
    if (v.jobId.byteLength !== 0) {
      checkLength('jobId', v.jobId, RANDOM_ID_LENGTH)
    }
    if (v.chunkRoot.byteLength !== 0 || v.chunkCount !== 0) {
      checkLength('chunkRoot', v.chunkRoot, 32)
      checkInt('chunkCount', v.chunkCount, 1, MAX_CAPTURE_CHUNKS)
    }
    checkString('contentCid', v.contentCid, 128)
    if (v.assignmentId.byteLength !== 0) {
      checkLength('assignmentId', v.assignmentId, RECORD_ID_LENGTH)
    }
    if (v.deviceBinding.byteLength > MAX_SIZE.DeviceBinding) {
      throw new InvalidFieldError('deviceBinding', `oversized (${v.deviceBinding.byteLength} bytes, limit ${MAX_SIZE.DeviceBinding})`)
    }
  }
})

/** A nearby witness's statement about a capture: the RTT it measured to the capturer, and where it is. */
export const WitnessStatementType: RecordType<WitnessStatement> = define<WitnessStatement>('WitnessStatement', WitnessStatement, {
  author: v => v.witness,
  created: v => v.createdMs,
  check (v) {
    checkVersion(v.version)
    checkPeer('witness', v.witness)
    checkLength('attestationId', v.attestationId, RECORD_ID_LENGTH)
    checkPeer('capturer', v.capturer)
    checkInt('rttMs', v.rttMs, 0, 60_000)
    checkGeohash('geohash', v.geohash)
    checkInt('createdMs', v.createdMs, 1)
    checkInt('rounds', v.rounds, 0, 1024)
    checkInt('windowStartMs', v.windowStartMs)
    checkInt('windowEndMs', v.windowEndMs, v.windowStartMs)
    if (v.observedAddr.byteLength > MAX_ADDR_LENGTH) {
      throw new InvalidFieldError('observedAddr', `longer than ${MAX_ADDR_LENGTH} bytes`)
    }
  }
})

/** A capture device's key bound to a peer: signed by the peer, and by the device (`deviceSignature`, checked by @shoal/provenance). */
export const DeviceBindingType: RecordType<DeviceBinding> = define<DeviceBinding>('DeviceBinding', DeviceBinding, {
  author: v => v.peer,
  created: v => v.createdMs,
  check (v) {
    checkVersion(v.version)
    checkPeer('peer', v.peer)
    if (v.deviceKey.byteLength === 0 || v.deviceKey.byteLength > 128) {
      throw new InvalidFieldError('deviceKey', 'missing or oversized')
    }
    if (v.deviceSignature.byteLength === 0 || v.deviceSignature.byteLength > 128) {
      throw new InvalidFieldError('deviceSignature', 'missing or oversized')
    }
    checkString('model', v.model, 128)
    checkInt('createdMs', v.createdMs, 1)
  }
})

/** A payer's cumulative promise on a payment lane; only the highest nonce counts. */
export const PaymentVoucherType: RecordType<PaymentVoucher> = define<PaymentVoucher>('PaymentVoucher', PaymentVoucher, {
  author: v => v.payer,
  created: v => v.createdMs,
  check (v) {
    checkVersion(v.version)
    checkLength('lane', v.lane, RANDOM_ID_LENGTH)
    checkPeer('payer', v.payer)
    checkPeer('payee', v.payee)
    checkInt('nonce', v.nonce, 1)
    checkInt('cumulative', v.cumulative)
    checkString('currency', v.currency, 16, true)
    if (v.jobId.byteLength !== 0) {
      checkLength('jobId', v.jobId, RANDOM_ID_LENGTH)
    }
    checkInt('createdMs', v.createdMs, 1)
  }
})

/**
 * Self-verifying proof that a peer cheated, signed by whoever reports it.
 * Only the shape is checked here; what the records inside prove is checked
 * by `verifyEvidence` in @shoal/receipts.
 */
export const EvidenceType: RecordType<Evidence> = define<Evidence>('Evidence', Evidence, {
  created: v => v.createdMs,
  check (v) {
    checkVersion(v.version)
    checkPeer('offender', v.offender)
    checkInt('createdMs', v.createdMs, 1)
    const receiptSize = MAX_SIZE.WorkReceipt + MAX_SIZE.countersignOverhead
    if (v.kind === EvidenceKind.EQUIVOCATION) {
      checkEnvelopes('receipts', v.receipts, 2, 2, receiptSize)
      checkEnvelopes('assignments', v.assignments, 0, 0, 0)
      checkEnvelopes('jobs', v.jobs, 0, 0, 0)
    } else if (v.kind === EvidenceKind.WRONG_RESULT) {
      checkEnvelopes('receipts', v.receipts, 2, MAX_EVIDENCE_RECEIPTS, receiptSize)
      checkEnvelopes('assignments', v.assignments, v.receipts.length, v.receipts.length, MAX_SIZE.Assignment)
      checkEnvelopes('jobs', v.jobs, 1, v.receipts.length, MAX_SIZE.JobAnnouncement)
    } else {
      throw new InvalidFieldError('kind', `unknown evidence kind ${String(v.kind)}`)
    }
  }
})

/** All record types by name. */
export const RecordTypes = {
  JobAnnouncement: JobAnnouncementType,
  JobWithdrawal: JobWithdrawalType,
  CapabilityRecord: CapabilityRecordType,
  Quote: QuoteType,
  Assignment: AssignmentType,
  WorkReceipt: WorkReceiptType,
  CaptureAttestation: CaptureAttestationType,
  WitnessStatement: WitnessStatementType,
  DeviceBinding: DeviceBindingType,
  PaymentVoucher: PaymentVoucherType,
  Evidence: EvidenceType
} as const
