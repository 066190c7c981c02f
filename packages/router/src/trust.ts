import { TRUST_INITIAL, RTT_MAX_PEERS } from './constants.js'

/**
 * Things a peer did that change how much the router trusts it.
 *
 * - `success`: finished work it was given
 * - `failure`: work failed (error from the attempt)
 * - `timeout`: work or probe did not finish in time
 * - `refused-with-free-slots`: said it had free slots, then failed the work
 * - `coordinate-lie`: the RTT observed is far from what its claimed coordinate predicts
 * - `invalid-coordinate`: sent an absurd coordinate
 * - `invalid-message`: sent bytes that do not decode
 * - `late`: finished work, but far slower than it quoted (more than the
 *   requester's `lateFactor` x its eta): it advertised speed it lacks
 * - `location-lie`: answered faster than light allows from where it claims to
 *   be (its capability record's geohash): it is nearer than it says
 */
export type TrustEvent =
  | 'success'
  | 'failure'
  | 'timeout'
  | 'refused-with-free-slots'
  | 'coordinate-lie'
  | 'invalid-coordinate'
  | 'invalid-message'
  | 'late'
  | 'location-lie'

/**
 * Where the router keeps per-peer trust in [0, 1]. Inject your own (e.g.
 * backed by receipts and reputation) through `RouterInit.trust`.
 */
export interface TrustStore {
  /** Current trust in `peer` */
  get(peer: string): number
  /** Apply `event` to `peer` and return the new trust */
  record(peer: string, event: TrustEvent): number
}

/**
 * Options of {@link PeerTrust}.
 */
export interface PeerTrustInit {
  /**
   * Trust of a peer never seen before
   *
   * @default 0.8
   */
  initial?: number
  /**
   * Fraction of the remaining distance to 1 gained per success
   *
   * @default 0.05
   */
  reward?: number
  /**
   * Fraction of trust lost per bad event (defaults in {@link DEFAULT_PENALTIES})
   */
  penalties?: Partial<Record<Exclude<TrustEvent, 'success'>, number>>
  /**
   * Most peers remembered; the least recently changed are forgotten first
   *
   * @default 1024
   */
  maxPeers?: number
  /**
   * Half-life of a penalty, ms: trust below `initial` moves back toward it
   * as time passes without news of the peer, so a peer refused after a bad
   * spell (a restart, an outage) is tried again later rather than never;
   * one that fails again drops again. Trust above `initial`, earned by
   * successes, does not fade. 0 or Infinity: penalties never fade
   *
   * @default 300000
   */
  recoveryHalfLifeMs?: number
  /**
   * Clock, ms
   *
   * @default Date.now
   */
  now?(): number
}

/** Half-life of a penalty by default, ms (see `PeerTrustInit.recoveryHalfLifeMs`). */
export const TRUST_RECOVERY_HALF_LIFE_MS = 5 * 60_000

/**
 * Fraction of trust each bad event costs. A proven lie costs more than an
 * honest failure, which networks and machines produce on their own.
 */
export const DEFAULT_PENALTIES: Readonly<Record<Exclude<TrustEvent, 'success'>, number>> = Object.freeze({
  failure: 0.15,
  timeout: 0.15,
  'refused-with-free-slots': 0.5,
  'coordinate-lie': 0.5,
  'invalid-coordinate': 0.3,
  'invalid-message': 0.3,
  // a broken promise of speed, not proven malice: more than a failure, less than a lie;
  // about four late jobs in a row bring a fresh peer below the default minTrust
  late: 0.3,
  'location-lie': 0.5
})

/**
 * In-memory trust scores: multiplicative decrease on bad events, slow additive
 * recovery on success, so one lie outweighs many cheap successes.
 */
export class PeerTrust implements TrustStore {
  private readonly initial: number
  private readonly reward: number
  private readonly penalties: Record<Exclude<TrustEvent, 'success'>, number>
  private readonly maxPeers: number
  private readonly halfLifeMs: number
  private readonly now: () => number
  /** each peer's score when it last changed, and when */
  private readonly scores: Map<string, { score: number, at: number }>

  constructor (init: PeerTrustInit = {}) {
    this.initial = init.initial ?? TRUST_INITIAL
    this.reward = init.reward ?? 0.05
    this.penalties = { ...DEFAULT_PENALTIES, ...init.penalties }
    this.maxPeers = Math.max(1, init.maxPeers ?? RTT_MAX_PEERS)
    this.halfLifeMs = init.recoveryHalfLifeMs ?? TRUST_RECOVERY_HALF_LIFE_MS
    this.now = init.now ?? Date.now
    this.scores = new Map()
  }

  get (peer: string): number {
    const entry = this.scores.get(peer)
    return entry == null ? this.initial : this.recovered(entry)
  }

  /** A score below `initial`, moved back toward it by the time passed since it was set. */
  private recovered (entry: { score: number, at: number }): number {
    if (entry.score >= this.initial || !(this.halfLifeMs > 0) || !Number.isFinite(this.halfLifeMs)) {
      return entry.score
    }
    const elapsed = Math.max(0, this.now() - entry.at)
    return this.initial - (this.initial - entry.score) * 0.5 ** (elapsed / this.halfLifeMs)
  }

  record (peer: string, event: TrustEvent): number {
    const current = this.get(peer)
    const next = event === 'success'
      ? current + this.reward * (1 - current)
      : current * (1 - this.penalties[event])

    this.scores.delete(peer)
    this.scores.set(peer, { score: Math.min(1, Math.max(0, next)), at: this.now() })

    while (this.scores.size > this.maxPeers) {
      // forget trusted peers first: forgetting a penalised one would restore its
      // initial trust, and throwaway peer ids could force that
      let victim: string | undefined
      for (const [key, entry] of this.scores) {
        if (entry.score >= this.initial) {
          victim = key
          break
        }
      }
      victim ??= this.scores.keys().next().value

      if (victim == null) {
        break
      }

      this.scores.delete(victim)
    }

    return this.get(peer)
  }

  /**
   * Every peer with a recorded score.
   */
  entries (): Array<[string, number]> {
    return [...this.scores].map(([peer, entry]) => [peer, this.recovered(entry)])
  }
}
