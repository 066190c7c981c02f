/**
 * A job market of real Shoal peers on a simulation: every peer runs
 * `shoalServices()` for its role, providers advertise and bid with
 * `startProvider`, and each job of the workload is submitted with
 * `submitJob` at its requester: signed and published on the job board,
 * providers found through discovery, ranked by the router, run over
 * `/shoal/work/1.0.0` with failover, the receipt countersigned and stored,
 * the voucher paid. Providers run a simulated executor that takes the
 * role's compute time. Every step is an event of the run's log.
 *
 * One `MarketRuntime` serves the peers of one simulation (a whole run, or
 * one shard of a sharded run: it acts only for the peers it owns).
 */

import { setTimeout as sleep } from 'node:timers/promises'
import { shoalServices, startProvider, submitJob } from '@shoal/node'
import { encodeGeohash } from '@shoal/records'
import { errorName, errorMessage } from '@shoal/utils'
import { functionExecutor } from '@shoal/work'
import { round } from '../round.js'
import { pool } from '../harness/connect.js'
import { computeModelOf, computeMs, isDefended, isProvider, jobTerms, ownEntry, providerOffer, servingRole } from './config.js'
import { behaviourOf, honestConduct, MARKET_BEHAVIOURS, SPAM_WORKLOAD_PREFIX } from './adversaries/index.js'
import type { AdvertisedOffer, AdversaryOptions, Conduct, RunPlan } from './adversaries/index.js'
import type { MarketDriver, MarketOpened } from './driver.js'
import type { ResolvedJobKind, ResolvedMarket, ResolvedRole } from './config.js'
import type { Simulation } from '../harness/simulation.js'
import type { PeerSpec, SimPeer } from '../harness/peer.js'
import type { SimServiceFactories } from '../harness/stack.js'
import type { JobArrival } from '../scenario/driver.js'
import type { PeerId } from '@libp2p/interface'
import type { ProviderHandle, ShoalCoreServices, ShoalRole, SubmitJobServices } from '@shoal/node'
import type { Router } from '@shoal/router'
import type { ConnectionKind, JobSpec } from '@shoal/work'

/** Geohash characters of a peer's location, as its requester searches from it. */
export const PEER_GEOHASH_PRECISION = 6
/** Prefix of the workload name of a simulated job: `sim/<kind>/<job id>`. */
const WORKLOAD_PREFIX = 'sim/'
/** Bytes of a simulated job's output. */
const OUTPUT_BYTES = 64
/** An attempt gets at least this long before the next candidate takes over, ms. */
const MIN_ATTEMPT_MS = 3_000
/** Providers that advertise at once when the market opens. */
const OPEN_CONCURRENCY = 4

export { MARKET_BEHAVIOURS }

/** What a market peer runs beside the simulation's stock services. */
export type MarketServices = ShoalCoreServices

/** Per peer state of the market. */
interface PeerState {
  role: ResolvedRole
  /** the provider flow while the peer runs */
  provider?: ProviderHandle
  /** bumped at every crash or stop: work of an older life records nothing */
  life: number
  /** adversary behaviours turned on */
  behaviours: Set<string>
  /** what those behaviours change */
  conduct: Conduct
  /** whether the peer runs the defences (the market's `defences` setting) */
  defended: boolean
  /** sim job ids this provider's executor ran: a second run of one is a replay */
  ran: Set<string>
  /** aborted at every crash or stop: behaviours' background work ends with it */
  stopped: AbortController
  /** peers (ids) this peer had a relayed (limited) connection with */
  relayedWith: Set<string>
  /** whether its relayed address appeared since it last started (NAT'd peers) */
  relayedAdvertised: boolean
}

/** Which kind of connection a job ran on, and whether a relayed one was upgraded to it. */
export interface JobConnection {
  connection: ConnectionKind | null
  /** a direct connection to a peer first reached through a relay (DCUtR) */
  upgraded: boolean
}

/** The geohash of a peer's site ('' without coordinates); the analysis places peers of a finished run with it too. */
export function peerGeohash (peer: { site: { lat: number, lon: number } }): string {
  const { lat, lon } = peer.site
  return Number.isFinite(lat) && Number.isFinite(lon) ? encodeGeohash(lat, lon, PEER_GEOHASH_PRECISION) : ''
}

/** The sim job id and kind name of a simulated job's workload, or undefined. */
export function parseWorkload (workload: string | undefined): { kind: string, job: string } | undefined {
  if (workload?.startsWith(WORKLOAD_PREFIX) !== true) return undefined
  const rest = workload.slice(WORKLOAD_PREFIX.length)
  const slash = rest.lastIndexOf('/')
  return slash < 0 ? undefined : { kind: rest.slice(0, slash), job: rest.slice(slash + 1) }
}

function shoalRoleOf (role: ResolvedRole): ShoalRole {
  return role.service === 'gpu' ? 'gpu-provider' : role.service === 'capture' ? 'capture-provider' : role.service === 'bootstrap' ? 'bootstrap' : 'requester'
}

/**
 * The Shoal side of a simulation. Create it, give `services` to the
 * simulation, `attach` the simulation once created, `open` the market once
 * the network has settled, then `submit` the workload's jobs.
 */
export class MarketRuntime implements MarketDriver {
  readonly market: ResolvedMarket
  private sim?: Simulation<MarketServices>
  private readonly peers = new Map<number, PeerState>()
  private opened = false
  /** work services whose accepted vouchers are recorded as payments */
  private readonly payees = new WeakSet<object>()
  /** services whose board and evidence events are recorded */
  private readonly watched = new WeakSet<object>()

  constructor (market: ResolvedMarket) {
    this.market = market
    this.services = this.services.bind(this)
  }

  /** The Shoal services of a peer, for its role (the simulation's `services` option). */
  services (peer: PeerSpec): SimServiceFactories<MarketServices> {
    const role = ownEntry(this.market.roles, peer.role) ?? Object.values(this.market.roles)[0]
    const state: PeerState = this.peers.get(peer.index) ?? { role, life: 0, behaviours: new Set(), conduct: honestConduct(), defended: isDefended(this.market, peer.index), ran: new Set(), stopped: new AbortController(), relayedWith: new Set(), relayedAdvertised: false }
    this.peers.set(peer.index, state)
    const provider = isProvider(role)
    return shoalServices({
      role: shoalRoleOf(role),
      defences: state.defended,
      provider: provider
        ? { region: peerGeohash(peer).slice(0, role.revealPrecision), gpus: role.gpus, sensors: role.sensors, price: role.price, concurrency: role.slots }
        : undefined,
      // relayed connections carry small jobs by @shoal/work's default relayed-job policy (NAT'd providers)
      work: provider ? { executor: this.executor(peer, state) } : {},
      discovery: { random: () => peer.rng.fork('discovery').float() }
    }) as unknown as SimServiceFactories<MarketServices>
  }

  /** Follow the simulation's peers: start and stop the provider flow as they start, crash and leave. */
  attach (sim: Simulation<MarketServices>): void {
    this.sim = sim
    sim.events.addEventListener('event', (evt) => {
      const e = evt.detail
      if (e.type === 'stopped') {
        // the simulation stopped its nodes: no provider flow may retry (its timers would keep the process alive)
        for (const state of this.peers.values()) {
          state.provider?.stop()
          state.provider = undefined
          state.stopped.abort()
        }
        return
      }
      if (typeof e.peer !== 'number' || !sim.owns(e.peer)) return
      if (e.type === 'peer:started' && this.opened) {
        this.watch(e.peer)
        this.startProviderAt(e.peer)
      } else if (e.type === 'peer:crashed' || e.type === 'peer:left') {
        const state = this.peers.get(e.peer)
        if (state != null) {
          state.life++
          state.provider?.stop()
          state.provider = undefined
          state.stopped.abort()
          state.stopped = new AbortController()
        }
      }
    })
  }

  /**
   * Open the market: every running provider this simulation owns starts
   * advertising and bidding; resolves when all have advertised (or after
   * `advertiseWaitS`), with how many did.
   */
  async open (): Promise<MarketOpened> {
    const sim = this.requireSim()
    this.opened = true
    const started = performance.now()
    const endAt = started + this.market.advertiseWaitS * 1000
    const providers = sim.running().filter(p => {
      const state = this.peers.get(p.index)
      return sim.owns(p.index) && state != null && isProvider(state.role)
    })
    for (const peer of sim.running()) {
      if (sim.owns(peer.index)) this.watch(peer.index)
    }
    let advertised = 0
    // a few at a time: every provide is a DHT lookup, and all of them at once would time each other out
    await pool(providers, OPEN_CONCURRENCY, async (peer) => {
      const handle = this.startProviderAt(peer.index)
      const wait = endAt - performance.now()
      if (handle == null || wait <= 0) return
      // past the wait the provider goes on advertising in the background; the jobs start
      const timeUp = new AbortController()
      const done = await Promise.race([
        handle.advertised.then(() => true, () => false),
        sleep(wait, false, { signal: timeUp.signal, ref: false }).catch(() => false)
      ])
      timeUp.abort()
      if (done) advertised++
    })
    const seconds = round((performance.now() - started) / 1000)
    sim.events.record('market:open', { providers: providers.length, advertised, seconds })
    return { providers: providers.length, advertised, seconds }
  }

  /**
   * Turn `behaviour` (a registered one) on at these peers; false when none
   * is registered by that name. A provider whose advertised offer changes
   * starts its provider flow again with the new offer.
   */
  async adversary (behaviour: string, peers: readonly number[], options: AdversaryOptions = {}): Promise<boolean> {
    const played = behaviourOf(behaviour)
    if (played == null) return false
    const sim = this.requireSim()
    if (behaviour === 'sybil' && options.cell != null) sim.events.record('sybil:cell', { cell: options.cell })
    for (const index of peers) {
      const state = this.peers.get(index)
      const peer = sim.peers[index]
      if (state == null || peer == null || !sim.owns(index)) continue
      state.behaviours.add(behaviour)
      const before = JSON.stringify(this.offerOf(index))
      await played.install({ index, peer, sim, market: this.market, role: state.role, conduct: state.conduct, options, signal: state.stopped.signal })
      // a new advertisement only when the offer changed: every start is a round of DHT provides
      if (state.provider != null && JSON.stringify(this.offerOf(index)) !== before) {
        state.provider.stop()
        state.provider = undefined
        this.startProviderAt(index)
      }
    }
    return true
  }

  /**
   * Submit one job of the workload at its requester with `submitJob`, and
   * record each step. Never throws: a job that fails is a `job:failed` event.
   */
  async submit (arrival: JobArrival): Promise<void> {
    const sim = this.requireSim()
    const peer = sim.peers[arrival.peer]
    const kind = ownEntry(this.market.jobs, arrival.kind)
    const defended = this.peers.get(arrival.peer)?.defended ?? false
    const base = { peer: arrival.peer, job: arrival.id, kind: arrival.kind, defended }
    const t0 = sim.events.now()
    const node = peer?.node
    if (peer == null || node == null || peer.state !== 'running' || kind == null) {
      sim.events.record('job:failed', { ...base, reason: kind == null ? 'unknown job kind' : 'requester down', ms: 0 })
      return
    }

    const deadlineMs = kind.deadlineMs
    const geohash = peerGeohash(peer)
    const compute = this.expectedComputeMs(kind)
    const spec = jobSpecOf(kind, geohash, arrival.id)
    const signal = AbortSignal.timeout(deadlineMs)
    const choice = this.choiceFor(arrival)
    const services = this.requesterServices(node.services, peer, choice, this.peers.get(arrival.peer)?.conduct)
    let failovers = 0
    let stage = 'create'

    try {
      for await (const event of submitJob(services, spec, {
        k: this.market.k,
        geohash,
        signal,
        timeoutMs: deadlineMs,
        attemptTimeoutMs: Math.min(deadlineMs, Math.max(MIN_ATTEMPT_MS, 3 * compute + 2_000)),
        profile: { computeTime: compute, maxRtt: kind.maxRttMs > 0 ? kind.maxRttMs : undefined, roundTrips: this.market.roundTrips },
        searchDelayMs: 250,
        verify: defended ? undefined : false
      })) {
        stage = event.type
        if (event.type === 'published') {
          sim.events.record('job:published', { ...base, ms: round(sim.events.now() - t0) })
        } else if (event.type === 'quoted') {
          sim.events.record('job:quoted', { ...base, provider: this.indexOf(event.detail.quote.signer), ms: round(sim.events.now() - t0) })
        } else if (event.type === 'searched') {
          const r = event.detail
          sim.events.record('job:candidates', { ...base, round: r.attempt, found: r.found.length, found_peers: r.found.map(f => this.indexOf(f.peerId) ?? '?').join(','), unmatched: r.unmatched.length, error: r.error?.message ?? null, ms: round(sim.events.now() - t0) })
        } else if (event.type === 'ranked') {
          const best = event.detail.decision.choices[0]
          sim.events.record('job:assigned', {
            ...base,
            provider: best == null ? null : this.indexOf(best.peerId),
            predicted_ms: best == null ? null : round(best.score),
            candidates: event.detail.decision.choices.length,
            choice,
            rejected: event.detail.decision.rejected.length,
            ms: round(sim.events.now() - t0)
          })
        } else if (event.type === 'retrying') {
          sim.events.record('job:retry', { ...base, round: event.detail.round, reason: `${errorName(event.detail.error)}: ${errorMessage(event.detail.error)}`.slice(0, 300), ms: round(sim.events.now() - t0) })
        } else if (event.type === 'failed-over') {
          failovers++
          const a = event.detail.attempt
          sim.events.record('job:failover', { ...base, provider: this.indexOf(a.candidate), reason: a.error == null ? 'cancelled' : `${errorName(a.error)}: ${errorMessage(a.error)}`, attempt_ms: round(a.elapsed) })
        } else if (event.type === 'receipt') {
          const { outcome, stored, storeError } = event.detail
          const provider = this.indexOf(outcome.provider)
          const via = this.connectionOf(peer, outcome)
          const ms = round(sim.events.now() - t0)
          sim.events.record('job:completed', {
            ...base,
            provider,
            ms,
            late: ms > deadlineMs,
            rtt_ms: provider == null ? null : round(sim.rtt(arrival.peer, provider)),
            failovers,
            connection: via.connection,
            upgraded: via.upgraded,
            units: outcome.receipt.record.value.units,
            // the output the honest executor returns for this job: anything else is a wrong result accepted
            wrong: !equalBytes(outcome.output, jobInput(`out:${arrival.id}`, OUTPUT_BYTES))
          })
          sim.events.record('receipt', { ...base, provider, acknowledged: outcome.acknowledged, stored: stored != null, error: storeError?.message ?? null })
        }
      }
    } catch (err: unknown) {
      sim.events.record('job:failed', {
        ...base,
        reason: errorName(err),
        error: errorMessage(err).slice(0, 300),
        stage,
        failovers,
        ms: round(sim.events.now() - t0)
      })
    }
  }

  /**
   * The connection a completed job ran on (as @shoal/work reports it), and
   * whether the requester first reached the provider through a relay.
   */
  private connectionOf (peer: SimPeer<MarketServices>, outcome: { provider: PeerId, connection?: ConnectionKind }): JobConnection {
    const relayedWith = this.peers.get(peer.index)?.relayedWith
    const upgradedFrom = relayedWith?.has(outcome.provider.toString()) === true
    const connection = outcome.connection ?? null
    return { connection, upgraded: connection === 'direct' && upgradedFrom }
  }

  /** The compute time the requester expects (the first provider role's model that serves the kind, without jitter). */
  private expectedComputeMs (kind: ResolvedJobKind): number {
    const role = servingRole(this.market, kind)
    if (role == null) return 0
    const model = computeModelOf(role, kind.name)
    return model.fixedMs + model.perUnitMs * kind.units
  }

  /** How this job's requester picks: the market's choice, or by the job's number when it alternates. */
  private choiceFor (arrival: JobArrival): 'router' | 'random' {
    if (this.market.choice !== 'alternate') return this.market.choice
    return Number(/\d+$/.exec(arrival.id)?.[0] ?? 0) % 2 === 0 ? 'router' : 'random'
  }

  /** The requester's services: its behaviours' work service; for `random` a router that orders what it would accept at random. */
  private requesterServices (own: MarketServices, peer: SimPeer<MarketServices>, choice: 'router' | 'random', conduct?: Conduct): SubmitJobServices {
    const wraps = conduct?.work ?? []
    const services: SubmitJobServices = wraps.length === 0 ? own : { ...own, work: wraps.reduce<SubmitJobServices['work']>((work, wrap) => wrap(work), own.work) }
    if (choice !== 'random') return services
    const router: Router = own.router
    const rng = peer.rng.fork('random-choice')
    return {
      ...services,
      router: {
        get coordinate () { return router.coordinate },
        choose: async (candidates, job, options) => {
          const decision = await router.choose(candidates, job, options)
          rng.shuffle(decision.choices)
          return decision
        }
      } satisfies SubmitJobServices['router']
    }
  }

  /** The simulated executor: the role's compute time for the job (jitter included), then a small output. */
  private executor (peer: PeerSpec, state: PeerState): ReturnType<typeof functionExecutor> {
    return functionExecutor(async (_input, { signal, job }) => {
      const sim = this.requireSim()
      const life = state.life
      const parsed = parseWorkload(job?.workload)
      const kind = parsed == null ? undefined : ownEntry(this.market.jobs, parsed.kind)
      const units = kind?.units ?? 1
      const name = parsed?.job ?? '?'
      const started = sim.events.now()
      sim.events.record('work:start', { peer: peer.index, job: name })
      const seen = state.ran.has(name)
      state.ran.add(name)
      const honest: RunPlan = { ms: computeMs(state.role, parsed?.kind ?? '*', units, this.market.seed, name), wrong: false, status: 0, silent: false }
      const plan = state.conduct.runs.reduce((p, change) => change({ job: name, kind, role: state.role, seen }, p), honest)
      if (plan.silent) {
        // quoted and assigned, never delivers: holds the slot until the requester gives up
        await sleep(2 ** 31 - 1, undefined, { signal, ref: false })
      }
      await sleep(Math.min(plan.ms, 2 ** 31 - 1), undefined, { signal, ref: false })
      if (state.life === life) {
        sim.events.record('work:end', { peer: peer.index, job: name, ms: round(sim.events.now() - started), wrong: plan.wrong, status: plan.status })
      }
      // each liar's wrong output is its own: independent cheaters do not agree with each other on a wrong result
      return { output: jobInput(plan.wrong ? `wrong:${peer.index}:${name}:${seen ? 2 : 1}` : `out:${name}`, OUTPUT_BYTES), units, status: plan.status }
    })
  }

  private startProviderAt (index: number): ProviderHandle | undefined {
    const sim = this.requireSim()
    const peer = sim.peers[index]
    const state = this.peers.get(index)
    const node = peer.node
    if (state == null || node == null || !isProvider(state.role) || state.provider != null) return undefined
    const handle = startProvider(node.services, this.offerOf(index))
    state.provider = handle
    this.recordPayments(index, node.services.work)
    handle.addEventListener('quote:sent', (evt) => {
      const parsed = parseWorkload(evt.detail.job.record.value.workload)
      sim.events.record('job:quote', { peer: index, job: parsed?.job ?? null })
    })
    handle.addEventListener('advertised', () => {
      sim.events.record('provider:advertised', { peer: index })
    }, { once: true })
    return handle
  }

  /**
   * Record what a peer's defences and board see: spam announcements that
   * land on its board (`spam:landed`) and the first evidence against each
   * offender (`offender:proven`, from the evidence service when the node
   * runs one).
   */
  private watch (index: number): void {
    const sim = this.requireSim()
    const services = sim.peers[index]?.node?.services
    const state = this.peers.get(index)
    if (services == null || state == null || this.watched.has(services)) return
    this.watched.add(services)
    this.watchReachability(index, state)
    services.jobs.addEventListener('job:announced', (evt) => {
      if (evt.detail.record.value.workload.startsWith(SPAM_WORKLOAD_PREFIX)) sim.events.record('spam:landed', { peer: index, defended: state.defended })
    })
    const evidence = (services as unknown as Record<string, unknown>).evidence
    if (evidence != null && typeof (evidence as EventTarget).addEventListener === 'function') {
      ;(evidence as EventTarget).addEventListener('offender', (evt) => {
        const offender = (evt as CustomEvent<{ offender?: PeerId }>).detail?.offender
        sim.events.record('offender:proven', { peer: index, defended: state.defended, offender: offender == null ? null : this.indexOf(offender) })
      })
    }
  }

  /**
   * Note the peers this one reaches through a relay (to tell relayed jobs
   * and DCUtR upgrades apart). Records `nat:relayed` when a NAT'd peer's
   * relayed address appears (discovery then advertises it: its capability
   * record is signed again on the address change).
   */
  private watchReachability (index: number, state: PeerState): void {
    const sim = this.requireSim()
    const peer = sim.peers[index]
    const node = peer?.node
    if (node == null || peer.nat == null && peer.relay == null) return
    node.addEventListener('connection:open', (evt) => {
      if (evt.detail.limits != null) state.relayedWith.add(evt.detail.remotePeer.toString())
    })
    if (peer.nat == null) return
    const started = sim.events.now()
    // once per start (a peer that rejoins reserves again); discovery signs the capability record again itself
    state.relayedAdvertised = false
    const onUpdate = (): void => {
      if (state.relayedAdvertised || !node.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit'))) return
      state.relayedAdvertised = true
      sim.events.record('nat:relayed', { peer: index, nat: peer.nat ?? null, ms: round(sim.events.now() - started) })
    }
    node.addEventListener('self:peer:update', onUpdate)
    onUpdate()
  }

  /** The offer the provider of `index` advertises: its role's, changed by its behaviours. */
  private offerOf (index: number): AdvertisedOffer {
    const state = this.peers.get(index)
    const peer = this.requireSim().peers[index]
    if (state == null || peer == null) throw new Error(`no market peer ${index}`)
    const honest = providerOffer(state.role, peerGeohash(peer))
    return state.conduct.offers.reduce<AdvertisedOffer>((o, change) => change(o), { gpus: honest.gpus ?? [], sensors: honest.sensors ?? [], geohash: honest.geohash ?? '', price: state.role.price, concurrency: state.role.slots })
  }

  /** Record each voucher a provider accepts as a payment of what it moved its lane forward by. */
  private recordPayments (index: number, work: MarketServices['work']): void {
    if (this.payees.has(work)) return
    this.payees.add(work)
    const sim = this.requireSim()
    const totals = new Map<string, number>()
    work.addEventListener('voucher:accepted', (evt) => {
      const lane = evt.detail
      const key = `${lane.payer}/${lane.currency}/${lane.lane.join(',')}`
      const before = totals.get(key) ?? 0
      if (lane.cumulative <= before) return
      totals.set(key, lane.cumulative)
      sim.events.record('payment', { peer: sim.indexOfId(lane.payer) ?? null, provider: index, amount: round(lane.cumulative - before), currency: lane.currency })
    })
  }

  private indexOf (id: PeerId): number | null {
    try {
      return this.requireSim().peer(id).index
    } catch {
      return null
    }
  }

  private requireSim (): Simulation<MarketServices> {
    if (this.sim == null) throw new Error('the market is not attached to a simulation')
    return this.sim
  }
}

/** The job a requester at `geohash` submits for job `id` of `kind`: the terms the oracle matches offers against are its own. */
export function jobSpecOf (kind: ResolvedJobKind, geohash: string, id: string, workload = `${WORKLOAD_PREFIX}${kind.name}/${id}`): JobSpec {
  const terms = jobTerms(kind, geohash)
  return {
    kind: terms.kind,
    workload,
    requirements: terms.requirements,
    priceCeiling: terms.priceCeiling ?? { perUnit: kind.maxPricePerUnit, currency: 'USDC', unit: 'unit' },
    budget: kind.budget,
    deadlineInMs: kind.deadlineMs,
    input: jobInput(id, kind.inputBytes)
  }
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i])
}

/** Deterministic bytes for a job's input or output. */
function jobInput (label: string, length: number): Uint8Array {
  const out = new Uint8Array(length)
  let h = 2166136261
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 16777619)
  for (let i = 0; i < length; i++) {
    h = Math.imul(h ^ i, 16777619)
    out[i] = h & 0xff
  }
  return out
}
