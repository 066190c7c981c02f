import { apportion, placePeers } from '../latency/placement.js'
import { errorMessage } from '../error-text.js'
import { SimulationConfigError } from './errors.js'
import type { PlacementOptions } from '../latency/placement.js'
import type { LatencyModel, Site } from '../latency/types.js'
import type { Rng } from '../random.js'

/**
 * The site index of each of `peers` peers: an explicit list (checked against
 * the model), else drawn with {@link placePeers}. Throws
 * {@link SimulationConfigError}.
 */
export function placeSites (placement: readonly number[] | PlacementOptions | undefined, peers: number, latency: LatencyModel, rng: Rng): number[] {
  if (isPlacementList(placement)) {
    if (placement.length !== peers) {
      throw new SimulationConfigError('placement', `lists ${placement.length} sites for ${peers} peers`)
    }

    placement.forEach((s, i) => {
      if (!Number.isSafeInteger(s) || s < 0 || s >= latency.sites.length) {
        throw new SimulationConfigError(`placement[${i}]`, `no site ${s} in a model of ${latency.sites.length} sites`)
      }
    })

    return [...placement]
  }

  try {
    return placePeers(latency, peers, rng, placement)
  } catch (err: unknown) {
    throw new SimulationConfigError('placement', errorMessage(err))
  }
}

/**
 * The role of each of `peers` peers: an explicit list, or shares by role
 * name apportioned and shuffled with `rng`; every peer is `peer` without
 * roles. Throws {@link SimulationConfigError}.
 */
export function assignRoles (roles: readonly string[] | Record<string, number> | undefined, peers: number, rng: Rng): string[] {
  if (roles == null) {
    return new Array<string>(peers).fill('peer')
  }

  if (isRoleList(roles)) {
    if (roles.length !== peers) {
      throw new SimulationConfigError('roles', `lists ${roles.length} roles for ${peers} peers`)
    }

    return [...roles]
  }

  const names = Object.keys(roles)
  const shares = names.map(name => roles[name])

  shares.forEach((s, i) => {
    if (!(s >= 0) || !Number.isFinite(s)) {
      throw new SimulationConfigError(`roles.${names[i]}`, `must be a finite share >= 0, got ${s}`)
    }
  })

  if (!(shares.reduce((a, b) => a + b, 0) > 0)) {
    throw new SimulationConfigError('roles', 'shares must have a positive sum')
  }

  const counts = apportion(peers, shares)
  const out: string[] = []
  names.forEach((name, r) => {
    for (let k = 0; k < counts[r]; k++) {
      out.push(name)
    }
  })

  return rng.shuffle(out)
}

/** A peer's default region label: the continent code of its site, else its country, else `??`. */
export function regionOf (site: Site): string {
  return site.continent ?? site.country ?? '??'
}

function isPlacementList (p: readonly number[] | PlacementOptions | undefined): p is readonly number[] {
  return Array.isArray(p)
}

function isRoleList (r: readonly string[] | Record<string, number>): r is readonly string[] {
  return Array.isArray(r)
}
