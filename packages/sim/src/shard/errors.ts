/**
 * Bytes received on a gateway channel that are not a valid frame: cut
 * short, too large, of an unknown kind, or with a malformed payload. The
 * frame is dropped; on a TCP channel the stream is closed, since framing is
 * lost.
 */
export class InvalidGatewayFrameError extends Error {
  /** what is wrong, e.g. `truncated header`, `unknown kind 9` */
  readonly reason: string

  constructor (reason: string) {
    super(`Invalid gateway frame: ${reason}`)
    this.name = 'InvalidGatewayFrameError'
    this.reason = reason
  }
}

/** A shard worker failed, or answered a request with an error. */
export class ShardError extends Error {
  /** index of the shard */
  readonly shard: number

  constructor (shard: number, message: string) {
    super(`shard ${shard}: ${message}`)
    this.name = 'ShardError'
    this.shard = shard
  }
}

/**
 * Bytes received on a shard control connection (coordinator <-> shard over
 * TCP) that are not a valid control message: a bad length prefix, bytes
 * that do not deserialize, or a value that is not a known message. The
 * connection is dropped: framing, or the peer, cannot be trusted.
 */
export class InvalidControlFrameError extends Error {
  /** what is wrong, e.g. `not a control message` */
  readonly reason: string

  constructor (reason: string) {
    super(`Invalid control frame: ${reason}`)
    this.name = 'InvalidControlFrameError'
    this.reason = reason
  }
}
