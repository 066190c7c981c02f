/** A link profile returned a value the transport cannot simulate. */
export class InvalidLinkProfileError extends Error {
  constructor (message = 'Invalid link profile') {
    super(message)
    this.name = 'InvalidLinkProfileError'
  }
}

/**
 * A connection died because a segment could not be delivered after every
 * retransmission (heavy loss, or a cut that outlasted the retransmissions),
 * as TCP reports `ETIMEDOUT`.
 */
export class LinkTimeoutError extends Error {
  constructor (message = 'Retransmissions exhausted') {
    super(message)
    this.name = 'LinkTimeoutError'
  }
}

/** The remote end reset the connection (TCP RST), or its node went away. */
export class LinkResetError extends Error {
  constructor (message = 'Connection reset by peer') {
    super(message)
    this.name = 'LinkResetError'
  }
}

/**
 * An inbound dial to a peer behind a NAT that had no mapping for the
 * dialer (a real NAT drops the SYNs; the simulation refuses at once rather
 * than keep the dialer waiting for its timeout).
 */
export class NatRefusedError extends Error {
  constructor (message = 'Inbound dial refused by NAT') {
    super(message)
    this.name = 'NatRefusedError'
  }
}
