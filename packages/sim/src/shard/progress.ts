/**
 * One progress figure for the whole run from what each shard reports of
 * its own part.
 */

import type { ShardHandle } from './shard-handle.js'
import type { SimProgress } from '../harness/simulation.js'

/**
 * Records `p` (reported by `from`) and returns the run's progress in that
 * phase: starts and dials summed over shards (out of `total`), settling as
 * far as the slowest live shard got.
 */
export function mergeProgress (handles: readonly ShardHandle[], from: ShardHandle, p: SimProgress, total: number): SimProgress {
  from.progress[p.phase] = p.done

  if (p.phase === 'settle') {
    // shards settle side by side: the run waits for the slowest
    from.settleTotal = p.total
    const live = handles.filter(h => h.alive)
    const settleTotal = Math.max(...live.map(h => h.settleTotal ?? p.total))
    const allDone = p.done >= p.total && live.every(h => (h.progress.settle ?? 0) >= (h.settleTotal ?? Infinity))
    const done = allDone ? settleTotal : Math.min(settleTotal - 1, Math.min(...live.map(h => h.progress.settle ?? 0)))
    return { phase: 'settle', done, total: settleTotal }
  }

  const done = handles.reduce((n, h) => n + (h.progress[p.phase] ?? 0), 0)
  return { phase: p.phase, done: Math.min(done, total), total }
}
