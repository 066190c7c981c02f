/**
 * Largest gateway frame accepted from a channel (header included). Data
 * chunks are at most the network's `maxMessageSize` (64 KiB by default).
 *
 * @default 1048576
 */
export const DEFAULT_MAX_FRAME_BYTES = 1_048_576

/**
 * Bytes of the fixed frame header: kind, flags, origin shard (u16),
 * connection id (u32).
 *
 * @default 8
 */
export const FRAME_HEADER_BYTES = 8

/**
 * Longest string field of a SYN frame (address, site, dialer address).
 *
 * @default 1024
 */
export const MAX_FRAME_STRING_BYTES = 1024

/**
 * Most shards a sharded simulation may have (the origin shard is a u16 in
 * every frame; far more than cores on any machine).
 *
 * @default 1024
 */
export const MAX_SHARDS = 1024

/**
 * Largest control message (coordinator <-> shard over TCP, length prefix
 * excluded): the plan of a 10,000-peer run with explicit placement fits
 * with room to spare.
 *
 * @default 67108864
 */
export const DEFAULT_MAX_CONTROL_FRAME_BYTES = 64 * 1024 * 1024

/**
 * How long a `remote` coordinator waits for all its shards to join before
 * giving up.
 *
 * @default 600000
 */
export const DEFAULT_JOIN_TIMEOUT_MS = 600_000

/**
 * Port a `remote` coordinator listens on when `listen` names none.
 *
 * @default 7400
 */
export const DEFAULT_CONTROL_PORT = 7400

