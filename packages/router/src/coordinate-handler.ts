import { setMaxListeners } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { asError } from '@shoal/utils'
import { MAX_PROBE_MESSAGE_BYTES } from './constants.js'
import { InvalidProbeMessageError } from './errors.js'
import { decodeMessage, encodeMessage } from './wire.js'
import type { PeerBook } from './peer-book.js'
import type { Vivaldi } from './vivaldi.js'
import type { LoadReport } from './wire.js'
import type { Connection, Logger, Stream } from '@libp2p/interface'

/**
 * What a {@link CoordinateHandler} needs.
 */
export interface CoordinateHandlerInit {
  book: PeerBook
  log: Logger
  timeoutMs: number
  /** Our capacity; without it load queries are not answered */
  load?(): LoadReport | Promise<LoadReport>
}

/**
 * The responder's side of `/shoal/coordinate/1.0.0`: remembers the prober's
 * coordinate (for predictions only: we have no RTT sample of our own for it)
 * and replies with ours, and our load if asked and known.
 */
export class CoordinateHandler {
  private readonly book: PeerBook
  private readonly log: Logger
  private readonly timeoutMs: number
  private readonly load?: () => LoadReport | Promise<LoadReport>

  constructor (init: CoordinateHandlerInit) {
    this.book = init.book
    this.log = init.log
    this.timeoutMs = init.timeoutMs
    this.load = init.load
    this.handle = this.handle.bind(this)
  }

  /** The stream handler to register for the protocol */
  async handle (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.timeoutMs)
    setMaxListeners(Infinity, signal)
    const peer = connection.remotePeer
    const vivaldi: Vivaldi = this.book.vivaldi

    // only what the prober sent is its fault, not a failure to encode our own reply
    let received = false

    try {
      const lp = lpStream(stream, { maxDataLength: MAX_PROBE_MESSAGE_BYTES })
      const message = decodeMessage(await lp.read({ signal }))

      if (message.kind !== 'probe') {
        throw new InvalidProbeMessageError('expected a probe')
      }

      received = true

      if (message.coordinate.vec.length === vivaldi.dimensions) {
        try {
          vivaldi.validate(message.coordinate)
          this.book.remember(peer, { coordinate: message.coordinate })
        } catch {
          this.book.penalize(peer, 'invalid-coordinate')
        }
      }

      const load = message.wantLoad && this.load != null ? await this.load() : undefined
      await lp.write(encodeMessage({ kind: 'reply', coordinate: vivaldi.coordinate, load }), { signal })
      await stream.close({ signal })
    } catch (err: unknown) {
      const error = asError(err)

      if (!received && error.name === 'InvalidProbeMessageError') {
        this.book.penalize(peer, 'invalid-message')
      }

      this.log('error answering probe from %p - %e', peer, error)
      stream.abort(error)
    }
  }
}
