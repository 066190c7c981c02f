import assert from 'node:assert/strict'
import { GEOHASH_ALPHABET, JobAnnouncement, JobKind, JobSyncRequest } from '@shoal/records'
import fc from 'fast-check'
import {
  JOB_KINDS, JobStore, MAX_SYNC_REQUEST_BYTES, SYNC_KIND_NUMBER, decodeSyncRequest, encodeSyncRequest, jobMatchesInterests, validateJobMessage
} from '../src/index.js'
import { NOW, party } from '@shoal/test-support'
import { announcement, signedAnnouncement, stubState } from './fixtures.js'
import type { Interests, JobEntry, TopicJobKind } from '../src/index.js'
import type { Party } from '@shoal/test-support'

const geohashChar = fc.constantFrom(...GEOHASH_ALPHABET)
const prefix = fc.oneof(geohashChar, fc.tuple(geohashChar, geohashChar).map(([a, b]) => a + b))
const interests: fc.Arbitrary<Interests> = fc.record({
  kinds: fc.subarray([...JOB_KINDS]),
  regions: fc.uniqueArray(prefix, { maxLength: 40 })
})

describe('sync request (JobSyncRequest)', () => {
  it('uses the wire numbers of enum JobKind in records.proto', () => {
    for (const kind of JOB_KINDS) {
      // field 4 of JobAnnouncement is its JobKind: the byte after the tag is the enum number
      assert.equal(JobAnnouncement.decode(Uint8Array.of(0x20, SYNC_KIND_NUMBER[kind])).kind, kind)
    }
  })

  it('round-trips any valid interests', () => {
    fc.assert(fc.property(interests, (wants) => {
      const back = decodeSyncRequest(encodeSyncRequest(wants))
      assert.deepEqual(new Set(back.kinds), new Set(wants.kinds))
      assert.deepEqual(new Set(back.regions), new Set(wants.regions))
    }))
  })

  it('reads kinds written packed (proto3, what it writes) and unpacked (one tag per kind)', () => {
    // kinds [1, 3], region 'w2': packed = one run under tag 0x0a; unpacked = tag 0x08 before each kind
    const region = [0x12, 0x02, 0x77, 0x32]
    const packed = Uint8Array.from([0x0a, 0x02, 0x01, 0x03, ...region])
    const unpacked = Uint8Array.from([0x08, 0x01, 0x08, 0x03, ...region])
    assert.deepEqual(encodeSyncRequest({ kinds: [JobKind.GPU_INFERENCE, JobKind.CAPTURE], regions: ['w2'] }), packed)
    for (const bytes of [packed, unpacked]) {
      assert.deepEqual(decodeSyncRequest(bytes), { kinds: [JobKind.GPU_INFERENCE, JobKind.CAPTURE], regions: ['w2'] })
    }
    // a packed run that ends inside its last kind is refused like any undecodable frame
    assert.throws(() => decodeSyncRequest(Uint8Array.from([0x0a, 0x02, 0x01, 0x83])), { name: 'InvalidSyncRequestError' })
  })

  it('cuts regions to the region precision', () => {
    assert.deepEqual(decodeSyncRequest(encodeSyncRequest({ kinds: [JobKind.CAPTURE], regions: ['w21z', 'w2', 'u'] })).regions, ['w2', 'u'])
  })

  it('refuses any bytes it cannot accept with InvalidSyncRequestError, and nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        const wants = decodeSyncRequest(bytes)
        // what it accepts is well formed
        assert.ok((wants.kinds ?? []).every(k => (JOB_KINDS as readonly JobKind[]).includes(k)))
        assert.ok((wants.regions ?? []).every(r => r.length >= 1 && r.length <= 2 && [...r].every(c => GEOHASH_ALPHABET.includes(c))))
      } catch (err: unknown) {
        assert.ok(err instanceof Error)
        assert.equal(err.name, 'InvalidSyncRequestError', String(err))
      }
    }), { numRuns: 2000 })
  })

  it('refuses unknown kinds, non-geohash or long regions, too many items and oversized frames', () => {
    const bad = [
      JobSyncRequest.encode({ kinds: [0], regions: [] }),
      JobSyncRequest.encode({ kinds: [7], regions: [] }),
      JobSyncRequest.encode({ kinds: [1], regions: ['a'] }),
      JobSyncRequest.encode({ kinds: [1], regions: ['w21'] }),
      JobSyncRequest.encode({ kinds: [1], regions: [''] }),
      JobSyncRequest.encode({ kinds: [], regions: Array.from({ length: 257 }, () => 'w') }),
      new Uint8Array(MAX_SYNC_REQUEST_BYTES + 1)
    ]
    for (const bytes of bad) {
      assert.throws(() => decodeSyncRequest(bytes), { name: 'InvalidSyncRequestError' })
    }
  })
})

describe('sync: cheap checks first', () => {
  it('drops an announcement the asker does not want before checking its signature', async () => {
    const p = await party()
    const record = await signedAnnouncement(p)
    const forged = record.bytes.slice()
    forged[forged.length - 1] ^= 1
    const state = stubState()
    const dropped = await validateJobMessage(forged, {}, { ...state, interested: () => false })
    assert.deepEqual(dropped.result === 'ignore' && dropped.reason, 'not-interested')
    // the same bytes, wanted: the signature is checked and fails
    const checked = await validateJobMessage(forged, {}, { ...state, interested: () => true })
    assert.deepEqual(checked.result === 'reject' && checked.reason, 'invalid-signature')
  })
})

describe('JobStore.newest(wants)', () => {
  let parties: Party[]

  before(async () => {
    parties = await Promise.all([party(), party(), party()])
  })

  const entry = (i: number, kind: TopicJobKind, region: string): JobEntry => {
    const p = parties[i % parties.length]
    const value = announcement(p, { kind, requirements: { gpuModel: '', gpuClass: '', minVramMib: 0, gpuCount: 0, sensors: [], region, maxRttMs: 0 } })
    const key = Buffer.from(value.jobId).toString('hex')
    return { record: { value, bytes: new Uint8Array(), signer: p.peerId, id: new Uint8Array() } as any, key, requester: p.peerId, topics: [], receivedMs: NOW + i, source: 'gossip' }
  }
  const job = fc.record({
    kind: fc.constantFrom(...JOB_KINDS),
    region: fc.oneof(fc.constant(''), prefix, fc.tuple(prefix, prefix).map(([a, b]) => (a + b).slice(0, 4)))
  })

  it('yields exactly the wanted live entries, newest first, after adds, removals and evictions', () => {
    fc.assert(fc.property(fc.array(job, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 20 }), fc.option(interests, { nil: undefined }), (jobs, removals, wants) => {
      const store = new JobStore({ maxJobs: 40, maxPerRequester: 30, maxWithdrawals: 10 })
      const entries = jobs.map((j, i) => entry(i, j.kind, j.region))
      entries.forEach(e => store.add(e))
      for (const r of removals) {
        const keys = [...store.values()].map(e => e.key)
        if (keys.length > 0) store.remove(keys[r % keys.length])
      }
      const expected = [...store.values()].reverse().filter(e => wants == null || jobMatchesInterests(e.record.value, wants)).map(e => e.key)
      assert.deepEqual([...store.newest(wants)].map(e => e.key), expected)
    }), { numRuns: 300 })
  })

  it('walks only the wanted buckets', () => {
    const store = new JobStore({ maxJobs: 10_000, maxPerRequester: 10_000, maxWithdrawals: 10 })
    for (let i = 0; i < 2000; i++) store.add(entry(i, JobKind.GPU_INFERENCE, 'w21z'))
    const capture = entry(5000, JobKind.CAPTURE, 'u09t')
    store.add(capture)
    for (let i = 0; i < 2000; i++) store.add(entry(6000 + i, JobKind.GPU_INFERENCE, 'u09t'))
    const it = store.newest({ kinds: [JobKind.CAPTURE], regions: ['u0'] })
    assert.equal(it.next().value?.key, capture.key)
    assert.equal(it.next().done, true)
  })
})
