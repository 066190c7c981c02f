/**
 * Provider-side behaviours: what a dishonest provider's executor and
 * offer do. The honest work service around them signs whatever the
 * executor returns, so a wrong output gets a valid receipt.
 */

import { encodeGeohash } from '@shoal/records'
import type { Behaviour, BehaviourContext } from './registry.js'

/** How much longer a slow provider takes than its compute model. */
export const SLOW_FACTOR = 10
/** How many times its real slots a slow provider claims. */
export const SLOW_SLOTS_CLAIM = 100
/** Degrees of longitude a location liar moves its advertised site by (about 3,300 km at 60° latitude, 6,700 km at the equator). */
export const LIE_LONGITUDE_DEG = 60
/** The GPU class a capability liar claims when no job kind asks for one it lacks. */
const LIED_CLASS = 'datacenter-80g'

/** Quoted and assigned, never delivers: holds the slot until the requester gives up. */
export const silentProvider: Behaviour = {
  side: 'provider',
  install ({ conduct }) {
    conduct.runs.push((_job, plan) => ({ ...plan, silent: true }))
  }
}

/** Runs the job in the usual time and returns different output bytes, which the honest work service signs a receipt for. */
export const wrongResult: Behaviour = {
  side: 'provider',
  install ({ conduct }) {
    conduct.runs.push((_job, plan) => ({ ...plan, wrong: true }))
  }
}

/** Takes 10x its compute time and advertises 100x its real slots, so it always looks free. */
export const slowProvider: Behaviour = {
  side: 'provider',
  install ({ conduct }) {
    conduct.runs.push((_job, plan) => ({ ...plan, ms: plan.ms * SLOW_FACTOR }))
    conduct.offers.push(offer => ({ ...offer, concurrency: offer.concurrency * SLOW_SLOTS_CLAIM }))
  }
}

/**
 * Advertises a GPU class it lacks (the first class a job kind asks for
 * that its role does not have); a job that needs a class it really lacks
 * ends with exit status 1 (a failed run, not a slower one).
 */
export const capabilityLiar: Behaviour = {
  side: 'provider',
  install ({ conduct, role, market }) {
    const real = new Set(role.gpus.map(g => g.class))
    const lie = Object.values(market.jobs).map(k => k.gpuClass).find(c => c !== '' && !real.has(c)) ?? LIED_CLASS
    conduct.offers.push(offer => ({ ...offer, gpus: [...offer.gpus, { model: 'H100', class: lie, vramMib: 81920, count: 1 }] }))
    conduct.runs.push((job, plan) => job.kind != null && job.kind.gpuClass !== '' && !real.has(job.kind.gpuClass) ? { ...plan, status: 1 } : plan)
  }
}

/** Advertises the geohash of a point 60° of longitude from its site (500 to 10,000 km away below 85° latitude). */
export const locationLiar: Behaviour = {
  side: 'provider',
  install ({ conduct, peer }) {
    const { lat, lon } = peer.site
    if (!Number.isFinite(lat) || !Number.isFinite(lon)) return
    const far = ((lon + LIE_LONGITUDE_DEG + 540) % 360) - 180
    conduct.offers.push(offer => offer.geohash === '' ? offer : { ...offer, geohash: encodeGeohash(lat, far, offer.geohash.length) })
  }
}

/**
 * Meant to answer a replayed assignment with a second, different receipt.
 * The honest work service never runs a replay again: a resent assignment
 * joins the job it started or gets the receipt it saved, and a used quote
 * is refused. So this executor differs only on a job id it saw before,
 * which that service never hands it: in a run the equivocator is honest.
 */
export const equivocator: Behaviour = {
  side: 'provider',
  install (ctx: BehaviourContext) {
    ctx.conduct.runs.push((job, plan) => job.seen ? { ...plan, wrong: true } : plan)
    ctx.sim.events.record('adversary:limited', { peer: ctx.index, behaviour: 'equivocator', reason: 'the work service answers a replayed assignment without running it again: no second receipt is signed' })
  }
}

/**
 * Sybil identities: each advertises in the attacked cell (`cell` of the
 * adversary entry, else its own) and never delivers a job it is assigned.
 * The scenario gives them as peers of their own role (e.g. `sybil`, a GPU
 * role) and names that role in the entry.
 */
export const sybil: Behaviour = {
  side: 'provider',
  install ({ conduct, options }) {
    const cell = options.cell
    if (cell != null && cell !== '') {
      conduct.offers.push(offer => ({ ...offer, geohash: offer.geohash.length > cell.length ? cell + offer.geohash.slice(cell.length) : cell }))
    }
    conduct.runs.push((_job, plan) => ({ ...plan, silent: true }))
  }
}
