import { serviceCapabilities, serviceDependencies, TypedEventEmitter, setMaxListeners } from '@libp2p/interface'
import { lpStream, repeatingTask } from '@libp2p/utils'
import {
  COORDINATE_PROTOCOL,
  MAX_PROBE_MESSAGE_SIZE,
  PROBE_TIMEOUT,
  MAX_INBOUND_STREAMS,
  MAX_OUTBOUND_STREAMS,
  PROBE_INTERVAL,
  LATE_BINDING_PROBES,
  TRUST_MIN,
  COORDINATE_LIE_FACTOR
} from './constants.js'
import { InvalidProbeMessageError } from './errors.js'
import { failover, hedge } from './failover.js'
import { RttTracker } from './rtt.js'
import { CompletionTimePolicy, rankCandidates } from './score.js'
import { PeerTrust } from './trust.js'
import { Vivaldi } from './vivaldi.js'
import { decodeMessage, encodeMessage } from './wire.js'
import type { Attempt, AttemptRecord, FailoverOptions, HedgeOptions, RoutedResult } from './failover.js'
import type { RttEstimate, RttTrackerInit } from './rtt.js'
import type { JobProfile, RejectedCandidate, RoutingPolicy, ScoreCandidate, ScoredCandidate } from './score.js'
import type { TrustEvent, TrustStore } from './trust.js'
import type { Coordinate, VivaldiInit } from './vivaldi.js'
import type { LoadReport } from './wire.js'
import type { AbortOptions, ComponentLogger, Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Ping } from '@libp2p/ping'
import type { RepeatingTask } from '@libp2p/utils'

/**
 * Options of the router service. Every field is optional.
 */
export interface RouterInit {
  /**
   * Protocol id of the coordinate exchange
   *
   * @default '/shoal/coordinate/1.0.0'
   */
  protocol?: string

  /**
   * How long one probe may take, ms
   *
   * @default 5000
   */
  timeout?: number

  /**
   * @default 2
   */
  maxInboundStreams?: number

  /**
   * @default 2
   */
  maxOutboundStreams?: number

  /**
   * Allow probes over limited (relayed) connections
   *
   * @default true
   */
  runOnLimitedConnection?: boolean

  /**
   * Interval of background probes to a random connected peer, ms; 0 disables them
   *
   * @default 15000
   */
  probeInterval?: number

  /**
   * How many of the best predicted candidates `choose` probes for load
   * before assigning (late binding)
   *
   * @default 2
   */
  lateBindingProbes?: number

  /**
   * The local node's capacity, answered to load queries. Without it the node
   * answers coordinate probes but not load queries.
   */
  load?(): LoadReport | Promise<LoadReport>

  /**
   * Vivaldi options (dimensions, gains, gravity, clock, rng...)
   */
  vivaldi?: VivaldiInit

  /**
   * RTT filter options (window, EWMA weights, expiry, clock)
   */
  rtt?: RttTrackerInit

  /**
   * Per-peer trust; inject one backed by reputation to share it
   *
   * @default new PeerTrust()
   */
  trust?: TrustStore

  /**
   * Below this trust a peer is refused by `choose`
   *
   * @default 0.3
   */
  minTrust?: number

  /**
   * An observed RTT this factor (plus 20 ms) away from what a confident
   * peer's claimed coordinate predicts counts as a lie
   *
   * @default 3
   */
  lieFactor?: number

  /**
   * How candidates are scored
   *
   * @default new CompletionTimePolicy()
   */
  policy?: RoutingPolicy
}

/**
 * What the router uses from libp2p. `ping` is the `@libp2p/ping` service,
 * registered under the `ping` key.
 */
export interface RouterComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  ping: Ping
}

/**
 * A provider the caller could send work to, with what it claims (typically
 * from its signed capability record). Claims are checked by late binding.
 */
export interface RouterCandidate extends Omit<ScoreCandidate, 'id' | 'rtt' | 'predictedRtt' | 'loss'> {
  peerId: PeerId
  /** Claimed coordinate (e.g. from the capability record) */
  coordinate?: Coordinate
}

/**
 * The outcome of one coordinate/load probe.
 */
export interface ProbeResult {
  peerId: PeerId
  /** RTT of the exchange itself, ms */
  rtt: number
  /** The peer's coordinate, if it passed validation */
  coordinate?: Coordinate
  /** The peer's load, if asked for and answered */
  load?: LoadReport
  /** When the probe finished (ms, Date.now clock) */
  at: number
}

/**
 * Options of {@link Router.probe}.
 */
export interface ProbeOptions extends AbortOptions {
  /** Ask for the peer's load too */
  load?: boolean
}

/**
 * A ranked choice: the score and reasons, plus the candidate as given and,
 * if late binding probed it, the probe.
 */
export interface RouterChoice<T extends RouterCandidate = RouterCandidate> extends ScoredCandidate {
  peerId: PeerId
  input: T
  probe?: ProbeResult
}

/**
 * A refused candidate and why.
 */
export interface RouterRejection<T extends RouterCandidate = RouterCandidate> extends RejectedCandidate {
  peerId: PeerId
  input: T
}

/**
 * The result of {@link Router.choose}.
 */
export interface RoutingDecision<T extends RouterCandidate = RouterCandidate> {
  /** Best first */
  choices: Array<RouterChoice<T>>
  rejected: Array<RouterRejection<T>>
  /** Late-binding probes sent for this decision */
  probes: number
}

/**
 * Options of {@link Router.choose}.
 */
export interface ChooseOptions extends AbortOptions {
  /** Override `lateBindingProbes` for this decision; 0 = no probes */
  probes?: number
  /** Override the policy for this decision */
  policy?: RoutingPolicy
}

/**
 * Events of the router.
 */
export interface RouterEvents {
  /** An RTT sample to a peer was taken */
  'peer:measured': CustomEvent<{ peerId: PeerId, rtt: number }>
  /** The local coordinate moved */
  'coordinate:updated': CustomEvent<Coordinate>
  /** A peer lost trust */
  'peer:penalized': CustomEvent<{ peerId: PeerId, event: TrustEvent, trust: number }>
}

interface KnownPeer {
  peerId: PeerId
  coordinate?: Coordinate
  load?: LoadReport
  loadAt?: number
}

const LIE_SLACK_MS = 20
// a coordinate must be this confident (low error) on both sides before a
// disagreement with the measured RTT counts against the peer
const LIE_MAX_ERROR = 0.5
// a load report this recent counts as the peer's claim when work then fails
const LOAD_CLAIM_MAX_AGE = 30_000
const MAX_KNOWN_PEERS = 1024

/**
 * Latency-aware choice of provider as a libp2p service: measures RTT (ping and
 * its own probes), keeps a Vivaldi coordinate exchanged on
 * `/shoal/coordinate/1.0.0`, scores candidates by expected completion time,
 * probes the best few for load before assigning, and fails over or hedges.
 */
export class Router extends TypedEventEmitter<RouterEvents> implements Startable {
  readonly [Symbol.toStringTag] = '@shoal/router'
  readonly [serviceCapabilities]: string[] = ['@shoal/router']
  readonly [serviceDependencies]: string[] = ['@libp2p/ping']

  /** Per-peer RTT and loss */
  readonly rtt: RttTracker
  /** The local Vivaldi state */
  readonly vivaldi: Vivaldi
  /** Per-peer trust */
  readonly trust: TrustStore
  readonly protocol: string

  private readonly components: RouterComponents
  private readonly log: Logger
  private readonly timeout: number
  private readonly maxInboundStreams: number
  private readonly maxOutboundStreams: number
  private readonly runOnLimitedConnection: boolean
  private readonly lateBindingProbes: number
  private readonly minTrust: number
  private readonly lieFactor: number
  private readonly policy: RoutingPolicy
  private readonly loadFn?: () => LoadReport | Promise<LoadReport>
  private readonly known: Map<string, KnownPeer>
  private readonly probeTask?: RepeatingTask
  private started: boolean

  constructor (components: RouterComponents, init: RouterInit = {}) {
    super()
    this.components = components
    this.log = components.logger.forComponent('shoal:router')
    this.protocol = init.protocol ?? COORDINATE_PROTOCOL
    this.timeout = init.timeout ?? PROBE_TIMEOUT
    this.maxInboundStreams = init.maxInboundStreams ?? MAX_INBOUND_STREAMS
    this.maxOutboundStreams = init.maxOutboundStreams ?? MAX_OUTBOUND_STREAMS
    this.runOnLimitedConnection = init.runOnLimitedConnection ?? true
    this.lateBindingProbes = Math.max(0, init.lateBindingProbes ?? LATE_BINDING_PROBES)
    this.minTrust = init.minTrust ?? TRUST_MIN
    this.lieFactor = init.lieFactor ?? COORDINATE_LIE_FACTOR
    this.policy = init.policy ?? new CompletionTimePolicy()
    this.loadFn = init.load
    this.rtt = new RttTracker(init.rtt)
    this.vivaldi = new Vivaldi(init.vivaldi)
    this.trust = init.trust ?? new PeerTrust()
    this.known = new Map()
    this.started = false
    this.handleProbe = this.handleProbe.bind(this)

    const interval = init.probeInterval ?? PROBE_INTERVAL

    if (interval > 0) {
      this.probeTask = repeatingTask(async (options) => { await this.probeRandomPeer(options) }, interval, { timeout: this.timeout })
    }
  }

  /** Register the protocol handler and start background probing */
  async start (): Promise<void> {
    await this.components.registrar.handle(this.protocol, this.handleProbe, {
      maxInboundStreams: this.maxInboundStreams,
      maxOutboundStreams: this.maxOutboundStreams,
      runOnLimitedConnection: this.runOnLimitedConnection
    })
    this.probeTask?.start()
    this.started = true
  }

  /** Stop background probing and unregister the handler */
  async stop (): Promise<void> {
    this.probeTask?.stop()
    await this.components.registrar.unhandle(this.protocol)
    this.started = false
  }

  /** True between start and stop */
  isStarted (): boolean {
    return this.started
  }

  /**
   * The local network coordinate (a copy).
   */
  get coordinate (): Coordinate {
    return this.vivaldi.coordinate
  }

  /**
   * The last coordinate `peer` gave us (in a probe or a reply), if any.
   */
  coordinateOf (peer: PeerId): Coordinate | undefined {
    const c = this.known.get(peer.toString())?.coordinate
    return c == null ? undefined : { ...c, vec: [...c.vec] }
  }

  /**
   * Filtered RTT and loss to `peer`, if measured recently.
   */
  measured (peer: PeerId): RttEstimate | undefined {
    return this.rtt.get(peer.toString())
  }

  /**
   * Best RTT estimate to `peer`, ms: the filtered measurement if fresh, else
   * the prediction from `coordinate` (or the last one the peer sent).
   */
  estimateRtt (peer: PeerId, coordinate?: Coordinate): { rtt: number, source: 'measured' | 'predicted' } | undefined {
    const measured = this.rtt.get(peer.toString())

    if (measured != null) {
      return { rtt: measured.smoothed, source: 'measured' }
    }

    const predicted = this.predict(coordinate ?? this.known.get(peer.toString())?.coordinate)
    return predicted == null ? undefined : { rtt: predicted, source: 'predicted' }
  }

  /**
   * Ping `peer` with `@libp2p/ping` and record the RTT (and a failure as loss).
   * If the peer's coordinate is known, the sample also updates Vivaldi.
   */
  async ping (peer: PeerId, options: AbortOptions = {}): Promise<number> {
    const id = peer.toString()

    try {
      const signal = AbortSignal.any([AbortSignal.timeout(this.timeout), ...(options.signal != null ? [options.signal] : [])])
      const rtt = await this.components.ping.ping(peer, { signal })
      this.recordRtt(peer, rtt)
      const coordinate = this.known.get(id)?.coordinate

      if (coordinate != null) {
        this.observe(peer, coordinate, rtt)
      }

      return rtt
    } catch (err) {
      this.rtt.addFailure(id)
      throw err
    }
  }

  /**
   * Exchange coordinates with `peer` (and ask its load if `options.load`),
   * timing the exchange itself as an RTT sample. Failures count as loss.
   */
  async probe (peer: PeerId, options: ProbeOptions = {}): Promise<ProbeResult> {
    const id = peer.toString()
    const signal = AbortSignal.any([AbortSignal.timeout(this.timeout), ...(options.signal != null ? [options.signal] : [])])
    setMaxListeners(Infinity, signal)
    let stream: Stream | undefined

    try {
      stream = await this.components.connectionManager.openStream(peer, this.protocol, {
        signal,
        runOnLimitedConnection: this.runOnLimitedConnection
      })
      const lp = lpStream(stream, { maxDataLength: MAX_PROBE_MESSAGE_SIZE })
      const request = encodeMessage({ kind: 'probe', coordinate: this.vivaldi.coordinate, wantLoad: options.load === true })
      const start = performance.now()
      await lp.write(request, { signal })
      const bytes = await lp.read({ signal })
      const rtt = performance.now() - start
      await stream.close({ signal })

      let message
      try {
        message = decodeMessage(bytes)
      } catch (err) {
        this.penalize(peer, 'invalid-message')
        throw err
      }

      if (message.kind !== 'reply') {
        this.penalize(peer, 'invalid-message')
        throw new InvalidProbeMessageError('expected a reply')
      }

      this.recordRtt(peer, rtt)
      const result: ProbeResult = { peerId: peer, rtt, at: Date.now() }

      if (message.load != null) {
        result.load = message.load
        this.remember(peer, { load: message.load, loadAt: Date.now() })
      }

      if (this.checkCoordinate(peer, message.coordinate, rtt)) {
        result.coordinate = message.coordinate
        this.remember(peer, { coordinate: message.coordinate })
        this.observe(peer, message.coordinate, rtt)
      }

      return result
    } catch (err: any) {
      stream?.abort(err)

      // a peer that does not speak the protocol is not lossy, and a garbled
      // reply was already penalised as such
      if (err?.name !== 'InvalidProbeMessageError' && err?.name !== 'UnsupportedProtocolError') {
        this.rtt.addFailure(id)
      }

      this.log.trace('probe of %p failed - %e', peer, err)
      throw err
    }
  }

  /**
   * Rank `candidates` for `job`: predict each one's RTT (measured, else from
   * coordinates), refuse untrusted peers, then probe the `d` best for their
   * current load and coordinate (late binding) and rank again with what they
   * answered. Every choice and refusal carries its reasons.
   */
  async choose<T extends RouterCandidate> (candidates: T[], job: JobProfile = {}, options: ChooseOptions = {}): Promise<RoutingDecision<T>> {
    const policy = options.policy ?? this.policy
    const d = Math.max(0, options.probes ?? this.lateBindingProbes)
    const unique = new Map<string, T>()

    for (const c of candidates) {
      if (!c.peerId.equals(this.components.peerId)) {
        unique.set(c.peerId.toString(), c)
      }
    }

    const probes = new Map<string, ProbeResult>()
    const probeFailures = new Map<string, string>()
    let decision = this.rank([...unique.values()], job, policy, probes, probeFailures)
    const toProbe = decision.choices.slice(0, d)

    if (toProbe.length > 0) {
      await Promise.all(toProbe.map(async (choice) => {
        try {
          probes.set(choice.candidate.id, await this.probe(choice.peerId, { load: true, signal: options.signal }))
        } catch (err: any) {
          probeFailures.set(choice.candidate.id, `probe failed: ${err?.name ?? 'Error'}`)
        }
      }))

      decision = this.rank([...unique.values()], job, policy, probes, probeFailures)
    }

    return { ...decision, probes: toProbe.length }
  }

  /**
   * Try `choices` in order with `attempt` until one succeeds, within
   * `options.timeout`. Outcomes update trust: failures cost a little, failing
   * after claiming free slots costs a lot, successes earn a little.
   */
  async failover<T extends RouterCandidate, R> (choices: Array<RouterChoice<T>>, attempt: Attempt<RouterChoice<T>, R>, options: FailoverOptions<RouterChoice<T>> = {}): Promise<RoutedResult<RouterChoice<T>, R>> {
    return failover(choices, attempt, { ...options, onOutcome: this.outcomeHandler(options.onOutcome) })
  }

  /**
   * Send to the `width` (default 2) best choices at once, keep the first
   * result and abort the others; failed attempts are replaced by the next
   * choice. Trust is updated as in {@link Router.failover}.
   */
  async hedge<T extends RouterCandidate, R> (choices: Array<RouterChoice<T>>, attempt: Attempt<RouterChoice<T>, R>, options: HedgeOptions<RouterChoice<T>> = {}): Promise<RoutedResult<RouterChoice<T>, R>> {
    return hedge(choices, attempt, { ...options, onOutcome: this.outcomeHandler(options.onOutcome) })
  }

  /**
   * Record an outcome of work sent outside `failover`/`hedge`.
   */
  report (peer: PeerId, event: TrustEvent): number {
    if (event === 'success') {
      return this.trust.record(peer.toString(), event)
    }

    return this.penalize(peer, event)
  }

  private outcomeHandler<T extends RouterCandidate> (user?: (record: AttemptRecord<RouterChoice<T>>) => void): (record: AttemptRecord<RouterChoice<T>>) => void {
    return (record) => {
      const peer = record.candidate.peerId

      if (record.ok) {
        this.trust.record(peer.toString(), 'success')
      } else if (this.claimedFreeSlots(record.candidate)) {
        // it told us it had room a moment ago: failing now is either a lie or
        // a very unlucky race, and lies must cost more than bad luck
        this.penalize(peer, 'refused-with-free-slots')
      } else {
        this.penalize(peer, record.error?.name === 'TimeoutError' ? 'timeout' : 'failure')
      }

      user?.(record)
    }
  }

  private claimedFreeSlots (choice: RouterChoice): boolean {
    const known = this.known.get(choice.peerId.toString())
    const fresh = known?.load != null && known.loadAt != null && Date.now() - known.loadAt < LOAD_CLAIM_MAX_AGE
    return fresh && (known?.load?.freeSlots ?? 0) > 0
  }

  private rank<T extends RouterCandidate> (candidates: T[], job: JobProfile, policy: RoutingPolicy, probes: Map<string, ProbeResult>, probeFailures: Map<string, string>): Omit<RoutingDecision<T>, 'probes'> {
    const rejected: Array<RouterRejection<T>> = []
    const scored: Array<ScoreCandidate & { input: T }> = []

    for (const input of candidates) {
      const id = input.peerId.toString()
      const trust = this.trust.get(id)
      const failure = probeFailures.get(id)

      if (trust < this.minTrust) {
        const reason = `untrusted (trust ${trust.toFixed(2)})`
        rejected.push({ candidate: { id }, reason, explain: `${id}: refused, ${reason}`, peerId: input.peerId, input })
        continue
      }

      if (failure != null) {
        rejected.push({ candidate: { id }, reason: failure, explain: `${id}: refused, ${failure}`, peerId: input.peerId, input })
        continue
      }

      const { peerId, coordinate, ...claims } = input
      const probe = probes.get(id)
      const measured = this.rtt.get(id)
      const candidate: ScoreCandidate & { input: T } = {
        ...claims,
        id,
        input,
        rtt: measured?.smoothed,
        predictedRtt: this.predict(probe?.coordinate ?? coordinate ?? this.known.get(id)?.coordinate),
        loss: this.rtt.loss(id),
        // trust caps the caller's reputation: a peer caught lying is worth less
        // whatever others say about it
        reputation: Math.min(claims.reputation ?? trust, trust)
      }

      if (probe?.load != null) {
        // the fresh answer replaces the (possibly stale) advertised capacity
        candidate.freeSlots = probe.load.freeSlots
        candidate.concurrency = probe.load.concurrency
        candidate.queueLength = probe.load.queueLength
      }

      scored.push(candidate)
    }

    const ranking = rankCandidates(scored, job, policy)

    for (const r of ranking.rejected) {
      rejected.push({ ...r, peerId: r.candidate.input.peerId, input: r.candidate.input })
    }

    return {
      choices: ranking.choices.map(c => {
        const probe = probes.get(c.candidate.id)
        const { input, ...candidate } = c.candidate
        const explain = probe != null ? `${c.explain} (probed)` : c.explain
        return { ...c, candidate, explain, peerId: input.peerId, input, probe }
      }),
      rejected
    }
  }

  private predict (coordinate?: Coordinate): number | undefined {
    if (coordinate == null) {
      return undefined
    }

    try {
      return this.vivaldi.estimateRtt(coordinate)
    } catch {
      return undefined
    }
  }

  /**
   * Validate a coordinate a peer sent and compare it with the RTT we just
   * observed. Returns false (and penalises) for absurd or disproven claims.
   */
  private checkCoordinate (peer: PeerId, coordinate: Coordinate, rtt: number): boolean {
    if (coordinate.vec.length !== this.vivaldi.dimensions) {
      // a different configuration, not a lie: unusable but not punished
      this.log.trace('%p uses %d dimensions, we use %d', peer, coordinate.vec.length, this.vivaldi.dimensions)
      return false
    }

    try {
      this.vivaldi.validate(coordinate)
    } catch (err) {
      this.log('%p sent an invalid coordinate - %e', peer, err)
      this.penalize(peer, 'invalid-coordinate')
      return false
    }

    const local = this.vivaldi.coordinate

    if (local.error <= LIE_MAX_ERROR && coordinate.error <= LIE_MAX_ERROR) {
      const predicted = this.vivaldi.estimateRtt(coordinate)

      if (predicted > this.lieFactor * rtt + LIE_SLACK_MS || rtt > this.lieFactor * predicted + LIE_SLACK_MS) {
        this.log('%p claims a coordinate %d ms away but answered in %d ms', peer, Math.round(predicted), Math.round(rtt))
        this.penalize(peer, 'coordinate-lie')
        this.vivaldi.forget(peer.toString())
        return false
      }
    }

    return true
  }

  private observe (peer: PeerId, coordinate: Coordinate, rtt: number): void {
    try {
      const updated = this.vivaldi.observe(peer.toString(), coordinate, rtt)
      this.safeDispatch('coordinate:updated', updated)
    } catch (err) {
      this.log.trace('ignoring sample from %p - %e', peer, err)
    }
  }

  private recordRtt (peer: PeerId, rtt: number): void {
    try {
      this.rtt.addSample(peer.toString(), rtt)
      this.safeDispatch('peer:measured', { peerId: peer, rtt })
    } catch (err) {
      this.log.trace('ignoring RTT sample to %p - %e', peer, err)
    }
  }

  private penalize (peer: PeerId, event: TrustEvent): number {
    const trust = this.trust.record(peer.toString(), event)
    this.log('%p penalised for %s, trust now %d', peer, event, trust)
    this.safeDispatch('peer:penalized', { peerId: peer, event, trust })
    return trust
  }

  private remember (peer: PeerId, update: Partial<KnownPeer>): void {
    const id = peer.toString()
    const entry = this.known.get(id) ?? { peerId: peer }
    this.known.delete(id)
    this.known.set(id, { ...entry, ...update })

    while (this.known.size > MAX_KNOWN_PEERS) {
      const oldest = this.known.keys().next().value

      if (oldest == null) {
        break
      }

      this.known.delete(oldest)
    }
  }

  private safeDispatch<K extends keyof RouterEvents> (type: K, detail: RouterEvents[K]['detail']): void {
    try {
      this.safeDispatchEvent(type, { detail })
    } catch (err) {
      this.log.error('event listener for %s threw - %e', type, err)
    }
  }

  /**
   * Answer a probe: remember the prober's coordinate (for predictions only:
   * we have no RTT sample of our own for it) and reply with ours, and our
   * load if asked and known.
   */
  private async handleProbe (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.timeout)
    setMaxListeners(Infinity, signal)

    // only what the prober sent is its fault, not a failure to encode our own reply
    let received = false

    try {
      const lp = lpStream(stream, { maxDataLength: MAX_PROBE_MESSAGE_SIZE })
      const message = decodeMessage(await lp.read({ signal }))

      if (message.kind !== 'probe') {
        throw new InvalidProbeMessageError('expected a probe')
      }

      received = true

      if (message.coordinate.vec.length === this.vivaldi.dimensions) {
        try {
          this.vivaldi.validate(message.coordinate)
          this.remember(connection.remotePeer, { coordinate: message.coordinate })
        } catch (err) {
          this.penalize(connection.remotePeer, 'invalid-coordinate')
        }
      }

      const load = message.wantLoad && this.loadFn != null ? await this.loadFn() : undefined
      await lp.write(encodeMessage({ kind: 'reply', coordinate: this.vivaldi.coordinate, load }), { signal })
      await stream.close({ signal })
    } catch (err: any) {
      if (!received && err?.name === 'InvalidProbeMessageError') {
        this.penalize(connection.remotePeer, 'invalid-message')
      }

      this.log('error answering probe from %p - %e', connection.remotePeer, err)
      stream.abort(err)
    }
  }

  private async probeRandomPeer (options?: AbortOptions): Promise<void> {
    const connections = this.components.connectionManager.getConnections()

    if (connections.length === 0) {
      return
    }

    const connection = connections[Math.floor(Math.random() * connections.length)]

    try {
      await this.probe(connection.remotePeer, options)
    } catch (err) {
      this.log.trace('background probe of %p failed - %e', connection.remotePeer, err)
    }
  }
}
