/**
 * Whether an RTT a witness measured to a capturer is physically possible,
 * and plausible, for the witness's cell and the cell the capturer claims.
 * The witness applies it before signing; every verifier applies it again.
 *
 * - Floor: light in fibre (200 km/ms) there and back across the smallest gap
 *   between the two cells. An RTT below it (less `toleranceMs`) means the
 *   capturer is nearer the witness than it claims: impossible.
 * - Ceiling: the RTT, less `slackMs` for access links and processing, and
 *   divided by `stretch` for routes longer than great circles, implies a
 *   least distance; above the widest span of the two cells it means the
 *   capturer is farther than it claims.
 * - Reach: a witness farther than `maxWitnessKm` from the claimed cell
 *   proves too little to count (its ceiling would allow the capturer to be
 *   anywhere within hundreds of km).
 */

import { FIBRE_KM_PER_MS, cellRttFloor, geohashSpanKm, isGeohash } from '@shoal/records'
import { DEFAULT_MAX_WITNESS_KM, DEFAULT_RTT_SLACK_MS, DEFAULT_RTT_STRETCH, DEFAULT_RTT_TOLERANCE_MS } from './constants.js'

/** The thresholds of the RTT check. Every field is optional. */
export interface RttPlausibilityInit {
  /** @default DEFAULT_RTT_STRETCH (3) */
  stretch?: number
  /** @default DEFAULT_RTT_SLACK_MS (5) */
  slackMs?: number
  /** @default DEFAULT_RTT_TOLERANCE_MS (0.5) */
  toleranceMs?: number
  /** @default DEFAULT_MAX_WITNESS_KM (100) */
  maxWitnessKm?: number
}

/** Why a witness's RTT does not corroborate a claimed cell. */
export type RttRefusalCode = 'witness-rtt-below-floor' | 'witness-rtt-above-ceiling' | 'witness-too-far' | 'witness-cell-invalid'

/** The outcome of {@link checkWitnessRtt}: the bounds, and the refusal if any. */
export interface RttCheck {
  /** least RTT possible between the cells, ms */
  floorMs: number
  /** most RTT plausible between the cells, ms */
  ceilingMs: number
  /** widest distance between the two cells, km */
  spanKm: number
  refusal?: { code: RttRefusalCode, explain: string }
}

/**
 * Check the smallest RTT `rttMs` a witness in cell `witnessCell` measured
 * to a capturer claiming cell `claimedCell`.
 */
export function checkWitnessRtt (witnessCell: string, claimedCell: string, rttMs: number, init: RttPlausibilityInit = {}): RttCheck {
  const stretch = init.stretch ?? DEFAULT_RTT_STRETCH
  const slackMs = init.slackMs ?? DEFAULT_RTT_SLACK_MS
  const toleranceMs = init.toleranceMs ?? DEFAULT_RTT_TOLERANCE_MS
  const maxWitnessKm = init.maxWitnessKm ?? DEFAULT_MAX_WITNESS_KM
  if (witnessCell === '' || claimedCell === '' || !isGeohash(witnessCell) || !isGeohash(claimedCell)) {
    return { floorMs: 0, ceilingMs: Infinity, spanKm: Infinity, refusal: { code: 'witness-cell-invalid', explain: `cells ${JSON.stringify(witnessCell)} and ${JSON.stringify(claimedCell)} do not both name a place` } }
  }
  const floorMs = cellRttFloor(witnessCell, claimedCell)
  const spanKm = geohashSpanKm(witnessCell, claimedCell)
  const ceilingMs = stretch * spanKm / FIBRE_KM_PER_MS * 2 + slackMs
  const check: RttCheck = { floorMs, ceilingMs, spanKm }
  if (spanKm > maxWitnessKm) {
    check.refusal = { code: 'witness-too-far', explain: `witness at ${witnessCell} is up to ${Math.round(spanKm)} km from ${claimedCell}, more than ${maxWitnessKm} km` }
  } else if (rttMs < floorMs - toleranceMs) {
    check.refusal = { code: 'witness-rtt-below-floor', explain: `${rttMs} ms from ${witnessCell} to ${claimedCell} is faster than light in fibre (${floorMs.toFixed(1)} ms)` }
  } else if (rttMs > ceilingMs) {
    check.refusal = { code: 'witness-rtt-above-ceiling', explain: `${rttMs} ms from ${witnessCell} implies more than the ${Math.round(spanKm)} km to ${claimedCell} (at most ${ceilingMs.toFixed(1)} ms)` }
  }
  return check
}
