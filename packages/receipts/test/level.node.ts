import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LevelDatastore } from 'datastore-level'
import { party } from '@shoal/test-support'
import { createReceiptStore, verifyInclusion } from '../src/index.js'
import type { ExpiredReceipt, ReceiptStore } from '../src/index.js'
import { makeReceipt, makeReceipts } from './fixtures/receipts.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('receipt store on LevelDB', function () {
  this.timeout(120_000)
  let dir: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-receipts-'))
  })

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('keeps receipts, pending receipts, equivocations and epoch roots across close and reopen', async () => {
    const providers = await Promise.all([party(), party()])
    const requesters = await Promise.all([party(), party(), party()])
    const rs = await makeReceipts(25, providers, requesters)
    const pending = await makeReceipt(providers[0], requesters[0])
    const assignmentId = new Uint8Array(32).fill(5)
    const a = await makeReceipt(providers[1], requesters[1], { assignmentId, units: 1 })
    const b = await makeReceipt(providers[1], requesters[1], { assignmentId, units: 2 })

    let datastore = new LevelDatastore(dir)
    await datastore.open()
    let store = await createReceiptStore({ datastore, epochSize: 8 })
    await Promise.all(rs.map(async r => store.put(r.countersigned.bytes)))
    await store.put(pending.signed.bytes)
    await store.put(a.countersigned)
    await store.put(b.countersigned)
    const head = store.head()
    const roots = await Promise.all([0, 1, 2, 3].map(async e => store.epochRoot(e)))
    const reputation = await store.reputation(providers[1].peerId)
    await store.stop()
    await datastore.close()

    datastore = new LevelDatastore(dir)
    await datastore.open()
    store = await createReceiptStore({ datastore, epochSize: 8 })
    assert.equal(store.head().length, 27)
    assert.equal(hex(store.head().hash), hex(head.hash))
    for (const r of rs) {
      assert.ok(await store.has(r.countersigned.id))
      const proof = await store.proveInclusion(r.countersigned.id)
      assert.ok(verifyInclusion(r.countersigned.id, proof, roots[proof.epoch].root))
    }
    for (const e of [0, 1, 2, 3]) {
      assert.equal(hex((await store.epochRoot(e)).root), hex(roots[e].root))
    }
    assert.equal((await store.get(pending.signed.id)).state, 'pending')
    const eqs = []
    for await (const e of store.equivocations()) {
      eqs.push(e)
    }
    assert.equal(eqs.length, 1)
    assert.equal(await store.reputation(providers[1].peerId), reputation)
    const v = await store.verifyLog({ signatures: true })
    assert.deepEqual(v.problems, [])
    // appending after a reopen continues the same chain
    await store.put((await makeReceipt(providers[0], requesters[2])).countersigned)
    assert.equal((await store.verifyLog()).ok, true)
    await store.stop()
    await datastore.close()
  })

  describe('pending receipts', () => {
    let datastore: LevelDatastore
    let store: ReceiptStore | undefined
    let clock = 1_000_000
    const removed: ExpiredReceipt[] = []

    const open = async (init: { maxPending?: number, maxPendingPerRequester?: number, pendingTtlMs?: number } = {}): Promise<ReceiptStore> => {
      datastore = new LevelDatastore(dir)
      await datastore.open()
      store = await createReceiptStore({ datastore, now: () => clock, ...init })
      store.addEventListener('receipt:expired', (evt) => { removed.push(evt.detail) })
      return store
    }
    const close = async (): Promise<void> => {
      await store?.stop()
      await datastore.close()
      store = undefined
    }
    const pendingIds = async (s: ReceiptStore): Promise<string[]> => {
      const out: string[] = []
      for await (const r of s.listPending()) out.push(hex(r.id))
      return out
    }

    beforeEach(() => {
      clock = 1_000_000
      removed.length = 0
    })

    afterEach(async () => {
      if (store != null) await close()
    })

    it('caps pending receipts per requester: a requester that never countersigns pushes out only its own oldest', async () => {
      const provider = await party()
      const [silent, other] = await Promise.all([party(), party()])
      const s = await open({ maxPendingPerRequester: 3 })
      const theirs = await makeReceipt(provider, other)
      await s.put(theirs.signed)
      const silents = []
      for (let i = 0; i < 6; i++) {
        clock++
        const r = await makeReceipt(provider, silent)
        silents.push(r)
        await s.put(r.signed)
      }
      assert.equal(s.pendingCount, 4)
      assert.deepEqual(removed.map(r => [r.reason, hex(r.receipt.id)]), silents.slice(0, 3).map(r => ['evicted', hex(r.signed.id)]))
      // the evidence is in the event, whole: it still verifies as the provider's receipt
      assert.equal(hex(removed[0].receipt.envelope), hex(silents[0].signed.bytes))
      assert.deepEqual(new Set(await pendingIds(s)), new Set([theirs, ...silents.slice(3)].map(r => hex(r.signed.id))))
    })

    it('keeps the total cap across a restart, and applies a smaller cap to what is on disk', async () => {
      const provider = await party()
      const requesters = await Promise.all([party(), party(), party(), party(), party()])
      let s = await open({ maxPending: 4 })
      const rs = []
      for (const requester of requesters.slice(0, 4)) {
        clock++
        const r = await makeReceipt(provider, requester)
        rs.push(r)
        await s.put(r.signed.bytes)
      }
      await close()

      s = await open({ maxPending: 4 })
      assert.equal(s.pendingCount, 4, 'counted on open')
      clock++
      const fifth = await makeReceipt(provider, requesters[4])
      await s.put(fifth.signed)
      assert.equal(s.pendingCount, 4)
      assert.deepEqual(removed.map(r => hex(r.receipt.id)), [hex(rs[0].signed.id)])
      await close()

      s = await open({ maxPending: 2 })
      assert.equal(s.pendingCount, 4, 'nothing is removed until a put needs room')
      clock++
      const sixth = await makeReceipt(provider, requesters[0])
      await s.put(sixth.signed)
      assert.equal(s.pendingCount, 2)
      assert.deepEqual(new Set(await pendingIds(s)), new Set([fifth, sixth].map(r => hex(r.signed.id))))
      await close()

      s = await open({ maxPending: 2 })
      assert.equal(s.pendingCount, 2)
    })

    it('expires pending receipts past their age, also after a restart, and a countersigned copy frees its slot', async () => {
      const provider = await party()
      const requester = await party()
      let s = await open({ pendingTtlMs: 1000, maxPendingPerRequester: 2 })
      const old = await makeReceipt(provider, requester)
      await s.put(old.signed)
      clock += 600
      const young = await makeReceipt(provider, requester)
      await s.put(young.signed)
      await close()

      clock += 500
      s = await open({ pendingTtlMs: 1000, maxPendingPerRequester: 2 })
      assert.equal(await s.expirePending(), 1)
      assert.deepEqual(removed.map(r => [r.reason, hex(r.receipt.id)]), [['expired', hex(old.signed.id)]])
      assert.equal(await s.has(old.signed.id, { pending: true }), false)

      // countersigned: out of the pending set, into the log, never expired
      await s.put(young.countersigned)
      assert.equal(s.pendingCount, 0)
      const next = [await makeReceipt(provider, requester), await makeReceipt(provider, requester)]
      for (const r of next) await s.put(r.signed)
      assert.equal(s.pendingCount, 2)
      assert.equal(removed.length, 1, 'the countersigned receipt did not count against the cap')
      clock += 5000
      assert.deepEqual(await pendingIds(s), [], 'listPending expires first')
      assert.equal(removed.length, 3)
      assert.equal((await s.get(young.signed.id)).state, 'countersigned')
    })
  })

  it('loses no acknowledged receipt when the writer is killed with SIGKILL, five times', async () => {
    const script = fileURLToPath(new URL('./fixtures/append-loop.js', import.meta.url))
    const acked = new Set<string>()
    for (let round = 0; round < 5; round++) {
      const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      child.stderr.on('data', (d: Buffer) => { err += d.toString() })
      const exited = new Promise<NodeJS.Signals | null>(resolve => child.on('exit', (_code, signal) => { resolve(signal) }))
      await new Promise<void>((resolve, reject) => {
        let killed = false
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString()
          if (!killed && out.includes('ready\n')) {
            killed = true
            // let it append for a while, then kill it mid-write
            setTimeout(() => { child.kill('SIGKILL'); resolve() }, 150 + Math.floor(Math.random() * 400))
          }
        })
        child.on('exit', () => { if (!killed) reject(new Error(`child exited early: ${err}`)) })
      })
      assert.equal(await exited, 'SIGKILL', err)
      // only whole lines were written after put() resolved
      const lines = out.split('\n').slice(0, -1)
      const ids = lines.filter(l => l.startsWith('ack ')).map(l => l.slice(4))
      assert.ok(ids.length > 0, `round ${round}: the child acknowledged nothing (${err})`)
      ids.forEach(id => acked.add(id))
    }

    const datastore = new LevelDatastore(dir)
    await datastore.open()
    const store = await createReceiptStore({ datastore, epochSize: 16 })
    for (const id of acked) {
      assert.ok(await store.has(Buffer.from(id, 'hex')), `acknowledged receipt ${id} is missing`)
    }
    assert.ok(store.head().length >= acked.size)
    const v = await store.verifyLog()
    assert.deepEqual(v.problems, [])
    await store.stop()
    await datastore.close()
  })
})
