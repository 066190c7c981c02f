/**
 * Defaults and fixed parameters of the receipt store (see docs/spec.md §5).
 */

/**
 * Datastore key prefix under which a store keeps everything.
 *
 * @default '/shoal/receipts'
 */
export const DEFAULT_PREFIX = '/shoal/receipts'

/**
 * Log entries per Merkle epoch. Epochs are counted in entries, not time, so
 * every node computes the same epoch boundaries from its log alone.
 *
 * @default 1024
 */
export const DEFAULT_EPOCH_SIZE = 1024

/** Largest epoch size accepted (2^20 leaves: proofs of at most 20 hashes). */
export const MAX_EPOCH_SIZE = 1 << 20

/**
 * Most receipts committed in one datastore batch (group commit).
 *
 * @default 256
 */
export const DEFAULT_MAX_BATCH = 256

/**
 * Cap on the weight one requester can contribute to a provider's reputation
 * (weight = min(log2(1 + receipts), cap)).
 *
 * @default 4
 */
export const DEFAULT_REQUESTER_WEIGHT_CAP = 4

/**
 * Prior successes and failures of the reputation estimate (a Beta(1, 1)
 * prior: an unknown provider scores 0.5).
 *
 * @default 1
 */
export const DEFAULT_REPUTATION_PRIOR = 1

/**
 * Factor the score is multiplied by for each proven equivocation.
 *
 * @default 0.5
 */
export const DEFAULT_EQUIVOCATION_PENALTY = 0.5

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
