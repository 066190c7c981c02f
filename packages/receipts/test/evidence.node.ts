import assert from 'node:assert/strict'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { EvidenceKind, EvidenceType, RECORD_VERSION, WorkReceiptType, signRecord } from '@shoal/records'
import { createTestNode, party, waitFor, waitForMesh } from '@shoal/test-support'
import { equals } from 'uint8arrays/equals'
import { EVIDENCE_TOPIC, createEquivocationEvidence, evidence } from '../src/index.js'
import { Market, RIGHT, WRONG } from './fixtures/evidence.js'
import type { EvidenceInit, EvidenceService, VerifiedEvidence } from '../src/index.js'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Party } from '@shoal/test-support'
import type { Evidence, SignedRecord } from '@shoal/records'
import type { Datastore } from 'interface-datastore'

type Node = Libp2p<{ identify: Identify, pubsub: GossipSub, evidence: EvidenceService }>

let nodes: Node[] = []

async function createNode (options: { datastore?: Datastore, privateKey?: PrivateKey, init?: EvidenceInit } = {}): Promise<Node> {
  const node = await createTestNode({
    privateKey: options.privateKey,
    datastore: options.datastore,
    services: {
      identify: identify(),
      // small meshes, fast heartbeats: three nodes on loopback
      pubsub: gossipsub({ D: 2, Dlo: 1, Dhi: 3, Dout: 0, Dscore: 1, Dlazy: 2, heartbeatInterval: 200 }),
      evidence: evidence(options.init)
    }
  })
  nodes.push(node)
  return node
}

async function connect (a: Node, b: Node): Promise<void> {
  await a.dial(b.getMultiaddrs()[0])
  // meshed, not just subscribed: a relay forwards only to its mesh, and gossip alone can take
  // longer than the test's patience on a loaded machine (gossipsub meshes subscribed peers only)
  await waitForMesh(a, b, EVIDENCE_TOPIC)
}

/** The first 'offender' event of `node` naming `offender`; rejects after 15 s so a lost message fails by name. */
async function offenderEvent (node: Node, offender: PeerId): Promise<VerifiedEvidence> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      node.services.evidence.removeEventListener('offender', listener)
      reject(new Error(`${node.peerId.toString()} never heard of offender ${offender.toString()}`))
    }, 15_000)
    const listener = (evt: CustomEvent<VerifiedEvidence>): void => {
      if (evt.detail.offender.equals(offender)) {
        clearTimeout(timer)
        node.services.evidence.removeEventListener('offender', listener)
        resolve(evt.detail)
      }
    }
    node.services.evidence.addEventListener('offender', listener)
  })
}

/** Equivocation evidence against a fresh provider, reported by `requester`. */
async function equivocation (requester: Party): Promise<{ offender: Party, record: SignedRecord<Evidence> }> {
  const offender = await party()
  const market = await Market.create(requester)
  const run = await market.run(offender, { resultHash: RIGHT })
  const second = await signRecord(WorkReceiptType, { ...run.receipt.value, resultHash: WRONG }, offender.key)
  return { offender, record: await createEquivocationEvidence(run.receipt, second, requester.key) }
}

afterEach(async () => {
  await Promise.all(nodes.map(async n => n.stop()))
  nodes = []
})

describe('evidence over real libp2p nodes (TCP on loopback, gossipsub)', function () {
  this.timeout(60_000)

  it('evidence reported at one end of a line reaches the other; forged evidence stops at the first hop', async () => {
    const [a, b, c] = await Promise.all([createNode(), createNode(), createNode()])
    await connect(a, b)
    await connect(b, c)

    // whatever C's pubsub delivers has passed every validator on its way
    const delivered: Uint8Array[] = []
    c.services.pubsub.addEventListener('message', (evt) => { delivered.push(evt.detail.data) })

    // forged: the provider signed the same claim twice, which is no equivocation
    const liar = await party()
    const market = await Market.create(await party())
    const run = await market.run(liar)
    const again = await signRecord(WorkReceiptType, run.receipt.value, liar.key)
    const forged = await signRecord(EvidenceType, {
      version: RECORD_VERSION, kind: EvidenceKind.EQUIVOCATION, offender: liar.id, receipts: [run.receipt.bytes, again.bytes], assignments: [], jobs: [], createdMs: Date.now()
    }, (await party()).key)
    await a.services.pubsub.publish(EVIDENCE_TOPIC, forged.bytes)

    const { offender, record } = await equivocation(await party())
    const seen = offenderEvent(c, offender.peerId)
    const verified = await a.services.evidence.report(record)
    assert.ok(verified.offender.equals(offender.peerId))
    assert.ok(a.services.evidence.isOffender(offender.peerId))

    const atC = await seen
    assert.deepEqual(atC.id, record.id)
    assert.ok(c.services.evidence.isOffender(offender.peerId))
    assert.ok(b.services.evidence.isOffender(offender.peerId))
    assert.deepEqual(c.services.evidence.offenders().map(e => e.offender.toString()), [offender.peerId.toString()])

    // pubsub delivers a message after its validator accepted it
    await waitFor(() => delivered.some(d => equals(d, record.bytes)), 'C\'s pubsub to deliver the evidence')
    // the forged record was published first on the same path; B refused it
    assert.equal(b.services.evidence.isOffender(liar.peerId), false)
    assert.equal(c.services.evidence.isOffender(liar.peerId), false)
    assert.ok(!delivered.some(d => equals(d, forged.bytes)), 'C received the forged evidence')
  })

  it('a node\'s own report holds even with no peer to publish to', async () => {
    const lonely = await createNode()
    const { offender, record } = await equivocation(await party())
    const seen = offenderEvent(lonely, offender.peerId)
    await lonely.services.evidence.report(record)
    assert.ok((await seen).offender.equals(offender.peerId))
    assert.ok(lonely.services.evidence.isOffender(offender.peerId))
  })

  it('a restarted node with a datastore still knows its offenders, and skips a corrupt entry', async () => {
    const datastore = new MemoryDatastore()
    const first = await createNode({ datastore })
    const { offender, record } = await equivocation(await party())
    await first.services.evidence.report(record)
    await first.stop()

    await datastore.put(new Key('/shoal/evidence/00'), new Uint8Array([1, 2, 3]))

    const second = await createNode({ datastore })
    assert.ok(second.services.evidence.isOffender(offender.peerId))
    assert.equal(second.services.evidence.offenders().length, 1)
  })

  it('keeps at most maxEvidence records, dropping the oldest', async () => {
    const node = await createNode({ init: { maxEvidence: 2 } })
    const reporter = await party()
    const made = [await equivocation(reporter), await equivocation(reporter), await equivocation(reporter)]
    for (const { record } of made) {
      await node.services.evidence.report(record)
    }
    assert.equal(node.services.evidence.isOffender(made[0].offender.peerId), false)
    assert.ok(node.services.evidence.isOffender(made[1].offender.peerId))
    assert.ok(node.services.evidence.isOffender(made[2].offender.peerId))
  })
})
