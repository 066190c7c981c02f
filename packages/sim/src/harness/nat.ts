/**
 * Which simulated peers sit behind a NAT, of what kind, and which public
 * peers relay for them: a seeded choice made once, when the peers are placed.
 */

import type { NatType } from '../transport/index.js'
import type { Rng } from '../random.js'

/** Peers behind NATs in a simulation (see {@link SimulationInit.nat}). */
export interface SimNatOptions {
  /** share of the peers of `roles` behind a NAT, 0..1 (bootstrap peers stay public) */
  share: number
  /** roles whose peers may be behind a NAT @default every role */
  roles?: readonly string[]
  /** share of NAT'd peers whose NAT lets a hole punch through (address-restricted); the rest are symmetric @default 0.7 */
  holePunch?: number
  /** public peers, the first ones (bootstrap peers first), that run a circuit relay v2 server @default 2 */
  relays?: number
  /** how long a NAT keeps the way back open after its peer dialed out, ms @default 60000 */
  mappingMs?: number
}

/** The NAT of each peer and the relays, by peer index. */
export interface SimNatPlan {
  /** the NAT type of each peer behind one */
  nat: Map<number, NatType>
  /** indexes of the public peers that run a relay server */
  relays: number[]
}

/** Default share of NAT'd peers whose NAT a hole punch gets through. */
export const DEFAULT_HOLE_PUNCH_SHARE = 0.7
/** Default number of relay peers. */
export const DEFAULT_RELAYS = 2

/**
 * Picks `share` of the non-bootstrap peers of `roles` (seeded) to sit behind
 * a NAT, `holePunch` of those behind address-restricted NATs and the rest
 * behind symmetric ones, and the first `relays` public peers as relays.
 */
export function planNat (roles: readonly string[], bootstrap: number, options: SimNatOptions, rng: Rng): SimNatPlan {
  const candidates: number[] = []
  roles.forEach((role, i) => {
    if (i >= bootstrap && (options.roles == null || options.roles.includes(role))) candidates.push(i)
  })
  rng.shuffle(candidates)
  const natted = candidates.slice(0, Math.round(options.share * candidates.length))
  const punchable = Math.round((options.holePunch ?? DEFAULT_HOLE_PUNCH_SHARE) * natted.length)
  const nat = new Map<number, NatType>(natted.map((index, k) => [index, k < punchable ? 'address-restricted' : 'symmetric']))
  const relays = roles.map((_, i) => i).filter(i => !nat.has(i)).slice(0, options.relays ?? DEFAULT_RELAYS)
  return { nat, relays }
}

/**
 * A public IPv4 address for peer `index` (7.0.0.0/8), which it listens on
 * instead of `/memory/peer-<index>` when the simulation has NATs: DCUtR
 * only dials public IP addresses, and the relay transport builds its
 * relayed addresses from IP ones.
 */
export function simIpAddress (index: number): string {
  return `/ip4/7.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}/tcp/4001`
}
