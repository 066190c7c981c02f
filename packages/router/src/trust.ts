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
 */
export type TrustEvent =
  | 'success'
  | 'failure'
  | 'timeout'
  | 'refused-with-free-slots'
  | 'coordinate-lie'
  | 'invalid-coordinate'
  | 'invalid-message'

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
}

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
  'invalid-message': 0.3
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
  private readonly scores: Map<string, number>

  constructor (init: PeerTrustInit = {}) {
    this.initial = init.initial ?? TRUST_INITIAL
    this.reward = init.reward ?? 0.05
    this.penalties = { ...DEFAULT_PENALTIES, ...init.penalties }
    this.maxPeers = Math.max(1, init.maxPeers ?? RTT_MAX_PEERS)
    this.scores = new Map()
  }

  get (peer: string): number {
    return this.scores.get(peer) ?? this.initial
  }

  record (peer: string, event: TrustEvent): number {
    const current = this.get(peer)
    const next = event === 'success'
      ? current + this.reward * (1 - current)
      : current * (1 - this.penalties[event])

    this.scores.delete(peer)
    this.scores.set(peer, Math.min(1, Math.max(0, next)))

    while (this.scores.size > this.maxPeers) {
      // forget trusted peers first: forgetting a penalised one would restore its
      // initial trust, and throwaway peer ids could force that
      let victim: string | undefined
      for (const [key, score] of this.scores) {
        if (score >= this.initial) {
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
    return [...this.scores]
  }
}
