/**
 * Seeded randomness for a whole thread: with virtual time it is what makes
 * two runs of one scenario and seed the same run. `Math.random`,
 * `crypto.getRandomValues` (Web Crypto, which `@noble/*` and libp2p draw
 * from) and `node:crypto`'s `randomBytes`, `randomFillSync`, `randomFill`,
 * `randomInt` and `randomUUID` draw from one seeded generator. Keys that
 * OpenSSL makes itself (`generateKeyPair`) stay random: they change bytes,
 * never sizes or choices.
 */

import crypto from 'node:crypto'
import { syncBuiltinESMExports } from 'node:module'
import { createRng } from '@shoal/utils'
import type { Rng, Seed } from '@shoal/utils'

const realRandom = {
  mathRandom: Math.random,
  getRandomValues: globalThis.crypto.getRandomValues,
  randomBytes: crypto.randomBytes,
  randomFillSync: crypto.randomFillSync,
  randomFill: crypto.randomFill,
  randomInt: crypto.randomInt,
  randomUUID: crypto.randomUUID,
  webcryptoRandomUUID: globalThis.crypto.randomUUID
}

let seeded: Rng | undefined

function fill (rng: Rng, view: ArrayBufferView): void {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
  let i = 0
  for (; i + 4 <= bytes.length; i += 4) {
    const x = rng.nextUint32()
    bytes[i] = x & 0xff
    bytes[i + 1] = (x >>> 8) & 0xff
    bytes[i + 2] = (x >>> 16) & 0xff
    bytes[i + 3] = x >>> 24
  }
  if (i < bytes.length) {
    let x = rng.nextUint32()
    for (; i < bytes.length; i++) {
      bytes[i] = x & 0xff
      x >>>= 8
    }
  }
}

function uuid (rng: Rng): `${string}-${string}-${string}-${string}-${string}` {
  const b = new Uint8Array(16)
  fill(rng, b)
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const h = Buffer.from(b).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/**
 * Makes every source of randomness in this thread draw from a generator
 * seeded with `seed`, until {@link restoreRandomness}.
 */
export function seedRandomness (seed: Seed): void {
  const rng = createRng(seed)
  seeded = rng
  Math.random = () => rng.float()
  // each seeded function first calls the real one, for Node's own argument checks and errors, then draws its bytes
  const getRandomValues = <T extends ArrayBufferView | null>(array: T): T => {
    realRandom.getRandomValues.call(globalThis.crypto, array as ArrayBufferView)
    if (array != null) fill(rng, array)
    return array
  }
  globalThis.crypto.getRandomValues = getRandomValues
  globalThis.crypto.randomUUID = () => uuid(rng)
  const c = crypto as any
  c.randomBytes = (size: number, cb?: (err: Error | null, buf: Buffer) => void): Buffer | undefined => {
    const buf = Buffer.alloc(size)
    fill(rng, buf)
    if (cb != null) {
      process.nextTick(cb, null, buf)
      return undefined
    }
    return buf
  }
  c.randomFillSync = <T extends ArrayBufferView | ArrayBuffer>(buf: T, offset = 0, size?: number): T => {
    realRandom.randomFillSync(buf as Uint8Array, offset, size)
    // as Node: offset and size count elements of a typed array, bytes of anything else
    const view: ArrayBufferView = buf instanceof ArrayBuffer ? new Uint8Array(buf) : buf as ArrayBufferView
    const unit = (view as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1
    const count = size ?? view.byteLength / unit - offset
    fill(rng, new Uint8Array(view.buffer, view.byteOffset + offset * unit, count * unit))
    return buf
  }
  c.randomFill = (buf: ArrayBufferView | ArrayBuffer, ...rest: any[]): void => {
    const cb = rest.pop() as (err: Error | null, buf: ArrayBufferView) => void
    c.randomFillSync(buf, ...rest)
    process.nextTick(cb, null, buf)
  }
  c.randomInt = (min: number, max?: number | ((err: Error | null, n: number) => void), cb?: (err: Error | null, n: number) => void): number | undefined => {
    if (typeof max !== 'number') {
      cb = max
      max = min
      min = 0
    }
    realRandom.randomInt(min, max)
    const n = min + Math.floor(rng.float() * (max - min))
    if (cb != null) {
      process.nextTick(cb, null, n)
      return undefined
    }
    return n
  }
  c.randomUUID = () => uuid(rng)
  syncBuiltinESMExports()
}

/** Whether {@link seedRandomness} is in force. */
export function randomnessSeeded (): boolean {
  return seeded != null
}

/** Gives the thread its real randomness back. */
export function restoreRandomness (): void {
  if (seeded == null) {
    return
  }
  seeded = undefined
  Math.random = realRandom.mathRandom
  const c = crypto as any
  c.randomBytes = realRandom.randomBytes
  c.randomFillSync = realRandom.randomFillSync
  c.randomFill = realRandom.randomFill
  c.randomInt = realRandom.randomInt
  c.randomUUID = realRandom.randomUUID
  // the seeded ones were own properties of the instance; the prototype's come back
  delete (globalThis.crypto as any).getRandomValues
  delete (globalThis.crypto as any).randomUUID
  if (globalThis.crypto.getRandomValues !== realRandom.getRandomValues) globalThis.crypto.getRandomValues = realRandom.getRandomValues
  if (globalThis.crypto.randomUUID !== realRandom.webcryptoRandomUUID) globalThis.crypto.randomUUID = realRandom.webcryptoRandomUUID
  syncBuiltinESMExports()
}
