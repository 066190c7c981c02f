import assert from 'node:assert/strict'
import { defaultLogger } from '@libp2p/logger'
import { MAX_SIZE, WorkReceiptType, signRecord } from '@shoal/records'
import { party } from '@shoal/test-support'
import { DefaultEvidenceService, EVIDENCE_TOPIC, createEquivocationEvidence, verifyEvidence } from '../src/index.js'
import { Market, RIGHT } from './fixtures/evidence.js'
import type { VerifiedEvidence } from '../src/index.js'
import type { PeerId } from '@libp2p/interface'
import type { JobBoardPubSub, PubSubMessage } from '@shoal/job-board'
import type { Party } from '@shoal/test-support'

type Validator = (peer: PeerId, message: PubSubMessage) => Promise<string>

/** A pubsub that records what the service registers and publishes. */
function stubPubSub (): { pubsub: JobBoardPubSub, validators: Map<string, Validator>, published: Uint8Array[], topics: Set<string> } {
  const validators = new Map<string, Validator>()
  const published: Uint8Array[] = []
  const topics = new Set<string>()
  const pubsub: JobBoardPubSub = {
    subscribe: (topic) => { topics.add(topic) },
    unsubscribe: (topic) => { topics.delete(topic) },
    getTopics: () => [...topics],
    getSubscribers: () => [],
    publish: async (_topic, data) => {
      published.push(data ?? new Uint8Array())
      return { recipients: [] }
    },
    topicValidators: {
      get: (topic) => validators.get(topic),
      set: (topic, validator) => validators.set(topic, validator as Validator),
      delete: (topic) => validators.delete(topic)
    }
  }
  return { pubsub, validators, published, topics }
}

/** `n` different equivocation records against `offender`, reported by `reporter`. */
async function equivocations (reporter: Party, offender: Party, n: number): Promise<Uint8Array[]> {
  const market = await Market.create(reporter)
  const out: Uint8Array[] = []
  for (let i = 0; i < n; i++) {
    const run = await market.run(offender, { resultHash: RIGHT })
    const second = await signRecord(WorkReceiptType, { ...run.receipt.value, resultHash: new Uint8Array(32).fill(10 + i) }, offender.key)
    out.push((await createEquivocationEvidence(run.receipt, second, reporter.key)).bytes)
  }
  return out
}

describe('evidence service (stubbed pubsub)', () => {
  it('validates gossip: invalid rejected, known and surplus ignored, new accepted; one offender event per offender', async () => {
    const self = await party()
    const sender = await party()
    const { pubsub, validators, topics } = stubPubSub()
    const service = new DefaultEvidenceService({ peerId: self.peerId, privateKey: self.key, logger: defaultLogger(), pubsub })
    const events: VerifiedEvidence[] = []
    service.addEventListener('offender', (evt) => { events.push(evt.detail) })
    await service.start()
    service.afterStart()
    assert.ok(topics.has(EVIDENCE_TOPIC))
    const validate = validators.get(EVIDENCE_TOPIC)
    assert.ok(validate != null)
    const message = (data: Uint8Array): PubSubMessage => ({ type: 'unsigned', topic: EVIDENCE_TOPIC, data })

    const offender = await party()
    const records = await equivocations(await party(), offender, 4)
    const tampered = records[0].slice()
    tampered[tampered.byteLength - 1] ^= 1

    assert.equal(await validate(sender.peerId, message(tampered)), 'reject')
    assert.equal(await validate(sender.peerId, message(new Uint8Array(MAX_SIZE.Evidence + 1))), 'reject')
    assert.equal(service.isOffender(offender.peerId), false)
    assert.equal(await validate(sender.peerId, message(records[0])), 'accept')
    assert.equal(await validate(sender.peerId, message(records[0])), 'ignore')
    assert.equal(await validate(sender.peerId, message(records[1])), 'accept')
    assert.equal(await validate(sender.peerId, message(records[2])), 'accept')
    // three held against this offender already
    assert.equal(await validate(sender.peerId, message(records[3])), 'ignore')

    assert.ok(service.isOffender(offender.peerId))
    assert.equal(events.length, 1)
    assert.ok(events[0].offender.equals(offender.peerId))
    assert.equal(service.offenders().length, 1)

    service.beforeStop()
    await service.stop()
    assert.equal(validators.has(EVIDENCE_TOPIC), false)
    assert.equal(topics.has(EVIDENCE_TOPIC), false)
  })

  it('report() refuses invalid evidence and publishes valid evidence once', async () => {
    const self = await party()
    const { pubsub, published } = stubPubSub()
    const service = new DefaultEvidenceService({ peerId: self.peerId, privateKey: self.key, logger: defaultLogger(), pubsub })
    await service.start()
    service.afterStart()
    const offender = await party()
    const [bytes] = await equivocations(self, offender, 1)
    const record = (await verifyEvidence(bytes)).record
    await service.report(record)
    await service.report(record)
    assert.equal(published.length, 1)
    await assert.rejects(service.report({ ...record, bytes: bytes.subarray(1) }), (err: unknown) => err instanceof Error && err.name === 'InvalidEvidenceError')
  })
})
