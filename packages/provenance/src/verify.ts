/**
 * `verifyCapture`: the pure check of a capture (no network, no store; what
 * the verifier knows comes in `context`). It returns a verdict with every
 * reason it refuses; nothing throws for bad input.
 *
 * Capture-level refusals (`fatal`) verify no second at all; per-chunk ones
 * take that chunk's second out; per-witness ones take that witness out
 * (and with too few witnesses left, the capture is refused).
 */

import { createHash } from 'node:crypto'
import { BlockList, isIP } from 'node:net'
import {
  CLOCK_SKEW_MS, CaptureAttestationType, WitnessStatementType, WorkReceiptType, isVerified, openCountersigned, openRecord, verifyBytes
} from '@shoal/records'
import { equalBytes, errorMessage, toHex } from '@shoal/utils'
import { hashChunk, chunkRoot } from './chunks.js'
import {
  CHUNK_MS, DEFAULT_MIN_WITNESSES, DEFAULT_MIN_WITNESS_AGE_MS, DEFAULT_MIN_WITNESS_COUNTERPARTIES, DEFAULT_WITNESS_WINDOW_TOLERANCE_MS
} from './constants.js'
import { decodeDeviceKey, deviceDigest, verifyDeviceBinding } from './device.js'
import { bytesFitDuration, mediaRate } from './media.js'
import { checkWitnessRtt } from './plausibility.js'
import { decodeCaptureProof } from './proof.js'
import type { MediaRate } from './media.js'
import type { RttPlausibilityInit } from './plausibility.js'
import type { ReplayHit } from './replay.js'
import type { PeerId } from '@libp2p/interface'
import type { CaptureAttestation, CountersignedRecord, SignedRecord, WitnessStatement, WorkReceipt } from '@shoal/records'

/** Every reason a capture, a chunk or a witness is refused. */
export type CaptureRefusalCode =
  // the attestation itself
  | 'attestation-invalid' // does not open (shape, signature, size)
  | 'device-binding-invalid' // no binding, or one that does not open or binds another peer or key
  | 'device-signature-invalid' // the device key did not sign this attestation
  | 'wrong-capturer' // attested by another peer than the one expected
  | 'wrong-job' // for another bounty
  | 'wrong-assignment' // for another assignment
  | 'outside-region' // the claimed cell is outside the bounty's region
  | 'missing-sensor' // a sensor the bounty asks for is not attested
  | 'starts-before-assignment' // recording started before the assignment (less the clock skew)
  | 'ends-after-result' // recording ended after the result arrived (plus the clock skew)
  | 'duration-mismatch' // the chunk count is not one per second of the duration
  | 'bytes-implausible' // the bytes do not fit the duration for the media type
  | 'replay' // footage already attested for another bounty
  // the footage, when given
  | 'content-mismatch' // the footage does not hash to the content hash, or has another byte count
  | 'chunk-root-mismatch' // the chunks do not hash to the attested root
  | 'chunk-missing' // a chunk is absent
  | 'chunk-implausible' // one chunk's bytes do not fit a second of the media type
  // the witnesses
  | 'witness-invalid' // does not open
  | 'witness-other-capture' // about another attestation or capturer
  | 'witness-self' // signed by the capturer
  | 'witness-duplicate' // the same witness twice
  | 'witness-window' // did not watch while the capture was recorded
  | 'witness-rtt-below-floor'
  | 'witness-rtt-above-ceiling'
  | 'witness-too-far'
  | 'witness-cell-invalid'
  | 'witness-sybil-address' // shares a public address with the capturer
  | 'witness-no-history' // no receipts history independent of the capturer
  | 'witness-too-new' // its history starts just before the capture
  | 'too-few-witnesses' // fewer distinct accepted witnesses than required

/** One reason. */
export interface CaptureRefusal {
  code: CaptureRefusalCode
  explain: string
  /** whether it refuses the whole capture */
  fatal: boolean
  /** the witness it is about (peer id string) */
  witness?: string
  /** the chunk it is about */
  chunk?: number
}

/** What was decided about one witness statement. */
export interface WitnessVerdict {
  /** peer id string ('' when the statement did not open) */
  witness: string
  accepted: boolean
  rttMs?: number
  floorMs?: number
  ceilingMs?: number
  geohash?: string
  /** the first reason it was refused */
  code?: CaptureRefusalCode
}

/** The verdict on a capture. */
export interface CaptureVerdict {
  /** at least one verified second, and no fatal refusal */
  ok: boolean
  /** seconds the attestation claims (its duration, rounded up) */
  claimedSeconds: number
  /** seconds verified: what a receipt may charge */
  verifiedSeconds: number
  /** indices of the verified chunks */
  verifiedChunks: number[]
  /** every refusal, fatal ones first */
  reasons: CaptureRefusal[]
  witnesses: WitnessVerdict[]
  /** the opened attestation, when it opened */
  attestation?: SignedRecord<CaptureAttestation>
  /** the opened statements that were accepted */
  accepted: Array<SignedRecord<WitnessStatement>>
}

/** Footage to check against the attestation: its chunks in order (a missing chunk is `undefined`). */
export interface CaptureFootage {
  chunks: Array<Uint8Array | undefined>
  /**
   * The claimed SHA-256 of chunks that are missing (e.g. from the footage
   * directory's listing, whose raw-leaf CIDs are those hashes). With a
   * chunk missing, the root can only bind the chunks present if the
   * missing ones' hashes fill the gaps: without them the capture is
   * refused `chunk-root-mismatch`. A hash given for a present chunk is
   * ignored (the chunk's own bytes are hashed).
   */
  chunkHashes?: Array<Uint8Array | undefined>
}

/** What the verifier knows. Every field is optional; a rule without its facts is skipped (and says so nowhere: pass the facts). */
export interface VerifyContext {
  /** the clock (default Date.now) */
  now?: number
  /**
   * Clock skew allowed between the capturer's clock and the assignment's
   * and result's times, and when opening records. 30 s is a lot for a
   * capture of seconds: pass a smaller one where clocks are known to agree.
   *
   * @default CLOCK_SKEW_MS of @shoal/records
   */
  clockSkewMs?: number
  /**
   * How far a witness's window may fall short of the recording at either end.
   *
   * @default DEFAULT_WITNESS_WINDOW_TOLERANCE_MS (2000)
   */
  witnessWindowToleranceMs?: number
  /** the capturer expected (the receipt's provider) */
  capturer?: PeerId
  /** the bounty */
  jobId?: Uint8Array
  /** the assignment (its record id) */
  assignmentId?: Uint8Array
  /** when the assignment was made (its createdMs): recording may not start before */
  assignedMs?: number
  /** when the result arrived: recording may not end after */
  resultMs?: number
  /** the bounty's region (a geohash prefix) */
  region?: string
  /** the bounty's sensors */
  sensors?: string[]
  /** @default DEFAULT_MIN_WITNESSES (2) */
  minWitnesses?: number
  /** the witness RTT thresholds */
  rtt?: RttPlausibilityInit
  /** @default DEFAULT_MIN_WITNESS_COUNTERPARTIES (1) */
  minWitnessCounterparties?: number
  /** @default DEFAULT_MIN_WITNESS_AGE_MS (1 h) */
  minWitnessAgeMs?: number
  /** countersigned WorkReceipts presented as the witnesses' history (CaptureProof.history) */
  history?: Uint8Array[]
  /**
   * The verifier's own view of a witness: distinct counterparties of the
   * receipts it holds with `peer`, not counting those in `exclude`. Added
   * to what `history` shows.
   */
  standing?(peer: PeerId, exclude: PeerId[]): number
  /** hosts (IP addresses) the verifier knows for a peer: a witness sharing a public one with the capturer is its sybil */
  addresses?(peer: PeerId): string[]
  /** the replay index: an earlier capture holding a hash (hex) */
  seen?(hashHex: string): ReplayHit | undefined
  /** bounds per media type (default MEDIA_RATES) */
  mediaRates?: Readonly<Record<string, MediaRate>>
}

/** Hosts that are no one's own: loopback, private, link-local, CGNAT, unspecified, documentation. */
const NOT_PUBLIC = new BlockList()
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 3]] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv4')
}
for (const [net, prefix] of [['::', 127], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['2001:db8::', 32]] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv6')
}

/** The canonical form of a public IP host (IPv4-mapped IPv6 as IPv4), or undefined for anything else. */
export function publicHost (host: string): string | undefined {
  let h = host.trim().toLowerCase()
  if (h.startsWith('[') && h.endsWith(']')) {
    h = h.slice(1, -1)
  }
  const family = isIP(h)
  if (family === 0) {
    return undefined
  }
  if (family === 6) {
    h = new URL(`http://[${h}]`).hostname.slice(1, -1)
    // IPv4-mapped (::ffff:a.b.c.d, canonically ::ffff:hhhh:hhhh) is the IPv4 host
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h)
    if (mapped == null) {
      return NOT_PUBLIC.check(h, 'ipv6') ? undefined : h
    }
    const hi = parseInt(mapped[1], 16)
    const lo = parseInt(mapped[2], 16)
    h = `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`
  }
  return NOT_PUBLIC.check(h, 'ipv4') ? undefined : h
}

/** The IP host of multiaddr bytes (ip4 or ip6 first), or undefined. */
function multiaddrHost (bytes: Uint8Array): string | undefined {
  if (bytes.byteLength >= 5 && bytes[0] === 0x04) {
    return Array.from(bytes.subarray(1, 5)).join('.')
  }
  if (bytes.byteLength >= 17 && bytes[0] === 0x29) {
    const words: string[] = []
    for (let i = 1; i < 17; i += 2) {
      words.push(((bytes[i] << 8) | bytes[i + 1]).toString(16))
    }
    return words.join(':')
  }
  return undefined
}

/** The public hosts among `hosts` (IP strings, or multiaddr strings whose host is an IP). */
function publicHosts (hosts: string[]): Set<string> {
  const out = new Set<string>()
  for (const host of hosts) {
    const ip = host.startsWith('/') ? host.split('/')[2] ?? '' : host
    const h = publicHost(ip)
    if (h != null) {
      out.add(h)
    }
  }
  return out
}

function seconds (ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 3)} s`
}

/** A witness statement opened and about this capture, with what was decided. */
interface Considered {
  statement: SignedRecord<WitnessStatement>
  verdict: WitnessVerdict
  reasons: CaptureRefusal[]
}

/**
 * Verify a capture: its attestation, its witnesses' statements, and its
 * footage when given. Pure; never throws for bad input.
 *
 * Decisions beyond the rules of each refusal code:
 * - replay: a hash the replay index holds for any other attestation (even
 *   one for the same job) refuses the capture; only this attestation
 *   itself, verified again, is no replay. Chunk hashes are only known
 *   when the footage is given.
 * - footage with chunks missing: the present chunks can be bound to the
 *   attested root only when `footage.chunkHashes` gives the missing ones'
 *   hashes; otherwise the capture is refused `chunk-root-mismatch`. The
 *   content hash needs every byte, so it is checked only with all chunks.
 * - a witness covers chunk i when its window starts no later than the
 *   chunk's start and ends no earlier than its end, each with the window
 *   tolerance: the same test that accepts the witness for the recording.
 */
export async function verifyCapture (
  attestation: Uint8Array | SignedRecord<CaptureAttestation>,
  witnesses: Array<Uint8Array | SignedRecord<WitnessStatement>>,
  footage: CaptureFootage | undefined,
  context: VerifyContext = {}
): Promise<CaptureVerdict> {
  const verdict: CaptureVerdict = { ok: false, claimedSeconds: 0, verifiedSeconds: 0, verifiedChunks: [], reasons: [], witnesses: [], accepted: [] }
  try {
    await check(verdict, attestation, witnesses, footage, context)
  } catch (err: unknown) {
    // a bug here must not crash a node that verifies what peers send
    verdict.reasons.push({ code: 'attestation-invalid', fatal: true, explain: `verification failed: ${errorMessage(err)}` })
  }
  const fatal = verdict.reasons.some(r => r.fatal)
  if (fatal) {
    verdict.verifiedChunks = []
  }
  verdict.verifiedSeconds = verdict.verifiedChunks.length
  verdict.ok = !fatal && verdict.verifiedSeconds > 0
  // fatal first, otherwise in the order found
  verdict.reasons = [...verdict.reasons.filter(r => r.fatal), ...verdict.reasons.filter(r => !r.fatal)]
  return verdict
}

async function check (
  verdict: CaptureVerdict,
  attestationIn: Uint8Array | SignedRecord<CaptureAttestation>,
  witnessesIn: Array<Uint8Array | SignedRecord<WitnessStatement>>,
  footage: CaptureFootage | undefined,
  context: VerifyContext
): Promise<void> {
  const reasons = verdict.reasons
  const fatal = (code: CaptureRefusalCode, explain: string): void => { reasons.push({ code, explain, fatal: true }) }
  const now = context.now ?? Date.now()
  const skew = context.clockSkewMs ?? CLOCK_SKEW_MS
  const openOptions = { now, clockSkewMs: skew }

  // the attestation
  let att: SignedRecord<CaptureAttestation>
  try {
    att = await openAttestation(attestationIn, openOptions)
  } catch (err: unknown) {
    fatal('attestation-invalid', `the attestation does not open: ${errorMessage(err)}`)
    return
  }
  verdict.attestation = att
  const a = att.value
  const capturer = att.signer
  const capturerHex = toHex(a.capturer)
  const attestationHex = toHex(att.id)
  verdict.claimedSeconds = Math.ceil(a.durationMs / CHUNK_MS)
  const endMs = a.startedMs + a.durationMs

  // the device: bound to the capturer, and signing this attestation
  if (a.deviceBinding.byteLength === 0) {
    fatal('device-binding-invalid', 'the attestation carries no device binding')
  } else {
    try {
      const binding = await verifyDeviceBinding(a.deviceBinding, capturer, openOptions)
      if (!equalBytes(binding.value.deviceKey, a.deviceKey)) {
        fatal('device-binding-invalid', 'the device binding binds another device key than the attestation\'s')
      }
    } catch (err: unknown) {
      fatal('device-binding-invalid', `the device binding does not hold: ${errorMessage(err)}`)
    }
  }
  let deviceSigned = false
  try {
    deviceSigned = await verifyBytes(decodeDeviceKey(a.deviceKey), deviceDigest(a), a.deviceSignature)
  } catch {}
  if (!deviceSigned) {
    fatal('device-signature-invalid', 'the device key did not sign this attestation')
  }

  // what the bounty expects
  if (context.capturer != null && !context.capturer.equals(capturer)) {
    fatal('wrong-capturer', `attested by ${capturer.toString()}, expected ${context.capturer.toString()}`)
  }
  if (context.jobId != null && !equalBytes(context.jobId, a.jobId)) {
    fatal('wrong-job', `attested for job ${toHex(a.jobId) === '' ? '(none)' : toHex(a.jobId)}, expected ${toHex(context.jobId)}`)
  }
  if (context.assignmentId != null && !equalBytes(context.assignmentId, a.assignmentId)) {
    fatal('wrong-assignment', `attested for assignment ${toHex(a.assignmentId) === '' ? '(none)' : toHex(a.assignmentId)}, expected ${toHex(context.assignmentId)}`)
  }
  if (context.region != null && context.region !== '' && !a.geohash.startsWith(context.region)) {
    fatal('outside-region', `cell ${a.geohash} is outside region ${context.region}`)
  }
  const missingSensors = (context.sensors ?? []).filter(s => !a.sensors.includes(s))
  if (missingSensors.length > 0) {
    fatal('missing-sensor', `${missingSensors.length} sensor(s) asked for are not attested: ${missingSensors.join(', ')}`)
  }

  // time
  if (context.assignedMs != null && a.startedMs < context.assignedMs - skew) {
    fatal('starts-before-assignment', `recording started ${context.assignedMs - a.startedMs} ms before the assignment (skew allowed ${skew} ms)`)
  }
  if (context.resultMs != null && endMs > context.resultMs + skew) {
    fatal('ends-after-result', `recording ended ${endMs - context.resultMs} ms after the result arrived (skew allowed ${skew} ms)`)
  }

  // duration and bytes
  const chunked = a.chunkRoot.byteLength !== 0 && a.chunkCount !== 0
  if (!chunked) {
    fatal('duration-mismatch', 'the attestation has no chunk root: captures must be cut into one-second chunks')
  } else if (a.chunkCount !== verdict.claimedSeconds) {
    fatal('duration-mismatch', `${a.chunkCount} chunks attested for ${seconds(a.durationMs)} (${verdict.claimedSeconds} expected)`)
  }
  if (!bytesFitDuration(a.mediaType, a.contentBytes, a.durationMs / 1000, context.mediaRates)) {
    const rate = mediaRate(a.mediaType, context.mediaRates)
    fatal('bytes-implausible', `${a.contentBytes} bytes of ${a.mediaType} cannot be ${seconds(a.durationMs)} (${rate.minBytesPerSecond}..${rate.maxBytesPerSecond} bytes per second)`)
  }

  // the footage
  const chunkOk: boolean[] = new Array(chunked ? a.chunkCount : 0).fill(footage == null)
  const presentHashes: Uint8Array[] = []
  if (footage != null && chunked) {
    checkFootage(a, footage, chunkOk, presentHashes, reasons, context)
  }

  // replays
  if (context.seen != null) {
    const hashes = [a.contentHash, ...presentHashes]
    for (const hash of hashes) {
      const hit = context.seen(toHex(hash))
      if (hit != null && hit.attestationId !== attestationHex) {
        const what = hash === a.contentHash ? 'the footage' : 'a chunk of the footage'
        fatal('replay', `${what} was attested before by ${hit.attestationId}${hit.jobId === '' ? '' : ` for job ${hit.jobId}`}`)
        break
      }
    }
  }

  // the witnesses
  const considered = await considerWitnesses(att, witnessesIn, openOptions, verdict)
  const minWitnesses = context.minWitnesses ?? DEFAULT_MIN_WITNESSES
  const tolerance = context.witnessWindowToleranceMs ?? DEFAULT_WITNESS_WINDOW_TOLERANCE_MS
  const history = await openHistory(context.history ?? [])
  const allWitnessHex = considered.map(c => toHex(c.statement.value.witness))
  const capturerHosts = context.addresses != null ? publicHosts(context.addresses(capturer)) : undefined
  for (const c of considered) {
    if (c.reasons.length > 0) {
      continue
    }
    const s = c.statement.value
    const witnessHex = toHex(s.witness)
    const refuse = (code: CaptureRefusalCode, explain: string): void => { c.reasons.push({ code, explain, fatal: false, witness: c.verdict.witness }) }

    if (s.windowStartMs > a.startedMs + tolerance || s.windowEndMs < endMs - tolerance) {
      refuse('witness-window', `watched ${s.windowStartMs - a.startedMs} ms to ${s.windowEndMs - a.startedMs} ms of a recording of ${a.durationMs} ms (tolerance ${tolerance} ms)`)
    }
    const rtt = checkWitnessRtt(s.geohash, a.geohash, s.rttMs, context.rtt)
    c.verdict.floorMs = rtt.floorMs
    c.verdict.ceilingMs = rtt.ceilingMs
    if (rtt.refusal != null) {
      refuse(rtt.refusal.code, rtt.refusal.explain)
    }
    if (context.addresses != null && capturerHosts != null) {
      const witnessHosts = publicHosts(context.addresses(c.statement.signer))
      const shared = [...witnessHosts].filter(h => capturerHosts.has(h))
      const observed = multiaddrHost(s.observedAddr)
      const observedPublic = observed == null ? undefined : publicHost(observed)
      if (observedPublic != null && witnessHosts.has(observedPublic) && !shared.includes(observedPublic)) {
        shared.push(observedPublic)
      }
      if (shared.length > 0) {
        refuse('witness-sybil-address', `shares public address ${shared.join(', ')} with the capturer`)
      }
    }

    // history independent of this capture's other parties
    const exclude = new Set([capturerHex, ...allWitnessHex])
    const counterparties = new Set<string>()
    let oldestEndedMs = Infinity
    for (const receipt of history) {
      const r = receipt.record.value
      const provider = toHex(r.provider)
      const requester = toHex(r.requester)
      if (provider === requester) {
        continue
      }
      const other = provider === witnessHex ? requester : requester === witnessHex ? provider : undefined
      if (other == null || exclude.has(other)) {
        continue
      }
      counterparties.add(other)
      oldestEndedMs = Math.min(oldestEndedMs, r.endedMs)
    }
    const excludedPeers = [capturer, ...considered.filter(o => o !== c).map(o => o.statement.signer)]
    const standing = Math.max(0, context.standing?.(c.statement.signer, excludedPeers) ?? 0)
    const minCounterparties = context.minWitnessCounterparties ?? DEFAULT_MIN_WITNESS_COUNTERPARTIES
    const minAgeMs = context.minWitnessAgeMs ?? DEFAULT_MIN_WITNESS_AGE_MS
    if (counterparties.size + standing < minCounterparties) {
      refuse('witness-no-history', `${counterparties.size} counterparties in its receipts and ${standing} known here, ${minCounterparties} needed (not counting the capturer and the other witnesses)`)
    } else if (counterparties.size > 0 && oldestEndedMs > a.startedMs - minAgeMs) {
      refuse('witness-too-new', `its oldest independent receipt ended ${a.startedMs - oldestEndedMs} ms before the capture, ${minAgeMs} ms needed`)
    }
  }

  const accepted: Considered[] = []
  for (const c of considered) {
    reasons.push(...c.reasons)
    c.verdict.accepted = c.reasons.length === 0
    c.verdict.code = c.reasons[0]?.code
    if (c.verdict.accepted) {
      accepted.push(c)
      verdict.accepted.push(c.statement)
    }
  }
  if (accepted.length < minWitnesses) {
    fatal('too-few-witnesses', `${accepted.length} witness(es) accepted, ${minWitnesses} needed`)
  }

  // the seconds verified: the chunk passed its checks and enough accepted witnesses watched it
  for (let i = 0; i < chunkOk.length; i++) {
    const chunkStart = a.startedMs + i * CHUNK_MS
    const chunkEnd = Math.min(chunkStart + CHUNK_MS, endMs)
    const watchers = accepted.filter(c => c.statement.value.windowStartMs <= chunkStart + tolerance && c.statement.value.windowEndMs >= chunkEnd - tolerance).length
    if (chunkOk[i] && watchers >= minWitnesses) {
      verdict.verifiedChunks.push(i)
    }
  }
}

async function openAttestation (input: Uint8Array | SignedRecord<CaptureAttestation>, options: { now: number, clockSkewMs: number }): Promise<SignedRecord<CaptureAttestation>> {
  if (input instanceof Uint8Array) {
    return openRecord(CaptureAttestationType, input, options)
  }
  if (isVerified(input) && input.type === CaptureAttestationType) {
    return input
  }
  return openRecord(CaptureAttestationType, input.bytes, options)
}

/** Check the footage against the attestation; fills `chunkOk` and `presentHashes`. */
function checkFootage (
  a: CaptureAttestation,
  footage: CaptureFootage,
  chunkOk: boolean[],
  presentHashes: Uint8Array[],
  reasons: CaptureRefusal[],
  context: VerifyContext
): void {
  const chunks = Array.isArray(footage.chunks) ? footage.chunks : []
  if (chunks.length !== a.chunkCount) {
    reasons.push({ code: 'chunk-root-mismatch', fatal: true, explain: `${chunks.length} chunks given for ${a.chunkCount} attested` })
    return
  }
  const hashes: Array<Uint8Array | undefined> = []
  let missing = 0
  let unbound = 0
  let total = 0
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]
    if (!(chunk instanceof Uint8Array)) {
      missing++
      reasons.push({ code: 'chunk-missing', fatal: false, chunk: i, explain: `chunk ${i} is missing` })
      const claimed = footage.chunkHashes?.[i]
      if (claimed instanceof Uint8Array && claimed.byteLength === 32) {
        hashes.push(claimed)
      } else {
        hashes.push(undefined)
        unbound++
      }
      continue
    }
    const hash = hashChunk(chunk)
    hashes.push(hash)
    presentHashes.push(hash)
    total += chunk.byteLength
    const ms = Math.min(CHUNK_MS, a.durationMs - i * CHUNK_MS)
    if (!bytesFitDuration(a.mediaType, chunk.byteLength, ms / 1000, context.mediaRates)) {
      reasons.push({ code: 'chunk-implausible', fatal: false, chunk: i, explain: `chunk ${i} has ${chunk.byteLength} bytes: not ${seconds(ms)} of ${a.mediaType}` })
      continue
    }
    chunkOk[i] = true
  }
  if (unbound > 0) {
    reasons.push({ code: 'chunk-root-mismatch', fatal: true, explain: `${unbound} chunk(s) missing without their hashes: the ${chunks.length - missing} present cannot be bound to the root` })
    return
  }
  if (!equalBytes(chunkRoot(hashes as Uint8Array[]), a.chunkRoot)) {
    reasons.push({ code: 'chunk-root-mismatch', fatal: true, explain: `the ${chunks.length} chunks do not hash to the attested root` })
    return
  }
  if (missing === 0) {
    let contentHash: Uint8Array
    {
      const h = createHash('sha256')
      for (const chunk of chunks as Uint8Array[]) {
        h.update(chunk)
      }
      contentHash = new Uint8Array(h.digest())
    }
    if (total !== a.contentBytes || !equalBytes(contentHash, a.contentHash)) {
      reasons.push({ code: 'content-mismatch', fatal: true, explain: `the footage has ${total} bytes ${equalBytes(contentHash, a.contentHash) ? 'and' : 'but not'} the attested content hash (${a.contentBytes} bytes attested)` })
    }
  }
}

/** Open the statements, and refuse those that are not this capture's own (invalid, about another, self, duplicate). */
async function considerWitnesses (
  att: SignedRecord<CaptureAttestation>,
  inputs: Array<Uint8Array | SignedRecord<WitnessStatement>>,
  options: { now: number, clockSkewMs: number },
  verdict: CaptureVerdict
): Promise<Considered[]> {
  const considered: Considered[] = []
  const seen = new Set<string>()
  const capturerHex = toHex(att.value.capturer)
  for (const input of Array.isArray(inputs) ? inputs : []) {
    let statement: SignedRecord<WitnessStatement>
    try {
      if (input instanceof Uint8Array) {
        statement = await openRecord(WitnessStatementType, input, options)
      } else if (isVerified(input) && input.type === WitnessStatementType) {
        statement = input
      } else {
        statement = await openRecord(WitnessStatementType, input.bytes, options)
      }
    } catch (err: unknown) {
      const reason: CaptureRefusal = { code: 'witness-invalid', fatal: false, witness: '', explain: `a witness statement does not open: ${errorMessage(err)}` }
      verdict.reasons.push(reason)
      verdict.witnesses.push({ witness: '', accepted: false, code: 'witness-invalid' })
      continue
    }
    const s = statement.value
    const witness = statement.signer.toString()
    const witnessHex = toHex(s.witness)
    const v: WitnessVerdict = { witness, accepted: false, rttMs: s.rttMs, geohash: s.geohash }
    verdict.witnesses.push(v)
    const refuse = (code: CaptureRefusalCode, explain: string): void => {
      v.code = code
      verdict.reasons.push({ code, explain, fatal: false, witness })
    }
    if (!equalBytes(s.attestationId, att.id) || toHex(s.capturer) !== capturerHex) {
      refuse('witness-other-capture', `statement of ${witness} is about attestation ${toHex(s.attestationId)} of another capture`)
    } else if (witnessHex === capturerHex) {
      refuse('witness-self', 'the capturer witnessed itself')
    } else if (seen.has(witnessHex)) {
      refuse('witness-duplicate', `${witness} witnessed twice`)
    } else {
      seen.add(witnessHex)
      considered.push({ statement, verdict: v, reasons: [] })
    }
  }
  return considered
}

/** The countersigned receipts of `history` that open; the rest prove nothing and are left out. */
async function openHistory (history: Uint8Array[]): Promise<Array<CountersignedRecord<WorkReceipt>>> {
  const out: Array<CountersignedRecord<WorkReceipt>> = []
  const ids = new Set<string>()
  for (const bytes of Array.isArray(history) ? history : []) {
    try {
      const receipt = await openCountersigned(WorkReceiptType, bytes, { ignoreTime: true })
      const id = toHex(receipt.id)
      if (!ids.has(id)) {
        ids.add(id)
        out.push(receipt)
      }
    } catch {}
  }
  return out
}

/** {@link verifyCapture} of a CaptureProof's bytes (its history added to the context's). */
export async function verifyCaptureProof (proof: Uint8Array, footage: CaptureFootage | undefined, context: VerifyContext = {}): Promise<CaptureVerdict> {
  let parts
  try {
    parts = decodeCaptureProof(proof)
  } catch (err: unknown) {
    return {
      ok: false,
      claimedSeconds: 0,
      verifiedSeconds: 0,
      verifiedChunks: [],
      reasons: [{ code: 'attestation-invalid', fatal: true, explain: errorMessage(err) }],
      witnesses: [],
      accepted: []
    }
  }
  return verifyCapture(parts.attestation, parts.witnesses, footage, { ...context, history: [...(context.history ?? []), ...parts.history] })
}
