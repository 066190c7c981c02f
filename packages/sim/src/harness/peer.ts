import type { SimServices } from './stack.js'
import type { NatType } from '../transport/index.js'
import type { Site } from '../latency/types.js'
import type { Rng } from '../random.js'
import type { Libp2p, PeerId } from '@libp2p/interface'

/** What is known about a peer before its node exists (passed to the `services` factory). */
export interface PeerSpec {
  /** index of the peer in the simulation, 0..peers-1 */
  index: number
  /** the role it plays, e.g. `gpu`, `requester` */
  role: string
  /** index of its site in the latency model */
  siteIndex: number
  site: Site
  /** its region label: as given, else the continent code of its site, else its country, else `??` */
  region: string
  /** whether other peers dial it first */
  bootstrap: boolean
  /** the NAT it sits behind, when the simulation has NATs and it is behind one */
  nat?: NatType
  /** whether it runs a circuit relay server for NAT'd peers */
  relay?: boolean
  /** a seeded generator of its own, for deterministic services */
  rng: Rng
}

/** Lifecycle of a simulated peer. */
export type PeerState = 'running' | 'stopped' | 'crashed' | 'failed'

/** A peer of a running simulation. */
export interface SimPeer<S extends Record<string, unknown> = Record<string, unknown>> extends PeerSpec {
  /** its libp2p node (undefined only when it failed to start) */
  node?: Libp2p<SimServices & S>
  peerId?: PeerId
  /** its listen address on the sim network */
  address: string
  state: PeerState
  /** why it crashed or failed to start */
  error?: string
}

/** A peer given by index, as a peer object or by libp2p peer id. */
export type PeerRef = number | PeerSpec | PeerId
