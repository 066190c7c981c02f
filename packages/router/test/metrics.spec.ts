import assert from 'node:assert/strict'
import { countingMetrics } from '@shoal/test-support'
import { Router } from '../src/index.js'
import { newPeerId, silentComponentLogger } from './fixtures/stubs.js'
import type { RouterComponents } from '../src/index.js'


describe('router metrics', () => {
  it('counts RTT samples, failed exchanges and penalties in shoal_router_events_total', async () => {
    const { metrics, counts } = countingMetrics()
    let fail = false
    const components = {
      peerId: await newPeerId(),
      logger: silentComponentLogger,
      metrics,
      ping: { ping: async () => { if (fail) throw new Error('unreachable'); return 30 } }
    } as unknown as RouterComponents
    const router = new Router(components, { probeIntervalMs: 0 })
    const peer = await newPeerId()

    await router.ping(peer)
    fail = true
    await assert.rejects(router.ping(peer))
    router.report(peer, 'timeout')

    assert.deepEqual(counts.get('shoal_router_events_total'), { rtt_sample: 1, rtt_failure: 1, 'penalty:timeout': 1 })
  })

  it('works without metrics', async () => {
    const components = { peerId: await newPeerId(), logger: silentComponentLogger, ping: { ping: async () => 30 } } as unknown as RouterComponents
    const router = new Router(components, { probeIntervalMs: 0 })
    assert.equal(await router.ping(await newPeerId()), 30)
  })
})
