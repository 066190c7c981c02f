/**
 * Defaults of the simulation harness. Each knob configures the stock libp2p
 * stack for many nodes in one process; none changes a protocol.
 */

/**
 * Bootstrap peers every other peer dials first.
 *
 * @default 3
 */
export const DEFAULT_BOOTSTRAP_PEERS = 3

/**
 * Peers each peer dials when the network is wired (bootstrap peers count
 * towards it), so the mean degree is about twice this.
 *
 * @default 4
 */
export const DEFAULT_DEGREE = 4

/**
 * Share of a peer's non-bootstrap dials that go to its nearest peers by RTT
 * (the rest go to random peers), as a latency-aware discovery would pick.
 *
 * @default 0.5
 */
export const DEFAULT_NEARBY_SHARE = 0.5

/**
 * Dials in flight across the whole simulation while wiring. A dial costs
 * ~15 ms of CPU (noise, identify, DHT and gossipsub stream set-up) but
 * several simulated RTTs of waiting; enough dials must be in flight to hide
 * the latency, not so many that each waits long behind the others.
 *
 * @default 64
 */
export const DEFAULT_DIAL_CONCURRENCY = 64

/**
 * Peers whose libp2p nodes are created concurrently; node creation is CPU
 * (key derivation, service construction), so a small batch suffices.
 *
 * @default 8
 */
export const DEFAULT_START_CONCURRENCY = 8

/**
 * The kad-dht self-query (and, behind it, the routing-table refresh) of each
 * peer starts this long after the peer, plus {@link DEFAULT_DHT_DELAY_PER_PEER_MS}
 * per peer of the simulation, plus a seeded spread. Stock libp2p
 * starts it after 1 s: with hundreds of peers booting at once every node's
 * queries dial dozens of peers while the network is still being wired, which
 * is what made stock libp2p take minutes to connect 200 nodes.
 *
 * @default 5000
 */
export const DEFAULT_DHT_START_DELAY_MS = 5_000

/**
 * Added to the DHT start delay per peer of the simulation, so that the DHT
 * bootstraps after the wiring (which takes ~60 ms per peer on 2 cores).
 *
 * @default 100
 */
export const DEFAULT_DHT_DELAY_PER_PEER_MS = 100

/**
 * Spread of the DHT start over peers (ms), at least this and at least
 * {@link DEFAULT_DHT_SPREAD_PER_PEER_MS} per peer; a peer starts at
 * `delay + uniform(0, spread)` so queries do not burst together.
 *
 * @default 10000
 */
export const DEFAULT_DHT_START_SPREAD_MS = 10_000

/**
 * Per-peer part of the DHT start spread (ms).
 *
 * @default 40
 */
export const DEFAULT_DHT_SPREAD_PER_PEER_MS = 40

/**
 * Inbound connections a node may have in the middle of their upgrade
 * (stock: 10). Bootstrap peers take hundreds of dials at once.
 *
 * @default 1024
 */
export const DEFAULT_MAX_INCOMING_PENDING = 1_024

/**
 * Connections a node keeps before pruning (stock: 300).
 *
 * @default 1024
 */
export const DEFAULT_MAX_CONNECTIONS = 1_024

/**
 * Timeout of one dial while wiring (ms), also used as libp2p's per-address
 * dial and inbound upgrade timeouts. Dials queue behind CPU, not the
 * network, so the stock 10 s (6 s per address) is too tight for a busy
 * event loop.
 *
 * @default 60000
 */
export const DEFAULT_DIAL_TIMEOUT_MS = 60_000

/**
 * Timeout of one ping measured by the harness (ms).
 *
 * @default 10000
 */
export const DEFAULT_PING_TIMEOUT_MS = 10_000

/**
 * Seed of a simulation when none is given.
 *
 * @default 1
 */
export const DEFAULT_SIM_SEED = 1
