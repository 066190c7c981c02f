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
  const getRandomValues = <T extends ArrayBufferView | null>(array: T): T => {
    if (!isIntegerArray(array)) {
      throw new DOMException('The data argument must be an integer-type TypedArray', 'TypeMismatchError')
    }
    if (array != null) {
      if (array.byteLength > 65536) {
        throw new DOMException(`The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of bytes of entropy available via this API (65536)`, 'QuotaExceededError')
      }
      fill(rng, array)
    }
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
    // as Node: offset and size count elements of a typed array, bytes of anything else
    const view: ArrayBufferView = buf instanceof ArrayBuffer ? new Uint8Array(buf) : buf as ArrayBufferView
    const unit = (view as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1
    const total = view.byteLength / unit
    const count = size ?? total - offset
    if (!Number.isInteger(offset) || offset < 0 || offset > total) {
      throw Object.assign(new RangeError(`The value of "offset" is out of range. It must be >= 0 && <= ${total}. Received ${offset}`), { code: 'ERR_OUT_OF_RANGE' })
    }
    if (!Number.isInteger(count) || count < 0 || offset + count > total) {
      throw Object.assign(new RangeError(`The value of "size + offset" is out of range. It must be <= ${total}. Received ${offset + count}`), { code: 'ERR_OUT_OF_RANGE' })
    }
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
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max <= min) {
      throw Object.assign(new RangeError(`The value of "max" is out of range. It must be greater than the value of "min" (${min}). Received ${max}`), { code: 'ERR_OUT_OF_RANGE' })
    }
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

function isIntegerArray (array: unknown): boolean {
  return array == null || array instanceof Int8Array || array instanceof Uint8Array || array instanceof Uint8ClampedArray ||
    array instanceof Int16Array || array instanceof Uint16Array || array instanceof Int32Array || array instanceof Uint32Array ||
    array instanceof BigInt64Array || array instanceof BigUint64Array
}
