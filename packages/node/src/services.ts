import { join } from 'node:path'
import { discovery } from '@shoal/discovery'
import { jobBoard } from '@shoal/job-board'
import { createEquivocationEvidence, createWrongResultEvidence, evidence, receiptStore } from '@shoal/receipts'
import { JobKind } from '@shoal/records'
import { PeerTrust, router } from '@shoal/router'
import { Work, commandExecutor, functionExecutor, gpuClass, priceBidPolicy } from '@shoal/work'
import { provenance } from '@shoal/provenance'
import { captureExecutor } from './capture.js'
import { captureSourceFromConfig } from './capture-source.js'
import { CAPTURE_MAX_SECONDS, CAPTURE_WITNESSES, JOBS_RUNNING_DIR } from './constants.js'
import { registerWorkGate, WorkGate } from './drain.js'
import type { CaptureChecksConfig, ExecutorConfig, ProviderConfig, ShoalRole, WitnessConfig } from './config.js'
import type { Provenance, ProvenanceComponents, ProvenanceInit } from '@shoal/provenance'
import type { Datastore } from 'interface-datastore'
import type { Discovery, DiscoveryComponents, DiscoveryInit } from '@shoal/discovery'
import type { JobBoard, JobBoardComponents, JobBoardInit } from '@shoal/job-board'
import type { EvidenceComponents, EvidenceInit, EvidenceService, ReceiptStore, ReceiptStoreComponents, ReceiptStoreInit } from '@shoal/receipts'
import type { PeerId } from '@libp2p/interface'
import type { Gpu } from '@shoal/records'
import type { Router, RouterComponents, RouterInit, TrustStore } from '@shoal/router'
import type { Executor, RelayedJobPolicy, VerifyPolicy, WorkComponents, WorkInit } from '@shoal/work'

/**
 * The Shoal services, by the key they have on a node. Each one is a libp2p
 * service built by its package's factory.
 */
// a type literal, not an interface: libp2p's ServiceMap needs an index signature
export type ShoalCoreServices = {
  /** signed work receipts on the node's datastore (`@shoal/receipts`) */
  receipts: ReceiptStore
  /** RTT, coordinates, scoring, failover (`@shoal/router`) */
  router: Router
  /** gossiped job announcements (`@shoal/job-board`) */
  jobs: JobBoard
  /** capability records in the DHT (`@shoal/discovery`) */
  discovery: Discovery
  /** the `/shoal/work/1.0.0` protocol: quotes, assignments, results, receipts (`@shoal/work`) */
  work: Work
  /** evidence of cheating, gossiped and kept: who is a proven offender (`@shoal/receipts`) */
  evidence: EvidenceService
  /**
   * proof of recording (`@shoal/provenance`): witnesses others' captures,
   * captures with witnesses (capture providers), verifies capture results;
   * absent with `shoalServices({ provenance: false })`
   */
  provenance?: Provenance
}

/**
 * The factories `shoalServices()` returns, typed with the components each
 * one needs, so that spreading them into your own `services` only compiles
 * when your node has what they depend on.
 */
export interface ShoalServiceFactories {
  receipts: (components: ReceiptStoreComponents) => ReceiptStore
  router: (components: RouterComponents) => Router
  jobs: (components: JobBoardComponents) => JobBoard
  discovery: (components: DiscoveryComponents) => Discovery
  work: (components: WorkComponents) => Work
  evidence: (components: EvidenceComponents) => EvidenceService
  provenance?: (components: ProvenanceComponents) => Provenance
}

/** Options of `shoalServices()`. */
export interface ShoalServicesInit {
  /** what the node does; provider roles serve `provider` @default 'requester' */
  role?: ShoalRole
  /** what a provider offers (needed by the provider roles) */
  provider?: ProviderConfig
  /** the node's data directory: a command executor records its running jobs' process groups there */
  dataDir?: string
  /** options passed to `receiptStore()` */
  receipts?: ReceiptStoreInit
  /** options passed to `router()` */
  router?: RouterInit
  /** options passed to `jobBoard()` (merged over the role's interests) */
  jobs?: JobBoardInit
  /** options passed to `discovery()` */
  discovery?: DiscoveryInit
  /** options passed to `work()` (merged over the provider's executor, price, concurrency and `relayed`) */
  work?: WorkInit
  /**
   * how jobs run over relayed (limited) connections (the work service's
   * `relayed`); false: never over a relay @default {} (the work service's defaults)
   */
  relayed?: Partial<RelayedJobPolicy> | false
  /** options passed to `evidence()` */
  evidence?: EvidenceInit
  /**
   * options passed to `provenance()` (merged over the provider's region and
   * `witness`), or false for a node without it: it then neither witnesses,
   * nor captures, nor verifies captures
   *
   * @default {}
   */
  provenance?: ProvenanceInit | false
  /** how this node witnesses others' captures (the config's `witness`) @default { enabled: true } */
  witness?: WitnessConfig
  /** the rules captures this node pays for are verified with (the config's `captureChecks`) */
  captureChecks?: CaptureChecksConfig
  /**
   * The defences against dishonest peers, on by default: results checked
   * before they are countersigned (`DEFAULT_VERIFY_POLICY`), evidence of
   * cheating spread and acted on (offenders are never chosen, asked or
   * served), budgets on the board and in discovery that grow with the
   * receipts a peer holds with distinct counterparties, and the providers'
   * limit on uncountersigned receipts. False leaves them all off: the
   * baseline a simulation measures them against.
   *
   * @default true
   */
  defences?: boolean
}

/**
 * The verify policy of a node with defences on: no redundancy asked, one
 * job in ten spot-checked (a known answer when one is held, else a second
 * provider), a provider's first job with this node always checked, and one
 * countersigned job in ten replayed to catch a second receipt.
 */
export const DEFAULT_VERIFY_POLICY: VerifyPolicy = { spotCheckRate: 0.1, probationJobs: 1, replayCheckRate: 0.1 }

/**
 * The executor a provider config describes, running up to `concurrency`
 * programs at once (the jobs the provider takes at once). With `dataDir`, a
 * command executor records its jobs' process groups in
 * `<dataDir>/jobs-running` and, created, ends those a node killed outright
 * left running there.
 */
export function executorFromConfig (config: ExecutorConfig, dataDir?: string, concurrency = 1): Executor {
  if (config.type === 'echo') {
    return functionExecutor(input => input)
  }
  return commandExecutor({ command: config.command, args: config.args, timeoutMs: config.timeoutMs, concurrency, stateDir: dataDir != null ? join(dataDir, JOBS_RUNNING_DIR) : undefined })
}

/**
 * A peer's standing as the node's receipt store knows it: the distinct
 * counterparties of the countersigned receipts it holds with that peer (0
 * before the store started, or on a node without one). Read when asked:
 * libp2p adds each service to the components once it is built.
 */
function standingOf (components: object): (peer: PeerId) => number {
  return (peer) => (components as { receipts?: Pick<ReceiptStore, 'standing'> }).receipts?.standing(peer).counterparties ?? 0
}

/** The GPUs a provider config offers, with their matching class (`consumer-24g`, ...). */
export function gpusFromConfig (provider: ProviderConfig): Gpu[] {
  return (provider.gpus ?? []).map(g => ({ model: g.model, class: g.class ?? gpuClass(g.model, g.vramMib), vramMib: g.vramMib, count: g.count ?? 1 }))
}

/** Whether this role offers work to the network. */
export function isProviderRole (role: ShoalRole | undefined): boolean {
  return role === 'gpu-provider' || role === 'capture-provider'
}

/**
 * The Shoal services as libp2p service factories, to add to a node of your
 * own. They need `identify`, `ping` (`@libp2p/ping`), `pubsub`
 * (`@libp2p/gossipsub`) and `dht` (`@libp2p/kad-dht`, ideally on
 * `SHOAL_DHT_PROTOCOL`) services, and a persistent `datastore` if receipts
 * should survive restarts.
 *
 * @example
 *
 * ```ts
 * const node = await createLibp2p({
 *   datastore,
 *   // transports, encrypters, muxers...
 *   services: {
 *     identify: identify(), ping: ping(), pubsub: gossipsub(),
 *     dht: kadDHT({ protocol: SHOAL_DHT_PROTOCOL }),
 *     ...shoalServices()
 *   }
 * })
 * ```
 */
export function shoalServices (init: ShoalServicesInit = {}): ShoalServiceFactories {
  const provider = isProviderRole(init.role) ? init.provider : undefined
  const kinds = init.role === 'gpu-provider' ? [JobKind.GPU_INFERENCE, JobKind.GPU_BATCH] : init.role === 'capture-provider' ? [JobKind.CAPTURE] : []
  const regions = provider?.region != null && provider.region !== '' ? [provider.region] : undefined
  const workInit: WorkInit = {}
  if (init.relayed !== undefined) workInit.relayed = init.relayed
  // the executor runs as many programs as the work service admits jobs: fewer would queue admitted jobs behind each other
  if (provider?.executor != null) workInit.executor = executorFromConfig(provider.executor, init.dataDir, init.work?.concurrency ?? provider.concurrency ?? 1)
  const capture = init.role === 'capture-provider' ? provider?.capture : undefined
  if (provider?.price != null) workInit.price = provider.price
  if (provider?.concurrency != null) workInit.concurrency = provider.concurrency
  const merged: typeof workInit = { ...workInit, ...init.work }
  // libp2p hands every service factory of a node the same components object:
  // it ties the router of a node to the gate of the same node's work service
  const gates = new WeakMap<object, WorkGate>()
  const gateOf = (components: object): WorkGate => {
    let gate = gates.get(components)
    if (gate === undefined) {
      gate = new WorkGate()
      gates.set(components, gate)
    }
    return gate
  }
  const defended = init.defences !== false
  const factories: ShoalServiceFactories = {
    receipts: receiptStore(init.receipts),
    router: (components) => {
      const gate = gateOf(components)
      // late binding asks providers for their load: answer with the work service's real slots
      const load = init.router?.load ?? (merged.executor != null || capture != null ? () => gate.load() : undefined)
      // a proven offender has no trust left: the router refuses it as a candidate
      const defences: RouterInit = defended ? { trust: offenderTrust(init.router?.trust ?? new PeerTrust({ now: init.router?.now }), offenderOf(components)) } : { locationCheck: false }
      return router({ ...init.router, ...defences, load })(components)
    },
    jobs: (components) => jobBoard({ serve: kinds.length > 0 ? { kinds, regions } : undefined, ...(defended ? { standing: standingOf(components) } : {}), ...init.jobs })(components),
    discovery: (components) => discovery({ ...(defended ? { standing: standingOf(components) } : {}), ...init.discovery })(components),
    work: (components) => {
      const gate = gateOf(components)
      // quote only for jobs this provider can serve: its kinds, GPUs, sensors and region
      const bidPolicy = merged.bidPolicy ?? (merged.price != null
        ? priceBidPolicy({
          price: merged.price,
          kinds: kinds.length > 0 ? kinds : undefined,
          gpus: provider != null ? gpusFromConfig(provider) : undefined,
          sensors: provider?.sensors,
          geohash: provider?.region
        })
        : undefined)
      const defences: WorkInit = defended
        ? { verify: DEFAULT_VERIFY_POLICY, offenders: offenderOf(components) }
        // the baseline: every result countersigned unchecked, every requester served however much it leaves unpaid, no run ever late
        : { verify: false, maxUnpaidJobs: Number.MAX_SAFE_INTEGER, lateFactor: Infinity }
      // a capture provider records with witnesses: its executor is the provenance service's capture
      const executor = capture != null && init.work?.executor == null && init.provenance !== false
        ? captureExecutor({
          provenance: () => (components as { provenance?: Provenance }).provenance,
          source: captureSourceFromConfig(capture, { sensors: provider?.sensors }),
          maxSeconds: capture.maxSeconds ?? CAPTURE_MAX_SECONDS,
          witnesses: capture.witnesses ?? CAPTURE_WITNESSES,
          datastore: () => (components as { datastore?: Datastore }).datastore
        })
        : merged.executor
      const service = new Work(components, { ...defences, ...merged, bidPolicy: gate.bidPolicy(bidPolicy), executor: gate.executor(executor) })
      registerWorkGate(service, gate)
      if (defended) reportEvidence(service, components)
      return service
    },
    evidence: evidence(init.evidence)
  }
  if (init.provenance !== false) {
    const witness = init.witness ?? {}
    const verify = captureVerify(capture?.minWitnesses, init.captureChecks)
    const own: ProvenanceInit = {
      geohash: witness.geohash ?? (provider?.region != null && provider.region !== '' ? provider.region : undefined),
      // a witness signs under the thresholds its node verifies with: one network, one rule
      witness: { enabled: witness.enabled ?? true, ...(witness.price != null ? { price: witness.price } : {}), ...(verify.rtt != null ? { rtt: verify.rtt } : {}) },
      ...(capture != null ? { witnesses: capture.witnesses ?? CAPTURE_WITNESSES } : {}),
      verify
    }
    const given = init.provenance ?? {}
    factories.provenance = provenance({ ...own, ...given, witness: { ...own.witness, ...given.witness } })
  }
  return factories
}

/** The provenance service's verify defaults from the config (a capture provider's `minWitnesses`, then `captureChecks`). */
function captureVerify (minWitnesses: number | undefined, checks: CaptureChecksConfig = {}): NonNullable<ProvenanceInit['verify']> {
  const verify: NonNullable<ProvenanceInit['verify']> = {}
  const min = checks.minWitnesses ?? minWitnesses
  if (min != null) verify.minWitnesses = min
  if (checks.minWitnessCounterparties != null) verify.minWitnessCounterparties = checks.minWitnessCounterparties
  if (checks.minWitnessAgeMs != null) verify.minWitnessAgeMs = checks.minWitnessAgeMs
  if (checks.allowPrivateAddresses != null) verify.allowPrivateAddresses = checks.allowPrivateAddresses
  if (checks.rttSlackMs != null || checks.maxWitnessKm != null) {
    verify.rtt = {
      ...(checks.rttSlackMs != null ? { slackMs: checks.rttSlackMs } : {}),
      ...(checks.maxWitnessKm != null ? { maxWitnessKm: checks.maxWitnessKm } : {})
    }
  }
  return verify
}

/** Whether the node's evidence service holds valid evidence against a peer (false before it is built). */
function offenderOf (components: object): (peer: PeerId | string) => boolean {
  return (peer) => (components as { evidence?: Pick<EvidenceService, 'isOffender'> }).evidence?.isOffender(peer) ?? false
}

/** A trust store that gives proven offenders none, whatever else it knows of them. */
function offenderTrust (trust: TrustStore, isOffender: (peer: string) => boolean): TrustStore {
  return {
    get: (peer) => isOffender(peer) ? 0 : trust.get(peer),
    record: (peer, event) => {
      const value = trust.record(peer, event)
      return isOffender(peer) ? 0 : value
    }
  }
}

/**
 * Turn what the work service found (a wrong result against a quorum or a
 * known answer, two receipts for one assignment) into evidence records
 * signed by this node, and hand them to the evidence service: kept, acted
 * on here, gossiped to the network.
 */
function reportEvidence (work: Work, components: WorkComponents): void {
  const log = components.logger.forComponent('shoal:node:evidence')
  work.addEventListener('evidence:found', (evt) => {
    const found = evt.detail
    const service = (components as { evidence?: Pick<EvidenceService, 'report'> }).evidence
    if (service == null) return
    void (async () => {
      const record = found.kind === 'equivocation'
        ? await createEquivocationEvidence(found.first, found.second, components.privateKey)
        : await createWrongResultEvidence(found.proof, components.privateKey)
      await service.report(record)
    })().catch((err: unknown) => { log.error('could not report %s evidence - %e', found.kind, err) })
  })
}
