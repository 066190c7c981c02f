import assert from 'node:assert/strict'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { countingMetrics, createTestNode, stoppedAfterEach, waitFor } from '@shoal/test-support'
import { functionExecutor, work } from '../src/index.js'
import { dec, enc } from './helpers.js'
import type { JobSpec, WorkComponents, WorkInit } from '../src/index.js'
import type { WorkNode } from './helpers.js'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const PRICE = { perUnit: 20, currency: 'USDC', unit: 'job' }
const SPEC: JobSpec = { priceCeiling: { perUnit: 25, currency: 'USDC', unit: 'job' }, budget: 1000, workload: 'upper' }
const upper = functionExecutor(input => enc(dec(input).toUpperCase()))

/**
 * A relay, a provider reachable only through it (it listens on a
 * `/p2p-circuit` address; the requester may not dial its TCP address), and
 * a requester: the provider stands for a GPU behind a home NAT.
 */
describe('work over a circuit relay', function () {
  this.timeout(60_000)
  const nodes = stoppedAfterEach<Libp2p>()
  /** whether the requester may dial the provider's own (non-relay) addresses: a hole punch that worked */
  let directAllowed = false

  afterEach(() => {
    directAllowed = false
  })

  async function relayNode (): Promise<Libp2p> {
    const relay = await createTestNode({ services: { identify: identify(), relay: circuitRelayServer() } })
    nodes.push(relay)
    return relay
  }

  /** A work node that can dial through relays (and listen on `listen`); `allowed` says which addresses it may dial. */
  async function workNode (init: WorkInit, listen: string[], allowed: (ma: Multiaddr) => boolean = () => true): Promise<{ node: WorkNode, counts: Map<string, Record<string, number>> }> {
    const { metrics, counts } = countingMetrics()
    const node = await createTestNode({
      addresses: { listen },
      transports: [tcp(), circuitRelayTransport()],
      connectionGater: { denyDialMultiaddr: ma => !allowed(ma) },
      // the work service alone counts into the test's registry (libp2p itself would need a full one)
      services: { identify: identify(), ping: ping(), work: (components: WorkComponents) => work(init)(new Proxy(components, { get: (target, key) => key === 'metrics' ? metrics : Reflect.get(target, key) })) }
    })
    nodes.push(node)
    return { node, counts }
  }

  /** The three nodes; the requester reaches the provider through the relay only (until `directAllowed`). */
  async function relayed (providerInit: WorkInit = {}, requesterInit: WorkInit = {}): Promise<{ provider: WorkNode, requester: WorkNode, providerCounts: Record<string, number>, requesterCounts: Record<string, number> }> {
    const relay = await relayNode()
    const relayAddr = relay.getMultiaddrs()[0]
    const { node: provider, counts: pc } = await workNode({ price: PRICE, executor: upper, ...providerInit }, ['/ip4/127.0.0.1/tcp/0', `${relayAddr.toString()}/p2p-circuit`])
    await waitFor(() => provider.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit')), 'the relay reservation')
    const circuit = provider.getMultiaddrs().find(ma => ma.toString().includes('/p2p-circuit')) as Multiaddr
    const relayTcp = relayAddr.toString()
    const { node: requester, counts: rc } = await workNode(requesterInit, ['/ip4/127.0.0.1/tcp/0'],
      ma => directAllowed || ma.toString().includes('/p2p-circuit') || ma.toString().startsWith(relayTcp))
    await requester.dial(circuit)
    await waitFor(() => provider.getConnections(requester.peerId).length > 0, 'the relayed connection')
    return { provider, requester, providerCounts: pc.get('shoal_work_events_total') ?? {}, requesterCounts: rc.get('shoal_work_events_total') ?? {} }
  }

  it('runs a small job over the relay to a countersigned receipt, after waiting for a direct connection that never came', async () => {
    const { provider, requester, providerCounts, requesterCounts } = await relayed({}, { relayed: { upgradeWaitMs: 200 } })
    assert.ok(requester.getConnections(provider.peerId).every(c => c.limits != null), 'only a relayed connection to start with')
    const completed = new Promise<string | undefined>(resolve => {
      provider.services.work.addEventListener('job:completed', evt => { resolve(evt.detail.connection) }, { once: true })
    })
    const outcome = await requester.services.work.run(provider.peerId, SPEC, enc('hello relay'), { timeoutMs: 20_000 })
    assert.equal(dec(outcome.output), 'HELLO RELAY')
    assert.equal(outcome.connection, 'relayed')
    assert.ok(outcome.receipt.countersignature.byteLength > 0)
    assert.equal(await completed, 'relayed')
    assert.equal(requesterCounts.relay_upgrade_waited, 1)
    assert.equal(requesterCounts.relay_upgraded, undefined)
    assert.equal(requesterCounts.relayed_run, 1)
    await waitFor(() => providerCounts.relayed_run === 1, 'the provider counting its relayed run')
  })

  it('refuses an input over maxInputBytes before quoting, naming the limit', async () => {
    const { provider, requester, requesterCounts } = await relayed({}, { relayed: { upgradeWaitMs: 0 } })
    await assert.rejects(requester.services.work.run(provider.peerId, SPEC, new Uint8Array(40_000), { timeoutMs: 20_000 }), (err: Error) => {
      assert.equal(err.name, 'RelayLimitError')
      assert.match(err.message, /maxInputBytes of 32768/)
      assert.match(err.message, /40000 bytes/)
      return true
    })
    assert.equal(requesterCounts.relay_refused, 1)
  })

  it('the provider refuses an assignment over the relay that breaks its own policy with relay-limit', async () => {
    // the requester lets 40 kB through, the provider's policy does not
    const { provider, requester, providerCounts } = await relayed({ relayed: { maxInputBytes: 1024 } }, { relayed: { upgradeWaitMs: 0 } })
    const refused = new Promise<string>(resolve => {
      provider.services.work.addEventListener('request:refused', evt => { resolve(`${evt.detail.kind}:${evt.detail.code}`) }, { once: true })
    })
    // the job declares no input, so its quote is given; the assignment carries 4 kB
    const job = await requester.services.work.createJob(SPEC)
    const quote = await requester.services.work.requestQuote(provider.peerId, job)
    await assert.rejects(requester.services.work.assign(quote, new Uint8Array(4096)), (err: Error) => {
      assert.equal(err.name, 'RelayLimitError')
      assert.match(err.message, /maxInputBytes of 1024/)
      return true
    })
    assert.equal(await refused, 'assign:relay-limit')
    assert.equal(providerCounts.relay_refused, 1)
  })

  it('the provider refuses a quote request over the relay for a job whose input breaks its policy', async () => {
    const { provider, requester } = await relayed({ relayed: { maxInputBytes: 1024 } }, { relayed: { upgradeWaitMs: 0 } })
    await assert.rejects(requester.services.work.run(provider.peerId, SPEC, new Uint8Array(4096), { timeoutMs: 20_000 }), (err: Error) => {
      assert.equal(err.name, 'RelayLimitError')
      assert.match(err.message, /^remote: .*maxInputBytes of 1024/)
      return true
    })
  })

  it('fails a relayed run whose output is over the provider\'s maxOutputBytes, as the output limit does: no receipt', async () => {
    const { provider, requester } = await relayed({ executor: functionExecutor(() => new Uint8Array(2048)), relayed: { maxOutputBytes: 1024 } }, { relayed: { upgradeWaitMs: 0 } })
    const failed = new Promise<string>(resolve => {
      provider.services.work.addEventListener('job:failed', evt => { resolve(evt.detail.error.name) }, { once: true })
    })
    await assert.rejects(requester.services.work.run(provider.peerId, SPEC, enc('x'), { timeoutMs: 20_000 }), (err: Error) => {
      assert.equal(err.name, 'RelayLimitError')
      assert.match(err.message, /output of 2048 bytes is over the relayed job limit maxOutputBytes of 1024/)
      return true
    })
    assert.equal(await failed, 'RelayLimitError')
    assert.equal(provider.services.work.pendingReceipts().length, 0)
  })

  it('with relayed: false nothing runs over the relay (the old behaviour)', async () => {
    const { provider, requester } = await relayed({}, { relayed: false })
    await assert.rejects(requester.services.work.run(provider.peerId, SPEC, enc('x'), { timeoutMs: 20_000 }), (err: Error) => {
      assert.equal(err.name, 'RelayLimitError')
      return true
    })
  })

  it('a provider with relayed: false does not take work over the relay: it refuses with relay-limit, a decline', async () => {
    const { provider, requester, providerCounts } = await relayed({ relayed: false }, { relayed: { upgradeWaitMs: 0 } })
    await assert.rejects(requester.services.work.run(provider.peerId, SPEC, enc('x'), { timeoutMs: 20_000 }), (err: Error) => {
      assert.equal(err.name, 'RelayLimitError')
      assert.match(err.message, /do not run over relayed connections/)
      return true
    })
    assert.equal(providerCounts.quote_sent, undefined)
    assert.equal(providerCounts.job_admitted, undefined)
  })

  it('runs on the direct connection that opens while it waits (as DCUtR opens one)', async () => {
    const { provider, requester, requesterCounts } = await relayed({}, { relayed: { upgradeWaitMs: 20_000 } })
    // the hole punch: DCUtR dials only public addresses, so on loopback the test opens the direct connection itself
    setTimeout(() => {
      directAllowed = true
      const direct = provider.getMultiaddrs().find(ma => !ma.toString().includes('/p2p-circuit')) as Multiaddr
      requester.dial(direct).catch(() => {})
    }, 300)
    const outcome = await requester.services.work.run(provider.peerId, SPEC, enc('punched'), { timeoutMs: 30_000 })
    assert.equal(dec(outcome.output), 'PUNCHED')
    assert.equal(outcome.connection, 'direct')
    assert.equal(requesterCounts.relay_upgraded, 1)
    assert.equal(requesterCounts.direct_run, 1)
  })
})
