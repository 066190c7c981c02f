/**
 * Virtual time for a sharded run, the shard's side: conservative
 * synchronisation in rounds, as in Shadow and classic parallel
 * discrete-event simulation. The coordinator opens a round with a horizon
 * W = min(next event anywhere) + lookahead; the shard first takes in every
 * frame the other shards sent it in the previous round (the coordinator
 * tells it how many to expect from each), schedules them and the
 * coordinator's calls at their virtual times, runs every timer before W and
 * reports `done` with its next timer and what it sent. No packet sent in a
 * round can arrive before W: the lookahead is the least time a packet takes
 * between two shards.
 */

import type { SimGateway } from './gateway.js'
import type { FromShard, RunRound, TimedCall } from './protocol.js'
import type { SimNetwork } from '../transport/network.js'
import type { VirtualClock } from '../time/virtual-clock.js'

/** The largest double below `x` (for x > 0): a horizon that excludes `x` itself. */
export function justBefore (x: number): number {
  if (!Number.isFinite(x) || x <= 0) {
    return x
  }
  const f = new Float64Array([x])
  const i = new BigInt64Array(f.buffer)
  i[0] -= 1n
  return f[0]
}

/**
 * The least one-way delay the link model can give a packet from a site of
 * `own` to a site of `others` (jitter included): the lookahead this shard
 * can promise. Infinity when there is no such pair.
 */
export function minCrossDelayMs (network: SimNetwork, own: Iterable<string>, others: Iterable<string>): number {
  const to = [...new Set(others)]
  let min = Infinity

  for (const a of new Set(own)) {
    for (const b of to) {
      const p = network.directionParams(a, b)
      min = Math.min(min, Math.max(0, p.oneWayMs - p.jitterMs / 2))
    }
  }

  return min
}

/**
 * The shard's end of the rounds: give it each `run` message; it posts
 * `done` when its clock blocks at the horizon. Rounds are run one after
 * the other, in the order they arrive.
 */
export class ShardBarrier {
  private previousHorizon = -Infinity
  private queue: Promise<void> = Promise.resolve()
  private round = 0

  constructor (
    private readonly clock: VirtualClock,
    private readonly gateway: SimGateway,
    private readonly post: (msg: FromShard) => void,
    /** runs a call of the coordinator (at its time) and posts its answer when it settles */
    private readonly call: (call: TimedCall) => void
  ) {}

  /** Queues a round. */
  run (msg: RunRound): void {
    this.queue = this.queue.then(async () => { await this.runRound(msg) })
  }

  private async runRound (msg: RunRound): Promise<void> {
    // the coordinator's lookahead (the gateway has been on virtual time since the shard was built)
    this.gateway.useVirtualTime(msg.lookaheadMs)

    // every frame sent to this shard in the previous round, then the round's calls
    await this.gateway.whenReceived(msg.expect)
    this.gateway.flush(this.clock, this.previousHorizon, msg.expect)

    for (const call of msg.calls) {
      this.clock.at(call.at, () => { this.call(call) })
    }

    this.previousHorizon = msg.horizon
    const round = ++this.round
    this.clock.setHorizon(justBefore(msg.horizon), (nextAt) => {
      // the clock calls again on every turn it finds itself blocked: one report per round
      if (round !== this.round) return
      this.round++
      const sent = this.gateway.takeSent()
      this.post({ op: 'done', nextAt, sent: sent.count, minAt: sent.minAt, clamped: this.gateway.stats.clampedFrames ?? 0 })
    })
  }
}
