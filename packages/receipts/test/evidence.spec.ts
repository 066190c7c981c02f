import assert from 'node:assert/strict'
import fc from 'fast-check'
import { EvidenceKind, EvidenceType, RECORD_VERSION, WorkReceiptType, countersign, signRecord } from '@shoal/records'
import { party } from '@shoal/test-support'
import { InvalidEvidenceError, createEquivocationEvidence, createWrongResultEvidence, verifyEvidence } from '../src/index.js'
import { Market, RIGHT, WRONG } from './fixtures/evidence.js'
import type { WorkRun } from '../src/index.js'
import type { Party } from '@shoal/test-support'
import type { Evidence, SignedRecord } from '@shoal/records'

/** Resolve with the InvalidEvidenceError `p` rejects with, failing if it resolves or throws anything else. */
async function refused (p: Promise<unknown>, rule: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof InvalidEvidenceError, `threw ${String(err)}`)
    assert.equal(err.name, 'InvalidEvidenceError')
    assert.match(err.message, rule)
    return true
  })
}

/** Evidence signed as is, without the creator's own check: what a liar could publish. */
async function forge (key: Party, value: Partial<Evidence>): Promise<SignedRecord<Evidence>> {
  return signRecord(EvidenceType, {
    version: RECORD_VERSION, kind: EvidenceKind.WRONG_RESULT, offender: new Uint8Array(), receipts: [], assignments: [], jobs: [], createdMs: Date.now(), ...value
  }, key.key)
}

describe('evidence', () => {
  let requester: Party
  let offender: Party
  let honest: Party[]
  let market: Market

  before(async () => {
    requester = await party()
    offender = await party()
    honest = await Promise.all([party(), party()])
    market = await Market.create(requester)
  })

  describe('equivocation', () => {
    let first: WorkRun
    let second: SignedRecord<import('@shoal/records').WorkReceipt>

    before(async () => {
      first = await market.run(offender, { resultHash: RIGHT })
      second = await signRecord(WorkReceiptType, { ...first.receipt.value, resultHash: WRONG }, offender.key)
    })

    it('a provider that signs two different receipts for one assignment is an offender, to anyone', async () => {
      const record = await createEquivocationEvidence(first.receipt, second, requester.key)
      // a third party verifies the bytes alone
      const verified = await verifyEvidence(record.bytes)
      assert.equal(verified.kind, 'equivocation')
      assert.ok(verified.offender.equals(offender.peerId))
      assert.ok(verified.reporter.equals(requester.peerId))
      assert.deepEqual(verified.jobId, market.job.value.jobId)
      assert.deepEqual(verified.id, record.id)
    })

    it('accepts a countersigned receipt in place of the bare one', async () => {
      const both = await countersign(first.receipt, requester.key)
      const record = await forge(requester, { kind: EvidenceKind.EQUIVOCATION, offender: offender.id, receipts: [both.bytes, second.bytes] })
      assert.equal((await verifyEvidence(record)).kind, 'equivocation')
    })

    it('refuses the same claim signed twice', async () => {
      const again = await signRecord(WorkReceiptType, first.receipt.value, offender.key)
      await refused(createEquivocationEvidence(first.receipt, again, requester.key), /same claim/)
    })

    it('refuses receipts of two different assignments', async () => {
      const other = await market.run(offender, { resultHash: WRONG })
      await refused(createEquivocationEvidence(first.receipt, other.receipt, requester.key), /different assignments/)
    })

    it('refuses receipts not signed by the named offender', async () => {
      const record = await forge(requester, { kind: EvidenceKind.EQUIVOCATION, offender: honest[0].id, receipts: [first.receipt.bytes, second.bytes] })
      await refused(verifyEvidence(record), /not signed by the offender/)
    })

    it('refuses a receipt whose signature does not verify', async () => {
      const tampered = second.bytes.slice()
      tampered[tampered.byteLength - 1] ^= 1
      const record = await forge(requester, { kind: EvidenceKind.EQUIVOCATION, offender: offender.id, receipts: [first.receipt.bytes, tampered] })
      await refused(verifyEvidence(record), /receipts\[1\] does not open/)
    })

    it('refuses a reporter naming itself', async () => {
      const record = await forge(offender, { kind: EvidenceKind.EQUIVOCATION, offender: offender.id, receipts: [first.receipt.bytes, second.bytes] })
      await refused(verifyEvidence(record), /names itself/)
    })

    it('refuses evidence made in the future, and evidence whose own signature fails', async () => {
      const record = await createEquivocationEvidence(first.receipt, second, requester.key)
      await refused(verifyEvidence(record.bytes, { now: () => Date.now() - 3_600_000 }), /NotYetValidError/)
      const tampered = record.bytes.slice()
      tampered[tampered.byteLength - 1] ^= 1
      await refused(verifyEvidence(tampered), /evidence does not open/)
    })
  })

  describe('wrong result', () => {
    let bad: WorkRun
    let good: WorkRun[]

    before(async () => {
      bad = await market.run(offender, { resultHash: WRONG })
      good = await Promise.all(honest.map(async p => market.run(p, { resultHash: RIGHT })))
    })

    it('a result that disagrees with agreeing providers of the same job is an offence', async () => {
      const record = await createWrongResultEvidence({ offender: bad, agreeing: good, jobs: [market.job, market.job] }, requester.key)
      assert.equal(record.value.jobs.length, 1, 'each job once')
      const verified = await verifyEvidence(record.bytes)
      assert.equal(verified.kind, 'wrong-result')
      assert.ok(verified.offender.equals(offender.peerId))
    })

    it('accepts runs of different jobs with the same kind, workload and input', async () => {
      const twin = await Market.create(requester, { workload: market.job.value.workload })
      const other = await twin.run(honest[0], { resultHash: RIGHT })
      await createWrongResultEvidence({ offender: bad, agreeing: [other], jobs: [market.job, twin.job] }, requester.key)
    })

    const violations: Array<[string, () => Promise<SignedRecord<Evidence>>, RegExp]> = [
      ['the offender\'s receipt is another provider\'s', async () => forge(requester, {
        offender: offender.id, receipts: [good[0].receipt.bytes, good[1].receipt.bytes], assignments: [good[0].assignment.bytes, good[1].assignment.bytes], jobs: [market.job.bytes]
      }), /receipts\[0\] is not signed by the offender/],
      ['an agreeing receipt is the offender\'s own', async () => {
        const again = await market.run(offender, { resultHash: RIGHT })
        return forge(requester, { offender: offender.id, receipts: [bad.receipt.bytes, again.receipt.bytes], assignments: [bad.assignment.bytes, again.assignment.bytes], jobs: [market.job.bytes] })
      }, /offender or the reporter/],
      ['an agreeing receipt is the reporter\'s own', async () => {
        const own = await market.run(requester, { resultHash: RIGHT })
        return forge(requester, { offender: offender.id, receipts: [bad.receipt.bytes, own.receipt.bytes], assignments: [bad.assignment.bytes, own.assignment.bytes], jobs: [market.job.bytes] })
      }, /offender or the reporter/],
      ['one provider counted twice', async () => {
        const again = await market.run(honest[0], { resultHash: RIGHT })
        return forge(requester, {
          offender: offender.id, receipts: [bad.receipt.bytes, good[0].receipt.bytes, again.receipt.bytes], assignments: [bad.assignment.bytes, good[0].assignment.bytes, again.assignment.bytes], jobs: [market.job.bytes]
        })
      }, /already counted/],
      ['a failed run', async () => {
        const failed = await market.run(honest[0], { resultHash: RIGHT, status: 1 })
        return forge(requester, { offender: offender.id, receipts: [bad.receipt.bytes, failed.receipt.bytes], assignments: [bad.assignment.bytes, failed.assignment.bytes], jobs: [market.job.bytes] })
      }, /failed run/],
      ['an assignment signed by someone else than the reporter', async () => {
        const stranger = await party()
        const other = await market.run(honest[0], { resultHash: RIGHT, assigner: stranger })
        return forge(requester, { offender: offender.id, receipts: [bad.receipt.bytes, other.receipt.bytes], assignments: [bad.assignment.bytes, other.assignment.bytes], jobs: [market.job.bytes] })
      }, /assignments\[1\] is not signed by the reporter/],
      ['an assignment of another provider', async () => forge(requester, {
        offender: offender.id, receipts: [bad.receipt.bytes, good[0].receipt.bytes], assignments: [bad.assignment.bytes, good[1].assignment.bytes], jobs: [market.job.bytes]
      }), /names another provider/],
      ['a receipt that settles another assignment', async () => {
        const other = await market.run(honest[0], { resultHash: RIGHT })
        const stray = await market.run(honest[0], { resultHash: RIGHT })
        return forge(requester, { offender: offender.id, receipts: [bad.receipt.bytes, other.receipt.bytes], assignments: [bad.assignment.bytes, stray.assignment.bytes], jobs: [market.job.bytes] })
      }, /does not settle/],
      ['a job signed by someone else', async () => {
        const foreign = await Market.create(undefined, { jobId: market.job.value.jobId })
        return forge(requester, { offender: offender.id, receipts: [bad.receipt.bytes, good[0].receipt.bytes], assignments: [bad.assignment.bytes, good[0].assignment.bytes], jobs: [foreign.job.bytes] })
      }, /jobs\[0\] is not signed by the reporter/],
      ['an assignment for a job not given', async () => {
        const twin = await Market.create(requester)
        return forge(requester, { offender: offender.id, receipts: [bad.receipt.bytes, good[0].receipt.bytes], assignments: [bad.assignment.bytes, good[0].assignment.bytes], jobs: [twin.job.bytes] })
      }, /not in jobs/],
      ['jobs of another workload', async () => {
        const twin = await Market.create(requester, { workload: 'another-model' })
        const other = await twin.run(honest[0], { resultHash: RIGHT })
        return forge(requester, { offender: offender.id, receipts: [bad.receipt.bytes, other.receipt.bytes], assignments: [bad.assignment.bytes, other.assignment.bytes], jobs: [market.job.bytes, twin.job.bytes] })
      }, /differ in kind, workload or input/],
      ['an assignment with another input', async () => {
        const other = await market.run(honest[0], { resultHash: RIGHT, inputHash: new Uint8Array(32).fill(9) })
        return forge(requester, { offender: offender.id, receipts: [bad.receipt.bytes, other.receipt.bytes], assignments: [bad.assignment.bytes, other.assignment.bytes], jobs: [market.job.bytes] })
      }, /another input/],
      ['a job no assignment is for', async () => {
        const twin = await Market.create(requester)
        return forge(requester, { offender: offender.id, receipts: [bad.receipt.bytes, good[0].receipt.bytes], assignments: [bad.assignment.bytes, good[0].assignment.bytes], jobs: [market.job.bytes, twin.job.bytes] })
      }, /no assignment is for/],
      ['agreeing providers that disagree among themselves', async () => {
        const third = await market.run(honest[1], { resultHash: new Uint8Array(32).fill(4) })
        return forge(requester, {
          offender: offender.id, receipts: [bad.receipt.bytes, good[0].receipt.bytes, third.receipt.bytes], assignments: [bad.assignment.bytes, good[0].assignment.bytes, third.assignment.bytes], jobs: [market.job.bytes]
        })
      }, /does not agree/],
      ['the offender\'s result is the same', async () => {
        const same = await market.run(offender, { resultHash: RIGHT })
        return forge(requester, { offender: offender.id, receipts: [same.receipt.bytes, good[0].receipt.bytes], assignments: [same.assignment.bytes, good[0].assignment.bytes], jobs: [market.job.bytes] })
      }, /same as the others/]
    ]

    for (const [name, make, rule] of violations) {
      it(`refuses: ${name}`, async () => {
        await refused(verifyEvidence(await make()), rule)
      })
    }
  })

  it('mutated evidence bytes never verify, and fail only with InvalidEvidenceError', async function () {
    this.timeout(120_000)
    const bad = await market.run(offender, { resultHash: WRONG })
    const good = await market.run(honest[0], { resultHash: RIGHT })
    const original = (await createWrongResultEvidence({ offender: bad, agreeing: [good], jobs: [market.job] }, requester.key)).bytes
    const mutation = fc.array(fc.tuple(fc.nat(original.byteLength), fc.nat(255), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 4 })
    await fc.assert(fc.asyncProperty(mutation, async ops => {
      const bytes = [...original]
      for (const [pos, byte, op] of ops) {
        if (op === 'set') {
          bytes[pos % bytes.length] = bytes[pos % bytes.length] === byte ? byte ^ 0xff : byte
        } else if (op === 'insert') {
          bytes.splice(pos, 0, byte)
        } else {
          bytes.splice(pos % bytes.length, 1)
        }
      }
      const mutated = Uint8Array.from(bytes)
      // an insert undone by a delete gives back the original, which does verify
      fc.pre(Buffer.compare(mutated, original) !== 0)
      await assert.rejects(verifyEvidence(mutated), (err: unknown) => err instanceof InvalidEvidenceError)
    }), { numRuns: 300 })
  })
})
