/** Capture sources: where a capture's chunks come from. */

import { randomInt } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRng } from '@shoal/utils'
import { CHUNK_MS } from './constants.js'
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

/** An ISO BMFF 'ftyp' box (isom, minor 0x200, brands isom iso2 avc1 mp41): what an mp4 file starts with. */
const FTYP = new Uint8Array([
  0x00, 0x00, 0x00, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0x00, 0x00, 0x02, 0x00,
  0x69, 0x73, 0x6f, 0x6d, 0x69, 0x73, 0x6f, 0x32, 0x61, 0x76, 0x63, 0x31, 0x6d, 0x70, 0x34, 0x31
])

/** Chunk `index` of the footage of `seed`: its bytes depend on nothing else. */
function syntheticChunk (seed: number, index: number, length: number, header: boolean): Uint8Array {
  const rng = createRng(`${seed}:${index}`)
  const out = new Uint8Array(length)
  const view = new DataView(out.buffer)
  let i = 0
  for (; i + 4 <= length; i += 4) {
    view.setUint32(i, rng.nextUint32())
  }
  for (; i < length; i++) {
    out[i] = rng.nextUint32() & 0xff
  }
  if (header) {
    out.set(FTYP.subarray(0, Math.min(FTYP.byteLength, length)))
  }
  return out
}

/** A source of generated footage (tests, simulations, demos): never a real recording. */
export function syntheticSource (init: SyntheticSourceInit = {}): CaptureSource {
  const mediaType = init.mediaType ?? 'video/mp4'
  const sensors = init.sensors ?? ['video']
  const bytesPerSecond = init.bytesPerSecond ?? 32768
  const realTime = init.realTime ?? true
  const seed = init.seed ?? randomInt(2 ** 47)
  const mp4 = mediaType.split(';')[0].trim().toLowerCase() === 'video/mp4'
  if (!Number.isSafeInteger(bytesPerSecond) || bytesPerSecond < 1) {
    throw new RangeError(`bytesPerSecond must be a positive integer, not ${bytesPerSecond}`)
  }

  return {
    mediaType,
    sensors: [...sensors],
    async * record (durationMs: number, options: AbortOptions = {}): AsyncGenerator<Uint8Array> {
      if (!Number.isSafeInteger(durationMs) || durationMs < 1) {
        throw new RangeError(`durationMs must be a positive integer, not ${durationMs}`)
      }
      const count = Math.ceil(durationMs / CHUNK_MS)
      for (let i = 0; i < count; i++) {
        options.signal?.throwIfAborted()
        // the last chunk holds the part of a second that is left
        const ms = Math.min(CHUNK_MS, durationMs - i * CHUNK_MS)
        const length = Math.max(1, Math.round(bytesPerSecond * ms / CHUNK_MS))
        if (realTime) {
          await sleep(ms, undefined, { signal: options.signal })
        }
        yield syntheticChunk(seed, i, length, i === 0 && mp4)
      }
    }
  }
}
