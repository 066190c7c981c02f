import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  JobKind, JobAnnouncementType, PaymentVoucherType, QuoteType, RECORD_VERSION, WorkReceiptType, countersign, newRandomId, openAssignment,
  openCountersigned, openRecord, signRecord
} from '@shoal/records'
import { createReceiptStore } from '@shoal/receipts'
import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { functionExecutor } from '../src/index.js'
import { ArraySink, assignmentOf, connect, dec, enc, rawStream, scriptProvider, suiteNodes } from './helpers.js'
import type { WorkNode } from './helpers.js'
import type { BidPolicy, JobSpec, WorkFrame, WorkInit, WorkProgress } from '../src/index.js'
import type { PrivateKey } from '@libp2p/interface'
import type { Assignment, JobAnnouncement, Quote, SignedRecord, WorkReceipt } from '@shoal/records'

const PRICE = { perUnit: 20, currency: 'USDC', unit: 'job' }
const SPEC: JobSpec = { priceCeiling: { perUnit: 25, currency: 'USDC', unit: 'job' }, budget: 1000, workload: 'upper' }
const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest())

const upper = functionExecutor((input, { onProgress }) => {
  onProgress({ permille: 500, message: 'half way' })
  return enc(dec(input).toUpperCase())
})

// takes the job and never answers until aborted
const silentExecutor = functionExecutor(async (_input, { signal }) => new Promise((_resolve, reject) => {
  signal.addEventListener('abort', () => { reject(signal.reason) })
}))

describe('work protocol over TCP', function () {
  this.timeout(30_000)
  const { node, routedNode } = suiteNodes()

  /** A requester whose key the test holds (to sign by hand), connected to `provider`. */
  async function keyedRequester (provider: WorkNode): Promise<{ requester: WorkNode, requesterKey: PrivateKey }> {
    const requesterKey = await generateKeyPair('Ed25519')
    const requester = await node({}, requesterKey)
    await connect(requester, provider)
    return { requester, requesterKey }
  }

  /** The requester's own assignment of `input` under `provider`'s quote for SPEC, signed by hand and not yet sent. */
  async function handAssignment (requester: WorkNode, requesterKey: PrivateKey, provider: WorkNode, input: string): Promise<SignedRecord<Assignment>> {
    const job = await requester.services.work.createJob(SPEC)
    const quote = await requester.services.work.requestQuote(provider.peerId, job)
    return assignmentOf(quote, requesterKey, enc(input), Date.now())
  }

  it('runs the full lifecycle in direct mode: quote, assign, progress, result, countersigned receipt, voucher, both stores', async () => {
    const providerStore = await createReceiptStore({ datastore: new MemoryDatastore() })
    const requesterStore = await createReceiptStore({ datastore: new MemoryDatastore() })
    const provider = await node({ price: PRICE, executor: upper, receipts: providerStore })
    const requester = await node({ receipts: requesterStore })
    await connect(requester, provider)

    const progress: WorkProgress[] = []
    const outcome = await requester.services.work.run(provider.peerId, SPEC, enc('hello'), { onProgress: p => progress.push(p) })

    assert.equal(dec(outcome.output), 'HELLO')
    assert.equal(outcome.acknowledged, true)
    assert.ok(outcome.provider.equals(provider.peerId))
    assert.equal(progress.length, 1)
    assert.equal(progress[0].message, 'half way')

    const verified = await openCountersigned(WorkReceiptType, outcome.receipt.bytes)
    assert.ok(verified.countersigner.equals(requester.peerId))
    assert.ok(verified.record.signer.equals(provider.peerId))
    assert.deepEqual(verified.record.value.resultHash, sha256(enc('HELLO')))
    assert.equal(verified.record.value.units, 1)
    assert.equal(verified.record.value.total, 20)
    assert.deepEqual(verified.record.value.assignmentId, outcome.assignment.id)

    // both sides hold the countersigned copy
    const onProvider = await providerStore.get(outcome.receipt.id)
    const onRequester = await requesterStore.get(outcome.receipt.id)
    assert.equal(onProvider.state, 'countersigned')
    assert.equal(onRequester.state, 'countersigned')
    assert.equal(provider.services.work.pendingReceipts().length, 0)

    // the voucher paid the receipt in full
    assert.ok(outcome.voucher != null)
    assert.equal(outcome.voucher.value.cumulative, 20)
    assert.equal(provider.services.work.book.paid(requester.peerId), 20)
    assert.equal(provider.services.work.book.unpaid(requester.peerId, 'USDC'), 0)
    await providerStore.stop()
    await requesterStore.stop()
  })

  it('runs a job in open-market mode: quote pushed on announcement, then assigned', async () => {
    const provider = await node({ price: PRICE, executor: upper })
    const requester = await node()
    await connect(requester, provider)

    const job = await requester.services.work.createJob(SPEC)
    const received = new Promise<SignedRecord<Quote>>(resolve => {
      requester.services.work.addEventListener('quote:received', e => { resolve(e.detail) }, { once: true })
    })
    // what a node wires to the job board's job:announced event
    const sent = await provider.services.work.onJobAnnounced(job.bytes)
    assert.ok(sent != null)
    const quote = await received
    assert.deepEqual(quote.id, sent.id)
    assert.equal(requester.services.work.offersFor(job.value.jobId).length, 1)

    const outcome = await requester.services.work.assign(quote, enc('market'))
    assert.equal(dec(outcome.output), 'MARKET')
    assert.equal(outcome.acknowledged, true)
  })

  /** A requester connected to a provider of `init`, a job of its own the provider quoted as if it saw it on the board, and every quote the provider issued. */
  async function offeredJob (init: WorkInit): Promise<{ provider: WorkNode, requester: WorkNode, job: SignedRecord<JobAnnouncement>, offered: SignedRecord<Quote>, issued: Array<SignedRecord<Quote>> }> {
    const provider = await node(init)
    const requester = await node()
    await connect(requester, provider)
    const issued: Array<SignedRecord<Quote>> = []
    provider.services.work.addEventListener('quote:issued', e => { issued.push(e.detail) })
    const job = await requester.services.work.createJob(SPEC)
    const received = new Promise<SignedRecord<Quote>>(resolve => {
      requester.services.work.addEventListener('quote:received', e => { resolve(e.detail) }, { once: true })
    })
    const offered = await provider.services.work.onJobAnnounced(job.bytes)
    assert.ok(offered != null)
    await received
    return { provider, requester, job, offered, issued }
  }

  it('runs a job with the quote its provider offered in the open market, asking for none', async () => {
    const { provider, requester, job, offered, issued } = await offeredJob({ price: PRICE, executor: upper })
    const outcome = await requester.services.work.run(provider.peerId, job, enc('market'))
    assert.equal(dec(outcome.output), 'MARKET')
    assert.equal(outcome.acknowledged, true)
    assert.equal(issued.length, 1, 'no quote request: the offered quote is the only one issued')
    assert.deepEqual(outcome.quote.id, offered.id)
    const assigned = await openRecord(QuoteType, outcome.assignment.value.quote)
    assert.deepEqual(assigned.id, offered.id, 'the assignment carries the offered quote')
  })

  it('asks for a fresh quote when the one offered in the open market expires within 2 s', async () => {
    const { provider, requester, job, offered, issued } = await offeredJob({ price: PRICE, executor: upper, quoteTtlMs: 1_500 })
    const outcome = await requester.services.work.run(provider.peerId, job, enc('market'))
    assert.equal(dec(outcome.output), 'MARKET')
    assert.equal(issued.length, 2, 'a quote request followed the offer')
    assert.notDeepEqual(outcome.quote.id, offered.id)
    assert.deepEqual(outcome.quote.id, issued[1].id)
    const assigned = await openRecord(QuoteType, outcome.assignment.value.quote)
    assert.deepEqual(assigned.id, issued[1].id, 'the assignment carries the fresh quote')
  })

  it('runs a job again after a failed run on the provider that offered a quote: a fresh quote, not the failed assignment replayed', async () => {
    let calls = 0
    const flaky = functionExecutor(input => {
      if (calls++ === 0) throw new Error('out of memory')
      return enc(dec(input).toUpperCase())
    })
    const { provider, requester, job, offered, issued } = await offeredJob({ price: PRICE, executor: flaky })
    const failed = requester.services.work.run(provider.peerId, job, enc('again'))
    await assert.rejects(failed, { name: 'ExecutorError' })
    const outcome = await requester.services.work.run(provider.peerId, job, enc('again'))
    assert.equal(dec(outcome.output), 'AGAIN', 'run again, not the failed assignment replayed')
    assert.equal(calls, 2)
    assert.equal(issued.length, 2)
    assert.notDeepEqual(outcome.quote.id, offered.id)
  })

  it('returns a large output by location and hash; the requester fetches and checks it before countersigning', async () => {
    const big = new Uint8Array(100_000).fill(9)
    const provider = await node({
      price: PRICE,
      executor: functionExecutor(() => ({ output: new Uint8Array(), location: 'https://example.org/out/1', outputHash: sha256(big), status: 0 }))
    })
    const requester = await node()
    await connect(requester, provider)
    const fetched: string[] = []
    const outcome = await requester.services.work.run(provider.peerId, SPEC, enc('x'), {
      fetchOutput: async (location) => { fetched.push(location); return big }
    })
    assert.deepEqual(fetched, ['https://example.org/out/1'])
    assert.equal(outcome.output.byteLength, 100_000)
    assert.equal(outcome.acknowledged, true)
    // a fetched output that does not match is refused like an inline one
    await assert.rejects(requester.services.work.run(provider.peerId, SPEC, enc('y'), {
      fetchOutput: async () => new Uint8Array(10)
    }), { name: 'ResultHashMismatchError' })
  })

  it('reuses idle streams, and retries on a fresh one when the provider dropped the idle stream', async () => {
    // the provider drops streams idle for 300 ms; the requester would reuse them for 5 s
    const provider = await node({ price: PRICE, executor: upper, stepTimeoutMs: 300 })
    const requester = await node()
    await connect(requester, provider)
    await requester.services.work.run(provider.peerId, SPEC, enc('one'))
    await requester.services.work.run(provider.peerId, SPEC, enc('two'))
    const streams = (): number => requester.getConnections(provider.peerId).flatMap(c => c.streams).filter(s => s.protocol === '/shoal/work/1.0.0').length
    assert.equal(streams(), 1)
    await new Promise(resolve => setTimeout(resolve, 800))
    let retries = 0
    requester.services.work.addEventListener('stream:retried', () => { retries++ })
    // the provider closed the idle stream and the requester saw it: a new stream, no retry needed
    const outcome = await requester.services.work.run(provider.peerId, SPEC, enc('three'))
    assert.equal(dec(outcome.output), 'THREE')
    assert.equal(outcome.acknowledged, true)
    assert.equal(retries, 0)

    // now the provider drops the pooled stream as the next exchange reaches it: that
    // stream looked usable when it was taken, so only the retry on a fresh one can save the job
    const inbound = provider.getConnections(requester.peerId).flatMap(c => c.streams).filter(s => s.protocol === '/shoal/work/1.0.0')
    assert.equal(inbound.length, 1)
    inbound[0].addEventListener('message', () => { inbound[0].abort(new Error('provider dropped the stream')) }, { once: true })
    const retried = await requester.services.work.run(provider.peerId, SPEC, enc('four'))
    assert.equal(dec(retried.output), 'FOUR')
    assert.equal(retried.acknowledged, true)
    assert.equal(retries, 1)
    assert.equal(provider.services.work.book.owed(requester.peerId), 4 * PRICE.perUnit)
  })

  it('ends a work stream its peer leaves idle, even one the peer never closes, but not while a job of it runs', async () => {
    const provider = await node({ price: PRICE, stepTimeoutMs: 300, executor: functionExecutor(async input => { await new Promise(resolve => setTimeout(resolve, 900)); return input }) })
    const { requester, requesterKey } = await keyedRequester(provider)
    const assignment = await handAssignment(requester, requesterKey, provider, 'slow')
    const raw = await rawStream(requester, provider)
    const closed = new Promise(resolve => { raw.stream.addEventListener('close', resolve, { once: true }) })
    // the job takes three step timeouts: the stream stays while it runs
    await raw.send({ kind: 'assign', body: { assignment: assignment.bytes, input: enc('slow') } })
    let frame = await raw.read()
    while (frame.kind === 'progress') frame = await raw.read()
    assert.equal(frame.kind, 'result')
    // then this peer goes quiet and never closes its end: the provider ends the stream all the same
    await closed
    assert.notEqual(raw.stream.status, 'open')
  })

  it('lists the jobs it runs, by assignment, with the requester and the latest progress', async () => {
    let release: () => void = () => {}
    const released = new Promise<void>(resolve => { release = resolve })
    const slow = functionExecutor(async (input, { onProgress }) => {
      onProgress({ permille: 250, message: 'a quarter' })
      await released
      return input
    })
    const provider = await node({ price: PRICE, executor: slow })
    const requester = await node()
    await connect(requester, provider)
    assert.deepEqual(provider.services.work.runningJobs(), [])
    // the executor starts once the admitted job is saved: its first progress says it runs
    const started = new Promise(resolve => { provider.services.work.addEventListener('job:progress', resolve, { once: true }) })
    const running = requester.services.work.run(provider.peerId, SPEC, enc('x'))
    await started
    const jobs = provider.services.work.runningJobs()
    assert.equal(jobs.length, 1)
    assert.ok(jobs[0].peer.equals(requester.peerId))
    assert.equal(jobs[0].progress?.message, 'a quarter')
    assert.equal(jobs[0].progress?.permille, 250)
    assert.ok(jobs[0].started > 0)
    release()
    const outcome = await running
    assert.deepEqual(jobs[0].assignmentId, outcome.assignment.id)
    assert.deepEqual(jobs[0].jobId, outcome.receipt.record.value.jobId)
    assert.deepEqual(jobs[0].quoteId, outcome.quote.id)
    assert.deepEqual(provider.services.work.runningJobs(), [])
  })

  it('limits quote requests per peer (QuoteRateLimitedError), other peers unaffected', async () => {
    let clock = Date.now()
    const now = (): number => clock
    const provider = await node({ price: PRICE, executor: upper, quoteBurst: 2, quoteRate: 1, now })
    const greedy = await node({ now })
    const other = await node({ now })
    await connect(greedy, provider)
    await connect(other, provider)
    const ask = async (from: WorkNode): Promise<SignedRecord<Quote>> => from.services.work.requestQuote(provider.peerId, await from.services.work.createJob(SPEC))
    await ask(greedy)
    await ask(greedy)
    await assert.rejects(ask(greedy), { name: 'QuoteRateLimitedError' })
    await ask(other)
    // one token back per second
    clock += 1000
    await ask(greedy)
    await assert.rejects(ask(greedy), { name: 'QuoteRateLimitedError' })
  })

  it('declines a job the bid policy does not match, with QuoteDeclinedError', async () => {
    const provider = await node({ price: { perUnit: 30, currency: 'USDC', unit: 'job' }, executor: upper })
    const requester = await node()
    await connect(requester, provider)
    await assert.rejects(requester.services.work.run(provider.peerId, SPEC, enc('x')), { name: 'QuoteDeclinedError' })
  })

  it('answers a resent assignment with the same receipt and never runs or charges twice', async () => {
    let runs = 0
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    const provider = await node({
      price: PRICE,
      executor: functionExecutor(async (input) => { runs++; await gate; return input })
    })
    const requester = await node()
    await connect(requester, provider)

    const job = await requester.services.work.createJob(SPEC)
    const quote = await requester.services.work.requestQuote(provider.peerId, job)
    // the second send arrives while the job runs (a reconnect), the third after it finished
    const first = requester.services.work.assign(quote, enc('once'))
    const second = requester.services.work.assign(quote, enc('once'))
    await new Promise(resolve => setTimeout(resolve, 200))
    release()
    const [a, b] = await Promise.all([first, second])
    const c = await requester.services.work.assign(quote, enc('once'))

    assert.equal(runs, 1)
    assert.deepEqual(a.receipt.id, b.receipt.id)
    assert.deepEqual(a.receipt.id, c.receipt.id)
    assert.deepEqual(a.receipt.bytes, c.receipt.bytes)
    assert.equal(provider.services.work.book.owed(requester.peerId), 20)
    // and the requester paid once
    assert.equal(provider.services.work.book.paid(requester.peerId), 20)
    assert.equal(c.voucher, undefined)
  })

  it('resumes after a reconnect: the resent assignment joins the running job and gets its receipt', async () => {
    let runs = 0
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    const provider = await node({ price: PRICE, executor: functionExecutor(async (input) => { runs++; await gate; return input }) })
    const requester = await node()
    await connect(requester, provider)
    const job = await requester.services.work.createJob(SPEC)
    const quote = await requester.services.work.requestQuote(provider.peerId, job)

    // the connection drops mid-job; the requester's retry on a fresh stream (which redials) is a resend
    const first = requester.services.work.assign(quote, enc('resume')).then(o => o, (e: Error) => e)
    await new Promise(resolve => setTimeout(resolve, 100))
    await requester.hangUp(provider.peerId)
    await new Promise(resolve => setTimeout(resolve, 100))
    release()
    const firstOutcome = await first

    await connect(requester, provider)
    const outcome = await requester.services.work.assign(quote, enc('resume'))
    assert.equal(dec(outcome.output), 'resume')
    assert.equal(runs, 1)
    assert.equal(provider.services.work.book.owed(requester.peerId), 20)
    assert.equal(outcome.acknowledged, true)
    if (!(firstOutcome instanceof Error)) {
      assert.deepEqual(firstOutcome.receipt.id, outcome.receipt.id)
    }
  })

  it('runs a job again on a provider whose answer was lost by resending the same assignment, never a second one', async () => {
    let runs = 0
    const provider = await node({ price: PRICE, executor: functionExecutor(input => { runs++; return input }) })
    const requester = await node()
    await connect(requester, provider)
    // the connection drops as the job completes: the requester never hears the result
    provider.services.work.addEventListener('job:completed', () => { void provider.hangUp(requester.peerId) }, { once: true })
    const job = await requester.services.work.createJob(SPEC)
    const lost = await requester.services.work.run(provider.peerId, job, enc('once')).then(() => undefined, (err: Error) => err)
    assert.ok(lost instanceof Error)
    await connect(requester, provider)
    const outcome = await requester.services.work.run(provider.peerId, job, enc('once'))
    assert.equal(runs, 1)
    assert.equal(dec(outcome.output), 'once')
    assert.equal(provider.services.work.book.owed(requester.peerId), PRICE.perUnit)
  })

  it('reports an executor failure as ExecutorError and issues no receipt', async () => {
    const store = new ArraySink()
    const provider = await node({ price: PRICE, receipts: store, executor: functionExecutor(() => { throw new Error('out of memory') }) })
    const requester = await node()
    await connect(requester, provider)
    const reported: Array<string | undefined> = []
    await assert.rejects(requester.services.work.run(provider.peerId, SPEC, enc('x'), { onAttempt: attempt => { reported.push(attempt.error?.name) } }), { name: 'ExecutorError' })
    assert.deepEqual(reported, ['ExecutorError'], 'a lone candidate\'s failed attempt is reported too')
    assert.equal(store.items.length, 0)
    assert.equal(provider.services.work.book.owed(requester.peerId), 0)
  })

  it('refuses an input that does not match the assignment (InputMismatchError) without running', async () => {
    let runs = 0
    const provider = await node({ price: PRICE, executor: functionExecutor(input => { runs++; return input }) })
    const { requester, requesterKey } = await keyedRequester(provider)
    const assignment = await handAssignment(requester, requesterKey, provider, 'agreed')
    const raw = await rawStream(requester, provider)
    await raw.send({ kind: 'assign', body: { assignment: assignment.bytes, input: enc('swapped') } })
    const frame = await raw.read()
    assert.equal(frame.kind, 'error')
    assert.equal(frame.body.code, 'input-mismatch')
    assert.equal(runs, 0)
  })

  it('drops a malformed message with bad-message and keeps serving', async () => {
    const provider = await node({ price: PRICE, executor: upper })
    const requester = await node()
    await connect(requester, provider)
    const raw = await rawStream(requester, provider)
    await raw.lp.write(new Uint8Array([0xff, 0xff, 0xff]))
    const frame = await raw.read()
    assert.equal(frame.kind, 'error')
    assert.equal(frame.body.code, 'bad-message')
    const outcome = await requester.services.work.run(provider.peerId, SPEC, enc('still here'))
    assert.equal(dec(outcome.output), 'STILL HERE')
  })

  describe('replayed and reused assignments', () => {
    let requesterKey: PrivateKey
    let provider: WorkNode
    let requester: WorkNode
    let quote: SignedRecord<Quote>
    let assignmentBytes: Uint8Array

    beforeEach(async () => {
      requesterKey = await generateKeyPair('Ed25519')
      provider = await node({ price: PRICE, executor: upper, maxJobs: 1 })
      requester = await node({}, requesterKey)
      await connect(requester, provider)
      const job = await requester.services.work.createJob(SPEC)
      quote = await requester.services.work.requestQuote(provider.peerId, job)
      const outcome = await requester.services.work.assign(quote, enc('a'))
      assignmentBytes = outcome.assignment.bytes
    })

    it('returns the stored result to the same requester replaying the same assignment', async () => {
      const raw = await rawStream(requester, provider)
      await raw.send({ kind: 'assign', body: { assignment: assignmentBytes, input: enc('a') } })
      const frame = await raw.read()
      assert.equal(frame.kind, 'result')
      assert.equal(dec(frame.body.output), 'A')
      assert.equal(provider.services.work.book.owed(requester.peerId), 20)
    })

    it('refuses the assignment replayed by a third peer (WrongPeerError)', async () => {
      const thief = await node()
      await connect(thief, provider)
      const raw = await rawStream(thief, provider)
      await raw.send({ kind: 'assign', body: { assignment: assignmentBytes, input: enc('a') } })
      const frame = await raw.read()
      assert.equal(frame.kind, 'error')
      assert.equal(frame.body.code, 'wrong-peer')
    })

    /** Signs another assignment of the same quote, with `input`, sends it and returns the provider's answer. */
    async function assignQuoteAgain (input: string): Promise<WorkFrame> {
      const again = await assignmentOf(quote, requesterKey, enc(input), Date.now())
      const raw = await rawStream(requester, provider)
      await raw.send({ kind: 'assign', body: { assignment: again.bytes, input: enc(input) } })
      return raw.read()
    }

    it('refuses a second assignment of the same quote (QuoteReusedError)', async () => {
      const frame = await assignQuoteAgain('b')
      assert.equal(frame.kind, 'error')
      assert.equal(frame.body.code, 'quote-reused')
    })

    it('refuses a second assignment of the same quote after the first job was evicted (QuoteReusedError)', async () => {
      // a second job evicts the first (maxJobs: 1)
      await requester.services.work.run(provider.peerId, SPEC, enc('b'))
      const owed = provider.services.work.book.owed(requester.peerId)
      const frame = await assignQuoteAgain('c')
      assert.equal(frame.kind, 'error')
      assert.equal(frame.body.code, 'quote-reused')
      assert.equal(provider.services.work.book.owed(requester.peerId), owed)
    })

    it('refuses a replay after the job was evicted (AssignmentReplayedError), without running it', async () => {
      // a second job evicts the first (maxJobs: 1)
      await requester.services.work.run(provider.peerId, SPEC, enc('b'))
      const owed = provider.services.work.book.owed(requester.peerId)
      const raw = await rawStream(requester, provider)
      await raw.send({ kind: 'assign', body: { assignment: assignmentBytes, input: enc('a') } })
      const frame = await raw.read()
      assert.equal(frame.kind, 'error')
      assert.equal(frame.body.code, 'assignment-replayed')
      assert.equal(provider.services.work.book.owed(requester.peerId), owed)
    })
  })

  it('keeps what a requester paid and owes across restarts of both peers (LevelDB on disk)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-work-ledger-'))
    const providerKey = await generateKeyPair('Ed25519')
    const requesterKey = await generateKeyPair('Ed25519')
    const stores: LevelDatastore[] = []
    const start = async (): Promise<{ provider: WorkNode, requester: WorkNode }> => {
      const [p, r] = [new LevelDatastore(join(dir, 'provider')), new LevelDatastore(join(dir, 'requester'))]
      await Promise.all([p.open(), r.open()])
      stores.push(p, r)
      const provider = await node({ price: PRICE, executor: upper }, providerKey, p)
      const requester = await node({}, requesterKey, r)
      await connect(requester, provider)
      return { provider, requester }
    }
    const stop = async (...peers: WorkNode[]): Promise<void> => {
      await Promise.all(peers.map(async peer => peer.stop()))
      await Promise.all(stores.splice(0).map(async store => store.close()))
    }
    try {
      let { provider, requester } = await start()
      await requester.services.work.run(provider.peerId, SPEC, enc('one'))
      await requester.services.work.run(provider.peerId, SPEC, enc('two'))
      const book = provider.services.work.book
      const paid = book.paid(requester.peerId, PRICE.currency)
      const owed = book.owed(requester.peerId, PRICE.currency)
      assert.ok(paid > 0)
      assert.equal(paid, owed)
      const [lane] = book.lanes(requester.peerId)
      await stop(provider, requester);

      ({ provider, requester } = await start())
      // the provider still holds the latest voucher and the charges
      const restored = provider.services.work.book
      assert.equal(restored.paid(requester.peerId, PRICE.currency), paid)
      assert.equal(restored.owed(requester.peerId, PRICE.currency), owed)
      assert.deepEqual(restored.lanes(requester.peerId)[0].voucher, lane.voucher)
      // the requester goes on paying on its old lane: accepted, no new lane opened
      const outcome = await requester.services.work.run(provider.peerId, SPEC, enc('three'))
      assert.equal(outcome.acknowledged, true)
      const lanes = restored.lanes(requester.peerId)
      assert.equal(lanes.length, 1)
      assert.deepEqual(lanes[0].lane, lane.lane)
      assert.ok(lanes[0].nonce > lane.nonce)
      assert.equal(restored.paid(requester.peerId, PRICE.currency), restored.owed(requester.peerId, PRICE.currency))
      assert.equal(restored.owed(requester.peerId, PRICE.currency), owed * 3 / 2)
      await stop(provider, requester)
    } finally {
      await Promise.all(stores.map(async store => store.close().catch(() => {})))
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('still accepts an assignment of a quote its record of issued quotes has let go (checked in full)', async () => {
    // maxJobs 1: the provider keeps its 4 newest quotes, each prune stopping at the first one it keeps
    const provider = await node({ price: PRICE, executor: upper, maxJobs: 1 })
    const requester = await node()
    await connect(requester, provider)
    const job = await requester.services.work.createJob(SPEC)
    const quotes: Array<SignedRecord<Quote>> = []
    for (let i = 0; i < 7; i++) {
      quotes.push(await requester.services.work.requestQuote(provider.peerId, job))
    }
    const oldest = await requester.services.work.assign(quotes[0], enc('first'))
    assert.equal(dec(oldest.output), 'FIRST')
    const newest = await requester.services.work.assign(quotes[6], enc('last'))
    assert.equal(dec(newest.output), 'LAST')
    assert.equal(newest.acknowledged, true)
  })

  it('remembers used quotes until they expire, and refuses work rather than forget an unexpired one (ProviderBusyError)', async () => {
    let clock = Date.now()
    const now = (): number => clock
    const provider = await node({ price: PRICE, executor: upper, maxUsedQuotes: 1, quoteTtlMs: 1000, assignmentTtlMs: 1000, now })
    const requester = await node({ now, assignmentTtlMs: 1000 })
    await connect(requester, provider)
    await requester.services.work.run(provider.peerId, SPEC, enc('one'))
    await assert.rejects(requester.services.work.run(provider.peerId, SPEC, enc('two')), { name: 'ProviderBusyError' })
    // the first quote can no longer be assigned: its record may go
    clock += 2500
    const outcome = await requester.services.work.run(provider.peerId, SPEC, enc('three'))
    assert.equal(dec(outcome.output), 'THREE')
  })

  it('fails over to a second provider when the first goes silent mid-job', async () => {
    const silent = await node({ price: PRICE, executor: silentExecutor })
    const good = await node({ price: PRICE, executor: upper })
    const requester = await node()
    await connect(requester, silent)
    await connect(requester, good)

    // each attempt is reported as it ends, before run() settles
    let settled = false
    const reported: Array<{ peer: string, ok: boolean, settled: boolean }> = []
    const running = requester.services.work.run([silent.peerId, good.peerId], SPEC, enc('fail over'), {
      attemptTimeoutMs: 1000,
      timeoutMs: 20_000,
      onAttempt: attempt => { reported.push({ peer: attempt.candidate.toString(), ok: attempt.ok, settled }) }
    })
    const outcome = await running.finally(() => { settled = true })
    assert.equal(dec(outcome.output), 'FAIL OVER')
    assert.ok(outcome.provider.equals(good.peerId))
    assert.equal(outcome.attempts.length, 2)
    assert.equal(outcome.attempts[0].ok, false)
    assert.ok(outcome.attempts[0].candidate.equals(silent.peerId))
    assert.equal(outcome.attempts[1].ok, true)
    assert.deepEqual(reported, [
      { peer: silent.peerId.toString(), ok: false, settled: false },
      { peer: good.peerId.toString(), ok: true, settled: false }
    ])
  })

  it('declines a requester that leaves maxUnpaidJobs receipts uncountersigned (UnpaidReceiptsError), serves an honest one meanwhile, and the free rider again once it countersigns', async () => {
    const provider = await node({ price: PRICE, executor: upper, maxUnpaidJobs: 2, stepTimeoutMs: 500 })
    const { requester: rider, requesterKey } = await keyedRequester(provider)
    const honest = await node()
    await connect(honest, provider)
    // the free rider plays the protocol by hand: it takes each result and never countersigns
    const receipts: Array<SignedRecord<WorkReceipt>> = []
    for (const input of ['one', 'two']) {
      const assignment = await handAssignment(rider, requesterKey, provider, input)
      const raw = await rawStream(rider, provider)
      await raw.send({ kind: 'assign', body: { assignment: assignment.bytes, input: enc(input) } })
      let frame = await raw.read()
      while (frame.kind === 'progress') frame = await raw.read()
      assert.equal(frame.kind, 'result')
      receipts.push(await openRecord(WorkReceiptType, frame.body.receipt))
      await raw.stream.close()
    }
    // a quote it holds from before it reached the limit
    const held = await handAssignment(rider, requesterKey, provider, 'three')
    // receipts count once they are older than two step timeouts: a countersignature may be on its way until then
    await new Promise(resolve => setTimeout(resolve, 1100))
    await assert.rejects(rider.services.work.requestQuote(provider.peerId, await rider.services.work.createJob(SPEC)), { name: 'UnpaidReceiptsError' })
    const raw = await rawStream(rider, provider)
    await raw.send({ kind: 'assign', body: { assignment: held.bytes, input: enc('three') } })
    const refused = await raw.read()
    assert.equal(refused.kind === 'error' ? refused.body.code : refused.kind, 'unpaid')

    // the honest requester on the same provider is unaffected
    const outcome = await honest.services.work.run(provider.peerId, SPEC, enc('honest'))
    assert.equal(dec(outcome.output), 'HONEST')

    // once the rider countersigns, it is served again
    await rider.services.work.resendCountersign(provider.peerId, await countersign(receipts[0], requesterKey))
    const again = await rider.services.work.run(provider.peerId, SPEC, enc('paid up'))
    assert.equal(dec(again.output), 'PAID UP')
  })

  it('reports a provider that quotes 100 ms and takes far longer to the router as late, until the router refuses it and picks an honest slower-quoting one', async () => {
    const quick = (etaMs: number): BidPolicy => ({ bid: () => ({ price: PRICE, estUnits: 1, etaMs }) })
    const slowExecutor = functionExecutor(async input => { await new Promise(resolve => setTimeout(resolve, 3000)); return input })
    const slow = await node({ bidPolicy: quick(100), executor: slowExecutor })
    const honest = await node({ bidPolicy: quick(5000), executor: upper })
    const requester = await routedNode()
    await connect(requester, slow)
    await connect(requester, honest)
    const router = requester.services.router
    const penalties: string[] = []
    router.addEventListener('peer:penalized', evt => { penalties.push(`${evt.detail.peerId.toString()} ${evt.detail.event}`) })

    await requester.services.work.run(honest.peerId, SPEC, enc('on time'))
    for (let i = 0; i < 4; i++) {
      // every run succeeds: the work is done, only far later than promised
      await requester.services.work.run(slow.peerId, SPEC, enc(`late ${i}`))
    }
    assert.deepEqual(penalties, new Array(4).fill(`${slow.peerId.toString()} late`))
    const decision = await router.choose([{ peerId: slow.peerId }, { peerId: honest.peerId }], { computeTime: 100 }, { probes: 0 })
    assert.deepEqual(decision.choices.map(c => c.peerId.toString()), [honest.peerId.toString()])
    assert.match(decision.rejected[0].reason, /untrusted/)
  })

  it('fails over through the node\'s router, so a provider that claimed free slots and then went silent loses trust for it', async () => {
    const silent = await routedNode({ price: PRICE, executor: silentExecutor }, { load: () => ({ freeSlots: 2, concurrency: 2 }) })
    const good = await node({ price: PRICE, executor: upper })
    const requester = await routedNode()
    await connect(requester, silent)
    await connect(requester, good)
    // the router hears silent claim free slots
    await requester.services.router.probe(silent.peerId, { load: true })
    const penalties: string[] = []
    requester.services.router.addEventListener('peer:penalized', evt => { penalties.push(`${evt.detail.peerId.toString()} ${evt.detail.event}`) })
    const trustBefore = requester.services.router.trust.get(good.peerId.toString())

    const reported: string[] = []
    const outcome = await requester.services.work.run([silent.peerId, good.peerId], SPEC, enc('routed'), {
      attemptTimeoutMs: 1000,
      timeoutMs: 20_000,
      onAttempt: attempt => { reported.push(`${attempt.candidate.toString()} ${attempt.ok}`) }
    })
    assert.equal(dec(outcome.output), 'ROUTED')
    assert.deepEqual(reported, [`${silent.peerId.toString()} false`, `${good.peerId.toString()} true`], 'attempts reported with the peer, not the router\'s choice')
    assert.ok(outcome.attempts[0].candidate.equals(silent.peerId))
    assert.ok(outcome.attempts[1].candidate.equals(good.peerId))
    assert.deepEqual(penalties, [`${silent.peerId.toString()} refused-with-free-slots`])
    assert.ok(requester.services.router.trust.get(good.peerId.toString()) >= trustBefore)
  })

  it('fails over through the node\'s router, and a provider that took the job and ran out of time while reporting progress is slow, not a liar', async () => {
    const slow = await routedNode({ price: { perUnit: 1, currency: 'USDC', unit: 'gpu-second' }, executor: silentExecutor, meterIntervalMs: 50 }, { load: () => ({ freeSlots: 2, concurrency: 2 }) })
    const good = await node({ price: { perUnit: 1, currency: 'USDC', unit: 'gpu-second' }, executor: upper })
    const requester = await routedNode()
    await connect(requester, slow)
    await connect(requester, good)
    await requester.services.router.probe(slow.peerId, { load: true })
    const penalties: string[] = []
    requester.services.router.addEventListener('peer:penalized', evt => { penalties.push(`${evt.detail.peerId.toString()} ${evt.detail.event}`) })
    const spec = { ...SPEC, priceCeiling: { perUnit: 1, currency: 'USDC', unit: 'gpu-second' }, budget: 1000 }

    const outcome = await requester.services.work.run([slow.peerId, good.peerId], spec, enc('slow'), { attemptTimeoutMs: 1000, timeoutMs: 20_000 })
    assert.equal(dec(outcome.output), 'SLOW')
    assert.ok(outcome.provider.equals(good.peerId))
    assert.deepEqual(penalties, [`${slow.peerId.toString()} timeout`])
  })

  describe('a misbehaving provider', () => {
    let providerKey: PrivateKey
    let provider: WorkNode
    let requester: WorkNode
    let failures: string[]

    /** A provider that quotes honestly, then answers the assignment with `result(assignment)`. */
    async function script (result: (assignment: SignedRecord<Assignment>, quote: SignedRecord<Quote>) => Promise<{ receipt: Uint8Array, output: Uint8Array }>): Promise<void> {
      await scriptProvider(provider, async (peer) => {
        const request = await peer.read()
        assert.equal(request.kind, 'quoteRequest')
        const job = request.body.job.byteLength > 0
          ? (await openRecord(JobAnnouncementType, request.body.job)).value
          : JobAnnouncementType.codec.decode(request.body.inlineJob)
        const now = Date.now()
        const quote = await signRecord(QuoteType, {
          version: RECORD_VERSION, jobId: job.jobId, requester: job.requester, provider: provider.peerId.toMultihash().bytes,
          price: PRICE, estUnits: 1, etaMs: 10, freeSlots: 1, createdMs: now, expiresMs: now + 60_000, nonce: newRandomId()
        }, providerKey)
        await peer.send({ kind: 'quote', body: { quote: quote.bytes } })
        const assign = await peer.read()
        assert.equal(assign.kind, 'assign')
        const { assignment } = await openAssignment(assign.body.assignment)
        await peer.send({ kind: 'result', body: { ...(await result(assignment, quote)), location: '' } })
        const next = await peer.read()
        if (next.kind === 'error') {
          failures.push(next.body.code)
        }
      })
    }

    async function receipt (signer: PrivateKey, assignment: SignedRecord<Assignment>, output: Uint8Array): Promise<SignedRecord<WorkReceipt>> {
      const now = Date.now()
      return signRecord(WorkReceiptType, {
        version: RECORD_VERSION, jobId: assignment.value.jobId, assignmentId: assignment.id,
        requester: assignment.value.requester, provider: peerIdFromPrivateKey(signer).toMultihash().bytes,
        units: 1, price: PRICE, total: 20, resultHash: sha256(output), startedMs: now - 5, endedMs: now, status: 0, prev: new Uint8Array()
      }, signer)
    }

    beforeEach(async () => {
      providerKey = await generateKeyPair('Ed25519')
      provider = await node({}, providerKey)
      requester = await node()
      failures = []
      await connect(requester, provider)
    })

    it('is refused when its output does not match the receipt hash (ResultHashMismatchError), and told so', async () => {
      await script(async (assignment) => ({ receipt: (await receipt(providerKey, assignment, enc('honest'))).bytes, output: enc('tampered') }))
      await assert.rejects(requester.services.work.run(provider.peerId, SPEC, enc('x')), { name: 'ResultHashMismatchError' })
      await new Promise(resolve => setTimeout(resolve, 100))
      assert.deepEqual(failures, ['result-hash-mismatch'])
    })

    it('is refused when its receipt is signed by another key (InvalidReceiptError)', async () => {
      const other = await generateKeyPair('Ed25519')
      await script(async (assignment) => ({ receipt: (await receipt(other, assignment, enc('out'))).bytes, output: enc('out') }))
      await assert.rejects(requester.services.work.run(provider.peerId, SPEC, enc('x')), { name: 'InvalidReceiptError' })
    })

    it('is refused when its receipt signature is forged (InvalidReceiptError caused by InvalidSignatureError)', async () => {
      await script(async (assignment) => {
        const bytes = (await receipt(providerKey, assignment, enc('out'))).bytes.slice()
        bytes[bytes.length - 1] ^= 1
        return { receipt: bytes, output: enc('out') }
      })
      await assert.rejects(requester.services.work.run(provider.peerId, SPEC, enc('x')), (err: Error) => {
        assert.equal(err.name, 'InvalidReceiptError')
        assert.equal(err.cause instanceof Error ? err.cause.name : err.cause, 'InvalidSignatureError')
        return true
      })
    })
  })

  describe('a requester that does not countersign', () => {
    it('leaves the provider a pending one-sided receipt, refuses a one-sided or forged countersignature, and accepts a late valid one', async () => {
      const store = new ArraySink()
      const provider = await node({ price: PRICE, executor: upper, receipts: store })
      const { requester, requesterKey } = await keyedRequester(provider)
      const assignment = await handAssignment(requester, requesterKey, provider, 'q')

      const raw = await rawStream(requester, provider)
      await raw.send({ kind: 'assign', body: { assignment: assignment.bytes, input: enc('q') } })
      let frame = await raw.read()
      while (frame.kind === 'progress') {
        frame = await raw.read()
      }
      assert.equal(frame.kind, 'result')
      const providerReceipt = frame.body.receipt

      // the provider holds the receipt as pending, with the signed assignment as evidence
      const pending = provider.services.work.pendingReceipts()
      assert.equal(pending.length, 1)
      assert.deepEqual(new Uint8Array(pending[0].assignment), new Uint8Array(assignment.bytes))
      assert.deepEqual(new Uint8Array(pending[0].receipt.bytes), new Uint8Array(providerReceipt))
      assert.equal(store.pending.length, 1)

      // one-sided: the provider's own envelope sent back as if countersigned
      await raw.send({ kind: 'countersign', body: { receipt: providerReceipt, voucher: new Uint8Array() } })
      frame = await raw.read()
      assert.equal(frame.kind, 'error')
      assert.equal(frame.body.code, 'bad-countersignature')

      // countersigned by a peer the receipt does not name
      const opened = await openRecord(WorkReceiptType, providerReceipt)
      const stranger = await generateKeyPair('Ed25519')
      await assert.rejects(countersign(opened, stranger), { name: 'WrongSignerError' })

      assert.equal(provider.services.work.pendingReceipts().length, 1)
      assert.equal(store.countersigned.length, 0)

      // a late but valid countersignature settles it
      const both = await countersign(opened, requesterKey)
      await raw.send({ kind: 'countersign', body: { receipt: both.bytes, voucher: new Uint8Array() } })
      frame = await raw.read()
      assert.equal(frame.kind, 'ack')
      assert.equal(provider.services.work.pendingReceipts().length, 0)
      assert.equal(store.countersigned.length, 1)
    })

    it('refuses a countersigned wrapper whose countersignature bytes were tampered with', async () => {
      const provider = await node({ price: PRICE, executor: upper })
      const { requester } = await keyedRequester(provider)
      const outcome = await requester.services.work.run(provider.peerId, SPEC, enc('z'))
      const forged = outcome.receipt.bytes.slice()
      forged[forged.length - 1] ^= 1
      const raw = await rawStream(requester, provider)
      await raw.send({ kind: 'countersign', body: { receipt: forged, voucher: new Uint8Array() } })
      const frame = await raw.read()
      assert.equal(frame.kind, 'error')
      assert.equal(frame.body.code, 'bad-countersignature')
    })

    it('lets the requester resend a lost countersignature', async () => {
      const provider = await node({ price: PRICE, executor: upper })
      const requester = await node()
      await connect(requester, provider)
      const outcome = await requester.services.work.run(provider.peerId, SPEC, enc('again'))
      const paid = await requester.services.work.resendCountersign(provider.peerId, outcome.receipt)
      assert.equal(paid, 20)
    })
  })

  describe('vouchers', () => {
    it('rejects a reused nonce (VoucherNonceError) and a lower amount (VoucherAmountError)', async () => {
      const provider = await node({ price: PRICE, executor: upper })
      const { requester, requesterKey } = await keyedRequester(provider)
      const work = requester.services.work

      const v1 = await work.lanes.pay(provider.peerId, 100, 'USDC')
      const v2 = await work.lanes.pay(provider.peerId, 50, 'USDC')
      assert.equal(await work.sendVoucher(provider.peerId, v2), 150)
      await assert.rejects(work.sendVoucher(provider.peerId, v1), { name: 'VoucherNonceError' })
      // the same voucher again is a resend, acknowledged; another one with its nonce is not
      assert.equal(await work.sendVoucher(provider.peerId, v2), 150)
      const reused = await signRecord(PaymentVoucherType, { ...v2.value, cumulative: 170, createdMs: Date.now() }, requesterKey)
      await assert.rejects(work.sendVoucher(provider.peerId, reused), { name: 'VoucherNonceError' })

      const lower = await signRecord(PaymentVoucherType, {
        ...v2.value, nonce: 3, cumulative: 120, createdMs: Date.now()
      }, requesterKey)
      await assert.rejects(work.sendVoucher(provider.peerId, lower), { name: 'VoucherAmountError' })
      assert.equal(provider.services.work.book.paid(requester.peerId), 150)
    })

    const SECOND = { perUnit: 20, currency: 'USDC', unit: 'second' }

    /** A provider of time-metered work (metered every 100 ms) whose jobs sleep `ms`, then answer "slept". */
    async function sleepingProvider (ms: number, maxUnpaid: number): Promise<WorkNode> {
      const sleeper = functionExecutor(async () => {
        await new Promise(resolve => setTimeout(resolve, ms))
        return enc('slept')
      })
      return node({ price: SECOND, executor: sleeper, maxUnpaid, meterIntervalMs: 100 })
    }

    it('streams vouchers as time-metered units accrue, so a long job never leaves the provider owed more than maxUnpaid', async () => {
      this.timeout(30_000)
      const provider = await sleepingProvider(2200, 50)
      const requester = await node()
      await connect(requester, provider)
      let maxOwed = 0
      let paidDuringJob = 0
      provider.services.work.addEventListener('job:progress', e => {
        maxOwed = Math.max(maxOwed, provider.services.work.book.unpaid(requester.peerId, 'USDC') + e.detail.units * SECOND.perUnit)
        paidDuringJob = provider.services.work.book.paid(requester.peerId)
      })
      const outcome = await requester.services.work.run(provider.peerId, { priceCeiling: SECOND, budget: 1000 }, enc('go'))
      assert.equal(outcome.receipt.record.value.units, 3)
      assert.equal(outcome.receipt.record.value.status, 0)
      assert.ok(paidDuringJob >= 40, `paid ${paidDuringJob} while the job ran`)
      assert.equal(provider.services.work.book.paid(requester.peerId), 60)
      assert.equal(provider.services.work.book.unpaid(requester.peerId, 'USDC'), 0)
      assert.ok(maxOwed <= 50 + SECOND.perUnit, `provider was owed ${maxOwed}`)
    })

    it('streams no voucher for a capture job: its seconds are paid on the result, once its proof can be checked', async () => {
      this.timeout(30_000)
      const CAPTURE_SECOND = { perUnit: 20, currency: 'USDC', unit: 'capture-second' }
      const recorder = functionExecutor(async () => {
        await new Promise(resolve => setTimeout(resolve, 1500))
        return { output: enc('footage proof'), units: 2, status: 0 }
      })
      const provider = await node({ price: CAPTURE_SECOND, executor: recorder, maxUnpaid: 100_000, meterIntervalMs: 100 })
      const requester = await node()
      await connect(requester, provider)
      let progressReports = 0
      let paidDuringJob = 0
      provider.services.work.addEventListener('job:progress', () => {
        progressReports++
        paidDuringJob = Math.max(paidDuringJob, provider.services.work.book.paid(requester.peerId))
      })
      const outcome = await requester.services.work.run(provider.peerId, {
        kind: JobKind.CAPTURE, requirements: { sensors: ['video'] }, priceCeiling: CAPTURE_SECOND, budget: 1000
      }, enc('{"seconds":2}'))
      assert.ok(progressReports > 0, 'the provider metered the capture while it ran')
      assert.equal(paidDuringJob, 0, 'nothing was paid before the result')
      assert.equal(outcome.receipt.record.value.units, 2)
      assert.equal(provider.services.work.book.paid(requester.peerId), 40)
    })

    it('goes on with a job whose streamed vouchers the provider refuses: the refusal answers the voucher, not the job', async () => {
      this.timeout(30_000)
      const provider = await sleepingProvider(1500, 100_000)
      const { requester, requesterKey } = await keyedRequester(provider)
      // the requester's own lanes fill the provider's 16 per payer: its job's lane is a 17th, refused
      for (let i = 0; i < 16; i++) {
        const voucher = await signRecord(PaymentVoucherType, {
          version: RECORD_VERSION, lane: newRandomId(), payer: requester.peerId.toMultihash().bytes, payee: provider.peerId.toMultihash().bytes,
          nonce: 1, cumulative: 1, currency: 'USDC', jobId: new Uint8Array(), createdMs: Date.now()
        }, requesterKey)
        await requester.services.work.sendVoucher(provider.peerId, voucher)
      }
      // each progress report of time-metered work is answered with a streamed voucher
      let progressReports = 0
      requester.services.work.addEventListener('job:progress', () => { progressReports++ })
      let countersignedAtProvider = false
      provider.services.work.addEventListener('receipt:countersigned', () => { countersignedAtProvider = true })
      const outcome = await requester.services.work.run(provider.peerId, { priceCeiling: SECOND, budget: 1000 }, enc('go'))
      assert.ok(progressReports > 0, 'vouchers were streamed while the job ran')
      assert.equal(dec(outcome.output), 'slept')
      assert.equal(outcome.receipt.record.value.status, 0)
      // countersigned on both sides; the refused vouchers paid nothing, so the provider's book still shows the debt
      assert.ok(countersignedAtProvider)
      assert.equal(provider.services.work.book.paid(requester.peerId), 16)
      assert.equal(provider.services.work.book.unpaid(requester.peerId, 'USDC'), outcome.receipt.record.value.total - 16)
    })

    it('pays units that are not time-metered only on the result, never for what progress reports claim', async () => {
      const TOKEN = { perUnit: 20, currency: 'USDC', unit: 'token' }
      // claims 50 tokens while running (all the budget allows), then receipts 10
      const boaster = functionExecutor(async (_input, { onProgress }) => {
        for (let t = 1; t <= 5; t++) {
          await new Promise(resolve => setTimeout(resolve, 5))
          onProgress({ units: t * 10, permille: t * 200 })
        }
        return { output: enc('ten tokens'), units: 10, status: 0 }
      })
      const provider = await node({ price: TOKEN, executor: boaster, maxUnpaid: 10_000 })
      const requester = await node()
      await connect(requester, provider)
      let vouchersBeforeResult = 0
      let completed = false
      provider.services.work.addEventListener('job:completed', () => { completed = true })
      provider.services.work.addEventListener('voucher:accepted', () => {
        if (!completed) {
          vouchersBeforeResult++
        }
      })
      const progress: WorkProgress[] = []
      const outcome = await requester.services.work.run(provider.peerId, { priceCeiling: TOKEN, budget: 1000 }, enc('go'), { onProgress: p => progress.push(p) })
      assert.equal(progress.at(-1)?.units, 50)
      assert.equal(outcome.receipt.record.value.units, 10)
      assert.equal(vouchersBeforeResult, 0)
      assert.equal(outcome.voucher?.value.cumulative, 200)
      assert.equal(provider.services.work.book.paid(requester.peerId), 200)
      assert.equal(provider.services.work.book.unpaid(requester.peerId, 'USDC'), 0)
    })

    it('verifies vouchers arriving together by the newest, and falls back to each one when the newest is forged', async () => {
      const provider = await node({ price: PRICE, executor: upper })
      const { requester, requesterKey } = await keyedRequester(provider)
      const work = requester.services.work
      const vouchers = [
        await work.lanes.pay(provider.peerId, 10, 'USDC'),
        await work.lanes.pay(provider.peerId, 10, 'USDC'),
        await work.lanes.pay(provider.peerId, 10, 'USDC')
      ]
      const results = await Promise.allSettled(vouchers.map(async v => work.sendVoucher(provider.peerId, v)))
      // each is either covered (the lane holds at least its amount) or stale (a newer one came first)
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') {
          assert.ok(r.value >= vouchers[i].value.cumulative)
        } else {
          assert.equal(r.reason.name, 'VoucherNonceError')
        }
      })
      assert.equal(provider.services.work.book.paid(requester.peerId), 30)

      // the newest of the next ones is signed by another key: refused, the others still count
      const good = await work.lanes.pay(provider.peerId, 10, 'USDC')
      const signed = await signRecord(PaymentVoucherType, { ...good.value, nonce: good.value.nonce + 1, cumulative: 1000 }, requesterKey)
      // the signature is the envelope's last field: break its last byte
      const forged = signed.bytes.slice()
      forged[forged.byteLength - 1] ^= 0xff
      const [forgedResult, goodResult] = await Promise.allSettled([work.sendVoucher(provider.peerId, forged), work.sendVoucher(provider.peerId, good)])
      assert.equal(forgedResult.status, 'rejected')
      assert.equal(forgedResult.reason.name, 'InvalidVoucherError')
      assert.equal(goodResult.status, 'fulfilled')
      assert.equal(provider.services.work.book.paid(requester.peerId), 40)
    })

    it('stops a job whose requester does not pay as it streams, and receipts the work done (status 402)', async () => {
      const TOKEN = { perUnit: 20, currency: 'USDC', unit: 'token' }
      let stoppedAt = 0
      const tokens = functionExecutor(async (_input, { onProgress, signal }) => {
        for (let t = 1; t <= 10; t++) {
          await new Promise(resolve => setTimeout(resolve, 5))
          signal.throwIfAborted()
          stoppedAt = t
          onProgress({ units: t })
        }
        return { output: enc('ten tokens'), units: 10, status: 0 }
      })
      const provider = await node({ price: TOKEN, executor: tokens, maxUnpaid: 50 })
      const requester = await node({ vouchers: false })
      await connect(requester, provider)
      const outcome = await requester.services.work.run(provider.peerId, { priceCeiling: TOKEN, budget: 1000 }, enc('go'))
      assert.equal(outcome.receipt.record.value.status, 402)
      assert.equal(outcome.receipt.record.value.units, 3)
      assert.equal(stoppedAt, 3)
      assert.equal(outcome.output.byteLength, 0)
    })

    it('stops taking assignments from a requester that owes more than maxUnpaid (PaymentRequiredError)', async () => {
      const provider = await node({ price: PRICE, executor: upper, maxUnpaid: 30 })
      const requester = await node({ vouchers: false })
      await connect(requester, provider)
      await requester.services.work.run(provider.peerId, SPEC, enc('1'))
      await requester.services.work.run(provider.peerId, SPEC, enc('2'))
      // owes 40 > 30
      await assert.rejects(requester.services.work.run(provider.peerId, SPEC, enc('3')), { name: 'PaymentRequiredError' })
      const voucher = await requester.services.work.lanes.pay(provider.peerId, 40, 'USDC')
      await requester.services.work.sendVoucher(provider.peerId, voucher)
      const outcome = await requester.services.work.run(provider.peerId, SPEC, enc('4'))
      assert.equal(dec(outcome.output), '4')
    })
  })
})
