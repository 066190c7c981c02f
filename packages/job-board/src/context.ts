/**
 * What the roles of the job board share: its components, clock, log, local
 * board, metrics and current interests, and where to announce what
 * happened. The board builds one and hands it to each role, so no role
 * calls back into the board.
 */

import type { JobStore } from './board.js'
import type { JobBoardComponents, JobBoardEvents } from './index.js'
import type { Interests } from './topics.js'
import type { CounterGroup, Logger, TypedEventEmitter } from '@libp2p/interface'

/** The state and services every role of the board works with. */
export interface BoardContext {
  readonly components: JobBoardComponents
  readonly log: Logger
  /** the board's clock, ms */
  readonly now: () => number
  readonly store: JobStore
  /** the board itself, as the target of its events */
  readonly events: TypedEventEmitter<JobBoardEvents>
  /** messages by verdict and reason */
  readonly metrics?: CounterGroup
  /** what this peer serves; replaced by `setInterests()` */
  interests: Interests
  readonly clockSkewMs: number
}

/** Emit an event; a listener that throws is logged, never thrown into the network path. */
export function dispatch<K extends keyof JobBoardEvents> (ctx: BoardContext, type: K, detail: JobBoardEvents[K] extends CustomEvent<infer D> ? D : never): void {
  try {
    ctx.events.safeDispatchEvent(type, { detail })
  } catch (err) {
    ctx.log.error('a %s listener threw - %e', type, err)
  }
}

/** Count a message by verdict and reason. */
export function count (ctx: BoardContext, result: string, reason: string): void {
  ctx.metrics?.increment({ [`${result}:${reason}`]: true })
}
