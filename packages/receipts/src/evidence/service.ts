/**
 * The evidence service: gossips evidence on EVIDENCE_TOPIC, checks what it
 * receives before relaying it, keeps what holds in the datastore and says who
 * the offenders are.
 */

import { TypedEventEmitter, serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { MAX_SIZE, recordId } from '@shoal/records'
import { TokenBucketLimiter, errorMessage } from '@shoal/utils'
import { Key } from 'interface-datastore'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { EVIDENCE_BURST, EVIDENCE_PER_SECOND, EVIDENCE_PREFIX, EVIDENCE_RATE_PEERS, EVIDENCE_TOPIC, MAX_EVIDENCE, MAX_EVIDENCE_PER_OFFENDER } from '../constants.js'
import { InvalidEvidenceError } from '../errors.js'
import { verifyEvidence } from './verify.js'
import type { VerifiedEvidence } from './verify.js'
import type {
  AbortOptions, ComponentLogger, CounterGroup, Logger, Metrics, PeerId, PrivateKey, Startable, TypedEventTarget
} from '@libp2p/interface'
import type { JobBoardPubSub, PubSubMessage, PubSubValidatorResult } from '@shoal/job-board'
import type { Evidence, SignedRecord } from '@shoal/records'
import type { Datastore } from 'interface-datastore'

/** Events of the evidence service. */
export interface EvidenceEvents {
  /** the first valid evidence against a peer arrived (or was reported here) */
  offender: CustomEvent<VerifiedEvidence>
}

/** Gossips and keeps evidence of cheating; says who cheated. */
export interface EvidenceService extends TypedEventTarget<EvidenceEvents>, Startable {
  /** Verify evidence, keep it and publish it; resolves once it holds here, even if no peer heard it. */
  report(evidence: SignedRecord<Evidence>, options?: AbortOptions): Promise<VerifiedEvidence>
  /** Whether valid evidence against `peer` is held. */
  isOffender(peer: PeerId | string): boolean
  /** The first evidence held against each offender. */
  offenders(): VerifiedEvidence[]
}

/** Options of the evidence service. Every field is optional. */
export interface EvidenceInit {
  /**
   * Most evidence records kept (oldest dropped first)
   *
   * @default 4096
   */
  maxEvidence?: number
  /**
   * Most evidence records kept per offender; later ones are ignored, not relayed
   *
   * @default 3
   */
  maxPerOffender?: number
  /**
   * Evidence messages each gossip peer may hand us, before any is verified:
   * a token bucket per sending peer. Real evidence is rare; valid evidence
   * against throwaway keys costs nothing to mint, and a flood of it would
   * push real evidence out of `maxEvidence`. Over it: ignored (not relayed)
   *
   * @default { burst: 32, perSecond: 2 }
   */
  rateLimit?: { burst?: number, perSecond?: number }
  /** the clock evidence times are checked against (default Date.now) */
  now?(): number
}

/** The libp2p components the evidence service uses. */
export interface EvidenceComponents {
  peerId: PeerId
  privateKey: PrivateKey
  logger: ComponentLogger
  pubsub: JobBoardPubSub
  datastore?: Datastore
  metrics?: Metrics
}

function hex (bytes: Uint8Array): string {
  return uint8ArrayToString(bytes, 'base16')
}

/** The evidence service (see EvidenceService). */
export class DefaultEvidenceService extends TypedEventEmitter<EvidenceEvents> implements EvidenceService {
  readonly [Symbol.toStringTag] = '@shoal/evidence'
  readonly [serviceCapabilities]: string[] = ['@shoal/evidence']
  readonly [serviceDependencies]: string[] = ['@libp2p/pubsub']

  private readonly components: EvidenceComponents
  private readonly log: Logger
  private readonly maxEvidence: number
  private readonly maxPerOffender: number
  private readonly now?: () => number
  private readonly counters?: CounterGroup
  /** evidence by record id (hex), oldest first */
  private readonly held = new Map<string, VerifiedEvidence>()
  /** ids of the evidence held against each offender (peer id string), oldest first */
  private readonly byOffender = new Map<string, string[]>()
  private started = false
  private subscribed = false

  /** evidence messages each gossip peer may hand us (`EvidenceInit.rateLimit`) */
  private readonly limiter: TokenBucketLimiter

  constructor (components: EvidenceComponents, init: EvidenceInit = {}) {
    super()
    this.components = components
    this.log = components.logger.forComponent('shoal:evidence')
    this.maxEvidence = init.maxEvidence ?? MAX_EVIDENCE
    this.maxPerOffender = init.maxPerOffender ?? MAX_EVIDENCE_PER_OFFENDER
    this.now = init.now
    this.limiter = new TokenBucketLimiter({ burst: init.rateLimit?.burst ?? EVIDENCE_BURST, perSecond: init.rateLimit?.perSecond ?? EVIDENCE_PER_SECOND, maxKeys: EVIDENCE_RATE_PEERS })
    this.counters = components.metrics?.registerCounterGroup('shoal_evidence_messages_total', {
      help: 'Evidence messages received, by verdict'
    })
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    await this.load()
    this.started = true
  }

  /** Join the topic once pubsub runs. */
  afterStart (): void {
    const pubsub = this.components.pubsub
    pubsub.topicValidators.set(EVIDENCE_TOPIC, this.validate)
    pubsub.subscribe(EVIDENCE_TOPIC)
    this.subscribed = true
  }

  /** Leave the topic while pubsub still runs. */
  beforeStop (): void {
    if (this.subscribed) {
      this.subscribed = false
      this.components.pubsub.unsubscribe(EVIDENCE_TOPIC)
      this.components.pubsub.topicValidators.delete(EVIDENCE_TOPIC)
    }
  }

  async stop (): Promise<void> {
    this.started = false
  }

  async report (evidence: SignedRecord<Evidence>, options: AbortOptions = {}): Promise<VerifiedEvidence> {
    const verified = await verifyEvidence(evidence, { signal: options.signal, now: this.now })
    const known = this.held.get(hex(verified.id))
    if (known != null) {
      return known
    }
    if (!(await this.apply(verified))) {
      // enough is held against this offender: peers would ignore it too
      return verified
    }
    try {
      await this.components.pubsub.publish(EVIDENCE_TOPIC, verified.record.bytes)
    } catch (err: unknown) {
      // it holds here already; peers that join later hear of the offender from their own runs or others' reports
      this.log('could not publish evidence against %p: %e', verified.offender, err)
    }
    return verified
  }

  isOffender (peer: PeerId | string): boolean {
    return this.byOffender.has(typeof peer === 'string' ? peer : peer.toString())
  }

  offenders (): VerifiedEvidence[] {
    const out: VerifiedEvidence[] = []
    for (const ids of this.byOffender.values()) {
      const first = this.held.get(ids[0])
      if (first != null) {
        out.push(first)
      }
    }
    return out
  }

  /** Topic validator: invalid evidence is rejected (its sender penalised), known or surplus evidence ignored. */
  private readonly validate = async (from: PeerId, message: PubSubMessage): Promise<PubSubValidatorResult> => {
    const verdict = await this.judge(from, message.data)
    this.counters?.increment({ [verdict]: true })
    return verdict
  }

  private async judge (from: PeerId, data: Uint8Array): Promise<PubSubValidatorResult> {
    if (data.byteLength > MAX_SIZE.Evidence) {
      return 'reject'
    }
    if (!this.limiter.tryTake(from.toString())) {
      return 'ignore'
    }
    if (this.held.has(hex(recordId(data)))) {
      return 'ignore'
    }
    let verified: VerifiedEvidence
    try {
      verified = await verifyEvidence(data, { now: this.now })
    } catch (err: unknown) {
      this.log('rejected evidence from %p: %s', from, errorMessage(err))
      return 'reject'
    }
    if ((this.byOffender.get(verified.offender.toString())?.length ?? 0) >= this.maxPerOffender) {
      return 'ignore'
    }
    try {
      return (await this.apply(verified)) ? 'accept' : 'ignore'
    } catch (err: unknown) {
      this.log.error('could not keep evidence against %p: %e', verified.offender, err)
      return 'ignore'
    }
  }

  /** Hold verified evidence, persist it, and announce a new offender; false when it was not kept (known, or enough held). */
  private async apply (verified: VerifiedEvidence, persist = true): Promise<boolean> {
    const id = hex(verified.id)
    const offender = verified.offender.toString()
    const ids = this.byOffender.get(offender)
    if (this.held.has(id) || (ids?.length ?? 0) >= this.maxPerOffender) {
      return false
    }
    this.held.set(id, verified)
    if (ids == null) {
      this.byOffender.set(offender, [id])
    } else {
      ids.push(id)
    }
    if (persist && this.components.datastore != null) {
      await this.components.datastore.put(new Key(EVIDENCE_PREFIX + id), verified.record.bytes)
    }
    while (this.held.size > this.maxEvidence) {
      await this.dropOldest()
    }
    if (ids == null && this.held.has(id)) {
      this.safeDispatchEvent('offender', { detail: verified })
    }
    return true
  }

  private async dropOldest (): Promise<void> {
    const [id, oldest] = this.held.entries().next().value as [string, VerifiedEvidence]
    this.held.delete(id)
    const offender = oldest.offender.toString()
    const rest = (this.byOffender.get(offender) ?? []).filter(other => other !== id)
    if (rest.length === 0) {
      this.byOffender.delete(offender)
    } else {
      this.byOffender.set(offender, rest)
    }
    await this.components.datastore?.delete(new Key(EVIDENCE_PREFIX + id))
  }

  /** Reload kept evidence, oldest first; an entry that no longer verifies is skipped and logged. */
  private async load (): Promise<void> {
    const datastore = this.components.datastore
    if (datastore == null) {
      return
    }
    const loaded: VerifiedEvidence[] = []
    for await (const { key, value } of datastore.query({ prefix: EVIDENCE_PREFIX })) {
      try {
        loaded.push(await verifyEvidence(value, { now: this.now }))
      } catch (err: unknown) {
        if (err instanceof InvalidEvidenceError) {
          this.log.error('skipped kept evidence %s: %s', key.toString(), err.message)
        } else {
          this.log.error('could not load evidence %s: %e', key.toString(), err)
        }
      }
    }
    // keys are record ids, in no useful order: the bound drops the oldest by creation time
    loaded.sort((a, b) => a.record.value.createdMs - b.record.value.createdMs)
    for (const verified of loaded) {
      await this.apply(verified, false)
    }
  }
}

/** The evidence service factory, in the js-libp2p way: `services: { evidence: evidence() }`. */
export function evidence (init: EvidenceInit = {}): (components: EvidenceComponents) => EvidenceService {
  return (components) => new DefaultEvidenceService(components, init)
}
