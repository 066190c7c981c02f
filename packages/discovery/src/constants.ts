/**
 * Protocol ids, key format and defaults of @shoal/discovery. The key format
 * and the protocol are specified in docs/spec.md §3.
 */

/** Protocol a provider answers with its current signed CapabilityRecord. */
export const CAPABILITY_PROTOCOL = '/shoal/capability/1.0.0'

/** Prefix of the string hashed into a DHT provider key: `/shoal/cap/1/<class>/<cell>`. */
export const KEY_PREFIX = '/shoal/cap/1/'

/** Prefix of the key class of a GPU class, e.g. `gpu:consumer-24g`. */
export const GPU_CLASS_PREFIX = 'gpu:'

/** Prefix of the key class of a sensor, e.g. `sensor:video`. */
export const SENSOR_CLASS_PREFIX = 'sensor:'

/**
 * Geohash precisions (characters) a provider is advertised at, and searched at.
 * Cells of 3 characters (~156 km) are as fine as latency needs: within one,
 * RTT is dominated by access links, and the network coordinate orders peers.
 *
 * @default [1, 2, 3]
 */
export const PRECISIONS: readonly number[] = Object.freeze([1, 2, 3])

/**
 * Lifetime of our signed capability record, in ms.
 *
 * @default 1_800_000 (30 minutes)
 */
export const RECORD_TTL_MS = 30 * 60 * 1000

/**
 * Fraction of the record lifetime after which it is re-signed (and failed
 * provides are retried).
 *
 * @default 0.5
 */
export const REFRESH_FRACTION = 0.5

/**
 * Provide operations run at once when advertising.
 *
 * @default 3
 */
export const PROVIDE_CONCURRENCY = 3

/**
 * How long our addresses must stay unchanged (`self:peer:update`) before the
 * record is signed again with them, in ms
 *
 * @default 1000
 */
export const ADDRESS_CHANGE_DEBOUNCE_MS = 1000

/**
 * Time allowed for one provide operation, in ms.
 *
 * @default 30_000
 */
export const PROVIDE_TIMEOUT_MS = 30_000

/**
 * Results wanted from a search.
 *
 * @default 5
 */
export const SEARCH_RESULTS = 5

/**
 * Most provider entries examined (fetched) per cell in one search; the rest
 * of a crowded cell is left for coarser cells or later searches. 20 is about
 * what one kad-dht `findProviders` returns, so in a sparse network every
 * provider a lookup finds gets its chance to be the nearest (with 8, a
 * coarse cell was sampled and the nearest often missed); `maxFetchesPerQuery`
 * still bounds the whole search.
 *
 * @default 20
 */
export const MAX_CANDIDATES_PER_CELL = 20

/**
 * Most provider entries read from one cell's DHT lookup; a flood beyond this
 * is not even looked at.
 *
 * @default 256
 */
export const MAX_ENTRIES_PER_CELL = 256

/**
 * Most records fetched in one search.
 *
 * @default 48
 */
export const MAX_FETCHES_PER_QUERY = 48

/**
 * DHT lookups (cells) run at once in one search: a cell and its 8
 * neighbours, and the coarsest cell (the world) beside them.
 *
 * @default 10
 */
export const LOOKUP_CONCURRENCY = 10

/**
 * Record fetches run at once in one search.
 *
 * @default 8
 */
export const FETCH_CONCURRENCY = 8

/**
 * Time allowed for one cell's DHT lookup, in ms.
 *
 * @default 10_000
 */
export const LOOKUP_TIMEOUT_MS = 10_000

/**
 * Time allowed to dial a provider and read its record, in ms.
 *
 * @default 5_000
 */
export const FETCH_TIMEOUT_MS = 5_000

/**
 * How long a verified record is reused without fetching it again, in ms
 * (never past its expiry).
 *
 * @default 60_000
 */
export const RECORD_CACHE_TTL_MS = 60_000

/**
 * Most verified records kept.
 *
 * @default 1024
 */
export const RECORD_CACHE_SIZE = 1024

/**
 * How long a peer that served a forged, stale or impossible record is skipped, in ms.
 *
 * @default 600_000
 */
export const DENY_TTL_MS = 10 * 60 * 1000

/**
 * How long a peer that could not be reached or had no record is skipped, in ms.
 *
 * @default 60_000
 */
export const SKIP_TTL_MS = 60_000

/**
 * Most peers remembered as denied or skipped.
 *
 * @default 4096
 */
export const DENY_SIZE = 4096

/**
 * Time between the searches of `watch`, in ms.
 *
 * @default 300_000 (5 minutes)
 */
export const WATCH_INTERVAL_MS = 5 * 60_000

/**
 * Inbound capability streams allowed per connection.
 *
 * @default 4
 */
export const MAX_INBOUND_STREAMS = 4

/**
 * Outbound capability streams allowed per connection.
 *
 * @default 4
 */
export const MAX_OUTBOUND_STREAMS = 4

/** Distance light travels in optical fibre per ms (defined by @shoal/records). @default 200 */
export { FIBRE_KM_PER_MS } from '@shoal/records'

/**
 * Round trips a record fetch takes at most when nothing else slows it (a
 * cold dial: transport, noise handshake, muxer and protocol negotiation,
 * request; over a connection already open, one). A fetch still running after
 * `n` ms is from a provider whose RTT is probably above `n / FETCH_ROUND_TRIPS`
 * (`n` over an open connection), so a search may yield a result
 * estimated nearer than that without waiting for the fetch.
 * The search adds what its completed fetches took beyond their own
 * round trips (upper quartile): on a busy host a cold dial costs CPU time
 * that no RTT estimate knows of.
 *
 * @default 4
 */
export const FETCH_ROUND_TRIPS = 4

/** Protocol of libp2p's ping, used when the ping service does not name its own. */
export const PING_PROTOCOL = '/ipfs/ping/1.0.0'

/** Payload size of one ping round (libp2p ping spec). */
export const PING_LENGTH = 32

/**
 * Candidates whose RTT a search measures before ranking, per result wanted
 * (`k`): the best `2 k` by estimated RTT. Network coordinates order
 * providers only roughly (a perfect ranking by Vivaldi coordinates finds
 * about 63% of the 5 truly nearest in the simulator), a probe over the
 * connection the record fetch opened is one round trip.
 *
 * @default 2
 */
export const CONFIRM_CANDIDATES_PER_RESULT = 2

/**
 * Ping rounds per confirmed candidate; its RTT is the minimum of them and
 * of two samples it gets for free (a busy CPU only ever adds to a sample):
 * the record's own stream and the opening of the ping stream, which runs
 * beside the record fetch. One round is one round trip after the record is
 * in; in the simulator the free samples matched the ping within a few ms
 * unless the CPU was busy, and one round scored the same recall as three.
 *
 * @default 1
 */
export const CONFIRM_PROBES = 1

/**
 * How far off a network coordinate estimate plausibly is: a candidate whose
 * probe is still running can beat a measured RTT `m` only if its estimate is
 * below `CONFIRM_ESTIMATE_SLACK x m` (and, once its last ping round has been
 * out for `m`, it cannot any more).
 *
 * @default 2
 */
export const CONFIRM_ESTIMATE_SLACK = 2

/**
 * Holders whose complete listing of a cell ends the lookups of the cells
 * inside it while the cell's own lookup still runs (once it has ended, its
 * listing does so alone).
 *
 * @default 2
 */
export const COMPLETE_LISTING_QUORUM = 2

/**
 * How far a measurement may put a candidate behind its estimate while the
 * requester's event loop is busy: a measured RTT `m` with estimate `e` ranks
 * by `max(min(m, ratio x e), m - L)`, `L` the largest lateness of the
 * search's loop-lag timer. A sample is an upper bound of the RTT (a busy CPU
 * or a queue only ever adds to it), so a measurement below the estimate is
 * believed whole, and on a calm loop (`L` near 0) so is one above it: a
 * provider that lies about its coordinate is ranked by what it measures. In
 * the simulator at 300 peers on one core (event-loop lag p99 3 s), fully
 * trusted measurements scored below the estimates alone.
 *
 * @default 1.5
 */
export const CONFIRM_TRUST_RATIO = 1.5

/**
 * Period of the loop-lag timer that runs while a search measures
 * candidates; its lateness is the sample (see CONFIRM_TRUST_RATIO).
 *
 * @default 20
 */
export const LOOP_LAG_PERIOD_MS = 20

/**
 * Ping rounds a confirmed candidate gets beyond `probes` once it counts as
 * measured: they lower its RTT (a minimum over more samples) while the search
 * waits for something else anyway, and hold nothing back. Near candidates,
 * whose rounds are short and whose samples a busy CPU distorts the most in
 * proportion, get the most of them.
 *
 * @default 2
 */
export const CONFIRM_REFINE_ROUNDS = 2

/**
 * With `standing`: the share of a search's k results that may be
 * newcomers (providers with standing 0) while established ones may still
 * be found. Half: a newcomer can still be found and earn its first
 * receipts, and a crowd of fresh identities in a cell cannot push every
 * established provider out of the results.
 *
 * @default 0.5
 */
export const NEWCOMER_SHARE = 0.5

/**
 * With `standing`: how many times `maxCandidatesPerCell` a search examines
 * per cell (still within `maxFetchesPerQuery`), to see past a crowd of
 * sybils advertising in one cell.
 *
 * @default 2
 */
export const NEWCOMER_CANDIDATES_FACTOR = 2
