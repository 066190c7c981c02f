import type { LatencyFormat, LatencyUnit } from '../latency/types.js'
import type { ScenarioMarket } from '../market/types.js'

/**
 * A simulation scenario as data (a JSON file). Times are seconds from the
 * end of the wiring; every random choice follows `seed`.
 */
export interface Scenario {
  /** a short name, used in file names and plots */
  name: string
  description?: string
  /** same seed, same placement, keys, wiring, workload and churn @default 1 */
  seed?: number
  /**
   * Worker threads `shoal-sim run` spreads the peers over unless `--shards`
   * says otherwise; `auto` = one per available core @default 1
   */
  shards?: number | 'auto'
  /** how long the scenario runs after the network is wired, in seconds */
  durationS: number
  /** the latency model @default { model: 'geographic' } */
  latency?: ScenarioLatency
  /** link behaviour beyond the RTT */
  links?: ScenarioLinks
  /** peers and their roles per region (continent code, continent or country name) */
  regions: Record<string, RegionSpec>
  /** how peers are wired at the start */
  connect?: ScenarioConnect
  workload?: ScenarioWorkload
  churn?: ChurnEvent[]
  partitions?: PartitionEvent[]
  adversaries?: AdversarySpec[]
  /**
   * The job market: every peer runs the Shoal services of its role and the
   * workload's jobs are real Shoal jobs. Without it peers run libp2p only
   * and job arrivals are only recorded (or handed to a workload hook).
   */
  market?: ScenarioMarket | false
  /** peers behind home NATs, and the relays they are reached through @default none */
  nat?: ScenarioNat
  /**
   * The clock the run is measured on. `virtual`: simulated time, which stands
   * still while any peer computes and jumps to the next event when none
   * does (same seed, same events, on any machine); `wall`: the real clock,
   * where the machine's CPU shows as network delay. @default 'virtual'
   */
  time?: 'virtual' | 'wall'
  /** The CPU model of a virtual-time run: computation costs simulated time @default free */
  cpu?: ScenarioCpu
}

/**
 * How a peer's computation costs it simulated time (virtual time only): the
 * real ms its callbacks take, times a factor, charged to that peer alone, so
 * a slow provider is slow without slowing the others.
 */
export interface ScenarioCpu {
  /** simulated ms per real ms of computation, for every peer @default 0 */
  factor?: number
  /** per role, overriding `factor` (e.g. `{ "gpu-slow": 20 }`) */
  roles?: Record<string, number>
}

/**
 * Peers behind NATs: they cannot accept inbound dials (see the sim
 * transport's NAT), reserve slots on circuit relays and are reached through
 * them, DCUtR upgrading to a direct connection where the NAT allows.
 */
export interface ScenarioNat {
  /** share of the peers of `roles` behind a NAT (a seeded choice; bootstrap peers stay public), 0..1 */
  share: number
  /** roles whose peers may be behind a NAT @default every role */
  roles?: string[]
  /** share of NAT'd peers whose NAT lets a hole punch through (address-restricted); the rest are symmetric, 0..1 @default 0.7 */
  holePunch?: number
  /** public peers (the first ones, bootstrap peers first) that run a circuit relay v2 server @default 2 */
  relays?: number
  /** seconds a NAT keeps the way back open after its peer dialed out @default 60 */
  mappingS?: number
}

/** Which latency model gives the RTTs. */
export type ScenarioLatency =
  | {
    model: 'geographic'
    /** world cities at least this big @default 100000 */
    minPopulation?: number
    /** access delay per end (residential last mile), ms @default 0 */
    lastMileMs?: number
    /** a measured data set (path relative to the scenario file) to use as backbone */
    backbone?: string
  }
  | {
    model: 'measured'
    /** a WonderNetwork-style folder, TSV matrix, bare matrix or CSV edge list (relative to the scenario file) */
    path: string
    /** unit of a single file's RTTs @default detected for a bare matrix, else 'ms' */
    unit?: LatencyUnit
    /** the single file's format @default detected */
    format?: Exclude<LatencyFormat, 'wondernetwork'>
  }

/** Link behaviour; what is not given follows the latency model's defaults. */
export interface ScenarioLinks {
  /**
   * loss per TCP segment: one figure for every link, `distance` for the
   * default curve over distance, or a curve of `[km, loss]` points
   * (ascending km, interpolated, flat beyond the ends) @default 'distance'
   */
  loss?: number | 'distance' | Array<[number, number]>
  /** bandwidth per connection direction, Mbit/s @default 100 */
  bandwidthMbps?: number
}

/** The peers of one region. */
export interface RegionSpec {
  peers: number
  /** peers per role; counts must add up to `peers` @default every peer is `peer` */
  roles?: Record<string, number>
}

/** Wiring of the network at the start. */
export interface ScenarioConnect {
  bootstrap?: number
  degree?: number
  /** share of dials to the nearest peers, 0..1 */
  nearby?: number
}

/** What the peers do. */
export interface ScenarioWorkload {
  /** job arrivals, a Poisson process */
  jobs?: {
    /** mean arrivals per second over the whole network */
    ratePerS: number
    /** roles that submit jobs @default every role */
    from?: string[]
    /** job kinds, drawn uniformly @default ['job'] */
    kinds?: string[]
  }
  /** RTT measurements with libp2p ping between random pairs */
  pings?: {
    /** interval between rounds, s */
    everyS: number
    /** pairs per round */
    pairs: number
  }
}

/** Peers leaving (or coming back) at a time. */
export interface ChurnEvent {
  atS: number
  /** `crash` aborts connections, `leave` stops gracefully, `join` restarts departed peers */
  action: 'crash' | 'leave' | 'join'
  /** share of the matching peers, 0..1 (give this or `count`) */
  fraction?: number
  /** number of matching peers (give this or `fraction`) */
  count?: number
  role?: string
  region?: string
  /** crashed/left peers come back after this many seconds */
  rejoinAfterS?: number
}

/** Links cut between two groups of regions. */
export interface PartitionEvent {
  atS: number
  /** when the cut heals @default never (end of run) */
  healAtS?: number
  a: string[]
  b: string[]
}

/** Peers that misbehave; behaviours are supplied by hooks as they land. */
export interface AdversarySpec {
  /** the behaviour's name, passed to the adversary hook */
  behaviour: string
  fraction?: number
  count?: number
  role?: string
  region?: string
  /** when they turn @default 0 */
  fromS?: number
  /** the geohash cell a `sybil` attack advertises in @default each sybil's own cell */
  cell?: string
}
