import assert from 'node:assert/strict'
import { WorkReceiptType, countersign, openRecord } from '@shoal/records'
import { countingMetrics, party } from '@shoal/test-support'
import { VoucherBook, VoucherLanes, functionExecutor } from '../src/index.js'
import { Provider } from '../src/provider.js'
import { StreamPool } from '../src/stream-pool.js'
import { assignmentOf, quoteFrom, stubContext } from './helpers.js'
import type { StubContext } from './helpers.js'
import type { WorkError, WorkFrame } from '../src/index.js'
import type { ReplyChannel } from '../src/provider.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { SignedRecord, WorkReceipt } from '@shoal/records'

const PRICE = { perUnit: 20, currency: 'USDC', unit: 'job' }
const INPUT = new TextEncoder().encode('abc')

/** A channel that keeps what the provider sends on it. */
class RecordingChannel implements ReplyChannel {
  readonly sent: WorkFrame[] = []

  async send (frame: WorkFrame): Promise<void> {
    this.sent.push(frame)
  }

  async fail (err: WorkError): Promise<void> {
    this.sent.push({ kind: 'error', body: { code: err.code, message: err.message, retryAfterMs: 0 } })
  }
}

describe('provider', () => {
  let ctx: StubContext
  let book: VoucherBook
  let provider: Provider
  let requesterKey: PrivateKey
  let requester: PeerId

  beforeEach(async () => {
    ctx = await stubContext({ executor: functionExecutor(input => input.slice().reverse()), price: PRICE, maxUnpaid: 30 })
    book = new VoucherBook(ctx.peerId)
    provider = new Provider(ctx.ctx, book, new StreamPool(ctx.ctx))
    ;({ key: requesterKey, peerId: requester } = await party())
  })

  afterEach(() => {
    provider.stop()
  })

  async function assign (channel: RecordingChannel): Promise<void> {
    const assignment = await assignmentOf(await quoteFrom(ctx, requester, PRICE), requesterKey, INPUT, ctx.clock.now)
    await provider.onAssign(channel, requester, assignment.bytes, INPUT)
  }

  /** Assign a job; the result frame the provider sent and the receipt in it. */
  async function runJob (): Promise<{ output: Uint8Array, receipt: SignedRecord<WorkReceipt> }> {
    const channel = new RecordingChannel()
    await assign(channel)
    const result = channel.sent.find(f => f.kind === 'result')
    assert.ok(result?.kind === 'result', `no result in ${channel.sent.map(f => f.kind).join()}`)
    return { output: result.body.output, receipt: await openRecord(WorkReceiptType, result.body.receipt) }
  }

  it('runs an admitted assignment, answers with the output and a receipt it signed, and charges the requester', async () => {
    const { output, receipt } = await runJob()
    assert.deepEqual(output, INPUT.slice().reverse())
    assert.ok(receipt.signer.equals(ctx.peerId))
    assert.deepEqual([receipt.value.units, receipt.value.total], [1, 20])
    assert.equal(book.unpaid(requester, 'USDC'), 20)
    assert.equal(provider.pendingReceipts().length, 1)
  })

  it('takes the countersignature and the voucher paying it, so the requester owes nothing', async () => {
    const both = await countersign((await runJob()).receipt, requesterKey)
    const voucher = await new VoucherLanes(requesterKey, requester).pay(ctx.peerId, 20, 'USDC')
    const ack = await provider.onCountersign(requester, both.bytes, voucher.bytes)
    assert.deepEqual(ack, { id: both.id, paid: 20 })
    assert.equal(book.unpaid(requester, 'USDC'), 0)
    assert.equal(provider.pendingReceipts().length, 0)
  })

  it('refuses a forged countersignature (InvalidCountersignatureError)', async () => {
    const forged = (await countersign((await runJob()).receipt, requesterKey)).bytes.slice()
    forged[forged.length - 1] ^= 1
    await assert.rejects(provider.onCountersign(requester, forged, new Uint8Array()), { name: 'InvalidCountersignatureError' })
    assert.equal(provider.pendingReceipts().length, 1)
  })

  it('tells a requester owing more than maxUnpaid that payment is required, and runs nothing', async () => {
    for (let i = 0; i < 2; i++) {
      await assign(new RecordingChannel())
    }
    const channel = new RecordingChannel()
    await assign(channel)
    assert.deepEqual(channel.sent.map(f => f.kind === 'error' ? f.body.code : f.kind), ['payment-required'])
    assert.equal(book.unpaid(requester, 'USDC'), 40)
  })

  it('counts jobs admitted, completed (by connection kind) and refused (by reason), and receipts countersigned in shoal_work_events_total', async () => {
    const { metrics, counts } = countingMetrics()
    ctx = await stubContext({ executor: functionExecutor(input => input.slice().reverse()), price: PRICE, maxUnpaid: 30 }, metrics)
    book = new VoucherBook(ctx.peerId)
    provider.stop()
    provider = new Provider(ctx.ctx, book, new StreamPool(ctx.ctx))
    const { receipt } = await runJob()
    await runJob()
    await assign(new RecordingChannel())
    await provider.onCountersign(requester, (await countersign(receipt, requesterKey)).bytes, new Uint8Array())
    assert.deepEqual(counts.get('shoal_work_events_total'), {
      job_admitted: 2,
      job_completed: 2,
      // the stub channels have no connection limits: direct
      direct_run: 2,
      'job_refused:payment-required': 1,
      receipt_countersigned: 1
    })
  })

  it('declines assignments of a requester leaving maxUnpaidJobs receipts uncountersigned (not those just issued), and serves it again once it countersigns', async () => {
    ctx = await stubContext({ executor: functionExecutor(input => input.slice().reverse()), price: PRICE, maxUnpaidJobs: 2, stepTimeoutMs: 1000 })
    book = new VoucherBook(ctx.peerId)
    provider.stop()
    provider = new Provider(ctx.ctx, book, new StreamPool(ctx.ctx))
    const receipts = [(await runJob()).receipt, (await runJob()).receipt]
    // their countersignatures may still be on their way: not counted yet
    const third = await runJob()
    ctx.clock.now += 2001
    const channel = new RecordingChannel()
    await assign(channel)
    assert.deepEqual(channel.sent.map(f => f.kind === 'error' ? f.body.code : f.kind), ['unpaid'])
    assert.equal(provider.pendingReceipts().length, 3)

    // another requester is served meanwhile
    const other = await party()
    const elsewhere = new RecordingChannel()
    const assignment = await assignmentOf(await quoteFrom(ctx, other.peerId, PRICE), other.key, INPUT, ctx.clock.now)
    await provider.onAssign(elsewhere, other.peerId, assignment.bytes, INPUT)
    assert.equal(elsewhere.sent.at(-1)?.kind, 'result')

    // one countersignature leaves two unsigned: still the limit
    await provider.onCountersign(requester, (await countersign(receipts[0], requesterKey)).bytes, new Uint8Array())
    const still = new RecordingChannel()
    await assign(still)
    assert.equal(still.sent.at(-1)?.kind, 'error')
    await provider.onCountersign(requester, (await countersign(third.receipt, requesterKey)).bytes, new Uint8Array())
    const served = new RecordingChannel()
    await assign(served)
    assert.equal(served.sent.at(-1)?.kind, 'result')
  })
})
