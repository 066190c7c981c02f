/**
 * Bid policies: whether a provider quotes for a job, and at what price.
 */

import { matchOffer } from '@shoal/records'
import type { Gpu, JobAnnouncement, JobKind, Price } from '@shoal/records'
import type { PeerId } from '@libp2p/interface'

/** What a provider knows about itself when it bids. */
export interface BidContext {
  /** jobs running now */
  running: number
  /** most jobs it runs at once */
  concurrency: number
  /** jobs admitted and waiting for a slot (the quote's eta includes their wait) */
  queued: number
  /** most jobs that may wait for a slot */
  maxQueued: number
  /** who asked */
  requester: PeerId
  /** current time, ms */
  now: number
  /** moving average of this provider's recent run times, ms (absent before any job finished) */
  runMs?: number
}

/** A provider's offer; the service signs it into a Quote. */
export interface Bid {
  price: Price
  /** units the job is expected to take */
  estUnits: number
  /** expected time from assignment to result, ms */
  etaMs: number
}

/** Decides whether and at what price to quote. Return undefined to decline. */
export interface BidPolicy {
  bid(job: JobAnnouncement, context: BidContext): Bid | undefined | Promise<Bid | undefined>
}

/** The eta a provider quotes before any job finished, ms. */
const DEFAULT_ETA_MS = 1000

/** Options of the default bid policy. */
export interface PriceBidPolicyInit {
  /** the price asked */
  price: Price
  /** units a job is expected to take (a number or a function of the job) */
  estUnits?: number | ((job: JobAnnouncement) => number)
  /**
   * expected ms from assignment to result
   *
   * @default the provider's average run time so far, 1000 before any job finished
   */
  etaMs?: number | ((job: JobAnnouncement) => number)
  /** job kinds served; any if absent */
  kinds?: JobKind[]
  /** workloads served (exact names); any if absent */
  workloads?: string[]
  /** GPUs offered; if given, a GPU job needs enough of them (summed over the entries meeting its model, class and VRAM) */
  gpus?: Gpu[]
  /** sensors offered; a job's sensors must all be among them (checked when the job names any) */
  sensors?: string[]
  /** the provider's geohash; a job with a region needs it to start with that region (absent: only jobs without a region) */
  geohash?: string
}

/**
 * Quote at a fixed price when there is a free slot (or room in the queue) and the job matches:
 * kind, workload, GPU, sensors, region, the job's price ceiling (same
 * currency and unit) and its budget for the estimated units.
 */
export function priceBidPolicy (init: PriceBidPolicyInit): BidPolicy {
  return {
    bid (job, context) {
      return matchJob(job, context, init) ? makeBid(job, init, context) : undefined
    }
  }
}

function makeBid (job: JobAnnouncement, init: PriceBidPolicyInit, context?: Pick<BidContext, 'runMs'>): Bid {
  const estUnits = typeof init.estUnits === 'function' ? init.estUnits(job) : (init.estUnits ?? 1)
  // an honest eta: requesters count a run that takes several times its quote's eta as late, against our trust
  const etaMs = typeof init.etaMs === 'function' ? init.etaMs(job) : (init.etaMs ?? context?.runMs ?? DEFAULT_ETA_MS)
  return { price: { ...init.price }, estUnits: Math.max(0, Math.floor(estUnits)), etaMs: Math.max(0, Math.floor(etaMs)) }
}

/**
 * Whether the job fits the provider (pure; exported for tests and custom
 * policies): a free slot or room in the queue, a deadline not passed, the offer matching the
 * job by @shoal/records' matchOffer (kind, workload, region, GPUs, sensors,
 * currency and unit, price ceiling), and the budget paying the estimate.
 */
export function matchJob (job: JobAnnouncement, context: BidContext, init: PriceBidPolicyInit): boolean {
  if (context.running >= context.concurrency && context.queued >= context.maxQueued) {
    return false
  }
  if (job.deadlineMs < context.now) {
    return false
  }
  if (matchOffer(job, init).mismatches.length > 0) {
    return false
  }
  const bid = makeBid(job, init)
  return bid.estUnits * init.price.perUnit <= job.budget
}
