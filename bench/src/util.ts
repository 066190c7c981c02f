/**
 * Helpers shared by the benchmarks: where the latency data set lives,
 * numeric options, quantiles and rounding, time dilation.
 */

import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_BANDWIDTH_BPS, DEFAULT_JITTER } from '@shoal/sim'
import type { BenchOptions } from './options.js'
import type { LatencyModel, LinkProfileOptions, SimulationInit } from '@shoal/sim'

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
