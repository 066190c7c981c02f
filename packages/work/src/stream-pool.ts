/**
 * The requester's pool of work streams: an exchange takes an idle stream to
 * its peer or opens one, and gives it back when the exchange ended cleanly,
 * saving the next job the stream setup (yamux open and protocol negotiation).
 */

import { setMaxListeners } from '@libp2p/interface'
import { asError, existingConnection, untilAborted } from '@shoal/utils'
import { Channel, StreamEndedError } from './channel.js'
import { RelayLimitError, WorkError } from './errors.js'
import { awaitDirect, directConnection, relayBreachMessage } from './relayed.js'
import type { WorkContext } from './context.js'
import type { AbortOptions, Connection, PeerId } from '@libp2p/interface'

/** Idle work streams by peer, reused by the next exchange with that peer. */
export class StreamPool {
  private readonly ctx: WorkContext
  private readonly idle = new Map<string, Channel[]>()
  /** the wait for a direct connection, per relayed connection: hole punching is tried once on it, so the wait is shared */
  private readonly waited = new WeakMap<Connection, Promise<Connection | undefined>>()
  private sweeper?: ReturnType<typeof setInterval>

  constructor (ctx: WorkContext) {
    this.ctx = ctx
  }

  /** Start closing streams idle too long, before the provider drops them. */
  start (): void {
    this.sweeper = setInterval(() => { this.sweep() }, this.ctx.settings.idleStreamTimeoutMs)
    this.sweeper.unref?.()
  }

  stop (): void {
    clearInterval(this.sweeper)
    for (const list of this.idle.values()) {
      list.forEach(channel => { channel.stream.abort(new StreamEndedError('work service stopped')) })
    }
    this.idle.clear()
  }

  /**
   * Run `fn` on a work stream to `peer`: an idle one from the pool, else a
   * new one. A stream that finished its exchange cleanly goes back to the
   * pool. If a pooled stream turns out dead (the provider dropped it while
   * idle), `fn` runs again on a fresh stream: every step is idempotent, so
   * a resend is always safe.
   */
  async withChannel<T> (peer: PeerId, options: AbortOptions, fn: (channel: Channel) => Promise<T>): Promise<T> {
    const pooled = this.take(peer)
    if (pooled == null) {
      return this.runOn(peer, await this.open(peer, options), fn)
    }
    try {
      return await this.runOn(peer, pooled, fn)
    } catch (err: unknown) {
      if (!this.deadUnderUs(err, options)) {
        throw err
      }
      this.ctx.log('pooled stream to %p failed, retrying on a new one - %e', peer, err)
      this.ctx.emit('stream:retried', { peer, error: err })
      return this.runOn(peer, await this.open(peer, options), fn)
    }
  }

  /** Run `fn` on `channel`; keep it for later if the exchange ended cleanly, else abort it. */
  private async runOn<T> (peer: PeerId, channel: Channel, fn: (channel: Channel) => Promise<T>): Promise<T> {
    try {
      const result = await fn(channel)
      this.give(peer, channel)
      return result
    } catch (err: unknown) {
      channel.stream.abort(asError(err))
      throw err
    }
  }

  /**
   * Whether a pooled stream failed because it died under us: only then is a
   * retry worth it. A timeout or refusal would recur, and resending waits twice as long.
   */
  private deadUnderUs (err: unknown, options: AbortOptions): err is Error {
    if (options.signal?.aborted === true || !(err instanceof Error)) {
      return false
    }
    if (err.name === 'TimeoutError' || err.name === 'AbortError') {
      return false
    }
    return !(err instanceof WorkError) || err instanceof StreamEndedError
  }

  private take (peer: PeerId): Channel | undefined {
    const list = this.idle.get(peer.toString())
    const now = performance.now()
    while (list != null && list.length > 0) {
      const channel = list.pop() as Channel
      // a stream over a relay gives way to the direct connection hole punching opened since
      if (this.fresh(channel, now) && (channel.limits == null || directConnection(this.ctx.components.connectionManager, peer) == null)) {
        return channel
      }
      channel.stream.abort(new StreamEndedError('idle too long'))
    }
    return undefined
  }

  private give (peer: PeerId, channel: Channel): void {
    const key = peer.toString()
    let list = this.idle.get(key)
    if (list == null) {
      list = []
      this.idle.set(key, list)
    }
    if (!channel.usable() || list.length >= this.ctx.settings.maxIdleStreams || !this.ctx.started) {
      channel.stream.close().catch(() => {})
      return
    }
    channel.idleSince = performance.now()
    list.push(channel)
  }

  private fresh (channel: Channel, now: number): boolean {
    return channel.usable() && now - channel.idleSince < this.ctx.settings.idleStreamTimeoutMs
  }

  /** Close pooled streams idle too long. */
  private sweep (): void {
    const now = performance.now()
    for (const [key, list] of this.idle) {
      const keep = list.filter(channel => this.fresh(channel, now))
      for (const channel of list) {
        if (!keep.includes(channel)) {
          channel.stream.close().catch(() => {})
        }
      }
      if (keep.length === 0) {
        this.idle.delete(key)
      } else {
        this.idle.set(key, keep)
      }
    }
  }

  private async open (peer: PeerId, options: AbortOptions): Promise<Channel> {
    const { settings } = this.ctx
    const signal = options.signal ?? AbortSignal.timeout(settings.stepTimeoutMs)
    setMaxListeners(Infinity, signal)
    const connection = await this.connectionTo(peer, signal)
    if (connection.limits != null && !settings.runOnLimitedConnection) {
      // only a relay reaches the peer and this node runs no work over one: a decline of its own, not the peer's failure
      this.ctx.count('relay_refused')
      throw new RelayLimitError(relayBreachMessage({ limit: 'disabled', need: 0, allowed: 0 }))
    }
    const stream = await connection.newStream(settings.protocol, {
      signal,
      runOnLimitedConnection: settings.runOnLimitedConnection,
      maxOutboundStreams: settings.maxOutboundStreams,
      negotiateFully: false
    })
    return new Channel(stream, settings.maxMessageBytes, settings.stepTimeoutMs, connection.limits)
  }

  /**
   * A connection to `peer`: a direct one if there is one; when the only one
   * is relayed, the direct one DCUtR hole punching opens within the relayed
   * job policy's `upgradeWaitMs`, else the relayed one (each job then checks
   * it fits, see `relayed.ts`).
   */
  private async connectionTo (peer: PeerId, signal: AbortSignal): Promise<Connection> {
    const { settings, components } = this.ctx
    // an open relayed connection is used as it is: libp2p would dial the peer again (its addresses behind NAT may
    // take the whole dial timeout to fail) since it only reuses unlimited ones
    const connection = existingConnection(components.connectionManager.getConnections(peer), settings.runOnLimitedConnection) ??
      await components.connectionManager.openConnection(peer, { signal })
    if (connection.limits == null || settings.relayed === false) {
      return connection
    }
    // one wait per relayed connection, shared by every stream opened meanwhile (the job bursts and quorum slots to
    // one provider all wait for the same hole punch); a wait cut short by a caller's signal is not the connection's
    let wait = this.waited.get(connection)
    if (wait == null) {
      this.ctx.count('relay_upgrade_waited')
      const upgradeWaitMs = settings.relayed.upgradeWaitMs
      wait = awaitDirect(components.events, components.connectionManager, peer, upgradeWaitMs).then(direct => {
        if (direct == null) {
          this.ctx.log('no direct connection to %p after %d ms, staying on the relay', peer, upgradeWaitMs)
        } else {
          this.ctx.count('relay_upgraded')
        }
        return direct
      })
      this.waited.set(connection, wait)
    }
    const direct = await untilAborted(wait, signal)
    return direct ?? connection
  }
}
