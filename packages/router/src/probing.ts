import { repeatingTask } from '@libp2p/utils'
import type { CoordinateClient } from './coordinate-client.js'
import type { AbortOptions, Logger } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { RepeatingTask } from '@libp2p/utils'

/**
 * What a {@link BackgroundProber} needs.
 */
export interface BackgroundProberInit {
  connectionManager: ConnectionManager
  client: CoordinateClient
  log: Logger
  /** Between probes, ms; 0 disables them */
  intervalMs: number
  timeoutMs: number
}

/**
 * Keeps RTT samples and coordinates fresh without waiting for work: every
 * interval, probes one connected peer picked at random.
 */
export class BackgroundProber {
  private readonly connectionManager: ConnectionManager
  private readonly client: CoordinateClient
  private readonly log: Logger
  private readonly task?: RepeatingTask

  constructor (init: BackgroundProberInit) {
    this.connectionManager = init.connectionManager
    this.client = init.client
    this.log = init.log

    if (init.intervalMs > 0) {
      this.task = repeatingTask(async (options) => { await this.probeRandomPeer(options) }, init.intervalMs, { timeout: init.timeoutMs })
    }
  }

  start (): void {
    this.task?.start()
  }

  stop (): void {
    this.task?.stop()
  }

  /** Probe one connected peer picked at random; failures are only logged */
  async probeRandomPeer (options?: AbortOptions): Promise<void> {
    const connections = this.connectionManager.getConnections()

    if (connections.length === 0) {
      return
    }

    const connection = connections[Math.floor(Math.random() * connections.length)]

    try {
      await this.client.probe(connection.remotePeer, options)
    } catch (err) {
      this.log.trace('background probe of %p failed - %e', connection.remotePeer, err)
    }
  }
}
