/**
 * Helpers shared by the benchmarks: where the latency data set lives,
 * numeric options, quantiles and rounding, time dilation, converged
 * Vivaldi coordinates.
 */

import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Vivaldi } from '@shoal/router'
import { DEFAULT_BANDWIDTH_BPS, DEFAULT_JITTER, SIMULATION_STALL_MS, restoreRandomness, seedRandomness, wallNow, withVirtualTime } from '@shoal/sim'
import { progress } from './options.js'
import type { BenchOptions, BenchResult } from './options.js'
import type { Coordinate } from '@shoal/router'
import type { LatencyModel, LinkProfileOptions, Rng, SimulationInit } from '@shoal/sim'

/** The latency data set benchmarks use unless `--latency PATH` names another. */
export const DATA_SET = 'wondernetwork-2020-07'

/** The folder holding lerna.json, walking up from this file. */
export function repoRoot (): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url))

  for (;;) {
    if (existsSync(join(dir, 'lerna.json'))) {
      return dir
    }

    const parent = dirname(dir)

    if (parent === dir) {
      return undefined
    }

    dir = parent
  }
}

/** `--latency PATH`, or the shared WonderNetwork folder beside the repository (which may be absent). */
export function latencyPath (options: BenchOptions): string | undefined {
  if (options.latency != null) {
    return resolve(options.latency)
  }
  const root = repoRoot()
  return root == null ? undefined : join(root, '..', 'shared', 'data', 'latency', DATA_SET)
}

/**
 * The latency data set's path, or, when it is absent, what the benchmark
 * returns instead: `skipped` with the reason and `figures` as null.
 */
export function requireDataSet (options: BenchOptions, figures: string[]): { path: string } | { skipped: BenchResult } {
  const path = latencyPath(options)
  if (path == null || !existsSync(path)) {
    return { skipped: skipped(`latency data set not found at ${options.latency ?? `../shared/data/latency/${DATA_SET}`}; pass --latency PATH`, figures) }
  }
  return { path }
}

/** A skipped run's result (`figures` as null), reported on stderr. */
export function skipped (reason: string, figures: string[]): BenchResult {
  progress(`skipped: ${reason}`)
  return { skipped: reason, ...Object.fromEntries(figures.map(f => [f, null])) }
}

/** How a result names its latency source: the default data set by name, another by path. */
export function latencySource (path: string): string {
  return path.endsWith(DATA_SET) ? DATA_SET : path
}


/** The q-quantile of `values` (linear interpolation), NaN when empty. */
export function quantile (values: number[], q: number): number {
  if (values.length === 0) {
    return NaN
  }

  const sorted = [...values].sort((a, b) => a - b)
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
}

/** The nearest-rank quantile (no interpolation, unlike `quantile` here), as the simulator reports its own. */
export { quantile as nearestRank } from '@shoal/sim'

/** The arithmetic mean, NaN when empty. */
export function mean (values: number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length
}

/** Round for JSON output; null for non-finite values. */
export function round (value: number, digits = 4): number | null {
  if (!Number.isFinite(value)) {
    return null
  }

  const f = Math.pow(10, digits)
  return Math.round(value * f) / f
}

/** A positive integer `--key N` option, or the fallback. */
export function intOption (options: BenchOptions, key: string, fallback: number): number {
  const raw = options.extra[key]
  const value = raw == null ? fallback : Number.parseInt(raw, 10)
  return Number.isSafeInteger(value) && value > 0 ? value : fallback
}

/** A comma-separated `--key 1,2,3` list of integers that `accept` keeps, or the fallback when none is left. */
export function intListOption (options: BenchOptions, key: string, fallback: number[], accept: (n: number) => boolean): number[] {
  const raw = options.extra[key]
  if (raw == null) {
    return fallback
  }
  const out = raw.split(',').map(s => Number.parseInt(s, 10)).filter(n => Number.isSafeInteger(n) && accept(n))
  return out.length > 0 ? out : fallback
}

/** A non-negative `--key X` option (fractions allowed), or the fallback. */
export function numOption (options: BenchOptions, key: string, fallback: number): number {
  const value = Number(options.extra[key])
  return options.extra[key] != null && Number.isFinite(value) && value >= 0 ? value : fallback
}

/**
 * The model with every RTT and jitter `k` times longer (time dilation).
 * Sites, hence placement and nearby wiring, are unchanged.
 *
 * Why: the simulator runs every peer on one shared CPU with wall-clock
 * timers, so the CPU a real peer would spend in parallel queues up and is
 * counted as network delay. Stretching every delay of the network by K
 * makes each hop's CPU K times smaller against it; times measured in wall
 * clock are divided by K when reported.
 */
export function dilated (model: LatencyModel, k: number): LatencyModel {
  if (k === 1) {
    return model
  }
  const jitter = model.jitter
  return {
    sites: model.sites,
    rtt: (a, b) => k * model.rtt(a, b),
    jitter: jitter == null
      ? undefined
      : (a, b) => {
          const j = jitter.call(model, a, b)
          return j == null ? undefined : k * j
        }
  }
}

/** The sim's TCP retransmission timeout floor (Linux's `TCP_RTO_MIN`), ms. */
const MIN_RTO_MS = 200

/**
 * `createSimulation` options that go with {@link dilated}: the jitter floor
 * and the TCP model's RTO floor x `k`, bandwidth / `k`. `links` adds to the
 * link options (e.g. `loss`).
 */
export function dilatedNetwork (k: number, links: LinkProfileOptions = {}): Pick<SimulationInit, 'links' | 'network'> {
  return {
    links: {
      jitter: { floorMs: DEFAULT_JITTER.floorMs * k, fraction: DEFAULT_JITTER.fraction },
      bandwidthBps: DEFAULT_BANDWIDTH_BPS / k,
      ...links
    },
    network: { tcp: { minRtoMs: MIN_RTO_MS * k } }
  }
}

/**
 * Vivaldi coordinates of `count` peers as the router converges to them:
 * `rounds` rounds in which every peer samples two neighbours from its 4
 * nearest and 28 random peers, each sample the true `rtt` with `noise`
 * (relative, normal). Draws from `rng` in a fixed order, so a seed gives
 * the same coordinates.
 */
export function convergeVivaldi (count: number, rtt: (a: number, b: number) => number, rng: Rng, rounds: number, noise = 0.02): Coordinate[] {
  let t = 0
  const viv = Array.from({ length: count }, () => new Vivaldi({ rng: () => rng.float(), now: () => t }))
  const neighbours = Array.from({ length: count }, (_, i) => {
    const others = Array.from({ length: count }, (_, j) => j).filter(j => j !== i)
    const near = [...others].sort((a, b) => rtt(i, a) - rtt(i, b)).slice(0, 4)
    return [...new Set([...near, ...rng.sample(others, Math.min(28, others.length))])]
  })
  for (let r = 0; r < rounds; r++) {
    t += 1000
    for (let i = 0; i < count; i++) {
      for (let s = 0; s < 2; s++) {
        const j = rng.pick(neighbours[i])
        viv[i].observe(String(j), viv[j].coordinate, Math.max(0.1, rtt(i, j) * (1 + rng.normal(0, noise))))
      }
    }
  }
  return viv.map(v => v.coordinate)
}

/** The clock a simulation benchmark runs on: `--time virtual` (the default) or `--time wall`. */
export type BenchClock = 'virtual' | 'wall'

/** The `--time` option: `virtual` unless `wall` is asked for. */
export function clockOption (options: BenchOptions): BenchClock {
  const value = options.extra.time ?? 'virtual'
  if (value !== 'virtual' && value !== 'wall') {
    throw new Error(`--time must be virtual or wall, got ${value}`)
  }
  return value
}

/** What {@link onSimClock} reports beside the benchmark's own figures. */
export interface ClockFigures {
  /** the clock the simulated part ran on */
  time: BenchClock
  /** real seconds the simulated part took */
  wall_s: number | null
  /** simulated seconds it covered (equal to wall_s on the wall clock) */
  simulated_s: number | null
  /** simulated seconds per real second: above 1 is faster than real time */
  simulated_s_per_wall_s: number | null
}

/**
 * Runs `fn` (a benchmark's simulated part) on virtual time, with the
 * process's randomness seeded from `seed`, or on the wall clock when
 * `clock` is `wall`. Times `fn` measures with `performance.now()` and the
 * timers it sets are then simulated: the CPU of one shared machine no longer
 * shows as network delay, and no time dilation is needed.
 */
export async function onSimClock<T> (clock: BenchClock, seed: number, fn: () => Promise<T>): Promise<{ value: T, figures: ClockFigures }> {
  const wall0 = wallNow()
  const done = (value: T, simulatedS: number): { value: T, figures: ClockFigures } => {
    const figures = { time: clock, ...speedOf(simulatedS, (wallNow() - wall0) / 1000) }
    progress(`done: ${figures.simulated_s ?? '?'} s simulated in ${figures.wall_s ?? '?'} s of wall clock (${clock} time)`)
    return { value, figures }
  }

  if (clock === 'wall') {
    const value = await fn()
    return done(value, (wallNow() - wall0) / 1000)
  }

  seedRandomness(seed)
  try {
    // a stuck run fails (VirtualTimeStallError) instead of hanging, or its process exiting without a word
    return await withVirtualTime({ stallMs: SIMULATION_STALL_MS }, async (vc) => done(await fn(), vc.now() / 1000))
  } finally {
    restoreRandomness()
  }
}

/** Simulated seconds, wall seconds and their ratio (simulated s per wall s: above 1 is faster than real time). */
export function speedOf (simulatedS: number, wallS: number): { simulated_s: number | null, wall_s: number | null, simulated_s_per_wall_s: number | null } {
  return { simulated_s: round(simulatedS, 1), wall_s: round(wallS, 1), simulated_s_per_wall_s: round(simulatedS / Math.max(wallS, 1e-3), 2) }
}

