import { BoundedMap } from '@shoal/utils'
import type { RouterEvents } from './index.js'
import type { RttEstimate, RttTracker } from './rtt.js'
import type { TrustEvent, TrustStore } from './trust.js'
import type { Coordinate, Vivaldi } from './vivaldi.js'
import type { LoadReport } from './wire.js'
import type { CounterGroup, Logger, PeerId, TypedEventEmitter } from '@libp2p/interface'

/**
 * What the router last heard from a peer itself (in a probe or a reply).
 */
export interface KnownPeer {
  peerId: PeerId
  coordinate?: Coordinate
  load?: LoadReport
  /** When `load` was answered (ms, the book's clock) */
  loadAt?: number
}

/**
 * What a {@link PeerBook} is built from: the stores it updates and where it reports.
 */
export interface PeerBookInit {
  rtt: RttTracker
  vivaldi: Vivaldi
  trust: TrustStore
  /** Where `peer:measured`, `coordinate:updated` and `peer:penalized` go */
  events: TypedEventEmitter<RouterEvents>
  log: Logger
  /** Counts measurements and penalties by kind */
  metrics?: CounterGroup
  /** The clock, ms */
  now(): number
  /** See `RouterInit.lieFactor` */
  lieFactor: number
}

const LIE_SLACK_MS = 20
// a coordinate must be this confident (low error) on both sides before a
// disagreement with the measured RTT counts against the peer
const LIE_MAX_ERROR = 0.5
// a load report this recent counts as the peer's claim when work then fails
const LOAD_CLAIM_MAX_AGE_MS = 30_000
const MAX_KNOWN_PEERS = 1024

/**
 * Everything the router knows about other peers (filtered RTT and loss, the
 * Vivaldi state fed by them, their last coordinate and load, trust) and how
 * new evidence updates it: every sample, claim and penalty goes through here.
 */
export class PeerBook {
  readonly rtt: RttTracker
  readonly vivaldi: Vivaldi
  readonly trust: TrustStore
  readonly now: () => number
  private readonly events: TypedEventEmitter<RouterEvents>
  private readonly log: Logger
  private readonly metrics?: CounterGroup
  private readonly lieFactor: number
  private readonly known: BoundedMap<string, KnownPeer>

  constructor (init: PeerBookInit) {
    this.rtt = init.rtt
    this.vivaldi = init.vivaldi
    this.trust = init.trust
    this.events = init.events
    this.log = init.log
    this.metrics = init.metrics
    this.now = init.now
    this.lieFactor = init.lieFactor
    this.known = new BoundedMap(MAX_KNOWN_PEERS)
  }

  /**
   * The last coordinate `peer` gave us (a copy), if any.
   */
  coordinateOf (peer: PeerId): Coordinate | undefined {
    const c = this.known.get(peer.toString())?.coordinate
    return c == null ? undefined : { ...c, vec: [...c.vec] }
  }

  /**
   * Best RTT estimate to `peer`, ms: the filtered measurement if fresh, else
   * the prediction from `coordinate` (or the last one the peer sent).
   */
  estimateRtt (peer: PeerId, coordinate?: Coordinate): { rtt: number, source: 'measured' | 'predicted' } | undefined {
    const measured: RttEstimate | undefined = this.rtt.get(peer.toString())

    if (measured != null) {
      return { rtt: measured.smoothed, source: 'measured' }
    }

    const predicted = this.predict(coordinate ?? this.known.get(peer.toString())?.coordinate)
    return predicted == null ? undefined : { rtt: predicted, source: 'predicted' }
  }

  /**
   * RTT predicted by our Vivaldi coordinate and `coordinate`, ms, or
   * `undefined` without a usable coordinate.
   */
  predict (coordinate?: Coordinate): number | undefined {
    if (coordinate == null) {
      return undefined
    }

    try {
      return this.vivaldi.estimateRtt(coordinate)
    } catch {
      return undefined
    }
  }

  /**
   * The coordinate to predict with for `peer`: a probe's, else the claimed
   * one, else the last one the peer sent.
   */
  knownCoordinate (peer: PeerId): Coordinate | undefined {
    return this.known.get(peer.toString())?.coordinate
  }

  /**
   * True if `peer` answered, recently, that it had a free slot.
   */
  claimedFreeSlots (peer: PeerId): boolean {
    const known = this.known.get(peer.toString())
    const fresh = known?.load != null && known.loadAt != null && this.now() - known.loadAt < LOAD_CLAIM_MAX_AGE_MS
    return fresh && (known?.load?.freeSlots ?? 0) > 0
  }

  /**
   * Record what `peer` just told us, forgetting the least recently heard
   * peer beyond the bound.
   */
  remember (peer: PeerId, update: Omit<Partial<KnownPeer>, 'peerId'>): void {
    const id = peer.toString()
    const entry = this.known.get(id) ?? { peerId: peer }
    this.known.set(id, { ...entry, ...update })
  }

  /**
   * Record the load `peer` answered, timed by the book's clock.
   */
  rememberLoad (peer: PeerId, load: LoadReport): void {
    this.remember(peer, { load, loadAt: this.now() })
  }

  /**
   * Validate a coordinate a peer sent and compare it with the RTT we just
   * observed. Returns false (and penalises) for absurd or disproven claims.
   */
  checkCoordinate (peer: PeerId, coordinate: Coordinate, rtt: number): boolean {
    if (coordinate.vec.length !== this.vivaldi.dimensions) {
      // a different configuration, not a lie: unusable but not punished
      this.log.trace('%p uses %d dimensions, we use %d', peer, coordinate.vec.length, this.vivaldi.dimensions)
      return false
    }

    try {
      this.vivaldi.validate(coordinate)
    } catch (err) {
      this.log('%p sent an invalid coordinate - %e', peer, err)
      this.penalize(peer, 'invalid-coordinate')
      return false
    }

    const local = this.vivaldi.coordinate

    if (local.error <= LIE_MAX_ERROR && coordinate.error <= LIE_MAX_ERROR) {
      const predicted = this.vivaldi.estimateRtt(coordinate)

      if (predicted > this.lieFactor * rtt + LIE_SLACK_MS || rtt > this.lieFactor * predicted + LIE_SLACK_MS) {
        this.log('%p claims a coordinate %d ms away but answered in %d ms', peer, Math.round(predicted), Math.round(rtt))
        this.penalize(peer, 'coordinate-lie')
        this.vivaldi.forget(peer.toString())
        return false
      }
    }

    return true
  }

  /**
   * Feed an RTT sample to `peer`, whose coordinate is `coordinate`, to Vivaldi.
   */
  observe (peer: PeerId, coordinate: Coordinate, rtt: number): void {
    try {
      const updated = this.vivaldi.observe(peer.toString(), coordinate, rtt)
      this.dispatch('coordinate:updated', updated)
    } catch (err) {
      this.log.trace('ignoring sample from %p - %e', peer, err)
    }
  }

  /**
   * Record an RTT sample to `peer`; a bad sample is ignored.
   */
  recordRtt (peer: PeerId, rtt: number): void {
    try {
      this.rtt.addSample(peer.toString(), rtt)
      this.metrics?.increment({ rtt_sample: true })
      this.dispatch('peer:measured', { peerId: peer, rtt })
    } catch (err) {
      this.log.trace('ignoring RTT sample to %p - %e', peer, err)
    }
  }

  /**
   * Record a failed exchange with `peer` as loss.
   */
  recordFailure (peer: PeerId): void {
    this.rtt.addFailure(peer.toString())
    this.metrics?.increment({ rtt_failure: true })
  }

  /**
   * Record that `peer` finished work it was given.
   */
  reward (peer: PeerId): number {
    return this.trust.record(peer.toString(), 'success')
  }

  /**
   * Lower trust in `peer` for `event`; returns the new trust.
   */
  penalize (peer: PeerId, event: TrustEvent): number {
    const trust = this.trust.record(peer.toString(), event)
    this.log('%p penalised for %s, trust now %d', peer, event, trust)
    this.metrics?.increment({ [`penalty:${event}`]: true })
    this.dispatch('peer:penalized', { peerId: peer, event, trust })
    return trust
  }

  private dispatch<K extends keyof RouterEvents> (type: K, detail: RouterEvents[K]['detail']): void {
    try {
      this.events.safeDispatchEvent(type, { detail })
    } catch (err) {
      this.log.error('event listener for %s threw - %e', type, err)
    }
  }
}
