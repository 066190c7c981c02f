/**
 * The frames a shard gateway exchanges: one simulated TCP packet (data, FIN,
 * RST, SYN, SYN-ACK, ACK) of one cross-shard connection, already delayed by
 * the sender's link model, or a BREAK telling the other half that the
 * network tore the connection down.
 *
 * Layout (big endian): kind u8 | flags u8 | origin shard u16 | connection
 * id u32 | payload. A SYN's payload is three length-prefixed (u16) UTF-8
 * strings: the listen address dialed, the dialer's site and the dialer's
 * address. Data frames carry the bytes; other kinds have no payload.
 */

import { FRAME_HEADER_BYTES, MAX_FRAME_STRING_BYTES } from './constants.js'
import { InvalidGatewayFrameError } from './errors.js'

/** Kinds of frame; the first six match the pipe's packet kinds. */
export enum FrameKind {
  Data = 0,
  Fin = 1,
  Rst = 2,
  Syn = 3,
  SynAck = 4,
  Ack = 5,
  /** the network broke the connection (retransmissions exhausted, node gone, channel closed) */
  Break = 6
}

/** Flag: the frame was sent by the dialer's half (else by the listener's). */
export const FLAG_FROM_DIALER = 1
/** Flag of a BREAK: the connection timed out (else it was reset). */
export const FLAG_TIMEOUT = 2
/**
 * Flag: an f64 delivery time (`performance.now()` scale of virtual time)
 * follows the header. Shards on virtual time hand a packet over when it is
 * sent and the receiver delivers it at this time.
 */
export const FLAG_TIMED = 4
const KNOWN_FLAGS = FLAG_FROM_DIALER | FLAG_TIMEOUT | FLAG_TIMED
const TIME_BYTES = 8

/** The payload of a SYN. */
export interface SynPayload {
  /** the `/memory/...` listen address dialed */
  address: string
  /** the dialer's site (link profile key) */
  site: string
  /** the dialer's address, the listener end's `remoteAddr` */
  dialerAddr: string
}

/** A decoded frame. */
export interface GatewayFrame {
  kind: FrameKind
  flags: number
  /** the shard of the dialer, which numbered the connection */
  origin: number
  /** connection id, unique within the origin shard */
  id: number
  /** data bytes (Data only) */
  data?: Uint8Array
  syn?: SynPayload
  /** virtual time: when the receiver delivers it (`performance.now()` scale); sets {@link FLAG_TIMED} */
  deliverAt?: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Encodes a frame into a fresh buffer that owns its whole `ArrayBuffer`, so
 * it can be transferred to another thread.
 */
export function encodeFrame (frame: GatewayFrame): Uint8Array {
  let payload: Uint8Array[] = []

  if (frame.kind === FrameKind.Syn) {
    const syn = frame.syn

    if (syn == null) {
      throw new InvalidGatewayFrameError('SYN without payload')
    }

    payload = [syn.address, syn.site, syn.dialerAddr].flatMap(s => {
      const bytes = encoder.encode(s)

      if (bytes.byteLength > MAX_FRAME_STRING_BYTES) {
        throw new InvalidGatewayFrameError(`string field of ${bytes.byteLength} bytes`)
      }

      const len = new Uint8Array(2)
      new DataView(len.buffer).setUint16(0, bytes.byteLength)
      return [len, bytes]
    })
  } else if (frame.kind === FrameKind.Data && frame.data != null) {
    payload = [frame.data]
  }

  const timed = frame.deliverAt !== undefined
  const head = FRAME_HEADER_BYTES + (timed ? TIME_BYTES : 0)
  const size = head + payload.reduce((n, p) => n + p.byteLength, 0)
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  view.setUint8(0, frame.kind)
  view.setUint8(1, timed ? frame.flags | FLAG_TIMED : frame.flags & ~FLAG_TIMED)
  view.setUint16(2, frame.origin)
  view.setUint32(4, frame.id)
  if (timed) {
    view.setFloat64(FRAME_HEADER_BYTES, frame.deliverAt as number)
  }
  let offset = head

  for (const p of payload) {
    out.set(p, offset)
    offset += p.byteLength
  }

  return out
}

/** Decodes one frame; throws {@link InvalidGatewayFrameError} on anything malformed. */
export function decodeFrame (bytes: Uint8Array): GatewayFrame {
  if (bytes.byteLength < FRAME_HEADER_BYTES) {
    throw new InvalidGatewayFrameError(`truncated header (${bytes.byteLength} bytes)`)
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const kind = view.getUint8(0)
  const flags = view.getUint8(1)

  if (kind > FrameKind.Break) {
    throw new InvalidGatewayFrameError(`unknown kind ${kind}`)
  }

  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw new InvalidGatewayFrameError(`unknown flags ${flags}`)
  }

  const frame: GatewayFrame = { kind, flags: flags & ~FLAG_TIMED, origin: view.getUint16(2), id: view.getUint32(4) }
  let head = FRAME_HEADER_BYTES

  if ((flags & FLAG_TIMED) !== 0) {
    if (bytes.byteLength < FRAME_HEADER_BYTES + TIME_BYTES) {
      throw new InvalidGatewayFrameError(`truncated delivery time (${bytes.byteLength} bytes)`)
    }
    const at = view.getFloat64(FRAME_HEADER_BYTES)
    if (!Number.isFinite(at)) {
      throw new InvalidGatewayFrameError(`delivery time ${at} is not finite`)
    }
    frame.deliverAt = at
    head += TIME_BYTES
  }

  const payload = bytes.subarray(head)

  if (kind === FrameKind.Data) {
    frame.data = payload
  } else if (kind === FrameKind.Syn) {
    frame.syn = decodeSyn(payload)
  } else if (payload.byteLength > 0) {
    throw new InvalidGatewayFrameError(`${FrameKind[kind]} frame with ${payload.byteLength} payload bytes`)
  }

  return frame
}

function decodeSyn (payload: Uint8Array): SynPayload {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  const fields: string[] = []
  let offset = 0

  for (let i = 0; i < 3; i++) {
    if (offset + 2 > payload.byteLength) {
      throw new InvalidGatewayFrameError(`SYN cut short in field ${i}`)
    }

    const len = view.getUint16(offset)
    offset += 2

    if (len > MAX_FRAME_STRING_BYTES || offset + len > payload.byteLength) {
      throw new InvalidGatewayFrameError(`SYN field ${i} of ${len} bytes does not fit`)
    }

    try {
      fields.push(decoder.decode(payload.subarray(offset, offset + len)))
    } catch {
      throw new InvalidGatewayFrameError(`SYN field ${i} is not UTF-8`)
    }

    offset += len
  }

  if (offset !== payload.byteLength) {
    throw new InvalidGatewayFrameError(`${payload.byteLength - offset} bytes after the SYN fields`)
  }

  if (!fields[0].startsWith('/memory/')) {
    throw new InvalidGatewayFrameError('SYN address is not a /memory address')
  }

  return { address: fields[0], site: fields[1], dialerAddr: fields[2] }
}

/**
 * Splits a byte stream (a TCP socket) into length-prefixed frames: u32 big
 * endian length, then that many bytes. A length below the header size or
 * above the limit throws {@link InvalidGatewayFrameError}: the stream has lost
 * its framing and must be closed.
 */
export class FrameReader {
  private buffer: Uint8Array = new Uint8Array(0)
  private readonly maxFrameBytes: number
  private readonly minFrameBytes: number
  private readonly invalid: (reason: string) => Error

  /**
   * `minFrameBytes` and `invalid` let other framed streams (the shard
   * control connection) reuse the reader with their own bounds and error.
   */
  constructor (maxFrameBytes: number, minFrameBytes = FRAME_HEADER_BYTES, invalid: (reason: string) => Error = (reason) => new InvalidGatewayFrameError(reason)) {
    this.maxFrameBytes = maxFrameBytes
    this.minFrameBytes = minFrameBytes
    this.invalid = invalid
  }

  /** Appends bytes and returns every frame now complete. */
  push (chunk: Uint8Array): Uint8Array[] {
    // a plain view: Buffer#slice would share memory instead of copying
    chunk = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)

    if (this.buffer.byteLength === 0) {
      this.buffer = chunk
    } else {
      const joined = new Uint8Array(this.buffer.byteLength + chunk.byteLength)
      joined.set(this.buffer)
      joined.set(chunk, this.buffer.byteLength)
      this.buffer = joined
    }

    const frames: Uint8Array[] = []
    let offset = 0

    while (this.buffer.byteLength - offset >= 4) {
      const len = new DataView(this.buffer.buffer, this.buffer.byteOffset + offset, 4).getUint32(0)

      if (len < this.minFrameBytes || len > this.maxFrameBytes) {
        this.buffer = new Uint8Array(0)
        throw this.invalid(`length prefix ${len} outside ${this.minFrameBytes}..${this.maxFrameBytes}`)
      }

      if (this.buffer.byteLength - offset - 4 < len) {
        break
      }

      // copied: the frame may outlive this buffer, which the next push replaces
      frames.push(this.buffer.slice(offset + 4, offset + 4 + len))
      offset += 4 + len
    }

    this.buffer = this.buffer.subarray(offset)
    return frames
  }
}

/** Prefixes a frame with its u32 length for a byte stream. */
export function lengthPrefixed (frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + frame.byteLength)
  new DataView(out.buffer).setUint32(0, frame.byteLength)
  out.set(frame, 4)
  return out
}
