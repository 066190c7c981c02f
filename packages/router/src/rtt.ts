import { BoundedMap } from '@shoal/utils'
import { InvalidRttSampleError } from './errors.js'
import {
  RTT_WINDOW_SIZE,
  RTT_EWMA_ALPHA,
  LOSS_EWMA_ALPHA,
  RTT_SAMPLE_MAX_AGE_MS,
  RTT_MAX_SAMPLE_MS,
  RTT_MAX_PEERS
} from './constants.js'

/**
 * Options shared by {@link RttFilter} and {@link RttTracker}.
 */
export interface RttFilterInit {
  /**
   * How many recent samples the moving median looks at
   *
   * @default 5
   */
  windowSize?: number

  /**
   * Weight of the newest median in the smoothed RTT (EWMA)
   *
   * @default 0.2
   */
  alpha?: number

  /**
   * Weight of the newest probe outcome in the loss estimate (EWMA of failures)
   *
   * @default 0.1
   */
  lossAlpha?: number

  /**
   * Samples and probe outcomes older than this (ms) are forgotten
   *
   * @default 300000
   */
  maxAgeMs?: number

  /**
   * Samples above this (ms) are rejected as absurd
   *
   * @default 60000
   */
  maxSampleMs?: number

  /**
   * Clock in milliseconds, injectable for tests and the simulator
   *
   * @default Date.now
   */
  now?(): number
}

/**
 * A filtered view of the RTT to one peer.
 */
export interface RttEstimate {
  /** Median of the recent samples, ms: robust to single outliers */
  median: number
  /** EWMA of the medians, ms: the value to predict with */
  smoothed: number
  /** Smallest recent sample, ms */
  min: number
  /** Estimated probability that a probe (or a packet exchange) fails, in [0, 1] */
  loss: number
  /** Number of samples currently in the window */
  samples: number
  /** When the newest sample was taken (ms, same clock as `now`) */
  updated: number
}

interface Sample {
  rtt: number
  at: number
}

/**
 * Throws {@link InvalidRttSampleError} unless `rtt` is a usable sample.
 */
export function validateRtt (rtt: number, maxSampleMs: number = RTT_MAX_SAMPLE_MS): void {
  if (typeof rtt !== 'number' || !Number.isFinite(rtt) || rtt < 0 || rtt > maxSampleMs) {
    throw new InvalidRttSampleError(`RTT sample ${String(rtt)} is not a number of ms in [0, ${maxSampleMs}]`)
  }
}

/**
 * The median of a non-empty list of numbers.
 */
export function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * RTT and loss filter for one peer.
 *
 * Raw RTT samples are noisy and heavy-tailed (a GC pause, a retransmission),
 * and a single outlier fed into Vivaldi drags the coordinate far off, so the
 * moving median over the last few samples absorbs spikes (Serf's latency
 * filter, Ledlie et al.'s moving-percentile filter) and an EWMA over the
 * medians smooths what is left (as Petals does). Loss is an EWMA of probe
 * failures. Old samples expire so a peer that moved is re-learned.
 */
export class RttFilter {
  private readonly windowSize: number
  private readonly alpha: number
  private readonly lossAlpha: number
  private readonly maxAgeMs: number
  private readonly maxSampleMs: number
  private readonly now: () => number
  private window: Sample[]
  private ewma?: number
  private lossEwma: number
  private lossUpdated?: number

  constructor (init: RttFilterInit = {}) {
    this.windowSize = Math.max(1, Math.floor(init.windowSize ?? RTT_WINDOW_SIZE))
    this.alpha = clamp01(init.alpha ?? RTT_EWMA_ALPHA)
    this.lossAlpha = clamp01(init.lossAlpha ?? LOSS_EWMA_ALPHA)
    this.maxAgeMs = init.maxAgeMs ?? RTT_SAMPLE_MAX_AGE_MS
    this.maxSampleMs = init.maxSampleMs ?? RTT_MAX_SAMPLE_MS
    this.now = init.now ?? Date.now
    this.window = []
    this.lossEwma = 0
  }

  /**
   * Record a successful measurement and return the new filtered (median) RTT.
   * Throws {@link InvalidRttSampleError} for a non-finite, negative or absurd sample.
   */
  addSample (rtt: number): number {
    validateRtt(rtt, this.maxSampleMs)
    this.expire()
    const at = this.now()
    this.window.push({ rtt, at })

    if (this.window.length > this.windowSize) {
      this.window.shift()
    }

    const med = median(this.window.map(s => s.rtt))
    this.ewma = this.ewma == null ? med : this.alpha * med + (1 - this.alpha) * this.ewma
    this.updateLoss(0)

    return med
  }

  /**
   * Record a probe that failed (timeout, reset): raises the loss estimate.
   */
  addFailure (): void {
    this.expire()
    this.updateLoss(1)
  }

  /**
   * The current estimate, or `undefined` when every sample has expired.
   */
  estimate (): RttEstimate | undefined {
    this.expire()

    if (this.window.length === 0 || this.ewma == null) {
      return undefined
    }

    const rtts = this.window.map(s => s.rtt)

    return {
      median: median(rtts),
      smoothed: this.ewma,
      min: Math.min(...rtts),
      loss: this.loss(),
      samples: this.window.length,
      updated: this.window[this.window.length - 1].at
    }
  }

  /**
   * Median of the unexpired samples, or `undefined` when there are none.
   */
  median (): number | undefined {
    this.expire()
    return this.window.length === 0 ? undefined : median(this.window.map(s => s.rtt))
  }

  /**
   * Estimated failure probability of a probe, in [0, 1]; 0 when unknown.
   */
  loss (): number {
    this.expire()
    return this.lossEwma
  }

  /**
   * True when there is nothing left worth keeping (all samples and loss expired).
   */
  isEmpty (): boolean {
    this.expire()
    return this.window.length === 0 && this.lossUpdated == null
  }

  private updateLoss (failed: 0 | 1): void {
    // starting from 0 rather than from the first outcome means one lost probe
    // to a new peer reads as `lossAlpha` loss, not 100%
    this.lossEwma = this.lossAlpha * failed + (1 - this.lossAlpha) * this.lossEwma
    this.lossUpdated = this.now()
  }

  private expire (): void {
    const cutoff = this.now() - this.maxAgeMs

    if (this.window.length > 0 && this.window[0].at < cutoff) {
      this.window = this.window.filter(s => s.at >= cutoff)

      if (this.window.length === 0) {
        this.ewma = undefined
      }
    }

    if (this.lossUpdated != null && this.lossUpdated < cutoff) {
      this.lossEwma = 0
      this.lossUpdated = undefined
    }
  }
}

/**
 * Options of an {@link RttTracker}.
 */
export interface RttTrackerInit extends RttFilterInit {
  /**
   * Most peers tracked; the least recently updated are forgotten first
   *
   * @default 1024
   */
  maxPeers?: number
}

/**
 * One {@link RttFilter} per peer, keyed by a string (a peer id's string form),
 * bounded in size so a flood of peers cannot grow memory without limit.
 */
export class RttTracker {
  private readonly init: RttTrackerInit
  private readonly maxPeers: number
  private readonly filters: BoundedMap<string, RttFilter>

  constructor (init: RttTrackerInit = {}) {
    this.init = init
    this.maxPeers = Math.max(1, init.maxPeers ?? RTT_MAX_PEERS)
    this.filters = new BoundedMap(this.maxPeers)
  }

  /**
   * Record a successful RTT sample to `peer`; returns the filtered (median) RTT.
   * Throws {@link InvalidRttSampleError} for a bad sample.
   */
  addSample (peer: string, rtt: number): number {
    // validate before touching so a bad sample cannot evict a good peer
    validateRtt(rtt, this.init.maxSampleMs ?? RTT_MAX_SAMPLE_MS)
    return this.touch(peer).addSample(rtt)
  }

  /**
   * Record a failed probe to `peer`.
   */
  addFailure (peer: string): void {
    this.touch(peer).addFailure()
  }

  /**
   * The filtered estimate for `peer`, or `undefined` if no fresh samples.
   */
  get (peer: string): RttEstimate | undefined {
    return this.filters.get(peer)?.estimate()
  }

  /**
   * The loss estimate for `peer` (0 when unknown).
   */
  loss (peer: string): number {
    return this.filters.get(peer)?.loss() ?? 0
  }

  /**
   * Forget one peer.
   */
  delete (peer: string): void {
    this.filters.delete(peer)
  }

  /**
   * Drop peers whose samples have all expired.
   */
  prune (): void {
    for (const [peer, filter] of this.filters) {
      if (filter.isEmpty()) {
        this.filters.delete(peer)
      }
    }
  }

  /** Number of peers tracked */
  get size (): number {
    return this.filters.size
  }

  private touch (peer: string): RttFilter {
    let filter = this.filters.get(peer)

    // set even when known: the map's order is then least-recently-updated first
    filter ??= new RttFilter(this.init)
    this.filters.set(peer, filter)

    return filter
  }
}

function clamp01 (x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0
}
