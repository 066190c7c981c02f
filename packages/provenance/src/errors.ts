/**
 * Errors of @shoal/provenance. Refusals of a capture are not errors: they
 * are the reasons of a `CaptureVerdict`. These name what went wrong doing
 * something (witnessing, storing, fetching).
 */

/** A witness refused to witness, or broke the protocol; `code` is the wire failure code. */
export class WitnessRefusedError extends Error {
  static override name = 'WitnessRefusedError'
  readonly code: string

  constructor (message = 'The witness refused', code = 'refused') {
    super(message)
    this.name = 'WitnessRefusedError'
    this.code = code
  }
}

/** A witness protocol message was malformed, out of order or over its limit. */
export class InvalidWitnessMessageError extends Error {
  static override name = 'InvalidWitnessMessageError'

  constructor (message = 'Invalid witness message') {
    super(message)
    this.name = 'InvalidWitnessMessageError'
  }
}

/** A CaptureProof did not decode or broke its limits. */
export class InvalidCaptureProofError extends Error {
  static override name = 'InvalidCaptureProofError'

  constructor (message = 'Invalid capture proof') {
    super(message)
    this.name = 'InvalidCaptureProofError'
  }
}

/** Footage could not be stored or fetched (a missing block, a wrong CID, a chunk over its limit). */
export class FootageError extends Error {
  static override name = 'FootageError'

  constructor (message = 'Footage unavailable') {
    super(message)
    this.name = 'FootageError'
  }
}

/** A capture could not be made: the source failed, or too few witnesses would watch. */
export class CaptureFailedError extends Error {
  static override name = 'CaptureFailedError'

  constructor (message = 'Capture failed') {
    super(message)
    this.name = 'CaptureFailedError'
  }
}
