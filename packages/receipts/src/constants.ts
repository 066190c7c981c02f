/**
 * Defaults and fixed parameters of the receipt store (see docs/spec.md §5).
 */

/**
 * Datastore key prefix under which a store keeps everything.
 *
 * @default '/shoal/receipts'
 */
export const DATASTORE_PREFIX = '/shoal/receipts'

/**
 * Log entries per Merkle epoch. Epochs are counted in entries, not time, so
 * every node computes the same epoch boundaries from its log alone.
 *
 * @default 1024
 */
export const EPOCH_SIZE = 1024

/** Largest epoch size accepted (2^20 leaves: proofs of at most 20 hashes). */
export const MAX_EPOCH_SIZE = 1 << 20

/**
 * Most receipts committed in one datastore batch (group commit).
 *
 * @default 256
 */
export const MAX_BATCH = 256

/**
 * Cap on the weight one requester can contribute to a provider's reputation
 * (weight = min(log2(1 + receipts), cap)).
 *
 * @default 4
 */
export const REQUESTER_WEIGHT_CAP = 4

/**
 * Prior successes and failures of the reputation estimate (a Beta(1, 1)
 * prior: an unknown provider scores 0.5).
 *
 * @default 1
 */
export const REPUTATION_PRIOR = 1

/**
 * Factor the score is multiplied by for each proven equivocation.
 *
 * @default 0.5
 */
export const EQUIVOCATION_PENALTY = 0.5

/** Version byte of the stored log entry and head formats. */
export const LOG_FORMAT_VERSION = 1

/** Length of a log entry: version, seq, addedAt, prevHash, receiptId, bytesHash. */
export const LOG_ENTRY_LENGTH = 1 + 8 + 8 + 32 + 32 + 32

/** Length of the stored head: version, length, hash of the last entry. */
export const HEAD_LENGTH = 1 + 8 + 32

/** Merkle leaf hash prefix (RFC 6962 §2.1). */
export const LEAF_PREFIX = 0x00

/** Merkle interior node hash prefix (RFC 6962 §2.1). */
export const NODE_PREFIX = 0x01

/**
 * Providers whose computed reputation is kept in memory; the oldest entry is
 * recomputed from the store when asked for again
 *
 * @default 1024
 */
export const MAX_REPUTATION_CACHE = 1024

/**
 * Most peers whose standing the store keeps in memory; past it the least
 * recently updated is dropped (its standing reads 0 until its next receipt
 * or the next open of the store).
 *
 * @default 65536
 */
export const MAX_STANDING_PEERS = 65_536

/**
 * Most distinct counterparties remembered per peer: standing only needs to
 * tell few from many, and a busy peer's set must not grow without end.
 *
 * @default 1024
 */
export const MAX_STANDING_COUNTERPARTIES = 1024

/**
 * Most provider-signed ("pending") receipts the store keeps in all. Past it
 * the oldest pending receipt is removed, with a `receipt:expired` event.
 *
 * @default 10000
 */
export const MAX_PENDING = 10_000

/**
 * Most pending receipts kept per requester (the party that has to
 * countersign): a requester that never countersigns can push out only its
 * own oldest receipts, never another requester's.
 *
 * @default 1000
 */
export const MAX_PENDING_PER_REQUESTER = 1_000

/**
 * Age (ms, the store's clock) after which a pending receipt is removed,
 * with a `receipt:expired` event. `Infinity` keeps them until a cap applies.
 *
 * @default 2592000000 (30 days)
 */
export const PENDING_TTL_MS = 30 * 24 * 3600_000

/**
 * How often a started store looks for pending receipts past their age (ms);
 * puts and `listPending()` also expire them.
 *
 * @default 600000 (10 minutes)
 */
export const PENDING_SWEEP_INTERVAL_MS = 10 * 60_000

/**
 * Most problems `verifyLog()` reports before it stops walking.
 *
 * @default 100
 */
export const MAX_LOG_PROBLEMS = 100

/** Gossip topic of evidence records. */
export const EVIDENCE_TOPIC = '/shoal/evidence/1.0.0'

/** Datastore prefix under which the evidence service keeps the evidence it accepted. */
export const EVIDENCE_PREFIX = '/shoal/evidence/'

/**
 * Most evidence records kept; the oldest are dropped first.
 *
 * @default 4096
 */
export const MAX_EVIDENCE = 4096

/**
 * Most evidence records kept per offender: one proves the offence, a few
 * more cover a reporter that later turns out to be dishonest itself.
 *
 * @default 3
 */
export const MAX_EVIDENCE_PER_OFFENDER = 3

/** Evidence messages a gossip peer may hand us at once, before the per-second rate applies. */
export const EVIDENCE_BURST = 32

/** Evidence messages a gossip peer may hand us per second, on average. */
export const EVIDENCE_PER_SECOND = 2

/** Gossip peers whose evidence rate is tracked at once. */
export const EVIDENCE_RATE_PEERS = 4096
