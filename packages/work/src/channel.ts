/**
 * One work stream with its framing: length-prefixed WorkMessages, typed
 * errors for remote failures, and the state the requester's pool needs.
 */

import { raceSignal } from 'race-signal'
import * as varint from 'uint8-varint'
import { InvalidMessageError, WorkError, errorFromFailure, retryAfterOf } from './errors.js'
import { decodeFrame, encodeFrame } from './messages.js'
import { connectionKind } from './relayed.js'
import type { WorkFrame } from './messages.js'
import type { ConnectionKind } from './relayed.js'
import type { AbortOptions, ConnectionLimits, Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'

/** The remote closed the stream in the middle of an exchange. */
export class StreamEndedError extends InvalidMessageError {}

/**
 * Whether the peer answered the exchange that failed (a refusal, a bad
 * result): then it ended there. A broken stream or a timeout says nothing
 * of what the peer did with it.
 */
export function answered (err: unknown): boolean {
  return err instanceof WorkError && !(err instanceof StreamEndedError)
}

/** Longest varint length prefix: enough for any length up to 2^63. */
const MAX_LENGTH_LENGTH = 9

/**
 * One open work stream with its framing. Frames are cut from the stream's
 * messages as they arrive (one varint decode per frame), instead of reading
 * the length prefix a byte at a time: a job exchanges six frames, and the
 * byte-wise reader cost more than the rest of their handling here.
 */
export class Channel {
  readonly stream: Stream
  /** the limits of the connection it runs on, when a relay limits it */
  readonly limits?: ConnectionLimits
  idleSince = 0
  private readonly maxBytes: number
  /**
   * Options of a send given no signal: the write only waits (and needs the
   * timeout) when the stream pushes back, so the timer is made only then
   */
  private readonly lazyStep: AbortOptions
  /** bytes received and not yet cut into frames, in the chunks they came in */
  private readonly chunks: Uint8Array[] = []
  private buffered = 0
  /** length of the frame being received, -1 while its prefix is incomplete */
  private frameLength = -1
  /** whole frames not read yet */
  private readonly frames: Uint8Array[] = []
  private queuedBytes = 0
  private ended = false
  private failure?: Error
  private wake?: () => void

  constructor (stream: Stream, maxBytes: number, stepTimeoutMs: number, limits?: ConnectionLimits) {
    this.stream = stream
    this.limits = limits
    this.maxBytes = maxBytes
    this.lazyStep = { get signal () { return AbortSignal.timeout(stepTimeoutMs) } }
    stream.addEventListener('message', (evt: StreamMessageEvent) => {
      this.receive(evt.data)
    })
    stream.addEventListener('remoteCloseWrite', () => {
      this.end()
    })
    stream.addEventListener('close', (evt: StreamCloseEvent) => {
      this.end(evt.error)
    })
  }

  private receive (data: StreamMessageEvent['data']): void {
    if (this.failure != null || this.ended) {
      return
    }
    if (data instanceof Uint8Array) {
      this.push(data)
    } else {
      for (const chunk of data) {
        this.push(chunk)
      }
    }
    try {
      this.cut()
    } catch (err: unknown) {
      this.failure = err instanceof Error ? err : new InvalidMessageError(String(err))
      this.chunks.length = 0
      this.buffered = 0
    }
    this.wake?.()
  }

  private push (chunk: Uint8Array): void {
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk)
      this.buffered += chunk.byteLength
    }
  }

  /** The first `n` buffered bytes (a view when they are in one chunk), consumed. */
  private take (n: number): Uint8Array {
    const first = this.chunks[0]
    let out: Uint8Array
    if (first.byteLength >= n) {
      out = first.subarray(0, n)
      if (first.byteLength === n) {
        this.chunks.shift()
      } else {
        this.chunks[0] = first.subarray(n)
      }
    } else {
      out = new Uint8Array(n)
      let at = 0
      while (at < n) {
        const chunk = this.chunks[0]
        const part = Math.min(chunk.byteLength, n - at)
        out.set(chunk.subarray(0, part), at)
        at += part
        if (part === chunk.byteLength) {
          this.chunks.shift()
        } else {
          this.chunks[0] = chunk.subarray(part)
        }
      }
    }
    this.buffered -= n
    return out
  }

  /** Up to `n` of the first buffered bytes, not consumed. */
  private peek (n: number): Uint8Array {
    const first = this.chunks[0]
    if (first.byteLength >= n || this.chunks.length === 1) {
      return first.subarray(0, n)
    }
    const out = new Uint8Array(Math.min(n, this.buffered))
    let at = 0
    for (const chunk of this.chunks) {
      const part = Math.min(chunk.byteLength, out.byteLength - at)
      out.set(chunk.subarray(0, part), at)
      at += part
      if (at === out.byteLength) {
        break
      }
    }
    return out
  }

  /** Cut whole frames from the buffer; throws InvalidMessageError for a bad or oversized length. */
  private cut (): void {
    while (this.buffered > 0) {
      if (this.frameLength < 0) {
        let length: number
        try {
          length = varint.decode(this.peek(MAX_LENGTH_LENGTH))
        } catch (err) {
          if (err instanceof RangeError && this.buffered < MAX_LENGTH_LENGTH) {
            // the prefix is split across messages
            return
          }
          throw new InvalidMessageError('invalid length prefix')
        }
        if (length > this.maxBytes) {
          throw new InvalidMessageError(`message is ${length} bytes, limit is ${this.maxBytes}`)
        }
        this.take(varint.encodingLength(length))
        this.frameLength = length
      }
      if (this.buffered < this.frameLength) {
        return
      }
      // a peer that sends faster than frames are read is refused rather than buffered without bound
      if (this.queuedBytes + this.frameLength > 2 * this.maxBytes) {
        throw new InvalidMessageError('too many unread messages')
      }
      const frame = this.frameLength === 0 ? new Uint8Array(0) : this.take(this.frameLength)
      this.frameLength = -1
      this.frames.push(frame)
      this.queuedBytes += frame.byteLength
    }
  }

  private end (err?: Error): void {
    if (!this.ended) {
      this.ended = true
      if (err != null && this.failure == null) {
        this.failure = err
      }
    }
    this.wake?.()
  }

  /** Send one frame; without a signal, a blocked write gives up after the step timeout. */
  async send (frame: WorkFrame, options?: AbortOptions): Promise<void> {
    const data = encodeFrame(frame)
    const prefix = varint.encodingLength(data.byteLength)
    const bytes = new Uint8Array(prefix + data.byteLength)
    varint.encode(data.byteLength, bytes)
    bytes.set(data, prefix)
    if (!this.stream.send(bytes)) {
      await this.stream.onDrain(options?.signal != null ? options : this.lazyStep)
    }
  }

  /** The kind of connection the stream runs on. */
  get connection (): ConnectionKind {
    return connectionKind(this)
  }

  /** Whether both directions are still open, so the stream can carry another exchange. */
  usable (): boolean {
    return this.stream.status === 'open' && this.stream.writeStatus === 'writable' && this.stream.remoteWriteStatus === 'writable'
  }

  /** Whether a frame sent now can still reach the remote (it may have closed its own writing side and wait for an answer). */
  reachable (): boolean {
    return this.stream.status === 'open' && this.stream.writeStatus === 'writable' && this.stream.remoteReadStatus === 'readable'
  }

  async fail (err: WorkError, options?: AbortOptions): Promise<void> {
    await this.send({ kind: 'error', body: { code: err.code, message: err.message.slice(0, 500), retryAfterMs: retryAfterOf(err) } }, options)
  }

  /** The next frame, or undefined at a clean end of stream. */
  async next (options?: AbortOptions): Promise<WorkFrame | undefined> {
    while (true) {
      const bytes = this.frames.shift()
      if (bytes != null) {
        this.queuedBytes -= bytes.byteLength
        return decodeFrame(bytes, this.maxBytes)
      }
      if (this.failure != null) {
        throw this.failure instanceof InvalidMessageError ? this.failure : new StreamEndedError(`stream failed: ${this.failure.message}`, { cause: this.failure })
      }
      if (this.ended) {
        if (this.buffered > 0 || this.frameLength >= 0) {
          throw new StreamEndedError('stream ended in the middle of a message')
        }
        return undefined
      }
      options?.signal?.throwIfAborted()
      const woken = new Promise<void>(resolve => { this.wake = resolve })
      try {
        await raceSignal(woken, options?.signal)
      } finally {
        this.wake = undefined
      }
    }
  }

  /** The next frame, which must be one of `kinds`; a Failure becomes its typed error. */
  async expect<K extends WorkFrame['kind']> (kinds: K[], options?: AbortOptions): Promise<Extract<WorkFrame, { kind: K }>> {
    const frame = await this.next(options)
    if (frame == null) {
      throw new StreamEndedError('stream ended early')
    }
    if (frame.kind === 'error' && !kinds.includes('error' as K)) {
      throw errorFromFailure(frame.body.code, frame.body.message, frame.body.retryAfterMs)
    }
    if (!kinds.includes(frame.kind as K)) {
      throw new InvalidMessageError(`expected ${kinds.join(' or ')}, got ${frame.kind}`)
    }
    return frame as Extract<WorkFrame, { kind: K }>
  }
}
