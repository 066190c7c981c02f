/**
 * Bid policies: whether a provider quotes for a job, and at what price.
 */

import { JobKind } from '@shoal/records'
import type { Gpu, JobAnnouncement, Price } from '@shoal/records'
import type { PeerId } from '@libp2p/interface'

/** What a provider knows about itself when it bids. */
export interface BidContext {
  /** jobs running now */
  running: number
  /** most jobs it runs at once */
  concurrency: number
  /** who asked */
  requester: PeerId
  /** current time, ms */
  now: number
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

/** Options of the default bid policy. */
export interface PriceBidPolicyInit {
  /** the price asked */
  price: Price
  /** units a job is expected to take (a number or a function of the job) */
  estUnits?: number | ((job: JobAnnouncement) => number)
  /**
   * expected ms from assignment to result
   *
   * @default 1000
   */
  etaMs?: number | ((job: JobAnnouncement) => number)
  /** job kinds served; any if absent */
  kinds?: JobKind[]
  /** workloads served (exact names); any if absent */
  workloads?: string[]
  /** GPUs offered; if given, a job's GPU requirements must be met by one entry */
  gpus?: Gpu[]
  /** sensors offered; a job's sensors must all be among them (checked when the job names any) */
  sensors?: string[]
  /** the provider's geohash; a job with a region needs it to start with that region */
  geohash?: string
}

/**
 * Quote at a fixed price when there is a free slot and the job matches:
 * kind, workload, GPU, sensors, region, the job's price ceiling (same
 * currency and unit) and its budget for the estimated units.
 */
export function priceBidPolicy (init: PriceBidPolicyInit): BidPolicy {
  return {
    bid (job, context) {
      return matchJob(job, context, init) ? makeBid(job, init) : undefined
    }
  }
}

function makeBid (job: JobAnnouncement, init: PriceBidPolicyInit): Bid {
  const estUnits = typeof init.estUnits === 'function' ? init.estUnits(job) : (init.estUnits ?? 1)
  const etaMs = typeof init.etaMs === 'function' ? init.etaMs(job) : (init.etaMs ?? 1000)
  return { price: { ...init.price }, estUnits: Math.max(0, Math.floor(estUnits)), etaMs: Math.max(0, Math.floor(etaMs)) }
}

/** Whether the job fits the provider (pure; exported for tests and custom policies). */
export function matchJob (job: JobAnnouncement, context: BidContext, init: PriceBidPolicyInit): boolean {
  if (context.running >= context.concurrency) {
    return false
  }
  if (init.kinds != null && !init.kinds.includes(job.kind)) {
    return false
  }
  if (init.workloads != null && !init.workloads.includes(job.workload)) {
    return false
  }
  if (job.deadlineMs < context.now) {
    return false
  }
  const ceiling = job.priceCeiling
  if (ceiling == null || ceiling.currency !== init.price.currency || ceiling.unit !== init.price.unit || init.price.perUnit > ceiling.perUnit) {
    return false
  }
  const bid = makeBid(job, init)
  if (bid.estUnits * init.price.perUnit > job.budget) {
    return false
  }
  const req = job.requirements
  if (req != null) {
    if (req.region !== '' && !(init.geohash ?? '').startsWith(req.region)) {
      return false
    }
    const wantsGpu = req.gpuModel !== '' || req.gpuClass !== '' || req.minVramMib > 0 || req.gpuCount > 0
    if (wantsGpu && init.gpus != null) {
      const ok = init.gpus.some(g =>
        (req.gpuModel === '' || g.model === req.gpuModel) &&
        (req.gpuClass === '' || g.class === req.gpuClass) &&
        g.vramMib >= req.minVramMib &&
        g.count >= Math.max(1, req.gpuCount))
      if (!ok) {
        return false
      }
    }
    if (req.sensors.length > 0 && init.sensors != null && !req.sensors.every(s => init.sensors?.includes(s) === true)) {
      return false
    }
  }
  if (job.kind === JobKind.CAPTURE && init.sensors != null && init.sensors.length === 0) {
    return false
  }
  return true
}
