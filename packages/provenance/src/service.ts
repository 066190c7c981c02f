/**
 * The provenance service: witnesses for others (`/shoal/witness/1.0.0`),
 * captures with witnesses of its own, verifies captures, and remembers the
 * footage it accepted (replays).
 */

import type { CaptureDevice } from './device.js'
import type { FootageStore } from './footage.js'
import type { RttPlausibilityInit } from './plausibility.js'
import type { ReplayIndex } from './replay.js'
import type { CaptureSource } from './source.js'
import type { CaptureVerdict, VerifyContext } from './verify.js'
import type { AbortOptions, ComponentLogger, Metrics, PeerId, PrivateKey, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { CaptureAttestation, CountersignedRecord, Price, SignedRecord, WitnessStatement, WorkReceipt } from '@shoal/records'
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
  /** witness receipts are stored here, and the verifier's view of witness history comes from it */
  receipts?: {
    put(receipt: CountersignedRecord<WorkReceipt> | SignedRecord<WorkReceipt> | Uint8Array, options?: AbortOptions): Promise<unknown>
    list?(options?: AbortOptions & { peer?: PeerId }): AsyncIterable<{ bytes: Uint8Array, receipt: WorkReceipt }>
  }
  /** finds witness candidates near a cell */
  discovery?: { measureRtt?(peer: PeerId, options?: AbortOptions): Promise<number> }
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

/** The provenance service factory, in the js-libp2p way. */
export function provenance (init: ProvenanceInit = {}): (components: ProvenanceComponents) => Provenance {
  throw new Error('not implemented')
}
