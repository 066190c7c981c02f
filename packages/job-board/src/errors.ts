/**
 * Errors the job board raises to its callers. Bad input from the network
 * never throws: validators return a verdict with a reason instead.
 */

/** The job is not on this peer's board (never seen, expired or withdrawn). */
export class JobNotFoundError extends Error {
  static override name = 'JobNotFoundError'

  constructor (message = 'Job not found') {
    super(message)
    this.name = 'JobNotFoundError'
  }
}

/** Only the requester that announced a job may withdraw it. */
export class NotRequesterError extends Error {
  static override name = 'NotRequesterError'

  constructor (message = 'Only the requester may withdraw a job') {
    super(message)
    this.name = 'NotRequesterError'
  }
}

/** Interests name an unknown job kind or a region that is not a geohash. */
export class InvalidInterestsError extends Error {
  static override name = 'InvalidInterestsError'

  constructor (message = 'Invalid interests') {
    super(message)
    this.name = 'InvalidInterestsError'
  }
}

/** The pubsub service is missing or does not have the pubsub interface. */
export class MissingPubSubError extends Error {
  static override name = 'MissingPubSubError'

  constructor (message = 'The job board needs a pubsub service (gossipsub or floodsub) as services.pubsub') {
    super(message)
    this.name = 'MissingPubSubError'
  }
}

/** A sync peer sent records that failed validation; the exchange was stopped. */
export class InvalidSyncResponseError extends Error {
  static override name = 'InvalidSyncResponseError'

  constructor (message = 'Invalid sync response') {
    super(message)
    this.name = 'InvalidSyncResponseError'
  }
}

/** The service was used before `start()` or after `stop()`. */
export class JobBoardNotStartedError extends Error {
  static override name = 'JobBoardNotStartedError'

  constructor (message = 'The job board is not started') {
    super(message)
    this.name = 'JobBoardNotStartedError'
  }
}

/** A sync request frame is too large, does not decode, or names an unknown kind or a region that is not a geohash prefix. */
export class InvalidSyncRequestError extends Error {
  static override name = 'InvalidSyncRequestError'

  constructor (message = 'Invalid sync request') {
    super(message)
    this.name = 'InvalidSyncRequestError'
  }
}

/**
 * Another service (often a second job board) already handles this board's
 * sync protocol id; give each board its own `syncProtocol`, or `sync: false`.
 */
export class SyncProtocolInUseError extends Error {
  static override name = 'SyncProtocolInUseError'

  constructor (message = 'The sync protocol already has a handler') {
    super(message)
    this.name = 'SyncProtocolInUseError'
  }
}

/** A record given to `publish()` is not a valid JobAnnouncement signed by this node. */
export class InvalidAnnouncementError extends Error {
  static override name = 'InvalidAnnouncementError'

  constructor (message = 'Invalid announcement', options?: ErrorOptions) {
    super(message, options)
    this.name = 'InvalidAnnouncementError'
  }
}

/**
 * This node has announced as many jobs as its peers accept for now (see
 * `publishRateLimit`): sending more would only be ignored by them. Nothing
 * was published; `retryAfterMs` says when there is room again.
 */
export class PublishRateLimitedError extends Error {
  static override name = 'PublishRateLimitedError'
  /** ms until this publish would fit the pacing (Infinity: never at this rate) */
  readonly retryAfterMs: number

  constructor (message = 'Publishing paced to the rate peers accept', retryAfterMs = 0) {
    super(message)
    this.name = 'PublishRateLimitedError'
    this.retryAfterMs = retryAfterMs
  }
}
