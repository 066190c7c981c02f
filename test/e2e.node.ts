/**
 * The embedder's path, end to end over TCP on 127.0.0.1: plain libp2p 3
 * nodes with the Shoal services from `shoalServices()`, providers started
 * with `startProvider()` and one open-market job run with `submitJob()`,
 * from announcement to the countersigned receipt both sides keep.
 */

import assert from 'node:assert/strict'
import { jobTopic } from '@shoal/job-board'
import { startProvider, submitJob } from '@shoal/node'
import { JobKind, WorkReceiptType, openCountersigned } from '@shoal/records'
import { functionExecutor } from '@shoal/work'
import { FOOTAGE_BYTES_PER_SECOND, captureProvider, gpuProvider, sha256 } from './helpers/market.js'
import { connectAll, createEmbedderNode, waitFor, waitForSubscribers } from './helpers/network.js'
import type { Behaviour } from './helpers/market.js'
import type { EmbedderNode } from './helpers/network.js'
import type { TopicJobKind } from '@shoal/job-board'
import type { ProviderCandidate, ShoalServicesInit, SubmitJobEvent } from '@shoal/node'
import type { Price } from '@shoal/records'
import type { RoutingDecision } from '@shoal/router'
import type { JobSpec, RunOutcome } from '@shoal/work'

/** A provider of the scenario: where it is and how it is built. */
interface ProviderSpec {
  name: string
  geohash: string
  services: (behaviour: Behaviour) => ShoalServicesInit
  offer: { gpus?: Array<{ model: string, class: string, vramMib: number, count: number }>, sensors?: string[], price: Price }
}

interface Scenario {
  providers: ProviderSpec[]
  job: JobSpec & { kind: TopicJobKind, requirements: { region: string } }
  input: Uint8Array
  /** where the requester is */
  geohash: string
}

interface Provider {
  spec: ProviderSpec
  node: EmbedderNode
  behaviour: Behaviour
}

interface MarketResult {
  requester: EmbedderNode
  providers: Provider[]
  /** the providers that serve the job's kind in its region */
  inRegion: Provider[]
  /** the provider made to fail, and the one that did the work */
  failed: Provider
  winner: Provider
  outcome: RunOutcome
}

/** Byte equality whatever the view (decoders may hand out Buffers, signers Uint8Arrays). */
function assertSameBytes (actual: Uint8Array, expected: Uint8Array, message?: string): void {
  assert.ok(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected), message ?? 'bytes differ')
}

describe('Shoal embedded in plain libp2p nodes: the open market end to end', function () {
  this.timeout(60_000)
  let nodes: EmbedderNode[] = []
  let unwire: Array<() => void> = []

  async function node (init: ShoalServicesInit = {}): Promise<EmbedderNode> {
    const n = await createEmbedderNode(init)
    nodes.push(n)
    return n
  }

  afterEach(async () => {
    unwire.splice(0).forEach(fn => { fn() })
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  /**
   * The open market through the library flows: providers `startProvider()`
   * (advertise, quote announced jobs), the requester `submitJob()`
   * (publish, discover, rank, run with failover, countersign), and the test
   * checks each step as the flow yields it, making the best candidate fail
   * before the run starts.
   */
  async function openMarket (scenario: Scenario): Promise<MarketResult> {
    const requester = await node()
    const providers: Provider[] = []
    for (const spec of scenario.providers) {
      const behaviour: Behaviour = { fail: false, runs: 0 }
      providers.push({ spec, node: await node(spec.services(behaviour)), behaviour })
    }
    await connectAll([requester, ...providers.map(p => p.node)])
    for (const p of providers) {
      const provider = startProvider(p.node.services, { geohash: p.spec.geohash, ...p.spec.offer })
      unwire.push(() => { provider.stop() })
      await provider.advertised
    }
    const region = scenario.job.requirements.region
    const kind = scenario.job.kind
    const capture = kind === JobKind.CAPTURE
    const inRegion = providers.filter(p => p.spec.geohash.startsWith(region) && (capture ? p.spec.offer.sensors : p.spec.offer.gpus) != null)
    const outside = providers.filter(p => !inRegion.includes(p))
    const ids = (list: Array<{ toString(): string }>): string[] => list.map(String).sort()
    const providerOf = (id: { toString(): string }): Provider => {
      const p = providers.find(p => p.node.peerId.toString() === id.toString())
      assert.ok(p != null)
      return p
    }
    await waitForSubscribers(requester, jobTopic(kind, region), inRegion.map(p => p.node))

    const steps: Array<SubmitJobEvent['type']> = []
    let decision: RoutingDecision<ProviderCandidate> | undefined
    let failed: Provider | undefined
    let trustBefore = NaN
    let outcome: RunOutcome | undefined
    // on loopback every peer is as near as any other: leave the coordinate out so discovery orders by geohash cell
    const flow = submitJob(requester.services, { ...scenario.job, input: scenario.input }, {
      geohash: scenario.geohash, k: inRegion.length, query: { coordinate: undefined }, profile: { computeTime: 1000 }, attemptTimeoutMs: 15_000, timeoutMs: 40_000,
      // the flow one attempt after another, as this test follows it: checking results on a second provider is the defences' tests' subject
      verify: false
    })
    const quoted: string[] = []
    for await (const event of flow) {
      if (event.type === 'quoted') quoted.push(event.detail.quote.signer.toString())
      if (event.type !== 'searched' && event.type !== 'progress' && event.type !== 'quoted') steps.push(event.type)
      if (event.type === 'published') {
        // 1. the job board: providers of the region see the job and quote, the others never see it
        const jobId = event.detail.job.value.jobId
        await waitFor(() => requester.services.work.offersFor(jobId).length >= inRegion.length, 'quotes from every provider in the region')
        assert.deepEqual(ids(requester.services.work.offersFor(jobId).map(q => q.signer)), ids(inRegion.map(p => p.node.peerId)), 'every provider serving the region quoted, and only they')
        for (const p of inRegion) {
          const entry = p.node.services.jobs.get(jobId)
          assert.ok(entry != null, `${p.spec.name} has the job on its board`)
          assert.equal(entry.source, 'gossip')
          assert.ok(entry.requester.equals(requester.peerId))
        }
        for (const p of outside) {
          assert.equal(p.node.services.jobs.get(jobId), undefined, `${p.spec.name} serves another region or kind and never saw the job`)
        }
      }
      if (event.type === 'ranked') {
        // 2. every provider in the region quoted on the board (discovery searches only when none does); 3. the router ranked them by expected completion time
        decision = event.detail.decision
        assert.equal(decision.rejected.length, 0, `no candidate rejected: ${decision.rejected.map(r => r.reason).join('; ')}`)
        assert.deepEqual(ids(decision.choices.map(c => c.peerId)), ids(inRegion.map(p => p.node.peerId)), 'every provider in the region is a candidate')
        for (const choice of decision.choices) {
          assert.match(choice.explain, /ms expected/)
        }
        // 4. the best candidate breaks before the run starts
        failed = providerOf(decision.choices[0].peerId)
        failed.behaviour.fail = true
        trustBefore = requester.services.router.trust.get(failed.node.peerId.toString())
      }
      if (event.type === 'failed-over') {
        assert.ok(failed != null && event.detail.attempt.candidate.equals(failed.node.peerId))
        assert.equal(event.detail.attempt.error?.name, 'ExecutorError')
      }
      if (event.type === 'receipt') {
        outcome = event.detail.outcome
        assert.equal(event.detail.stored?.state, 'countersigned')
      }
    }
    assert.deepEqual(steps, ['created', 'published', 'ranked', 'failed-over', 'receipt'])
    assert.deepEqual(quoted.sort(), ids(inRegion.map(p => p.node.peerId)), 'the flow reported each quote from the region once')
    assert.ok(decision != null && failed != null && outcome != null)
    const order = decision.choices.map(c => c.peerId)
    assert.ok(requester.services.router.trust.get(order[0].toString()) < trustBefore, 'the provider that failed lost the router\'s trust')
    assert.ok(requester.services.router.trust.get(order[1].toString()) >= trustBefore, 'the one that delivered did not')
    const winner = providerOf(outcome.provider)
    assert.ok(outcome.provider.equals(order[1]), 'the job went to the second choice')
    assert.equal(failed.behaviour.runs, 1, 'the first choice did run the job')
    assert.equal(outcome.attempts.length, 2)
    assert.equal(outcome.attempts[1].ok, true)
    assert.equal(outcome.acknowledged, true, 'the provider acknowledged the countersignature')
    return { requester, providers, inRegion, failed, winner, outcome }
  }

  /** Both sides hold the same countersigned receipt; logs verify; reputation reflects it. */
  async function checkReceipts ({ requester, failed, winner, outcome }: MarketResult): Promise<void> {
    const verified = await openCountersigned(WorkReceiptType, outcome.receipt.bytes)
    assert.ok(verified.record.signer.equals(winner.node.peerId))
    assert.ok(verified.countersigner.equals(requester.peerId))
    const receipt = verified.record.value
    assert.equal(receipt.status, 0)
    assertSameBytes(receipt.jobId, outcome.quote.value.jobId)
    assertSameBytes(receipt.assignmentId, outcome.assignment.id)
    assertSameBytes(receipt.resultHash, sha256(outcome.output))
    assert.equal(receipt.total, receipt.units * (receipt.price?.perUnit ?? NaN))

    const id = outcome.receipt.id
    const mine = await requester.services.receipts.get(id)
    await waitFor(async () => winner.node.services.receipts.has(id), 'the provider to store the countersigned receipt')
    const theirs = await winner.node.services.receipts.get(id)
    assert.equal(mine.state, 'countersigned')
    assert.equal(theirs.state, 'countersigned')
    assertSameBytes(theirs.bytes, mine.bytes, 'both sides keep the same bytes')
    assertSameBytes(mine.bytes, outcome.receipt.bytes)

    for (const store of [requester.services.receipts, winner.node.services.receipts]) {
      const log = await store.verifyLog({ signatures: true })
      assert.equal(log.ok, true, JSON.stringify(log.problems))
      assert.equal(log.length, 1)
      const proof = await store.proveInclusion(id)
      assert.equal(proof.index, 0)
    }
    assert.equal((await failed.node.services.receipts.verifyLog()).length, 0, 'the failed provider has no receipt')

    // one successful receipt from one requester lifts the provider above the unknown-peer 0.5
    const reputation = await requester.services.receipts.explainReputation(winner.node.peerId)
    assert.ok(reputation.score > 0.5, `score ${reputation.score}`)
    assert.equal(await winner.node.services.receipts.reputation(winner.node.peerId), reputation.score, 'the provider computes the same score from its copy')
    assert.equal(await requester.services.receipts.reputation(failed.node.peerId), 0.5, 'a failure leaves no receipt, so no reputation either way')
  }

  it('GPU job: announce, quote, discover, rank, fail over, and both keep the countersigned receipt', async () => {
    const price: Price = { perUnit: 2, currency: 'USDC', unit: 'gpu-second' }
    const gpu = (name: string, geohash: string, perUnit = price.perUnit): ProviderSpec => ({
      name,
      geohash,
      services: b => gpuProvider(geohash, { ...price, perUnit }, b),
      offer: { gpus: [{ model: 'RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 1 }], price: { ...price, perUnit } }
    })
    const result = await openMarket({
      providers: [
        gpu('singapore-1', 'w21z7p'),
        gpu('singapore-2', 'w21zdq'),
        gpu('kuala-lumpur', 'w283k', 3),
        gpu('berlin', 'u33dc1')
      ],
      job: {
        kind: JobKind.GPU_INFERENCE,
        workload: 'llama-7b',
        description: 'run a 7B model near Singapore',
        requirements: { gpuClass: 'consumer-24g', minVramMib: 16384, gpuCount: 1, region: 'w2' },
        priceCeiling: { perUnit: 5, currency: 'USDC', unit: 'gpu-second' },
        budget: 100,
        deadlineInMs: 60_000
      },
      input: new TextEncoder().encode('hello shoal'),
      geohash: 'w21z'
    })
    assert.equal(new TextDecoder().decode(result.outcome.output), '[llama-7b] HELLO SHOAL')
    assert.ok(result.outcome.receipt.record.value.units >= 1, 'GPU-seconds are rounded up')
    await checkReceipts(result)
  })

  it('capture bounty: video in South-East Asia, paid per second of footage, with failover', async () => {
    const price: Price = { perUnit: 2, currency: 'USDC', unit: 'footage-second' }
    const camera = (name: string, geohash: string): ProviderSpec => ({
      name,
      geohash,
      services: b => captureProvider(geohash, price, b),
      offer: { sensors: ['video'], price }
    })
    const result = await openMarket({
      providers: [
        camera('singapore-cam-1', 'w21z6'),
        camera('singapore-cam-2', 'w21zk'),
        // a GPU next door: it serves no capture jobs and must not see this one
        {
          name: 'singapore-gpu',
          geohash: 'w21z5',
          services: b => gpuProvider('w21z5', { perUnit: 2, currency: 'USDC', unit: 'gpu-second' }, b),
          offer: { gpus: [{ model: 'RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 1 }], price: { perUnit: 2, currency: 'USDC', unit: 'gpu-second' } }
        },
        camera('berlin-cam', 'u33dc')
      ],
      job: {
        kind: JobKind.CAPTURE,
        workload: 'video',
        description: 'video of red traffic cones in South-East Asia, paid per second of valid footage',
        requirements: { sensors: ['video'], region: 'w2' },
        priceCeiling: { perUnit: 3, currency: 'USDC', unit: 'footage-second' },
        budget: 120,
        deadlineInMs: 60_000
      },
      input: new TextEncoder().encode(JSON.stringify({ seconds: 4 })),
      geohash: 'w21z'
    })
    assert.ok(!result.inRegion.some(p => p.spec.name === 'singapore-gpu'), 'a GPU next door neither quotes for nor is found for a capture job')
    const receipt = result.outcome.receipt.record.value
    assert.equal(receipt.units, 4, 'units are seconds of footage')
    assert.equal(receipt.total, 8)
    assert.equal(result.outcome.output.byteLength, 4 * FOOTAGE_BYTES_PER_SECOND)
    await checkReceipts(result)
  })

  // The ack of a voucher streamed during a metered job can arrive after the result; it must not be
  // taken for the countersignature's ack (which would leave the real one on the pooled stream).
  it('a metered job with progress: the countersignature is acknowledged only once the provider stored it, and the next job runs', async () => {
    const price: Price = { perUnit: 2, currency: 'USDC', unit: 'gpu-second' }
    const provider = await node({
      role: 'gpu-provider',
      provider: { gpus: [{ model: 'RTX 4090', vramMib: 24576 }], price },
      work: {
        executor: functionExecutor((input, { onProgress }) => {
          onProgress({ permille: 500, message: 'half way' })
          return input
        })
      }
    })
    const requester = await node()
    await requester.dial(provider.getMultiaddrs())
    const spec: JobSpec = { priceCeiling: { ...price, perUnit: 5 }, budget: 100 }
    for (let i = 0; i < 4; i++) {
      const outcome = await requester.services.work.run(provider.peerId, spec, new Uint8Array([i]))
      assert.equal(outcome.acknowledged, true)
      assert.equal((await provider.services.receipts.get(outcome.receipt.id)).state, 'countersigned', `job ${i}: acknowledged before the provider stored it`)
    }
  })
})
