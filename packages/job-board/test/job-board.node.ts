import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { floodsub } from '@libp2p/floodsub'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { JobAnnouncementType, JobKind, signRecord } from '@shoal/records'
import { serviceAs } from '@shoal/utils'
import { createTestNode } from '@shoal/test-support'
import { createLibp2p } from 'libp2p'
import { equals } from 'uint8arrays/equals'
import { lpStream } from '@libp2p/utils'
import {
  JOB_BOARD_SCORE_THRESHOLDS, JobBoard, PublishRateLimitedError, RATE_LIMIT_BURST, SYNC_PROTOCOL, encodeSyncRequest, jobBoard,
  jobBoardScoreParams, jobKey, jobTopic
} from '../src/index.js'
import { announcement, waitFor } from './fixtures.js'
import type { JobBoardComponents, JobBoardEvents, JobBoardInit } from '../src/index.js'
import type { FloodSub } from '@libp2p/floodsub'
import type { GossipSub, GossipsubOpts } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'
import type { JobAnnouncement, SignedRecord } from '@shoal/records'

type Node = Libp2p<{ identify: Identify, pubsub: GossipSub, jobs: JobBoard }>
type FloodNode = Libp2p<{ identify: Identify, pubsub: FloodSub, jobs: JobBoard }>

/** What gossipsub's class has beyond the shared interface, used to observe scores and meshes */
interface GossipSubInternals {
  getScore(peerId: string): number
  getMeshPeers(topic: string): string[]
}

const W2 = jobTopic(JobKind.GPU_INFERENCE, 'w2')
const U0 = jobTopic(JobKind.GPU_INFERENCE, 'u0')
const GLOBAL = jobTopic(JobKind.GPU_INFERENCE)

const SINGAPORE = { kinds: [JobKind.GPU_INFERENCE], regions: ['w21z'] }
const EUROPE = { kinds: [JobKind.GPU_INFERENCE], regions: ['u09t'] }

const price = { perUnit: 20, currency: 'USDC', unit: 'gpu-second' }

let nodes: Libp2p[] = []

function gossipOptions (): Partial<GossipsubOpts> {
  return {
    // small meshes, fast heartbeats: a handful of nodes on loopback
    D: 2,
    Dlo: 1,
    Dhi: 3,
    Dout: 0,
    Dscore: 1,
    Dlazy: 2,
    heartbeatInterval: 200,
    scoreParams: {
      ...jobBoardScoreParams(),
      // every test node shares 127.0.0.1
      IPColocationFactorWeight: 0
    },
    scoreThresholds: JOB_BOARD_SCORE_THRESHOLDS
  }
}

async function createNode (init: JobBoardInit = {}, privateKey?: PrivateKey, options: Pick<Libp2pOptions, 'connectionManager'> = {}): Promise<Node> {
  const node = await createTestNode({
    ...options,
    privateKey,
    services: {
      identify: identify(),
      pubsub: gossipsub(gossipOptions()),
      jobs: jobBoard(init)
    }
  })
  nodes.push(node)
  return node
}

async function connect (a: Libp2p, b: Libp2p): Promise<void> {
  await a.dial(b.getMultiaddrs()[0])
}

function internals (node: Node): GossipSubInternals {
  return node.services.pubsub as unknown as GossipSubInternals
}

/** Resolve with the first event of `type` whose detail passes `match`. */
async function nextEvent<K extends keyof JobBoardEvents> (
  board: JobBoard,
  type: K,
  match: (detail: JobBoardEvents[K]['detail']) => boolean = () => true,
  timeoutMs = 15_000
): Promise<JobBoardEvents[K]['detail']> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      board.removeEventListener(type, listener)
      reject(new Error(`timed out waiting for ${type}`))
    }, timeoutMs)
    const listener = (evt: JobBoardEvents[K]): void => {
      if (match(evt.detail)) {
        clearTimeout(timer)
        board.removeEventListener(type, listener)
        resolve(evt.detail)
      }
    }
    board.addEventListener(type, listener)
  })
}

async function subscribed (publisher: Libp2p<{ pubsub: GossipSub | FloodSub }>, topic: string, peer: PeerId): Promise<void> {
  await waitFor(() => publisher.services.pubsub.getSubscribers(topic).some(p => p.equals(peer)), `${peer.toString()} on ${topic}`)
}

afterEach(async () => {
  await Promise.all(nodes.map(async n => n.stop()))
  nodes = []
})

describe('job board over real libp2p nodes (TCP on loopback, gossipsub)', function () {
  this.timeout(60_000)

  it('refuses to start without a pubsub service', async () => {
    await assert.rejects(createLibp2p({
      services: {
        identify: identify(),
        // @ts-expect-error the types refuse a node without pubsub already; this is what JavaScript callers get
        jobs: jobBoard()
      }
    }), (err: Error) => err.name === 'UnmetServiceDependenciesError' && err.message.includes('@libp2p/pubsub'))
  })

  it('delivers an announcement to a subscriber, then its withdrawal', async () => {
    const requester = await createNode()
    const provider = await createNode({ serve: SINGAPORE })
    await connect(requester, provider)
    await subscribed(requester, W2, provider.peerId)

    const received = nextEvent(provider.services.jobs, 'job:announced')
    const record = await requester.services.jobs.announce({
      kind: JobKind.GPU_INFERENCE,
      requirements: { gpuClass: 'consumer-24g', minVramMib: 16384, gpuCount: 1, region: 'w21z' },
      priceCeiling: price,
      budget: 10_000,
      description: 'run a 7B model near Singapore'
    })
    const entry = await received
    assert.ok(entry.requester.equals(requester.peerId))
    assert.ok(equals(entry.record.bytes, record.bytes))
    assert.equal(entry.source, 'gossip')
    assert.deepEqual(entry.topics, [W2])
    assert.equal(provider.services.jobs.jobs().length, 1)
    assert.equal(provider.services.jobs.get(record.value.jobId)?.key, entry.key)

    // only the requester may withdraw it
    await assert.rejects(provider.services.jobs.withdraw(record.value.jobId), { name: 'NotRequesterError' })

    const withdrawn = nextEvent(provider.services.jobs, 'job:withdrawn')
    await requester.services.jobs.withdraw(record.value.jobId)
    const w = await withdrawn
    assert.equal(w.key, entry.key)
    assert.ok(w.job != null)
    assert.equal(provider.services.jobs.jobs().length, 0)
    assert.equal(requester.services.jobs.jobs().length, 0)
  })

  it('expires announcements at the end of their lifetime', async () => {
    const requester = await createNode()
    const provider = await createNode({ serve: SINGAPORE })
    await connect(requester, provider)
    await subscribed(requester, W2, provider.peerId)

    const received = nextEvent(provider.services.jobs, 'job:announced')
    const expired = nextEvent(provider.services.jobs, 'job:expired')
    const requesterExpired = nextEvent(requester.services.jobs, 'job:expired')
    const now = Date.now()
    const record = await requester.services.jobs.announce({
      kind: JobKind.GPU_INFERENCE,
      requirements: { region: 'w21z' },
      priceCeiling: price,
      budget: 100,
      expiresMs: now + 1500
    })
    await received
    const gone = await expired
    assert.equal(gone.key, Buffer.from(record.value.jobId).toString('hex'))
    await requesterExpired
    assert.equal(provider.services.jobs.jobs().length, 0)
    assert.equal(provider.services.jobs.get(record.value.jobId), undefined)
    const why = await requester.services.jobs.explain(record)
    assert.ok(why.reasons.some(r => r.code === 'expired'))
  })

  it('keeps regional jobs in their region; global announcements reach every region', async () => {
    const requester = await createNode()
    const singapore = await createNode({ serve: SINGAPORE })
    const europe = await createNode({ serve: EUROPE })
    await connect(requester, singapore)
    await connect(requester, europe)
    await connect(singapore, europe)
    await subscribed(requester, W2, singapore.peerId)
    await subscribed(requester, U0, europe.peerId)
    await subscribed(requester, GLOBAL, europe.peerId)
    await subscribed(requester, GLOBAL, singapore.peerId)

    assert.ok(singapore.services.pubsub.getTopics().includes(W2))
    assert.ok(!europe.services.pubsub.getTopics().includes(W2), 'a European provider does not join the Singapore topic')

    const inSingapore = nextEvent(singapore.services.jobs, 'job:announced')
    const sgJob = await requester.services.jobs.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'w21z' }, priceCeiling: price, budget: 100 })
    await inSingapore

    const inEurope = nextEvent(europe.services.jobs, 'job:announced')
    const euJob = await requester.services.jobs.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'u09t' }, priceCeiling: price, budget: 100 })
    await inEurope

    const both = [
      nextEvent(singapore.services.jobs, 'job:announced', e => e.record.value.description === 'everywhere'),
      nextEvent(europe.services.jobs, 'job:announced', e => e.record.value.description === 'everywhere')
    ]
    const globalJob = await requester.services.jobs.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'w21z' }, priceCeiling: price, budget: 100, description: 'everywhere' }, { global: true })
    const [a, b] = await Promise.all(both)
    assert.equal(a.key, b.key)

    // the European provider never received the Singapore-only job
    assert.equal(europe.services.jobs.get(sgJob.value.jobId), undefined)
    assert.ok(europe.services.jobs.get(euJob.value.jobId) != null)
    assert.ok(europe.services.jobs.get(globalJob.value.jobId) != null)
    assert.equal(singapore.services.jobs.get(euJob.value.jobId), undefined)
    assert.deepEqual(europe.services.jobs.jobs().map(e => e.key).sort(), [euJob, globalJob].map(r => Buffer.from(r.value.jobId).toString('hex')).sort())
  })

  it('hands live jobs to a late joiner by sync, without withdrawn ones', async () => {
    const requester = await createNode()
    const live = await requester.services.jobs.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'w21z' }, priceCeiling: price, budget: 100 })
    const withdrawn = await requester.services.jobs.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'w21z' }, priceCeiling: price, budget: 100 })
    const elsewhere = await requester.services.jobs.announce({ kind: JobKind.CAPTURE, requirements: { region: 'w21z', sensors: ['camera'] }, priceCeiling: price, budget: 100 })
    await requester.services.jobs.withdraw(withdrawn.value.jobId)
    const why = await requester.services.jobs.explain(live)
    assert.ok(why.reasons.some(r => r.code === 'no-subscribers'), 'nobody was listening when it was announced')

    const lateJoiner = await createNode({ serve: SINGAPORE })
    const synced = nextEvent(lateJoiner.services.jobs, 'job:announced')
    await connect(lateJoiner, requester)
    const entry = await synced
    assert.equal(entry.source, 'sync')
    assert.ok(equals(entry.record.bytes, live.bytes))
    await waitFor(() => lateJoiner.services.jobs.getTopics().length > 0 && lateJoiner.services.jobs.jobs().length === 1, 'sync to settle')
    assert.equal(lateJoiner.services.jobs.get(withdrawn.value.jobId), undefined)
    assert.equal(lateJoiner.services.jobs.get(elsewhere.value.jobId), undefined, 'a capture job is not what this peer serves')

    // an explicit sync learns nothing new
    assert.equal(await lateJoiner.services.jobs.sync(requester.peerId), 0)
  })

  it('works over floodsub too', async () => {
    const make = async (init: JobBoardInit): Promise<FloodNode> => {
      const node = await createTestNode({
        services: { identify: identify(), pubsub: floodsub(), jobs: jobBoard(init) }
      })
      nodes.push(node)
      return node
    }
    const requester = await make({})
    const provider = await make({ serve: SINGAPORE })
    await connect(requester, provider)
    await subscribed(requester, W2, provider.peerId)
    const received = nextEvent(provider.services.jobs, 'job:announced')
    const record = await requester.services.jobs.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'w2' }, priceCeiling: price, budget: 100 })
    assert.ok(equals((await received).record.bytes, record.bytes))
  })

  interface Arena {
    honest: Node
    provider: Node
    downstream: Node
    adversary: Libp2p<{ identify: Identify, pubsub: GossipSub }>
    adversaryKey: PrivateKey
    honestJob: SignedRecord<JobAnnouncement>
  }

  /** honest requester -> provider -> downstream provider, and an adversary connected to the provider */
  async function arena (providerInit: JobBoardInit = {}): Promise<Arena> {
    const honest = await createNode()
    const provider = await createNode({ serve: SINGAPORE, ...providerInit })
    const downstream = await createNode({ serve: SINGAPORE })
    // the adversary runs a plain gossipsub node and publishes raw bytes, bypassing any job board
    const adversaryKey = await generateKeyPair('Ed25519')
    const adversary = await createTestNode({
      privateKey: adversaryKey,
      services: { identify: identify(), pubsub: gossipsub({ ...gossipOptions(), allowPublishToZeroTopicPeers: true }) }
    })
    nodes.push(adversary)

    await connect(honest, provider)
    await connect(provider, downstream)
    await connect(adversary, provider)
    await subscribed(honest, W2, provider.peerId)
    await subscribed(adversary, W2, provider.peerId)
    await waitFor(() => internals(provider).getMeshPeers(W2).includes(downstream.peerId.toString()), 'provider to mesh with downstream')

    // an honest job first, so the adversary has something to replay
    const first = nextEvent(downstream.services.jobs, 'job:announced')
    const honestJob = await honest.services.jobs.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'w21z' }, priceCeiling: price, budget: 100 })
    await first
    return { honest, provider, downstream, adversary, adversaryKey, honestJob }
  }

  /** after the attack: the adversary is graylisted, honest jobs still cross the honest relay, which keeps a good score */
  async function honestTrafficFlows ({ honest, provider, downstream, adversary }: Arena): Promise<void> {
    // gossipsub caches scores for a heartbeat: poll until the penalties show
    await waitFor(() => internals(provider).getScore(adversary.peerId.toString()) < JOB_BOARD_SCORE_THRESHOLDS.graylistThreshold, 'the adversary to be graylisted')

    const later = nextEvent(downstream.services.jobs, 'job:announced', e => e.requester.equals(honest.peerId))
    await honest.services.jobs.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'w21z' }, priceCeiling: price, budget: 100 })
    await later
    assert.ok(internals(provider).getScore(honest.peerId.toString()) >= 0)
    assert.ok(internals(downstream).getScore(provider.peerId.toString()) >= 0, 'the honest relay is not penalised')
    assert.equal(downstream.services.jobs.jobs({ requester: honest.peerId }).length, 2)
    assert.equal(provider.services.jobs.jobs({ requester: honest.peerId }).length, 2)
  }

  it('scores down and cuts off a peer sending replayed, forged, expired, oversized, malformed and misplaced announcements', async () => {
    const a = await arena({ maxPeerPenalty: 3 })
    const { adversary, adversaryKey, provider, downstream } = a
    const self = { key: adversaryKey, peerId: adversary.peerId, id: adversary.peerId.toMultihash().bytes, hex: '' }
    const now = Date.now()

    const banned = nextEvent(provider.services.jobs, 'peer:banned', p => p.equals(adversary.peerId))
    const forged = (await signRecord(JobAnnouncementType, announcement(self, {}, now), adversaryKey)).bytes.slice()
    forged[forged.length - 1] ^= 0xff
    const expired = (await signRecord(JobAnnouncementType, announcement(self, { createdMs: now - 7_200_000, expiresMs: now - 3_600_000, deadlineMs: now - 3_600_000 }, now), adversaryKey)).bytes
    const misplaced = (await signRecord(JobAnnouncementType, announcement(self, { requirements: { ...announcement(self).requirements!, region: 'u09t' } }, now), adversaryKey)).bytes
    const garbage: Uint8Array[] = [
      a.honestJob.bytes, // replayed: published by someone else than its requester
      forged,
      expired,
      new Uint8Array(randomBytes(4096)), // oversized
      new Uint8Array(randomBytes(200)), // malformed
      misplaced // a Europe job on the Singapore topic
    ]
    for (const bytes of garbage) {
      await adversary.services.pubsub.publish(W2, bytes).catch(() => {})
    }

    await banned
    await waitFor(() => provider.getConnections(adversary.peerId).length === 0, 'provider to drop the adversary')
    assert.ok(provider.services.jobs.isBanned(adversary.peerId))
    await honestTrafficFlows(a)
    // nothing of the adversary's reached a board
    assert.equal(provider.services.jobs.jobs({ requester: adversary.peerId }).length, 0)
    assert.equal(downstream.services.jobs.jobs({ requester: adversary.peerId }).length, 0)
  })

  it('cuts off a peer flooding its own valid announcements far past the abuse bound (50 bursts at once, bypassing the pacing)', async () => {
    // gossipsub graylists after three rejects (see score.ts) and then drops the rest unseen: the board cuts off at three too
    const a = await arena({ maxPeerPenalty: 3 })
    const { adversary, adversaryKey, provider, downstream } = a
    const self = { key: adversaryKey, peerId: adversary.peerId, id: adversary.peerId.toMultihash().bytes, hex: '' }
    const banned = nextEvent(provider.services.jobs, 'peer:banned', p => p.equals(adversary.peerId))
    const abuse: string[] = []
    provider.services.jobs.addEventListener('message:rejected', e => { abuse.push(e.detail.reason) })
    const now = Date.now()
    // raw pubsub publishes of valid records signed by the adversary: the job board's pacing never sees them
    for (let i = 0; i < 50 * RATE_LIMIT_BURST; i++) {
      const bytes = (await signRecord(JobAnnouncementType, announcement(self, {}, now), adversaryKey)).bytes
      await adversary.services.pubsub.publish(W2, bytes).catch(() => {})
    }
    await banned
    await waitFor(() => provider.getConnections(adversary.peerId).length === 0, 'provider to drop the adversary')
    assert.ok(provider.services.jobs.isBanned(adversary.peerId))
    assert.ok(abuse.length > 0 && abuse.every(reason => reason === 'rate-abuse'), `rejected for ${abuse.join(', ')}`)
    await honestTrafficFlows(a)
    // the burst (10) got through, nothing more
    const accepted = provider.services.jobs.jobs({ requester: adversary.peerId }).length
    assert.ok(accepted > 0 && accepted <= RATE_LIMIT_BURST, `${accepted} flooded jobs on the provider's board`)
    assert.ok(downstream.services.jobs.jobs({ requester: adversary.peerId }).length <= RATE_LIMIT_BURST)
  })
})

describe('job board: newcomer budgets (real libp2p nodes)', function () {
  this.timeout(120_000)

  type Sender = Libp2p<{ identify: Identify, pubsub: GossipSub }>

  /** a plain gossipsub node with its own fresh key, connected to `relay`, that sees `relay` on the Singapore topic */
  async function sender (relay: Node, privateKey?: PrivateKey): Promise<{ node: Sender, key: PrivateKey }> {
    const key = privateKey ?? await generateKeyPair('Ed25519')
    const node = await createTestNode({
      privateKey: key,
      services: { identify: identify(), pubsub: gossipsub({ ...gossipOptions(), allowPublishToZeroTopicPeers: true }) }
    })
    nodes.push(node)
    await connect(node, relay)
    await subscribed(node, W2, relay.peerId)
    return { node, key }
  }

  /** publish one valid announcement signed by the sender's own key, straight on pubsub */
  async function publishOne ({ node, key }: { node: Sender, key: PrivateKey }): Promise<void> {
    const self = { key, peerId: node.peerId, id: node.peerId.toMultihash().bytes, hex: '' }
    const bytes = (await signRecord(JobAnnouncementType, announcement(self, {}, Date.now()), key)).bytes
    await node.services.pubsub.publish(W2, bytes)
  }

  it('lets 50 fresh keys through one relay only up to the shared newcomer burst, while a key with standing still gets in and the relay is not blamed', async () => {
    const knownKey = await generateKeyPair('Ed25519')
    const known = peerIdFromPrivateKey(knownKey)
    const newcomers = { burst: 5, perSecond: 0 }
    // 50 senders dial the relay from one address at once: more than libp2p lets in by default
    const relay = await createNode({ serve: SINGAPORE }, undefined, { connectionManager: { inboundConnectionThreshold: 1000, maxIncomingPendingConnections: 100 } })
    const receiver = await createNode({ serve: SINGAPORE, standing: p => p.equals(known) ? 2 : 0, newcomers })
    const downstream = await createNode({ serve: SINGAPORE })
    await connect(relay, receiver)
    await connect(receiver, downstream)
    await waitFor(() => internals(relay).getMeshPeers(W2).includes(receiver.peerId.toString()), 'relay to mesh with receiver')
    await waitFor(() => internals(receiver).getMeshPeers(W2).includes(downstream.peerId.toString()), 'receiver to mesh with downstream')
    const rejected: string[] = []
    receiver.services.jobs.addEventListener('message:rejected', e => { rejected.push(e.detail.reason) })

    const sybils = await Promise.all(Array.from({ length: 50 }, async () => sender(relay)))
    await Promise.all(sybils.map(publishOne))
    // every announcement crossed the relay, and the receiver took or turned away each one
    await waitFor(() => relay.services.jobs.size === 50, 'the relay to take all 50')
    await waitFor(() => receiver.services.jobs.size + (receiver.services.jobs.newcomerBudget()?.limited ?? 0) === 50, 'the receiver to see all 50')
    assert.equal(receiver.services.jobs.size, newcomers.burst, 'one shared burst for all fresh keys')
    assert.deepEqual(receiver.services.jobs.newcomerBudget(), { ...newcomers, available: 0, limited: 50 - newcomers.burst })

    // the newcomer bucket is empty: a key with standing still gets in, one more fresh key does not
    const established = await sender(relay, knownKey)
    const arrived = nextEvent(receiver.services.jobs, 'job:announced', e => e.requester.equals(known))
    await publishOne(established)
    await arrived
    const late = await sender(relay)
    await publishOne(late)
    await waitFor(() => receiver.services.jobs.newcomerBudget()?.limited === 51 - newcomers.burst, 'the late fresh key to be turned away')
    assert.equal(receiver.services.jobs.jobs({ requester: late.node.peerId }).length, 0)
    await waitFor(() => downstream.services.jobs.jobs({ requester: known }).length === 1, 'the established job downstream')

    // ignored, never blamed: the honest relay keeps its standing with the receiver
    assert.deepEqual(rejected, [])
    assert.ok(!receiver.services.jobs.isBanned(relay.peerId))
    assert.ok(internals(receiver).getScore(relay.peerId.toString()) >= 0, 'the relay is not penalised')
    assert.ok(downstream.services.jobs.size <= newcomers.burst + 1, 'only what the receiver took went on')
  })
})

describe('job board: a requester\'s own burst never gets it banned (real libp2p nodes)', function () {
  this.timeout(60_000)

  interface Chain {
    requester: Node
    provider: Node
    downstream: Node
    /** every `peer:banned` and `message:rejected` on the provider and downstream */
    blamed: string[]
  }

  /** requester -> provider -> downstream provider, all in Singapore's mesh */
  async function chain (requesterInit: JobBoardInit = {}): Promise<Chain> {
    const requester = await createNode(requesterInit)
    const provider = await createNode({ serve: SINGAPORE })
    const downstream = await createNode({ serve: SINGAPORE })
    await connect(requester, provider)
    await connect(provider, downstream)
    await subscribed(requester, W2, provider.peerId)
    await waitFor(() => internals(provider).getMeshPeers(W2).includes(downstream.peerId.toString()), 'provider to mesh with downstream')
    const blamed: string[] = []
    for (const node of [provider, downstream]) {
      node.services.jobs.addEventListener('peer:banned', e => blamed.push(`banned ${e.detail.toString()}`))
      node.services.jobs.addEventListener('message:rejected', e => blamed.push(`rejected ${e.detail.reason}`))
    }
    return { requester, provider, downstream, blamed }
  }

  async function burst (requester: Node, count: number): Promise<Array<PromiseSettledResult<SignedRecord<JobAnnouncement>>>> {
    return Promise.allSettled(Array.from({ length: count }, async (_, i) => requester.services.jobs.announce({
      kind: JobKind.GPU_INFERENCE, requirements: { region: 'w21z' }, priceCeiling: price, budget: 100, description: `burst job ${i}`
    })))
  }

  /** nobody blamed the requester or the relay: no ban, no rejected message, connections up */
  function nobodyBlamed ({ requester, provider, downstream, blamed }: Chain): void {
    assert.deepEqual(blamed, [])
    assert.equal(provider.services.jobs.isBanned(requester.peerId), false)
    assert.equal(downstream.services.jobs.isBanned(provider.peerId), false)
    assert.equal(provider.services.jobs.isBanned(downstream.peerId), false)
    assert.ok(requester.getConnections(provider.peerId).length > 0, 'the requester is still connected')
    assert.ok(provider.getConnections(downstream.peerId).length > 0, 'the relay is still connected')
    assert.ok(internals(provider).getScore(requester.peerId.toString()) >= 0)
  }

  it('paces a burst of 100 announcements: the budget is sent and arrives, the rest fail with PublishRateLimitedError, nobody is banned', async () => {
    const c = await chain()
    const results = await burst(c.requester, 100)
    const sent = results.filter(r => r.status === 'fulfilled')
    const paced = results.flatMap(r => r.status === 'rejected' ? [r.reason as unknown] : [])
    // the burst, and a token more only if the machine took over 2 s to sign them
    assert.ok(sent.length >= RATE_LIMIT_BURST && sent.length <= RATE_LIMIT_BURST + 2, `${sent.length} sent`)
    assert.equal(paced.length, 100 - sent.length)
    for (const err of paced) {
      assert.ok(err instanceof PublishRateLimitedError, `paced with ${String(err)}`)
      assert.ok(err.retryAfterMs > 0)
    }
    // what was not sent is not on the requester's board either
    assert.equal(c.requester.services.jobs.jobs().length, sent.length)
    await waitFor(() => c.provider.services.jobs.jobs({ requester: c.requester.peerId }).length === sent.length, 'every job sent on the provider')
    await waitFor(() => c.downstream.services.jobs.jobs({ requester: c.requester.peerId }).length === sent.length, 'every job sent downstream')
    nobodyBlamed(c)
  })

  it('ignores, never blames, a requester that does not pace itself and sends 100 at once (within the abuse bound)', async () => {
    const c = await chain({ publishRateLimit: false })
    const results = await burst(c.requester, 100)
    assert.ok(results.every(r => r.status === 'fulfilled'))
    await waitFor(() => c.provider.services.jobs.jobs({ requester: c.requester.peerId }).length >= RATE_LIMIT_BURST, 'the budget on the provider')
    // a job behind the burst still gets through: the requester is heard again, not cut off
    const later = nextEvent(c.provider.services.jobs, 'job:announced', e => e.requester.equals(c.requester.peerId) && e.record.value.description === 'after the burst')
    const send = setInterval(() => {
      c.requester.services.jobs.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'w21z' }, priceCeiling: price, budget: 100, description: 'after the burst' }).catch(() => {})
    }, 1000)
    try {
      await later
    } finally {
      clearInterval(send)
    }
    nobodyBlamed(c)
    assert.ok(c.provider.services.jobs.jobs({ requester: c.requester.peerId }).length < 100, 'the burst beyond the limit was ignored')
  })

  it('waits for room when asked to, and withdrawals wait their turn instead of being dropped', async () => {
    const c = await chain({ publishRateLimit: { burst: 1, perSecond: 5 } })
    const first = await c.requester.services.jobs.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'w21z' }, priceCeiling: price, budget: 100 })
    await assert.rejects(c.requester.services.jobs.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'w21z' }, priceCeiling: price, budget: 100 }), { name: 'PublishRateLimitedError' })
    const second = await c.requester.services.jobs.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'w21z' }, priceCeiling: price, budget: 100 }, { maxWaitMs: 30_000 })
    await waitFor(() => c.provider.services.jobs.get(second.value.jobId) != null, 'the job that waited for room')

    const withdrawn = nextEvent(c.provider.services.jobs, 'job:withdrawn', e => e.key === jobKey(first.value.jobId))
    // paced like announcements: it goes out when there is room, however long that takes
    await c.requester.services.jobs.withdraw(first.value.jobId)
    await withdrawn
    assert.equal(c.provider.services.jobs.get(first.value.jobId), undefined)
    nobodyBlamed(c)
  })
})

describe('job board: sync wants, publish, protocol ids (real libp2p nodes)', function () {
  this.timeout(60_000)

  /** Run one sync exchange by hand: write `request` (or nothing), close, read every frame the responder sends. */
  async function rawSync (asker: Libp2p, responder: Libp2p, request?: Uint8Array, protocol = SYNC_PROTOCOL): Promise<Uint8Array[]> {
    const stream = await asker.dialProtocol(responder.peerId, protocol)
    const lp = lpStream(stream, { maxDataLength: 4096 })
    if (request != null) await lp.write(request)
    await stream.close()
    const frames: Uint8Array[] = []
    for (;;) {
      try {
        frames.push((await lp.read()).subarray())
      } catch (err: unknown) {
        if (err instanceof Error && err.name === 'UnexpectedEOFError') return frames
        throw err
      }
    }
  }

  it('sends only the announcements the asker wants; an asker that sends no request gets them all', async () => {
    const requester = await createNode()
    const singapore = await requester.services.jobs.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'w21z' }, priceCeiling: price, budget: 100 })
    const anywhere = await requester.services.jobs.announce({ kind: JobKind.GPU_INFERENCE, priceCeiling: price, budget: 100 })
    const europe = await requester.services.jobs.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'u09t' }, priceCeiling: price, budget: 100 })
    const capture = await requester.services.jobs.announce({ kind: JobKind.CAPTURE, requirements: { region: 'w21z', sensors: ['camera'] }, priceCeiling: price, budget: 100 })
    const asker = await createNode()
    await connect(asker, requester)
    const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex')

    const wanted = await rawSync(asker, requester, encodeSyncRequest(SINGAPORE))
    assert.deepEqual(wanted.map(hexOf), [anywhere, singapore].map(r => hexOf(r.bytes)), 'newest first, only GPU inference in w2 or anywhere')

    const captureOnly = await rawSync(asker, requester, encodeSyncRequest({ kinds: [JobKind.CAPTURE], regions: ['w'] }))
    assert.deepEqual(captureOnly.map(hexOf), [hexOf(capture.bytes)])

    const everything = await rawSync(asker, requester)
    assert.deepEqual(everything.map(hexOf), [capture, europe, anywhere, singapore].map(r => hexOf(r.bytes)))

    // a request it cannot decode gets nothing
    // (the responder resets the stream: the asker reads nothing, or an error)
    const refused = await rawSync(asker, requester, Uint8Array.of(0x08, 0x09)).catch(() => [])
    assert.deepEqual(refused, [])
    // and counts against the asker like a rejected message (5 of them, decaying, cut it off)
    for (let i = 0; i < 10 && !requester.services.jobs.isBanned(asker.peerId); i++) {
      await rawSync(asker, requester, Uint8Array.of(0x12, 0x01, 0x61)).catch(() => [])
    }
    await waitFor(() => requester.services.jobs.isBanned(asker.peerId), 'the asker to be cut off')
  })

  it('a board learns by sync only what it serves', async () => {
    const requester = await createNode()
    const wanted = await requester.services.jobs.announce({ kind: JobKind.CAPTURE, requirements: { region: 'u09t', sensors: ['camera'] }, priceCeiling: price, budget: 100 })
    await requester.services.jobs.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'u09t' }, priceCeiling: price, budget: 100 })
    const late = await createNode({ serve: { kinds: [JobKind.CAPTURE], regions: ['u0'] }, syncIntervalMs: 0 })
    await connect(late, requester)
    await waitFor(() => late.services.jobs.size === 1, 'the capture job by sync')
    assert.equal(await late.services.jobs.sync(requester.peerId), 0)
    assert.ok(late.services.jobs.get(wanted.value.jobId) != null)
    assert.equal(late.services.jobs.size, 1)
  })

  it('publishes an announcement this node signed elsewhere, and refuses others\' and invalid ones', async () => {
    const key = await generateKeyPair('Ed25519')
    const requester = await createNode({}, key)
    const provider = await createNode({ serve: SINGAPORE })
    await connect(requester, provider)
    await subscribed(requester, W2, provider.peerId)

    const now = Date.now()
    const value: JobAnnouncement = { ...announcementValue(requester.peerId.toMultihash().bytes, now) }
    const record = await signRecord(JobAnnouncementType, value, key)
    const received = nextEvent(provider.services.jobs, 'job:announced')
    const published = await requester.services.jobs.publish(record)
    assert.ok(equals(published.bytes, record.bytes), 'the very bytes signed, not a second signature')
    assert.ok(equals((await received).record.bytes, record.bytes))
    assert.ok(equals(requester.services.jobs.get(value.jobId)?.record.bytes ?? new Uint8Array(), record.bytes))

    // bytes work too
    const again = await signRecord(JobAnnouncementType, { ...value, jobId: randomBytes(16) }, key)
    await requester.services.jobs.publish(again.bytes)
    assert.ok(requester.services.jobs.get(again.value.jobId) != null)

    const stranger = await generateKeyPair('Ed25519')
    const theirs = await signRecord(JobAnnouncementType, { ...value, jobId: randomBytes(16), requester: (await createNode({}, stranger)).peerId.toMultihash().bytes }, stranger)
    await assert.rejects(requester.services.jobs.publish(theirs), { name: 'NotRequesterError' })
    const tampered = record.bytes.slice()
    tampered[tampered.length - 1] ^= 1
    await assert.rejects(requester.services.jobs.publish(tampered), { name: 'InvalidAnnouncementError' })
    const expired = await signRecord(JobAnnouncementType, { ...value, jobId: randomBytes(16), createdMs: now - 600_000, expiresMs: now - 300_000, deadlineMs: now - 300_000 }, key)
    await assert.rejects(requester.services.jobs.publish(expired), { name: 'InvalidAnnouncementError' })
  })

  it('refuses to start a second board on the same sync protocol, and runs two with their own ids', async () => {
    const start = async (second: JobBoardInit): Promise<Libp2p<{ identify: Identify, pubsub: GossipSub, floodsub: FloodSub, jobs: JobBoard, floodJobs: JobBoard }>> => createTestNode({
      services: { identify: identify(), pubsub: gossipsub({ ...gossipOptions(), fallbackToFloodsub: false }), floodsub: floodsub(), jobs: jobBoard({ serve: SINGAPORE }), floodJobs: (components: JobBoardComponents) => jobBoard(second)(serviceAs(components, 'pubsub', 'floodsub')) }
    })
    await assert.rejects(start({}), (err: Error) => err.name === 'SyncProtocolInUseError' && err.message.includes(SYNC_PROTOCOL))

    const floodProtocol = '/shoal/jobs/sync/1.0.0/floodsub'
    const both = await start({ syncProtocol: floodProtocol })
    nodes.push(both)
    assert.ok(both.getProtocols().includes(SYNC_PROTOCOL))
    assert.ok(both.getProtocols().includes(floodProtocol))
    const record = await both.services.floodJobs.announce({ kind: JobKind.GPU_INFERENCE, requirements: { region: 'w21z' }, priceCeiling: price, budget: 100 })
    const asker = await createNode()
    await connect(asker, both)
    const frames = await rawSync(asker, both, encodeSyncRequest(SINGAPORE), floodProtocol)
    assert.deepEqual(frames.map(f => Buffer.from(f).toString('hex')), [Buffer.from(record.bytes).toString('hex')])
    assert.deepEqual(await rawSync(asker, both, encodeSyncRequest(SINGAPORE)), [], 'the other board has no job')

    // stopping one board leaves the other's handler in place
    await both.services.floodJobs.stop()
    assert.ok(both.getProtocols().includes(SYNC_PROTOCOL))
  })
})

function announcementValue (requester: Uint8Array, now: number): JobAnnouncement {
  return {
    version: 1,
    jobId: randomBytes(16),
    requester,
    kind: JobKind.GPU_INFERENCE,
    requirements: { gpuModel: '', gpuClass: 'consumer-24g', minVramMib: 0, gpuCount: 1, sensors: [], region: 'w21z', maxRttMs: 0 },
    priceCeiling: price,
    budget: 100,
    deadlineMs: now + 60_000,
    createdMs: now,
    expiresMs: now + 60_000,
    description: 'signed once, elsewhere',
    inputHash: new Uint8Array(),
    inputBytes: 0,
    workload: ''
  }
}
