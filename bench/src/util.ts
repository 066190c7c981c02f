/**
 * Helpers shared by the benchmarks: where the latency data set lives,
 * numeric options, quantiles and rounding.
 */

import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BenchOptions } from './options.js'

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
