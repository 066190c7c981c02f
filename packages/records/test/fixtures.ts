/**
 * Valid example values of every record type, for tests.
 */

import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  AssignmentType, CapabilityRecordType, CaptureAttestationType, EvidenceKind, JobAnnouncementType, JobKind, JobWithdrawalType,
  PaymentVoucherType, QuoteType, RecordTypes, WitnessStatementType, WorkReceiptType, newRandomId, signRecord
} from '../src/index.js'
import type { RecordType, RecordTypeName } from '../src/index.js'
import type { PrivateKey } from '@libp2p/interface'

export const NOW = 1_700_000_000_000

export interface Parties {
  requester: PrivateKey
  provider: PrivateKey
  requesterId: Uint8Array
  providerId: Uint8Array
}

export async function parties (type: 'Ed25519' | 'secp256k1' = 'Ed25519'): Promise<Parties> {
  const requester = await generateKeyPair(type)
  const provider = await generateKeyPair(type)
  return {
    requester,
    provider,
    requesterId: peerIdFromPrivateKey(requester).toMultihash().bytes,
    providerId: peerIdFromPrivateKey(provider).toMultihash().bytes
  }
}

const hash = (): Uint8Array => new Uint8Array(32).fill(7)

/** A valid value of each type, and the key of its author. */
export async function examples (p: Parties): Promise<Record<RecordTypeName, { value: any, key: PrivateKey }>> {
  const jobId = newRandomId()
  const price = { perUnit: 20, currency: 'USDC', unit: 'gpu-second' }
  const quote = await signRecord(QuoteType, {
    version: 1, jobId, requester: p.requesterId, provider: p.providerId, price, estUnits: 30, etaMs: 4000,
    freeSlots: 2, createdMs: NOW, expiresMs: NOW + 60_000, nonce: newRandomId()
  }, p.provider)
  const assignment = await signRecord(AssignmentType, {
    version: 1, jobId, requester: p.requesterId, provider: p.providerId, quote: quote.bytes, maxUnits: 60,
    inputHash: hash(), createdMs: NOW, expiresMs: NOW + 60_000, nonce: newRandomId()
  }, p.requester)
  const receipt = (resultHash: Uint8Array): any => ({
    version: 1, jobId, assignmentId: assignment.id, requester: p.requesterId, provider: p.providerId,
    units: 31, price, total: 620, resultHash, startedMs: NOW - 31_000, endedMs: NOW, status: 0, prev: new Uint8Array(32)
  })
  const first = await signRecord(WorkReceiptType, receipt(hash()), p.provider)
  const second = await signRecord(WorkReceiptType, receipt(new Uint8Array(32).fill(8)), p.provider)

  return {
    JobAnnouncement: {
      key: p.requester,
      value: {
        version: 1, jobId, requester: p.requesterId, kind: JobKind.GPU_INFERENCE,
        requirements: { gpuModel: 'NVIDIA RTX 4090', gpuClass: 'consumer-24g', minVramMib: 16384, gpuCount: 1, sensors: [], region: 'w21z', maxRttMs: 40 },
        priceCeiling: price, budget: 10_000, deadlineMs: NOW + 120_000, createdMs: NOW, expiresMs: NOW + 60_000,
        description: 'run a 7B model near Singapore', inputHash: hash(), inputBytes: 4096, workload: 'llama-7b-q4'
      }
    },
    JobWithdrawal: { key: p.requester, value: { version: 1, jobId, requester: p.requesterId, createdMs: NOW } },
    CapabilityRecord: {
      key: p.provider,
      value: {
        version: 1, provider: p.providerId, seq: 3,
        gpus: [{ model: 'NVIDIA RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 2 }],
        sensors: ['video'], geohash: 'w21z7', coordinate: { vec: [12.5, -3.25, 40, 0, 1, 2, 3, 4], height: 2.5, error: 0.2 },
        price, concurrency: 4, freeSlots: 2, addrs: [new Uint8Array([4, 127, 0, 0, 1, 6, 0x10, 0x01])],
        createdMs: NOW, expiresMs: NOW + 3_600_000
      }
    },
    Quote: { key: p.provider, value: quote.value },
    Assignment: { key: p.requester, value: assignment.value },
    WorkReceipt: { key: p.provider, value: receipt(hash()) },
    CaptureAttestation: {
      key: p.provider,
      value: {
        version: 1, capturer: p.providerId, deviceKey: new Uint8Array(), deviceSignature: new Uint8Array(), contentHash: hash(),
        contentBytes: 1_000_000, mediaType: 'video/mp4', startedMs: NOW - 30_000, durationMs: 30_000, geohash: 'qqguw', sensors: ['video', 'gps'], jobId,
        chunkRoot: hash(), chunkCount: 30, contentCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', assignmentId: hash(), deviceBinding: new Uint8Array()
      }
    },
    WitnessStatement: {
      key: p.requester,
      value: { version: 1, witness: p.requesterId, attestationId: hash(), capturer: p.providerId, rttMs: 4, geohash: 'qqguw', createdMs: NOW, rounds: 5, windowStartMs: NOW - 30_000, windowEndMs: NOW, observedAddr: new Uint8Array() }
    },
    DeviceBinding: {
      key: p.provider,
      value: { version: 1, peer: p.providerId, deviceKey: new Uint8Array(36).fill(8), deviceSignature: new Uint8Array(64).fill(9), model: 'dashcam', createdMs: NOW }
    },
    PaymentVoucher: {
      key: p.requester,
      value: { version: 1, lane: newRandomId(), payer: p.requesterId, payee: p.providerId, nonce: 7, cumulative: 620, currency: 'USDC', jobId, createdMs: NOW }
    },
    Evidence: {
      key: p.requester,
      value: {
        version: 1, kind: EvidenceKind.EQUIVOCATION, offender: p.providerId, receipts: [first.bytes, second.bytes],
        assignments: [], jobs: [], createdMs: NOW
      }
    }
  }
}

export const allTypes = Object.values(RecordTypes) as Array<RecordType<any>>
export { JobAnnouncementType, JobWithdrawalType, CapabilityRecordType, CaptureAttestationType, PaymentVoucherType, WitnessStatementType, WorkReceiptType }
