import assert from 'node:assert/strict'
import { TypedEventEmitter } from '@libp2p/interface'
import { Router } from '../src/index.js'
import { PeerBook } from '../src/peer-book.js'
import { RttTracker } from '../src/rtt.js'
import { PeerTrust } from '../src/trust.js'
import { Vivaldi } from '../src/vivaldi.js'
import { newPeerId, silentComponentLogger, silentLogger } from './fixtures/stubs.js'
import type { RouterComponents, RouterEvents } from '../src/index.js'

// a clock far from the wall clock, so a Date.now() anywhere shows
const FROZEN = 1_000_000

describe('injectable clock', () => {
  it('times RTT samples, and expires them, by the router\'s `now`', async () => {
    let now = FROZEN
    const peer = await newPeerId()
    const components = {
      peerId: await newPeerId(),
      logger: silentComponentLogger,
      ping: { ping: async () => 25 }
    } as unknown as RouterComponents
    const router = new Router(components, { now: () => now, probeIntervalMs: 0 })

    assert.equal(await router.ping(peer), 25)
    assert.equal(router.measured(peer)?.updated, FROZEN)

    now += 299_000
    assert.equal(router.measured(peer)?.smoothed, 25, 'still fresh by the injected clock')

    now += 2_000
    assert.equal(router.measured(peer), undefined, 'expired by the injected clock, whatever the wall clock says')
  })

  it('keeps a load claim for 30 s of the book\'s clock', async () => {
    let now = FROZEN
    const peer = await newPeerId()
    const book = new PeerBook({
      rtt: new RttTracker({ now: () => now }),
      vivaldi: new Vivaldi({ now: () => now }),
      trust: new PeerTrust(),
      events: new TypedEventEmitter<RouterEvents>(),
      log: silentLogger(),
      now: () => now,
      lieFactor: 3
    })

    book.rememberLoad(peer, { freeSlots: 1, concurrency: 1 })
    now += 29_999
    assert.equal(book.claimedFreeSlots(peer), true)
    now += 1
    assert.equal(book.claimedFreeSlots(peer), false)
  })
})
