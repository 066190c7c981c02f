/**
 * A Shoal client built from stock js-libp2p 3 packages and docs/spec.md
 * alone: it joins the job topics (§2), finds providers by their DHT keys
 * (§3.2), fetches capability records (§3.3), publishes its own jobs, runs
 * work (§4), syncs announcements (§2.5) and probes coordinates (§6).
 */

import { randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { StrictSign, TopicValidatorResult, gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 as sha256Hasher } from 'multiformats/hashes/sha2'
import { equals } from 'uint8arrays/equals'
import { toString } from 'uint8arrays/to-string'
import { RECORD, countersign, open, payloadCode, recordId, seal, sha256 } from './envelope.js'
import {
  AssignmentCodec, CapabilityRecordCodec, CoordinateMessageCodec, JOB_KIND, JobAnnouncementCodec, JobSyncRequestCodec, JobWithdrawalCodec,
  PaymentVoucherCodec, QuoteCodec, WorkMessageCodec, WorkReceiptCodec
} from './messages.js'
import type { Opened } from './envelope.js'
import type { CapabilityRecord, CoordinateMessage, JobAnnouncement, JobSyncRequest, NetworkCoordinate, Quote, WorkMessage, WorkReceipt } from './messages.js'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PeerId, PrivateKey, Stream } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { LengthPrefixedStream } from '@libp2p/utils'

/** Protocol ids of docs/spec.md. */
export const PROTOCOL = {
  kad: '/shoal/kad/1.0.0',
  capability: '/shoal/capability/1.0.0',
  work: '/shoal/work/1.0.0',
  sync: '/shoal/jobs/sync/1.0.0',
  coordinate: '/shoal/coordinate/1.0.0'
} as const

/** §2.1: every job topic starts with this. */
export const JOB_TOPIC_PREFIX = '/shoal/jobs/1.0.0'

/** §3.2: every capability key string starts with this. */
export const CAPABILITY_KEY_PREFIX = '/shoal/cap/1/'

/** §3.2: the geohash precisions a provider advertises at by default. */
export const PRECISIONS = [1, 2, 3]

/** §2.1 topic segment of each job kind. */
const KIND_SEGMENT: Record<number, string> = { [JOB_KIND.GPU_INFERENCE]: 'gpu-inference', [JOB_KIND.GPU_BATCH]: 'gpu-batch', [JOB_KIND.CAPTURE]: 'capture' }

/** §1.4 clock skew. */
const SKEW_MS = 30_000

/** §2.3 step 7: grace beyond the skew within which a record out of its time is ignored, not rejected. */
const GRACE_MS = 60_000

/** §1.5 longest job lifetime: older withdrawals are ignored (§2.3 step 7). */
const MAX_JOB_TTL_MS = 30 * 24 * 60 * 60 * 1000

/** §4.1: largest work message with the default 1 MiB input and output. */
const MAX_WORK_MESSAGE = 1024 * 1024 + 16 * 1024

/** How long one exchange (or one work message) may take before the client gives up, so a hang fails with a reason. */
const EXCHANGE_TIMEOUT_MS = 20_000

/** §2.1: the topic of a kind and region (the first 2 geohash characters), or the kind's global topic. */
export function jobTopic (kind: number, region?: string): string {
  const segment = KIND_SEGMENT[kind]
  if (segment == null) throw new Error(`no topic for kind ${kind}`)
  return `${JOB_TOPIC_PREFIX}/${segment}/${region == null || region.length < 2 ? 'global' : region.slice(0, 2)}`
}

/** §2.1: the topics an announcement is published on: its regional topic when the region has 2 characters or more, the global one when it has fewer or when `global` is asked for. */
export function announcementTopics (kind: number, region = '', global = false): string[] {
  const topics = region.length >= 2 ? [jobTopic(kind, region)] : []
  if (region.length < 2 || global) topics.push(jobTopic(kind))
  return topics
}

/** §3.2: the key string of a capability class in a geohash cell. */
export function capabilityKeyString (capabilityClass: string, cell: string): string {
  return `${CAPABILITY_KEY_PREFIX}${capabilityClass}/${cell}`
}

/** §3.2: the DHT key of a capability class in a geohash cell. */
export async function capabilityKey (capabilityClass: string, cell: string): Promise<CID> {
  const digest = await sha256Hasher.digest(new TextEncoder().encode(capabilityKeyString(capabilityClass, cell)))
  return CID.createV1(raw.code, digest)
}

/** §3.1: the capability classes a record offers, `gpu:<class>` and `sensor:<name>`. */
export function capabilityClasses (record: CapabilityRecord): string[] {
  return [...record.gpus.map(g => `gpu:${g.class}`), ...record.sensors.map(s => `sensor:${s}`)]
}

/** §3.2: the cells a record with geohash `geohash` is advertised in: its prefix at every precision it reaches, else the world cell. */
export function advertisedCells (geohash: string, precisions = PRECISIONS): string[] {
  const cells = precisions.filter(p => p <= geohash.length).map(p => geohash.slice(0, p))
  return cells.length > 0 ? cells : ['']
}

/** A record whose envelope, values, author and time were checked, with its decoded payload. */
export interface Checked<T> extends Opened { value: T }

function checkTime (created: number, expires: number | undefined, now = Date.now()): void {
  if (created > now + SKEW_MS) throw new Error('record not yet valid')
  if (expires != null && expires + SKEW_MS < now) throw new Error('record expired')
}

function checkAuthor (opened: Opened, author: Uint8Array, version: number): void {
  if (version !== 1) throw new Error(`unsupported version ${version}`)
  if (!equals(author, opened.signer.toMultihash().bytes)) throw new Error('author is not the signer')
}

/** Open a JobAnnouncement (§1.4) at time `now`. */
export async function openJob (bytes: Uint8Array, now = Date.now()): Promise<Checked<JobAnnouncement>> {
  const opened = await open(bytes, RECORD.JobAnnouncement)
  const value = JobAnnouncementCodec.decode(opened.payload)
  checkAuthor(opened, value.requester, value.version)
  checkTime(value.createdMs, value.expiresMs, now)
  return { ...opened, value }
}

/** Open a CapabilityRecord served by `peer` for the key of `capabilityClass` in `cell` (§3.3) at time `now`. */
export async function openCapability (bytes: Uint8Array, peer: PeerId, capabilityClass: string, cell: string, now = Date.now()): Promise<Checked<CapabilityRecord>> {
  const opened = await open(bytes, RECORD.CapabilityRecord)
  const value = CapabilityRecordCodec.decode(opened.payload)
  checkAuthor(opened, value.provider, value.version)
  checkTime(value.createdMs, value.expiresMs, now)
  if (!opened.signer.equals(peer)) throw new Error('WrongProviderError: record signed by another peer')
  if (!capabilityClasses(value).includes(capabilityClass) || !value.geohash.startsWith(cell)) throw new Error('AdvertisementMismatchError')
  return { ...opened, value }
}

/**
 * §2.3 for a peer that keeps no board: steps 1-3 and 6-7 (duplicates,
 * withdrawn jobs, first-wins and the rate limit need a board's memory).
 */
export async function validateJobMessage (topic: string, from: PeerId, data: Uint8Array, now = Date.now()): Promise<TopicValidatorResult> {
  const { Accept, Ignore, Reject } = TopicValidatorResult
  try {
    const code = payloadCode(data)
    const kind = code === RECORD.JobAnnouncement.code ? RECORD.JobAnnouncement : code === RECORD.JobWithdrawal.code ? RECORD.JobWithdrawal : undefined
    if (kind == null) return Reject
    const opened = await open(data, kind)
    if (kind === RECORD.JobWithdrawal) {
      const w = JobWithdrawalCodec.decode(opened.payload)
      checkAuthor(opened, w.requester, w.version)
      if (!opened.signer.equals(from)) return Reject
      return w.createdMs + MAX_JOB_TTL_MS < now ? Ignore : Accept
    }
    const job = JobAnnouncementCodec.decode(opened.payload)
    checkAuthor(opened, job.requester, job.version)
    const region = job.requirements?.region ?? ''
    const [segment, topicRegion] = topic.split('/').slice(-2)
    if (KIND_SEGMENT[job.kind] !== segment || (topicRegion !== 'global' && region.slice(0, 2) !== topicRegion)) return Reject
    if (!opened.signer.equals(from)) return Reject
    const early = job.createdMs - (now + SKEW_MS)
    const late = now - (job.expiresMs + SKEW_MS)
    if (early > 0 || late > 0) return Math.max(early, late) <= GRACE_MS ? Ignore : Reject
    return Accept
  } catch {
    return Reject
  }
}

/** What `runJob` saw, step by step. */
export interface JobRun {
  quote: Checked<Quote>
  assignment: Uint8Array
  assignmentId: Uint8Array
  progress: Array<Extract<WorkMessage, { kind: 'progress' }>>
  receipt: Checked<WorkReceipt>
  output: Uint8Array
  countersigned: Uint8Array
  ack: Extract<WorkMessage, { kind: 'ack' }>
}

/** A work stream: length-prefixed WorkMessages (§4.1). */
export class WorkStream {
  readonly stream: Stream
  private readonly lp: LengthPrefixedStream<Stream>

  constructor (stream: Stream) {
    this.stream = stream
    this.lp = lpStream(stream, { maxDataLength: MAX_WORK_MESSAGE })
  }

  async send (message: WorkMessage): Promise<void> {
    await this.lp.write(WorkMessageCodec.encode(message), { signal: AbortSignal.timeout(EXCHANGE_TIMEOUT_MS) })
  }

  /** The next message; a Failure is thrown as an Error named by its code. */
  async next (): Promise<WorkMessage> {
    const message = WorkMessageCodec.decode((await this.lp.read({ signal: AbortSignal.timeout(EXCHANGE_TIMEOUT_MS) })).subarray())
    if (message.kind === 'error') {
      throw Object.assign(new Error(`${message.code}: ${message.message}`), { code: message.code, retryAfterMs: message.retryAfterMs ?? 0 })
    }
    return message
  }

  async expect<K extends WorkMessage['kind']> (kind: K): Promise<Extract<WorkMessage, { kind: K }>> {
    const message = await this.next()
    if (message.kind !== kind) throw new Error(`expected ${kind}, got ${message.kind}`)
    return message as Extract<WorkMessage, { kind: K }>
  }
}

/** A job the client announces. */
export type JobInit = Omit<JobAnnouncement, 'version' | 'jobId' | 'requester' | 'createdMs' | 'expiresMs'> & { lifetimeMs: number }

export type ClientNode = Libp2p<{ identify: Identify, ping: Ping, dht: KadDHT, pubsub: GossipSub }>

/** The client: a stock libp2p node and its key. */
export class ShoalClient {
  readonly node: ClientNode
  readonly key: PrivateKey
  /** quotes providers pushed for our announced jobs (§4.2, open market), checked */
  readonly offered: Array<Checked<Quote>> = []
  private readonly announced = new Map<string, JobAnnouncement>()
  /** §4.5: one payment lane per (payee, currency), its latest nonce and total */
  private readonly lanes = new Map<string, { lane: Uint8Array, nonce: number, cumulative: number }>()

  private constructor (node: ClientNode, key: PrivateKey) {
    this.node = node
    this.key = key
  }

  /** Start a client node on 127.0.0.1. */
  static async create (): Promise<ShoalClient> {
    const key = await generateKeyPair('Ed25519')
    const node = await createLibp2p({
      privateKey: key,
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        // kad-dht needs it
        ping: ping(),
        // loopback addresses are private: keep them in DHT records
        dht: kadDHT({ protocol: PROTOCOL.kad, clientMode: false, peerInfoMapper: passthroughMapper }),
        pubsub: gossipsub({ globalSignaturePolicy: StrictSign })
      }
    })
    const client = new ShoalClient(node, key)
    await node.handle(PROTOCOL.work, async (stream) => { await client.onWorkStream(stream) })
    return client
  }

  /** Our peer id's multihash bytes, as records carry it. */
  get self (): Uint8Array {
    return this.node.peerId.toMultihash().bytes
  }

  async stop (): Promise<void> {
    await this.node.stop()
  }

  /** Subscribe to a job topic, validating every message as a relaying peer must (§2.3). */
  subscribeJobs (topic: string): void {
    const pubsub = this.node.services.pubsub
    pubsub.topicValidators.set(topic, async (_from, message) => {
      return message.type === 'signed' ? validateJobMessage(topic, message.from, message.data) : TopicValidatorResult.Reject
    })
    pubsub.subscribe(topic)
  }

  /** A JobAnnouncement of ours, not signed (direct mode sends it inline, §4.2). */
  newJob (init: JobInit): JobAnnouncement {
    const now = Date.now()
    const { lifetimeMs, ...rest } = init
    return { ...rest, version: 1, jobId: randomBytes(16), requester: this.self, createdMs: now, expiresMs: now + lifetimeMs }
  }

  /** Sign a JobAnnouncement (§1) and publish it on its regional topic (§2.1, §2.2). */
  async announce (init: JobInit): Promise<Checked<JobAnnouncement>> {
    const value = this.newJob(init)
    const bytes = await seal(this.key, RECORD.JobAnnouncement, JobAnnouncementCodec.encode(value))
    const job = await openJob(bytes)
    this.announced.set(toString(value.jobId, 'base16'), value)
    for (const topic of announcementTopics(value.kind, value.requirements?.region)) {
      await this.node.services.pubsub.publish(topic, bytes)
    }
    return job
  }

  /** §3.3: fetch a provider's capability record. */
  async fetchCapability (peer: PeerId, capabilityClass: string, cell: string): Promise<Checked<CapabilityRecord>> {
    const signal = AbortSignal.timeout(EXCHANGE_TIMEOUT_MS)
    const stream = await this.node.dialProtocol(peer, PROTOCOL.capability, { signal })
    const lp = lpStream(stream, { maxDataLength: RECORD.CapabilityRecord.maxSize })
    const bytes = (await lp.read({ signal })).subarray()
    await stream.close({ signal })
    return openCapability(bytes, peer, capabilityClass, cell)
  }

  /** §2.5: ask `peer` for announcements; the frames it sent until it closed. */
  async sync (peer: PeerId, request: JobSyncRequest): Promise<Uint8Array[]> {
    const signal = AbortSignal.timeout(EXCHANGE_TIMEOUT_MS)
    const stream = await this.node.dialProtocol(peer, PROTOCOL.sync, { signal })
    const lp = lpStream(stream, { maxDataLength: RECORD.JobAnnouncement.maxSize })
    await lp.write(JobSyncRequestCodec.encode(request), { signal })
    await stream.close({ signal })
    const frames: Uint8Array[] = []
    while (true) {
      try {
        frames.push((await lp.read({ signal })).subarray())
      } catch (err: unknown) {
        // the responder closed after its last frame
        if (err instanceof Error && err.name === 'UnexpectedEOFError') return frames
        throw err
      }
    }
  }

  /** §6.1: one probe, one reply: the reply and its bytes as received. */
  async probe (peer: PeerId, coordinate: NetworkCoordinate, wantLoad: boolean): Promise<{ reply: Extract<CoordinateMessage, { kind: 'reply' }>, bytes: Uint8Array }> {
    const signal = AbortSignal.timeout(EXCHANGE_TIMEOUT_MS)
    const stream = await this.node.dialProtocol(peer, PROTOCOL.coordinate, { signal })
    const lp = lpStream(stream, { maxDataLength: 1024 })
    await lp.write(CoordinateMessageCodec.encode({ kind: 'probe', coordinate, wantLoad }), { signal })
    const bytes = (await lp.read({ signal })).subarray()
    await stream.close({ signal })
    const reply = CoordinateMessageCodec.decode(bytes)
    if (reply.kind !== 'reply') throw new Error('expected a reply')
    return { reply, bytes }
  }

  /** Open a work stream to `peer`. */
  async workStream (peer: PeerId): Promise<WorkStream> {
    return new WorkStream(await this.node.dialProtocol(peer, PROTOCOL.work, { signal: AbortSignal.timeout(EXCHANGE_TIMEOUT_MS) }))
  }

  /**
   * §4: quote, assign, result, countersign with a voucher, on one stream.
   * A signed job is sent as `job` (open market), a bare one as `inline_job`
   * (direct mode). Checks the quote and the result as §4.4 says; throws on
   * anything wrong.
   */
  async runJob (peer: PeerId, job: Checked<JobAnnouncement> | { value: JobAnnouncement }, input: Uint8Array): Promise<JobRun> {
    const work = await this.workStream(peer)
    try {
      await work.send('bytes' in job ? { kind: 'quoteRequest', job: job.bytes } : { kind: 'quoteRequest', inlineJob: JobAnnouncementCodec.encode(job.value) })
      const quote = await this.checkQuote((await work.expect('quote')).quote, peer, job.value)

      const now = Date.now()
      const price = quote.value.price as NonNullable<Quote['price']>
      const assignment = await seal(this.key, RECORD.Assignment, AssignmentCodec.encode({
        version: 1,
        jobId: job.value.jobId,
        requester: this.self,
        provider: peer.toMultihash().bytes,
        quote: quote.bytes,
        maxUnits: Math.max(1, Math.floor(job.value.budget / Math.max(1, price.perUnit))),
        inputHash: sha256(input),
        createdMs: now,
        expiresMs: now + 10 * 60_000,
        nonce: randomBytes(16)
      }))
      const assignmentId = recordId(assignment)
      await work.send({ kind: 'assign', assignment, input })
      const progress: JobRun['progress'] = []
      let message = await work.next()
      while (message.kind === 'progress') {
        progress.push(message)
        message = await work.next()
      }
      if (message.kind !== 'result') throw new Error(`expected result, got ${message.kind}`)
      const receipt = await this.checkReceipt(message.receipt, peer, quote, assignmentId)
      if (!equals(sha256(message.output), receipt.value.resultHash)) throw new Error('result-hash-mismatch')

      const key = `${peer.toString()}/${price.currency}`
      const lane = this.lanes.get(key) ?? { lane: randomBytes(16), nonce: 0, cumulative: 0 }
      const paid = { lane: lane.lane, nonce: lane.nonce + 1, cumulative: lane.cumulative + receipt.value.total }
      const voucher = await seal(this.key, RECORD.PaymentVoucher, PaymentVoucherCodec.encode({
        version: 1,
        lane: paid.lane,
        payer: this.self,
        payee: peer.toMultihash().bytes,
        nonce: paid.nonce,
        cumulative: paid.cumulative,
        currency: price.currency,
        jobId: job.value.jobId,
        createdMs: Date.now()
      }))
      const countersigned = await countersign(this.key, RECORD.WorkReceipt, receipt.bytes)
      await work.send({ kind: 'countersign', receipt: countersigned, voucher })
      const ack = await work.expect('ack')
      if (!equals(ack.id, receipt.id)) throw new Error('the Ack names another record')
      this.lanes.set(key, paid)
      await work.stream.close()
      return { quote, assignment, assignmentId, progress, receipt, output: message.output, countersigned, ack }
    } catch (err: unknown) {
      work.stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  }

  /** §4.4: a quote signed by the stream's peer, naming us and the job, within the ceiling and the budget. */
  private async checkQuote (bytes: Uint8Array, peer: PeerId, job: JobAnnouncement): Promise<Checked<Quote>> {
    const opened = await open(bytes, RECORD.Quote)
    const value = QuoteCodec.decode(opened.payload)
    checkAuthor(opened, value.provider, value.version)
    checkTime(value.createdMs, value.expiresMs)
    if (!opened.signer.equals(peer) || !equals(value.requester, this.self) || !equals(value.jobId, job.jobId)) {
      throw new Error('quote is for another job or between other peers')
    }
    const ceiling = job.priceCeiling
    const price = value.price
    if (ceiling == null || price == null || price.currency !== ceiling.currency || price.unit !== ceiling.unit || price.perUnit > ceiling.perUnit) {
      throw new Error('quote above the ceiling')
    }
    if (value.estUnits * price.perUnit > job.budget) throw new Error('quote above the budget')
    return { ...opened, value }
  }

  /** §4.4: the receipt opens, names both peers, our assignment and job, the quoted price; units ≤ max_units. */
  private async checkReceipt (bytes: Uint8Array, peer: PeerId, quote: Checked<Quote>, assignmentId: Uint8Array): Promise<Checked<WorkReceipt>> {
    const opened = await open(bytes, RECORD.WorkReceipt)
    const value = WorkReceiptCodec.decode(opened.payload)
    checkAuthor(opened, value.provider, value.version)
    checkTime(value.endedMs, undefined)
    const p = value.price
    const q = quote.value.price
    if (!opened.signer.equals(peer) || !equals(value.requester, this.self) || !equals(value.assignmentId, assignmentId) || !equals(value.jobId, quote.value.jobId)) {
      throw new Error('bad-receipt: other peers, assignment or job')
    }
    if (p == null || q == null || p.perUnit !== q.perUnit || p.currency !== q.currency || p.unit !== q.unit || value.total !== value.units * p.perUnit) {
      throw new Error('bad-receipt: price or total')
    }
    return { ...opened, value }
  }

  /** Inbound work streams: providers push quotes for jobs we announced (§4.2); each is checked and acknowledged. */
  private async onWorkStream (stream: Stream): Promise<void> {
    const work = new WorkStream(stream)
    try {
      while (true) {
        const message = await work.next()
        if (message.kind !== 'quote') throw new Error(`unexpected ${message.kind}`)
        const opened = await open(message.quote, RECORD.Quote)
        const job = this.announced.get(toString(QuoteCodec.decode(opened.payload).jobId, 'base16'))
        if (job == null) {
          await work.send({ kind: 'error', code: 'unknown-job', message: 'not a job of ours' })
          continue
        }
        const quote = await this.checkQuote(message.quote, opened.signer, job)
        this.offered.push(quote)
        await work.send({ kind: 'ack', id: quote.id, paid: 0 })
      }
    } catch (err: unknown) {
      if (err instanceof Error && err.name === 'UnexpectedEOFError') {
        await stream.close().catch(() => {})
        return
      }
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }
}
