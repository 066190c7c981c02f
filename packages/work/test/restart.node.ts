import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { WorkReceiptType, openRecord } from '@shoal/records'
import { LevelDatastore } from 'datastore-level'
import { functionExecutor } from '../src/index.js'
import { ProviderJournal, RequesterJournal, jobKey } from '../src/journal.js'
import { hex, sha256 } from '../src/utils.js'
import { ArraySink, assignmentOf, connect, createWorkNode, dec, enc, rawStream } from './helpers.js'
import type { WorkNode } from './helpers.js'
import type { JobSpec, ResumeFailure, ResumedJob, WorkFrame } from '../src/index.js'
import type { PrivateKey } from '@libp2p/interface'
import type { Assignment, CountersignedRecord, SignedRecord, WorkReceipt } from '@shoal/records'

const PRICE = { perUnit: 20, currency: 'USDC', unit: 'job' }
const SPEC: JobSpec = { priceCeiling: { perUnit: 25, currency: 'USDC', unit: 'job' }, budget: 1000, workload: 'echo' }

/** Send `assignment` on a fresh raw stream and read frames up to the result or error. */
async function sendAssignment (requester: WorkNode, provider: WorkNode, assignment: SignedRecord<Assignment>, input: Uint8Array): Promise<WorkFrame> {
  const raw = await rawStream(requester, provider)
  await raw.send({ kind: 'assign', body: { assignment: assignment.bytes, input } })
  while (true) {
    const frame = await raw.read()
    if (frame.kind !== 'progress') {
      raw.stream.abort(new Error('done'))
      return frame
    }
  }
}

describe('work provider across restarts (journal on LevelDB)', function () {
  this.timeout(60_000)
  let dir: string
  let providerKey: PrivateKey
  let requesterKey: PrivateKey
  let stores: LevelDatastore[]
  let nodes: WorkNode[]
  let runs: string[]
  let gate: Promise<void> | undefined

  const executor = functionExecutor(async (input) => {
    runs.push(new TextDecoder().decode(input))
    await gate
    return input
  })

  async function startProvider (): Promise<WorkNode> {
    const store = new LevelDatastore(join(dir, 'provider'))
    await store.open()
    stores.push(store)
    const provider = await createWorkNode({ price: PRICE, executor, concurrency: 4 }, providerKey, store)
    nodes.push(provider)
    return provider
  }

  async function stopProvider (provider: WorkNode): Promise<void> {
    await provider.stop()
    nodes = nodes.filter(n => n !== provider)
    await Promise.all(stores.splice(0).map(async store => store.close()))
  }

  async function until (condition: () => Promise<boolean>): Promise<void> {
    while (!await condition()) await new Promise(resolve => setTimeout(resolve, 20))
  }

  /** A requester whose assignments the test signs by hand, with a quote from `provider`. */
  async function handAssignment (requester: WorkNode, provider: WorkNode, input: string): Promise<SignedRecord<Assignment>> {
    const job = await requester.services.work.createJob(SPEC)
    const quote = await requester.services.work.requestQuote(provider.peerId, job)
    return assignmentOf(quote, requesterKey, enc(input), Date.now())
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-work-journal-'))
    providerKey = await generateKeyPair('Ed25519')
    requesterKey = await generateKeyPair('Ed25519')
    stores = []
    nodes = []
    runs = []
    gate = undefined
  })

  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    await Promise.all(stores.map(async store => store.close().catch(() => {})))
    await rm(dir, { recursive: true, force: true })
  })

  it('answers an assignment resent after a restart with the same receipt bytes, and never runs it again', async () => {
    let provider = await startProvider()
    const requester = await createWorkNode({}, requesterKey)
    nodes.push(requester)
    await connect(requester, provider)
    const assignment = await handAssignment(requester, provider, 'once')
    // the result is lost on the way (the requester never reads it); the provider restarts
    const first = await sendAssignment(requester, provider, assignment, enc('once'))
    assert.equal(first.kind, 'result')
    await stopProvider(provider)

    provider = await startProvider()
    await connect(requester, provider)
    const again = await sendAssignment(requester, provider, assignment, enc('once'))
    assert.equal(again.kind, 'result')
    assert.deepEqual(again.body.receipt, first.kind === 'result' ? first.body.receipt : undefined)
    assert.equal(new TextDecoder().decode(again.body.output), 'once')
    assert.deepEqual(runs, ['once'])
    // charged once, across the restart
    assert.equal(provider.services.work.book.owed(requester.peerId, PRICE.currency), PRICE.perUnit)
    assert.equal(provider.services.work.pendingReceipts().length, 1)
  })

  it('refuses the quote of a job admitted before a restart to a second assignment (QuoteReusedError)', async () => {
    let provider = await startProvider()
    const requester = await createWorkNode({}, requesterKey)
    nodes.push(requester)
    await connect(requester, provider)
    const job = await requester.services.work.createJob(SPEC)
    const quote = await requester.services.work.requestQuote(provider.peerId, job)
    const first = await assignmentOf(quote, requesterKey, enc('a'), Date.now())
    assert.equal((await sendAssignment(requester, provider, first, enc('a'))).kind, 'result')
    await stopProvider(provider)

    provider = await startProvider()
    await connect(requester, provider)
    const second = await assignmentOf(quote, requesterKey, enc('b'), Date.now())
    const refused = await sendAssignment(requester, provider, second, enc('b'))
    assert.equal(refused.kind, 'error')
    assert.equal(refused.body.code, 'quote-reused')
    assert.deepEqual(runs, ['a'])
  })

  it('fails a job the restart interrupted as interrupted, and never runs it again', async () => {
    gate = new Promise(() => {})
    let provider = await startProvider()
    const requester = await createWorkNode({}, requesterKey)
    nodes.push(requester)
    await connect(requester, provider)
    const assignment = await handAssignment(requester, provider, 'cut')
    const raw = await rawStream(requester, provider)
    await raw.send({ kind: 'assign', body: { assignment: assignment.bytes, input: enc('cut') } })
    // a stop aborts the running job, as a crash would end it
    while (runs.length === 0) await new Promise(resolve => setTimeout(resolve, 10))
    await stopProvider(provider)

    gate = undefined
    provider = await startProvider()
    await connect(requester, provider)
    const resent = await sendAssignment(requester, provider, assignment, enc('cut'))
    assert.equal(resent.kind, 'error')
    assert.equal(resent.body.code, 'interrupted')
    assert.deepEqual(runs, ['cut'])
    assert.equal(provider.services.work.book.owed(requester.peerId, PRICE.currency), 0)
  })

  it('takes a job a crash cut off (saved as started, never settled) as interrupted, and never runs it', async () => {
    let provider = await startProvider()
    const requester = await createWorkNode({}, requesterKey)
    nodes.push(requester)
    await connect(requester, provider)
    const assignment = await handAssignment(requester, provider, 'crashed')
    await stopProvider(provider)
    // what a provider killed mid-run leaves: the admitted job and its used quote, nothing after
    const store = new LevelDatastore(join(dir, 'provider'))
    await store.open()
    const key = jobKey(assignment.bytes)
    await new ProviderJournal(store, 1024).admitted(key, { assignment: assignment.bytes, state: 'started', startedMs: Date.now() }, { quote: hex(sha256(assignment.value.quote)), assignment: key, until: Date.now() + 60_000 })
    await store.close()

    provider = await startProvider()
    await connect(requester, provider)
    const resent = await sendAssignment(requester, provider, assignment, enc('crashed'))
    assert.equal(resent.kind, 'error')
    assert.equal(resent.kind === 'error' ? resent.body.code : '', 'interrupted')
    assert.deepEqual(runs, [])
  })

  it('starts, and forgets them, over saved entries that decode but hold no valid records', async () => {
    const store = new LevelDatastore(join(dir, 'provider'))
    await store.open()
    const junk = enc('not a signed record')
    const key = jobKey(junk)
    await new ProviderJournal(store, 1024).admitted(key, { assignment: junk, state: 'started', startedMs: 1 }, { quote: '00'.repeat(32), assignment: key, until: Date.now() + 60_000 })
    await new RequesterJournal(store, 1024).save({ state: 'assigned', job: junk, inline: false, quote: junk, assignment: junk, input: junk, paid: 0 })
    await new RequesterJournal(store, 1024).save({ state: 'countersigned', job: junk, inline: true, quote: junk, assignment: enc('other'), receipt: junk, paid: 0 })
    await store.close()

    // one node as both: its provider restores the job entry, its requester the two requests
    const node = await startProvider()
    await until(async () => (await new RequesterJournal(stores[0], 1024).load()).requests.length === 0)
    assert.equal((await new ProviderJournal(stores[0], 1024).load()).jobs.length, 0)
    assert.deepEqual(node.services.work.pendingReceipts(), [])
    const requester = await createWorkNode({}, requesterKey)
    nodes.push(requester)
    await connect(requester, node)
    assert.equal(new TextDecoder().decode((await requester.services.work.run(node.peerId, SPEC, enc('still works'))).output), 'still works')
  })

  it('chains its receipts one after another, across jobs ending together and across a restart', async () => {
    let provider = await startProvider()
    const requester = await createWorkNode({}, requesterKey)
    nodes.push(requester)
    await connect(requester, provider)
    const outcomes = await Promise.all(['a', 'b', 'c'].map(async input => requester.services.work.run(provider.peerId, SPEC, enc(input))))
    await stopProvider(provider)
    provider = await startProvider()
    await connect(requester, provider)
    outcomes.push(await requester.services.work.run(provider.peerId, SPEC, enc('d')))

    const receipts = await Promise.all(outcomes.map(async o => openRecord(WorkReceiptType, o.receipt.record.bytes, { ignoreTime: true })))
    const byPrev = new Map(receipts.map(r => [Buffer.from(r.value.prev).toString('hex'), r]))
    // one receipt names nothing, every other names a distinct earlier one: a single chain of four
    assert.equal(byPrev.size, 4)
    let link = byPrev.get('')
    const order: string[] = []
    while (link != null) {
      order.push(Buffer.from(link.id).toString('hex'))
      link = byPrev.get(order[order.length - 1])
    }
    assert.equal(order.length, 4)
    // the receipt signed after the restart names the last one signed before it
    assert.equal(order[3], Buffer.from(outcomes[3].receipt.id).toString('hex'))
  })
})

describe('work requester across restarts and lost acknowledgements', function () {
  this.timeout(60_000)
  let dir: string
  let nodes: WorkNode[]
  let stores: LevelDatastore[]

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-work-requester-'))
    nodes = []
    stores = []
  })

  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    await Promise.all(stores.map(async store => store.close().catch(() => {})))
    await rm(dir, { recursive: true, force: true })
  })

  async function level (name: string): Promise<LevelDatastore> {
    const store = new LevelDatastore(join(dir, name))
    await store.open()
    stores.push(store)
    return store
  }

  /** A requester on its own LevelDB store, connected to `provider`, once its job of `input` started there; `cut` settles with its run. */
  async function requesterMidJob (provider: WorkNode, input: string): Promise<{ requester: WorkNode, requesterKey: PrivateKey, store: LevelDatastore, cut: Promise<Error | undefined> }> {
    const requesterKey = await generateKeyPair('Ed25519')
    const store = await level('requester')
    const requester = await createWorkNode({}, requesterKey, store)
    nodes.push(requester)
    await connect(requester, provider)
    const started = new Promise(resolve => { provider.services.work.addEventListener('job:started', resolve, { once: true }) })
    const cut = requester.services.work.run(provider.peerId, SPEC, enc(input)).then(() => undefined, (err: Error) => err)
    await started
    return { requester, requesterKey, store, cut }
  }

  async function until (condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise(resolve => setTimeout(resolve, 20))
  }

  it('resumes a job the requester was following when it stopped: the same assignment, countersigned and paid once', async () => {
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    let runs = 0
    const providerSink = new ArraySink()
    const provider = await createWorkNode({ price: PRICE, executor: functionExecutor(async (input) => { runs++; await gate; return input }), receipts: providerSink })
    nodes.push(provider)
    let { requester, requesterKey, store, cut } = await requesterMidJob(provider, 'resume me')
    // the requester stops mid-job (its run fails), then starts again on the same store
    await requester.stop()
    nodes = nodes.filter(n => n !== requester)
    assert.ok(await cut instanceof Error)
    requester = await createWorkNode({}, requesterKey, store)
    nodes.push(requester)
    const resumed = new Promise<ResumedJob>(resolve => { requester.services.work.addEventListener('job:resumed', evt => { resolve(evt.detail) }, { once: true }) })
    await connect(requester, provider)
    release()
    const { outcome } = await resumed

    assert.equal(dec(outcome.output), 'resume me')
    assert.equal(outcome.acknowledged, true)
    assert.equal(runs, 1)
    assert.equal(providerSink.countersigned.length, 1)
    assert.equal(Buffer.compare(providerSink.countersigned[0].bytes, outcome.receipt.bytes), 0)
    // paid once: what the provider charged, no more
    const book = provider.services.work.book
    assert.equal(book.paid(requester.peerId, PRICE.currency), book.owed(requester.peerId, PRICE.currency))
  })

  it('reports a resumed job the provider will not finish (interrupted), for the caller to fail over', async () => {
    const providerKey = await generateKeyPair('Ed25519')
    const providerStore = await level('provider')
    let provider = await createWorkNode({ price: PRICE, executor: functionExecutor(async () => new Promise(() => {})) }, providerKey, providerStore)
    nodes.push(provider)
    let { requester, requesterKey, store, cut } = await requesterMidJob(provider, 'lost')
    // both stop: the provider's job is cut short, the requester resumes it after its restart
    await Promise.all([requester.stop(), provider.stop()])
    nodes = []
    await cut
    provider = await createWorkNode({ price: PRICE, executor: functionExecutor(input => input) }, providerKey, providerStore)
    nodes.push(provider)
    requester = await createWorkNode({}, requesterKey, store)
    nodes.push(requester)
    const failed = new Promise<ResumeFailure>(resolve => { requester.services.work.addEventListener('job:resume-failed', evt => { resolve(evt.detail) }, { once: true }) })
    await connect(requester, provider)
    const failure = await failed
    assert.equal(failure.error.name, 'JobInterruptedError')
    assert.ok(failure.provider.equals(provider.peerId))
    assert.equal(dec(failure.input), 'lost')
  })

  it('re-sends a countersignature the provider did not acknowledge in time, until it does', async () => {
    let slow = true
    const stored: Array<CountersignedRecord<WorkReceipt> | SignedRecord<WorkReceipt>> = []
    // the provider's store takes longer than the requester waits for the acknowledgement, once
    const sink = {
      async put (receipt: CountersignedRecord<WorkReceipt> | SignedRecord<WorkReceipt>): Promise<void> {
        stored.push(receipt)
        if ('countersignature' in receipt && slow) {
          slow = false
          await new Promise(resolve => setTimeout(resolve, 1_000))
        }
      }
    }
    const provider = await createWorkNode({ price: PRICE, executor: functionExecutor(input => input), receipts: sink })
    nodes.push(provider)
    const requester = await createWorkNode({ stepTimeoutMs: 300 }, undefined, await level('requester'))
    nodes.push(requester)
    await connect(requester, provider)
    const outcome = await requester.services.work.run(provider.peerId, SPEC, enc('ack me'))
    assert.equal(outcome.acknowledged, false)
    assert.equal(requester.services.work.unacknowledged().length, 1)
    await until(() => requester.services.work.unacknowledged().length === 0)
    assert.equal(provider.services.work.pendingReceipts().length, 0)
    const book = provider.services.work.book
    assert.equal(book.paid(requester.peerId, PRICE.currency), PRICE.perUnit)
  })

  it('countersigns and pays a job its caller gave up on without an answer, once the provider finished it in time', async () => {
    const provider = await createWorkNode({ price: PRICE, executor: functionExecutor(async input => { await new Promise(resolve => setTimeout(resolve, 1_000)); return input }) })
    const requester = await createWorkNode({ stepTimeoutMs: 300 })
    nodes.push(provider, requester)
    await connect(requester, provider)
    const resumed = new Promise<ResumedJob>(resolve => { requester.services.work.addEventListener('job:resumed', evt => { resolve(evt.detail) }, { once: true }) })
    const failed = new Promise<void>(resolve => { requester.services.work.addEventListener('job:resume-failed', () => { resolve() }, { once: true }) })
    // the caller waits less than the job takes, then gives up
    const err = await requester.services.work.run(provider.peerId, { ...SPEC, deadlineInMs: 30_000 }, enc('late'), { timeoutMs: 300 }).then(() => undefined, (e: Error) => e)
    assert.equal(err?.name, 'TimeoutError')
    const { outcome, abandoned } = await Promise.race([resumed, failed.then(() => { throw new Error('the follow-up reported a failure to fail over') })])
    assert.equal(abandoned, true)
    assert.equal(dec(outcome.output), 'late')
    await until(() => provider.services.work.pendingReceipts().length === 0)
    const book = provider.services.work.book
    assert.equal(book.paid(requester.peerId, PRICE.currency), PRICE.perUnit)
  })

  it('keeps a countersignature a third peer delivers, refuses its voucher and tells it nothing of payments', async () => {
    const provider = await createWorkNode({ price: PRICE, executor: functionExecutor(input => input) })
    const requester = await createWorkNode()
    const third = await createWorkNode()
    nodes.push(provider, requester, third)
    await connect(requester, provider)
    await connect(third, provider)
    const outcome = await requester.services.work.run(provider.peerId, SPEC, enc('x'))
    assert.ok(provider.services.work.book.paid(requester.peerId, PRICE.currency) > 0)
    const raw = await rawStream(third, provider)
    await raw.send({ kind: 'countersign', body: { receipt: outcome.receipt.bytes, voucher: new Uint8Array(0) } })
    const ack = await raw.read()
    assert.equal(ack.kind, 'ack')
    assert.equal(ack.kind === 'ack' ? ack.body.paid : -1, 0)
    await raw.send({ kind: 'countersign', body: { receipt: outcome.receipt.bytes, voucher: outcome.voucher?.bytes ?? enc('v') } })
    const refused = await raw.read()
    assert.equal(refused.kind, 'error')
    assert.equal(refused.kind === 'error' ? refused.body.code : '', 'wrong-peer')
  })
})
