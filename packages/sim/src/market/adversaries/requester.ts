/**
 * Requester- and network-side behaviours: a free rider that takes results
 * without countersigning, and a spammer that floods the job board.
 */

import { setTimeout as sleep } from 'node:timers/promises'
import { topicsForAnnouncement } from '@shoal/job-board'
import { MAX_SIZE } from '@shoal/records'
import { jobSpecOf, peerGeohash } from '../market.js'
import type { Behaviour, BehaviourContext } from './registry.js'

/** Workload prefix of a spam announcement: providers' boards tag what lands by it. */
export const SPAM_WORKLOAD_PREFIX = 'spam/'
/** Times the scenario's whole announcement rate each spammer publishes at. */
export const SPAM_FACTOR = 10
/** Bytes of an oversized message: one past an announcement's limit (larger would only load the simulated links). */
const OVERSIZED_BYTES = MAX_SIZE.JobAnnouncement + 1
/** Announcement rate assumed when the scenario has no workload, per s. */
const FALLBACK_RATE_PER_S = 1
/** The spam kinds a spammer cycles through. */
export const SPAM_VARIANTS = ['valid', 'forged', 'replayed', 'oversized'] as const

/**
 * Takes every result and never countersigns or pays: its jobs run with a
 * `checkResult` that refuses whatever comes back, which the work service
 * answers with a Failure to the provider and no countersignature. Until
 * @shoal/work reads `checkResult`, the option is ignored and the free
 * rider countersigns like an honest requester.
 */
export const freeRider: Behaviour = {
  side: 'requester',
  install ({ conduct }) {
    conduct.work.push(work => ({
      ...work,
      createJob: work.createJob.bind(work),
      run: async (candidates, job, input, options) => work.run(candidates, job, input, {
        ...options,
        // a spread: RunOptions gains `checkResult` with result verification
        ...{
          checkResult: async () => {
            throw Object.assign(new Error('the free rider refuses every result'), { name: 'ResultRejectedError' })
          }
        }
      })
    }))
  }
}

/**
 * Publishes on the job board's pubsub topics at {@link SPAM_FACTOR} x the
 * scenario's announcement rate, cycling through valid announcements (the
 * market's first job kind from the spammer's place, priced below every
 * offer, signed by the spammer: the board takes an announcement only from
 * the pubsub origin that signed it, so a fresh key needs a node of its
 * own, which is what sybils are), forged ones (a signature byte flipped),
 * replays of the last valid one and oversized messages. Each is a
 * `spam:sent` event.
 */
export const spammer: Behaviour = {
  side: 'network',
  install (ctx: BehaviourContext) {
    void spam(ctx).catch((err: unknown) => {
      if (!ctx.signal.aborted) ctx.sim.events.record('adversary:error', { peer: ctx.index, behaviour: 'spammer', error: String(err).slice(0, 300) })
    })
  }
}

async function spam ({ index, peer, sim, market, signal }: BehaviourContext): Promise<void> {
  const node = peer.node
  const kind = Object.values(market.jobs)[0]
  if (node == null || kind == null) return
  const intervalMs = 1000 / (SPAM_FACTOR * (market.jobRatePerS > 0 ? market.jobRatePerS : FALLBACK_RATE_PER_S))
  // priced below every offer: providers keep it on their boards but do not quote it (a quote to a key no node
  // holds costs each provider a DHT lookup, which would starve the simulator's event loops)
  const floor = Math.max(0, Math.min(...Object.values(market.roles).map(r => r.price.perUnit)) - 1)
  let last: Uint8Array | undefined
  let topics: string[] = []
  for (let n = 0; !signal.aborted; n++) {
    const variant = SPAM_VARIANTS[n % SPAM_VARIANTS.length]
    let bytes: Uint8Array
    if (variant === 'valid' || last == null) {
      // signed by the spammer's own node: the board takes an announcement only from the pubsub origin that signed it
      const spec = jobSpecOf(kind, peerGeohash(peer), `spam-${index}-${n}`, `${SPAM_WORKLOAD_PREFIX}${index}/${n}`)
      const job = await node.services.work.createJob({ ...spec, priceCeiling: { ...spec.priceCeiling, perUnit: floor } })
      topics = topicsForAnnouncement(job.value)
      bytes = job.bytes
      last = bytes
    } else if (variant === 'forged') {
      bytes = last.slice()
      bytes[bytes.length - 1] ^= 0xff
    } else if (variant === 'replayed') {
      bytes = last
    } else {
      bytes = new Uint8Array(OVERSIZED_BYTES).fill(n & 0xff)
    }
    for (const topic of topics) {
      // not awaited: a send held up by a slow link must not slow the spam down
      void node.services.pubsub.publish(topic, bytes).catch(() => {})
    }
    sim.events.record('spam:sent', { peer: index, variant })
    await sleep(intervalMs, undefined, { signal, ref: false }).catch(() => {})
  }
}
