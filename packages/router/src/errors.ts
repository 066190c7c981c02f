/**
 * A remote network coordinate failed validation (NaN/Infinity, absurd
 * magnitude, error estimate out of range, wrong number of dimensions).
 */
export class InvalidCoordinateError extends Error {
  static override name = 'InvalidCoordinateError'
  override name = 'InvalidCoordinateError'
}

/**
 * An RTT sample was not a finite, non-negative number within bounds.
 */
export class InvalidRttSampleError extends Error {
  static override name = 'InvalidRttSampleError'
  override name = 'InvalidRttSampleError'
}

/**
 * A message received on the coordinate protocol could not be decoded.
 */
export class InvalidProbeMessageError extends Error {
  static override name = 'InvalidProbeMessageError'
  override name = 'InvalidProbeMessageError'
}

/**
 * Every candidate was tried (or the list was empty) and none succeeded.
 */
export class AllCandidatesFailedError extends Error {
  static override name = 'AllCandidatesFailedError'
  override name = 'AllCandidatesFailedError'

  /** The failure of each attempt, in the order they were made */
  readonly errors: Error[]

  constructor (message: string, errors: Error[] = []) {
    super(message)
    this.errors = errors
  }
}

/**
 * The job's deadline passed before any candidate succeeded.
 */
export class DeadlineExceededError extends Error {
  static override name = 'DeadlineExceededError'
  override name = 'DeadlineExceededError'

  /** The failure of each attempt made before the deadline */
  readonly errors: Error[]

  constructor (message: string, errors: Error[] = []) {
    super(message)
    this.errors = errors
  }
}

/**
 * A hedged attempt was cancelled because another candidate finished first.
 */
export class HedgeLostError extends Error {
  static override name = 'HedgeLostError'
  override name = 'HedgeLostError'
}
