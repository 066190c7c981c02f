/**
 * Requester- and network-side behaviours: a free rider that takes results
 * without countersigning, and a spammer that floods the job board.
 */

import { setTimeout as sleep } from 'node:timers/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { topicsForAnnouncement } from '@shoal/job-board'
import { JobAnnouncementType, MAX_SIZE, newRandomId, signRecord } from '@shoal/records'
import { jobSpecOf, peerGeohash } from '../market.js'
import type { Behaviour, BehaviourContext } from './registry.js'
import type { JobAnnouncement } from '@shoal/records'

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
 * scenario's announcement rate, cycling through valid announcements from a
 * fresh key each (the market's first job kind from the spammer's place,
 * priced below every offer), forged ones (a signature byte flipped),
 * replays of the last valid one and oversized messages. Each is a
 * `spam:sent` event.
 */
export const spammer: Behaviour = {
  side: 'network',
  install (ctx: BehaviourContext) {
    void spam(ctx).catch(() => {})
  }
}

async function spam ({ index, peer, sim, market, signal }: BehaviourContext): Promise<void> {
  const node = peer.node
  const kind = Object.values(market.jobs)[0]
  if (node == null || kind == null) return
  const intervalMs = 1000 / (SPAM_FACTOR * (market.jobRatePerS > 0 ? market.jobRatePerS : FALLBACK_RATE_PER_S))
  // priced below every offer: providers keep it on their boards but do not quote it (a quote to a key no node
  // holds costs each provider a DHT lookup, which would starve the simulator's event loops)
  const floor = Math.min(...Object.values(market.roles).map(r => r.price.perUnit)) / 10
  let last: Uint8Array | undefined
  let topics: string[] = []
  for (let n = 0; !signal.aborted; n++) {
    const variant = SPAM_VARIANTS[n % SPAM_VARIANTS.length]
    let bytes: Uint8Array
    if (variant === 'valid' || last == null) {
      const key = await generateKeyPair('Ed25519')
      const template = await node.services.work.createJob(jobSpecOf(kind, peerGeohash(peer), `spam-${index}-${n}`, `${SPAM_WORKLOAD_PREFIX}${index}/${n}`))
      const value: JobAnnouncement = {
        ...template.value,
        jobId: newRandomId(),
        requester: peerIdFromPrivateKey(key).toMultihash().bytes,
        priceCeiling: { ...(template.value.priceCeiling ?? { currency: 'USDC', unit: 'unit', perUnit: 0 }), perUnit: floor }
      }
      topics = topicsForAnnouncement(value)
      bytes = (await signRecord(JobAnnouncementType, value, key)).bytes
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
