/**
 * The arithmetic of one direction of a simulated link: serialization at a
 * bandwidth, propagation, jitter and TCP-style loss recovery. Pure functions
 * over plain state so they can be tested without timers or sockets.
 */

import { InvalidLinkProfileError } from './errors.js'

/**
 * A source of uniform numbers in [0, 1), like `Math.random`. Every random
 * choice of the transport (jitter, loss) goes through one, so a seeded run
 * repeats.
 */
export interface RandomSource {
  (): number
}

/**
 * What the path from one site to another looks like. Returned by the
 * user-supplied {@link LinkProfileFunction}.
 */
export interface LinkProfile {
  /**
   * Round-trip time in ms of the path. Each direction of a connection adds
   * half of the RTT its own profile gives, so a symmetric profile yields
   * exactly this RTT.
   */
  rttMs: number

  /**
   * Spread of the one-way delay in ms: every chunk's one-way delay is drawn
   * uniformly from `rttMs / 2 ± jitterMs / 2`. Bytes are never reordered, so a
   * chunk that draws a short delay waits for the one before it.
   *
   * @default 0
   */
  jitterMs?: number

  /**
   * Probability in [0, 1] that one TCP segment is lost. A lost segment arrives
   * one retransmission timeout late (with exponential back-off if the
   * retransmission is lost too) and holds back everything behind it.
   *
   * @default 0
   */
  loss?: number

  /**
   * Bandwidth of this direction in bytes per second (capital B). Each chunk
   * waits its turn in a per-direction queue and takes `bytes / bandwidthBps`
   * seconds to serialize. 0 or absent means unlimited.
   *
   * @default Infinity
   */
  bandwidthBps?: number
}

/** Gives the profile of the path from one site to another. */
export interface LinkProfileFunction {
  (fromSite: string, toSite: string): LinkProfile
}

/** Knobs of the simplified TCP behaviour every link shares. */
export interface TcpModel {
  /**
   * Lower bound of the retransmission timeout (Linux's `TCP_RTO_MIN`).
   *
   * @default 200
   */
  minRtoMs: number

  /**
   * How many retransmissions of a segment may be lost before the connection
   * is declared dead (Linux's `tcp_retries2` is 15, about 15 minutes; a
   * smaller default keeps simulations moving).
   *
   * @default 6
   */
  maxRetransmits: number

  /**
   * Maximum segment size in bytes: a chunk of `n` bytes is `ceil(n / mss)`
   * segments for the purpose of loss.
   *
   * @default 1460
   */
  mss: number
}

/** One direction's parameters, derived from a {@link LinkProfile}. */
export interface DirectionParams {
  /** mean one-way delay in ms */
  oneWayMs: number
  /** width of the uniform one-way delay spread in ms */
  jitterMs: number
  /** per-segment loss probability */
  loss: number
  /** bytes serialized per ms; Infinity when unlimited */
  bytesPerMs: number
  /** retransmission timeout in ms */
  rtoMs: number
}

/** The mutable state of one direction's send queue. */
export interface DirectionState {
  /** when the link finishes serializing what is queued (ms, scheduler clock) */
  txFreeAt: number
  /** when the last queued chunk is delivered; later chunks never arrive earlier */
  lastDeliverAt: number
}

/** When a chunk starts and ends on the wire and when it arrives. */
export interface ChunkPlan {
  /** when the first byte goes on the wire */
  txStart: number
  /** when the last byte has been serialized */
  txDone: number
  /** when the receiver gets the chunk */
  deliverAt: number
  /** retransmissions the chunk needed (0 when nothing was lost) */
  retransmits: number
  /** the sender gives up on the connection at this time instead of delivering */
  breakAt?: number
}

/**
 * RFC 6298-style timeout for a path in steady state: smoothed RTT plus four
 * times its variation, floored at `minRtoMs`. The jitter stands in for the
 * RTT variation, which keeps the timeout fixed per path.
 */
export function retransmissionTimeout (rttMs: number, jitterMs: number, minRtoMs: number): number {
  return Math.max(minRtoMs, rttMs + 4 * jitterMs)
}

/** Segments a chunk of `bytes` occupies; control packets count as one. */
export function segmentCount (bytes: number, mss: number): number {
  return Math.max(1, Math.ceil(bytes / mss))
}

/** Probability that at least one of `segments` independent segments is lost. */
export function chunkLossProbability (segments: number, loss: number): number {
  if (loss <= 0) {
    return 0
  }

  if (loss >= 1) {
    return 1
  }

  return 1 - Math.pow(1 - loss, segments)
}

/**
 * Extra delay of a chunk whose segment needed `retransmits` retransmissions:
 * each retransmission waits twice as long as the one before (RTO back-off).
 */
export function retransmissionDelay (rtoMs: number, retransmits: number): number {
  return rtoMs * (Math.pow(2, retransmits) - 1)
}

/** How long a sender keeps retransmitting before it gives up on the connection. */
export function giveUpAfter (rtoMs: number, maxRetransmits: number): number {
  return retransmissionDelay(rtoMs, maxRetransmits + 1)
}

/** Bytes waiting to be serialized at `now`. */
export function backlogBytes (state: DirectionState, now: number, params: DirectionParams): number {
  if (params.bytesPerMs === Infinity) {
    return 0
  }

  return Math.max(0, state.txFreeAt - now) * params.bytesPerMs
}

/** When the backlog will have fallen to `bytes`. */
export function backlogFallsTo (state: DirectionState, bytes: number, params: DirectionParams): number {
  if (params.bytesPerMs === Infinity) {
    return -Infinity
  }

  return state.txFreeAt - bytes / params.bytesPerMs
}

/** Validate a profile and turn it into one direction's parameters. */
export function directionParams (profile: LinkProfile, tcp: TcpModel): DirectionParams {
  const rttMs = profile.rttMs
  const jitterMs = profile.jitterMs ?? 0
  const loss = profile.loss ?? 0
  const bandwidth = profile.bandwidthBps ?? 0

  if (!Number.isFinite(rttMs) || rttMs < 0) {
    throw new InvalidLinkProfileError(`rttMs must be a finite number >= 0, got ${rttMs}`)
  }

  if (!Number.isFinite(jitterMs) || jitterMs < 0) {
    throw new InvalidLinkProfileError(`jitterMs must be a finite number >= 0, got ${jitterMs}`)
  }

  if (!(loss >= 0 && loss <= 1)) {
    throw new InvalidLinkProfileError(`loss must be in [0, 1], got ${loss}`)
  }

  // 0 means unlimited; below 1 byte/s the per-byte time overflows to Infinity (or NaN for an empty chunk)
  if (!(bandwidth === 0 || bandwidth >= 1)) {
    throw new InvalidLinkProfileError(`bandwidthBps must be 0 (unlimited) or >= 1, got ${bandwidth}`)
  }

  return {
    oneWayMs: rttMs / 2,
    jitterMs,
    loss,
    bytesPerMs: bandwidth === 0 || bandwidth === Infinity ? Infinity : bandwidth / 1000,
    rtoMs: retransmissionTimeout(rttMs, jitterMs, tcp.minRtoMs)
  }
}

/**
 * Put a chunk of `bytes` on one direction at time `now`: queue it behind what
 * is being serialized, add propagation, jitter and any loss recovery, and
 * keep delivery in order. Updates `state`.
 *
 * Draws from `random` only when jitter or loss is configured, so a lossless,
 * jitter-free link consumes no randomness.
 */
export function planChunk (state: DirectionState, now: number, bytes: number, params: DirectionParams, tcp: TcpModel, random: RandomSource): ChunkPlan {
  const txStart = Math.max(now, state.txFreeAt)
  const txDone = params.bytesPerMs === Infinity ? txStart : txStart + bytes / params.bytesPerMs
  state.txFreeAt = txDone

  let delay = params.oneWayMs

  if (params.jitterMs > 0) {
    delay = Math.max(0, delay + params.jitterMs * (random() - 0.5))
  }

  let retransmits = 0

  if (params.loss > 0 && random() < chunkLossProbability(segmentCount(bytes, tcp.mss), params.loss)) {
    // the first loss is given; each retransmission of the lost segment is
    // lost again with the same per-segment probability
    retransmits = 1

    while (retransmits <= tcp.maxRetransmits && random() < params.loss) {
      retransmits++
    }
  }

  if (retransmits > tcp.maxRetransmits) {
    return {
      txStart,
      txDone,
      deliverAt: Infinity,
      retransmits,
      breakAt: txDone + giveUpAfter(params.rtoMs, tcp.maxRetransmits)
    }
  }

  const deliverAt = Math.max(txDone + delay + retransmissionDelay(params.rtoMs, retransmits), state.lastDeliverAt)
  state.lastDeliverAt = deliverAt

  return { txStart, txDone, deliverAt, retransmits }
}
