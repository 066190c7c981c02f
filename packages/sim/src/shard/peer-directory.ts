/**
 * The coordinator's directory of a sharded simulation's peers: where each
 * runs, its state as its shard last reported it, and its peer id.
 */

import { UnknownPeerError } from '../harness/errors.js'
import { shardOf } from '../harness/simulation.js'
import type { EventLog } from '../harness/events.js'
import type { PeerSpec, PeerState } from '../harness/peer.js'
import type { PeerStatus } from './protocol.js'

/** A peer as the coordinator sees it (its node lives in a shard). */
export interface ShardedPeer extends Omit<PeerSpec, 'rng'> {
  /** the shard running it */
  shard: number
  address: string
  state: PeerState
  /** its libp2p peer id, once started */
  peerId?: string
  error?: string
}

/** A peer by index, peer id string or anything with an index. */
export type PeerRef = number | string | { index: number }

/** Every peer of the run, looked up by index or peer id. */
export class PeerDirectory {
  readonly peers: ShardedPeer[]
  private readonly byPeerId = new Map<string, number>()

  /** `placed`: the peers as every shard places them, spread over `shards` shards. */
  constructor (placed: ReadonlyArray<Omit<PeerSpec, 'rng'> & { address: string }>, shards: number) {
    this.peers = placed.map(p => ({
      index: p.index,
      role: p.role,
      siteIndex: p.siteIndex,
      site: p.site,
      region: p.region,
      bootstrap: p.bootstrap,
      address: p.address,
      state: 'stopped',
      shard: shardOf(p.index, placed.length, shards)
    }))
  }

  /** Takes a peer's state as its shard reports it. */
  update (st: PeerStatus): void {
    const p = this.peers[st.index]
    p.state = st.state
    p.error = st.error

    if (st.peerId != null) {
      p.peerId = st.peerId
      this.byPeerId.set(st.peerId, st.index)
    }
  }

  /** The peer with this index (or peer id string); throws {@link UnknownPeerError}. */
  peer (ref: PeerRef): ShardedPeer {
    const index = typeof ref === 'number' ? ref : typeof ref === 'string' ? this.byPeerId.get(ref) : ref.index
    const peer = index == null ? undefined : this.peers[index]

    if (peer == null) {
      throw new UnknownPeerError(`No simulated peer ${typeof ref === 'object' ? ref.index : ref}`)
    }

    return peer
  }

  /** Peers currently running, optionally of one role and/or region. */
  running (filter: { role?: string, region?: string } = {}): ShardedPeer[] {
    return this.peers.filter(p => p.state === 'running' &&
      (filter.role == null || p.role === filter.role) &&
      (filter.region == null || p.region === filter.region))
  }

  /** Every running peer of a failed shard is crashed (and recorded so). */
  shardFailed (shard: number, events: EventLog): void {
    for (const p of this.peers) {
      if (p.shard === shard && p.state === 'running') {
        p.state = 'crashed'
        p.error = `shard ${shard} failed`
        events.record('peer:crashed', { peer: p.index, role: p.role, region: p.region, reason: p.error })
      }
    }
  }
}
