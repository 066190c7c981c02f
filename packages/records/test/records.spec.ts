import assert from 'node:assert/strict'
import { RecordEnvelope } from '@libp2p/peer-record'
import {
  AssignmentType, Countersigned, DOMAIN, EvidenceKind, EvidenceType, JobAnnouncementType, JobWithdrawalType, QuoteType, WorkReceiptType,
  countersign, decodeRecord, encodeRecord, openAssignment, openCountersigned, openRecord, signRecord, validateRecord
} from '../src/index.js'
import { NOW, allTypes, examples, parties } from './fixtures.js'
import type { Parties } from './fixtures.js'

async function rejects (p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err: unknown) {
    assert.ok(err instanceof Error)
    return err
  }
  throw new Error('expected a rejection')
}

describe('records', () => {
  let p: Parties
  let ex: Awaited<ReturnType<typeof examples>>

  before(async () => {
    p = await parties()
    ex = await examples(p)
  })

  for (const keyType of ['Ed25519', 'secp256k1'] as const) {
    it(`signs and opens every record type (${keyType})`, async () => {
      const q = await parties(keyType)
      const e = await examples(q)
      for (const type of allTypes) {
        const { value, key } = e[type.name]
        const signed = await signRecord(type, value, key)
        const opened = await openRecord(type, signed.bytes, { now: NOW })
        assert.deepEqual(opened.value, value, type.name)
        assert.deepEqual(opened.id, signed.id)
        assert.equal(opened.signer.equals(signed.signer), true)
        assert.ok(opened.bytes.byteLength <= type.maxSize)
      }
    })
  }

  it('encodes deterministically', async () => {
    for (const type of allTypes) {
      const { value } = ex[type.name]
      const a = encodeRecord(type, value)
      const b = encodeRecord(type, structuredClone(value))
      assert.deepEqual(a, b)
      assert.deepEqual(encodeRecord(type, type.codec.decode(a)), a)
    }
  })

  it('is a libp2p signed envelope that @libp2p/peer-record opens', async () => {
    const { value, key } = ex.JobAnnouncement
    const signed = await signRecord(JobAnnouncementType, value, key)
    const envelope = await RecordEnvelope.openAndCertify(signed.bytes, DOMAIN.JobAnnouncement)
    assert.deepEqual(envelope.payload, encodeRecord(JobAnnouncementType, value))
    await assert.rejects(RecordEnvelope.openAndCertify(signed.bytes, DOMAIN.Quote))
  })

  it('never lets a signature for one type pass as another', async () => {
    const { value, key } = ex.JobAnnouncement
    const signed = await signRecord(JobAnnouncementType, value, key)
    for (const type of allTypes.filter(t => t !== JobAnnouncementType)) {
      const err = await rejects(openRecord(type, signed.bytes, { now: NOW }))
      assert.equal(err.name, 'WrongRecordTypeError', type.name)
    }
  })

  it('rejects a record signed by someone other than its author', async () => {
    const { value } = ex.JobAnnouncement
    // the provider signs an announcement naming the requester
    const forged = await signRecord(JobWithdrawalType, ex.JobWithdrawal.value, p.requester)
    assert.deepEqual(forged.signer.toMultihash().bytes, p.requesterId)
    const err = await rejects(signRecord(JobAnnouncementType, value, p.provider))
    assert.equal(err.name, 'WrongSignerError')
  })

  it('rejects expired and not-yet-valid records with a skew allowance', async () => {
    const { value, key } = ex.JobAnnouncement
    const signed = await signRecord(JobAnnouncementType, value, key)
    await openRecord(JobAnnouncementType, signed.bytes, { now: value.expiresMs + 29_000 })
    assert.equal((await rejects(openRecord(JobAnnouncementType, signed.bytes, { now: value.expiresMs + 31_000 }))).name, 'ExpiredRecordError')
    await openRecord(JobAnnouncementType, signed.bytes, { now: NOW - 29_000 })
    assert.equal((await rejects(openRecord(JobAnnouncementType, signed.bytes, { now: NOW - 31_000 }))).name, 'NotYetValidError')
    assert.equal((await rejects(openRecord(JobAnnouncementType, signed.bytes, { now: NOW - 1000, clockSkewMs: 0 }))).name, 'NotYetValidError')
    await openRecord(JobAnnouncementType, signed.bytes, { now: NOW + 1e10, ignoreTime: true })
  })

  it('rejects oversized records before decoding them', async () => {
    const huge = new Uint8Array(JobAnnouncementType.maxSize + 1)
    assert.equal((await rejects(openRecord(JobAnnouncementType, huge))).name, 'RecordTooLargeError')
    // the largest legal announcement still fits its limit
    const { value, key } = ex.JobAnnouncement
    const largest = await signRecord(JobAnnouncementType, {
      ...value,
      description: 'x'.repeat(280),
      workload: 'y'.repeat(256),
      requirements: { ...value.requirements, gpuModel: 'm'.repeat(64), gpuClass: 'c'.repeat(64), sensors: Array(16).fill('s'.repeat(64)) }
    }, key)
    assert.ok(largest.bytes.byteLength <= JobAnnouncementType.maxSize)
  })

  it('rejects impossible values with the field named', async () => {
    const { value, key } = ex.CapabilityRecord
    const cases: Array<[string, any]> = [
      ['freeSlots', { freeSlots: 9 }],
      ['geohash', { geohash: 'ailo' }],
      ['coordinate.vec', { coordinate: { vec: [Number.NaN], height: 1, error: 0.1 } }],
      ['expiresMs', { expiresMs: value.createdMs }],
      ['gpus[0].vramMib', { gpus: [{ model: 'x', class: 'y', vramMib: 0, count: 1 }] }]
    ]
    for (const [field, patch] of cases) {
      const err: any = await rejects(signRecord(CapabilityRecordTypeOf(), { ...value, ...patch }, key))
      assert.equal(err.name, 'InvalidFieldError', field)
      assert.equal(err.field, field)
    }
    const receipt = ex.WorkReceipt
    const err: any = await rejects(signRecord(WorkReceiptType, { ...receipt.value, total: 1 }, receipt.key))
    assert.equal(err.field, 'total')
  })

  it('rejects an unknown version as UnsupportedVersionError', async () => {
    const { value, key } = ex.JobWithdrawal
    const err = await rejects(signRecord(JobWithdrawalType, { ...value, version: 2 }, key))
    assert.equal(err.name, 'UnsupportedVersionError')
  })

  it('countersigns a receipt and verifies both signatures against the right peers', async () => {
    const { value, key } = ex.WorkReceipt
    const receipt = await signRecord(WorkReceiptType, value, key)
    const both = await countersign(receipt, p.requester)
    const opened = await openCountersigned(WorkReceiptType, both.bytes, { now: NOW })
    assert.deepEqual(opened.id, receipt.id)
    assert.deepEqual(opened.countersigner.toMultihash().bytes, p.requesterId)
    assert.deepEqual(opened.record.signer.toMultihash().bytes, p.providerId)

    // only the requester named in the receipt may countersign
    assert.equal((await rejects(countersign(receipt, p.provider))).name, 'WrongSignerError')

    // a countersignature moved onto another receipt fails
    const other = await signRecord(WorkReceiptType, { ...value, units: 32, total: 640 }, key)
    const wrapper = Countersigned.decode(both.bytes)
    const spliced = Countersigned.encode({ ...wrapper, envelope: other.bytes })
    assert.equal((await rejects(openCountersigned(WorkReceiptType, spliced, { now: NOW }))).name, 'InvalidCountersignatureError')

    // the primary signature alone cannot stand in for the countersignature
    const wrongSig = Countersigned.encode({ ...wrapper, signature: Countersigned.decode(both.bytes).signature.map(b => b ^ 1) })
    assert.equal((await rejects(openCountersigned(WorkReceiptType, wrongSig, { now: NOW }))).name, 'InvalidCountersignatureError')
  })

  it('opens an assignment together with the quote it embeds', async () => {
    const signed = await signRecord(AssignmentType, ex.Assignment.value, ex.Assignment.key)
    const { assignment, quote } = await openAssignment(signed.bytes, { now: NOW })
    assert.deepEqual(assignment.signer.toMultihash().bytes, p.requesterId)
    assert.deepEqual(quote.signer.toMultihash().bytes, p.providerId)

    // a quote for another job is refused
    const otherQuote = await signRecord(QuoteType, { ...ex.Quote.value, jobId: new Uint8Array(16).fill(1) }, p.provider)
    const bad = await signRecord(AssignmentType, { ...ex.Assignment.value, quote: otherQuote.bytes }, p.requester)
    const err: any = await rejects(openAssignment(bad.bytes, { now: NOW }))
    assert.equal(err.name, 'InvalidFieldError')
    assert.equal(err.field, 'quote')
  })

  it('checks the shape of evidence per kind, and lets anyone sign it as its reporter', async () => {
    const { value, key } = ex.Evidence
    // evidence names no author: the signer is the reporter, whoever it is
    const byProvider = await signRecord(EvidenceType, value, p.provider)
    assert.deepEqual((await openRecord(EvidenceType, byProvider.bytes, { now: NOW })).signer.toMultihash().bytes, p.providerId)
    const [a, b] = value.receipts
    const cases: Array<[string, any]> = [
      ['kind', { kind: EvidenceKind.EVIDENCE_KIND_UNSPECIFIED }],
      ['offender', { offender: new Uint8Array(5) }],
      ['createdMs', { createdMs: 0 }],
      ['receipts', { receipts: [a] }],
      ['receipts', { receipts: [a, b, a] }],
      ['receipts[1]', { receipts: [a, new Uint8Array()] }],
      ['assignments', { assignments: [a] }],
      ['jobs', { jobs: [a] }],
      // wrong-result: one assignment per receipt, 1..receipts jobs
      ['assignments', { kind: EvidenceKind.WRONG_RESULT, assignments: [a], jobs: [a] }],
      ['jobs', { kind: EvidenceKind.WRONG_RESULT, assignments: [a, b], jobs: [] }],
      ['receipts', { kind: EvidenceKind.WRONG_RESULT, receipts: new Array(17).fill(a), assignments: new Array(17).fill(a), jobs: [a] }]
    ]
    for (const [field, patch] of cases) {
      const err: any = await rejects(signRecord(EvidenceType, { ...value, ...patch }, key))
      assert.equal(err.name, 'InvalidFieldError', field)
      assert.equal(err.field, field)
    }
    await signRecord(EvidenceType, { ...value, kind: EvidenceKind.WRONG_RESULT, assignments: [a, b], jobs: [a] }, key)
    assert.equal((await rejects(signRecord(EvidenceType, { ...value, version: 2 }, key))).name, 'UnsupportedVersionError')
  })

  it('validateRecord returns accept or a named reject', async () => {
    const signed = await signRecord(JobAnnouncementType, ex.JobAnnouncement.value, ex.JobAnnouncement.key)
    const ok = await validateRecord(JobAnnouncementType, signed.bytes, { now: NOW })
    assert.equal(ok.valid, true)
    const flipped = signed.bytes.slice()
    flipped[flipped.length - 1] ^= 1
    const bad = await validateRecord(JobAnnouncementType, flipped, { now: NOW })
    assert.equal(bad.valid, false)
    if (!bad.valid) {
      assert.equal(bad.error.name, 'InvalidSignatureError')
    }
    assert.deepEqual(decodeRecord(JobAnnouncementType, flipped).jobId, ex.JobAnnouncement.value.jobId)
  })
})

function CapabilityRecordTypeOf (): typeof import('../src/index.js').CapabilityRecordType {
  return allTypes.find(t => t.name === 'CapabilityRecord') as any
}
