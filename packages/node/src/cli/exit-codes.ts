/**
 * The exit codes of `shoal`. The systemd unit (examples/full-node/shoal.service)
 * lists the ones a restart cannot fix in `RestartPreventExitStatus`, so keep
 * the two in step.
 */

/** An unexpected error, or one that may clear up by itself (a port in use, a data dir locked by another node, the node's API unreachable): a service manager may restart. */
export const EXIT_FAILURE = 1

/** The command line, the config or the data dir (identity key, datastore) must be fixed first: starting again unchanged fails the same way. */
export const EXIT_CONFIG = 2

/** The Node.js running the CLI is too old (libp2p needs 22 or later). */
export const EXIT_NODE_VERSION = 3
