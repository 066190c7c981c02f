/**
 * Protocol ids, topic names and defaults of the job board. Every default
 * here is the value an `Init` field takes when it is left out.
 */

/** Prefix of every job topic: `/shoal/jobs/1.0.0/<kind>/<region | global>`. */
export const TOPIC_PREFIX = '/shoal/jobs/1.0.0'

/** Last topic segment of the per-kind topic that reaches every peer serving the kind. */
export const GLOBAL_REGION = 'global'

/**
 * Length of the geohash prefix that names a regional topic (2 characters:
 * cells of about 1,250 km x 625 km, 1,024 regions per kind).
 */
export const REGION_PRECISION = 2

/** Protocol id of the late-joiner sync of live announcements. */
export const SYNC_PROTOCOL = '/shoal/jobs/sync/1.0.0'

/** Name the service is registered under in libp2p's `services`. */
export const SERVICE_NAME = '@shoal/job-board'

/**
 * Most announcements kept on the local board.
 *
 * @default 10000
 */
export const MAX_JOBS = 10_000

/**
 * Most live announcements kept per requester, so one requester cannot fill the board.
 *
 * @default 64
 */
export const MAX_JOBS_PER_REQUESTER = 64

/**
 * Most withdrawals remembered (so a withdrawn job is not re-learned from a slow peer).
 *
 * @default 10000
 */
export const MAX_WITHDRAWALS = 10_000

/**
 * How long a withdrawal is remembered when the announcement it cancels is unknown, ms.
 *
 * @default 3600000
 */
export const WITHDRAWAL_TTL_MS = 60 * 60 * 1000

/**
 * Lifetime given to an announcement whose `expiresMs` is not set, ms.
 *
 * @default 600000
 */
export const JOB_TTL_MS = 10 * 60 * 1000

/**
 * Clock skew allowed for expiry and not-yet-valid checks, ms: the skew every
 * record check of `@shoal/records` allows.
 *
 * @default 30000
 */
export { CLOCK_SKEW_MS } from '@shoal/records'

/**
 * Beyond the skew, how far out of its lifetime a record may be before the
 * peer that sent it is blamed (Reject) rather than merely ignored: covers the
 * gossip delay of honest relays.
 *
 * @default 60000
 */
export const EXPIRY_GRACE_MS = 60_000

/**
 * Token bucket per requester: burst size (announcements and withdrawals).
 *
 * @default 10
 */
export const RATE_LIMIT_BURST = 10

/**
 * Token bucket per requester: tokens added per second.
 *
 * @default 0.5
 */
export const RATE_LIMIT_PER_SECOND = 0.5

/**
 * Token bucket per requester: over the bucket, a requester's messages are
 * ignored; it is blamed (reject, penalty) only past `1 + abuseFactor` times
 * what the bucket allows, i.e. more than `abuseFactor` bursts beyond the
 * limit within one refill window (`burst / perSecond`, 20 s by default).
 *
 * @default 10
 */
export const RATE_LIMIT_ABUSE_FACTOR = 10

/**
 * Most requesters tracked by the rate limiter (full buckets are forgotten first).
 *
 * @default 10000
 */
export const RATE_LIMIT_MAX_KEYS = 10_000

/**
 * Rejected messages from one peer (decaying by half every `PENALTY_HALF_LIFE_MS`)
 * after which the board closes its connections and refuses it for `BAN_MS`.
 *
 * @default 5
 */
export const MAX_PEER_PENALTY = 5

/**
 * Half-life of a peer's penalty count, ms.
 *
 * @default 60000
 */
export const PENALTY_HALF_LIFE_MS = 60_000

/**
 * How long a cut-off peer is refused, ms.
 *
 * @default 600000
 */
export const BAN_MS = 10 * 60 * 1000

/**
 * Most announcements (plus withdrawals) sent in one sync response.
 *
 * @default 256
 */
export const MAX_SYNC_RECORDS = 256

/**
 * Most bytes of records in one sync response.
 *
 * @default 262144
 */
export const MAX_SYNC_BYTES = 256 * 1024

/**
 * Time allowed for one sync exchange, ms.
 *
 * @default 10000
 */
export const SYNC_TIMEOUT_MS = 10_000

/**
 * A peer is asked for a sync at most once per this interval, ms.
 *
 * @default 60000
 */
export const SYNC_INTERVAL_MS = 60_000

/**
 * @default 2
 */
export const SYNC_MAX_INBOUND_STREAMS = 2

/**
 * @default 2
 */
export const SYNC_MAX_OUTBOUND_STREAMS = 2

/** Longest time the expiry timer sleeps before re-checking, ms (timers are capped anyway). */
export const MAX_TIMER_MS = 60_000

/**
 * Largest sync request frame accepted, bytes (its kinds and regions; the
 * largest honest one, 3 kinds and 256 regions, is about 1.1 KiB).
 *
 * @default 4096
 */
export const MAX_SYNC_REQUEST_BYTES = 4096

/** Most kinds and most regions a sync request may name (one per topic at most). */
export const MAX_SYNC_REQUEST_ITEMS = 256

/**
 * Peers remembered per map (penalties, bans, last syncs); past it the oldest is forgotten
 *
 * @default 10000
 */
export const MAX_TRACKED_PEERS = 10_000

/**
 * The newcomer budget (with `standing`): the burst of announcements and
 * withdrawals that ALL keys of standing 0 together may send to this node.
 * Eight is a fresh requester's first few jobs, so an honest newcomer is
 * heard at once unless a crowd of fresh keys arrived just before it.
 *
 * @default 8
 */
export const NEWCOMER_BURST = 8

/**
 * The newcomer budget's refill, messages per second, shared by all keys of
 * standing 0: twice one key's steady rate (`RATE_LIMIT_PER_SECOND`), so
 * newcomers keep getting in, while however many keys an attacker makes it
 * adds at most one message a second (3600 an hour) to every board.
 *
 * @default 1
 */
export const NEWCOMER_PER_SECOND = 1

/**
 * Most times the per-key burst and rate a key of high standing gets
 * (`standingScale`): reached at standing 127.
 *
 * @default 8
 */
export const STANDING_SCALE_MAX = 8

/** The key of the one shared newcomer bucket. */
export const NEWCOMER_BUCKET_KEY = 'newcomers'
