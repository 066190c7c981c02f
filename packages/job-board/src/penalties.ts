/**
 * Penalties: each rejected message (gossip or sync) or garbage sync request
 * counts against the peer that sent it, decaying by half every
 * `penaltyHalfLifeMs`; past `maxPeerPenalty` the board closes the peer's
 * connections and ignores it for `banMs`. Gossipsub's own score (see
 * `score.ts`) penalises the same rejected gossip on the mesh; this count also
 * covers sync and floodsub, and cuts the peer off at once.
 */

import { BoundedMap } from '@shoal/utils'
import { MAX_TRACKED_PEERS } from './constants.js'
import { dispatch } from './context.js'
import type { BoardContext } from './context.js'
import type { PeerId } from '@libp2p/interface'

/** Limits of the penalty count. */
export interface PenaltyInit {
  maxPeerPenalty: number
  penaltyHalfLifeMs: number
  banMs: number
}

interface Penalty {
  score: number
  at: number
}

/** Decaying counts of rejected messages per peer, and the peers cut off. */
export class PeerPenalties {
  private readonly ctx: BoardContext
  private readonly init: PenaltyInit
  private readonly penalties = new BoundedMap<string, Penalty>(MAX_TRACKED_PEERS)
  private readonly banned = new BoundedMap<string, number>(MAX_TRACKED_PEERS)

  constructor (ctx: BoardContext, init: PenaltyInit) {
    this.ctx = ctx
    this.init = init
  }

  /** Whether a peer is cut off now. */
  isBanned (peer: PeerId): boolean {
    const until = this.banned.get(peer.toString())
    if (until == null) {
      return false
    }
    if (until <= this.ctx.now()) {
      this.banned.delete(peer.toString())
      return false
    }
    return true
  }

  /** Count a rejected message against the peer that sent it; past the limit, cut it off. */
  penalize (peer: PeerId): void {
    const id = peer.toString()
    const now = this.ctx.now()
    const old = this.penalties.get(id)
    const score = (old == null ? 0 : old.score * Math.pow(0.5, (now - old.at) / this.init.penaltyHalfLifeMs)) + 1
    this.penalties.set(id, { score, at: now })

    if (score >= this.init.maxPeerPenalty && !this.isBanned(peer)) {
      this.ctx.log('cutting off %p after %d invalid messages', peer, Math.round(score))
      this.banned.set(id, now + this.init.banMs)
      dispatch(this.ctx, 'peer:banned', peer)
      this.ctx.components.connectionManager.closeConnections(peer).catch(err => {
        this.ctx.log.error('could not close connections to %p - %e', peer, err)
      })
    }
  }
}
