/**
 * Seeded pseudo-random numbers for the simulator.
 *
 * Every random choice in a simulation (placement, workload, churn, jitter)
 * draws from an {@link Rng} derived from the scenario seed, so the same seed
 * gives the same run. `Math.random()` is never used.
 *
 * The generator is xoshiro128** (Blackman and Vigna): 128 bits of state, fast
 * in 32-bit JavaScript integer arithmetic, period 2^128 - 1. Seeds are
 * expanded with splitmix32 so that nearby seeds (1, 2, 3) give unrelated
 * streams.
 */

/** A seed: any integer, or a string (hashed), e.g. a scenario name. */
export type Seed = number | string

/** 32-bit FNV-1a; only used to turn string seeds and fork labels into numbers. */
function fnv1a (text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

function seedToUint32 (seed: Seed): number {
  if (typeof seed === 'string') {
    return fnv1a(seed)
  }
  if (!Number.isFinite(seed)) {
    throw new RangeError(`Seed must be a finite number or a string, got ${seed}`)
  }
  // keep the high bits of large seeds instead of letting `>>> 0` drop them
  const lo = seed >>> 0
  const hi = Math.floor(Math.abs(seed) / 0x100000000) >>> 0
  return (lo ^ Math.imul(hi, 0x9e3779b9) ^ (seed < 0 ? 0x5bd1e995 : 0)) >>> 0
}

/** splitmix32 step: returns [output, nextState]. */
function splitmix32 (state: number): [number, number] {
  state = (state + 0x9e3779b9) >>> 0
  let z = state
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return [(z ^ (z >>> 16)) >>> 0, state]
}

/**
 * Four xoshiro128** state words from splitmix32 steps starting at `state`,
 * each step's input salted with `salt` (a fork label; 0 for a plain seed).
 */
function expandState (state: number, salt = 0): [number, number, number, number] {
  const out: number[] = []
  for (let i = 0; i < 4; i++) {
    const [v, next] = splitmix32(state ^ Math.imul(salt, i + 1))
    out.push(v)
    state = next
  }
  // the all-zero state is a fixed point of xoshiro
  return [(out[0] | out[1] | out[2] | out[3]) === 0 ? 1 : out[0], out[1], out[2], out[3]]
}

/**
 * A deterministic random number generator (xoshiro128**).
 *
 * @example
 * ```ts
 * const rng = createRng(42)
 * rng.float()            // in [0, 1)
 * rng.int(6)             // 0..5
 * rng.pick(['a', 'b'])
 * const workload = rng.fork('workload') // independent stream
 * ```
 */
export class Rng {
  private s0 = 0
  private s1 = 0
  private s2 = 0
  private s3 = 0
  /** Second normal deviate from the last Box–Muller draw. */
  private spareNormal: number | undefined

  /** Seed the generator; equal seeds give equal streams. */
  constructor (seed: Seed = 0) {
    this.setState(expandState(seedToUint32(seed)))
  }

  /**
   * A generator with an explicit xoshiro128** state (four 32-bit words, not
   * all zero), e.g. to check the reference vectors or resume a stream.
   */
  static fromState (state: readonly [number, number, number, number]): Rng {
    if (state.length !== 4 || state.every(w => (w >>> 0) === 0)) {
      throw new RangeError('xoshiro128** needs four state words, not all zero')
    }
    const r = new Rng(0)
    r.setState(state.map(w => w >>> 0))
    return r
  }

  private setState (words: readonly number[]): void {
    this.s0 = words[0]
    this.s1 = words[1]
    this.s2 = words[2]
    this.s3 = words[3]
  }

  /** The next raw 32-bit unsigned integer. */
  nextUint32 (): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0
    const t = this.s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }

  /** A float uniformly distributed in [0, 1), with 53 random bits. */
  float (): number {
    const hi = this.nextUint32() >>> 5 // 27 bits
    const lo = this.nextUint32() >>> 6 // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992
  }

  /** A float uniformly distributed in [min, max). */
  uniform (min: number, max: number): number {
    return min + (max - min) * this.float()
  }

  /** An integer uniformly distributed in [0, n); `n` must be a positive safe integer. */
  int (n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new RangeError(`int(n) needs a positive integer, got ${n}`)
    }
    if (n <= 0x100000000) {
      // rejection sampling removes the modulo bias
      const limit = 0x100000000 - (0x100000000 % n)
      let x = this.nextUint32()
      while (x >= limit) {
        x = this.nextUint32()
      }
      return x % n
    }
    return Math.floor(this.float() * n)
  }

  /** An integer uniformly distributed in [min, max] (both inclusive). */
  intBetween (min: number, max: number): number {
    if (max < min) {
      throw new RangeError(`intBetween needs min <= max, got ${min} > ${max}`)
    }
    return min + this.int(max - min + 1)
  }

  /** True with probability `p`. */
  bool (p = 0.5): boolean {
    return this.float() < p
  }

  /** One element chosen uniformly; throws on an empty array. */
  pick<T> (items: readonly T[]): T {
    if (items.length === 0) {
      throw new RangeError('Cannot pick from an empty array')
    }
    return items[this.int(items.length)]
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T> (items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const tmp = items[i]
      items[i] = items[j]
      items[j] = tmp
    }
    return items
  }

  /** `k` distinct elements in random order (a partial shuffle of a copy). */
  sample<T> (items: readonly T[], k: number): T[] {
    if (!Number.isSafeInteger(k) || k < 0 || k > items.length) {
      throw new RangeError(`sample needs 0 <= k <= ${items.length}, got ${k}`)
    }
    const copy = items.slice()
    for (let i = 0; i < k; i++) {
      const j = i + this.int(copy.length - i)
      const tmp = copy[i]
      copy[i] = copy[j]
      copy[j] = tmp
    }
    return copy.slice(0, k)
  }

  /** A normal deviate (Box–Muller) with the given mean and standard deviation. */
  normal (mean = 0, sd = 1): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal
      this.spareNormal = undefined
      return mean + sd * z
    }
    let u = 0
    while (u === 0) {
      u = this.float()
    }
    const v = this.float()
    const r = Math.sqrt(-2 * Math.log(u))
    this.spareNormal = r * Math.sin(2 * Math.PI * v)
    return mean + sd * r * Math.cos(2 * Math.PI * v)
  }

  /** An exponential deviate with the given rate (events per unit time), e.g. inter-arrival gaps. */
  exponential (rate: number): number {
    if (!(rate > 0) || !Number.isFinite(rate)) {
      throw new RangeError(`exponential needs a positive finite rate, got ${rate}`)
    }
    let u = 0
    while (u === 0) {
      u = this.float()
    }
    return -Math.log(u) / rate
  }

  /**
   * An index chosen with probability proportional to `weights[i]`.
   * Weights must be finite and >= 0 with a positive sum.
   */
  weightedIndex (weights: ArrayLike<number>): number {
    let total = 0
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]
      if (!(w >= 0) || !Number.isFinite(w)) {
        throw new RangeError(`Weight ${i} must be finite and >= 0, got ${w}`)
      }
      total += w
    }
    if (!(total > 0)) {
      throw new RangeError('Weights must have a positive sum')
    }
    let x = this.float() * total
    let last = -1
    for (let i = 0; i < weights.length; i++) {
      if (weights[i] > 0) {
        last = i
        x -= weights[i]
        if (x < 0) {
          return i
        }
      }
    }
    // floating-point rounding can leave x a hair above zero
    return last
  }

  /** An element chosen with probability proportional to its weight. */
  weightedPick<T> (items: readonly T[], weights: ArrayLike<number>): T {
    if (items.length !== weights.length) {
      throw new RangeError(`weightedPick needs as many weights (${weights.length}) as items (${items.length})`)
    }
    return items[this.weightedIndex(weights)]
  }

  /**
   * An independent generator derived from this one's seed path and `label`.
   * Forking does not advance this generator, so adding a new consumer
   * (say, churn) does not change what existing consumers (placement) draw.
   */
  fork (label: Seed): Rng {
    const child = new Rng(0)
    const l = seedToUint32(label)
    const st = (this.s0 ^ Math.imul(this.s1, 0x9e3779b9) ^ rotl(this.s2, 13) ^ rotl(this.s3, 23) ^ l) >>> 0
    child.setState(expandState(st, l))
    return child
  }
}

function rotl (x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

/** Creates a seeded {@link Rng}; the same seed always yields the same sequence. */
export function createRng (seed: Seed = 0): Rng {
  return new Rng(seed)
}
