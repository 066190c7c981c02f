/**
 * The coordinator's end of one shard: requests over its control link,
 * matched to their answers by id, and what the coordinator knows of the
 * shard (alive, its clock offset, its progress).
 */

import { ShardError } from './errors.js'
import { absoluteNow } from './protocol.js'
import type { ControlLink } from './control.js'
import type { RoundDriver } from './rounds.js'
import type { FromShard, ShardMethods, ShardResult, ToShard } from './protocol.js'
import type { SimProgress } from '../harness/simulation.js'

// round trips the clock offset is estimated from (the quickest one counts)
const CLOCK_SAMPLES = 5

/** The control link as the coordinator holds it. */
export type CoordinatorLink = ControlLink<FromShard, ToShard>

interface Pending {
  resolve(value: unknown): void
  reject(err: Error): void
}

/** One shard as the coordinator sees it. */
export class ShardHandle {
  readonly link: CoordinatorLink
  alive = true
  /** what the shard reported done, per phase */
  progress: Partial<Record<SimProgress['phase'], number>> = {}
  settleTotal?: number
  /** this shard's clock minus the coordinator's, ms */
  clockOffset = 0
  /** the host other shards reach this one's gateway on, when it reports none */
  host = '127.0.0.1'
  /** virtual time: calls go into the driver's next round instead of straight to the shard */
  driver?: RoundDriver
  private readonly pending = new Map<number, Pending>()
  private nextId = 0

  constructor (readonly index: number, link: CoordinatorLink) {
    this.link = link
  }

  /** Calls `method` in the shard; rejects with {@link ShardError} once the shard is gone. */
  async call<M extends keyof ShardMethods> (method: M, ...args: Parameters<ShardMethods[M]>): Promise<ShardResult<M>> {
    if (!this.alive) {
      throw new ShardError(this.index, `is gone, cannot ${method}`)
    }

    const id = this.nextId++
    return new Promise<ShardResult<M>>((resolve, reject) => {
      // the answer crossed a structured clone: it is what the shard's handler returned
      this.pending.set(id, { resolve: value => { resolve(value as ShardResult<M>) }, reject })
      if (this.driver != null) {
        this.driver.queue(this, { id, method, args })
      } else {
        this.link.send({ op: 'call', id, method, args } as unknown as ToShard)
      }
    })
  }

  /** Settles the call a `result` or `error` message answers; false for any other message. */
  answer (msg: FromShard): boolean {
    if (msg.op !== 'result' && msg.op !== 'error') {
      return false
    }

    const pending = this.pending.get(msg.id)
    this.pending.delete(msg.id)

    if (msg.op === 'result') {
      pending?.resolve(msg.value)
    } else {
      const err = new Error(msg.message)
      err.name = msg.name
      pending?.reject(err)
    }

    return true
  }

  /** Marks the shard gone and rejects every call still waiting with `err`. */
  fail (err: Error): void {
    this.alive = false

    for (const p of this.pending.values()) {
      p.reject(err)
    }

    this.pending.clear()
  }

  /**
   * Estimates the shard's clock offset from the quickest of a few round
   * trips (as NTP does), so that events of shards on other machines land
   * on the coordinator's one timeline.
   */
  async syncClock (): Promise<void> {
    let best = Infinity

    for (let i = 0; i < CLOCK_SAMPLES && this.alive; i++) {
      const t0 = absoluteNow()
      let remote: number

      try {
        remote = await this.call('clock')
      } catch {
        return
      }

      const t1 = absoluteNow()

      if (t1 - t0 < best) {
        best = t1 - t0
        this.clockOffset = remote - (t0 + t1) / 2
      }
    }
  }
}
