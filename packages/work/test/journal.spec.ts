import assert from 'node:assert/strict'
import { MemoryDatastore } from 'datastore-core'
import fc from 'fast-check'
import { Key } from 'interface-datastore'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { CorruptLedgerError, PROVIDER_JOBS_PREFIX, REQUESTER_JOBS_PREFIX, RECEIPT_CHAIN_KEY, USED_QUOTES_PREFIX, decodeSavedJob, decodeSavedRequest } from '../src/index.js'
import { CountersignResender } from '../src/countersign-resend.js'
import { ProviderJournal, RequesterJournal, encodeSavedJob, encodeSavedRequest, jobKey } from '../src/journal.js'
import { StreamEndedError } from '../src/channel.js'
import { ProviderBusyError, UnknownJobError } from '../src/errors.js'
import { stubContext } from './helpers.js'
import type { SavedJob, SavedRequest } from '../src/index.js'
import type { PeerId } from '@libp2p/interface'
import type { CountersignedRecord, WorkReceipt } from '@shoal/records'

const MAX = 4096
const bytes = (max = 200): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max })
const savedJob: fc.Arbitrary<SavedJob> = fc.record({
  assignment: bytes(),
  state: fc.constantFrom('started', 'done', 'failed', 'countersigned'),
  startedMs: fc.nat(),
  receipt: bytes(),
  output: fc.option(bytes(MAX), { nil: undefined }),
  location: fc.option(fc.string({ maxLength: 100 }), { nil: undefined }),
  error: fc.option(fc.record({ code: fc.string({ minLength: 1, maxLength: 64 }), message: fc.string({ maxLength: 200 }) }), { nil: undefined })
})
const savedRequest: fc.Arbitrary<SavedRequest> = fc.record({
  state: fc.constantFrom('assigned', 'countersigned'),
  job: bytes(),
  inline: fc.boolean(),
  quote: bytes(),
  assignment: bytes(),
  input: bytes(MAX),
  paid: fc.nat(),
  receipt: bytes(),
  voucher: fc.option(bytes(), { nil: undefined })
})

/** JSON with the sizes of the real thing: the shape is what varies. */
const anyEntry = fc.dictionary(fc.constantFrom('assignment', 'state', 'startedMs', 'receipt', 'output', 'location', 'error', 'job', 'inline', 'quote', 'input', 'paid', 'voucher'), fc.jsonValue({ maxDepth: 2 }))

function corruptOnly (fn: () => unknown): void {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof CorruptLedgerError, `threw ${String(err)}`)
  }
}

describe('work journals', () => {
  it('a saved job and a saved request read back as written', () => {
    fc.assert(fc.property(savedJob, job => {
      const back = decodeSavedJob(encodeSavedJob(job), MAX)
      assert.equal(Buffer.compare(back.assignment, job.assignment), 0)
      assert.equal(back.state, job.state)
      assert.equal(back.startedMs, job.startedMs)
      assert.equal(Buffer.compare(back.receipt ?? new Uint8Array(), job.receipt ?? new Uint8Array()), 0)
      assert.equal(back.output == null, job.output == null)
      assert.deepEqual(back.error == null ? undefined : { ...back.error }, job.error == null ? undefined : { ...job.error })
    }))
    fc.assert(fc.property(savedRequest, request => {
      const back = decodeSavedRequest(encodeSavedRequest(request), MAX)
      assert.equal(back.state, request.state)
      assert.equal(back.inline, request.inline)
      assert.equal(back.paid, request.paid)
      assert.equal(Buffer.compare(back.input ?? new Uint8Array(), request.input ?? new Uint8Array()), 0)
      assert.equal(Buffer.compare(back.assignment, request.assignment), 0)
    }))
  })

  it('anything else is a CorruptLedgerError, never another throw', () => {
    fc.assert(fc.property(bytes(300), raw => {
      corruptOnly(() => decodeSavedJob(raw, MAX))
      corruptOnly(() => decodeSavedRequest(raw, MAX))
    }))
    fc.assert(fc.property(anyEntry, o => {
      const raw = uint8ArrayFromString(JSON.stringify(o))
      corruptOnly(() => decodeSavedJob(raw, MAX))
      corruptOnly(() => decodeSavedRequest(raw, MAX))
    }))
  })

  it('refuses a finished job without its receipt, an assigned request without its input, and an output over the limit', () => {
    const base: SavedJob = { assignment: new Uint8Array([1]), state: 'done', startedMs: 1 }
    assert.throws(() => decodeSavedJob(encodeSavedJob(base), MAX), CorruptLedgerError)
    assert.throws(() => decodeSavedJob(encodeSavedJob({ ...base, receipt: new Uint8Array([2]), output: new Uint8Array(MAX * 3) }), MAX), CorruptLedgerError)
    const request: SavedRequest = { state: 'assigned', job: new Uint8Array([1]), inline: true, quote: new Uint8Array([2]), assignment: new Uint8Array([3]), paid: 0 }
    assert.throws(() => decodeSavedRequest(encodeSavedRequest(request), MAX), CorruptLedgerError)
  })

  it('loads what it saved and skips (and reports) an entry that is malformed or under another key', async () => {
    const datastore = new MemoryDatastore()
    const provider = new ProviderJournal(datastore, MAX)
    const job: SavedJob = { assignment: new Uint8Array([7, 7]), state: 'started', startedMs: 5 }
    const key = jobKey(job.assignment)
    const quote = 'ab'.repeat(32)
    await provider.admitted(key, job, { quote, assignment: key, until: 99 })
    await provider.settled(key, { ...job, state: 'done', receipt: new Uint8Array([1]), output: new Uint8Array([2]) }, new Uint8Array(32).fill(3))
    await datastore.put(new Key(`${PROVIDER_JOBS_PREFIX}/${'00'.repeat(32)}`), encodeSavedJob(job))
    await datastore.put(new Key(`${USED_QUOTES_PREFIX}/${'cd'.repeat(32)}`), uint8ArrayFromString('{'))
    const loaded = await provider.load()
    assert.equal(loaded.jobs.length, 1)
    assert.equal(loaded.jobs[0].key, key)
    assert.equal(loaded.jobs[0].job.state, 'done')
    assert.deepEqual(loaded.usedQuotes, [{ quote, assignment: key, until: 99 }])
    assert.deepEqual([...loaded.chainLast], new Array(32).fill(3))
    assert.equal(loaded.skipped.length, 2)

    await datastore.put(new Key(RECEIPT_CHAIN_KEY), new Uint8Array(3))
    assert.equal((await provider.load()).skipped.length, 3)

    const requester = new RequesterJournal(datastore, MAX)
    const request: SavedRequest = { state: 'assigned', job: new Uint8Array([1]), inline: true, quote: new Uint8Array([2]), assignment: new Uint8Array([3]), input: new Uint8Array([4]), paid: 10 }
    await requester.save(request)
    await datastore.put(new Key(`${REQUESTER_JOBS_PREFIX}/${'00'.repeat(32)}`), encodeSavedRequest(request))
    const requests = await requester.load()
    assert.equal(requests.requests.length, 1)
    assert.equal(requests.skipped.length, 1)
    await requester.forget(Buffer.from(jobKey(request.assignment), 'hex'))
    assert.equal((await requester.load()).requests.length, 0)
  })
})

describe('re-sending countersignatures', () => {
  const receipt = (endedMs: number): CountersignedRecord<WorkReceipt> => ({
    id: new Uint8Array([endedMs % 256, 1]),
    record: { signer: { toString: () => 'provider', equals: () => true }, value: { assignmentId: new Uint8Array([9]), endedMs } }
  }) as unknown as CountersignedRecord<WorkReceipt>

  async function until (condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise(resolve => setTimeout(resolve, 20))
  }

  it('sends again after a transport failure (a stream the provider ended, a busy provider) until acknowledged, then forgets it', async () => {
    const { ctx } = await stubContext({ assignmentTtlMs: 60_000 })
    let sends = 0
    const forgotten: Uint8Array[] = []
    const failures = [new StreamEndedError('stream ended'), new ProviderBusyError('busy')]
    const resender = new CountersignResender(ctx, {
      send: async () => { const failure = failures[sends++]; if (failure != null) throw failure; return 0 },
      forget: async id => { forgotten.push(id) }
    })
    const r = receipt(Date.now())
    resender.schedule(r)
    resender.schedule(r)
    assert.equal(resender.pending, 1)
    await until(() => forgotten.length === 1)
    assert.equal(sends, 3)
    assert.equal(resender.pending, 0)
    resender.stop()
  })

  it('sends at once when the provider connects again, not after its backoff', async () => {
    const { ctx } = await stubContext({ assignmentTtlMs: 600_000 })
    let sends = 0
    const forgotten: Uint8Array[] = []
    const resender = new CountersignResender(ctx, {
      send: async () => { if (++sends < 3) throw new Error('connection refused'); return 0 },
      forget: async id => { forgotten.push(id) }
    })
    const r = receipt(Date.now())
    resender.schedule(r)
    // two failed sends: the next would wait 4 s
    await until(() => sends === 2)
    assert.equal(resender.receipts().length, 1)
    resender.wake({ equals: () => true } as unknown as PeerId)
    await until(() => forgotten.length === 1)
    assert.equal(sends, 3)
    assert.equal(resender.receipts().length, 0)
  })

  it('gives up on a refusal and once the provider need no longer hold the job', async () => {
    const { ctx } = await stubContext({ assignmentTtlMs: 1 })
    const forgotten: Uint8Array[] = []
    let sends = 0
    const refusing = new CountersignResender(ctx, { send: async () => { sends++; throw new UnknownJobError('gone') }, forget: async id => { forgotten.push(id) } })
    refusing.schedule(receipt(Date.now() + 60_000))
    await until(() => forgotten.length === 1)
    assert.equal(sends, 1)
    const late = new CountersignResender(ctx, { send: async () => { sends++; throw new Error('unreachable') }, forget: async id => { forgotten.push(id) } })
    late.schedule(receipt(Date.now() - 10_000))
    await until(() => forgotten.length === 2)
    assert.equal(sends, 2)
  })
})
