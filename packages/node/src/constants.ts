/**
 * Defaults of a Shoal full node. Every one can be changed in the config file,
 * with a flag or with an environment variable (see the README).
 */

/**
 * The Kademlia protocol id of Shoal's DHT. It differs from the IPFS DHT
 * (`/ipfs/kad/1.0.0`) on purpose: capability records live in a DHT of Shoal
 * peers only, so lookups never wander through (or get filled with) the
 * public IPFS network.
 *
 * @default '/shoal/kad/1.0.0'
 */
export const SHOAL_DHT_PROTOCOL = '/shoal/kad/1.0.0'

/**
 * Listen address when none is configured: TCP on every interface, on a free port.
 *
 * @default ['/ip4/0.0.0.0/tcp/0']
 */
export const LISTEN_ADDRESSES = ['/ip4/0.0.0.0/tcp/0']

/**
 * Port of the local HTTP API (`/metrics`, `/health`, `/status`, ...). It is
 * fixed rather than random so that Prometheus can scrape a stable target;
 * `0` picks a free port (the CLI finds it in `api.json` either way).
 *
 * @default 7460
 */
export const API_PORT = 7460

/**
 * Host the local HTTP API binds to. Loopback only: the API is for the
 * operator on this machine, not for the network.
 *
 * @default '127.0.0.1'
 */
export const API_HOST = '127.0.0.1'

/**
 * Role when none is configured.
 *
 * @default 'requester'
 */
export const ROLE = 'requester'

/**
 * Directory name under the user's data directory (`$XDG_DATA_HOME` or
 * `~/.local/share`).
 *
 * @default 'shoal'
 */
export const DATA_DIR_NAME = 'shoal'

/** File in the data dir holding the node's private key (libp2p protobuf encoding, mode 0600). */
export const IDENTITY_FILE = 'identity.key'

/** Directory in the data dir holding the LevelDB datastore (peer store, receipts, vouchers, DHT records). */
export const DATASTORE_DIR = 'datastore'

/**
 * Directory in the data dir recording the process group of each running
 * command job, so a node started after a `kill -9` ends the jobs the killed
 * one left running (`@shoal/work` `reapOrphans`).
 */
export const JOBS_RUNNING_DIR = 'jobs-running'

/** File in the data dir telling the CLI where the running node's HTTP API is (mode 0600: it holds the API token). */
export const API_FILE = 'api.json'

/**
 * On SIGINT/SIGTERM, how long running jobs may take to finish (their
 * receipts reach the requester) before they are handed back: aborted with
 * `ProviderBusyError`, so the requester fails over to another provider.
 *
 * @default 10000
 */
export const SHUTDOWN_GRACE_MS = 10_000

/**
 * How long stopping may take once the running jobs are done or handed back
 * (withdrawing advertisements, flushing stores) before the process exits anyway.
 *
 * @default 30000
 */
export const SHUTDOWN_TIMEOUT_MS = 30_000

/**
 * After a grace period ran out, how long to wait for handed-back jobs to
 * tell their requesters before the node stops.
 *
 * @default 2000
 */
export const HAND_BACK_TIMEOUT_MS = 2_000

/**
 * At shutdown, receipts signed longer ago than this without a
 * countersignature are no longer waited for: their requester has given up.
 *
 * @default 30000
 */
export const COUNTERSIGN_WAIT_MS = 30_000

/**
 * Longest job input `POST /jobs` takes, in base64 characters (1.5 MiB of
 * bytes, above the work protocol's default 1 MiB input limit).
 *
 * @default 2097152
 */
export const MAX_JOB_INPUT_BASE64 = 2 * 1024 * 1024

/**
 * Largest request body the local HTTP API accepts: a job with the longest
 * input and the rest of its terms.
 *
 * @default 2162688
 */
export const MAX_API_BODY_BYTES = MAX_JOB_INPUT_BASE64 + 64 * 1024

/**
 * Receipts shown by `/status` (most recent first).
 *
 * @default 10
 */
export const STATUS_RECENT_RECEIPTS = 10

/**
 * Price unit of a GPU job, and of a GPU provider's price, when none is given.
 *
 * @default 'gpu-second'
 */
export const GPU_PRICE_UNIT = 'gpu-second'

/**
 * Price unit of a capture job (sensors, no GPU), and of a capture
 * provider's price, when none is given: a capture job priced per GPU second
 * would match no capture provider.
 *
 * @default 'capture-second'
 */
export const CAPTURE_PRICE_UNIT = 'capture-second'

/**
 * Ping streams per connection, each way. libp2p's connection monitor, kad-dht's
 * routing table checks and Shoal's RTT probes all ping, and the monitor aborts
 * the connection when its heartbeat finds the stock limit (1 outbound stream)
 * taken: a NAT'd node lost its relay connection, and with it its reservation
 * and every relayed connection, that way.
 */
export const PING_STREAMS = 8

/**
 * Witnesses a capture provider asks to watch each capture.
 *
 * @default 3
 */
export const CAPTURE_WITNESSES = 3

/**
 * Longest capture a job may ask a capture provider for, seconds (its
 * `provider.capture.maxSeconds`).
 *
 * @default 600
 */
export const CAPTURE_MAX_SECONDS = 600

/** Media type of a capture provider's chunks when its config names none. */
export const CAPTURE_MEDIA_TYPE = 'video/mp4'

/** Where a node keeps the CaptureProofs it made or accepted, by footage CID: `/shoal/captures/<cid>`. */
export const CAPTURES_PREFIX = '/shoal/captures'

/** The sub-directory of the data dir holding footage blocks (a blockstore-fs). */
export const BLOCKS_DIR = 'blocks'

/** Extra time a command capture source gives its program after the recording's length to write the last file, ms. */
export const CAPTURE_COMMAND_GRACE_MS = 10_000
