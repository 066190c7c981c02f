/**
 * Seed of the network's PRNG when none is given.
 *
 * @default 1
 */
export const DEFAULT_SEED = 1

/**
 * Lower bound of the retransmission timeout, as Linux's `TCP_RTO_MIN`.
 *
 * @default 200
 */
export const DEFAULT_MIN_RTO = 200

/**
 * Retransmissions of one segment before the connection is given up
 * (6 gives up after 127 RTOs, about 25 s at the minimum RTO).
 *
 * @default 6
 */
export const DEFAULT_MAX_RETRANSMITS = 6

/**
 * Maximum segment size used to turn chunk sizes into segment counts.
 *
 * @default 1460
 */
export const DEFAULT_MSS = 1460

/**
 * How long a dial across a cut link hangs before failing.
 *
 * @default 1000
 */
export const DEFAULT_CUT_DIAL_TIMEOUT = 1000

/**
 * Bytes queued for serialization above which a connection end asks its
 * writer to wait for `drain`.
 *
 * @default 65536
 */
export const DEFAULT_HIGH_WATER_MARK = 65_536

/**
 * Largest chunk handed to a link in one write, as the memory transport.
 *
 * @default 65536
 */
export const DEFAULT_MAX_MESSAGE_SIZE = 65_536

/**
 * Chunks due within this many ms are delivered when the timer fires. Node
 * timers have millisecond resolution and never fire early, so without slack
 * every hop lands 0.5–1 ms late on average; 1 ms centres the error on zero.
 *
 * @default 1
 */
export const DEFAULT_TIMER_SLACK = 1

/**
 * How long a NAT keeps the mapping of an outbound dial open for the remote
 * to come back through, ms (home routers keep idle UDP mappings 30 s to a
 * few minutes).
 *
 * @default 60000
 */
export const DEFAULT_NAT_MAPPING_MS = 60_000
