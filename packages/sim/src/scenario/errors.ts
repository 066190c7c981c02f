/**
 * A scenario is malformed. `field` is the path of the offending value
 * (`churn[1].fraction`), `line` its line in the file when known.
 */
export class ScenarioError extends Error {
  readonly field: string
  readonly line?: number
  readonly source?: string

  constructor (field: string, message: string, line?: number, source?: string) {
    super(`${source ?? 'scenario'}${line != null ? `:${line}` : ''}: ${field === '' ? '' : `${field}: `}${message}`)
    this.name = 'ScenarioError'
    this.field = field
    this.line = line
    this.source = source
  }
}
