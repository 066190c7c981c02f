import assert from 'node:assert/strict'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { party } from '@shoal/test-support'
import { DatastoreReceiptStore, StandingIndex, createReceiptStore, verifyEquivocation, verifyInclusion } from '../src/index.js'
import { makeReceipt, makeReceipts, snapshot } from './fixtures/receipts.js'
import type { ReceiptStore, Equivocation, StoredReceipt } from '../src/index.js'
import type { Party } from '@shoal/test-support'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

async function collect<T> (it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) {
    out.push(x)
  }
  return out
}

describe('receipt store', () => {
  let datastore: MemoryDatastore
  let store: ReceiptStore
  let providers: Party[]
  let requesters: Party[]
  let clock: number

  before(async () => {
    providers = await Promise.all([party(), party(), party()])
    requesters = await Promise.all([party(), party(), party(), party()])
  })

  beforeEach(async () => {
    clock = 1_000
    datastore = new MemoryDatastore()
    store = await createReceiptStore({ datastore, epochSize: 4, now: () => clock })
  })

  afterEach(async () => {
    await store.stop()
  })

  it('stores a countersigned receipt and finds it again', async () => {
    const { countersigned } = await makeReceipt(providers[0], requesters[0])
    const stored = await store.put(countersigned.bytes)
    assert.equal(stored.state, 'countersigned')
    assert.equal(stored.seq, 0)
    assert.equal(hex(stored.id), hex(countersigned.id))
    assert.ok(stored.provider.equals(providers[0].peerId))
    assert.ok(stored.requester.equals(requesters[0].peerId))
    assert.ok(await store.has(countersigned.id))
    const got = await store.get(countersigned.id)
    assert.equal(hex(got.bytes), hex(countersigned.bytes))
    assert.equal(hex(got.envelope), hex(countersigned.record.bytes))
    assert.equal(got.value.units, 10)
    assert.equal(got.addedAt, 1_000)
    assert.equal(store.head().length, 1)
  })

  it('is idempotent: the same receipt again, sequentially or concurrently, writes nothing', async () => {
    const { countersigned } = await makeReceipt(providers[0], requesters[0])
    await store.put(countersigned)
    const before = await snapshot(datastore)
    const again = await store.put(countersigned.bytes)
    assert.equal(again.seq, 0)
    assert.deepEqual(await snapshot(datastore), before)

    const other = await makeReceipt(providers[1], requesters[1])
    const results = await Promise.all(Array.from({ length: 10 }, async () => store.put(other.countersigned.bytes)))
    assert.deepEqual(new Set(results.map(r => r.seq)), new Set([1]))
    assert.equal(store.head().length, 2)
    assert.equal((await store.verifyLog()).ok, true)
  })

  it('keeps provider-signed receipts as pending until the countersigned copy arrives', async () => {
    const { signed, countersigned } = await makeReceipt(providers[0], requesters[0])
    const events: string[] = []
    store.addEventListener('receipt:pending', () => events.push('pending'))
    store.addEventListener('receipt:added', () => events.push('added'))

    const pending = await store.put(signed.bytes)
    assert.equal(pending.state, 'pending')
    assert.equal(pending.seq, undefined)
    assert.equal(await store.has(signed.id), false)
    assert.equal(await store.has(signed.id, { pending: true }), true)
    assert.equal((await store.get(signed.id)).state, 'pending')
    assert.equal((await collect(store.listPending())).length, 1)
    assert.equal(store.head().length, 0, 'pending receipts stay out of the log')
    assert.equal((await store.put(signed)).state, 'pending', 'idempotent')

    const done = await store.put(countersigned)
    assert.equal(done.state, 'countersigned')
    assert.equal((await collect(store.listPending())).length, 0)
    assert.equal((await store.get(signed.id)).state, 'countersigned')
    assert.equal((await store.put(signed.bytes)).state, 'countersigned', 'a late one-sided copy changes nothing')
    assert.deepEqual(events, ['pending', 'added'])
  })

  it('refuses forged, mutated and wrongly signed receipts and leaves no trace', async () => {
    const good = await makeReceipt(providers[0], requesters[0])
    await store.put(good.countersigned)
    const before = await snapshot(datastore)

    const other = await makeReceipt(providers[1], requesters[1])
    const stranger = await party()
    const bad: Array<[Uint8Array, string[]]> = []
    for (let i = 0; i < other.countersigned.bytes.byteLength; i += 7) {
      const b = other.countersigned.bytes.slice()
      b[i] ^= 0x01
      bad.push([b, []])
    }
    const flipped = other.signed.bytes.slice()
    flipped[flipped.byteLength - 3] ^= 0x10
    bad.push([flipped, ['InvalidSignatureError']])
    bad.push([new Uint8Array(5000), ['RecordTooLargeError']])
    bad.push([new Uint8Array([1, 2, 3]), ['MalformedRecordError']])
    // countersigned by someone other than the named requester
    const { countersign } = await import('@shoal/records')
    await assert.rejects(countersign(other.signed, stranger.key), { name: 'WrongSignerError' })

    for (const [bytes, names] of bad) {
      await assert.rejects(store.put(bytes), (err: Error) => {
        assert.match(err.name, /Error$/)
        assert.ok(err.name !== 'CorruptStoreError' && err.name !== 'TypeError', err.name)
        if (names.length > 0) {
          assert.ok(names.includes(err.name), `${err.name} not in ${names.join()}`)
        }
        return true
      })
    }
    await assert.rejects(store.put({} as any), { name: 'MalformedRecordError' })
    assert.deepEqual(await snapshot(datastore), before)
    assert.equal((await store.verifyLog()).ok, true)
  })

  it('links every entry to the previous one', async () => {
    for (const r of await makeReceipts(6, providers, requesters)) {
      await store.put(r.countersigned.bytes)
    }
    const entries = await collect(store.log())
    assert.equal(entries.length, 6)
    assert.equal(hex(entries[0].prevHash), '00'.repeat(32))
    for (let i = 1; i < entries.length; i++) {
      assert.equal(entries[i].seq, i)
      assert.equal(hex(entries[i].prevHash), hex(entries[i - 1].hash))
    }
    assert.equal(hex(store.head().hash), hex(entries[5].hash))
    const v = await store.verifyLog({ signatures: true })
    assert.deepEqual(v.problems, [])
    assert.equal(v.length, 6)
  })

  it('lists by provider, requester, time and position', async () => {
    const rs = await makeReceipts(12, providers, requesters)
    for (const [i, r] of rs.entries()) {
      clock = 1_000 + i * 10
      await store.put(r.countersigned.bytes)
    }
    const all = await collect(store.list())
    assert.deepEqual(all.map(r => r.seq), [...Array(12).keys()])
    const byP = await collect(store.list({ provider: providers[1].peerId }))
    assert.equal(byP.length, 4)
    assert.ok(byP.every(r => r.provider.equals(providers[1].peerId)))
    const byR = await collect(store.list({ requester: requesters[3].peerId }))
    assert.equal(byR.length, rs.filter(r => r.signed.value.requester.every((b, i) => b === requesters[3].id[i])).length)
    assert.ok(byR.length > 0 && byR.every(r => r.requester.equals(requesters[3].peerId)))
    assert.deepEqual((await collect(store.list({ sinceMs: 1_050 }))).map(r => r.seq), [5, 6, 7, 8, 9, 10, 11])
    assert.deepEqual((await collect(store.list({ fromSeq: 3, limit: 2 }))).map(r => r.seq), [3, 4])
    assert.deepEqual((await collect(store.list({ provider: providers[1].peerId, limit: 2 }))).map(r => r.seq), [1, 4])
  })

  it('roots every epoch and proves every receipt in it', async () => {
    const rs = await makeReceipts(10, providers, requesters)
    for (const r of rs) {
      await store.put(r.countersigned.bytes)
    }
    const roots = await Promise.all([0, 1, 2].map(async e => store.epochRoot(e)))
    assert.deepEqual(roots.map(r => [r.size, r.complete]), [[4, true], [4, true], [2, false]])
    assert.equal(new Set(roots.map(r => hex(r.root))).size, 3)
    await assert.rejects(store.epochRoot(3), { name: 'ReceiptNotFoundError' })
    await assert.rejects(store.epochRoot(-1), { name: 'InvalidParametersError' })
    for (const [i, r] of rs.entries()) {
      const proof = await store.proveInclusion(r.countersigned.id)
      assert.equal(proof.epoch, Math.floor(i / 4))
      assert.equal(proof.index, i % 4)
      assert.ok(verifyInclusion(r.countersigned.id, proof, roots[proof.epoch].root))
      assert.equal(verifyInclusion(r.countersigned.id, proof, roots[(proof.epoch + 1) % 3].root), false)
      assert.equal(verifyInclusion(rs[(i + 1) % 10].countersigned.id, proof, roots[proof.epoch].root), false)
    }
    await assert.rejects(store.proveInclusion(new Uint8Array(32)), { name: 'ReceiptNotFoundError' })
    await assert.rejects(store.proveInclusion(new Uint8Array(3)), { name: 'InvalidParametersError' })
    // a closed epoch's root never changes
    const late = await makeReceipts(3, providers, requesters)
    for (const r of late) {
      await store.put(r.countersigned.bytes)
    }
    assert.equal(hex((await store.epochRoot(1)).root), hex(roots[1].root))
    assert.equal((await store.epochRoot(2)).complete, true)
  })

  it('detects two receipts for one assignment that disagree', async () => {
    const assignmentId = new Uint8Array(32).fill(9)
    const jobId = new Uint8Array(16).fill(1)
    const a = await makeReceipt(providers[0], requesters[0], { assignmentId, jobId, units: 10 })
    const b = await makeReceipt(providers[0], requesters[0], { assignmentId, jobId, units: 99 })
    const seen: Equivocation[] = []
    store.addEventListener('receipt:equivocation', (evt) => seen.push(evt.detail))
    await store.put(a.countersigned)
    const before = await store.reputation(providers[0].peerId)
    await store.put(b.countersigned)
    assert.equal(seen.length, 1)
    const list = await collect(store.equivocations())
    assert.equal(list.length, 1)
    const e = list[0]
    assert.equal(e.kind, 'assignment')
    assert.ok(e.offender.equals(providers[0].peerId))
    assert.equal(hex(e.first), hex(a.countersigned.bytes))
    assert.equal(hex(e.second), hex(b.countersigned.bytes))
    assert.equal(hex(e.id), hex(seen[0].id))
    assert.deepEqual(await verifyEquivocation(e.first, e.second).then(r => r.kind), 'assignment')
    await assert.rejects(verifyEquivocation(e.first, e.first), { name: 'InvalidEquivocationError' })
    assert.equal((await collect(store.equivocations({ provider: providers[1].peerId }))).length, 0)
    const after = await store.explainReputation(providers[0].peerId)
    assert.equal(after.equivocations, 1)
    assert.equal(after.receipts, 1, 'one job counts once')
    assert.ok(after.score < before)
    // the conflicting receipt is kept (it is evidence) and the log still verifies
    assert.equal(store.head().length, 2)
    assert.equal((await store.verifyLog()).ok, true)
  })

  it('detects one provider claiming one job twice under different assignments', async () => {
    const jobId = new Uint8Array(16).fill(2)
    const a = await makeReceipt(providers[1], requesters[0], { jobId })
    const b = await makeReceipt(providers[1], requesters[1], { jobId, status: 3 })
    const c = await makeReceipt(providers[2], requesters[1], { jobId })
    await Promise.all([store.put(a.countersigned), store.put(b.countersigned), store.put(c.countersigned)])
    const list = await collect(store.equivocations())
    assert.equal(list.length, 1)
    assert.equal(list[0].kind, 'job')
    assert.ok(list[0].offender.equals(providers[1].peerId))
    assert.equal((await verifyEquivocation(list[0].first, list[0].second)).kind, 'job')
    await assert.rejects(verifyEquivocation(a.countersigned.bytes, c.countersigned.bytes), { name: 'InvalidEquivocationError' })
  })

  it('weights reputation by the diversity of requesters', async () => {
    const many = await Promise.all(Array.from({ length: 10 }, async () => party()))
    const [pumped, diverse, failing, unknown] = await Promise.all([party(), party(), party(), party()])
    for (let i = 0; i < 30; i++) {
      await store.put((await makeReceipt(pumped, requesters[0])).countersigned)
    }
    for (const r of many) {
      await store.put((await makeReceipt(diverse, r)).countersigned)
    }
    for (const [i, r] of many.entries()) {
      await store.put((await makeReceipt(failing, r, { status: i < 6 ? 1 : 0 })).countersigned)
    }
    await store.put((await makeReceipt(unknown, unknown)).countersigned)

    const p = await store.explainReputation(pumped.peerId)
    const d = await store.explainReputation(diverse.peerId)
    const f = await store.explainReputation(failing.peerId)
    const u = await store.explainReputation(unknown.peerId)
    assert.equal(p.receipts, 30)
    assert.equal(p.requesters, 1)
    assert.ok(p.weightedSuccesses <= 4, 'one requester contributes at most the cap')
    assert.ok(d.score > p.score, `${d.score} > ${p.score}`)
    assert.ok(f.score < 0.5 && f.score < d.score)
    assert.equal(u.score, 0.5, 'self-dealing counts for nothing')
    assert.equal(u.ignored, 1)
    assert.equal(await store.reputation((await party()).peerId), 0.5)
    for (const x of [p, d, f, u]) {
      assert.ok(x.score >= 0 && x.score <= 1)
    }
    // a new receipt invalidates the cached score
    await store.put((await makeReceipt(pumped, requesters[1])).countersigned)
    assert.ok((await store.reputation(pumped.peerId)) > p.score)
  })

  it('keeps the standing of both parties, ignores self-dealing and rebuilds it on reopen', async () => {
    const [loner, fresh] = await Promise.all([party(), party()])
    const { signed } = await makeReceipt(providers[0], requesters[2])
    await store.put(signed)
    assert.deepEqual(store.standing(providers[0].peerId), { receipts: 0, counterparties: 0 }, 'a pending receipt gives no standing')
    for (const r of [requesters[0], requesters[0], requesters[1]]) {
      await store.put((await makeReceipt(providers[0], r)).countersigned)
    }
    await store.put((await makeReceipt(loner, loner)).countersigned)
    const expected = new Map([
      [providers[0], { receipts: 3, counterparties: 2 }],
      [requesters[0], { receipts: 2, counterparties: 1 }],
      [requesters[1], { receipts: 1, counterparties: 1 }],
      [loner, { receipts: 0, counterparties: 0 }],
      [fresh, { receipts: 0, counterparties: 0 }]
    ])
    for (const [p, standing] of expected) {
      assert.deepEqual(store.standing(p.peerId), standing)
    }

    await store.stop()
    store = await createReceiptStore({ datastore, epochSize: 4, now: () => clock })
    for (const [p, standing] of expected) {
      assert.deepEqual(store.standing(p.peerId), standing, 'rebuilt from the log')
    }
  })

  it('bounds the standing index, dropping the least recently updated peer', () => {
    const index = new StandingIndex(3)
    const id = (n: number): Uint8Array => Uint8Array.of(0, 1, n)
    index.add({ provider: id(1), requester: id(2) })
    index.add({ provider: id(3), requester: id(1) })
    // 4 peers seen, 3 kept: peer 2 was updated least recently
    index.add({ provider: id(4), requester: id(1) })
    assert.equal(index.size, 3)
    assert.deepEqual(index.get(hex(id(2))), { receipts: 0, counterparties: 0 })
    assert.deepEqual(index.get(hex(id(1))), { receipts: 3, counterparties: 3 })
  })

  it('appends concurrent puts in one consistent log', async () => {
    const rs = await makeReceipts(60, providers, requesters)
    const stored = await Promise.all(rs.map(async r => store.put(r.countersigned.bytes)))
    assert.deepEqual(stored.map(s => s.seq).sort((a, b) => (a ?? 0) - (b ?? 0)), [...Array(60).keys()])
    const v = await store.verifyLog()
    assert.deepEqual(v.problems, [])
    assert.equal(v.length, 60)
  })

  it('detects tampering with stored bytes', async () => {
    const rs = await makeReceipts(9, providers, requesters)
    for (const r of rs) {
      await store.put(r.countersigned.bytes)
    }
    const id = hex(rs[3].countersigned.id)
    const rk = new Key(`/shoal/receipts/receipt/${id}`)
    const original = await datastore.get(rk)
    const bad = original.slice()
    bad[100] ^= 1
    await datastore.put(rk, bad)
    const v = await store.verifyLog()
    assert.equal(v.ok, false)
    assert.equal(v.problems[0].seq, 3)
    assert.match(v.problems[0].reason, /differ/)
    await datastore.put(rk, original)
    assert.equal((await store.verifyLog()).ok, true)

    await datastore.delete(new Key('/shoal/receipts/log/0000000000000005'))
    const gone = await store.verifyLog()
    assert.equal(gone.ok, false)
    assert.equal(gone.problems[0].seq, 5)
  })

  it('refuses use before start and another epoch size on reopen', async () => {
    const fresh = new DatastoreReceiptStore({ datastore: new MemoryDatastore() })
    await assert.rejects(fresh.put(new Uint8Array(1)), { name: 'StoreNotOpenError' })
    await assert.rejects(store.get(new Uint8Array(32)), { name: 'ReceiptNotFoundError' })
    await assert.rejects(createReceiptStore({ datastore, epochSize: 8 }), { name: 'InvalidParametersError' })
    assert.throws(() => new DatastoreReceiptStore({ datastore }, { epochSize: 0 }), { name: 'InvalidParametersError' })
  })

  it('recovers a consistent head after a non-atomic crash, and refuses a head that names a missing entry', async () => {
    const rs = await makeReceipts(3, providers, requesters)
    for (const r of rs.slice(0, 2)) {
      await store.put(r.countersigned.bytes)
    }
    await store.stop()
    // replay a third append whose batch died after the log entry, before the indexes and head
    const scratch = new MemoryDatastore()
    const s2 = await createReceiptStore({ datastore: scratch, epochSize: 4, now: () => clock })
    for (const r of rs) {
      await s2.put(r.countersigned.bytes)
    }
    const id = hex(rs[2].countersigned.id)
    for (const k of [`/shoal/receipts/receipt/${id}`, '/shoal/receipts/log/0000000000000002']) {
      await datastore.put(new Key(k), await scratch.get(new Key(k)))
    }
    store = await createReceiptStore({ datastore, epochSize: 4 })
    assert.equal(store.head().length, 3)
    assert.ok(await store.has(rs[2].countersigned.id))
    assert.equal((await store.verifyLog()).ok, true)
    await s2.stop()

    await store.stop()
    await datastore.delete(new Key('/shoal/receipts/log/0000000000000002'))
    await assert.rejects(createReceiptStore({ datastore, epochSize: 4 }), { name: 'CorruptStoreError' })
    store = await createReceiptStore({ datastore: new MemoryDatastore() })
  })

  it('keeps stores with different prefixes apart in one datastore', async () => {
    const other = await createReceiptStore({ datastore, prefix: '/other', epochSize: 4 })
    const r = await makeReceipt(providers[0], requesters[0])
    await other.put(r.countersigned)
    assert.equal(await store.has(r.countersigned.id), false)
    assert.equal(store.head().length, 0)
    assert.equal((await other.verifyLog()).ok, true)
    assert.equal((await store.verifyLog()).ok, true)
    await other.stop()
  })

  it('returns stored receipts whose fields match what was put', async () => {
    const r = await makeReceipt(providers[2], requesters[2], { units: 7, status: 2 })
    const s: StoredReceipt = await store.put(r.countersigned)
    assert.equal(s.value.units, 7)
    assert.equal(s.value.status, 2)
    assert.equal(s.value.total, 21)
  })
})
