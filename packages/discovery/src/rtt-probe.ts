/**
 * How discovery measures a candidate's RTT: rounds of the libp2p ping
 * protocol on ONE stream, opened beside the record fetch.
 *
 * Not the ping service's `ping(peer)`: it opens a stream per call and sends
 * one payload on it (2 round trips a sample, the negotiation not timed),
 * times in whole ms (`Date.now()`), and cannot open its stream while the
 * record is fetched nor say when a round was sent, which the search needs
 * to stop waiting for a round out longer than a measured RTT. Nor
 * @shoal/router's RTT filter, which smooths samples it is given and takes
 * none. The wire is the same: this speaks the ping service's protocol to
 * the remote ping handler.
 */

import { randomBytes } from 'node:crypto'
import { byteStream } from '@libp2p/utils'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { asError, openStreamTo } from '@shoal/utils'
import { PING_LENGTH } from './constants.js'
import { timeoutSignal } from './utils.js'
import type { PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

/** A ping stream opened beside a record fetch, and how long opening it took (ms). */
export interface OpenedPing {
  stream: Stream
  openMs: number
}

/** What the probe needs from the node. */
export interface RttProbeComponents {
  connectionManager: Pick<ConnectionManager, 'getConnections' | 'openStream'>
}

/** Options of the probe. */
export interface RttProbeInit {
  /** time allowed for one measurement, ms */
  timeoutMs: number
}

/** Times ping rounds to a peer (see the file comment for why not the ping service). */
export class RttProbe {
  private readonly components: RttProbeComponents
  private readonly timeoutMs: number

  constructor (components: RttProbeComponents, init: RttProbeInit) {
    this.components = components
    this.timeoutMs = init.timeoutMs
  }

  /** `signal`, bounded by the measurement timeout. */
  signal (signal?: AbortSignal): AbortSignal {
    return timeoutSignal(this.timeoutMs, signal)
  }

  /**
   * `probes` rounds of the ping protocol on ONE stream (the protocol allows
   * repeated payloads on a stream, and a dialer keeps at most one ping stream
   * per peer), each timed from send to echo: 1 + probes round trips in all,
   * not 2 per probe as separate `ping()` calls would cost. The opening (its
   * protocol negotiation is a round trip) is a sample too. Returns the
   * minimum, since CPU delays only ever add.
   */
  async rounds (peer: PeerId, protocol: string, probes: number, signal: AbortSignal): Promise<number> {
    const start = performance.now()
    const stream = await openStreamTo(this.components.connectionManager, peer, protocol, { signal, runOnLimitedConnection: true })
    const openMs = performance.now() - start
    return Math.min(openMs, await this.pingOn(stream, peer, probes, signal))
  }

  /**
   * Up to `probes` ping rounds on an open ping stream, which is closed after;
   * after the first, only while `more()` says so. `onRound` hears when each
   * round is sent (`rtt` undefined) and its RTT.
   */
  async pingOn (stream: Stream, peer: PeerId, probes: number, signal: AbortSignal, onRound?: (startedAt: number, rtt?: number) => void, more?: () => boolean): Promise<number> {
    try {
      const bytes = byteStream(stream)
      let best = Infinity
      for (let i = 0; i < probes && (i === 0 || more?.() !== false); i++) {
        const data = randomBytes(PING_LENGTH)
        const start = performance.now()
        await bytes.write(data, { signal })
        onRound?.(start)
        const echo = await bytes.read({ bytes: PING_LENGTH, signal })
        const rtt = performance.now() - start
        if (!uint8ArrayEquals(echo.subarray(), data)) {
          throw new Error(`wrong ping echo from ${peer}`)
        }
        best = Math.min(best, rtt)
        onRound?.(start, rtt)
      }
      // close hands our end to the muxer; the measurement does not wait for it
      stream.close().catch(err => { stream.abort(err) })
      return best
    } catch (err) {
      stream.abort(asError(err))
      throw err
    }
  }

  /**
   * Open a ping stream on the connection a record fetch just opened, beside
   * the record's stream: its protocol negotiation (a round trip, timed as a
   * first sample) runs while the record is read and verified, so a
   * confirmation costs only its ping rounds once the record is in. This
   * libp2p negotiates a stream's protocol before returning it
   * (`negotiateFully: false` is not honoured), so overlapping is how to
   * spare that round trip.
   */
  open (peer: PeerId, protocol: string, signal: AbortSignal): Promise<OpenedPing> {
    const start = performance.now()
    const opened = openStreamTo(this.components.connectionManager, peer, protocol, { signal: this.signal(signal), runOnLimitedConnection: true })
      .then(stream => ({ stream, openMs: performance.now() - start }))
    // whoever uses it handles a failure; it may also be dropped unused when the search ends
    opened.catch(() => {})
    return opened
  }

  /** Close a ping stream opened for a candidate that is not measured after all. */
  release (opened?: Promise<OpenedPing>): void {
    opened?.then(({ stream }) => {
      stream.close().catch(err => { stream.abort(err) })
    }, () => {})
  }
}
