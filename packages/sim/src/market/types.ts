/**
 * The `market` section of a scenario: which roles run which Shoal
 * services, what providers offer and how long their work takes, what the
 * workload's jobs ask for, and the central-cloud baseline. Plain JSON: the
 * same section drives a run in one process and in shards.
 */

/** What a role does in the market. */
export type MarketService = 'gpu' | 'capture' | 'witness' | 'requester' | 'bootstrap'

/** A GPU a provider role offers. */
export interface MarketGpu {
  model: string
  vramMib: number
  /** matching class; derived from model and memory when absent (`consumer-24g`, `datacenter-80g`) */
  class?: string
  /** @default 1 */
  count?: number
}

/**
 * How long one job of a kind takes on a provider: `fixedMs + perUnitMs x
 * units`, times a jitter factor drawn per job (log-normal, `jitter` is its
 * standard deviation in log space: 0.1 is about +-10 %).
 */
export interface ComputeModel {
  fixedMs: number
  /** @default 0 */
  perUnitMs?: number
  /** @default 0 */
  jitter?: number
}

/** One role of the market. Every peer of the role runs `shoalServices()` for it. */
export interface MarketRole {
  /**
   * Which Shoal role it plays: `gpu` and `capture` providers advertise
   * and bid; `requester`, `witness` and `bootstrap` peers run every Shoal
   * service without an offer (`requester` submits the workload's jobs).
   * @default the role's own name when it is one of these, else `requester`
   */
  service?: MarketService
  /** GPUs of each provider @default one RTX 4090 (consumer-24g) for `gpu` */
  gpus?: MarketGpu[]
  /** capture sensors @default ['video'] for `capture` */
  sensors?: string[]
  /** jobs a provider runs at once @default 1 */
  slots?: number
  /** price per unit (gpu-second, or second of footage) @default 1 */
  pricePerUnit?: number
  /** @default 'USDC' */
  currency?: string
  /**
   * Compute time by job kind (the scenario's kind names); `*` applies to
   * kinds not listed @default { '*': { fixedMs: 500, perUnitMs: 100, jitter: 0.1 } }
   */
  compute?: Record<string, ComputeModel>
  /** geohash characters a provider reveals of its location @default 5 */
  revealPrecision?: number
}

/** What one kind of job (a kind name of `workload.jobs.kinds`) asks for. */
export interface MarketJobKind {
  /**
   * `inference` and `batch` need a GPU, `capture` a sensor
   * @default `capture` for a kind named so, `batch` for `render`/`batch`, else `inference`
   */
  type?: 'inference' | 'batch' | 'capture'
  /** units of work (gpu-seconds, seconds of footage) @default 1 */
  units?: number
  /** GPU class required (e.g. `consumer-24g`); discovery searches by class @default the first class a GPU role offers */
  gpuClass?: string
  /** least GPU memory, MiB @default 0 */
  minVramMib?: number
  /** sensors required @default ['video'] for capture */
  sensors?: string[]
  /** seconds from arrival until the job must be done @default 30 */
  deadlineS?: number
  /** highest acceptable RTT to the provider, ms @default none */
  maxRttMs?: number
  /** highest acceptable price per unit @default 10 */
  maxPricePerUnit?: number
  /**
   * `any`: any provider; `local`: only providers in the requester's
   * geohash cell of `regionPrecision` characters; a geohash: only
   * providers in that cell (`w` for South-East Asia, `u` for most of
   * Europe), wherever the requester is @default 'any'
   */
  region?: string
  /** @default 2 (a cell of about 1,250 x 625 km) */
  regionPrecision?: number
  /** input size, bytes @default 1024 */
  inputBytes?: number
}

/** The central-cloud baseline: the same jobs, sent to the nearest of a few cloud regions. */
export interface MarketCloud {
  /**
   * Cloud regions as city names (matched to the latency model's nearest
   * site) @default about 20 hyperscaler regions (see `CLOUD_REGIONS`)
   */
  cities?: string[]
  /** compute time of a job in the cloud, as a factor of the providers' model @default 1 */
  computeFactor?: number
}

/** The market of a scenario. */
export interface ScenarioMarket {
  /** what each role of `regions[*].roles` does; roles not named here follow their name (see {@link MarketRole.service}) */
  roles?: Record<string, MarketRole>
  /** what each job kind asks for; kinds not named here get the defaults of {@link MarketJobKind} */
  jobs?: Record<string, MarketJobKind>
  /** the cloud baseline; `false` to leave it out */
  cloud?: MarketCloud | false
  /**
   * How a requester picks among the candidates (quotes and providers
   * discovery found): `router` (Shoal's ranking), `random` (a random order
   * of what the router accepts: the baseline the ranking is measured
   * against) or `alternate` (the router on even jobs, random on odd ones:
   * both on the same network in one run) @default 'router'
   */
  choice?: 'router' | 'random' | 'alternate'
  /** providers to find and rank per job @default 5 */
  k?: number
  /** protocol round trips of one job, for the oracle and the cloud baseline @default 2 */
  roundTrips?: number
  /** seconds to wait for every provider's first advertisement before jobs start @default 30 */
  advertiseWaitS?: number
  /**
   * Which peers run the defences against dishonest peers (result
   * verification, evidence, offender exclusion, newcomer budgets, the
   * free-rider limit): `on` every peer, `off` none, `alternate` the peers
   * of even index, so one run measures both groups side by side @default 'on'
   */
  defences?: 'on' | 'off' | 'alternate'
}
