import type { ComponentLogger, Logger } from '@libp2p/interface'

const noop = (): void => {}

const silent: Logger = Object.assign(noop, {
  enabled: false,
  trace: noop,
  error: noop,
  newScope: (): Logger => silent
})

/**
 * A component logger that logs nothing and allocates nothing per node.
 * The stock logger creates a `debug` instance per component of every node
 * (tens per node); with hundreds of nodes that is measurable memory and
 * start-up time, for logs nobody reads.
 */
export const silentLogger: ComponentLogger = {
  forComponent: () => silent
}

/**
 * `undefined` (libp2p's stock logger) when `DEBUG` asks for logs, else
 * {@link silentLogger}.
 */
export function simLogger (): ComponentLogger | undefined {
  const debug = process.env.DEBUG

  return debug != null && debug !== '' ? undefined : silentLogger
}
