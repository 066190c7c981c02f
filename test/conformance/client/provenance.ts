/**
 * Proof of recording (docs/spec.md §7) from the spec alone: the data rules
 * a verifier can check without the network (device binding, device
 * signature, chunk root, content hash: rules A1-A3, A7, F1-F2), the RTT rule
 * (W4-W5) with the cell geometry it names, and a witness for
 * `/shoal/witness/1.0.0` (§7.4) on a stock libp2p node.
 */

import { randomBytes } from 'node:crypto'
import { publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { lpStream } from '@libp2p/utils'
import { equals } from 'uint8arrays/equals'
import { RECORD, open, seal, sha256 } from './envelope.js'
import { CaptureAttestationCodec, DeviceBindingCodec, WitnessMessageCodec, WitnessStatementCodec } from './messages.js'
import { concat } from './protobuf.js'
import type { Opened } from './envelope.js'
import type { CaptureAttestation, DeviceBinding, WitnessMessage, WitnessStatement } from './messages.js'
import type { Connection, Libp2p, PeerId, PrivateKey, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

/** §7.4 protocol id. */
export const WITNESS_PROTOCOL = '/shoal/witness/1.0.0'

/** §7.4: most bytes of one WitnessMessage frame. */
export const MAX_WITNESS_FRAME = 16_384

/** §7.1: one chunk per second. */
export const CHUNK_MS = 1000

/** §7.2: what the device key signs before the attestation's digest. */
export const CAPTURE_DEVICE_DOMAIN = 'shoal:capture-device:v1'

/** §7.5 W4-W5 defaults: fibre speed, stretch, slack, tolerance below the floor, reach. */
export const RTT_RULE = { fibreKmPerMs: 200, stretch: 3, slackMs: 5, toleranceMs: 0.5, maxWitnessKm: 100 } as const

/** §7.5 W3: how far a witness's window may fall short of the recording at either end, ms. */
export const WINDOW_TOLERANCE_MS = 2000

/** §7.4 step 2: default echo rounds, and the nonce length. */
export const DEFAULT_ROUNDS = 5
const NONCE_LENGTH = 8

/** §1.4 clock skew. */
const SKEW_MS = 30_000

/** How long the witness waits for one frame before it gives up, ms. */
const STEP_TIMEOUT_MS = 10_000

/** A refusal of §7.5 (or §7.4): `code` is the rule's code. */
export class ProvenanceRefusal extends Error {
  readonly code: string

  constructor (code: string, message: string) {
    super(`${code}: ${message}`)
    this.name = 'ProvenanceRefusal'
    this.code = code
  }
}

// ---------------------------------------------------------------------------
// records

/** A record opened (§1.4 steps 1-8) with its decoded payload. */
export interface OpenedRecord<T> extends Opened { value: T }

/** Open a DeviceBinding envelope as a record (§1.4), signed by its `peer`. */
export async function openDeviceBinding (bytes: Uint8Array): Promise<OpenedRecord<DeviceBinding>> {
  const opened = await open(bytes, RECORD.DeviceBinding)
  const value = DeviceBindingCodec.decode(opened.payload)
  if (value.version !== 1) throw new Error(`unsupported version ${value.version}`)
  if (!equals(value.peer, opened.signer.toMultihash().bytes)) throw new Error('the binding\'s peer is not its signer')
  return { ...opened, value }
}

/** §7.2: the bytes the device key signs to bind itself: UTF-8 domain ‖ peer ‖ created_ms (8 bytes, big-endian). */
export function bindingSigned (binding: DeviceBinding): Uint8Array {
  const created = new Uint8Array(8)
  new DataView(created.buffer).setBigUint64(0, BigInt(binding.createdMs))
  return concat([new TextEncoder().encode(RECORD.DeviceBinding.domain), binding.peer, created])
}

/** §7.2: the bytes the device key signs for an attestation: UTF-8 `shoal:capture-device:v1` ‖ SHA-256(encoding with device_signature empty). */
export function deviceSigned (attestation: CaptureAttestation): Uint8Array {
  const digest = sha256(CaptureAttestationCodec.encode({ ...attestation, deviceSignature: new Uint8Array(0) }))
  return concat([new TextEncoder().encode(CAPTURE_DEVICE_DOMAIN), digest])
}

/** Open a CaptureAttestation envelope (§1.4, A1), signed by its `capturer`, at `now`. */
export async function openAttestation (bytes: Uint8Array, now = Date.now()): Promise<OpenedRecord<CaptureAttestation>> {
  let opened: Opened
  let value: CaptureAttestation
  try {
    opened = await open(bytes, RECORD.CaptureAttestation)
    value = CaptureAttestationCodec.decode(opened.payload)
  } catch (err: unknown) {
    throw new ProvenanceRefusal('attestation-invalid', (err as Error).message)
  }
  if (value.version !== 1) throw new ProvenanceRefusal('attestation-invalid', `unsupported version ${value.version}`)
  if (!equals(value.capturer, opened.signer.toMultihash().bytes)) throw new ProvenanceRefusal('attestation-invalid', 'capturer is not the signer')
  if (value.startedMs + value.durationMs > now + SKEW_MS) throw new ProvenanceRefusal('attestation-invalid', 'recorded in the future')
  return { ...opened, value }
}

// ---------------------------------------------------------------------------
// the chunk tree: RFC 6962 as §5.3 builds it

function leaf (hash: Uint8Array): Uint8Array {
  return sha256(concat([Uint8Array.of(0), hash]))
}

function node (left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concat([Uint8Array.of(1), left, right]))
}

/** The largest power of two below n (n > 1). */
function split (n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

function mth (leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256(new Uint8Array(0))
  if (leaves.length === 1) return leaves[0]
  const k = split(leaves.length)
  return node(mth(leaves.slice(0, k)), mth(leaves.slice(k)))
}

/** §7.1: the chunk root over chunk hashes in order. */
export function chunkRoot (chunkHashes: Uint8Array[]): Uint8Array {
  return mth(chunkHashes.map(leaf))
}

/** RFC 9162 §2.1.3.2: whether `chunkHash` is leaf `index` of `size` under `root` by its audit path. */
export function verifyInclusion (root: Uint8Array, chunkHash: Uint8Array, index: number, size: number, path: Uint8Array[]): boolean {
  if (index >= size) return false
  let fn = index
  let sn = size - 1
  let r = leaf(chunkHash)
  for (const p of path) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r)
      // a right edge: skip the levels where this node has no sibling
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2) }
    } else {
      r = node(r, p)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && equals(r, root)
}

// ---------------------------------------------------------------------------
// the verifier's data rules

/** What `verifyAttestation` needs besides the bytes. */
export interface AttestationCheck {
  /** the capturer expected (A4) */
  capturer?: PeerId
  /** the footage, chunk by chunk (F1, F2) */
  chunks?: Uint8Array[]
  now?: number
}

/**
 * Check an attestation by §7.2 and §7.5: A1 (it opens), A2 (the device
 * binding opens, binds the capturer, the device key signed it, it is the
 * attestation's key), A3 (the device signature), A4 (capturer), A7 (chunk
 * count), and with the footage F1 (content hash and bytes) and F2 (chunk
 * root and count). Throws ProvenanceRefusal with the first rule's code.
 */
export async function verifyAttestation (bytes: Uint8Array, check: AttestationCheck = {}): Promise<OpenedRecord<CaptureAttestation>> {
  const attestation = await openAttestation(bytes, check.now)
  const a = attestation.value
  try {
    if (a.deviceBinding.byteLength === 0) throw new Error('no binding')
    const binding = await openDeviceBinding(a.deviceBinding)
    if (!binding.signer.equals(attestation.signer)) throw new Error('binds another peer')
    const deviceKey = publicKeyFromProtobuf(binding.value.deviceKey)
    if (!(await deviceKey.verify(bindingSigned(binding.value), binding.value.deviceSignature))) throw new Error('the device key did not sign it')
    if (!equals(binding.value.deviceKey, a.deviceKey)) throw new Error('binds another device key')
  } catch (err: unknown) {
    throw new ProvenanceRefusal('device-binding-invalid', (err as Error).message)
  }
  let signed = false
  try {
    signed = await publicKeyFromProtobuf(a.deviceKey).verify(deviceSigned(a), a.deviceSignature)
  } catch {}
  if (!signed) throw new ProvenanceRefusal('device-signature-invalid', 'the device key did not sign this attestation')
  if (check.capturer != null && !check.capturer.equals(attestation.signer)) throw new ProvenanceRefusal('wrong-capturer', `attested by ${attestation.signer.toString()}`)
  if (a.chunkRoot.byteLength === 0 || a.chunkCount !== Math.ceil(a.durationMs / CHUNK_MS)) {
    throw new ProvenanceRefusal('duration-mismatch', `${a.chunkCount} chunks for ${a.durationMs} ms`)
  }
  if (check.chunks != null) {
    const bytesTotal = check.chunks.reduce((n, c) => n + c.byteLength, 0)
    if (!equals(sha256(concat(check.chunks)), a.contentHash) || bytesTotal !== a.contentBytes) {
      throw new ProvenanceRefusal('content-mismatch', 'the chunks do not hash to content_hash or weigh content_bytes')
    }
    if (check.chunks.length !== a.chunkCount || !equals(chunkRoot(check.chunks.map(sha256)), a.chunkRoot)) {
      throw new ProvenanceRefusal('chunk-root-mismatch', 'the chunk hashes do not give chunk_root')
    }
  }
  return attestation
}

// ---------------------------------------------------------------------------
// cells and the RTT rule (W4, W5)

const ALPHABET = '0123456789bcdefghjkmnpqrstuvwxyz'

/** §7.5: mean Earth radius of every distance, km. */
const EARTH_RADIUS_KM = 6371.0088
const RAD = Math.PI / 180

interface Cell { lat: number, lon: number, minLat: number, maxLat: number, minLon: number, maxLon: number }

/** A geohash's bounds and centre (standard geohash: bits alternate longitude, latitude). */
export function decodeCell (hash: string): Cell {
  let minLat = -90
  let maxLat = 90
  let minLon = -180
  let maxLon = 180
  let even = true
  for (const c of hash) {
    const v = ALPHABET.indexOf(c)
    if (v < 0) throw new Error(`not a geohash: ${hash}`)
    for (let bit = 4; bit >= 0; bit--) {
      const on = ((v >> bit) & 1) === 1
      if (even) {
        const mid = (minLon + maxLon) / 2
        if (on) minLon = mid; else maxLon = mid
      } else {
        const mid = (minLat + maxLat) / 2
        if (on) minLat = mid; else maxLat = mid
      }
      even = !even
    }
  }
  return { lat: (minLat + maxLat) / 2, lon: (minLon + maxLon) / 2, minLat, maxLat, minLon, maxLon }
}

function haversine (dLat: number, cosProduct: number, dLon: number): number {
  const h = Math.sin(dLat / 2) ** 2 + cosProduct * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)))
}

function greatCircle (lat1: number, lon1: number, lat2: number, lon2: number): number {
  return haversine((lat2 - lat1) * RAD, Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD), (lon2 - lon1) * RAD)
}

/** §7.5 W4: the smallest distance between two cells (a lower bound), km. */
export function gapKm (a: string, b: string): number {
  const ca = decodeCell(a)
  const cb = decodeCell(b)
  const latGap = Math.max(0, cb.minLat - ca.maxLat, ca.minLat - cb.maxLat)
  let lonGap = Infinity
  for (const shift of [-360, 0, 360]) {
    lonGap = Math.min(lonGap, Math.max(0, cb.minLon + shift - ca.maxLon, ca.minLon - cb.maxLon - shift))
  }
  const maxAbsLat = Math.max(Math.abs(ca.minLat), Math.abs(ca.maxLat), Math.abs(cb.minLat), Math.abs(cb.maxLat))
  return haversine(latGap * RAD, Math.cos(Math.min(90, maxAbsLat) * RAD) ** 2, Math.min(180, lonGap) * RAD)
}

function reach (c: Cell): number {
  let most = 0
  for (const lat of [c.minLat, c.maxLat]) {
    for (const lon of [c.minLon, c.maxLon]) most = Math.max(most, greatCircle(c.lat, c.lon, lat, lon))
  }
  return most
}

/** §7.5 W5: the widest distance between two cells (an upper bound: centres' distance plus each cell's centre-to-corner reach), km. */
export function spanKm (a: string, b: string): number {
  const ca = decodeCell(a)
  const cb = decodeCell(b)
  return Math.min(Math.PI * EARTH_RADIUS_KM, greatCircle(ca.lat, ca.lon, cb.lat, cb.lon) + reach(ca) + reach(cb))
}

/** §7.5 W4-W5: the code refusing `rttMs` from a witness in `witnessCell` for a capturer claiming `claimedCell`, or undefined. */
export function rttRefusal (witnessCell: string, claimedCell: string, rttMs: number): string | undefined {
  const span = spanKm(witnessCell, claimedCell)
  if (span > RTT_RULE.maxWitnessKm) return 'witness-too-far'
  const floor = 2 * gapKm(witnessCell, claimedCell) / RTT_RULE.fibreKmPerMs
  if (rttMs < floor - RTT_RULE.toleranceMs) return 'witness-rtt-below-floor'
  const ceiling = RTT_RULE.stretch * 2 * span / RTT_RULE.fibreKmPerMs + RTT_RULE.slackMs
  if (rttMs > ceiling) return 'witness-rtt-above-ceiling'
  return undefined
}

// ---------------------------------------------------------------------------
// the witness (§7.4)

/** What a witnessing ended with. */
export interface Witnessed {
  capturer: PeerId
  /** the attestation the capturer sent (its bytes as received) */
  attestation?: Uint8Array
  /** the statement signed, when it signed */
  statement?: OpenedRecord<WitnessStatement>
  /** the code it refused with (sent as `error`), or the reason it stopped */
  refused?: string
}

/** Options of the witness. */
export interface WitnessInit {
  /** its own cell */
  geohash: string
  /** echo rounds @default 5 */
  rounds?: number
}

function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, Math.max(0, ms)))
}

/** A free witness for `/shoal/witness/1.0.0` on a stock libp2p node: every witnessing is kept in `witnessed`. */
export class ConformanceWitness {
  readonly witnessed: Witnessed[] = []
  private readonly node: Libp2p<any>
  private readonly key: PrivateKey
  private readonly init: WitnessInit

  constructor (node: Libp2p<any>, key: PrivateKey, init: WitnessInit) {
    this.node = node
    this.key = key
    this.init = init
  }

  async start (): Promise<void> {
    await this.node.handle(WITNESS_PROTOCOL, async (stream: Stream, connection: Connection) => { await this.handle(stream, connection) })
  }

  /** One witnessing; never throws. */
  private async handle (stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_WITNESS_FRAME })
    const record: Witnessed = { capturer: connection.remotePeer }
    this.witnessed.push(record)
    try {
      await this.witness(lp, connection, record)
      await stream.close()
    } catch (err: unknown) {
      const refusal = err instanceof ProvenanceRefusal ? err : new ProvenanceRefusal('invalid', (err as Error).message)
      record.refused = refusal.code
      try {
        await lp.write(WitnessMessageCodec.encode({ kind: 'error', code: refusal.code, message: refusal.message.slice(0, 256) }), { signal: AbortSignal.timeout(1000) })
        await stream.close()
      } catch {
        stream.abort(refusal)
      }
    }
  }

  private async next (lp: LengthPrefixedStream<Stream>, timeoutMs = STEP_TIMEOUT_MS): Promise<WitnessMessage> {
    const message = WitnessMessageCodec.decode((await lp.read({ signal: AbortSignal.timeout(timeoutMs) })).subarray())
    if (message.kind === 'error') throw new ProvenanceRefusal(message.code, `the capturer gave up: ${message.message}`)
    return message
  }

  private async witness (lp: LengthPrefixedStream<Stream>, connection: Connection, record: Witnessed): Promise<void> {
    const own = this.init.geohash
    const opened = await this.next(lp)
    if (opened.kind !== 'open') throw new ProvenanceRefusal('invalid', `expected open, got ${opened.kind}`)
    if (opened.geohash === '' || [...opened.geohash].some(c => !ALPHABET.includes(c))) throw new ProvenanceRefusal('invalid', 'no claimed cell')
    if (opened.durationMs < 1) throw new ProvenanceRefusal('invalid', 'no duration')
    if (rttRefusal(own, opened.geohash, 0) === 'witness-too-far') throw new ProvenanceRefusal('too-far', `${opened.geohash} is too far from ${own}`)
    // free: no price
    await lp.write(WitnessMessageCodec.encode({ kind: 'accept', geohash: own }), { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) })
    const windowStartMs = Date.now()

    // step 2: echo rounds spread over the recording; the attestation may cut them short
    const rounds = Math.max(1, this.init.rounds ?? DEFAULT_ROUNDS)
    const begun = performance.now()
    let best = Infinity
    let measured = 0
    let attest: Extract<WitnessMessage, { kind: 'attest' }> | undefined
    for (let i = 0; i < rounds && attest == null; i++) {
      await sleep(begun + i * opened.durationMs / rounds - performance.now())
      const nonce = new Uint8Array(randomBytes(NONCE_LENGTH))
      const sent = performance.now()
      await lp.write(WitnessMessageCodec.encode({ kind: 'echo', nonce }), { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) })
      const reply = await this.next(lp)
      const rtt = performance.now() - sent
      if (reply.kind === 'attest') {
        attest = reply
      } else if (reply.kind === 'echo' && equals(reply.nonce, nonce)) {
        best = Math.min(best, rtt)
        measured++
      } else {
        throw new ProvenanceRefusal('invalid', reply.kind === 'echo' ? 'echo of another nonce' : `expected echo, got ${reply.kind}`)
      }
    }
    if (attest == null) {
      const left = opened.startedMs + opened.durationMs - Date.now()
      const frame = await this.next(lp, Math.max(0, left) + STEP_TIMEOUT_MS)
      if (frame.kind !== 'attest') throw new ProvenanceRefusal('invalid', `expected attest, got ${frame.kind}`)
      attest = frame
    }
    const windowEndMs = Date.now()
    record.attestation = attest.attestation

    // step 3: the attestation opens, is the remote peer's, matches open, was watched; the RTT rule from its own cell
    const attestation = await openAttestation(attest.attestation)
    const a = attestation.value
    if (!attestation.signer.equals(connection.remotePeer)) throw new ProvenanceRefusal('invalid', 'attested by another peer')
    if (a.geohash !== opened.geohash || !equals(a.jobId, opened.jobId)) throw new ProvenanceRefusal('invalid', 'another cell or job than opened')
    if (Math.abs(a.startedMs - opened.startedMs) > SKEW_MS || a.durationMs !== opened.durationMs) throw new ProvenanceRefusal('invalid', 'another start or duration than opened')
    if (a.startedMs < windowStartMs - WINDOW_TOLERANCE_MS || a.startedMs + a.durationMs > windowEndMs + WINDOW_TOLERANCE_MS) {
      throw new ProvenanceRefusal('invalid', 'recorded outside the watching window')
    }
    if (measured === 0) throw new ProvenanceRefusal('invalid', 'no echo answered')
    const rttMs = Math.ceil(best)
    const refusal = rttRefusal(own, a.geohash, rttMs)
    if (refusal != null) throw new ProvenanceRefusal(refusal, `${rttMs} ms from ${own} to ${a.geohash}`)

    // step 4: the statement, signed with the witness's key as a §1.1 envelope
    const value: WitnessStatement = {
      version: 1,
      witness: this.node.peerId.toMultihash().bytes,
      attestationId: attestation.id,
      capturer: attestation.signer.toMultihash().bytes,
      rttMs,
      geohash: own,
      createdMs: Date.now(),
      rounds: measured,
      windowStartMs,
      windowEndMs,
      observedAddr: connection.remoteAddr.bytes
    }
    const statement = await seal(this.key, RECORD.WitnessStatement, WitnessStatementCodec.encode(value))
    const signed = await open(statement, RECORD.WitnessStatement)
    record.statement = { ...signed, value }
    await lp.write(WitnessMessageCodec.encode({ kind: 'signed', statement, receipt: new Uint8Array(0), history: [] }), { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) })
  }
}
