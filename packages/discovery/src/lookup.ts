/**
 * One cell's lookup in a search: read the providers the DHT lists under
 * (capability class, cell), within the caps, queue each new one to be
 * examined, and note when a listing is complete.
 */

import { setMaxListeners } from '@libp2p/interface'
import { CustomProgressEvent } from 'progress-events'
import { COMPLETE_LISTING_QUORUM } from './constants.js'
import { examine } from './examine.js'
import { capabilityKey } from './keys.js'
import { finerResults, isNewcomer, possibleLevel } from './search-state.js'
import type { FoundUnder } from './index.js'
import type { SearchLevel } from './keys.js'
import type { SearchRun } from './search-state.js'
import type { PeerId } from '@libp2p/interface'

/** Look up one cell and examine (fetch, verify, match) the providers it lists, within the caps. */
export async function lookupCell (run: SearchRun, level: SearchLevel, index: number, cell: string): Promise<void> {
  const { capabilityClass } = run.params
  const search = run.state
  const signal = run.signal
  if (signal.aborted || search.fetches >= search.maxFetches) {
    return
  }
  // k verified results from finer levels already: as when levels ran one
  // after another, a coarser level is not searched (saves its DHT lookups);
  // newcomers past their share do not count, so a crowd of them does not stop the search
  if (finerResults(run, index) >= search.k) {
    return
  }
  // inside a cell listed completely: nothing new to find (see markComplete)
  const pending = search.pendingCells.get(cell)
  if (pending == null || pending.covered.signal.aborted) {
    return
  }
  const lookupSignal = AbortSignal.any([signal, pending.covered.signal, AbortSignal.timeout(run.ctx.lookupTimeoutMs)])
  setMaxListeners(Infinity, lookupSignal)
  const found: FoundUnder = { capabilityClass, cell, precision: level.precision, home: level.precision > 0 && run.params.query.geohash.startsWith(cell) }
  const floor = pending.floor
  const possible = possibleLevel(cell, index, search.levels)
  // precision of the listing: among candidates at the same RTT floor, fetch the better located first
  const priority = -Math.round(floor) * 100 + level.precision
  let entries = 0
  let examined = 0
  let capped = false
  /** holders whose whole answer fit under the caps */
  const holders = new Set<string>()
  let ended = false
  search.lookups++
  search.lastPrecision = search.lastPrecision < 0 ? level.precision : Math.min(search.lastPrecision, level.precision)
  run.ctx.stats.lookups++

  try {
    for await (const event of run.ctx.dht.findProviders(capabilityKey(capabilityClass, cell), { signal: lookupSignal })) {
      if (event.name === 'SEND_QUERY') {
        search.messages++
        run.ctx.stats.lookupMessages++
        continue
      }
      if (event.name === 'PEER_RESPONSE' && event.providers.length > 0) {
        // a holder's answer is all it has: if nothing of it is left
        // unexamined (its PROVIDER event follows), the cell is listed
        if (event.providers.length >= run.ctx.maxEntriesPerCell) {
          capped = true
        } else {
          holders.add(event.from.toString())
        }
        // a further holder listing nobody new gets no PROVIDER event
        if (event.providers.every(p => search.seen.has(p.id.toString()) || run.ctx.denied.has(p.id.toString()))) {
          markComplete(run, cell, holders, capped, ended)
        }
        continue
      }
      if (event.name !== 'PROVIDER') {
        markComplete(run, cell, holders, capped, ended)
        continue
      }
      // a crowded cell is sampled at random (an attacker cannot sort
      // itself first), with providers we already trust ahead of the rest:
      // established ones (standing) first, then those whose record we hold
      const batch = shuffle(run.ctx.random, event.providers.slice(0, Math.max(0, run.ctx.maxEntriesPerCell - entries)))
      if (batch.length < event.providers.length) {
        capped = true
      }
      entries += batch.length
      const trust = (id: PeerId): number => (isNewcomer(run.ctx, id) ? 0 : 2) + (run.ctx.cache.get(id) != null ? 1 : 0)
      batch.sort((a, b) => trust(b.id) - trust(a.id))

      for (const info of batch) {
        const id = info.id.toString()
        if (search.seen.has(id)) {
          // already claimed by another cell (maybe a coarser one, whose
          // lookup answered first): remember the finer place it is listed
          const listed = search.listings.get(id)
          if (listed != null && !listed.some(l => l.found.cell === cell)) {
            listed.push({ found, level: index })
            const running = search.running.get(id)
            if (running != null) {
              running.level = Math.min(running.level, possible)
              running.floor = Math.max(running.floor, floor)
            }
          }
          continue
        }
        if (run.ctx.denied.has(id)) {
          search.skipped++
          continue
        }
        if (examined >= run.ctx.maxCandidatesPerCell) {
          search.skipped++
          capped = true
          continue
        }
        search.seen.add(id)
        search.listings.set(id, [{ found, level: index }])
        search.running.set(id, { level: possible, floor, newcomer: isNewcomer(run.ctx, info.id) })
        examined++
        void search.fetchSlots.add(async () => examine(run, info, found, index), { priority, signal })
          .catch(err => { if (!signal.aborted) run.ctx.log('examining %p failed - %e', info.id, err) })
          .finally(() => {
            search.running.delete(id)
            search.wake()
          })
      }
      markComplete(run, cell, holders, capped, ended)
      if (entries >= run.ctx.maxEntriesPerCell || examined >= run.ctx.maxCandidatesPerCell) {
        break
      }
    }
    // the DHT has nothing more for this cell (and not because the caps cut it short)
    ended = entries < run.ctx.maxEntriesPerCell && examined < run.ctx.maxCandidatesPerCell
  } catch (err) {
    if (!signal.aborted && !pending.covered.signal.aborted) {
      run.ctx.log('lookup of %s/%s ended - %e', capabilityClass, cell, err)
    }
  }
  markComplete(run, cell, holders, capped, ended)
  search.onProgress?.(new CustomProgressEvent('shoal:discovery:lookup', { cell, precision: level.precision, entries, examined }))
}

/**
 * Note what a cell's listing says so far. Complete (a cell of an
 * advertised precision, a holder answered under the caps and every entry
 * is examined): a finer cell's lookup no
 * longer holds results back. Covering (complete, and either
 * `COMPLETE_LISTING_QUORUM` holders answered so or the cell's own lookup
 * has ended): the lookups of the cells inside it end, as each would run
 * to convergence, many DHT requests, to find no provider not already
 * examined. One holder alone does not end them while others may still
 * answer: a stale or lying holder's short list cannot hide the providers
 * the finer cells list (kad-dht itself stops a lookup once it has
 * `kBucketSize` providers, from however few holders).
 */
function markComplete (run: SearchRun, cell: string, holders: Set<string>, capped: boolean, ended: boolean): void {
  const search = run.state
  // only a cell of an advertised precision lists everyone inside it: a
  // located provider is not in the world's listing (unless 0 is a precision)
  if (capped || holders.size === 0 || !run.ctx.precisions.includes(cell.length)) {
    return
  }
  if (!search.complete.has(cell)) {
    search.complete.add(cell)
    search.wake()
  }
  if (ended || holders.size >= COMPLETE_LISTING_QUORUM) {
    for (const [other, pending] of search.pendingCells) {
      if (other !== cell && other.startsWith(cell)) {
        pending.covered.abort()
      }
    }
  }
}

/** A shuffled copy of `items`. */
function shuffle<T> (random: () => number, items: T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const t = out[i]
    out[i] = out[j]
    out[j] = t
  }
  return out
}
