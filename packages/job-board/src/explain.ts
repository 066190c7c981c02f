/**
 * Why a job got no offers, from one peer's view: pure functions over what
 * the peer knows (topic subscribers, providers' capability records, quotes).
 */

import { JobKind, matchOffer, priceMismatch } from '@shoal/records'
import type { CapabilityRecord, JobAnnouncement, MismatchCode, Quote } from '@shoal/records'

/** A reason a job may get no offers. */
export type ExplainCode =
  | 'expired' | 'withdrawn' | 'deadline-passed' | 'not-on-board' | 'no-topic'
  | 'no-subscribers' | 'not-published' | 'no-providers-known' | 'no-provider-in-region'
  | 'no-provider-matching-hardware' | 'no-provider-matching-sensors' | 'no-provider-in-currency'
  | 'price-ceiling-below-all-prices' | 'price-ceiling-below-all-quotes' | 'budget-below-one-unit'

/** One reason, with a sentence for people. */
export interface ExplainReason {
  code: ExplainCode
  message: string
}

/** What explain() found. */
export interface JobExplanation {
  /** the job id as hex */
  jobId: string
  /** the topics the job travels on */
  topics: string[]
  /** per topic, how many connected peers this peer knows to be subscribed */
  subscribers: Record<string, number>
  /** providers considered, and how many of them match every requirement but price */
  providersKnown: number
  providersMatching: number
  /** the reasons found; empty when this peer sees nothing wrong */
  reasons: ExplainReason[]
}

/** Ways a provider may fail a job's requirements (@shoal/records' MismatchCode). */
export type Mismatch = MismatchCode

/**
 * How a provider's capability record fails a job (empty: it matches), by
 * @shoal/records' matchOffer: the rules a provider bids by, so a provider
 * called a match here is one whose default bid policy would quote.
 */
export function providerMismatches (job: JobAnnouncement, provider: CapabilityRecord): Mismatch[] {
  return matchOffer(job, provider).mismatches.map(m => m.code)
}

/** What explainJob needs to know. */
export interface ExplainInput {
  job: JobAnnouncement
  jobId: string
  now: number
  topics: string[]
  subscribers: Record<string, number>
  /** the job is on this peer's board */
  onBoard: boolean
  withdrawn: boolean
  /** for this peer's own jobs: peers the announcement was published to */
  recipients?: number
  providers?: CapabilityRecord[]
  quotes?: Quote[]
}

/** The reasons a job may get no offers, from what this peer knows. */
export function explainJob (input: ExplainInput): JobExplanation {
  const { job, now } = input
  const reasons: ExplainReason[] = []
  const add = (code: ExplainCode, message: string): void => { reasons.push({ code, message }) }

  if (input.withdrawn) {
    add('withdrawn', 'the requester withdrew the job')
  }
  if (job.expiresMs <= now) {
    add('expired', `the announcement expired ${now - job.expiresMs} ms ago`)
  }
  if (job.deadlineMs <= now) {
    add('deadline-passed', `the deadline passed ${now - job.deadlineMs} ms ago`)
  }
  if (!input.onBoard && !input.withdrawn && job.expiresMs > now) {
    add('not-on-board', 'this peer does not hold the announcement (not subscribed to its topics, evicted, or never received)')
  }
  if (input.topics.length === 0) {
    add('no-topic', 'the job kind has no topic')
  } else if (input.topics.every(t => (input.subscribers[t] ?? 0) === 0)) {
    add('no-subscribers', `no connected peer is subscribed to ${input.topics.join(' or ')}`)
  }
  if (input.recipients === 0) {
    add('not-published', 'the announcement reached no peer when published (it is still served to peers that sync later)')
  }

  let matching = 0
  const providers = input.providers
  if (providers != null) {
    if (providers.length === 0) {
      add('no-providers-known', 'this peer knows no provider')
    } else {
      const mismatches = providers.map(p => providerMismatches(job, p))
      const inRegion = mismatches.filter(m => !m.includes('region'))
      const hardware = inRegion.filter(m => !m.includes('hardware') && !m.includes('sensors'))
      const currency = hardware.filter(m => !m.includes('currency'))
      matching = currency.length
      if (inRegion.length === 0) {
        add('no-provider-in-region', `none of ${providers.length} known providers is in region "${job.requirements?.region ?? ''}"`)
      } else if (hardware.length === 0) {
        add(job.kind === JobKind.CAPTURE ? 'no-provider-matching-sensors' : 'no-provider-matching-hardware',
          job.kind === JobKind.CAPTURE
            ? `no provider in the region has sensors ${(job.requirements?.sensors ?? []).join(', ')}`
            : `no provider in the region has ${job.requirements?.gpuCount ?? 1} x GPU class "${job.requirements?.gpuClass ?? ''}" with ${job.requirements?.minVramMib ?? 0} MiB`)
      } else if (currency.length === 0) {
        add('no-provider-in-currency', `no matching provider prices in ${job.priceCeiling?.currency ?? ''} per ${job.priceCeiling?.unit ?? ''}`)
      } else if (currency.every(m => m.includes('price'))) {
        const prices = providers
          .filter((_, i) => mismatches[i].length === 1 && mismatches[i][0] === 'price')
          .map(p => p.price?.perUnit ?? 0)
        add('price-ceiling-below-all-prices', `the price ceiling ${job.priceCeiling?.perUnit ?? 0} is below every matching provider's price (lowest ${Math.min(...prices)})`)
      }
    }
  }

  // quotes in the ceiling's currency and unit; each then fails only by being above the ceiling (matchOffer's price rules)
  const ceiling = job.priceCeiling
  const quotes = ceiling == null ? [] : (input.quotes ?? []).filter(q => priceMismatch(ceiling, q.price)?.code !== 'currency')
  if (ceiling != null && quotes.length > 0 && quotes.every(q => priceMismatch(ceiling, q.price) != null)) {
    add('price-ceiling-below-all-quotes', `the price ceiling ${ceiling.perUnit} is below all ${quotes.length} quotes (lowest ${Math.min(...quotes.map(q => q.price?.perUnit ?? 0))})`)
  }

  if (job.priceCeiling != null && job.budget < job.priceCeiling.perUnit) {
    add('budget-below-one-unit', `the budget ${job.budget} does not pay for one unit at the price ceiling ${job.priceCeiling.perUnit}`)
  }

  return {
    jobId: input.jobId,
    topics: input.topics,
    subscribers: input.subscribers,
    providersKnown: providers?.length ?? 0,
    providersMatching: matching,
    reasons
  }
}
