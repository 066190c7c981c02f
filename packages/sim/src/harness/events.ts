import { TypedEventEmitter } from '@libp2p/interface'

/** A scalar value of an event field: what fits a CSV cell. */
export type SimEventValue = string | number | boolean | null

/**
 * One measured event of a run. `t` is ms since the simulation started;
 * `peer` is the index of the peer it happened at (when one did).
 */
export interface SimEvent {
  t: number
  type: string
  peer?: number
  [field: string]: SimEventValue | undefined
}

/** Events emitted by an {@link EventLog}. */
export interface EventLogEvents {
  event: CustomEvent<SimEvent>
}

/**
 * The metrics of a run: an append-only log of timestamped events that the
 * harness, the scenario runner and any hook write to, and the outputs read.
 *
 * @example
 * ```ts
 * sim.events.record('job:arrival', { peer: 3, job: 'j-1' })
 * sim.events.ofType('ping').map(e => e.rtt_ms)
 * ```
 */
export class EventLog extends TypedEventEmitter<EventLogEvents> {
  readonly events: SimEvent[] = []
  private readonly origin: number
  private readonly clock: () => number

  constructor (clock: () => number = () => performance.now()) {
    super()
    this.clock = clock
    this.origin = clock()
  }

  /** ms since the log was created. */
  now (): number {
    return this.clock() - this.origin
  }

  /** Appends an event stamped with the current time and returns it. */
  record (type: string, fields: Omit<SimEvent, 't' | 'type'> = {}): SimEvent {
    const event: SimEvent = { t: Math.round(this.now() * 1000) / 1000, type, ...fields }
    this.events.push(event)

    if (this.listenerCount('event') > 0) {
      this.safeDispatchEvent('event', { detail: event })
    }

    return event
  }

  /**
   * Adds an event stamped elsewhere (another shard's, re-based on this
   * log's start), keeping the log in time order.
   */
  insert (event: SimEvent): void {
    let i = this.events.length

    while (i > 0 && this.events[i - 1].t > event.t) {
      i--
    }

    this.events.splice(i, 0, event)

    if (this.listenerCount('event') > 0) {
      this.safeDispatchEvent('event', { detail: event })
    }
  }

  /** Every event of a type, in order. */
  ofType (type: string): SimEvent[] {
    return this.events.filter(e => e.type === type)
  }

  /** How many events of each type were recorded. */
  counts (): Record<string, number> {
    const out: Record<string, number> = {}

    for (const e of this.events) {
      out[e.type] = (out[e.type] ?? 0) + 1
    }

    return out
  }
}
