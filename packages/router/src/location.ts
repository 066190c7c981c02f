/**
 * Plausibility of a candidate's claimed place (its capability record's
 * geohash) against the RTT we measured to it. Light in fibre sets a floor:
 * a peer that answers faster than the floor from where it claims to be is
 * nearer than it says (`location-lie`, a proven lie). There is no ceiling in
 * physics, only in practice: an RTT many times what the distance needs is
 * `location-implausible`, which matters only to a job that requires a region
 * (and costs no trust: the Internet can be slow).
 */

import { FIBRE_KM_PER_MS, cellRttFloor, geohashSpanKm, isGeohash } from '@shoal/records'
import { LOCATION_MAX_STRETCH, LOCATION_SLACK_MS, LOCATION_TOLERANCE_MS } from './constants.js'
import type { RttEstimate } from './rtt.js'

/** Options of the location check (`RouterInit.locationCheck`). */
export interface LocationCheckInit {
  /**
   * For a job that requires a region, an RTT above this many times the
   * longest the claimed distance needs (plus `slackMs`) is implausible
   *
   * @default 3
   */
  maxStretch?: number
  /**
   * Added to the stretched ceiling, ms: access links, queues and routing
   * detours cost this much near or far
   *
   * @default 80
   */
  slackMs?: number
}

/** Why a claimed location was refused. */
export type LocationVerdict = 'location-lie' | 'location-implausible'

/** A refused claim: the verdict and the numbers behind it. */
export interface LocationRefusal {
  verdict: LocationVerdict
  explain: string
}

/** What {@link checkLocation} compares. */
export interface LocationClaim {
  /** our own geohash (the requester's, `ChooseOptions.geohash`) */
  own: string
  /** the geohash the candidate claims */
  claimed: string
  /** what we measured to the candidate */
  rtt: Pick<RttEstimate, 'median' | 'min'>
  /** whether the job requires a region: only then is a slow answer refused */
  regionRequired: boolean
}

/**
 * Whether `claim` is physically possible (and, for a job that requires a
 * region, plausible); undefined when it is. The floor is the RTT across the
 * gap between the two cells at the speed of light in fibre, which already
 * allows for both peers being anywhere in their cells; the measured median
 * must not be below it (less a timer's tolerance). The ceiling is
 * `maxStretch` times the RTT across the two cells' widest span, plus
 * `slackMs`; the smallest sample must not be above it. An empty geohash on
 * either side (the world) claims nothing and is never refused; neither is
 * one that is not a geohash.
 */
export function checkLocation (claim: LocationClaim, init: LocationCheckInit = {}): LocationRefusal | undefined {
  const { own, claimed, rtt, regionRequired } = claim
  if (own === '' || claimed === '' || !isGeohash(own) || !isGeohash(claimed)) {
    // no claim, or none we can read (a capability record's geohash is checked when it is opened)
    return undefined
  }
  const floor = cellRttFloor(own, claimed)
  if (rtt.median < floor - LOCATION_TOLERANCE_MS) {
    return {
      verdict: 'location-lie',
      explain: `claims ${claimed}, at least ${Math.round(floor)} ms from ${own}, but answers in ${Math.round(rtt.median)} ms`
    }
  }
  if (!regionRequired) {
    return undefined
  }
  const maxStretch = init.maxStretch ?? LOCATION_MAX_STRETCH
  const slackMs = init.slackMs ?? LOCATION_SLACK_MS
  const ceiling = maxStretch * geohashSpanKm(own, claimed) / FIBRE_KM_PER_MS * 2 + slackMs
  if (rtt.min > ceiling) {
    return {
      verdict: 'location-implausible',
      explain: `claims ${claimed}, at most ${Math.round(ceiling)} ms from ${own} by any plausible path, but its fastest answer took ${Math.round(rtt.min)} ms`
    }
  }
  return undefined
}
