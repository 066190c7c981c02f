/**
 * Requester- and network-side behaviours: a free rider that takes results
 * without countersigning, and a spammer that floods the job board.
 */

import { setTimeout as sleep } from 'node:timers/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { topicsForAnnouncement } from '@shoal/job-board'
import { JobAnnouncementType, JobKind, newRandomId, signRecord } from '@shoal/records'
import type { Behaviour, BehaviourContext } from './registry.js'
import type { JobAnnouncement } from '@shoal/records'

/** Workload prefix of a spam announcement: providers' boards tag what lands by it. */
export const SPAM_WORKLOAD_PREFIX = 'spam/'
/** Times the scenario's whole announcement rate each spammer publishes at. */
export const SPAM_FACTOR = 10
/** Bytes of an oversized message: past any record's limit. */
const OVERSIZED_BYTES = 128 * 1024
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
 * fresh key each, forged ones (a signature byte flipped), replays of the
 * last valid one and oversized messages. Each is a `spam:sent` event.
 */
export const spammer: Behaviour = {
  side: 'network',
  install (ctx: BehaviourContext) {
    void spam(ctx).catch(() => {})
  }
}

async function spam ({ index, peer, sim, market, signal }: BehaviourContext): Promise<void> {
  const node = peer.node
  if (node == null) return
  const intervalMs = 1000 / (SPAM_FACTOR * (market.jobRatePerS > 0 ? market.jobRatePerS : FALLBACK_RATE_PER_S))
  let last: Uint8Array | undefined
  let topics: string[] = []
  for (let n = 0; !signal.aborted; n++) {
    const variant = SPAM_VARIANTS[n % SPAM_VARIANTS.length]
    let bytes: Uint8Array
    if (variant === 'valid' || last == null) {
      const key = await generateKeyPair('Ed25519')
      const value = spamAnnouncement(peerIdFromPrivateKey(key).toMultihash().bytes, n, Date.now())
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
      await node.services.pubsub.publish(topic, bytes).catch(() => {})
    }
    sim.events.record('spam:sent', { peer: index, variant })
    await sleep(intervalMs, undefined, { signal, ref: false }).catch(() => {})
  }
}

/** A plausible GPU inference job, tagged as spam by its workload. */
function spamAnnouncement (requester: Uint8Array, n: number, now: number): JobAnnouncement {
  return {
    version: 1,
    jobId: newRandomId(),
    requester,
    kind: JobKind.GPU_INFERENCE,
    workload: `${SPAM_WORKLOAD_PREFIX}${n}`,
    description: '',
    requirements: { gpuModel: '', gpuClass: '', minVramMib: 0, gpuCount: 0, sensors: [], region: '', maxRttMs: 0 },
    priceCeiling: { perUnit: 1, currency: 'USDC', unit: 'gpu-second' },
    budget: 1,
    inputHash: new Uint8Array(32),
    inputBytes: 0,
    createdMs: now,
    expiresMs: now + 60_000,
    deadlineMs: now + 30_000
  }
}
