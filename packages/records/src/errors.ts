/**
 * Every way a record can be refused. Each condition has its own class and
 * `name`, so callers (and tests) can branch on `err.name`.
 */

/** Base class of every error the records package raises for bad input. */
export class RecordError extends Error {
  static override name = 'RecordError'

  constructor (message = 'Invalid record') {
    super(message)
    this.name = 'RecordError'
  }
}

/** The bytes are longer than the record type allows; nothing was decoded. */
export class RecordTooLargeError extends RecordError {
  static override name = 'RecordTooLargeError'

  constructor (message = 'Record too large') {
    super(message)
    this.name = 'RecordTooLargeError'
  }
}

/** The bytes are not a well-formed envelope or record. */
export class MalformedRecordError extends RecordError {
  static override name = 'MalformedRecordError'

  constructor (message = 'Malformed record') {
    super(message)
    this.name = 'MalformedRecordError'
  }
}

/** The envelope carries another record type (payload type or domain differ). */
export class WrongRecordTypeError extends RecordError {
  static override name = 'WrongRecordTypeError'

  constructor (message = 'Wrong record type') {
    super(message)
    this.name = 'WrongRecordTypeError'
  }
}

/** The record's schema version is not one this implementation speaks. */
export class UnsupportedVersionError extends RecordError {
  static override name = 'UnsupportedVersionError'

  constructor (message = 'Unsupported record version') {
    super(message)
    this.name = 'UnsupportedVersionError'
  }
}

/** The signature does not verify for the envelope's key and the type's domain. */
export class InvalidSignatureError extends RecordError {
  static override name = 'InvalidSignatureError'

  constructor (message = 'Invalid signature') {
    super(message)
    this.name = 'InvalidSignatureError'
  }
}

/** The signature is valid but made by a peer other than the one the record names as its author. */
export class WrongSignerError extends RecordError {
  static override name = 'WrongSignerError'

  constructor (message = 'Record signed by the wrong peer') {
    super(message)
    this.name = 'WrongSignerError'
  }
}

/** The record's lifetime is over (beyond the clock-skew allowance). */
export class ExpiredRecordError extends RecordError {
  static override name = 'ExpiredRecordError'

  constructor (message = 'Record expired') {
    super(message)
    this.name = 'ExpiredRecordError'
  }
}

/** The record claims to have been made in the future (beyond the clock-skew allowance). */
export class NotYetValidError extends RecordError {
  static override name = 'NotYetValidError'

  constructor (message = 'Record not yet valid') {
    super(message)
    this.name = 'NotYetValidError'
  }
}

/** A field holds an impossible or out-of-range value; `field` names it. */
export class InvalidFieldError extends RecordError {
  static override name = 'InvalidFieldError'
  readonly field: string

  constructor (field: string, message: string) {
    super(`${field}: ${message}`)
    this.name = 'InvalidFieldError'
    this.field = field
  }
}

/** A countersigned record's second signature is missing, invalid or from the wrong peer. */
export class InvalidCountersignatureError extends RecordError {
  static override name = 'InvalidCountersignatureError'

  constructor (message = 'Invalid countersignature') {
    super(message)
    this.name = 'InvalidCountersignatureError'
  }
}

/**
 * A string that should be a geohash is not one, or a position is out of
 * range. Raised for bad arguments to the geohash helpers, not for bad
 * records (those raise InvalidFieldError), so it is not a RecordError.
 */
export class InvalidGeohashError extends Error {
  static override name = 'InvalidGeohashError'

  constructor (message = 'Invalid geohash') {
    super(message)
    this.name = 'InvalidGeohashError'
  }
}
