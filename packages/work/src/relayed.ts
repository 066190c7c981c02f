/**
 * Jobs over relayed (limited) connections (docs/spec.md §4.8): the policy,
 * whether a job fits a relayed connection, and the wait for a direct
 * connection (DCUtR hole punching) before running over the relay at all.
 */

import { setMaxListeners } from '@libp2p/interface'
import { existingConnection } from '@shoal/utils'
import { DEFAULT_RELAYED_JOB_POLICY, RELAY_OVERHEAD_BYTES } from './constants.js'
import { RelayLimitError } from './errors.js'
import type { WorkContext } from './context.js'
import type { Connection, ConnectionLimits, Libp2pEvents, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

/** How jobs run over relayed connections (`connection.limits` set). */
export interface RelayedJobPolicy {
  /** run jobs over a relayed connection at all @default true */
  enabled: boolean
  /** largest job input sent over a relayed connection, bytes @default 32768 */
  maxInputBytes: number
  /** largest output returned over a relayed connection, bytes @default 65536 */
  maxOutputBytes: number
  /** how long a requester waits for a direct connection (DCUtR hole punching) before it runs over the relay, ms @default 5000 */
  upgradeWaitMs: number
}

/** The kind of connection a job ran on. */
export type ConnectionKind = 'direct' | 'relayed'

/** What a job needs of a relayed connection. */
export interface RelayedJobSize {
  /** the job's input, bytes */
  inputBytes: number
  /**
   * the input has crossed the connection already (an `Assign` read whole):
   * the relay's remaining bytes no longer have to hold it
   */
  inputReceived?: boolean
  /** how long the job may take, ms (unknown: not checked) */
  durationMs?: number
}

/** The limit a job breaks on a relayed connection: which, what the job needs, and what the limit allows. */
export interface RelayLimitBreach {
  limit: 'disabled' | 'maxInputBytes' | 'maxOutputBytes' | 'bytes' | 'seconds'
  need: number
  allowed: number
}

/** The policy of `init` with the defaults applied; false (never over a relay) stays false. */
export function relayedJobPolicy (init?: Partial<RelayedJobPolicy> | false): RelayedJobPolicy | false {
  return init === false ? false : { ...DEFAULT_RELAYED_JOB_POLICY, ...init }
}

/**
 * Whether a job of `size` fits a connection with `limits` under `policy`:
 * undefined when it does (or the connection has no limits), else the first
 * limit it breaks. The bytes a relay still allows cover the input, the
 * largest output the policy lets back and the records around them; the
 * seconds it still allows cover the job's time.
 */
export function relayFit (size: RelayedJobSize, limits: ConnectionLimits | undefined, policy: RelayedJobPolicy | false): RelayLimitBreach | undefined {
  if (limits == null) {
    return undefined
  }
  if (policy === false || !policy.enabled) {
    return { limit: 'disabled', need: size.inputBytes, allowed: 0 }
  }
  if (size.inputBytes > policy.maxInputBytes) {
    return { limit: 'maxInputBytes', need: size.inputBytes, allowed: policy.maxInputBytes }
  }
  const bytes = limits.bytes
  const needBytes = (size.inputReceived === true ? 0 : size.inputBytes) + policy.maxOutputBytes + RELAY_OVERHEAD_BYTES
  // compared as numbers: a policy of fractional bytes would make BigInt() throw, and both stay far below 2^53
  if (bytes != null && needBytes > Number(bytes)) {
    return { limit: 'bytes', need: needBytes, allowed: Number(bytes) }
  }
  const seconds = limits.seconds
  if (seconds != null && size.durationMs != null && size.durationMs > seconds * 1000) {
    return { limit: 'seconds', need: Math.ceil(size.durationMs / 1000), allowed: seconds }
  }
  return undefined
}

/** A refusal's message for `breach`: which limit, and how big. */
export function relayBreachMessage (breach: RelayLimitBreach): string {
  switch (breach.limit) {
    case 'disabled':
      return 'jobs do not run over relayed connections here'
    case 'maxInputBytes':
      return `input of ${breach.need} bytes is over the relayed job limit maxInputBytes of ${breach.allowed} bytes`
    case 'maxOutputBytes':
      return `output of ${breach.need} bytes is over the relayed job limit maxOutputBytes of ${breach.allowed} bytes`
    case 'bytes':
      return `the job needs ${breach.need} bytes (input, largest relayed output and records) and the relay allows ${breach.allowed} more bytes`
    case 'seconds':
      return `the job may take ${breach.need} s and the relay allows ${breach.allowed} more seconds`
  }
}

/** Throw RelayLimitError (counted as `relay_refused`) when a job of `size` does not fit a connection with `limits` under the service's policy. */
export function checkRelayFit (ctx: WorkContext, size: RelayedJobSize, limits: ConnectionLimits | undefined): void {
  const breach = relayFit(size, limits, ctx.settings.relayed)
  if (breach != null) {
    ctx.count('relay_refused')
    throw new RelayLimitError(relayBreachMessage(breach))
  }
}

/** The kind of `connection`: relayed when the relay limits it. */
export function connectionKind (connection: Pick<Connection, 'limits'>): ConnectionKind {
  return connection.limits == null ? 'direct' : 'relayed'
}

/** An open connection to `peer` without limits, if there is one. */
export function directConnection (connectionManager: Pick<ConnectionManager, 'getConnections'>, peer: PeerId): Connection | undefined {
  return existingConnection(connectionManager.getConnections(peer), false)
}

/**
 * Wait up to `ms` for a direct (unlimited) connection to `peer`, as DCUtR
 * opens one after a relayed connection: resolves to it, or undefined when
 * none opened in time (or `signal` aborted).
 */
export async function awaitDirect (events: TypedEventTarget<Libp2pEvents> | undefined, connectionManager: Pick<ConnectionManager, 'getConnections'>, peer: PeerId, ms: number, signal?: AbortSignal): Promise<Connection | undefined> {
  const open = directConnection(connectionManager, peer)
  if (open != null || events == null || ms <= 0 || signal?.aborted === true) {
    return open
  }
  if (signal != null) {
    setMaxListeners(Infinity, signal)
  }
  return new Promise(resolve => {
    const done = (connection?: Connection): void => {
      clearTimeout(timer)
      events.removeEventListener('connection:open', onOpen)
      signal?.removeEventListener('abort', onAbort)
      resolve(connection)
    }
    const onOpen = (evt: CustomEvent<Connection>): void => {
      if (evt.detail.remotePeer.equals(peer) && evt.detail.limits == null) {
        done(evt.detail)
      }
    }
    const onAbort = (): void => { done() }
    const timer = setTimeout(() => { done(directConnection(connectionManager, peer)) }, ms)
    events.addEventListener('connection:open', onOpen)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
