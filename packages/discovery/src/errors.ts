/**
 * Named errors of @shoal/discovery. Bad records themselves raise
 * @shoal/records' RecordError subclasses (InvalidSignatureError,
 * ExpiredRecordError, InvalidFieldError, ...).
 */

/** A string that should be a geohash is not one, or a position is out of range (defined by @shoal/records' geohash helpers). */
export { InvalidGeohashError } from '@shoal/records'

/** A capability class cannot be made into a key (empty, too long, or with characters outside the key alphabet). */
export class InvalidClassError extends Error {
  static override name = 'InvalidClassError'

  constructor (message = 'Invalid capability class') {
    super(message)
    this.name = 'InvalidClassError'
  }
}

/** A search query names nothing to search for, or holds impossible values. */
export class InvalidQueryError extends Error {
  static override name = 'InvalidQueryError'

  constructor (message = 'Invalid query') {
    super(message)
    this.name = 'InvalidQueryError'
  }
}

/** The node has no kad-dht service named `dht`. */
export class MissingDhtError extends Error {
  static override name = 'MissingDhtError'

  constructor (message = 'No kad-dht service') {
    super(message)
    this.name = 'MissingDhtError'
  }
}

/** The service is not started. */
export class NotStartedError extends Error {
  static override name = 'NotStartedError'

  constructor (message = 'Discovery is not started') {
    super(message)
    this.name = 'NotStartedError'
  }
}

/** A peer that was asked for its record closed the stream without one. */
export class NoRecordError extends Error {
  static override name = 'NoRecordError'

  constructor (message = 'Peer has no capability record') {
    super(message)
    this.name = 'NoRecordError'
  }
}

/** A valid record was served by a peer other than its provider (a relayed or replayed record). */
export class WrongProviderError extends Error {
  static override name = 'WrongProviderError'

  constructor (message = 'Record served by a peer other than its provider') {
    super(message)
    this.name = 'WrongProviderError'
  }
}

/** A valid record does not offer the class, or lie in the cell, it was advertised under. */
export class AdvertisementMismatchError extends Error {
  static override name = 'AdvertisementMismatchError'

  constructor (message = 'Record does not match the key it was found under') {
    super(message)
    this.name = 'AdvertisementMismatchError'
  }
}
