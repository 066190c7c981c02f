import assert from 'node:assert/strict'
import { defaultLogger } from '@libp2p/logger'
import { JobKind } from '@shoal/records'
import { NOW, party } from '@shoal/test-support'
import { JobBoard, jobTopic } from '../src/index.js'
import { W2_TOPIC, signedAnnouncement, signedWithdrawal, waitFor } from './fixtures.js'
import type { JobBoardComponents, JobBoardInit, JobBoardPubSub, PubSubMessage } from '../src/index.js'
import type { PeerId } from '@libp2p/interface'
import type { Party } from '@shoal/test-support'

type Validator = (peer: PeerId, message: PubSubMessage) => Promise<string>

class StubPubSub implements JobBoardPubSub {
  topics = new Set<string>()
  topicValidators = new Map<string, any>()
  published: Array<{ topic: string, data: Uint8Array }> = []
  subscribe (topic: string): void { this.topics.add(topic) }
  unsubscribe (topic: string): void { this.topics.delete(topic) }
  getTopics (): string[] { return [...this.topics] }
  getSubscribers (): PeerId[] { return [] }
  async publish (topic: string, data?: Uint8Array): Promise<{ recipients: PeerId[] }> {
    this.published.push({ topic, data: data ?? new Uint8Array() })
    return { recipients: [] }
  }

  validator (topic: string): Validator {
    const v = this.topicValidators.get(topic)
    assert.ok(v != null, `a validator on ${topic}`)
    return v
  }
}

interface Harness {
  board: JobBoard
  pubsub: StubPubSub
  closed: PeerId[]
  self: Party
  clock: { now: number }
}

async function harness (init: JobBoardInit = {}): Promise<Harness> {
  const self = await party()
  const pubsub = new StubPubSub()
  const closed: PeerId[] = []
  const clock = { now: NOW }
  const components: JobBoardComponents = {
    peerId: self.peerId,
    privateKey: self.key,
    logger: defaultLogger(),
    pubsub,
    registrar: {
      getProtocols: () => [],
      handle: async () => {},
      unhandle: async () => {},
      register: async () => 'topology',
      unregister: () => {}
    } as any,
    connectionManager: {
      closeConnections: async (peer: PeerId) => { closed.push(peer) }
    } as any
  }
  const board = new JobBoard(components, { now: () => clock.now, ...init })
  await board.start()
  board.afterStart()
  return { board, pubsub, closed, self, clock }
}

function message (from: Party, topic: string, data: Uint8Array): PubSubMessage {
  return { type: 'signed', from: from.peerId, topic, data, sequenceNumber: 1n, signature: new Uint8Array(), key: from.key.publicKey }
}

describe('JobBoard (stubbed components)', () => {
  let h: Harness | undefined

  afterEach(async () => {
    await h?.board.stop()
    h = undefined
  })

  it('subscribes to the topics of its interests, with a validator on each, and follows changes', async () => {
    h = await harness({ serve: { kinds: [JobKind.GPU_INFERENCE], regions: ['w21z'] } })
    assert.deepEqual(h.pubsub.getTopics().sort(), [jobTopic(JobKind.GPU_INFERENCE), W2_TOPIC].sort())
    assert.deepEqual([...h.pubsub.topicValidators.keys()].sort(), h.pubsub.getTopics().sort())

    h.board.setInterests({ kinds: [JobKind.CAPTURE], regions: ['u0'] })
    assert.deepEqual(h.pubsub.getTopics().sort(), [jobTopic(JobKind.CAPTURE), jobTopic(JobKind.CAPTURE, 'u0')].sort())
    assert.deepEqual([...h.pubsub.topicValidators.keys()].sort(), h.pubsub.getTopics().sort())

    await h.board.stop()
    assert.deepEqual(h.pubsub.getTopics(), [])
    assert.equal(h.pubsub.topicValidators.size, 0)
  })

  it('refuses to start on a pubsub service without the pubsub interface', async () => {
    const self = await party()
    const board = new JobBoard({ peerId: self.peerId, privateKey: self.key, logger: defaultLogger(), registrar: {} as any, connectionManager: {} as any, pubsub: {} as any })
    await assert.rejects(board.start(), { name: 'MissingPubSubError' })
  })

  it('refuses to start with its own error on a node whose pubsub is not `services.pubsub`', async () => {
    const self = await party()
    // libp2p's components throw MissingServiceError for a service the node does not configure
    const components = new Proxy({ peerId: self.peerId, privateKey: self.key, logger: defaultLogger(), registrar: {}, connectionManager: {} }, {
      get: (target, prop) => {
        if (prop === 'pubsub') throw Object.assign(new Error('pubsub not set'), { name: 'MissingServiceError' })
        return Reflect.get(target, prop)
      }
    }) as unknown as ConstructorParameters<typeof JobBoard>[0]
    await assert.rejects(new JobBoard(components).start(), { name: 'MissingPubSubError' })
  })

  it('fills, signs and publishes announcements; withdraws its own', async () => {
    h = await harness()
    const record = await h.board.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'w21z' }, priceCeiling: { perUnit: 1, currency: 'USDC', unit: 'job' }, budget: 1 })
    assert.ok(record.signer.equals(h.self.peerId))
    assert.equal(record.value.createdMs, NOW)
    assert.equal(record.value.expiresMs, NOW + 600_000)
    assert.deepEqual(h.pubsub.published.map(p => p.topic), [W2_TOPIC])
    assert.equal(h.board.jobs().length, 1)
    await h.board.withdraw(record.value.jobId)
    assert.equal(h.board.jobs().length, 0)
    assert.equal(h.pubsub.published.length, 2)
    await assert.rejects(h.board.withdraw(record.value.jobId), { name: 'JobNotFoundError' })
  })

  it('puts accepted gossip on the board with events, and expires it on time', async () => {
    h = await harness({ serve: { kinds: [JobKind.GPU_INFERENCE], regions: ['w2'] } })
    const requester = await party()
    const job = await signedAnnouncement(requester, { expiresMs: NOW + 1000, deadlineMs: NOW + 1000 })
    const announced: string[] = []
    const expired: string[] = []
    h.board.addEventListener('job:announced', e => announced.push(e.detail.key))
    h.board.addEventListener('job:expired', e => expired.push(e.detail.key))
    assert.equal(await h.pubsub.validator(W2_TOPIC)(requester.peerId, message(requester, W2_TOPIC, job.bytes)), 'accept')
    assert.equal(await h.pubsub.validator(W2_TOPIC)(requester.peerId, message(requester, W2_TOPIC, job.bytes)), 'ignore')
    assert.equal(announced.length, 1)
    assert.equal(h.board.get(job.value.jobId)?.source, 'gossip')
    h.clock.now = NOW + 1000
    await waitFor(() => expired.length === 1, 'the expiry timer')
    assert.equal(h.board.size, 0)
  })

  it('applies withdrawals from the requester only', async () => {
    h = await harness({ serve: { kinds: [JobKind.GPU_INFERENCE], regions: ['w2'] } })
    const requester = await party()
    const other = await party()
    const job = await signedAnnouncement(requester)
    const validate = h.pubsub.validator(W2_TOPIC)
    assert.equal(await validate(requester.peerId, message(requester, W2_TOPIC, job.bytes)), 'accept')
    const forged = await signedWithdrawal(other, job.value.jobId)
    assert.equal(await validate(other.peerId, message(other, W2_TOPIC, forged.bytes)), 'reject')
    assert.ok(h.board.get(job.value.jobId) != null)
    const withdrawn: string[] = []
    h.board.addEventListener('job:withdrawn', e => withdrawn.push(e.detail.key))
    const real = await signedWithdrawal(requester, job.value.jobId)
    assert.equal(await validate(requester.peerId, message(requester, W2_TOPIC, real.bytes)), 'accept')
    assert.equal(withdrawn.length, 1)
    assert.equal(h.board.get(job.value.jobId), undefined)
    // and the job cannot come back
    assert.equal(await validate(requester.peerId, message(requester, W2_TOPIC, job.bytes)), 'ignore')
  })

  it('cuts off a peer after maxPeerPenalty rejected messages', async () => {
    h = await harness({ serve: { kinds: [JobKind.GPU_INFERENCE], regions: ['w2'] }, maxPeerPenalty: 3 })
    const bad = await party()
    const validate = h.pubsub.validator(W2_TOPIC)
    const banned: PeerId[] = []
    h.board.addEventListener('peer:banned', e => banned.push(e.detail))
    for (let i = 0; i < 3; i++) {
      assert.equal(await validate(bad.peerId, message(bad, W2_TOPIC, new Uint8Array([i]))), 'reject')
    }
    assert.equal(banned.length, 1)
    assert.ok(h.closed.some(p => p.equals(bad.peerId)))
    assert.ok(h.board.isBanned(bad.peerId))
    assert.equal(await validate(bad.peerId, message(bad, W2_TOPIC, new Uint8Array([9]))), 'ignore')
    h.clock.now += 600_001
    assert.ok(!h.board.isBanned(bad.peerId), 'bans end')
  })

  it('keeps the board bounded however many requesters announce', async () => {
    h = await harness({ serve: { kinds: [JobKind.GPU_INFERENCE], regions: ['w2'] }, maxJobs: 20 })
    const validate = h.pubsub.validator(W2_TOPIC)
    for (let i = 0; i < 50; i++) {
      const requester = await party()
      const job = await signedAnnouncement(requester)
      assert.equal(await validate(requester.peerId, message(requester, W2_TOPIC, job.bytes)), 'accept')
    }
    assert.equal(h.board.size, 20)
  })

  it('explains with injected providers', async () => {
    const provider = await party()
    h = await harness({
      providers: () => [{
        version: 1, provider: provider.id, seq: 1, gpus: [{ model: 'm', class: 'consumer-24g', vramMib: 24576, count: 1 }], sensors: [],
        geohash: 'u09t', price: { perUnit: 1, currency: 'USDC', unit: 'gpu-second' }, concurrency: 1, freeSlots: 1, addrs: [], createdMs: NOW, expiresMs: NOW + 1
      }]
    })
    const record = await h.board.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'w21z', gpuClass: 'consumer-24g' }, priceCeiling: { perUnit: 20, currency: 'USDC', unit: 'gpu-second' }, budget: 100 })
    const why = await h.board.explain(record.value.jobId)
    assert.deepEqual(why.reasons.map(r => r.code).sort(), ['no-provider-in-region', 'no-subscribers', 'not-published'])
    assert.equal(why.providersKnown, 1)
  })
})
