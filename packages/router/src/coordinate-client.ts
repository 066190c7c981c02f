import { setMaxListeners } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { asError, openStreamTo, untilAborted } from '@shoal/utils'
import { MAX_PROBE_MESSAGE_BYTES } from './constants.js'
import { InvalidProbeMessageError } from './errors.js'
import { decodeMessage, encodeMessage } from './wire.js'
import type { ProbeOptions, ProbeResult } from './index.js'
import type { PeerBook } from './peer-book.js'
import type { CoordinateMessage } from './wire.js'
import type { Logger, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

/**
 * What a {@link CoordinateClient} needs.
 */
export interface CoordinateClientInit {
  connectionManager: ConnectionManager
  book: PeerBook
  log: Logger
  protocol: string
  timeoutMs: number
  runOnLimitedConnection: boolean
}

/**
 * The prober's side of `/shoal/coordinate/1.0.0`: sends our coordinate,
 * times the exchange as an RTT sample, and files the reply (coordinate,
 * load) in the peer book once it has been checked against that RTT.
 */
export class CoordinateClient {
  private readonly connectionManager: ConnectionManager
  private readonly book: PeerBook
  private readonly log: Logger
  private readonly protocol: string
  private readonly timeoutMs: number
  private readonly runOnLimitedConnection: boolean
  /**
   * probes under way, by peer and whether they ask for load: a burst of
   * jobs ranks the same provider many times at once, and a stream per
   * ranking would pass the protocol's stream limit and fail them all
   */
  private readonly inFlight = new Map<string, Promise<ProbeResult>>()

  constructor (init: CoordinateClientInit) {
    this.connectionManager = init.connectionManager
    this.book = init.book
    this.log = init.log
    this.protocol = init.protocol
    this.timeoutMs = init.timeoutMs
    this.runOnLimitedConnection = init.runOnLimitedConnection
  }

  /**
   * Exchange coordinates with `peer` (and ask its load if `options.load`),
   * timing the exchange itself as an RTT sample. Failures count as loss.
   */
  async probe (peer: PeerId, options: ProbeOptions = {}): Promise<ProbeResult> {
    options.signal?.throwIfAborted()
    const key = `${peer.toString()}/${options.load === true}`
    let pending = this.inFlight.get(key)
    if (pending == null) {
      // shared: only its own timeout ends it, not the signal of one caller
      pending = this.probeOnce(peer, options.load === true).finally(() => { this.inFlight.delete(key) })
      this.inFlight.set(key, pending)
    }
    return untilAborted(pending, options.signal)
  }

  private async probeOnce (peer: PeerId, load: boolean): Promise<ProbeResult> {
    const signal = AbortSignal.timeout(this.timeoutMs)
    setMaxListeners(Infinity, signal)
    let stream: Stream | undefined

    try {
      stream = await openStreamTo(this.connectionManager, peer, this.protocol, {
        signal,
        runOnLimitedConnection: this.runOnLimitedConnection
      })
      const lp = lpStream(stream, { maxDataLength: MAX_PROBE_MESSAGE_BYTES })
      const request = encodeMessage({ kind: 'probe', coordinate: this.book.vivaldi.coordinate, wantLoad: load })
      const start = performance.now()
      await lp.write(request, { signal })
      const bytes = await lp.read({ signal })
      const rtt = performance.now() - start
      await stream.close({ signal })

      return this.file(peer, this.readReply(peer, bytes), rtt)
    } catch (err: unknown) {
      stream?.abort(asError(err))
      const name = err instanceof Error ? err.name : undefined

      // a peer that does not speak the protocol is not lossy, and a garbled
      // reply was already penalised as such
      if (name !== 'InvalidProbeMessageError' && name !== 'UnsupportedProtocolError') {
        this.book.recordFailure(peer)
      }

      this.log.trace('probe of %p failed - %e', peer, err)
      throw err
    }
  }

  /** Decode the answer; anything but a reply costs the peer trust. */
  private readReply (peer: PeerId, bytes: Uint8Array | { subarray(): Uint8Array }): Extract<CoordinateMessage, { kind: 'reply' }> {
    let message

    try {
      message = decodeMessage(bytes)
    } catch (err) {
      this.book.penalize(peer, 'invalid-message')
      throw err
    }

    if (message.kind !== 'reply') {
      this.book.penalize(peer, 'invalid-message')
      throw new InvalidProbeMessageError('expected a reply')
    }

    return message
  }

  /** Record the RTT, the load and (if it survives the check) the coordinate. */
  private file (peer: PeerId, message: Extract<CoordinateMessage, { kind: 'reply' }>, rtt: number): ProbeResult {
    this.book.recordRtt(peer, rtt)
    const result: ProbeResult = { peerId: peer, rtt, at: this.book.now() }

    if (message.load != null) {
      result.load = message.load
      this.book.rememberLoad(peer, message.load)
    }

    if (this.book.checkCoordinate(peer, message.coordinate, rtt)) {
      result.coordinate = message.coordinate
      this.book.remember(peer, { coordinate: message.coordinate })
      this.book.observe(peer, message.coordinate, rtt)
    }

    return result
  }
}
