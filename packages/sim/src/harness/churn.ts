import { describeError } from '../error-text.js'
import { planJoin } from './connect.js'
import type { ConnectOptions, PlannedDial } from './connect.js'
import type { EventLog } from './events.js'
import type { PeerSpec, PeerState, SimPeer } from './peer.js'
import type { Rng } from '../random.js'
import type { SimNetwork } from '../transport/index.js'

// a rejoining peer dials at most this many peers at once
const JOIN_DIAL_CONCURRENCY = 4

/**
 * Crashes a peer: its connections are aborted (peers see a reset, as when a
 * machine dies), then its node stops. Does nothing unless it runs; never throws.
 */
export async function crashPeer<S extends Record<string, unknown>> (peer: SimPeer<S>, events: EventLog, reason: string): Promise<void> {
  if (peer.state !== 'running' || peer.node == null) {
    return
  }

  peer.state = 'crashed'
  peer.error = reason
  const err = new Error(reason)

  for (const conn of peer.node.getConnections()) {
    conn.abort(err)
  }

  try {
    await peer.node.stop()
  } catch {
    // a crashed node need not stop cleanly
  }

  events.record('peer:crashed', { peer: peer.index, role: peer.role, region: peer.region, reason })
}

/**
 * Stops a peer gracefully (connections closed, services stopped); one that
 * fails to stop counts as crashed. Does nothing unless it runs; never throws.
 */
export async function leavePeer<S extends Record<string, unknown>> (peer: SimPeer<S>, events: EventLog): Promise<void> {
  if (peer.state !== 'running' || peer.node == null) {
    return
  }

  peer.state = 'stopped'

  try {
    await peer.node.stop()
    events.record('peer:left', { peer: peer.index, role: peer.role, region: peer.region })
  } catch (err: unknown) {
    peer.state = 'crashed'
    peer.error = describeError(err)
    events.record('peer:crashed', { peer: peer.index, role: peer.role, region: peer.region, reason: peer.error })
  }
}

/** What {@link joinPeer} reads of a peer: a {@link SimPeer}, or a sharded run's view of one. */
export type JoiningPeer = Pick<PeerSpec, 'index' | 'role' | 'region'> & { state: PeerState }

/** What {@link joinPeer} needs of the simulation (sharded or not). */
export interface JoinContext<P extends JoiningPeer> {
  /** the simulation: its running peers, oracle RTT (ms, by peer index) and event log */
  sim: { events: EventLog, running(): ReadonlyArray<{ index: number }>, rtt(a: number, b: number): number }
  /** (re)starts the peer's node; a failure shows in its `state` */
  start(peer: P): Promise<void>
  /** the generator of this join's wiring, drawn only once the peer runs */
  joinRng(): Rng
  /** runs planned dials; resolves to how many failed */
  dial(plan: readonly PlannedDial[], options: ConnectOptions): Promise<number>
}

/**
 * (Re)starts a stopped or crashed peer and wires it like a newcomer
 * ({@link planJoin}), recording a `peer:joined` event.
 */
export async function joinPeer<P extends JoiningPeer> (ctx: JoinContext<P>, peer: P, options: ConnectOptions): Promise<void> {
  await ctx.start(peer)

  if ((peer.state as PeerState) !== 'running') {
    return
  }

  const alive = ctx.sim.running().map(p => p.index)
  const plan = planJoin(peer.index, alive, (a, b) => ctx.sim.rtt(a, b), ctx.joinRng(), options)
  const failed = await ctx.dial(plan, { ...options, concurrency: Math.min(JOIN_DIAL_CONCURRENCY, options.concurrency ?? JOIN_DIAL_CONCURRENCY) })
  ctx.sim.events.record('peer:joined', { peer: peer.index, role: peer.role, region: peer.region, dials: plan.length, failed })
}

/**
 * Cuts every link between the peers of two groups of regions: `cut` gets
 * the two groups' sites (as {@link SimNetwork.partition} names them).
 */
export function partitionRegions (peers: ReadonlyArray<{ region: string, siteIndex: number }>, regionsA: readonly string[], regionsB: readonly string[], events: EventLog, cut: (a: Set<string>, b: Set<string>) => void): void {
  const sitesOf = (regions: readonly string[]): Set<string> =>
    new Set(peers.filter(p => regions.includes(p.region)).map(p => String(p.siteIndex)))
  const a = sitesOf(regionsA)
  const b = sitesOf(regionsB)
  cut(a, b)
  events.record('partition', { a: regionsA.join('+'), b: regionsB.join('+'), sites_a: a.size, sites_b: b.size })
}
