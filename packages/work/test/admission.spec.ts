import assert from 'node:assert/strict'
import { party } from '@shoal/test-support'
import { Admission } from '../src/admission.js'
import { MAX_LISTENERS_PER_JOB } from '../src/constants.js'
import { functionExecutor } from '../src/index.js'
import { hex } from '../src/utils.js'
import { assignmentOf, quoteFrom, somePeer, stubContext } from './helpers.js'
import type { AdmissionState, Admitted } from '../src/admission.js'
import type { JobEntry } from '../src/run-job.js'
import type { StubContext } from './helpers.js'
import type { WorkInit } from '../src/index.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { Quote, SignedRecord } from '@shoal/records'

const PRICE = { perUnit: 20, currency: 'USDC', unit: 'job' }
const INPUT = new TextEncoder().encode('input')
const noop = (): void => {}

/** Provider state the test sets directly: the jobs admission may find, slots taken, debts. */
class FakeState implements AdmissionState {
  readonly jobs = new Map<string, JobEntry>()
  readonly issued = new Map<string, SignedRecord<Quote>>()
  busy = 0
  owed = 0
  /** whether the queue takes another job, and the wait it reports when it does not */
  room = false
  waitMs = 1200
  job (key: string): JobEntry | undefined { return this.jobs.get(key) }
  issuedQuote (key: string): SignedRecord<Quote> | undefined { return this.issued.get(key) }
  running (): number { return this.busy }
  queueRoom (): boolean { return this.room }
  busyWaitMs (): number { return this.waitMs }
  unpaid (): number { return this.owed }
}

/** A job admitted earlier, as the provider would hold it. */
function entryFor (admitted: Admitted, peer: PeerId, bytes: Uint8Array): JobEntry {
  assert.ok(admitted.joined == null)
  return {
    key: admitted.key,
    assignmentBytes: bytes,
    opened: admitted.opened,
    requester: peer.toString(),
    peer,
    startedMs: admitted.now,
    state: 'running',
    done: Promise.resolve(),
    controller: new AbortController(),
    listeners: new Set()
  }
}

describe('provider admission', () => {
  let provider: StubContext
  let state: FakeState
  let admission: Admission
  let requesterKey: PrivateKey
  let requester: PeerId

  async function setup (init: WorkInit = {}): Promise<void> {
    provider = await stubContext({ executor: functionExecutor(input => input), price: PRICE, ...init })
    state = new FakeState()
    admission = new Admission(provider.ctx, state)
  }

  async function quote (): Promise<SignedRecord<Quote>> {
    return quoteFrom(provider, requester, PRICE)
  }

  async function assignment (q: SignedRecord<Quote>): Promise<Uint8Array> {
    return (await assignmentOf(q, requesterKey, INPUT, provider.clock.now)).bytes
  }

  before(async () => {
    ;({ key: requesterKey, peerId: requester } = await party())
  })

  beforeEach(async () => {
    await setup()
  })

  describe('quote requests', () => {
    it('lets a peer make quoteBurst requests at once, then refuses it (QuoteRateLimitedError) but not another peer', async () => {
      await setup({ quoteBurst: 2, quoteRate: 0 })
      admission.takeQuoteToken(requester)
      admission.takeQuoteToken(requester)
      assert.throws(() => { admission.takeQuoteToken(requester) }, { name: 'QuoteRateLimitedError' })
      admission.takeQuoteToken(await somePeer())
    })

    it('refills a peer\'s bucket at quoteRate per second of the service clock', async () => {
      await setup({ quoteBurst: 1, quoteRate: 10 })
      admission.takeQuoteToken(requester)
      assert.throws(() => { admission.takeQuoteToken(requester) }, { name: 'QuoteRateLimitedError' })
      provider.clock.now += 100
      admission.takeQuoteToken(requester)
    })
  })

  describe('assignments', () => {
    it('admits an assignment of our quote from its requester, with the matching input', async () => {
      const q = await quote()
      const admitted = await admission.admit(requester, await assignment(q), INPUT, noop)
      assert.ok(admitted.joined == null)
      assert.deepEqual(admitted.opened.quote.id, q.id)
      assert.equal(admitted.now, provider.clock.now)
    })

    it('joins the running job when the same requester resends the assignment, and refuses another peer sending it', async () => {
      const bytes = await assignment(await quote())
      const entry = entryFor(await admission.admit(requester, bytes, INPUT, noop), requester, bytes)
      state.jobs.set(entry.key, entry)
      const listener = (): void => {}
      const again = await admission.admit(requester, bytes, INPUT, listener)
      assert.equal(again.joined, entry)
      assert.ok(entry.listeners.has(listener))
      const other = await somePeer()
      await assert.rejects(admission.admit(other, bytes, INPUT, noop), { name: 'WrongPeerError' })
    })

    it('lets at most MAX_LISTENERS_PER_JOB sends of one assignment wait on its job, the first included, then answers busy', async () => {
      const bytes = await assignment(await quote())
      const entry = entryFor(await admission.admit(requester, bytes, INPUT, noop), requester, bytes)
      entry.listeners.add(noop)
      state.jobs.set(entry.key, entry)
      for (let i = 1; i < MAX_LISTENERS_PER_JOB; i++) {
        await admission.admit(requester, bytes, INPUT, () => {})
      }
      assert.equal(entry.listeners.size, MAX_LISTENERS_PER_JOB)
      await assert.rejects(admission.admit(requester, bytes, INPUT, () => {}), { name: 'ProviderBusyError' })
    })

    it('holds a resend that raced the first copy through opening to the same bound', async () => {
      const bytes = await assignment(await quote())
      const entry = entryFor(await admission.admit(requester, bytes, INPUT, noop), requester, bytes)
      for (let i = 0; i < MAX_LISTENERS_PER_JOB; i++) entry.listeners.add(() => {})
      // the job appears only after this send looked it up once: the first copy started it meanwhile
      let lookups = 0
      state.job = (key: string) => (++lookups > 1 && key === entry.key ? entry : undefined)
      state.jobs.clear()
      admission = new Admission(provider.ctx, state)
      await assert.rejects(admission.admit(requester, bytes, INPUT, () => {}), { name: 'ProviderBusyError' })
      assert.equal(entry.listeners.size, MAX_LISTENERS_PER_JOB)
    })

    it('refuses a replay once the job is gone (AssignmentReplayedError) and a second assignment of the quote (QuoteReusedError)', async () => {
      const q = await quote()
      const bytes = await assignment(q)
      await admission.admit(requester, bytes, INPUT, noop)
      await assert.rejects(admission.admit(requester, bytes, INPUT, noop), { name: 'AssignmentReplayedError' })
      await assert.rejects(admission.admit(requester, await assignment(q), INPUT, noop), { name: 'QuoteReusedError' })
    })

    it('refuses an assignment sent by another peer than its requester (WrongPeerError)', async () => {
      const other = await somePeer()
      await assert.rejects(admission.admit(other, await assignment(await quote()), INPUT, noop), { name: 'WrongPeerError' })
    })

    it('refuses an input other than the one the assignment signed (InputMismatchError)', async () => {
      await assert.rejects(admission.admit(requester, await assignment(await quote()), new Uint8Array([1]), noop), { name: 'InputMismatchError' })
    })

    it('refuses an input above maxInputBytes (PayloadTooLargeError)', async () => {
      await setup({ maxInputBytes: 2 })
      await assert.rejects(admission.admit(requester, await assignment(await quote()), INPUT, noop), { name: 'PayloadTooLargeError' })
    })

    it('refuses work when every slot is taken (ProviderBusyError) and leaves the quote unused', async () => {
      await setup({ concurrency: 1 })
      const bytes = await assignment(await quote())
      state.busy = 1
      await assert.rejects(admission.admit(requester, bytes, INPUT, noop), { name: 'ProviderBusyError' })
      state.busy = 0
      const admitted = await admission.admit(requester, bytes, INPUT, noop)
      assert.ok(admitted.joined == null)
    })

    it('admits a job with every slot taken while the queue has room; refuses it with the queue\'s wait (retryAfterMs) once it is full', async () => {
      await setup({ concurrency: 1 })
      state.busy = 1
      state.room = true
      assert.ok((await admission.admit(requester, await assignment(await quote()), INPUT, noop)).joined == null)
      state.room = false
      await assert.rejects(admission.admit(requester, await assignment(await quote()), INPUT, noop), { name: 'ProviderBusyError', retryAfterMs: 1200 })
    })

    it('admits a resent assignment again once its quote was released (its queued job was dropped unrun), and only then', async () => {
      const q = await quote()
      const bytes = await assignment(q)
      const admitted = await admission.admit(requester, bytes, INPUT, noop)
      assert.ok(admitted.joined == null)
      await assert.rejects(admission.admit(requester, bytes, INPUT, noop), { name: 'AssignmentReplayedError' })
      // a release naming another assignment of the quote leaves it used
      admission.releaseQuote(hex(q.id), 'another')
      await assert.rejects(admission.admit(requester, bytes, INPUT, noop), { name: 'AssignmentReplayedError' })
      admission.releaseQuote(hex(q.id), admitted.key)
      assert.ok((await admission.admit(requester, bytes, INPUT, noop)).joined == null)
    })

    it('refuses a requester owing more than maxUnpaid (PaymentRequiredError)', async () => {
      await setup({ maxUnpaid: 100 })
      state.owed = 101
      await assert.rejects(admission.admit(requester, await assignment(await quote()), INPUT, noop), { name: 'PaymentRequiredError' })
    })

    it('refuses work rather than forget an unexpired used quote (ProviderBusyError), and takes it again once they expire', async () => {
      await setup({ maxUsedQuotes: 1, assignmentTtlMs: 1000 })
      await admission.admit(requester, await assignment(await quote()), INPUT, noop)
      const next = await assignment(await quote())
      await assert.rejects(admission.admit(requester, next, INPUT, noop), { name: 'ProviderBusyError' })
      provider.clock.now += 62_000
      const fresh = await assignment(await quote())
      const admitted = await admission.admit(requester, fresh, INPUT, noop)
      assert.ok(admitted.joined == null)
    })

    it('declines every assignment when it has no executor (QuoteDeclinedError)', async () => {
      const q = await quote()
      await setup({ executor: undefined })
      await assert.rejects(admission.admit(requester, await assignment(q), INPUT, noop), { name: 'QuoteDeclinedError' })
    })
  })
})
