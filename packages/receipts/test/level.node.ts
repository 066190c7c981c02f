import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LevelDatastore } from 'datastore-level'
import { createReceiptStore, verifyInclusion } from '../src/index.js'
import { makeReceipt, makeReceipts, party } from './fixtures/receipts.js'

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
