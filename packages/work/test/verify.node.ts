import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import { AllCandidatesFailedError } from '@shoal/router'
import {
  AssignmentType, JobAnnouncementType, QuoteType, RECORD_VERSION, WorkReceiptType, newRandomId, openCountersigned, openRecord, signRecord
} from '@shoal/records'
import { createHash } from 'node:crypto'
import { functionExecutor, NoQuorumError, QuoteDeclinedError, REQUESTER_JOBS_PREFIX, ResultRejectedError } from '../src/index.js'
import { ArraySink, connect, dec, enc, scriptProvider, suiteNodes } from './helpers.js'
import type { WorkNode } from './helpers.js'
import type { FoundEvidence, JobSpec, VerifyPolicy } from '../src/index.js'
import type { PrivateKey } from '@libp2p/interface'
import type { SignedRecord, WorkReceipt } from '@shoal/records'

const PRICE = { perUnit: 20, currency: 'USDC', unit: 'job' }
const SPEC: JobSpec = { priceCeiling: { perUnit: 25, currency: 'USDC', unit: 'job' }, budget: 1000, workload: 'upper' }
const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest())
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** An executor that upper-cases its input, counting its runs. */
function counted (transform: (s: string) => string = s => s.toUpperCase()): { executor: ReturnType<typeof functionExecutor>, runs: { n: number } } {
  const runs = { n: 0 }
  return { runs, executor: functionExecutor(input => { runs.n++; return enc(transform(dec(input))) }) }
}

/** A policy that verifies nothing unless a field below asks for it. */
const QUIET: VerifyPolicy = { spotCheckRate: 0, probationJobs: 0, replayCheckRate: 0 }

describe('result verification (requester)', function () {
  this.timeout(30_000)
  const { node, routedNode } = suiteNodes()

  /** A requester connected to a provider answering by hand that signs a second receipt for a replayed assignment. */
  async function equivocatingPair (): Promise<{ requester: WorkNode, equivocator: WorkNode }> {
    const requester = await node()
    const key = await generateKeyPair('Ed25519')
    const equivocator = await node({}, key)
    await equivocate(equivocator, key)
    await connect(requester, equivocator)
    return { requester, equivocator }
  }

  /** Three honest providers, one whose executor returns other bytes, and a requester connected to all. */
  async function market (): Promise<{ honest: WorkNode[], honestRuns: Array<{ n: number }>, wrong: WorkNode, wrongRuns: { n: number }, requester: WorkNode, found: FoundEvidence[], sink: ArraySink }> {
    const honestRuns: Array<{ n: number }> = []
    const honest: WorkNode[] = []
    for (let i = 0; i < 3; i++) {
      const { executor, runs } = counted()
      honestRuns.push(runs)
      honest.push(await node({ price: PRICE, executor }))
    }
    const bad = counted(s => `${s.toUpperCase()}!`)
    const wrong = await node({ price: PRICE, executor: bad.executor })
    const sink = new ArraySink()
    const requester = await node({ receipts: sink })
    for (const p of [...honest, wrong]) {
      await connect(requester, p)
    }
    const found: FoundEvidence[] = []
    requester.services.work.addEventListener('evidence:found', evt => { found.push(evt.detail) })
    return { honest, honestRuns, wrong, wrongRuns: bad.runs, requester, found, sink }
  }

  it('runs on two providers and, when they disagree, on a third: the wrong result is refused, never paid, and reported with a proof whose receipts verify', async () => {
    const { honest, wrong, requester, found, sink } = await market()
    const outcome = await requester.services.work.run([wrong.peerId, ...honest.map(h => h.peerId)], SPEC, enc('hello'), {
      verify: { ...QUIET, redundancy: 2, quorum: 2 }
    })
    assert.equal(dec(outcome.output), 'HELLO')
    assert.ok(outcome.provider.equals(honest[0].peerId), 'the agreeing run of the first-ranked candidate')
    assert.ok(outcome.verification != null)
    assert.deepEqual(outcome.verification.agreeing.map(p => p.toString()).sort(), [honest[0].peerId.toString(), honest[1].peerId.toString()].sort())
    assert.deepEqual(outcome.verification.rejected.map(p => p.toString()), [wrong.peerId.toString()])
    assert.equal(outcome.verification.providers.length, 3)
    assert.deepEqual(outcome.attempts.map(a => [a.candidate.toString(), a.ok]), [[honest[0].peerId.toString(), true]], 'candidates other slots took are not attempts')

    // the wrong provider: never countersigned nor paid; its receipt stays pending there
    assert.equal(wrong.services.work.book.paid(requester.peerId), 0)
    assert.equal(wrong.services.work.pendingReceipts().length, 1)
    assert.ok(sink.countersigned.every(r => !r.record.signer.equals(wrong.peerId)))
    assert.equal(sink.countersigned.length, 2)
    // the agreeing ones are paid
    for (const h of honest.slice(0, 2)) {
      assert.equal(h.services.work.book.paid(requester.peerId), 20)
    }

    assert.equal(found.length, 1)
    const evidence = found[0]
    assert.equal(evidence.kind, 'wrong-result')
    if (evidence.kind !== 'wrong-result') {
      return
    }
    const { proof } = evidence
    const offender = await openRecord(WorkReceiptType, proof.offender.receipt.bytes)
    assert.ok(offender.signer.equals(wrong.peerId))
    assert.equal(hex(offender.value.resultHash), hex(sha256(enc('HELLO!'))))
    assert.equal(proof.agreeing.length, 2)
    for (const run of proof.agreeing) {
      const receipt = await openRecord(WorkReceiptType, run.receipt.bytes)
      assert.equal(hex(receipt.value.resultHash), hex(sha256(enc('HELLO'))))
      const assignment = await openRecord(AssignmentType, run.assignment.bytes)
      assert.equal(hex(receipt.value.assignmentId), hex(assignment.id))
      assert.ok(assignment.signer.equals(requester.peerId))
    }
    assert.equal(proof.jobs.length, 1)
    const job = await openRecord(JobAnnouncementType, proof.jobs[0].bytes)
    assert.equal(hex(job.value.jobId), hex(offender.value.jobId))
  })

  it('verifies through the node\'s router failover too', async () => {
    const { honest, wrong, found } = await market()
    const requester = await routedNode()
    for (const p of [wrong, ...honest]) {
      await connect(requester, p)
    }
    const rejected: string[] = []
    requester.services.work.addEventListener('evidence:found', evt => { if (evt.detail.kind === 'wrong-result') rejected.push(evt.detail.proof.offender.receipt.signer.toString()) })
    const outcome = await requester.services.work.run([wrong.peerId, ...honest.map(h => h.peerId)], SPEC, enc('routed'), { verify: { ...QUIET, redundancy: 2 } })
    assert.equal(dec(outcome.output), 'ROUTED')
    assert.deepEqual(rejected, [wrong.peerId.toString()])
    assert.equal(wrong.services.work.book.paid(requester.peerId), 0)
    assert.equal(found.length, 0, 'the other requester saw nothing')
  })

  it('fails with NoQuorumError when the results disagree and no candidate is left, countersigning nobody', async () => {
    const { honest, honestRuns, wrong, requester, found, sink } = await market()
    // too few candidates for the quorum: nobody is asked to work
    await assert.rejects(requester.services.work.run([honest[0].peerId], SPEC, enc('alone'), { verify: { ...QUIET, redundancy: 2, quorum: 2 } }), NoQuorumError)
    assert.equal(honestRuns[0].n, 0)
    await assert.rejects(requester.services.work.run([honest[0].peerId, wrong.peerId], SPEC, enc('split'), {
      verify: { ...QUIET, redundancy: 2, quorum: 2 }
    }), NoQuorumError)
    assert.equal(sink.countersigned.length, 0)
    assert.equal(found.length, 0)
    assert.equal(honest[0].services.work.book.paid(requester.peerId), 0)
    assert.equal(wrong.services.work.book.paid(requester.peerId), 0)
  })

  it('leaves the honest path unchanged without verify, and runs once when no check is due', async () => {
    const { honest, honestRuns, requester } = await market()
    const plain = await requester.services.work.run(honest[0].peerId, SPEC, enc('a'), { verify: false })
    assert.equal(dec(plain.output), 'A')
    assert.equal(plain.verification, undefined)
    const quiet = await requester.services.work.run(honest.map(h => h.peerId), SPEC, enc('b'), { verify: QUIET })
    assert.equal(dec(quiet.output), 'B')
    assert.equal(quiet.verification, undefined)
    // probation with one candidate and no known answer: no quorum is possible, so it runs unverified rather than fail
    const alone = await requester.services.work.run(honest[1].peerId, SPEC, enc('c'), { verify: { ...QUIET, probationJobs: 1 } })
    assert.equal(alone.verification, undefined)
    assert.deepEqual(honestRuns.map(r => r.n), [2, 1, 0])
  })

  it('puts a provider on probation: its first job is verified, the next not', async () => {
    const { honest, honestRuns, requester } = await market()
    const policy = { ...QUIET, probationJobs: 1 }
    const first = await requester.services.work.run(honest.map(h => h.peerId), SPEC, enc('p'), { verify: policy })
    assert.ok(first.verification != null)
    const second = await requester.services.work.run(honest.map(h => h.peerId), SPEC, enc('q'), { verify: policy })
    assert.equal(second.verification, undefined)
    assert.deepEqual(honestRuns.map(r => r.n), [2, 1, 0])
  })

  it('keeps verified counts and known answers in the datastore: after a restart a provider off probation stays off, and a known answer still catches a wrong result', async () => {
    const { honest, honestRuns, wrong } = await market()
    const datastore = new MemoryDatastore()
    const key = await generateKeyPair('Ed25519')
    const policy = { ...QUIET, probationJobs: 1 }
    let requester = await node({}, key, datastore)
    for (const h of honest) {
      await connect(requester, h)
    }
    assert.ok((await requester.services.work.run(honest.map(h => h.peerId), SPEC, enc('x'), { verify: policy })).verification != null)
    await requester.stop()
    requester = await node({}, key, datastore)
    for (const h of [...honest, wrong]) {
      await connect(requester, h)
    }
    assert.equal((await requester.services.work.run(honest.map(h => h.peerId), SPEC, enc('y'), { verify: policy })).verification, undefined)
    assert.deepEqual(honestRuns.map(r => r.n), [2, 1, 0])
    await assert.rejects(requester.services.work.run(wrong.peerId, SPEC, enc('x'), { verify: { ...QUIET, spotCheckRate: 1 } }), ResultRejectedError)
  })

  it('spot-checks a single run against a known answer: a wrong provider is caught without a second provider', async () => {
    const { honest, honestRuns, wrong, wrongRuns, requester, found } = await market()
    // a quorum establishes the answer for this workload and input
    const agreed = await requester.services.work.run([honest[0].peerId, honest[1].peerId], SPEC, enc('known'), { verify: { ...QUIET, redundancy: 2 } })
    assert.equal(dec(agreed.output), 'KNOWN')

    // a later job with the same workload and input, spot-checked: the wrong provider's result is refused
    await assert.rejects(requester.services.work.run(wrong.peerId, SPEC, enc('known'), { verify: { ...QUIET, spotCheckRate: 1 } }), ResultRejectedError)
    assert.equal(wrongRuns.n, 1)
    assert.deepEqual(honestRuns.map(r => r.n), [1, 1, 0], 'no second provider ran the spot check')
    assert.equal(wrong.services.work.book.paid(requester.peerId), 0)
    assert.equal(found.length, 1)
    const evidence = found[0]
    assert.ok(evidence.kind === 'wrong-result')
    assert.ok(evidence.proof.offender.receipt.signer.equals(wrong.peerId))
    assert.deepEqual(evidence.proof.agreeing.map(r => r.receipt.signer.toString()).sort(), [honest[0].peerId.toString(), honest[1].peerId.toString()].sort())
    assert.equal(evidence.proof.jobs.length, 2, 'the offender\'s job and the one the answer was established for')

    // an honest provider passes the same check alone
    const checked = await requester.services.work.run(honest[2].peerId, SPEC, enc('known'), { verify: { ...QUIET, spotCheckRate: 1 } })
    assert.equal(dec(checked.output), 'KNOWN')
    assert.deepEqual(checked.verification?.agreeing.map(p => p.toString()), [honest[2].peerId.toString()])
  })

  it('refuses a result its checkResult rejects: the provider gets result-rejected, keeps its receipt pending, and goes on serving; the requester forgets the job', async () => {
    const { honest } = await market()
    const datastore = new MemoryDatastore()
    const requester = await node({}, undefined, datastore)
    await connect(requester, honest[0])
    const refused: string[] = []
    honest[0].services.work.addEventListener('job:completed', () => { refused.push('completed') })
    await assert.rejects(requester.services.work.run(honest[0].peerId, SPEC, enc('no'), {
      checkResult: async () => { throw new ResultRejectedError('not today') }
    }), ResultRejectedError)
    assert.equal(honest[0].services.work.pendingReceipts().length, 1)
    assert.equal(honest[0].services.work.book.paid(requester.peerId), 0)
    // the job was answered: nothing of it is left to resume or re-send
    for await (const entry of datastore.query({ prefix: REQUESTER_JOBS_PREFIX })) {
      assert.fail(`a saved request is left: ${entry.key.toString()}`)
    }
    const outcome = await requester.services.work.run(honest[0].peerId, SPEC, enc('yes'))
    assert.equal(dec(outcome.output), 'YES')
    assert.deepEqual(refused, ['completed', 'completed'])
  })

  it('never runs on an offender, and a provider declines an offender\'s quote requests', async () => {
    const { honest, wrong } = await market()
    const requester = await node({ offenders: peer => peer.equals(wrong.peerId) })
    await connect(requester, wrong)
    await connect(requester, honest[0])
    const outcome = await requester.services.work.run([wrong.peerId, honest[0].peerId], SPEC, enc('skip'))
    assert.ok(outcome.provider.equals(honest[0].peerId))
    assert.equal(outcome.attempts.length, 1)
    await assert.rejects(requester.services.work.run(wrong.peerId, SPEC, enc('none')), AllCandidatesFailedError)

    const strict = await node({ price: PRICE, executor: counted().executor, offenders: peer => peer.equals(requester.peerId) })
    await connect(requester, strict)
    const job = await requester.services.work.createJob(SPEC)
    await assert.rejects(requester.services.work.requestQuote(strict.peerId, job), QuoteDeclinedError)
  })

  it('replays an honest provider\'s assignment and finds the same receipt, paying nothing more', async () => {
    const { honest, honestRuns, requester, found } = await market()
    const outcome = await requester.services.work.run(honest[0].peerId, SPEC, enc('again'), { verify: QUIET })
    assert.equal(await requester.services.work.recheck(outcome), 'same')
    assert.equal(honestRuns[0].n, 1)
    assert.equal(honest[0].services.work.book.paid(requester.peerId), 20)
    assert.equal(found.length, 0)
  })

  it('replays a sampled share of runs in the background and reports the equivocation it finds', async () => {
    const { requester, equivocator } = await equivocatingPair()
    const found = new Promise<FoundEvidence>(resolve => {
      requester.services.work.addEventListener('evidence:found', evt => { resolve(evt.detail) }, { once: true })
    })
    const job = await requester.services.work.createJob({ ...SPEC, input: enc('sampled') })
    const outcome = await requester.services.work.run(equivocator.peerId, job, enc('sampled'), { verify: { ...QUIET, replayCheckRate: 1 } })
    const evidence = await found
    assert.equal(evidence.kind, 'equivocation')
    assert.ok(evidence.kind === 'equivocation' && evidence.first.id.every((b, i) => b === outcome.receipt.id[i]))
  })

  it('catches a provider that signs a second receipt for a replayed assignment (equivocation)', async () => {
    const { requester, equivocator } = await equivocatingPair()
    const found: FoundEvidence[] = []
    requester.services.work.addEventListener('evidence:found', evt => { found.push(evt.detail) })

    // the hand-written provider reads signed jobs only
    const job = await requester.services.work.createJob({ ...SPEC, input: enc('twice') })
    const outcome = await requester.services.work.run(equivocator.peerId, job, enc('twice'))
    assert.equal(dec(outcome.output), 'TWICE')
    assert.equal(await requester.services.work.recheck(outcome), 'equivocation')
    assert.equal(found.length, 1)
    const evidence = found[0]
    assert.ok(evidence.kind === 'equivocation')
    const first = await openRecord(WorkReceiptType, evidence.first.bytes)
    const second = await openRecord(WorkReceiptType, evidence.second.bytes)
    assert.ok(first.signer.equals(equivocator.peerId) && second.signer.equals(equivocator.peerId))
    assert.equal(hex(first.value.assignmentId), hex(second.value.assignmentId))
    assert.notDeepEqual(first.value, second.value)
  })
})

/**
 * Answer the work protocol by hand as a provider that upper-cases its input
 * and, for an assignment it has answered before, signs a second, different receipt.
 */
async function equivocate (n: WorkNode, key: PrivateKey): Promise<void> {
  const self = n.peerId.toMultihash().bytes
  const outputs = new Map<string, Uint8Array>()
  await scriptProvider(n, async peer => {
    while (true) {
      const frame = await peer.read()
      if (frame.kind === 'quoteRequest') {
        const job = await openRecord(JobAnnouncementType, frame.body.job)
        const now = Date.now()
        const quote = await signRecord(QuoteType, {
          version: RECORD_VERSION, jobId: job.value.jobId, requester: job.value.requester, provider: self, price: PRICE, estUnits: 1, etaMs: 10, freeSlots: 1, createdMs: now, expiresMs: now + 60_000, nonce: newRandomId()
        }, key)
        await peer.send({ kind: 'quote', body: { quote: quote.bytes } })
      } else if (frame.kind === 'assign') {
        const assignment = await openRecord(AssignmentType, frame.body.assignment)
        const id = Buffer.from(assignment.id).toString('hex')
        const replay = outputs.has(id)
        const output = outputs.get(id) ?? enc(dec(frame.body.input).toUpperCase())
        outputs.set(id, output)
        const now = Date.now()
        const receipt: SignedRecord<WorkReceipt> = await signRecord(WorkReceiptType, {
          version: RECORD_VERSION,
          jobId: assignment.value.jobId,
          assignmentId: assignment.id,
          requester: assignment.value.requester,
          provider: self,
          units: replay ? 2 : 1,
          price: PRICE,
          total: replay ? 40 : 20,
          resultHash: sha256(output),
          startedMs: now,
          endedMs: now,
          status: 0,
          prev: new Uint8Array()
        }, key)
        await peer.send({ kind: 'result', body: { receipt: receipt.bytes, output, location: '' } })
      } else if (frame.kind === 'countersign') {
        const both = await openCountersigned(WorkReceiptType, frame.body.receipt)
        await peer.send({ kind: 'ack', body: { id: both.id, paid: 20 } })
      }
    }
  })
}
