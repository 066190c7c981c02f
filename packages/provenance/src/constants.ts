/**
 * Defaults of @shoal/provenance. Every one is an option somewhere; the spec
 * (docs/spec.md §7) names those another implementation must share.
 */

/** The witness protocol. */
export const WITNESS_PROTOCOL = '/shoal/witness/1.0.0'

/** Length of one chunk of footage, ms: footage is cut into one-second chunks. */
export const CHUNK_MS = 1000

/**
 * Distinct witnesses a capture needs by default before any second of it is
 * verified.
 *
 * @default 2
 */
export const DEFAULT_MIN_WITNESSES = 2

/**
 * A witness corroborates a claimed cell only from within this many km of it
 * (by the farthest points of the two cells): farther away, the RTT it can
 * measure no longer pins the capturer down.
 *
 * @default 100
 */
export const DEFAULT_MAX_WITNESS_KM = 100

/**
 * The path stretch allowed over a straight fibre line when turning an RTT
 * into the least distance it implies: real routes are longer than great
 * circles.
 *
 * @default 3
 */
export const DEFAULT_RTT_STRETCH = 3

/**
 * RTT allowed on top of the stretched distance, ms: access links, queues
 * and both peers' own processing.
 *
 * @default 5
 */
export const DEFAULT_RTT_SLACK_MS = 5

/**
 * How far below the fibre floor a measured RTT may be, ms: timer granularity.
 *
 * @default 0.5
 */
export const DEFAULT_RTT_TOLERANCE_MS = 0.5

/**
 * RTT rounds a witness measures (its statement carries the smallest).
 *
 * @default 5
 */
export const DEFAULT_RTT_ROUNDS = 5

/**
 * Distinct counterparties (other than the capturer and the capture's other
 * witnesses) a witness's history must show.
 *
 * @default 1
 */
export const DEFAULT_MIN_WITNESS_COUNTERPARTIES = 1

/**
 * How long before the capture a witness's oldest independent receipt must
 * have ended, ms: a key made just before the capture is no witness.
 *
 * @default 3_600_000
 */
export const DEFAULT_MIN_WITNESS_AGE_MS = 60 * 60 * 1000

/** The unit a witness prices witnessing in. */
export const WITNESS_PRICE_UNIT = 'witness'

/**
 * How far a witness's watching window may fall short of the recording at
 * either end, ms: the witness starts measuring as the capturer starts
 * recording, over a network, so the two never begin on the same
 * millisecond. Smaller than the clock skew allowed between records: a
 * window is about seconds of footage.
 *
 * @default 2000
 */
export const DEFAULT_WITNESS_WINDOW_TOLERANCE_MS = 2000
