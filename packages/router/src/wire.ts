/**
 * Wire format of `/shoal/coordinate/1.0.0`: one length-prefixed
 * `CoordinateMessage` frame per message (schema and limits in
 * `@shoal/records`, see docs/spec.md), mapped to the router's own types.
 */

import {
  CoordinateMessage as CoordinateMessagePb, MAX_MESSAGE_SIZE, NetworkCoordinate, checkCoordinate, decodeMessage as decodeWire
} from '@shoal/records'
import { errorMessage } from '@shoal/utils'
import { InvalidProbeMessageError } from './errors.js'
import type { Coordinate } from './vivaldi.js'

const MAX_UINT32 = 0xFFFFFFFF

/**
 * A node's current capacity, as answered to a load query.
 */
export interface LoadReport {
  /** Slots free right now */
  freeSlots: number
  /** Jobs run at once */
  concurrency: number
  /** Jobs waiting for a slot */
  queueLength?: number
}

/**
 * Sent by the prober: its coordinate, and whether it wants the load.
 */
export interface ProbeMessage {
  kind: 'probe'
  coordinate: Coordinate
  wantLoad: boolean
}

/**
 * Sent back: the responder's coordinate and, if asked, its load.
 */
export interface ReplyMessage {
  kind: 'reply'
  coordinate: Coordinate
  load?: LoadReport
}

/**
 * Either message of the coordinate protocol.
 */
export type CoordinateMessage = ProbeMessage | ReplyMessage

/**
 * Encode a probe or reply. Throws `InvalidProbeMessageError` if the message
 * would be refused by a peer (bad coordinate, load out of range, too large).
 */
export function encodeMessage (message: CoordinateMessage): Uint8Array {
  checkOutgoing(message)
  const out = message.kind === 'probe'
    ? CoordinateMessagePb.encode({ probe: { coordinate: message.coordinate, wantLoad: message.wantLoad } })
    : CoordinateMessagePb.encode({
      reply: {
        coordinate: message.coordinate,
        load: message.load == null ? undefined : { freeSlots: message.load.freeSlots, concurrency: message.load.concurrency, queueLength: message.load.queueLength ?? 0 }
      }
    })

  if (out.byteLength > MAX_MESSAGE_SIZE.CoordinateMessage) {
    throw new InvalidProbeMessageError(`message of ${out.byteLength} bytes exceeds ${MAX_MESSAGE_SIZE.CoordinateMessage}`)
  }

  return out
}

/**
 * Decode untrusted bytes. Throws `InvalidProbeMessageError` (never anything
 * else) for anything malformed, oversized or out of range.
 */
export function decodeMessage (input: Uint8Array | { subarray(): Uint8Array }): CoordinateMessage {
  let msg: CoordinateMessagePb
  try {
    msg = decodeWire('CoordinateMessage', bytes => CoordinateMessagePb.decode(bytes, { limits: { probe: { coordinate: { vec: 16 } }, reply: { coordinate: { vec: 16 } } } }), input, MAX_MESSAGE_SIZE.CoordinateMessage)
  } catch (err: unknown) {
    throw new InvalidProbeMessageError(errorMessage(err))
  }

  if ((msg.probe == null) === (msg.reply == null)) {
    throw new InvalidProbeMessageError('a message is exactly one of probe or reply')
  }

  if (msg.probe != null) {
    return { kind: 'probe', coordinate: checkedCoordinate(msg.probe.coordinate), wantLoad: msg.probe.wantLoad }
  }

  const reply = msg.reply!
  return {
    kind: 'reply',
    coordinate: checkedCoordinate(reply.coordinate),
    load: reply.load == null ? undefined : { freeSlots: reply.load.freeSlots, concurrency: reply.load.concurrency, queueLength: reply.load.queueLength }
  }
}

function checkedCoordinate (decoded: NetworkCoordinate | undefined): Coordinate {
  if (decoded == null) {
    throw new InvalidProbeMessageError('coordinate missing')
  }
  try {
    checkCoordinate('coordinate', decoded)
  } catch (err: unknown) {
    throw new InvalidProbeMessageError(`bad coordinate: ${errorMessage(err)}`)
  }

  return { vec: [...decoded.vec], height: decoded.height, error: decoded.error }
}

function checkOutgoing (message: CoordinateMessage): void {
  try {
    checkCoordinate('coordinate', message.coordinate)
  } catch (err: unknown) {
    throw new InvalidProbeMessageError(`bad coordinate: ${errorMessage(err)}`)
  }

  if (message.kind === 'reply' && message.load != null) {
    for (const x of [message.load.freeSlots, message.load.concurrency, message.load.queueLength ?? 0]) {
      if (!Number.isInteger(x) || x < 0 || x > MAX_UINT32) {
        throw new InvalidProbeMessageError(`load value ${x} is not a uint32`)
      }
    }
  }
}
