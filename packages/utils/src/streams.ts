/**
 * Opening protocol streams on the connections a node already has.
 *
 * libp2p's `connectionManager.openStream(peer)` reuses only unlimited
 * connections: to a peer reachable only through a circuit relay (a NAT'd
 * provider) each call dials the relay again and opens another relayed
 * connection. A discovery round or a router probe burst then piles up tens of
 * relayed connections to one peer, and streams opened on them fail
 * ("Remote closed connection during opening"). Shoal's protocols run on
 * relayed connections, so they take the one already open.
 */

/** The parts of a libp2p connection this module reads (structural, so any libp2p 3 `Connection` fits). */
export interface OpenConnection<S> {
  status: string
  /** set on relayed (limited) connections */
  limits?: unknown
  newStream(protocols: string | string[], options?: StreamOpenOptions): Promise<S>
}

/** Options passed on to `newStream` / `openStream`. */
export interface StreamOpenOptions {
  signal?: AbortSignal
  /** the protocol may run on a relayed (limited) connection */
  runOnLimitedConnection?: boolean
  [key: string]: unknown
}

/** The parts of libp2p's connection manager this module uses. */
export interface StreamOpener<P, S> {
  getConnections(peer?: P): Array<OpenConnection<S>>
  openStream(peer: P, protocols: string | string[], options?: StreamOpenOptions): Promise<S>
}

/**
 * The open connection to use for a protocol: a direct (unlimited) one if
 * there is one, else, when `limited` allows, a relayed one; undefined when
 * neither is open.
 */
export function existingConnection<C extends Pick<OpenConnection<unknown>, 'status' | 'limits'>> (connections: C[], limited: boolean): C | undefined {
  const open = connections.filter(c => c.status === 'open')
  return open.find(c => c.limits == null) ?? (limited ? open.find(c => c.limits != null) : undefined)
}

/**
 * Open a `protocols` stream to `peer` on a connection already open (a
 * direct one first, a relayed one when `options.runOnLimitedConnection`),
 * else through the connection manager, which dials.
 */
export async function openStreamTo<P, S> (connectionManager: StreamOpener<P, S>, peer: P, protocols: string | string[], options: StreamOpenOptions = {}): Promise<S> {
  const connection = existingConnection(connectionManager.getConnections(peer), options.runOnLimitedConnection === true)
  if (connection != null) {
    return connection.newStream(protocols, options)
  }
  return connectionManager.openStream(peer, protocols, options)
}
