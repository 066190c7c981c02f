/**
 * The duplex channels a gateway sends frames over: a worker_threads
 * `MessagePort` between shards of one process, or a TCP socket between
 * processes or machines.
 */

import { DEFAULT_MAX_FRAME_BYTES } from './constants.js'
import { InvalidGatewayFrameError } from './errors.js'
import { FrameReader, lengthPrefixed } from './frame.js'
import { asError } from '../error-text.js'
import type { Socket } from 'node:net'
import type { MessagePort } from 'node:worker_threads'

/** What a channel reports to its gateway. */
export interface ChannelHandler {
  /** one whole frame arrived (not yet decoded) */
  frame(bytes: Uint8Array): void
  /** the channel received bytes that are not frames */
  error(err: Error): void
  /** the channel is gone; nothing more arrives */
  close(): void
}

/** A duplex, ordered, reliable carrier of frames between two shards. */
export interface GatewayChannel {
  /** Sends one encoded frame; the channel may take ownership of its buffer. */
  send(frame: Uint8Array): void
  /** Starts delivering to `handler`. Called once, by the gateway. */
  attach(handler: ChannelHandler): void
  close(): void
}

/** What both channels share: the handler they deliver to, told once when the channel is gone. */
abstract class HandlerChannel {
  protected handler?: ChannelHandler
  protected closed = false

  protected onClose (): void {
    if (this.closed) {
      return
    }

    this.closed = true
    this.handler?.close()
  }
}

/**
 * A channel over a `MessagePort` (worker threads). Frames travel as
 * transferred `ArrayBuffer`s: no copy, no structured-clone walk.
 */
export class MessagePortChannel extends HandlerChannel implements GatewayChannel {
  private readonly port: MessagePort

  constructor (port: MessagePort) {
    super()
    this.port = port
  }

  send (frame: Uint8Array): void {
    if (this.closed) {
      return
    }

    // only a buffer the frame owns entirely may be transferred
    const owned = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength && frame.buffer instanceof ArrayBuffer
      ? frame
      : frame.slice()
    const buffer = owned.buffer as ArrayBuffer
    this.port.postMessage(buffer, [buffer])
  }

  attach (handler: ChannelHandler): void {
    this.handler = handler
    this.port.on('message', (msg: unknown) => {
      if (msg instanceof ArrayBuffer) {
        handler.frame(new Uint8Array(msg))
      } else {
        handler.error(new InvalidGatewayFrameError('message is not an ArrayBuffer'))
      }
    })
    this.port.on('close', () => {
      this.onClose()
    })
    this.port.start()
  }

  close (): void {
    if (!this.closed) {
      this.port.close()
      this.onClose()
    }
  }
}

/** Options of a {@link SocketChannel}. */
export interface SocketChannelInit {
  /** @default 1048576 */
  maxFrameBytes?: number
}

/**
 * A channel over a TCP socket (processes, machines): each frame is
 * prefixed with its u32 length. Nagle is disabled, since every frame is a
 * packet already delayed by the link model and must not wait for more.
 * Bad framing closes the socket: nothing after it can be trusted.
 */
export class SocketChannel extends HandlerChannel implements GatewayChannel {
  private readonly socket: Socket
  private readonly reader: FrameReader

  constructor (socket: Socket, init: SocketChannelInit = {}) {
    super()
    this.socket = socket
    this.reader = new FrameReader(init.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES)
    socket.setNoDelay(true)
  }

  send (frame: Uint8Array): void {
    if (!this.closed) {
      this.socket.write(lengthPrefixed(frame))
    }
  }

  attach (handler: ChannelHandler): void {
    this.handler = handler
    this.socket.on('data', (chunk: Uint8Array) => {
      let frames: Uint8Array[]

      try {
        frames = this.reader.push(chunk)
      } catch (err: unknown) {
        handler.error(asError(err))
        this.socket.destroy()
        return
      }

      for (const frame of frames) {
        handler.frame(frame)
      }
    })
    this.socket.on('error', (err) => {
      handler.error(err)
    })
    this.socket.on('close', () => {
      this.onClose()
    })
  }

  close (): void {
    this.socket.end()
    this.socket.destroy()
    this.onClose()
  }
}
