/**
 * One work stream with its framing: length-prefixed WorkMessages, typed
 * errors for remote failures, and the state the requester's pool needs.
 */

import { lpStream } from '@libp2p/utils'
import { InvalidMessageError, errorFromFailure } from './errors.js'
import { decodeFrame, encodeFrame } from './messages.js'
import type { WorkError } from './errors.js'
import type { WorkFrame } from './messages.js'
import type { AbortOptions, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

/** The remote closed the stream in the middle of an exchange. */
export class StreamEndedError extends InvalidMessageError {}

function isEof (err: any): boolean {
  return err?.name === 'UnexpectedEOFError'
}

/** One open work stream with its framing. */
export class Channel {
  readonly lp: LengthPrefixedStream<Stream>
  readonly stream: Stream
  idleSince = 0
  private readonly maxBytes: number

  constructor (stream: Stream, maxBytes: number) {
    this.stream = stream
    this.maxBytes = maxBytes
    this.lp = lpStream(stream, { maxDataLength: maxBytes })
  }

  async send (frame: WorkFrame, options?: AbortOptions): Promise<void> {
    await this.lp.write(encodeFrame(frame), options)
  }

  /** Whether both directions are still open, so the stream can carry another exchange. */
  usable (): boolean {
    return this.stream.status === 'open' && this.stream.writeStatus === 'writable' && this.stream.remoteWriteStatus === 'writable'
  }

  async fail (err: WorkError, options?: AbortOptions): Promise<void> {
    await this.send({ kind: 'error', body: { code: err.code, message: err.message.slice(0, 500) } }, options)
  }

  /** The next frame, or undefined at a clean end of stream. */
  async next (options?: AbortOptions): Promise<WorkFrame | undefined> {
    let bytes
    try {
      bytes = await this.lp.read(options)
    } catch (err) {
      if (isEof(err)) {
        return undefined
      }
      throw err
    }
    return decodeFrame(bytes.subarray(), this.maxBytes)
  }

  /** The next frame, which must be one of `kinds`; a Failure becomes its typed error. */
  async expect<K extends WorkFrame['kind']> (kinds: K[], options?: AbortOptions): Promise<Extract<WorkFrame, { kind: K }>> {
    const frame = await this.next(options)
    if (frame == null) {
      throw new StreamEndedError('stream ended early')
    }
    if (frame.kind === 'error' && !kinds.includes('error' as K)) {
      throw errorFromFailure(frame.body.code, frame.body.message)
    }
    if (!kinds.includes(frame.kind as K)) {
      throw new InvalidMessageError(`expected ${kinds.join(' or ')}, got ${frame.kind}`)
    }
    return frame as Extract<WorkFrame, { kind: K }>
  }
}
