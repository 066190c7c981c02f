/**
 * Errors of the receipt store. Bad receipts are refused with the
 * `RecordError` subclasses of `@shoal/records`; these name what goes wrong
 * in the store itself.
 */

/** The stored data is inconsistent (a tampered or damaged datastore); `key` names where, when known. */
export class CorruptStoreError extends Error {
  static override name = 'CorruptStoreError'
  readonly key?: string

  constructor (message = 'Receipt store is corrupt', key?: string) {
    super(message)
    this.name = 'CorruptStoreError'
    this.key = key
  }
}

/** The store was used before `start()` or after `stop()`. */
export class StoreNotOpenError extends Error {
  static override name = 'StoreNotOpenError'

  constructor (message = 'Receipt store is not open') {
    super(message)
    this.name = 'StoreNotOpenError'
  }
}

/** No receipt (or epoch) with that id is in the store. */
export class ReceiptNotFoundError extends Error {
  static override name = 'ReceiptNotFoundError'

  constructor (message = 'Receipt not found') {
    super(message)
    this.name = 'ReceiptNotFoundError'
  }
}

/** An argument is out of range (epoch size, epoch number, proof shape, id length). */
export class InvalidParametersError extends Error {
  static override name = 'InvalidParametersError'

  constructor (message = 'Invalid parameters') {
    super(message)
    this.name = 'InvalidParametersError'
  }
}

/** Evidence offered as an equivocation does not prove one. */
export class InvalidEquivocationError extends Error {
  static override name = 'InvalidEquivocationError'

  constructor (message = 'Not an equivocation') {
    super(message)
    this.name = 'InvalidEquivocationError'
  }
}

/** Evidence that does not prove what it claims; the message names the rule it breaks. */
export class InvalidEvidenceError extends Error {
  static override name = 'InvalidEvidenceError'

  constructor (message = 'Invalid evidence') {
    super(message)
    this.name = 'InvalidEvidenceError'
  }
}
