import { BoundedMap } from '@shoal/utils'
import { RTT_MAX_PEERS } from './constants.js'
import { failover, hedge } from './failover.js'
import { checkLocation } from './location.js'
import { rankCandidates } from './score.js'
import type { CoordinateClient } from './coordinate-client.js'
import type { Attempt, AttemptRecord, FailoverOptions, HedgeOptions, RoutedResult } from './failover.js'
import type { LocationCheckInit } from './location.js'
import type { ChooseOptions, ProbeResult, RouterCandidate, RouterChoice, RouterRejection, RoutingDecision } from './index.js'
import type { PeerBook } from './peer-book.js'
import type { JobProfile, RoutingPolicy, ScoreCandidate } from './score.js'
import type { PeerId } from '@libp2p/interface'

/**
 * What a {@link Chooser} needs.
 */
export interface ChooserInit {
  /** Our own id: never a candidate */
  peerId: PeerId
  book: PeerBook
  client: CoordinateClient
  policy: RoutingPolicy
  /** Default late-binding probes per decision */
  lateBindingProbes: number
  /** Peers below this trust are refused */
  minTrust: number
  /** Check claimed geohashes against measured RTT (when the caller gives its own); false: never */
  locationCheck: LocationCheckInit | false
}

/** Where the caller is and what region its job needs: what the location check compares claims with. */
interface Whereabouts {
  own?: string
  region?: string
}

/**
 * Choice and failover glue: ranks candidates with what the peer book knows,
 * probes the best few for load (late binding), and turns the outcome of
 * each attempt into trust.
 */
export class Chooser {
  private readonly peerId: PeerId
  private readonly book: PeerBook
  private readonly client: CoordinateClient
  private readonly policy: RoutingPolicy
  private readonly lateBindingProbes: number
  private readonly minTrust: number
  private readonly locationCheck: LocationCheckInit | false
  /** peer -> when the RTT sample we last found to prove its location a lie was taken: one penalty per sample, not per decision */
  private readonly liesPenalized = new BoundedMap<string, number>(RTT_MAX_PEERS)

  constructor (init: ChooserInit) {
    this.peerId = init.peerId
    this.book = init.book
    this.client = init.client
    this.policy = init.policy
    this.lateBindingProbes = Math.max(0, init.lateBindingProbes)
    this.minTrust = init.minTrust
    this.locationCheck = init.locationCheck
  }

  /**
   * Rank `candidates` for `job`, probe the `d` best for load and coordinate,
   * and rank again with what they answered.
   */
  async choose<T extends RouterCandidate> (candidates: T[], job: JobProfile = {}, options: ChooseOptions = {}): Promise<RoutingDecision<T>> {
    const policy = options.policy ?? this.policy
    const d = Math.max(0, options.probes ?? this.lateBindingProbes)
    const unique = new Map<string, T>()

    for (const c of candidates) {
      if (!c.peerId.equals(this.peerId)) {
        unique.set(c.peerId.toString(), c)
      }
    }

    const probes = new Map<string, ProbeResult>()
    const probeFailures = new Map<string, string>()
    const where: Whereabouts = { own: options.geohash, region: job.region }
    let decision = this.rank([...unique.values()], job, policy, probes, probeFailures, where)
    const toProbe = decision.choices.slice(0, d)

    if (toProbe.length > 0) {
      await Promise.all(toProbe.map(async (choice) => {
        try {
          probes.set(choice.candidate.id, await this.client.probe(choice.peerId, { load: true, signal: options.signal }))
        } catch (err: unknown) {
          probeFailures.set(choice.candidate.id, `probe failed: ${err instanceof Error ? err.name : 'Error'}`)
        }
      }))

      decision = this.rank([...unique.values()], job, policy, probes, probeFailures, where)
    }

    for (const r of decision.rejected) {
      if (r.reason === 'location-lie') {
        this.penalizeLie(r.peerId)
      }
    }

    return { ...decision, probes: toProbe.length }
  }

  /** {@link failover} with outcomes recorded as trust */
  async failover<T extends RouterCandidate, R> (choices: Array<RouterChoice<T>>, attempt: Attempt<RouterChoice<T>, R>, options: RouterFailoverOptions<RouterChoice<T>> = {}): Promise<RoutedResult<RouterChoice<T>, R>> {
    return failover(choices, attempt, { ...options, onOutcome: this.outcomeHandler(options) })
  }

  /** {@link hedge} with outcomes recorded as trust */
  async hedge<T extends RouterCandidate, R> (choices: Array<RouterChoice<T>>, attempt: Attempt<RouterChoice<T>, R>, options: RouterHedgeOptions<RouterChoice<T>> = {}): Promise<RoutedResult<RouterChoice<T>, R>> {
    return hedge(choices, attempt, { ...options, onOutcome: this.outcomeHandler(options) })
  }

  private outcomeHandler<T extends RouterCandidate> (options: TrustOptions<RouterChoice<T>> & Pick<FailoverOptions<RouterChoice<T>>, 'onOutcome'>): (record: AttemptRecord<RouterChoice<T>>) => void {
    const user = options.onOutcome
    const classify = options.classifyFailure ?? classifyFailure
    return (record) => {
      const peer = record.candidate.peerId

      if (record.ok) {
        this.book.reward(peer)
        user?.(record)
        return
      }
      let failure: AttemptFailure
      try {
        failure = classify(record.error, record.candidate)
      } catch {
        // a caller's reading that throws must not cost the provider more than the default would
        failure = classifyFailure(record.error)
      }
      if (failure === 'declined') {
        // an honest no (the job does not fit it, or its time is up) costs no trust
        user?.(record)
        return
      }
      if ((failure === 'busy' || failure === 'silent') && this.book.claimedFreeSlots(peer)) {
        // it told us it had room a moment ago: refusing as busy or going
        // silent now is either a lie or a very unlucky race, and lies must
        // cost more than bad luck
        this.book.penalize(peer, 'refused-with-free-slots')
      } else {
        this.book.penalize(peer, failure === 'silent' || failure === 'slow' ? 'timeout' : 'failure')
      }

      user?.(record)
    }
  }

  /** A location lie costs trust once per RTT sample that proves it, however many decisions see it. */
  private penalizeLie (peer: PeerId): void {
    const id = peer.toString()
    const sampled = this.book.rtt.get(id)?.updated
    if (sampled == null || this.liesPenalized.get(id) === sampled) {
      return
    }
    this.liesPenalized.set(id, sampled)
    this.book.penalize(peer, 'location-lie')
  }

  private rank<T extends RouterCandidate> (candidates: T[], job: JobProfile, policy: RoutingPolicy, probes: Map<string, ProbeResult>, probeFailures: Map<string, string>, where: Whereabouts = {}): Omit<RoutingDecision<T>, 'probes'> {
    const rejected: Array<RouterRejection<T>> = []
    const scored: Array<ScoreCandidate & { input: T }> = []

    for (const input of candidates) {
      const refusal = this.refusal(input, probeFailures)
      const id = input.peerId.toString()

      if (refusal != null) {
        rejected.push({ candidate: { id }, reason: refusal, explain: `${id}: refused, ${refusal}`, peerId: input.peerId, input })
        continue
      }
      const misplaced = this.misplaced(input, where)
      if (misplaced != null) {
        rejected.push({ candidate: { id }, reason: misplaced.verdict, explain: `${id}: refused, ${misplaced.verdict}: ${misplaced.explain}`, peerId: input.peerId, input })
      } else {
        scored.push(this.toScoreCandidate(input, probes.get(input.peerId.toString())))
      }
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

  /** Why `input` is refused before scoring (untrusted, failed its probe), if it is */
  private refusal (input: RouterCandidate, probeFailures: Map<string, string>): string | undefined {
    const id = input.peerId.toString()
    const trust = this.book.trust.get(id)

    if (trust < this.minTrust) {
      return `untrusted (trust ${trust.toFixed(2)})`
    }

    return probeFailures.get(id)
  }

  /** Why `input`'s claimed geohash cannot be true (or, for a job that requires a region, is implausible) given the RTT measured to it, if so */
  private misplaced (input: RouterCandidate, where: Whereabouts): ReturnType<typeof checkLocation> {
    if (this.locationCheck === false || where.own == null || input.geohash == null) {
      return undefined
    }
    const rtt = this.book.rtt.get(input.peerId.toString())
    if (rtt == null) {
      return undefined
    }
    const regionRequired = where.region != null && where.region !== ''
    return checkLocation({ own: where.own, claimed: input.geohash, rtt, regionRequired }, this.locationCheck)
  }

  /** What the policy scores: the claims, overridden by what we measured and probed */
  private toScoreCandidate<T extends RouterCandidate> (input: T, probe?: ProbeResult): ScoreCandidate & { input: T } {
    const id = input.peerId.toString()
    const trust = this.book.trust.get(id)
    const { peerId, coordinate, ...claims } = input
    const candidate: ScoreCandidate & { input: T } = {
      ...claims,
      id,
      input,
      rtt: this.book.rtt.get(id)?.smoothed,
      predictedRtt: this.book.predict(probe?.coordinate ?? coordinate ?? this.book.knownCoordinate(peerId)),
      loss: this.book.rtt.loss(id),
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

    return candidate
  }
}

/**
 * What a failed attempt says about the provider: it refused for lack of
 * room (`busy`), did not answer in time or at all (`silent`), took the work
 * and ran out of time while reporting progress (`slow`), answered with a
 * failure that says nothing about its free slots (`failed`: it asked for
 * payment, sent a bad record, lost the job), or said no to the job itself
 * (`declined`: it does not fit the provider, or its time is up; costs no trust).
 */
export type AttemptFailure = 'busy' | 'silent' | 'slow' | 'failed' | 'declined'

/**
 * The default reading of a failed attempt: a `TimeoutError` is silence,
 * anything else a refusal. A caller that can tell an honest decline from a
 * refusal (the work service can) passes its own `classifyFailure`.
 */
export function classifyFailure (error: Error | undefined): AttemptFailure {
  return error?.name === 'TimeoutError' ? 'silent' : 'busy'
}

/** How the router's failover and hedge count failures against trust. */
export interface TrustOptions<C> {
  /**
   * Read a failed attempt on `candidate`; `busy` or `silent` from a
   * provider that claimed free slots moments before costs
   * `refused-with-free-slots`
   *
   * @default classifyFailure
   */
  classifyFailure?(error: Error | undefined, candidate: C): AttemptFailure
}

/** Options of the router's {@link Chooser.failover}. */
export interface RouterFailoverOptions<C> extends FailoverOptions<C>, TrustOptions<C> {}

/** Options of the router's {@link Chooser.hedge}. */
export interface RouterHedgeOptions<C> extends HedgeOptions<C>, TrustOptions<C> {}
