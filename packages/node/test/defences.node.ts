import { strict as assert } from 'node:assert'
import { stoppedAfterEach, waitFor } from '@shoal/test-support'
import { functionExecutor } from '@shoal/work'
import { createShoalNode } from '../src/index.js'
import { LOCAL, PRICE, SPEC } from './fixtures/local.js'
import type { ShoalNode, ShoalNodeOptions } from '../src/index.js'
import type { Executor } from '@shoal/work'

const GPU = [{ model: 'RTX 4090', vramMib: 24576 }]
const encode = (text: string): Uint8Array => new TextEncoder().encode(text)

/** A provider node that runs `executor`. */
function providerOptions (executor: Executor, defences = true): ShoalNodeOptions {
  return {
    ...LOCAL,
    role: 'gpu-provider',
    provider: { gpus: GPU, price: PRICE, concurrency: 2, executor: { type: 'echo' } },
    services: { work: { executor }, defences }
  }
}

/** Every node dials those created before it (requesters, created last, dial the providers), so gossip reaches all of them. */
async function mesh (nodes: ShoalNode[]): Promise<void> {
  for (let j = 1; j < nodes.length; j++) {
    for (let i = 0; i < j; i++) {
      await nodes[j].dial(nodes[i].getMultiaddrs()[0])
    }
  }
}

describe('node defences: dishonest peers on full nodes (TCP on loopback)', function () {
  this.timeout(90_000)
  const nodes = stoppedAfterEach<ShoalNode>()

  it('a wrong result loses to a quorum: it is refused unpaid, and the evidence reaches another requester, which never chooses the offender again', async () => {
    const honestA = await createShoalNode(providerOptions(functionExecutor(input => input)))
    const honestB = await createShoalNode(providerOptions(functionExecutor(input => input)))
    // valid receipts, wrong output
    const liar = await createShoalNode(providerOptions(functionExecutor(input => encode(`not ${new TextDecoder().decode(input)}`))))
    const requester = await createShoalNode(LOCAL)
    const bystander = await createShoalNode(LOCAL)
    nodes.push(honestA, honestB, liar, requester, bystander)
    await mesh(nodes)

    const heard = new Promise<string>(resolve => {
      bystander.services.evidence.addEventListener('offender', (evt) => { resolve(evt.detail.offender.toString()) }, { once: true })
    })
    const job = await requester.services.work.createJob(SPEC)
    const outcome = await requester.services.work.run([liar.peerId, honestA.peerId, honestB.peerId], job, encode('hello'), { verify: { redundancy: 2, quorum: 2 } })
    assert.equal(new TextDecoder().decode(outcome.output), 'hello')
    assert.ok(!outcome.provider.equals(liar.peerId), 'the agreeing result is the one kept')

    // the requester's own evidence, then the bystander's copy of it over gossip
    await waitFor(() => requester.services.evidence.isOffender(liar.peerId), 'the requester to hold evidence against the liar')
    assert.equal(await heard, liar.peerId.toString())
    assert.equal(bystander.services.evidence.isOffender(honestA.peerId), false)
    assert.equal(bystander.services.evidence.isOffender(honestB.peerId), false)

    // the liar was never paid: no voucher of the requester moved its lanes
    assert.equal(liar.services.work.pendingReceipts().length, 1, 'its receipt stays uncountersigned')

    // the bystander's router refuses it, and its work service will not run on it
    const decision = await bystander.services.router.choose([{ peerId: liar.peerId }, { peerId: honestA.peerId }], { priceCeiling: PRICE.perUnit })
    assert.deepEqual(decision.choices.map(c => c.peerId.toString()), [honestA.peerId.toString()])
    assert.ok(decision.rejected.some(r => r.peerId.equals(liar.peerId)))
    const own = await bystander.services.work.createJob(SPEC)
    await assert.rejects(bystander.services.work.run(liar.peerId, own, encode('again'), { verify: false }), { name: 'AllCandidatesFailedError' })

    // and the offender gets no quote from an honest provider that heard of it either
    await waitFor(() => honestA.services.evidence.isOffender(liar.peerId), 'the honest provider to hear of the liar')
    const theirs = await liar.services.work.createJob(SPEC)
    await assert.rejects(liar.services.work.requestQuote(honestA.peerId, theirs), { name: 'QuoteDeclinedError' })
  })

  it('a provider that claims a GPU it lacks fails the jobs it takes: the requester fails over to an honest one and trusts the liar less each time', async () => {
    // it advertises the GPU, but its executor cannot run the job
    const liar = await createShoalNode(providerOptions(functionExecutor(() => { throw new Error('CUDA error: no device of class consumer-24g') })))
    const honest = await createShoalNode(providerOptions(functionExecutor(input => input)))
    const requester = await createShoalNode(LOCAL)
    nodes.push(liar, honest, requester)
    await mesh(nodes)

    const trustBefore = requester.services.router.trust.get(liar.peerId.toString())
    for (let i = 0; i < 3; i++) {
      const job = await requester.services.work.createJob(SPEC)
      const outcome = await requester.services.work.run([liar.peerId, honest.peerId], job, encode(`job ${i}`), { verify: false, attemptTimeoutMs: 10_000 })
      assert.ok(outcome.provider.equals(honest.peerId))
      assert.equal(outcome.attempts[0].ok, false)
    }
    const trustAfter = requester.services.router.trust.get(liar.peerId.toString())
    assert.ok(trustAfter < trustBefore, `trust fell (${trustBefore} -> ${trustAfter})`)
  })

  it('with defences off the same wrong result is countersigned: the baseline the defences are measured against', async () => {
    const honest = await createShoalNode(providerOptions(functionExecutor(input => input), false))
    const liar = await createShoalNode(providerOptions(functionExecutor(() => encode('wrong')), false))
    const requester = await createShoalNode({ ...LOCAL, services: { defences: false } })
    nodes.push(honest, liar, requester)
    await mesh(nodes)
    const job = await requester.services.work.createJob(SPEC)
    const outcome = await requester.services.work.run([liar.peerId, honest.peerId], job, encode('hello'))
    assert.ok(outcome.provider.equals(liar.peerId))
    assert.equal(new TextDecoder().decode(outcome.output), 'wrong')
    assert.equal(requester.services.evidence.isOffender(liar.peerId), false)
  })
})
