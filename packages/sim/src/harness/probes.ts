import { peerIdFromString } from '@libp2p/peer-id'
import { describeError } from '../error-text.js'
import { DEFAULT_PING_TIMEOUT_MS } from './constants.js'
import { UnknownPeerError } from './errors.js'
import { round } from '../round.js'
import type { EventLog } from './events.js'
import type { SimPeer } from './peer.js'
import type { AbortOptions, Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

// a fresh connection's ping waits at most this long for identify, ms
const IDENTIFY_WAIT_MS = 5_000

/** Result of one ping through the simulation. */
export interface PingResult {
  from: number
  to: number
  /** RTT measured by libp2p ping, ms; undefined when it failed */
  rttMs?: number
  /** true RTT from the latency model, ms */
  oracleMs: number
  error?: string
}

/** Result of one kad-dht lookup through the simulation. */
export interface LookupResult {
  from: number
  to: number
  /** whether the DHT found the target's addresses */
  found: boolean
  /** peers that answered the query */
  responses: number
  ms: number
  error?: string
}

/** Options of {@link pingPeer}. */
export interface PingOptions extends AbortOptions {
  /** dial and identify first when there is no connection @default true */
  warm?: boolean
}

/** What probes need of the simulation they run in. */
export interface ProbeContext<S extends Record<string, unknown>> {
  events: EventLog
  /** whether `peer` can be reached: running here, or run by another shard */
  isUp(peer: SimPeer<S>): boolean
  /** its dialable address, here or in another shard */
  addressOf(peer: SimPeer<S>): Multiaddr
  /** its peer id, here or in another shard */
  peerIdOf(peer: SimPeer<S>): string | undefined
  /** oracle RTT between two peers, ms */
  rtt(a: SimPeer<S>, b: SimPeer<S>): number
}

/**
 * Pings `b` from `a` with libp2p ping and records a `ping` event with the
 * oracle RTT. Unless `warm` is false, a pair with no connection is first
 * dialled and identified, so the ping times a round trip on an established
 * connection rather than queued behind the new connection's handshakes
 * (with loss, a segment lost there delays everything after it). Never throws.
 */
export async function pingPeer<S extends Record<string, unknown>> (ctx: ProbeContext<S>, a: SimPeer<S>, b: SimPeer<S>, options: PingOptions = {}): Promise<PingResult> {
  const oracleMs = ctx.rtt(a, b)
  const result: PingResult = { from: a.index, to: b.index, oracleMs }
  let fresh = false

  try {
    if (a.node == null || a.state !== 'running' || !ctx.isUp(b)) {
      throw new UnknownPeerError(`peer ${a.state !== 'running' ? a.index : b.index} is not running`)
    }

    const signal = options.signal ?? AbortSignal.timeout(DEFAULT_PING_TIMEOUT_MS)
    const remote = ctx.peerIdOf(b)
    let conn = a.node.getConnections().find(c => c.remotePeer.toString() === remote)

    if (conn == null && options.warm !== false) {
      fresh = true
      const identified = identifiedBy(a.node, remote, IDENTIFY_WAIT_MS)
      conn = await a.node.dial(ctx.addressOf(b), { signal })
      await identified
    }

    result.rttMs = await a.node.services.ping.ping(conn?.remoteAddr ?? ctx.addressOf(b), { signal })
  } catch (err: unknown) {
    result.error = describeError(err)
  }

  ctx.events.record('ping', {
    peer: a.index,
    remote: b.index,
    ok: result.rttMs != null,
    rtt_ms: result.rttMs ?? null,
    oracle_rtt_ms: round(oracleMs),
    fresh_connection: fresh,
    error: result.error
  })
  return result
}

/**
 * Looks `b` up in `a`'s kad-dht (`findPeer`) and records a `lookup` event
 * with its duration and the number of peers that answered. Never throws.
 */
export async function lookupPeer<S extends Record<string, unknown>> (ctx: ProbeContext<S>, a: SimPeer<S>, b: SimPeer<S>, options: AbortOptions = {}): Promise<LookupResult> {
  const started = performance.now()
  const result: LookupResult = { from: a.index, to: b.index, found: false, responses: 0, ms: 0 }

  try {
    const target = ctx.peerIdOf(b)

    if (a.node == null || a.state !== 'running' || target == null) {
      throw new UnknownPeerError(`peer ${a.state !== 'running' ? a.index : b.index} is not running`)
    }

    const signal = options.signal ?? AbortSignal.timeout(DEFAULT_PING_TIMEOUT_MS * 3)

    for await (const evt of a.node.services.dht.findPeer(peerIdFromString(target), { signal })) {
      if (evt.name === 'PEER_RESPONSE') {
        result.responses++
      } else if (evt.name === 'FINAL_PEER') {
        result.found = true
        break
      }
    }
  } catch (err: unknown) {
    result.error = describeError(err)
  }

  result.ms = round(performance.now() - started)
  ctx.events.record('lookup', { peer: a.index, remote: b.index, ok: result.found, ms: result.ms, responses: result.responses, error: result.error })
  return result
}

/** Resolves when `node` has identified `remote`, or after `maxMs`, whichever is first. */
async function identifiedBy (node: Libp2p, remote: string | undefined, maxMs: number): Promise<void> {
  await new Promise<void>(resolve => {
    const onIdentify = (evt: CustomEvent<{ peerId: PeerId }>): void => {
      if (evt.detail.peerId.toString() === remote) {
        done()
      }
    }
    const timer = setTimeout(done, maxMs)
    function done (): void {
      clearTimeout(timer)
      node.removeEventListener('peer:identify', onIdentify)
      resolve()
    }
    node.addEventListener('peer:identify', onIdentify)
  })
}
