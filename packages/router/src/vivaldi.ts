import {
  VIVALDI_DIMENSIONS,
  VIVALDI_CE,
  VIVALDI_CC,
  VIVALDI_MAX_ERROR,
  VIVALDI_MIN_HEIGHT_MS,
  VIVALDI_GRAVITY_RHO_MS,
  VIVALDI_MAX_MAGNITUDE_MS,
  VIVALDI_MAX_NEIGHBOURS,
  VIVALDI_NEIGHBOUR_MAX_AGE_MS,
  VIVALDI_LATENCY_FILTER_SIZE,
  RTT_MAX_SAMPLE_MS
} from './constants.js'
import { InvalidCoordinateError } from './errors.js'
import { RttFilter, validateRtt } from './rtt.js'
import { estimateRtt } from '@shoal/records'
import type { NetworkCoordinate } from '@shoal/records'

/**
 * A Vivaldi network coordinate: a position in `vec.length`-dimensional
 * Euclidean space plus a height (the access-link latency every path to the
 * node pays), all in milliseconds, and the node's own relative error
 * estimate. The same type as `NetworkCoordinate` of `@shoal/records`, so
 * coordinates from capability records are used as they are.
 */
export type Coordinate = NetworkCoordinate

/**
 * Limits a remote coordinate must respect (see {@link validateCoordinate}).
 */
export interface CoordinateLimits {
  /** @default 8 */
  dimensions?: number
  /** @default 10000 */
  maxMagnitude?: number
  /** @default 1.5 */
  maxError?: number
}

/**
 * Options of a {@link Vivaldi} instance. Every field is optional.
 */
export interface VivaldiInit extends CoordinateLimits {
  /**
   * Error-estimate gain c_e
   *
   * @default 0.25
   */
  ce?: number

  /**
   * Timestep gain c_c
   *
   * @default 0.25
   */
  cc?: number

  /**
   * Smallest height, ms
   *
   * @default 0.01
   */
  minHeight?: number

  /**
   * Gravity constant rho in ms (Ledlie et al.); 0 disables gravity
   *
   * @default 500
   */
  gravityRho?: number

  /**
   * Use neighbour decay (Ledlie et al.): every update pulls toward all recent
   * neighbours weighted by freshness, not only the one just measured
   *
   * @default true
   */
  neighbourDecay?: boolean

  /**
   * Neighbours remembered for neighbour decay and the latency filter
   *
   * @default 32
   */
  maxNeighbours?: number

  /**
   * A neighbour's observation stops counting after this long, ms
   *
   * @default 600000
   */
  neighbourMaxAgeMs?: number

  /**
   * Samples in each neighbour's moving-median latency filter
   *
   * @default 4
   */
  latencyFilterSize?: number

  /**
   * Random numbers in [0, 1), used only to pick a direction when two nodes
   * sit on the same point. Inject a seeded one for determinism.
   *
   * @default Math.random
   */
  rng?(): number

  /**
   * Clock in ms (for neighbour ages and latency-filter expiry)
   *
   * @default Date.now
   */
  now?(): number

  /**
   * Start from this coordinate instead of the origin
   */
  coordinate?: Coordinate
}

const ZERO = 1e-6
const MIN_ERROR = 1e-3

/**
 * Throws {@link InvalidCoordinateError} unless `c` is a sane coordinate:
 * a plain object with a `vec` of exactly `dimensions` finite numbers whose
 * norm is at most `maxMagnitude`, a finite height in [0, maxMagnitude] and an
 * error in (0, maxError].
 */
export function validateCoordinate (c: unknown, limits: CoordinateLimits = {}): asserts c is Coordinate {
  const dimensions = limits.dimensions ?? VIVALDI_DIMENSIONS
  const maxMagnitude = limits.maxMagnitude ?? VIVALDI_MAX_MAGNITUDE_MS
  const maxError = limits.maxError ?? VIVALDI_MAX_ERROR

  if (c == null || typeof c !== 'object') {
    throw new InvalidCoordinateError('coordinate is not an object')
  }

  const { vec, height, error } = c as Partial<Coordinate>

  if (!Array.isArray(vec)) {
    throw new InvalidCoordinateError('coordinate vec is not an array')
  }

  if (vec.length !== dimensions) {
    throw new InvalidCoordinateError(`coordinate has ${vec.length} dimensions, expected ${dimensions}`)
  }

  let sq = 0

  for (const x of vec) {
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new InvalidCoordinateError('coordinate vec holds a non-finite number')
    }

    sq += x * x
  }

  if (!(Math.sqrt(sq) <= maxMagnitude)) {
    throw new InvalidCoordinateError(`coordinate magnitude exceeds ${maxMagnitude} ms`)
  }

  if (typeof height !== 'number' || !Number.isFinite(height) || height < 0 || height > maxMagnitude) {
    throw new InvalidCoordinateError(`coordinate height ${String(height)} is not in [0, ${maxMagnitude}]`)
  }

  if (typeof error !== 'number' || !Number.isFinite(error) || error <= 0 || error > maxError) {
    throw new InvalidCoordinateError(`coordinate error ${String(error)} is not in (0, ${maxError}]`)
  }
}

/**
 * Predicted RTT between two coordinates, ms: Euclidean distance of the
 * vectors plus both heights. Symmetric and non-negative.
 */
export function distance (a: Coordinate, b: Coordinate): number {
  if (a.vec.length !== b.vec.length) {
    throw new InvalidCoordinateError(`dimension mismatch: ${a.vec.length} vs ${b.vec.length}`)
  }

  // the formula is @shoal/records' (what a coordinate in a record means); it
  // declines only empty or non-finite input, which validated coordinates are not
  const rtt = estimateRtt(a, b)
  if (rtt == null) {
    throw new InvalidCoordinateError('coordinate is empty or not finite')
  }
  return rtt
}

/**
 * The coordinate a new node starts from: the origin, minimum height, maximum error.
 */
export function originCoordinate (dimensions: number = VIVALDI_DIMENSIONS, init: { minHeight?: number, maxError?: number } = {}): Coordinate {
  return {
    vec: new Array(dimensions).fill(0),
    height: init.minHeight ?? VIVALDI_MIN_HEIGHT_MS,
    error: init.maxError ?? VIVALDI_MAX_ERROR
  }
}

interface Neighbour {
  coordinate: Coordinate
  filter: RttFilter
  rtt: number
  at: number
}

/**
 * A node's Vivaldi state (Dabek et al., SIGCOMM 2004) with height vectors, the
 * adaptive timestep and error estimate, and the robustness fixes of Ledlie et
 * al., "Network Coordinates in the Wild" (NSDI 2007): a per-neighbour
 * moving-median latency filter, neighbour decay and gravity toward the origin.
 * Remote coordinates are validated before use.
 *
 * Pure and deterministic given `rng` and `now`: no I/O, usable standalone (the
 * simulator and benchmarks drive it directly).
 */
export class Vivaldi {
  readonly dimensions: number
  private readonly ce: number
  private readonly cc: number
  private readonly maxError: number
  private readonly maxMagnitude: number
  private readonly minHeight: number
  private readonly gravityRho: number
  private readonly neighbourDecay: boolean
  private readonly maxNeighbours: number
  private readonly neighbourMaxAgeMs: number
  private readonly latencyFilterSize: number
  private readonly rng: () => number
  private readonly now: () => number
  private readonly neighbours: Map<string, Neighbour>
  private coord: Coordinate
  private resetCount: number

  constructor (init: VivaldiInit = {}) {
    this.dimensions = Math.max(1, Math.floor(init.dimensions ?? VIVALDI_DIMENSIONS))
    this.ce = init.ce ?? VIVALDI_CE
    this.cc = init.cc ?? VIVALDI_CC
    this.maxError = init.maxError ?? VIVALDI_MAX_ERROR
    this.maxMagnitude = init.maxMagnitude ?? VIVALDI_MAX_MAGNITUDE_MS
    this.minHeight = init.minHeight ?? VIVALDI_MIN_HEIGHT_MS
    this.gravityRho = init.gravityRho ?? VIVALDI_GRAVITY_RHO_MS
    this.neighbourDecay = init.neighbourDecay ?? true
    this.maxNeighbours = Math.max(1, init.maxNeighbours ?? VIVALDI_MAX_NEIGHBOURS)
    this.neighbourMaxAgeMs = init.neighbourMaxAgeMs ?? VIVALDI_NEIGHBOUR_MAX_AGE_MS
    this.latencyFilterSize = init.latencyFilterSize ?? VIVALDI_LATENCY_FILTER_SIZE
    this.rng = init.rng ?? Math.random
    this.now = init.now ?? Date.now
    this.neighbours = new Map()
    this.resetCount = 0

    if (init.coordinate != null) {
      validateCoordinate(init.coordinate, this.limits())
      this.coord = copy(init.coordinate)
    } else {
      this.coord = this.origin()
    }
  }

  /**
   * A copy of the local coordinate.
   */
  get coordinate (): Coordinate {
    return copy(this.coord)
  }

  /**
   * How many times the coordinate was reset because it went invalid.
   */
  get resets (): number {
    return this.resetCount
  }

  /**
   * The limits remote coordinates are validated against.
   */
  limits (): Required<CoordinateLimits> {
    return { dimensions: this.dimensions, maxMagnitude: this.maxMagnitude, maxError: this.maxError }
  }

  /**
   * Throws {@link InvalidCoordinateError} unless `remote` is acceptable here.
   */
  validate (remote: unknown): asserts remote is Coordinate {
    validateCoordinate(remote, this.limits())
  }

  /**
   * Predicted RTT from this node to `remote`, ms. Validates `remote`.
   */
  estimateRtt (remote: Coordinate): number {
    this.validate(remote)
    return distance(this.coord, remote)
  }

  /**
   * Feed one RTT measurement to `peer`, whose coordinate is `remote`, and
   * return the updated local coordinate. Throws `InvalidCoordinateError` or
   * `InvalidRttSampleError` (leaving the state untouched) for bad input.
   */
  observe (peer: string, remote: Coordinate, rtt: number): Coordinate {
    this.validate(remote)
    validateRtt(rtt, RTT_MAX_SAMPLE_MS)

    const now = this.now()
    let neighbour = this.neighbours.get(peer)

    if (neighbour == null) {
      neighbour = {
        coordinate: copy(remote),
        filter: new RttFilter({ windowSize: this.latencyFilterSize, maxAgeMs: this.neighbourMaxAgeMs, now: this.now }),
        rtt,
        at: now
      }
    } else {
      this.neighbours.delete(peer)
    }

    // the median over the last few samples, not the raw one, drives the
    // update: one delayed packet must not fling the coordinate away
    neighbour.rtt = Math.max(neighbour.filter.addSample(rtt), ZERO)
    neighbour.coordinate = copy(remote)
    neighbour.at = now
    this.neighbours.set(peer, neighbour)
    this.evictNeighbours(now)

    const filtered = neighbour.rtt
    const dist = distance(this.coord, remote)
    const wrongness = Math.abs(dist - filtered) / filtered
    const totalError = Math.max(this.coord.error + remote.error, ZERO)
    const weight = this.coord.error / totalError

    this.coord.error = clamp(this.ce * weight * wrongness + this.coord.error * (1 - this.ce * weight), MIN_ERROR, this.maxError)

    const delta = this.cc * weight

    if (this.neighbourDecay && this.neighbours.size > 1) {
      this.applyDecayedForce(delta, now)
    } else {
      this.applyForce(delta * (filtered - dist), remote)
    }

    this.applyGravity()

    if (!isSane(this.coord, this.maxMagnitude)) {
      // never let arithmetic trouble escape: start over rather than spread NaN
      this.resetCount++
      this.coord = this.origin()
    }

    return copy(this.coord)
  }

  /**
   * Forget what was learned from `peer` (e.g. after it was caught lying).
   */
  forget (peer: string): void {
    this.neighbours.delete(peer)
  }

  /**
   * Return to the origin and forget every neighbour.
   */
  reset (): void {
    this.neighbours.clear()
    this.coord = this.origin()
  }

  private origin (): Coordinate {
    return originCoordinate(this.dimensions, { minHeight: this.minHeight, maxError: this.maxError })
  }

  private evictNeighbours (now: number): void {
    for (const [peer, n] of this.neighbours) {
      if (now - n.at > this.neighbourMaxAgeMs || this.neighbours.size > this.maxNeighbours) {
        this.neighbours.delete(peer)
      } else {
        // Map order is oldest update first: the rest are younger
        break
      }
    }
  }

  /**
   * Move along the height-vector unit from `other` to us by `force` ms
   * (positive pushes away, negative pulls closer).
   */
  private applyForce (force: number, other: Coordinate): void {
    const { dir, hDir } = this.direction(other)

    for (let i = 0; i < this.dimensions; i++) {
      this.coord.vec[i] += force * dir[i]
    }

    this.coord.height = Math.max(this.coord.height + force * hDir, this.minHeight)
  }

  /**
   * Neighbour decay: the step is the freshness-weighted mean of the forces
   * from every remembered neighbour, so one neighbour's view cannot dominate
   * and the coordinate does not oscillate between neighbours.
   */
  private applyDecayedForce (delta: number, now: number): void {
    const vec = new Array<number>(this.dimensions).fill(0)
    let height = 0
    let totalWeight = 0
    const weights: Array<[Neighbour, number]> = []

    for (const n of this.neighbours.values()) {
      const w = Math.max(this.neighbourMaxAgeMs - (now - n.at), 0) + ZERO
      weights.push([n, w])
      totalWeight += w
    }

    for (const [n, w] of weights) {
      const dist = distance(this.coord, n.coordinate)
      const f = (w / totalWeight) * (n.rtt - dist)
      const { dir, hDir } = this.direction(n.coordinate)

      for (let i = 0; i < this.dimensions; i++) {
        vec[i] += f * dir[i]
      }

      height += f * hDir
    }

    for (let i = 0; i < this.dimensions; i++) {
      this.coord.vec[i] += delta * vec[i]
    }

    this.coord.height = Math.max(this.coord.height + delta * height, this.minHeight)
  }

  /**
   * Unit height-vector pointing from `other` to us, split into its Euclidean
   * part and its height part. Two nodes on the same point get a random
   * direction so they can separate.
   */
  private direction (other: Coordinate): { dir: number[], hDir: number } {
    let diff = sub(this.coord.vec, other.vec)
    let mag = norm(diff)

    if (mag < ZERO) {
      diff = this.randomUnit()
      mag = 1
    }

    const total = mag + this.coord.height + other.height

    return {
      dir: diff.map(d => d / total),
      hDir: (this.coord.height + other.height) / total
    }
  }

  /**
   * Gravity (Ledlie et al.): a pull toward the origin growing with the square
   * of the distance, so the whole system cannot drift away without bound.
   */
  private applyGravity (): void {
    if (!(this.gravityRho > 0)) {
      return
    }

    const mag = norm(this.coord.vec)

    if (mag < ZERO) {
      return
    }

    const pull = Math.min((mag / this.gravityRho) ** 2, mag)

    for (let i = 0; i < this.dimensions; i++) {
      this.coord.vec[i] -= pull * this.coord.vec[i] / mag
    }
  }

  private randomUnit (): number[] {
    for (let attempt = 0; attempt < 8; attempt++) {
      const v = Array.from({ length: this.dimensions }, () => this.rng() - 0.5)
      const mag = norm(v)

      if (mag > ZERO && Number.isFinite(mag)) {
        return v.map(x => x / mag)
      }
    }

    // a broken rng (constant output) still gets us a direction
    const v = new Array<number>(this.dimensions).fill(0)
    v[0] = 1
    return v
  }
}

function sub (a: number[], b: number[]): number[] {
  return a.map((x, i) => x - b[i])
}

function norm (a: number[]): number {
  let sq = 0

  for (const x of a) {
    sq += x * x
  }

  return Math.sqrt(sq)
}

function copy (c: Coordinate): Coordinate {
  return { vec: [...c.vec], height: c.height, error: c.error }
}

function clamp (x: number, lo: number, hi: number): number {
  return Number.isFinite(x) ? Math.min(hi, Math.max(lo, x)) : hi
}

function isSane (c: Coordinate, maxMagnitude: number): boolean {
  return c.vec.every(Number.isFinite) &&
    norm(c.vec) <= maxMagnitude &&
    Number.isFinite(c.height) && c.height <= maxMagnitude &&
    Number.isFinite(c.error)
}
