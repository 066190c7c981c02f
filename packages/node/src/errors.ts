/**
 * A configuration value is wrong. `field` names it the way the config file
 * spells it (`listen[0]`, `provider.gpus[1].vramMib`), and the message starts
 * with it: `listen[0]: not a multiaddr`.
 */
export class ConfigError extends Error {
  static override name = 'ConfigError'
  /** the bad field, as a path into the config */
  readonly field: string

  constructor (field: string, reason: string) {
    super(field === '' ? reason : `${field}: ${reason}`)
    this.name = 'ConfigError'
    this.field = field
  }
}

/** The data directory cannot be created, read or written (nothing in it was changed). */
export class DataDirError extends Error {
  static override name = 'DataDirError'
  /** the path concerned */
  readonly path: string

  constructor (path: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'DataDirError'
    this.path = path
  }
}

/** The identity key file exists but does not hold a valid private key. It is never overwritten. */
export class IdentityError extends Error {
  static override name = 'IdentityError'
  /** the key file */
  readonly path: string

  constructor (path: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'IdentityError'
    this.path = path
  }
}

/** The on-disk datastore is corrupt or unreadable. It is left exactly as found. */
export class StoreError extends Error {
  static override name = 'StoreError'
  /** the datastore directory */
  readonly path: string

  constructor (path: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'StoreError'
    this.path = path
  }
}

/** Another process holds the data directory (a node is already running on it). */
export class DataDirLockedError extends Error {
  static override name = 'DataDirLockedError'
  /** the data directory */
  readonly path: string

  constructor (path: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'DataDirLockedError'
    this.path = path
  }
}

/** A port the node must listen on is taken by another process. */
export class PortInUseError extends Error {
  static override name = 'PortInUseError'
  /** the address that could not be bound */
  readonly address: string

  constructor (address: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'PortInUseError'
    this.address = address
  }
}

/** The CLI could not reach the running node's HTTP API, or the API answered with an error. */
export class ApiError extends Error {
  static override name = 'ApiError'
  /** HTTP status, when the API answered */
  readonly status?: number

  constructor (message: string, status?: number, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ApiError'
    this.status = status
  }
}

/** A feature needs a Shoal service this node was built without (e.g. `job submit` before `@shoal/work` is wired). */
export class ServiceUnavailableError extends Error {
  static override name = 'ServiceUnavailableError'

  constructor (message: string) {
    super(message)
    this.name = 'ServiceUnavailableError'
  }
}

/** Discovery found no provider for a job, or the router refused every one it found (`reasons` says why, one per provider). */
export class NoProviderError extends Error {
  static override name = 'NoProviderError'
  /** why each provider found was refused (empty when none was found) */
  readonly reasons: string[]

  constructor (message: string, reasons: string[] = []) {
    super(message)
    this.name = 'NoProviderError'
    this.reasons = reasons
  }
}

/** The errors the CLI reports as one clear line (and a non-zero exit) instead of a stack trace. */
export const OPERATOR_ERRORS: ReadonlySet<string> = new Set([
  ConfigError.name, DataDirError.name, IdentityError.name, StoreError.name,
  DataDirLockedError.name, PortInUseError.name, ApiError.name, ServiceUnavailableError.name
])

/**
 * The errors that starting again unchanged cannot fix (the config, the
 * identity key or the datastore must be repaired first): the CLI exits with
 * `EXIT_CONFIG` (2) on them, which the systemd unit does not restart. The
 * other operator errors (a port in use, a locked data dir, an unreachable
 * API) may clear up by themselves and exit 1.
 */
export const FATAL_CONFIG_ERRORS: ReadonlySet<string> = new Set([
  ConfigError.name, DataDirError.name, IdentityError.name, StoreError.name
])
