/**
 * The provenance service: witnesses for others (`/shoal/witness/1.0.0`),
 * captures with witnesses of its own, verifies captures, and remembers the
 * footage it accepted (replays).
 */

import { privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { TypedEventEmitter, serviceCapabilities, setMaxListeners } from '@libp2p/interface'
import {
  CaptureAttestationType, MAX_CAPTURE_WITNESSES, MAX_WITNESS_HISTORY, WitnessStatementType, WorkReceiptType, isGeohash, openCountersigned,
  openRecord, peerIdFromBytes
} from '@shoal/records'
import { equalBytes, errorMessage, openStreamTo, optionalService, sleep, toHex } from '@shoal/utils'
import { Key } from 'interface-datastore'
import { attestCapture } from './attest.js'
import { hashChunk } from './chunks.js'
import { CHUNK_MS, DEFAULT_MIN_WITNESSES, WITNESS_PROTOCOL } from './constants.js'
import { createDevice } from './device.js'
import { CaptureFailedError, FootageError, InvalidCaptureProofError } from './errors.js'
import { DEFAULT_MAX_FOOTAGE_BYTES, entryChunkHash } from './footage.js'
import { decodeCaptureProof, encodeCaptureProof } from './proof.js'
import { ReplayIndex } from './replay.js'
import { publicHost, verifyCaptureProof } from './verify.js'
import { WITNESS_OPEN_TIMEOUT_MS, WitnessHandler, openWitnessSession } from './witness.js'
import type { CaptureDevice } from './device.js'
import type { FootageEntry, FootageStore } from './footage.js'
import type { RttPlausibilityInit } from './plausibility.js'
import type { CaptureSource } from './source.js'
import type { CaptureFootage, CaptureRefusal, CaptureVerdict, VerifyContext } from './verify.js'
import type { WitnessReceipts, WitnessResult, WitnessSession } from './witness.js'
import type { AbortOptions, ComponentLogger, Logger, Metrics, PeerId, PeerStore, PrivateKey, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { CaptureAttestation, Price, SignedRecord, WitnessStatement } from '@shoal/records'
import type { Datastore } from 'interface-datastore'

/** How this node witnesses for others. Every field is optional. */
export interface WitnessInit {
  /** whether it witnesses at all @default true */
  enabled?: boolean
  /** what it asks per witnessing (a receipt in `unit` 'witness'); free when absent */
  price?: Price
  /** witnessings at once @default 8 */
  maxConcurrent?: number
  /** longest capture it watches, ms @default 600_000 */
  maxDurationMs?: number
  /** RTT rounds per witnessing @default DEFAULT_RTT_ROUNDS (5) */
  rounds?: number
  /** the thresholds it signs under (as verifiers apply them) */
  rtt?: RttPlausibilityInit
  /** clock difference (and latency) allowed between the capturer's stated times and the witness's, ms @default 5_000 */
  clockSkewMs?: number
}

/** Options of the provenance service. Every field is optional. */
export interface ProvenanceInit {
  /** this node's own cell (a geohash): where it witnesses from, and where it claims to capture */
  geohash?: string
  /** the capture device (created and bound at start when absent and `device: true`... see README) */
  device?: CaptureDevice
  /** the footage store (memory, offline, when absent: set `footage` once the libp2p node exists to serve and fetch) */
  footage?: FootageStore
  witness?: WitnessInit
  /** witnesses a capture asks for @default 3 */
  witnesses?: number
  /** defaults of `verify` (minWitnesses, rtt, history rules, media rates) */
  verify?: Omit<VerifyContext, 'now' | 'capturer' | 'jobId' | 'assignmentId' | 'assignedMs' | 'resultMs' | 'region' | 'sensors' | 'history' | 'seen'>
  /** most hashes the replay index keeps @default 1_000_000 */
  maxReplayEntries?: number
  /** the most a capture pays one witness by default (priced witnesses are declined without it) */
  maxWitnessPrice?: Price
  /** most bytes of footage `verify` fetches for one capture, whatever its attestation claims @default DEFAULT_MAX_FOOTAGE_BYTES (1 GiB) */
  maxFootageBytes?: number
}

/** The libp2p components the service uses (`receipts`, `discovery` and `router` are other services of the node, when present). */
export interface ProvenanceComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  datastore?: Datastore
  metrics?: Metrics
  /** where peers' protocols (identify) and addresses come from: witness candidates and the sybil-address rule */
  peerStore?: PeerStore
  /**
   * Witness receipts are stored here, the witness's history is read from it,
   * and the verifier's view of witnesses' standing comes from it (a
   * @shoal/receipts ReceiptStore fits)
   */
  receipts?: WitnessReceipts
  /** ranks witness candidates by RTT */
  discovery?: { measureRtt?(peer: PeerId, options?: AbortOptions): Promise<number> }
  /** ranks witness candidates by RTT when there is no discovery service (@libp2p/ping) */
  ping?: { ping(peer: PeerId, options?: AbortOptions): Promise<number> }
}

/** Events of the provenance service. */
export interface ProvenanceEvents {
  /** this node signed a witness statement */
  'witness:signed': CustomEvent<SignedRecord<WitnessStatement>>
  /** this node refused to witness (code and peer) */
  'witness:refused': CustomEvent<{ peer: PeerId, code: string, explain: string }>
  /** a capture was verified here */
  'capture:verified': CustomEvent<CaptureVerdict>
}

/** Options of `capture`. */
export interface CaptureOptions extends AbortOptions {
  /** seconds to record, ms */
  durationMs: number
  /** the cell claimed (default the service's `geohash`) */
  geohash?: string
  jobId?: Uint8Array
  assignmentId?: Uint8Array
  /** the witnesses to ask (default: the nearest connected Shoal peers by measured RTT) */
  witnesses?: PeerId[]
  /** witnesses to ask (default init.witnesses) */
  k?: number
  /** the most one witness may ask (default init.maxWitnessPrice; priced witnesses are declined without either) */
  maxWitnessPrice?: Price
}

/** A finished capture. */
export interface Capture {
  /** the CaptureProof bytes: a capture job's inline output */
  proof: Uint8Array
  attestation: SignedRecord<CaptureAttestation>
  statements: Array<SignedRecord<WitnessStatement>>
  /** the footage's CID */
  cid: string
  chunks: Uint8Array[]
  /** the capturer's own verdict on it (what an honest receipt charges) */
  verdict: CaptureVerdict
}

/** Options of `verify`. */
export interface VerifyCaptureOptions extends AbortOptions, VerifyContext {
  /** fetch the footage by the attestation's CID and check it (default true when a footage store is set) */
  fetchFootage?: boolean
  /** record the capture in the replay index when it verifies (default false) */
  remember?: boolean
  /**
   * The most seconds the caller would pay for (a capture job's `maxUnits`):
   * the footage of a longer capture is not fetched, and the capture is refused
   */
  maxSeconds?: number
}

/** The provenance service. */
export interface Provenance extends TypedEventTarget<ProvenanceEvents>, Startable {
  /** the capture device (created at start when none was given) */
  readonly device: CaptureDevice | undefined
  /** the footage store; set it once the node exists to fetch and serve footage over bitswap */
  footage: FootageStore | undefined
  /** the replay index */
  readonly replays: ReplayIndex
  /** Record from `source` with witnesses, store the footage, attest and collect statements. */
  capture(source: CaptureSource, options: CaptureOptions): Promise<Capture>
  /** Verify a CaptureProof (`verifyCapture` with this node's facts: its receipts, addresses, replay index). */
  verify(proof: Uint8Array, options?: VerifyCaptureOptions): Promise<CaptureVerdict>
}

/** Where the device key is kept in the datastore, so a restarted node keeps its device. */
export const DEVICE_KEY = '/shoal/provenance/device'

/** Witnesses a capture asks for by default. */
export const DEFAULT_CAPTURE_WITNESSES = 3

/** Longest wait for one candidate's RTT when ranking witnesses, ms. */
const RANK_TIMEOUT_MS = 2_000

/** Most receipts read per witness and side to compute its standing. */
const MAX_STANDING_SCAN = 256

/**
 * Waves of witness opens a capture makes: the first to the nearest, the
 * second to the next nearest for each that would not watch. Each wave costs
 * at most WITNESS_OPEN_TIMEOUT_MS, and the recording starts after the last,
 * so the open's stated start stays within the witnesses' clock skew.
 */
const MAX_OPEN_WAVES = 2


/** The IP host of a multiaddr, if it has one. */
function hostOf (addr: { getComponents(): Array<{ name: string, value?: string }> }): string | undefined {
  return addr.getComponents().find(c => (c.name === 'ip4' || c.name === 'ip6') && c.value != null)?.value
}

function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

/** The provenance service (see Provenance). */
export class DefaultProvenance extends TypedEventEmitter<ProvenanceEvents> implements Provenance {
  readonly [Symbol.toStringTag] = '@shoal/provenance'
  readonly [serviceCapabilities]: string[] = ['@shoal/provenance']

  footage: FootageStore | undefined
  readonly replays: ReplayIndex
  private _device: CaptureDevice | undefined
  private readonly components: ProvenanceComponents
  private readonly init: ProvenanceInit
  private readonly log: Logger
  private readonly handler: WitnessHandler
  /** whether this node witnesses: enabled, with a cell to witness from */
  private readonly witnesses: boolean
  private readonly sessions = new Set<WitnessSession>()
  private started = false
  /** the tail of the `remember: true` verifications: each checks the replay index and adds to it alone */
  private remembering: Promise<void> = Promise.resolve()

  constructor (components: ProvenanceComponents, init: ProvenanceInit = {}) {
    super()
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('shoal:provenance')
    this.footage = init.footage
    this._device = init.device
    this.replays = new ReplayIndex({ datastore: optionalService(components, 'datastore'), maxEntries: init.maxReplayEntries })
    const witness = init.witness ?? {}
    this.witnesses = witness.enabled !== false && init.geohash != null && isGeohash(init.geohash) && init.geohash !== ''
    this.handler = new WitnessHandler({
      peerId: components.peerId,
      privateKey: components.privateKey,
      log: components.logger.forComponent('shoal:provenance:witness'),
      geohash: init.geohash,
      enabled: witness.enabled,
      price: witness.price,
      maxConcurrent: witness.maxConcurrent,
      maxDurationMs: witness.maxDurationMs,
      rounds: witness.rounds,
      rtt: witness.rtt,
      clockSkewMs: witness.clockSkewMs,
      receipts: () => optionalService(this.components, 'receipts'),
      onSigned: (statement) => { this.safeDispatch('witness:signed', statement) },
      onRefused: (refusal) => { this.safeDispatch('witness:refused', refusal) }
    })
  }

  get device (): CaptureDevice | undefined {
    return this._device
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    this._device ??= await this.loadDevice()
    await this.replays.start()
    // a node that does not witness does not speak the protocol, so capturers never pick it
    if (this.witnesses) {
      await this.components.registrar.handle(WITNESS_PROTOCOL, this.handler.handle, { runOnLimitedConnection: false })
    }
    this.started = true
  }

  async stop (): Promise<void> {
    this.started = false
    if (this.witnesses) {
      await this.components.registrar.unhandle(WITNESS_PROTOCOL)
    }
    this.handler.stop()
    for (const session of this.sessions) {
      session.close(new CaptureFailedError('the node stopped'))
    }
    this.sessions.clear()
    await this.replays.stop()
  }

  /** The device kept in the datastore, else a new one (kept there when there is a datastore). */
  private async loadDevice (): Promise<CaptureDevice> {
    const datastore = optionalService(this.components, 'datastore')
    if (datastore == null) {
      return createDevice(this.components.privateKey)
    }
    const key = new Key(DEVICE_KEY)
    if (await datastore.has(key)) {
      try {
        return await createDevice(this.components.privateKey, { key: privateKeyFromProtobuf(await datastore.get(key)) })
      } catch (err: unknown) {
        this.log.error('the stored device key does not load, making a new device - %e', err)
      }
    }
    const device = await createDevice(this.components.privateKey)
    await datastore.put(key, privateKeyToProtobuf(device.key))
    return device
  }

  private safeDispatch<K extends keyof ProvenanceEvents> (type: K, detail: ProvenanceEvents[K]['detail']): void {
    try {
      this.safeDispatchEvent(type, { detail } as CustomEventInit)
    } catch (err: unknown) {
      this.log.error('a %s listener threw - %e', type, err)
    }
  }

  async capture (source: CaptureSource, options: CaptureOptions): Promise<Capture> {
    const signal = options.signal
    signal?.throwIfAborted()
    const geohash = options.geohash ?? this.init.geohash
    const device = this._device
    if (geohash == null || geohash === '') {
      throw new CaptureFailedError('no cell to claim: set the geohash')
    }
    if (device == null) {
      throw new CaptureFailedError('no capture device: start the service first')
    }
    const durationMs = options.durationMs
    if (!Number.isSafeInteger(durationMs) || durationMs < 1) {
      throw new CaptureFailedError(`durationMs must be a positive integer, not ${durationMs}`)
    }
    const minWitnesses = this.init.verify?.minWitnesses ?? DEFAULT_MIN_WITNESSES
    const k = Math.min(options.k ?? this.init.witnesses ?? DEFAULT_CAPTURE_WITNESSES, MAX_CAPTURE_WITNESSES)
    // given witnesses are all asked; else the nearest k, then the next nearest for each that will not watch
    const candidates = options.witnesses ?? await this.nearestWitnesses(options)
    const want = Math.min(options.witnesses != null ? candidates.length : k, MAX_CAPTURE_WITNESSES)

    const sessions: WitnessSession[] = []
    let asked = 0
    for (let wave = 0; wave < MAX_OPEN_WAVES && sessions.length < want && asked < candidates.length; wave++) {
      const peers = candidates.slice(asked, asked + want - sessions.length)
      asked += peers.length
      // witnesses watch from before the first second to after the last: each wave states when it is sent
      const sessionInit = {
        privateKey: this.components.privateKey,
        log: this.log,
        jobId: options.jobId,
        geohash,
        startedMs: Date.now(),
        durationMs,
        maxPrice: options.maxWitnessPrice ?? this.init.maxWitnessPrice,
        receipts: optionalService(this.components, 'receipts')
      }
      const opened = await Promise.allSettled(peers.map(async peer => {
        // a slow or silent candidate costs this wave its open timeout, no more
        const openSignal = AbortSignal.any([...(signal != null ? [signal] : []), AbortSignal.timeout(WITNESS_OPEN_TIMEOUT_MS)])
        setMaxListeners(Infinity, openSignal)
        const stream = await openStreamTo(this.components.connectionManager, peer, WITNESS_PROTOCOL, { signal: openSignal })
        return openWitnessSession(stream, peer, sessionInit, { signal: openSignal })
      }))
      opened.forEach((outcome, i) => {
        if (outcome.status === 'fulfilled') {
          sessions.push(outcome.value)
        } else {
          this.log('witness %p will not watch - %e', peers[i], outcome.reason)
        }
      })
      signal?.throwIfAborted()
    }
    for (const session of sessions) {
      this.sessions.add(session)
    }
    try {
      if (sessions.length < minWitnesses) {
        throw new CaptureFailedError(`${sessions.length} of ${asked} witnesses asked would watch, ${minWitnesses} needed`)
      }

      // recording starts right after the opens, within the witnesses' clock skew of what the opens stated
      const startedMs = Date.now()
      const chunks: Uint8Array[] = []
      const maxChunks = Math.ceil(durationMs / CHUNK_MS)
      for await (const chunk of source.record(durationMs, { signal })) {
        if (chunks.length < maxChunks) {
          chunks.push(chunk)
        }
      }
      if (chunks.length === 0) {
        throw new CaptureFailedError('the source recorded nothing')
      }
      // a source that stopped early recorded only its chunks' seconds: attest those, not the ones asked for
      const recordedMs = Math.min(durationMs, chunks.length * CHUNK_MS)
      // a recording ends when its last second does, however fast its chunks came
      await sleep(startedMs + recordedMs - Date.now(), signal)
      const cid = this.footage != null ? await this.footage.add(chunks, { signal }) : ''
      const attestation = await attestCapture({
        chunks,
        mediaType: source.mediaType,
        startedMs,
        durationMs: recordedMs,
        geohash,
        sensors: source.sensors,
        jobId: options.jobId,
        assignmentId: options.assignmentId,
        contentCid: cid
      }, this.components.privateKey, device)

      const outcomes = await Promise.allSettled(sessions.map(async s => s.attest(attestation, { signal })))
      const results: WitnessResult[] = []
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'fulfilled') {
          results.push(outcome.value)
        } else {
          this.log('witness %p did not sign - %e', sessions[i].witness, outcome.reason)
        }
      })
      const statements = results.map(r => r.statement)
      const histories = await Promise.all(results.map(async r => this.usefulHistory(r, results)))
      const proof = fitProof(attestation.bytes, statements.map(s => s.bytes), histories)
      // what an honest receipt may charge: the capturer cannot know whom its requester has worked with, so its
      // witnesses' history counts as presented here (the requester counts only counterparties it knows)
      const verdict = await verifyCaptureProof(proof, { chunks }, await this.context(attestation, statements, {
        capturer: this.components.peerId,
        jobId: options.jobId,
        assignmentId: options.assignmentId,
        established: undefined,
        // nor can it judge its witnesses' addresses as a stranger would: that is the verifier's call
        allowPrivateAddresses: true
      }))
      return { proof, attestation, statements, cid, chunks, verdict }
    } finally {
      for (const session of sessions) {
        this.sessions.delete(session)
        session.close()
      }
    }
  }

  async verify (proof: Uint8Array, options: VerifyCaptureOptions = {}): Promise<CaptureVerdict> {
    const { fetchFootage, remember, maxSeconds, signal, ...given } = options
    let attestation: SignedRecord<CaptureAttestation> | undefined
    const statements: Array<SignedRecord<WitnessStatement>> = []
    try {
      const parts = decodeCaptureProof(proof)
      attestation = await openRecord(CaptureAttestationType, parts.attestation, { ignoreTime: true })
      for (const bytes of parts.witnesses) {
        try {
          statements.push(await openRecord(WitnessStatementType, bytes, { ignoreTime: true }))
        } catch {
          // verifyCapture names it
        }
      }
    } catch {
      // verifyCaptureProof refuses it with its reason
    }
    const context = await this.context(attestation, statements, given)

    let footage: CaptureFootage | undefined
    const store = this.footage
    // a verifier that checks footage verifies no second without it (an empty CID is footage-missing)
    const wantFootage = fetchFootage ?? store != null
    context.requireFootage ??= wantFootage
    if (wantFootage && attestation != null && attestation.value.contentCid !== '') {
      if (store == null) {
        throw new FootageError('no footage store to fetch from')
      }
      // the proof alone first: footage is fetched only for a capture that could still pass
      const unseen = await verifyCaptureProof(proof, undefined, { ...context, requireFootage: false })
      if (unseen.reasons.some(r => r.fatal)) {
        this.safeDispatch('capture:verified', unseen)
        return unseen
      }
      if (maxSeconds != null && unseen.claimedSeconds > maxSeconds) {
        const refused = refuseLonger(unseen, maxSeconds)
        this.safeDispatch('capture:verified', refused)
        return refused
      }
      footage = await this.fetch(store, attestation, signal)
    }

    const decide = async (): Promise<CaptureVerdict> => {
      const verdict = await verifyCaptureProof(proof, footage, context)
      if (remember === true && verdict.ok && verdict.attestation != null) {
        // the chunks present are this capture's, even with others missing: a replay of them is one
        const present = (footage?.chunks ?? []).filter((c): c is Uint8Array => c != null).map(hashChunk)
        await this.replays.add(verdict.attestation, present, { signal })
      }
      this.safeDispatch('capture:verified', verdict)
      return verdict
    }
    if (remember !== true) {
      return decide()
    }
    // checking the replay index and adding to it is one step: two proofs of the same footage must not both pass
    const run = this.remembering.then(decide)
    this.remembering = run.then(() => {}, () => {})
    return run
  }

  /**
   * The footage of `attestation`, at most its attested bytes (and this
   * node's limit); chunks that cannot be had are missing, with the hashes
   * the directory's listing names for them. Throws only when `signal` aborts.
   */
  private async fetch (store: FootageStore, attestation: SignedRecord<CaptureAttestation>, signal?: AbortSignal): Promise<CaptureFootage> {
    const a = attestation.value
    const count = a.chunkCount
    const maxBytes = Math.min(a.contentBytes, this.init.maxFootageBytes ?? DEFAULT_MAX_FOOTAGE_BYTES)
    let entries: FootageEntry[] = []
    let chunks: Array<Uint8Array | undefined>
    try {
      entries = await store.list(a.contentCid, { signal, maxChunks: count })
      chunks = await store.get(a.contentCid, { signal, maxChunks: count, maxBytes })
    } catch (err: unknown) {
      if (signal?.aborted === true) {
        throw err
      }
      // footage that cannot be had verifies no second
      this.log('footage %s unavailable - %e', a.contentCid, err)
      chunks = new Array(count).fill(undefined)
    }
    const chunkHashes = entries.length === chunks.length
      ? entries.map((entry, i) => chunks[i] == null ? entryChunkHash(entry.cid) : undefined)
      : undefined
    return { chunks, chunkHashes }
  }

  /**
   * The history entries of `result` a verifier can count: countersigned
   * WorkReceipts that open, with the witness as a party and a counterparty
   * that is neither the capturer nor another witness of this capture; at
   * most MAX_WITNESS_HISTORY, in the witness's order (oldest first).
   */
  private async usefulHistory (result: WitnessResult, all: WitnessResult[]): Promise<Uint8Array[]> {
    const witness = result.witness.toMultihash().bytes
    const excluded = [this.components.peerId, ...all.map(r => r.witness)].map(p => toHex(p.toMultihash().bytes))
    const kept: Uint8Array[] = []
    const ids = new Set<string>()
    for (const bytes of result.history) {
      if (kept.length >= MAX_WITNESS_HISTORY) {
        break
      }
      try {
        const receipt = await openCountersigned(WorkReceiptType, bytes, { ignoreTime: true })
        const r = receipt.record.value
        const other = equalBytes(r.provider, witness) ? r.requester : equalBytes(r.requester, witness) ? r.provider : undefined
        const id = toHex(receipt.id)
        if (other == null || excluded.includes(toHex(other)) || ids.has(id)) {
          continue
        }
        ids.add(id)
        kept.push(bytes)
      } catch {
        // proves nothing: left out
      }
    }
    if (kept.length < result.history.length) {
      this.log('dropped %d of the %d history receipts of witness %p', result.history.length - kept.length, result.history.length, result.witness)
    }
    return kept
  }

  /** The verification context: init's defaults, then the caller's, then this node's facts. */
  private async context (attestation: SignedRecord<CaptureAttestation> | undefined, statements: Array<SignedRecord<WitnessStatement>>, given: VerifyContext): Promise<VerifyContext> {
    const peers: PeerId[] = statements.map(s => s.signer)
    if (attestation != null) {
      peers.push(attestation.signer)
    }
    const counterparties = await this.counterparties(statements.map(s => s.signer))
    const addresses = await this.addresses(peers)
    const store = optionalService(this.components, 'receipts')
    const self = this.components.peerId
    // a verifier that reaches the capturer only at private or loopback addresses is on its LAN (a local
    // testnet): the rules that judge strangers on the Internet by their addresses and history do not apply
    const capturerHosts = attestation != null ? addresses.get(attestation.signer.toString()) ?? [] : []
    const local = capturerHosts.length > 0 && capturerHosts.every(host => publicHost(host) == null)
    const lan: VerifyContext = local ? { allowPrivateAddresses: true, minWitnessCounterparties: 0, minWitnessAgeMs: 0 } : {}
    const context: VerifyContext = {
      ...lan,
      seen: (hashHex) => this.replays.seen(hashHex),
      addresses: (peer) => addresses.get(peer.toString()) ?? [],
      // history is only a claim: a counterparty counts when this node has itself worked with it
      ...(store?.standing != null ? { established: (peer: PeerId) => peer.equals(self) || (store.standing?.(peer).receipts ?? 0) > 0 } : {}),
      ...(counterparties != null ? { counterparties: (peer: PeerId) => [...(counterparties.get(peer.toString()) ?? [])] } : {}),
      ...this.init.verify,
      ...given
    }
    return context
  }

  /** Distinct counterparties (peer id strings) of the countersigned receipts held with each peer; undefined without a listable store. */
  private async counterparties (peers: PeerId[]): Promise<Map<string, Set<string>> | undefined> {
    const store = optionalService(this.components, 'receipts')
    if (store?.list == null) {
      return undefined
    }
    const out = new Map<string, Set<string>>()
    for (const peer of peers) {
      const self = hex(peer.toMultihash().bytes)
      const set = new Set<string>()
      for (const side of ['provider', 'requester'] as const) {
        try {
          for await (const stored of store.list({ [side]: peer, limit: MAX_STANDING_SCAN })) {
            if (stored.state != null && stored.state !== 'countersigned') {
              continue
            }
            const other = side === 'provider' ? stored.value.requester : stored.value.provider
            if (hex(other) !== self) {
              set.add(peerIdFromBytes(other).toString())
            }
          }
        } catch (err: unknown) {
          this.log('could not read receipts of %p - %e', peer, err)
        }
      }
      out.set(peer.toString(), set)
    }
    return out
  }

  /** The IP hosts this node knows for each peer: its connections' remote addresses and the peer store's. */
  private async addresses (peers: PeerId[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>()
    const peerStore = optionalService(this.components, 'peerStore')
    for (const peer of peers) {
      const hosts = new Set<string>()
      for (const connection of this.components.connectionManager.getConnections(peer)) {
        const host = hostOf(connection.remoteAddr)
        if (host != null) {
          hosts.add(host)
        }
      }
      if (peerStore != null) {
        try {
          for (const { multiaddr } of (await peerStore.get(peer)).addresses) {
            const host = hostOf(multiaddr)
            if (host != null) {
              hosts.add(host)
            }
          }
        } catch {
          // not in the peer store
        }
      }
      out.set(peer.toString(), [...hosts])
    }
    return out
  }

  /** Connected peers that speak the witness protocol, nearest first by measured RTT. */
  private async nearestWitnesses (options: AbortOptions): Promise<PeerId[]> {
    const peerStore = optionalService(this.components, 'peerStore')
    const seen = new Set<string>()
    const candidates: PeerId[] = []
    for (const connection of this.components.connectionManager.getConnections()) {
      const peer = connection.remotePeer
      if (seen.has(peer.toString()) || peer.equals(this.components.peerId)) {
        continue
      }
      seen.add(peer.toString())
      try {
        if (peerStore != null && (await peerStore.get(peer)).protocols.includes(WITNESS_PROTOCOL)) {
          candidates.push(peer)
        }
      } catch {
        // not identified yet
      }
    }
    const discovery = optionalService(this.components, 'discovery')
    const ping = optionalService(this.components, 'ping')
    const measure = discovery?.measureRtt != null
      ? async (peer: PeerId, o: AbortOptions) => discovery.measureRtt?.(peer, o)
      : ping != null ? async (peer: PeerId, o: AbortOptions) => ping.ping(peer, o) : undefined
    if (measure == null) {
      return candidates
    }
    const ranked = await Promise.all(candidates.map(async peer => {
      const signal = AbortSignal.any([...(options.signal != null ? [options.signal] : []), AbortSignal.timeout(RANK_TIMEOUT_MS)])
      setMaxListeners(Infinity, signal)
      try {
        return { peer, rtt: (await measure(peer, { signal })) ?? Infinity }
      } catch (err: unknown) {
        this.log.trace('could not measure %p - %s', peer, errorMessage(err))
        return { peer, rtt: Infinity }
      }
    }))
    return ranked.sort((a, b) => a.rtt - b.rtt).map(r => r.peer)
  }
}

/**
 * The proof's bytes, its history trimmed until it fits a CaptureProof:
 * always from the witness presenting the most, its newest receipt first
 * (a witness's oldest receipt is what shows it is not new, and one receipt
 * per witness is what the default rules ask).
 */
export function fitProof (attestation: Uint8Array, witnesses: Uint8Array[], histories: Uint8Array[][]): Uint8Array {
  const kept = histories.map(h => h.slice(0, MAX_WITNESS_HISTORY))
  while (true) {
    try {
      return encodeCaptureProof({ attestation, witnesses, history: kept.flat() })
    } catch (err: unknown) {
      const longest = kept.reduce((best, h, i) => h.length > kept[best].length ? i : best, 0)
      if (!(err instanceof InvalidCaptureProofError) || kept.length === 0 || kept[longest].length === 0) {
        throw err
      }
      kept[longest].pop()
    }
  }
}

/** `verdict` refused whole: the capture is longer than the `maxSeconds` the caller pays for, so its footage was not fetched. */
function refuseLonger (verdict: CaptureVerdict, maxSeconds: number): CaptureVerdict {
  const reason: CaptureRefusal = {
    code: 'longer-than-asked',
    fatal: true,
    explain: `the capture claims ${verdict.claimedSeconds} s, more than the ${maxSeconds} s asked for: its footage was not fetched`
  }
  return { ...verdict, ok: false, verifiedSeconds: 0, verifiedChunks: [], reasons: [reason, ...verdict.reasons] }
}

/** The provenance service factory, in the js-libp2p way. */
export function provenance (init: ProvenanceInit = {}): (components: ProvenanceComponents) => Provenance {
  return (components) => new DefaultProvenance(components, init)
}
