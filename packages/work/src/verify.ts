/**
 * Result verification, the requester's side (docs/spec.md, "Result
 * verification"): which jobs to verify, redundant runs on several providers
 * of which only the results a quorum agrees on are countersigned, checks of
 * a single run against an answer a quorum gave before, and the memory of
 * both (verified results per provider, known answers) in the datastore.
 */

import { AssignmentType, JobAnnouncementType, WorkReceiptType, openRecord } from '@shoal/records'
import { BoundedMap } from '@shoal/utils'
import { Key } from 'interface-datastore'
import { MAX_KNOWN_ANSWERS, MAX_VERIFIED_PEERS } from './constants.js'
import { NoQuorumError, ResultRejectedError } from './errors.js'
import { hex, sha256 } from './utils.js'
import type { WorkContext } from './context.js'
import type { CheckedResult, DirectRunOptions, RunOutcome, Verification, VerifyPolicy, WorkRun } from './index.js'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { JobAnnouncement, SignedRecord } from '@shoal/records'
import type { Datastore } from 'interface-datastore'

/** Prefix of the verified-result counts: one entry per provider (its peer id). */
export const VERIFIED_PREFIX = '/shoal/work/verified'
/** Prefix of the known answers: one entry per kind, workload and input hash. */
export const KNOWN_ANSWERS_PREFIX = '/shoal/work/known-answers'

/** The defaults of a VerifyPolicy (docs/spec.md). */
const DEFAULTS = { redundancy: 1, quorum: 2, spotCheckRate: 0.1, probationJobs: 1, replayCheckRate: 0.1 }

/** A VerifyPolicy with every default applied. */
export interface VerifySettings {
  redundancy: number
  quorum: number
  spotCheckRate: number
  probationJobs: number
  replayCheckRate: number
  random(): number
}

/** Apply the defaults to `policy`; redundancy is raised to the quorum when a job is verified. */
export function verifySettings (policy: VerifyPolicy): VerifySettings {
  return {
    redundancy: Math.max(1, Math.floor(policy.redundancy ?? DEFAULTS.redundancy)),
    quorum: Math.max(1, Math.floor(policy.quorum ?? DEFAULTS.quorum)),
    spotCheckRate: policy.spotCheckRate ?? DEFAULTS.spotCheckRate,
    probationJobs: Math.max(0, policy.probationJobs ?? DEFAULTS.probationJobs),
    replayCheckRate: policy.replayCheckRate ?? DEFAULTS.replayCheckRate,
    random: policy.random ?? Math.random
  }
}

/** What the quorum decides over the result hashes received so far (indices into them). */
export interface QuorumDecision {
  /** the result (hash) `quorum` results share, if any */
  winner?: string
  /** the results with the winning hash */
  agreeing: number[]
  /** the results with another hash (empty while undecided) */
  rejected: number[]
}

/**
 * Decide over `hashes` (one per result, in the order they came): the hash
 * shared by the most results wins once at least `quorum` share it (on a
 * tie, the hash that came first); every other result loses. Undecided:
 * no winner, nobody agreeing or rejected.
 */
export function decideQuorum (hashes: string[], quorum: number): QuorumDecision {
  const groups = new Map<string, number[]>()
  hashes.forEach((hash, i) => {
    const group = groups.get(hash) ?? []
    group.push(i)
    groups.set(hash, group)
  })
  let winner: string | undefined
  let size = 0
  // a Map iterates in first-insertion order: a tie goes to the hash seen first
  for (const [hash, group] of groups) {
    if (group.length > size) {
      winner = hash
      size = group.length
    }
  }
  if (winner == null || size < Math.max(1, quorum)) {
    return { agreeing: [], rejected: [] }
  }
  return {
    winner,
    agreeing: groups.get(winner) ?? [],
    rejected: hashes.flatMap((hash, i) => hash === winner ? [] : [i])
  }
}

/** An answer a quorum agreed on, with the runs and jobs that show it (for wrong-result evidence). */
export interface KnownAnswer {
  resultHash: string
  runs: WorkRun[]
  jobs: Array<SignedRecord<JobAnnouncement>>
}

/** The key of a job's known answer: its kind, workload and input hash; undefined when the signed job does not name this input. */
export function answerKey (job: SignedRecord<JobAnnouncement>, input: Uint8Array): string | undefined {
  const inputHash = hex(sha256(input))
  if (hex(job.value.inputHash) !== inputHash) {
    return undefined
  }
  // one datastore key segment: '/' would nest it
  return `${job.value.kind}-${hex(new TextEncoder().encode(job.value.workload))}-${inputHash}`
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')
const unb64 = (text: unknown): Uint8Array => {
  if (typeof text !== 'string') {
    throw new TypeError('not base64 text')
  }
  return new Uint8Array(Buffer.from(text, 'base64'))
}

/**
 * What the requester remembers of verification: results verified per
 * provider (probation) and the answers quorums agreed on (known-answer
 * checks), both bounded, least recent first out, in memory and in the datastore.
 */
export class VerificationMemory {
  private readonly verified = new BoundedMap<string, number>(MAX_VERIFIED_PEERS)
  private readonly answers = new BoundedMap<string, KnownAnswer>(MAX_KNOWN_ANSWERS)
  private readonly datastore?: Datastore
  private readonly ctx: WorkContext

  constructor (ctx: WorkContext) {
    this.ctx = ctx
    this.datastore = ctx.components.datastore
  }

  /** Results of `peer` this requester has verified. */
  verifiedCount (peer: PeerId): number {
    return this.verified.get(peer.toString()) ?? 0
  }

  /** A result of `peer` was verified. */
  async bump (peer: PeerId, options?: AbortOptions): Promise<void> {
    const id = peer.toString()
    const count = (this.verified.get(id) ?? 0) + 1
    await this.keep(this.verified, id, count, VERIFIED_PREFIX, { count }, options)
  }

  /** The answer a quorum agreed on for this job's kind, workload and input, if one is known. */
  knownAnswer (key: string): KnownAnswer | undefined {
    return this.answers.get(key)
  }

  /** Remember the answer a quorum agreed on. */
  async remember (key: string, answer: KnownAnswer, options?: AbortOptions): Promise<void> {
    await this.keep(this.answers, key, answer, KNOWN_ANSWERS_PREFIX, {
      resultHash: answer.resultHash,
      receipts: answer.runs.map(run => b64(run.receipt.bytes)),
      assignments: answer.runs.map(run => b64(run.assignment.bytes)),
      jobs: answer.jobs.map(job => b64(job.bytes))
    }, options)
  }

  /** Read back what an earlier run kept; an entry that does not decode or open is dropped. */
  async load (options?: AbortOptions): Promise<void> {
    if (this.datastore == null) {
      return
    }
    const dropped: Key[] = []
    for await (const { key, value } of this.datastore.query({ prefix: VERIFIED_PREFIX }, options)) {
      try {
        const count = JSON.parse(new TextDecoder().decode(value)).count
        if (!Number.isSafeInteger(count) || count < 0) {
          throw new TypeError('bad count')
        }
        this.verified.set(key.baseNamespace(), count)
      } catch (err: unknown) {
        this.ctx.log.error('dropped saved verified count %s - %e', key.toString(), err)
        dropped.push(key)
      }
    }
    for await (const { key, value } of this.datastore.query({ prefix: KNOWN_ANSWERS_PREFIX }, options)) {
      try {
        const o = JSON.parse(new TextDecoder().decode(value))
        const receipts = await Promise.all((o.receipts as unknown[]).map(async r => openRecord(WorkReceiptType, unb64(r), { ignoreTime: true })))
        const assignments = await Promise.all((o.assignments as unknown[]).map(async a => openRecord(AssignmentType, unb64(a), { ignoreTime: true })))
        const jobs = await Promise.all((o.jobs as unknown[]).map(async j => openRecord(JobAnnouncementType, unb64(j), { ignoreTime: true })))
        if (typeof o.resultHash !== 'string' || receipts.length !== assignments.length || receipts.length === 0) {
          throw new TypeError('malformed known answer')
        }
        this.answers.set(key.baseNamespace(), { resultHash: o.resultHash, runs: receipts.map((receipt, i) => ({ receipt, assignment: assignments[i] })), jobs })
      } catch (err: unknown) {
        this.ctx.log.error('dropped saved known answer %s - %e', key.toString(), err)
        dropped.push(key)
      }
    }
    for (const key of dropped) {
      try {
        await this.datastore.delete(key, options)
      } catch {}
    }
  }

  /** Set `key` in `map` and the datastore; the entry the bound pushes out of memory leaves the datastore too. */
  private async keep<V> (map: BoundedMap<string, V>, key: string, value: V, prefix: string, saved: unknown, options?: AbortOptions): Promise<void> {
    const evicted = !map.has(key) && map.size >= map.maxSize ? map.keys().next().value : undefined
    map.set(key, value)
    if (this.datastore == null) {
      return
    }
    try {
      if (evicted != null) {
        await this.datastore.delete(new Key(`${prefix}/${evicted}`), options)
      }
      await this.datastore.put(new Key(`${prefix}/${key}`), new TextEncoder().encode(JSON.stringify(saved)), options)
    } catch (err: unknown) {
      this.ctx.log.error('could not save verification state - %e', err)
    }
  }
}

/** What a verified run needs of the requester: one slot's run with failover over the shared candidates. */
export interface SlotRunner {
  /**
   * Run `job` on `candidates` in turn (the requester's failover), trying
   * only those `claim` hands to this slot
   */
  runSlot(candidates: PeerId[], job: SignedRecord<JobAnnouncement>, input: Uint8Array, options: DirectRunOptions, claim: (peer: PeerId) => boolean): Promise<RunOutcome>
}

/** One result waiting for the quorum's decision. */
interface Submitted {
  run: CheckedResult
  hash: string
  /** the slot it came from: settles once it is countersigned (or refused) */
  slot: Promise<RunOutcome>
  accept(): void
  reject(err: Error): void
}

/**
 * One job run on several providers at once until `quorum` of them agree:
 * each slot fails over to the next unused candidate, each result waits in
 * `checkResult` for the decision, and while results disagree and
 * candidates remain one more provider is added as a tie-breaker.
 */
export class QuorumRun {
  private readonly ctx: WorkContext
  private readonly memory: VerificationMemory
  private readonly runner: SlotRunner
  private readonly candidates: PeerId[]
  private readonly job: SignedRecord<JobAnnouncement>
  private readonly input: Uint8Array
  private readonly options: DirectRunOptions
  private readonly quorum: number
  /** when no more tie-breakers are started, performance.now ms */
  private readonly endAt: number
  private readonly claimed = new Set<string>()
  private readonly results: Submitted[] = []
  /** why slots ended without a result: with no result at all, the first is what the run fails with */
  private readonly slotErrors: unknown[] = []
  private active = 0
  private waiting = 0
  private decision?: QuorumDecision
  private failed = false
  /** the check was only sampled (probation, spot check), not asked for: without a quorum, results that do not disagree stand */
  private readonly sampled: boolean
  /** settles once the quorum decided (the agreeing results), or that it cannot */
  private readonly decided: Promise<Submitted[]>
  private decide!: { resolve(agreeing: Submitted[]): void, reject(err: Error): void }

  constructor (ctx: WorkContext, memory: VerificationMemory, runner: SlotRunner, init: { candidates: PeerId[], job: SignedRecord<JobAnnouncement>, input: Uint8Array, options: DirectRunOptions, quorum: number, timeoutMs?: number, sampled?: boolean }) {
    this.ctx = ctx
    this.memory = memory
    this.runner = runner
    this.candidates = init.candidates
    this.job = init.job
    this.input = init.input
    this.options = init.options
    this.quorum = init.quorum
    this.sampled = init.sampled ?? false
    this.endAt = performance.now() + (init.timeoutMs ?? ctx.settings.jobTimeoutMs)
    this.decided = new Promise((resolve, reject) => { this.decide = { resolve, reject } })
  }

  /** Run on `redundancy` providers and resolve to the agreeing run of the first-ranked candidate. */
  async run (redundancy: number): Promise<RunOutcome> {
    // it may reject before it is awaited below: not an unhandled rejection
    this.decided.catch(() => {})
    if (this.candidates.length < this.quorum) {
      // no quorum can agree: nobody is asked to work for a result that could never be countersigned
      throw new NoQuorumError(`${this.candidates.length} candidates cannot make a quorum of ${this.quorum}`)
    }
    for (let i = 0; i < Math.min(redundancy, this.candidates.length); i++) {
      this.launch()
    }
    const winners = await this.decided
    const settled = await Promise.allSettled(winners.map(async w => w.slot))
    const outcomes = settled.flatMap(s => s.status === 'fulfilled' ? [s.value] : [])
    if (outcomes.length === 0) {
      const first = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
      throw first?.reason ?? new NoQuorumError('the agreeing runs did not complete')
    }
    const rank = (o: RunOutcome): number => this.candidates.findIndex(c => c.equals(o.provider))
    outcomes.sort((a, b) => rank(a) - rank(b))
    return { ...outcomes[0], verification: this.verification() }
  }

  private verification (): Verification {
    const peers = (indices: number[]): PeerId[] => indices.map(i => this.results[i].run.provider)
    return {
      providers: this.results.map(r => r.run.provider),
      agreeing: peers(this.decision?.agreeing ?? []),
      rejected: peers(this.decision?.rejected ?? [])
    }
  }

  /** Whether `peer` may be tried by a slot: not yet tried by any, and the run still undecided. */
  private readonly claim = (peer: PeerId): boolean => {
    const id = peer.toString()
    if (this.decision != null || this.failed || this.claimed.has(id)) {
      return false
    }
    this.claimed.add(id)
    return true
  }

  private launch (): void {
    this.active++
    const checkResult = async (run: CheckedResult, options: AbortOptions): Promise<void> => {
      await this.options.checkResult?.(run, options)
      if (!succeeded(run)) {
        // a run that failed (its executor's status) is no vote for or against a result: the slot moves on to
        // the next candidate, as an unchecked run fails over
        throw new ResultRejectedError(`the run failed (status ${run.receipt.value.status}): no result to compare`)
      }
      await new Promise<void>((resolve, reject) => {
        this.submit({ run, hash: resultKey(run), slot, accept: resolve, reject })
      })
    }
    const slot = this.runner.runSlot(this.candidates, this.job, this.input, { ...this.options, checkResult }, this.claim)
    slot.catch((err: unknown) => { this.slotErrors.push(err) }).finally(() => {
      this.active--
      this.evaluate()
    })
  }

  private submit (submitted: Submitted): void {
    if (this.failed) {
      submitted.reject(new ResultRejectedError('no quorum agreed on a result'))
      return
    }
    this.results.push(submitted)
    if (this.decision?.winner != null) {
      // a late result: judged against the decision
      const index = this.results.length - 1
      if (submitted.hash === this.decision.winner) {
        this.decision.agreeing.push(index)
        this.accept(submitted)
      } else {
        this.decision.rejected.push(index)
        this.refuse(submitted, this.decision.agreeing.map(i => this.results[i]))
      }
      return
    }
    this.waiting++
    this.evaluate()
  }

  /** Decide once `quorum` results agree; add a tie-breaker, or give up, when every slot has answered without one. */
  private evaluate (): void {
    if (this.decision != null || this.failed) {
      return
    }
    const decision = decideQuorum(this.results.map(r => r.hash), this.quorum)
    if (decision.winner != null) {
      this.decision = decision
      this.waiting = 0
      const agreeing = decision.agreeing.map(i => this.results[i])
      agreeing.forEach(r => { this.accept(r) })
      decision.rejected.forEach(i => { this.refuse(this.results[i], agreeing) })
      this.rememberAnswer(decision.winner, agreeing)
      this.decide.resolve(agreeing)
      return
    }
    if (this.active > this.waiting) {
      // a slot is still running: its result may decide
      return
    }
    const unused = this.candidates.some(c => !this.claimed.has(c.toString()))
    if (unused && performance.now() < this.endAt && this.options.signal?.aborted !== true) {
      this.ctx.log('results of job %s disagree, adding a provider', hex(this.job.value.jobId))
      this.launch()
      return
    }
    const hashes = new Set(this.results.map(r => r.hash))
    if (this.sampled && hashes.size === 1) {
      // a sampled check the other providers could not answer (gone, busy, handed back) proves nothing either way:
      // the job stands as if unchecked (no provider counted verified, no known answer kept)
      this.ctx.log('job %s: too few results for a quorum, accepted unverified', hex(this.job.value.jobId))
      this.decision = { winner: [...hashes][0], agreeing: this.results.map((_, i) => i), rejected: [] }
      this.waiting = 0
      this.results.forEach(r => { r.accept() })
      this.decide.resolve(this.results)
      return
    }
    this.failed = true
    const refusal = new ResultRejectedError('no quorum agreed on a result')
    this.results.forEach(r => { r.reject(refusal) })
    // no provider answered at all: the job failed as an unchecked run would have (busy, gone, broken), not for want of a quorum
    const failure = this.results.length === 0 ? this.slotErrors[0] : undefined
    this.decide.reject(failure instanceof Error ? failure : new NoQuorumError(`${this.results.length} results, no ${this.quorum} of them agree`))
  }

  private accept (submitted: Submitted): void {
    submitted.accept()
    this.memory.bump(submitted.run.provider).catch(() => {})
  }

  /** Refuse a result that lost against `agreeing`, and report it as wrong-result evidence. */
  private refuse (submitted: Submitted, agreeing: Submitted[]): void {
    submitted.reject(new ResultRejectedError('result differs from the one a quorum of providers agreed on'))
    this.ctx.count('result_rejected')
    if (!succeeded(submitted.run) || !agreeing.every(r => succeeded(r.run))) {
      // a receipt stating a failed run is no claim of a right result: no wrong-result evidence
      return
    }
    this.ctx.emit('evidence:found', {
      kind: 'wrong-result',
      proof: { offender: runOf(submitted.run), agreeing: agreeing.map(r => runOf(r.run)), jobs: [this.job] }
    })
  }

  private rememberAnswer (resultHash: string, agreeing: Submitted[]): void {
    const key = answerKey(this.job, this.input)
    if (key != null && agreeing.every(r => succeeded(r.run))) {
      this.memory.remember(key, { resultHash, runs: agreeing.map(r => runOf(r.run)), jobs: [this.job] }).catch(() => {})
    }
  }
}

/**
 * A `checkResult` checking a single run against a known answer: a
 * different result is refused and reported as wrong-result evidence with
 * the runs that established the answer; a matching one counts as verified.
 */
export function knownAnswerCheck (ctx: WorkContext, memory: VerificationMemory, answer: KnownAnswer, job: SignedRecord<JobAnnouncement>, check?: DirectRunOptions['checkResult']): (run: CheckedResult, options: AbortOptions) => Promise<void> {
  return async (run, options) => {
    await check?.(run, options)
    if (resultKey(run) === answer.resultHash) {
      await memory.bump(run.provider, options)
      return
    }
    ctx.count('result_rejected')
    if (!succeeded(run)) {
      throw new ResultRejectedError('the run failed where the answer is known')
    }
    // the runs behind the answer, less any of the offender's own (it may have agreed once): none left, no evidence
    const agreeing = answer.runs.filter(r => !r.receipt.signer.equals(run.provider))
    if (agreeing.length > 0) {
      const jobs = [job, ...answer.jobs.filter(j => hex(j.id) !== hex(job.id))]
      ctx.emit('evidence:found', { kind: 'wrong-result', proof: { offender: runOf(run), agreeing, jobs } })
    }
    throw new ResultRejectedError('result differs from the known answer')
  }
}

/** Whether the provider's receipt states a successful run (status 0). */
function succeeded (run: CheckedResult): boolean {
  return run.receipt.value.status === 0
}

/**
 * What results agree on: the result hash, and the receipt's status when it
 * is not 0 (a failed run agrees only with runs that failed alike, never
 * with a successful one that happens to have the same output).
 */
function resultKey (run: CheckedResult): string {
  const hash = hex(run.receipt.value.resultHash)
  return succeeded(run) ? hash : `${run.receipt.value.status}:${hash}`
}

function runOf (run: CheckedResult): WorkRun {
  return { receipt: run.receipt, assignment: run.assignment }
}
