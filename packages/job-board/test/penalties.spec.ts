import assert from 'node:assert/strict'
import { TypedEventEmitter } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { NOW, party } from '@shoal/test-support'
import { JobStore } from '../src/board.js'
import { PeerPenalties } from '../src/penalties.js'
import type { BoardContext } from '../src/context.js'
import type { JobBoardComponents, JobBoardEvents } from '../src/index.js'
import type { PeerId } from '@libp2p/interface'

describe('PeerPenalties', () => {
  async function setup (): Promise<{ penalties: PeerPenalties, clock: { now: number }, closed: PeerId[], banned: PeerId[] }> {
    const self = await party()
    const clock = { now: NOW }
    const closed: PeerId[] = []
    const banned: PeerId[] = []
    const events = new TypedEventEmitter<JobBoardEvents>()
    events.addEventListener('peer:banned', e => banned.push(e.detail))
    const components = {
      peerId: self.peerId,
      privateKey: self.key,
      logger: defaultLogger(),
      connectionManager: { closeConnections: async (peer: PeerId) => { closed.push(peer) } }
    } as unknown as JobBoardComponents
    const ctx: BoardContext = {
      components,
      log: defaultLogger().forComponent('test'),
      now: () => clock.now,
      store: new JobStore({ maxJobs: 1, maxPerRequester: 1, maxWithdrawals: 1 }),
      events,
      interests: {},
      clockSkewMs: 0
    }
    return { penalties: new PeerPenalties(ctx, { maxPeerPenalty: 3, penaltyHalfLifeMs: 60_000, banMs: 600_000 }), clock, closed, banned }
  }

  it('lets a penalty decay by half every half-life, so slow offenders stay below the limit', async () => {
    const { penalties, clock, closed, banned } = await setup()
    const peer = (await party()).peerId
    penalties.penalize(peer)
    penalties.penalize(peer)
    clock.now += 60_000
    // 2 halved to 1, plus 1: still under 3
    penalties.penalize(peer)
    assert.ok(!penalties.isBanned(peer))
    assert.deepEqual(closed, [])
    // 2 + 1 reaches the limit
    penalties.penalize(peer)
    assert.ok(penalties.isBanned(peer))
    assert.deepEqual(banned.map(String), [peer.toString()])
    assert.deepEqual(closed.map(String), [peer.toString()])
  })

  it('ends a ban after banMs, and bans one peer without touching another', async () => {
    const { penalties, clock } = await setup()
    const bad = (await party()).peerId
    const good = (await party()).peerId
    for (let i = 0; i < 3; i++) {
      penalties.penalize(bad)
    }
    penalties.penalize(good)
    assert.ok(penalties.isBanned(bad))
    assert.ok(!penalties.isBanned(good))
    clock.now += 600_000
    assert.ok(!penalties.isBanned(bad))
  })
})
