/**
 * Matching a job to an offer: the one set of rules deciding whether a
 * provider's offer meets a job's terms (docs/spec.md, "Matching a job to an
 * offer"). A provider's bid policy, a searcher's discovery query and
 * explain() all call this, so explain() never calls a provider a match that
 * would not bid. Context a provider adds at bid time (free slots, deadline,
 * budget for its estimate) is checked by the caller, not here.
 */

import { JobKind } from './pb/records.js'
import type { Gpu, Price, Requirements } from './pb/records.js'

/** The terms of a job that an offer is matched against (a JobAnnouncement has them all). */
export interface JobTerms {
  kind: JobKind
  /** workload name; only checked against an offer that lists workloads */
  workload?: string
  requirements?: Requirements
  /** highest price per unit; absent: any price (a signed announcement always has one) */
  priceCeiling?: Price
}

/**
 * What a provider offers (a CapabilityRecord has every field it needs). An
 * absent list means "not declared": kinds, workloads, GPUs or sensors are
 * then not checked.
 */
export interface Offer {
  /** job kinds served; any when absent */
  kinds?: JobKind[]
  /** workloads served, exact names; any when absent */
  workloads?: string[]
  /** GPUs offered; not checked when absent */
  gpus?: Gpu[]
  /** sensors offered; not checked when absent */
  sensors?: string[]
  /** where the provider is; absent is the whole world ('') */
  geohash?: string
  /** price asked */
  price?: Price
}

/** A condition of the job an offer fails. */
export type MismatchCode = 'kind' | 'workload' | 'region' | 'hardware' | 'sensors' | 'currency' | 'price'

/** One failed condition, with a sentence for people. */
export interface Mismatch {
  code: MismatchCode
  reason: string
}

/** The outcome of matching an offer against a job: it matches when `mismatches` is empty. */
export interface OfferMatch {
  /** every condition failed, in the order: kind, workload, region, hardware, sensors, currency, price */
  mismatches: Mismatch[]
  /** why each checked hardware, sensor and price condition holds (for people) */
  reasons: string[]
}

/** Requirements with every field present: what a job that names none of them asks for (anything, anywhere). */
export function requirementsOf (partial: Partial<Requirements> = {}): Requirements {
  return { gpuModel: '', gpuClass: '', minVramMib: 0, gpuCount: 0, sensors: [], region: '', maxRttMs: 0, ...partial }
}

/** Whether a job needs GPUs: any kind but capture, or one naming a GPU model, class, VRAM or count. */
export function needsGpu (job: Pick<JobTerms, 'kind' | 'requirements'>): boolean {
  const r = job.requirements
  return job.kind !== JobKind.CAPTURE || (r != null && (r.gpuModel !== '' || r.gpuClass !== '' || r.minVramMib > 0 || r.gpuCount > 0))
}

/**
 * Match an offer against a job's terms. The rules, each the one a provider
 * applies when it decides to bid:
 *
 * - kind: among the offer's kinds (when listed);
 * - workload: among the offer's workloads (when listed);
 * - region: the provider's geohash starts with the job's region (a provider
 *   in a coarser cell than the region cannot know it is inside it);
 * - hardware: a GPU job (any kind but capture), or a job naming any GPU
 *   requirement, needs at least max(1, gpuCount) GPUs in total over the
 *   offered entries that each meet the model, class and per-GPU VRAM asked;
 * - sensors: every sensor the job names is offered;
 * - currency: the offer is priced in the ceiling's currency and unit;
 * - price: the offer's price per unit is at most the ceiling.
 */
export function matchOffer (job: JobTerms, offer: Offer): OfferMatch {
  const mismatches: Mismatch[] = []
  const reasons: string[] = []
  const r = job.requirements

  if (offer.kinds != null && !offer.kinds.includes(job.kind)) {
    mismatches.push({ code: 'kind', reason: `does not serve ${job.kind} jobs` })
  }
  if (offer.workloads != null && job.workload != null && !offer.workloads.includes(job.workload)) {
    mismatches.push({ code: 'workload', reason: `does not run ${JSON.stringify(job.workload)}` })
  }
  const region = r?.region ?? ''
  if (!(offer.geohash ?? '').startsWith(region)) {
    mismatches.push({ code: 'region', reason: `at ${JSON.stringify(offer.geohash ?? '')}, not in region ${JSON.stringify(region)}` })
  }

  if (offer.gpus != null && needsGpu(job)) {
    const minVram = r?.minVramMib ?? 0
    const fits = offer.gpus.filter(g =>
      (r == null || r.gpuModel === '' || g.model === r.gpuModel) &&
      (r == null || r.gpuClass === '' || g.class === r.gpuClass) &&
      g.vramMib >= minVram)
    const count = fits.reduce((n, g) => n + g.count, 0)
    const wanted = Math.max(1, r?.gpuCount ?? 0)
    // written so a NaN anywhere (a record or job built in code, not decoded) is a mismatch, never a match
    if (fits.length === 0 || !(count >= wanted)) {
      mismatches.push({ code: 'hardware', reason: count === 0 ? 'no matching GPU' : `${count} matching GPUs, ${wanted} wanted` })
    } else {
      const best = fits.reduce((a, b) => (b.vramMib > a.vramMib ? b : a))
      reasons.push(`gpu ${best.class === '' ? best.model : best.class} x${count}, ${best.vramMib} MiB${minVram > 0 ? ` >= ${minVram}` : ''}`)
    }
  }

  const sensors = r?.sensors ?? []
  if (offer.sensors != null && sensors.length > 0) {
    const missing = sensors.find(s => offer.sensors?.includes(s) !== true)
    if (missing != null) {
      mismatches.push({ code: 'sensors', reason: `no ${missing} sensor` })
    } else {
      reasons.push(`sensors ${sensors.join(', ')}`)
    }
  }

  const ceiling = job.priceCeiling
  if (ceiling != null) {
    const mismatch = priceMismatch(ceiling, offer.price)
    if (mismatch != null) {
      mismatches.push(mismatch)
    } else if (offer.price != null) {
      reasons.push(`price ${offer.price.perUnit} ${offer.price.currency}/${offer.price.unit} <= ${ceiling.perUnit}`)
    }
  }

  return { mismatches, reasons }
}

/**
 * How a price (an offer's, a quote's) fails a job's price ceiling, by the
 * currency and price rules of matchOffer; undefined when it fits.
 */
export function priceMismatch (ceiling: Price, price: Price | undefined): Mismatch | undefined {
  if (price == null || price.currency !== ceiling.currency) {
    return { code: 'currency', reason: `not priced in ${ceiling.currency}` }
  }
  if (price.unit !== ceiling.unit) {
    return { code: 'currency', reason: `priced per ${price.unit}, not per ${ceiling.unit}` }
  }
  if (!(price.perUnit <= ceiling.perUnit)) {
    return { code: 'price', reason: `price ${price.perUnit} above ${ceiling.perUnit}` }
  }
  return undefined
}
