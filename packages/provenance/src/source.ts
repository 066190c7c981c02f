/** Capture sources: where a capture's chunks come from. */

import type { AbortOptions } from '@libp2p/interface'

/** A recorder: yields the footage one chunk per second, as it is recorded. */
export interface CaptureSource {
  /** media type of the chunks, e.g. video/mp4 */
  readonly mediaType: string
  /** sensors it records with, e.g. ['video', 'gps'] */
  readonly sensors: string[]
  /** record for `durationMs`, yielding one chunk per second as each is complete */
  record(durationMs: number, options: AbortOptions): AsyncIterable<Uint8Array>
}

/** Options of {@link syntheticSource}. */
export interface SyntheticSourceInit {
  /** @default 'video/mp4' */
  mediaType?: string
  /** @default ['video'] */
  sensors?: string[]
  /** @default 32768 */
  bytesPerSecond?: number
  /** wait a real second per chunk (default true); false yields at once (tests, simulation) */
  realTime?: boolean
  /** seed of the bytes (default random): two sources with one seed record the same footage */
  seed?: number
}

/** A source of generated footage (tests, simulations, demos): never a real recording. */
export function syntheticSource (init: SyntheticSourceInit = {}): CaptureSource {
  throw new Error('not implemented')
}
