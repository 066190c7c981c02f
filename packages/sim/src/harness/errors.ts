/** A simulation was configured with a value it cannot use. */
export class SimulationConfigError extends Error {
  /** the option that is wrong, e.g. `roles.gpu` */
  readonly field: string

  constructor (field: string, message: string) {
    super(`${field}: ${message}`)
    this.name = 'SimulationConfigError'
    this.field = field
  }
}

/** A peer index or id that names no peer of the simulation, or a peer that is not running. */
export class UnknownPeerError extends Error {
  constructor (message = 'Unknown peer') {
    super(message)
    this.name = 'UnknownPeerError'
  }
}
