import assert from 'node:assert/strict'
import { JobKind } from '@shoal/records'
import fc from 'fast-check'
import { NOW, party } from '@shoal/test-support'
import { jobKey } from '../src/board.js'
import { jobTopic } from '../src/topics.js'
import { validateJobMessage } from '../src/validator.js'
import { W2_TOPIC, signedAnnouncement, signedWithdrawal, stubState } from './fixtures.js'
import type { MessageContext, MessageVerdict } from '../src/validator.js'
import type { Party } from '@shoal/test-support'

function expectVerdict (verdict: MessageVerdict, result: 'accept' | 'ignore' | 'reject', reason?: string): void {
  assert.equal(verdict.result, result, `expected ${result} ${reason ?? ''}, got ${verdict.result} ${verdict.result === 'accept' ? '' : verdict.reason}`)
  if (reason != null && verdict.result !== 'accept') {
    assert.equal(verdict.reason, reason)
  }
}

describe('validateJobMessage', () => {
  let requester: Party
  let relay: Party
  let other: Party

  before(async () => {
    requester = await party()
    relay = await party()
    other = await party()
  })

  /** published by the requester, received straight from it */
  const direct = (): MessageContext => ({ topic: W2_TOPIC, propagationSource: requester.peerId, from: requester.peerId })
  /** published by the requester, received through a relay */
  const relayed = (): MessageContext => ({ topic: W2_TOPIC, propagationSource: relay.peerId, from: requester.peerId })

  it('accepts a valid announcement on its regional and global topics', async () => {
    const job = await signedAnnouncement(requester)
    const verdict = await validateJobMessage(job.bytes, direct(), stubState())
    expectVerdict(verdict, 'accept')
    assert.ok(verdict.result === 'accept' && verdict.type === 'announcement' && verdict.key === jobKey(job.value.jobId))
    expectVerdict(await validateJobMessage(job.bytes, { ...direct(), topic: jobTopic(JobKind.GPU_INFERENCE) }, stubState()), 'accept')
    expectVerdict(await validateJobMessage(job.bytes, { propagationSource: relay.peerId }, stubState()), 'accept')
  })

  it('rejects an announcement on the wrong region or kind topic', async () => {
    const job = await signedAnnouncement(requester)
    expectVerdict(await validateJobMessage(job.bytes, { ...direct(), topic: jobTopic(JobKind.GPU_INFERENCE, 'u0') }, stubState()), 'reject', 'wrong-topic')
    expectVerdict(await validateJobMessage(job.bytes, { ...direct(), topic: jobTopic(JobKind.GPU_BATCH, 'w2') }, stubState()), 'reject', 'wrong-topic')
    expectVerdict(await validateJobMessage(job.bytes, { ...direct(), topic: '/other/topic' }, stubState()), 'reject', 'unknown-topic')
    const anywhere = await signedAnnouncement(requester, { requirements: { gpuModel: '', gpuClass: '', minVramMib: 0, gpuCount: 0, sensors: [], region: '', maxRttMs: 0 } })
    expectVerdict(await validateJobMessage(anywhere.bytes, direct(), stubState()), 'reject', 'wrong-topic')
  })

  it('rejects a job published by another peer than its requester (replay)', async () => {
    const job = await signedAnnouncement(requester)
    expectVerdict(await validateJobMessage(job.bytes, { topic: W2_TOPIC, propagationSource: relay.peerId, from: other.peerId }, stubState()), 'reject', 'origin-mismatch')
  })

  it('rejects forged signatures', async () => {
    const job = await signedAnnouncement(requester)
    const forged = job.bytes.slice()
    forged[forged.length - 1] ^= 1
    expectVerdict(await validateJobMessage(forged, direct(), stubState()), 'reject', 'invalid-signature')
  })

  it('ignores slightly expired or early records and rejects grossly wrong times', async () => {
    const job = await signedAnnouncement(requester)
    const expires = job.value.expiresMs
    expectVerdict(await validateJobMessage(job.bytes, relayed(), stubState({ now: expires + 40_000 })), 'ignore', 'expired')
    expectVerdict(await validateJobMessage(job.bytes, relayed(), stubState({ now: expires + 200_000 })), 'reject', 'expired')
    expectVerdict(await validateJobMessage(job.bytes, relayed(), stubState({ now: NOW - 40_000 })), 'ignore', 'not-yet-valid')
    expectVerdict(await validateJobMessage(job.bytes, relayed(), stubState({ now: NOW - 200_000 })), 'reject', 'not-yet-valid')
  })

  it('rejects oversized and malformed bytes', async () => {
    expectVerdict(await validateJobMessage(new Uint8Array(5000), direct(), stubState()), 'reject', 'too-large')
    expectVerdict(await validateJobMessage(new Uint8Array([1, 2, 3]), direct(), stubState()), 'reject', 'malformed')
    expectVerdict(await validateJobMessage(new Uint8Array(), direct(), stubState()), 'reject', 'malformed')
  })

  it('ignores duplicates, and charges repeats by the author to its rate limit', async () => {
    const job = await signedAnnouncement(requester)
    const state = stubState({ tokens: 2, overdraft: 1 })
    state.jobs.set(jobKey(job.value.jobId), { bytes: job.bytes, requesterKey: requester.hex })
    expectVerdict(await validateJobMessage(job.bytes, relayed(), state), 'ignore', 'duplicate')
    expectVerdict(await validateJobMessage(job.bytes, relayed(), state), 'ignore', 'duplicate')
    assert.equal(state.taken.get(requester.hex) ?? 0, 0, 'relays are not charged')
    expectVerdict(await validateJobMessage(job.bytes, direct(), state), 'ignore', 'duplicate')
    expectVerdict(await validateJobMessage(job.bytes, direct(), state), 'ignore', 'duplicate')
    expectVerdict(await validateJobMessage(job.bytes, direct(), state), 'ignore', 'rate-limited')
    expectVerdict(await validateJobMessage(job.bytes, direct(), state), 'reject', 'rate-abuse')
  })

  it('ignores a second version of a known job (first wins)', async () => {
    const job = await signedAnnouncement(requester)
    const again = await signedAnnouncement(requester, { jobId: job.value.jobId, budget: 5 })
    const state = stubState()
    state.jobs.set(jobKey(job.value.jobId), { bytes: job.bytes, requesterKey: requester.hex })
    expectVerdict(await validateJobMessage(again.bytes, direct(), state), 'ignore', 'conflicting-job')
  })

  it('rate-limits per requester: ignores what is over the limit, from the author too; rejects only the author\'s abuse', async () => {
    const state = stubState({ tokens: 1, overdraft: 2 })
    expectVerdict(await validateJobMessage((await signedAnnouncement(requester)).bytes, direct(), state), 'accept')
    // over the limit is busy, not abusive: nobody is blamed
    expectVerdict(await validateJobMessage((await signedAnnouncement(requester)).bytes, relayed(), state), 'ignore', 'rate-limited')
    expectVerdict(await validateJobMessage((await signedAnnouncement(requester)).bytes, direct(), state), 'ignore', 'rate-limited')
    // past the overdraft: the author is blamed, a relay cannot know
    expectVerdict(await validateJobMessage((await signedAnnouncement(requester)).bytes, relayed(), state), 'ignore', 'rate-abuse')
    expectVerdict(await validateJobMessage((await signedAnnouncement(requester)).bytes, direct(), state), 'reject', 'rate-abuse')
    // another requester has its own bucket
    expectVerdict(await validateJobMessage((await signedAnnouncement(other)).bytes, { topic: W2_TOPIC, propagationSource: other.peerId, from: other.peerId }, state), 'accept')
  })

  it('withdrawals count against the same limit: ignored over it, rejected from the author past the overdraft', async () => {
    const state = stubState({ tokens: 0, overdraft: 1 })
    const jobId = (await signedAnnouncement(requester)).value.jobId
    expectVerdict(await validateJobMessage((await signedWithdrawal(requester, jobId)).bytes, direct(), state), 'ignore', 'rate-limited')
    expectVerdict(await validateJobMessage((await signedWithdrawal(requester, jobId)).bytes, direct(), state), 'reject', 'rate-abuse')
  })

  it('checks validity before the rate limit: an invalid message is rejected whatever the limit says', async () => {
    const state = stubState({ tokens: Infinity })
    const forged = (await signedAnnouncement(requester)).bytes.slice()
    forged[forged.length - 1] ^= 0xff
    expectVerdict(await validateJobMessage(forged, direct(), state), 'reject', 'invalid-signature')
    const limited = stubState({ tokens: 0, overdraft: Infinity })
    expectVerdict(await validateJobMessage(forged, direct(), limited), 'reject', 'invalid-signature')
    expectVerdict(await validateJobMessage((await signedAnnouncement(requester)).bytes, { ...direct(), from: other.peerId, propagationSource: other.peerId }, limited), 'reject', 'origin-mismatch')
  })

  it('ignores an announcement its requester already withdrew', async () => {
    const job = await signedAnnouncement(requester)
    const state = stubState()
    state.withdrawals.set(jobKey(job.value.jobId), { bytes: new Uint8Array(1), requesterKey: requester.hex })
    expectVerdict(await validateJobMessage(job.bytes, relayed(), state), 'ignore', 'withdrawn')
  })

  describe('withdrawals', () => {
    it('accepts a withdrawal by the requester, known job or not', async () => {
      const job = await signedAnnouncement(requester)
      const w = await signedWithdrawal(requester, job.value.jobId)
      const state = stubState()
      const verdict = await validateJobMessage(w.bytes, direct(), state)
      expectVerdict(verdict, 'accept')
      assert.ok(verdict.result === 'accept' && verdict.type === 'withdrawal')
      state.jobs.set(jobKey(job.value.jobId), { bytes: job.bytes, requesterKey: requester.hex })
      expectVerdict(await validateJobMessage(w.bytes, relayed(), state), 'accept')
    })

    it('refuses a withdrawal by someone else than the requester', async () => {
      const job = await signedAnnouncement(requester)
      const w = await signedWithdrawal(other, job.value.jobId)
      const state = stubState()
      state.jobs.set(jobKey(job.value.jobId), { bytes: job.bytes, requesterKey: requester.hex })
      expectVerdict(await validateJobMessage(w.bytes, { topic: W2_TOPIC, propagationSource: other.peerId, from: other.peerId }, state), 'reject', 'not-requester')
      expectVerdict(await validateJobMessage(w.bytes, { topic: W2_TOPIC, propagationSource: relay.peerId, from: other.peerId }, state), 'ignore', 'not-requester')
      expectVerdict(await validateJobMessage(w.bytes, { topic: W2_TOPIC, propagationSource: relay.peerId, from: requester.peerId }, state), 'reject', 'origin-mismatch')
    })

    it('rejects forged withdrawals and ignores stale or duplicate ones', async () => {
      const job = await signedAnnouncement(requester)
      const w = await signedWithdrawal(requester, job.value.jobId)
      const forged = w.bytes.slice()
      forged[forged.length - 1] ^= 1
      expectVerdict(await validateJobMessage(forged, direct(), stubState()), 'reject', 'invalid-signature')
      expectVerdict(await validateJobMessage(w.bytes, relayed(), stubState({ now: NOW + 31 * 24 * 3600 * 1000 })), 'ignore', 'stale-withdrawal')
      const state = stubState()
      state.withdrawals.set(jobKey(job.value.jobId), { bytes: w.bytes, requesterKey: requester.hex })
      expectVerdict(await validateJobMessage(w.bytes, relayed(), state), 'ignore', 'duplicate')
    })
  })

  describe('property: never throws, never accepts what it should not', () => {
    it('random bytes are never accepted and never throw', async () => {
      await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (bytes) => {
        const verdict = await validateJobMessage(bytes, direct(), stubState())
        return verdict.result === 'reject'
      }), { numRuns: 2000 })
    })

    it('any single-byte mutation of a signed announcement is refused', async () => {
      const job = await signedAnnouncement(requester)
      await fc.assert(fc.asyncProperty(
        fc.nat({ max: job.bytes.byteLength - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (index, xor) => {
          const bytes = job.bytes.slice()
          bytes[index] ^= xor
          const verdict = await validateJobMessage(bytes, direct(), stubState())
          return verdict.result !== 'accept'
        }
      ), { numRuns: 1000 })
    })

    it('truncations and extensions are refused', async () => {
      const job = await signedAnnouncement(requester)
      await fc.assert(fc.asyncProperty(
        fc.nat({ max: job.bytes.byteLength - 1 }),
        fc.uint8Array({ maxLength: 64 }),
        async (cut, tail) => {
          const bytes = new Uint8Array([...job.bytes.subarray(0, cut), ...tail])
          const verdict = await validateJobMessage(bytes, direct(), stubState())
          return verdict.result !== 'accept'
        }
      ), { numRuns: 1000 })
    })
  })
})
