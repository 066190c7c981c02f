/**
 * One search (`Discovery#findNearby`), like kad-dht's query path: look up
 * the query's cells, finest first (lookup.ts), examine (fetch, verify,
 * match) the providers they list and measure the nearest (examine.ts), and
 * yield results in the order ranking.ts decides.
 */

import { setMaxListeners } from '@libp2p/interface'
import { PriorityQueue, Queue } from '@libp2p/utils'
import { CustomProgressEvent } from 'progress-events'
import { lookupCell } from './lookup.js'
import { cellRttFloor } from './match.js'
import { before, readyAt } from './ranking.js'
import { finestListing, isNewcomer, levelOf, newcomerMayGo } from './search-state.js'
import type { NearbyProvider } from './index.js'
import type { HeldResult, SearchContext, SearchParams, SearchRun, SearchState } from './search-state.js'

/** One run of `findNearby`. */
export class Search {
  private readonly ctx: SearchContext
  private readonly params: SearchParams
  private readonly state: SearchState
  private readonly signal: AbortSignal
  /** what the steps (lookup.ts, examine.ts) share */
  private readonly shared: SearchRun
  private readonly controller = new AbortController()
  private finished = false
  private dirty = false
  private notify?: () => void

  constructor (ctx: SearchContext, params: SearchParams) {
    this.ctx = ctx
    this.params = params
    this.signal = AbortSignal.any([this.controller.signal, params.signal])
    setMaxListeners(Infinity, this.controller.signal, this.signal)
    this.state = {
      seen: new Set([ctx.peerId.toString()]),
      fetches: 0,
      maxFetches: params.maxFetches,
      lookups: 0,
      messages: 0,
      rejected: 0,
      skipped: 0,
      lastPrecision: -1,
      fetchSlots: new PriorityQueue({ concurrency: ctx.fetchConcurrency }),
      levels: params.levels,
      pendingCells: new Map(),
      complete: new Set(),
      overheads: [],
      running: new Map(),
      listings: new Map(),
      held: [],
      arrivals: 0,
      k: params.k,
      yielded: [],
      yieldedNewcomers: [],
      confirm: params.confirm,
      estimates: [],
      lag: params.confirm != null ? ctx.loopLag.watch() : undefined,
      wake: () => {
        this.dirty = true
        const n = this.notify
        this.notify = undefined
        n?.()
      },
      onProgress: (evt) => {
        if (!this.finished) {
          params.onProgress?.(evt)
        }
      }
    }
    this.shared = { ctx, params, state: this.state, signal: this.signal }
  }

  /** Yield up to `k` results, nearest first; what still runs is aborted when done. */
  async * run (): AsyncGenerator<NearbyProvider, void, undefined> {
    const search = this.state
    const signal = this.signal
    let found = 0
    let timer: ReturnType<typeof setTimeout> | undefined
    signal.addEventListener('abort', search.wake, { once: true })

    try {
      signal.throwIfAborted()
      this.startLookups()

      while (true) {
        signal.throwIfAborted()
        this.dirty = false
        const now = performance.now()
        const { best, next } = this.nextReady(now, found)
        if (best != null) {
          yield this.take(best)
          if (++found >= search.k) {
            return
          }
          continue
        }
        if (search.pendingCells.size === 0 && search.running.size === 0 && search.held.length === 0) {
          return
        }
        if (this.dirty) {
          continue
        }
        await new Promise<void>(resolve => {
          this.notify = resolve
          if (Number.isFinite(next)) {
            timer = setTimeout(search.wake, Math.max(1, Math.ceil(next - now)))
          }
        })
        clearTimeout(timer)
      }
    } finally {
      clearTimeout(timer)
      this.end(found)
    }
  }

  /**
   * Queue every cell's lookup. FIFO: the finest level's cells and the
   * coarsest cell (the world) first, then the levels between. The coarsest
   * cell is one lookup that often lists every provider of a sparse class (a
   * holder answers with all it has), while a sparse fine cell's lookup only
   * ends when it converges: listed completely (where providers advertise
   * there too, precision 0), the world stops the fine cells from holding
   * results back. A regionless query's one level before the world is every
   * cell of the coarsest precision (keys.ts searchLevels).
   */
  private startLookups (): void {
    const { query, capabilityClass, levels } = this.params
    const search = this.state
    const signal = this.signal
    const lookups = new Queue<void, { signal: AbortSignal }>({ concurrency: this.ctx.lookupConcurrency })
    const order = levels.map((level, index) => ({ level, index }))
    if (order.length > 2) {
      order.splice(1, 0, ...order.splice(order.length - 1, 1))
    }
    for (const { level, index } of order) {
      for (const cell of level.cells) {
        search.pendingCells.set(cell, { level: index, floor: cellRttFloor(query.geohash, cell), covered: new AbortController() })
        void lookups.add(async () => lookupCell(this.shared, level, index, cell), { signal })
          .catch(err => { if (!signal.aborted) this.ctx.log('lookup of %s/%s failed - %e', capabilityClass, cell, err) })
          .finally(() => {
            search.pendingCells.delete(cell)
            search.wake()
          })
      }
    }
  }

  /** The first held result that may come out now, and when the next one may (performance.now() time). */
  private nextReady (now: number, found: number): { best?: HeldResult, next: number } {
    const { query } = this.params
    let next = Infinity
    let best: HeldResult | undefined
    // asked once per pass: whether a newcomer may take one of the k places (see newcomerMayGo)
    let newcomersMayGo: boolean | undefined
    for (const held of this.state.held) {
      if (isNewcomer(this.ctx, held.result.peerId) && !(newcomersMayGo ??= newcomerMayGo(this.shared, found))) {
        // held back until an established result or the end of the search changes that (both wake the search)
        continue
      }
      const at = readyAt(held, this.state, query, now)
      if (at > now) {
        next = Math.min(next, at)
      } else if (best == null || before(held, best, query, this.state)) {
        best = held
      }
    }
    return { best, next }
  }

  /** Take a result out of the held ones, found under the finest cell that listed it. */
  private take (held: HeldResult): NearbyProvider {
    const search = this.state
    search.held.splice(search.held.indexOf(held), 1)
    const result = { ...held.result, found: finestListing(held, search, this.params.capabilityClass) }
    search.yielded.push(levelOf(held, search))
    if (isNewcomer(this.ctx, held.result.peerId)) {
      search.yieldedNewcomers.push(levelOf(held, search))
    }
    this.ctx.announce(result)
    return result
  }

  /** Abort what still runs and report the summary. */
  private end (found: number): void {
    const search = this.state
    search.lag?.stop()
    this.signal.removeEventListener('abort', search.wake)
    this.controller.abort()
    search.fetchSlots.abort()
    search.onProgress?.(new CustomProgressEvent('shoal:discovery:done', {
      found, lookups: search.lookups, messages: search.messages, fetches: search.fetches, rejected: search.rejected, skipped: search.skipped, lastPrecision: search.lastPrecision
    }))
    this.finished = true
  }
}
