import { MAX_MESSAGE_SIZE } from '@shoal/records'

/**
 * Protocol id of the coordinate exchange (coordinates + load, piggybacked on an RTT probe)
 */
export const COORDINATE_PROTOCOL = '/shoal/coordinate/1.0.0'

/**
 * Largest coordinate-protocol message accepted, in bytes
 *
 * @default 1024
 */
export const MAX_PROBE_MESSAGE_BYTES = MAX_MESSAGE_SIZE.CoordinateMessage

/**
 * How long one probe (stream open + exchange) may take, ms
 *
 * @default 5000
 */
export const PROBE_TIMEOUT_MS = 5_000

/**
 * Inbound coordinate streams allowed per connection
 *
 * @default 2
 */
export const MAX_INBOUND_STREAMS = 2

/**
 * Outbound coordinate streams allowed per connection
 *
 * @default 2
 */
export const MAX_OUTBOUND_STREAMS = 2

/**
 * Interval between background probes of a random connected peer, ms; 0 disables them
 *
 * @default 15000
 */
export const PROBE_INTERVAL_MS = 15_000

/**
 * How many of the best predicted candidates `choose` probes for current load
 * before assigning (late binding, "power of d choices")
 *
 * @default 4
 */
export const LATE_BINDING_PROBES = 4

/**
 * Samples in the moving-median latency filter
 *
 * @default 5
 */
export const RTT_WINDOW_SIZE = 5

/**
 * EWMA weight of the newest filtered RTT
 *
 * @default 0.2
 */
export const RTT_EWMA_ALPHA = 0.2

/**
 * EWMA weight of the newest probe outcome in the loss estimate
 *
 * @default 0.1
 */
export const LOSS_EWMA_ALPHA = 0.1

/**
 * RTT samples older than this are forgotten, ms
 *
 * @default 300000
 */
export const RTT_SAMPLE_MAX_AGE_MS = 300_000

/**
 * RTT samples above this are rejected, ms
 *
 * @default 60000
 */
export const RTT_MAX_SAMPLE_MS = 60_000

/**
 * Most peers whose RTT is tracked
 *
 * @default 1024
 */
export const RTT_MAX_PEERS = 1024

/**
 * Vivaldi dimensions (plus a height)
 *
 * @default 8
 */
export const VIVALDI_DIMENSIONS = 8

/**
 * Vivaldi error-estimate gain (c_e in Dabek et al.)
 *
 * @default 0.25
 */
export const VIVALDI_CE = 0.25

/**
 * Vivaldi timestep gain (c_c in Dabek et al.)
 *
 * @default 0.25
 */
export const VIVALDI_CC = 0.25

/**
 * Largest (and initial) relative error estimate a coordinate may carry
 *
 * @default 1.5
 */
export const VIVALDI_MAX_ERROR = 1.5

/**
 * Smallest height, ms: keeps every node a little off the Euclidean plane
 *
 * @default 0.01
 */
export const VIVALDI_MIN_HEIGHT_MS = 0.01

/**
 * Gravity constant rho, ms: the pull toward the origin grows as (|x| / rho)^2
 *
 * @default 500
 */
export const VIVALDI_GRAVITY_RHO_MS = 500

/**
 * Largest magnitude (norm of the vector, and the height) accepted from a peer, ms.
 * No RTT on Earth is near this, so anything larger is a lie or a bug.
 *
 * @default 10000
 */
export const VIVALDI_MAX_MAGNITUDE_MS = 10_000

/**
 * Neighbours remembered for neighbour decay
 *
 * @default 32
 */
export const VIVALDI_MAX_NEIGHBOURS = 32

/**
 * Age at which a neighbour's observation stops counting in neighbour decay, ms
 *
 * @default 600000
 */
export const VIVALDI_NEIGHBOUR_MAX_AGE_MS = 600_000

/**
 * Samples in the per-neighbour latency filter fed into Vivaldi
 *
 * @default 4
 */
export const VIVALDI_LATENCY_FILTER_SIZE = 4

/**
 * Initial trust in a peer, in [0, 1]
 *
 * @default 0.8
 */
export const TRUST_INITIAL = 0.8

/**
 * Below this trust a peer is no longer chosen
 *
 * @default 0.3
 */
export const TRUST_MIN = 0.3

/**
 * Observed RTT more than this factor away from what a peer's claimed
 * coordinate predicts (both sides confident) counts as a lie
 *
 * @default 3
 */
export const COORDINATE_LIE_FACTOR = 3

/**
 * Round trips a job costs before transfer (request, result) when the job does not say
 *
 * @default 2
 */
export const DEFAULT_ROUND_TRIPS = 2

/**
 * RTT assumed for a candidate with neither a measurement nor a coordinate, ms.
 * Pessimistic on purpose so known-near candidates win.
 *
 * @default 250
 */
export const DEFAULT_RTT_MS = 250

/**
 * Link bandwidth assumed when a candidate does not say, bytes per second
 *
 * @default 12500000
 */
export const DEFAULT_BANDWIDTH = 12_500_000

/**
 * Smallest retransmission timeout used for the loss penalty, ms (RFC 6298 allows 200 ms in practice)
 *
 * @default 200
 */
export const MIN_RTO_MS = 200

/**
 * Candidates with a higher loss estimate are not chosen
 *
 * @default 0.5
 */
export const MAX_LOSS = 0.5

/**
 * Reputation assumed for a candidate nobody has rated, in [0, 1]
 *
 * @default 0.5
 */
export const DEFAULT_REPUTATION = 0.5

/**
 * Expected time is multiplied by `1 + weight * (1 - reputation)`
 *
 * @default 1
 */
export const REPUTATION_WEIGHT = 1

/**
 * Queue wait assumed when a candidate's load is unknown, as a fraction of its compute time
 *
 * @default 0.5
 */
export const UNKNOWN_LOAD_FACTOR = 0.5

/**
 * Location check: for a job that requires a region, a candidate whose
 * fastest answer took more than this many times the RTT its claimed place
 * needs (plus {@link LOCATION_SLACK_MS}) is refused as implausibly far
 *
 * @default 3
 */
export const LOCATION_MAX_STRETCH = 3

/**
 * Location check: added to the stretched ceiling, ms (access links, queues, detours)
 *
 * @default 80
 */
export const LOCATION_SLACK_MS = 80

/**
 * Location check: how far below the fibre floor a measured RTT may be before
 * it is a lie, ms (timers count in whole ms)
 *
 * @default 1
 */
export const LOCATION_TOLERANCE_MS = 1
