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
import { base58btc } from 'multiformats/bases/base58'
import { hashChunk, chunkRoot } from './chunks.js'
import {
  CHUNK_MS, DEFAULT_MIN_WITNESSES, DEFAULT_MIN_WITNESS_AGE_MS, DEFAULT_MIN_WITNESS_COUNTERPARTIES, DEFAULT_WITNESS_WINDOW_TOLERANCE_MS
} from './constants.js'
import { decodeDeviceKey, deviceDigest, verifyDeviceBinding } from './device.js'
import { mediaRate, sensorMediaMismatch } from './media.js'
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
  | 'media-type-unknown' // no bounds for the media type (neither its own nor its `type/*` entry in the rates)
  | 'media-type-mismatch' // the media type cannot carry a sensor the bounty asks for (`video` needs video/*; `audio`, audio/* or video/*)
  | 'bytes-implausible' // the bytes do not fit the duration for the media type
  | 'replay' // footage already attested for another bounty
  | 'longer-than-asked' // claims more seconds than the caller pays for (its footage is not fetched)
  // the footage
  | 'footage-missing' // `requireFootage`, and no footage given or no content CID attested
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
  | 'witness-sybil-address' // shares a public address with the capturer, or saw it at a loopback/private/link-local/CGNAT one
  | 'witness-no-history' // too few counterparties independent of the capture (see VerifyContext.established)
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
  /**
   * seconds verified: what a receipt may charge. The verified chunks'
   * durations summed (each 1000 ms, the last one what is left of the
   * duration), rounded down: 4001 ms verify 4 s, and a 500 ms last chunk
   * adds nothing until another part-second chunk joins it.
   */
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
  /**
   * Refuse the capture (`footage-missing`, fatal) unless its footage is
   * given and the attestation names a content CID.
   *
   * Without it, a capture with no footage given is verified on the
   * attestation and the witnesses alone: its seconds rest on the
   * capturer's own claims about its bytes (content hash, byte count, chunk
   * root), which nobody checked. The witnesses attest where the capturer
   * was, not what it recorded. Set it wherever footage can be had.
   *
   * @default false
   */
  requireFootage?: boolean
  /** countersigned WorkReceipts presented as the witnesses' history (CaptureProof.history) */
  history?: Uint8Array[]
  /**
   * Whether the verifier itself holds countersigned receipts with `peer`
   * (and should say true for its own peer id: a receipt with it carries its
   * own signature). Given, a counterparty of a witness's `history` counts
   * (W7) only when established here: a witness cannot make history up with
   * keys of its own making. Omitted, every counterparty of `history` counts,
   * and history is only the witness's claim: any peer can mint receipts
   * between keys it holds.
   */
  established?(peer: PeerId): boolean
  /**
   * The verifier's own view of a witness: the peer id strings of the other
   * parties of the countersigned receipts it holds in which `peer` is a
   * party. Counted with the (established) counterparties of `history` as one
   * set, less the capturer, the capture's witnesses and `peer` itself.
   * Counterparties known only here have no dates: they do not take part in
   * the age rule (`witness-too-new`).
   */
  counterparties?(peer: PeerId): string[]
  /**
   * The verifier's own view of a witness as a number: distinct
   * counterparties of the receipts it holds with `peer`, not counting those
   * in `exclude`. Used only without `counterparties`, and never added to
   * what `history` shows (the two may be the same peers): the larger of the
   * two counts.
   *
   * @deprecated pass `counterparties`, whose peers are merged with history's
   */
  standing?(peer: PeerId, exclude: PeerId[]): number
  /** hosts (IP addresses) the verifier knows for a peer: a witness sharing a public one with the capturer is its sybil */
  addresses?(peer: PeerId): string[]
  /**
   * Accept witnesses that saw the capturer at a loopback, private,
   * link-local, CGNAT or other non-public address (their statement's
   * `observedAddr`). Off, such a witness is refused `witness-sybil-address`:
   * it shares a host or a LAN with the capturer, which is no independent
   * view of where the capturer is. Set it on LANs and local testnets.
   *
   * @default false
   */
  allowPrivateAddresses?: boolean
  /** the replay index: an earlier capture holding a hash (hex) */
  seen?(hashHex: string): ReplayHit | undefined
  /**
   * Bounds per media type, replacing MEDIA_RATES (default MEDIA_RATES). A
   * type with neither its own entry nor a `type/*` one is refused
   * `media-type-unknown`, unless these rates have a catch-all `* / *`
   * entry (written without the spaces): the opt-in to accept any type.
   */
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

/** A peer id's string (base58btc of its multihash bytes), as `PeerId.toString()` gives it. */
function peerString (multihash: Uint8Array): string {
  return base58btc.baseEncode(multihash)
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
  verdict.verifiedSeconds = verifiedSecondsOf(verdict)
  verdict.ok = !fatal && verdict.verifiedSeconds > 0
  // fatal first, otherwise in the order found
  verdict.reasons = [...verdict.reasons.filter(r => r.fatal), ...verdict.reasons.filter(r => !r.fatal)]
  return verdict
}

/** The verified chunks' durations summed, in whole seconds rounded down. */
function verifiedSecondsOf (verdict: CaptureVerdict): number {
  const durationMs = verdict.attestation?.value.durationMs ?? 0
  let ms = 0
  for (const i of verdict.verifiedChunks) {
    ms += Math.max(0, Math.min(CHUNK_MS, durationMs - i * CHUNK_MS))
  }
  return Math.floor(ms / 1000)
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
  const rate = mediaRate(a.mediaType, context.mediaRates)
  if (rate == null) {
    fatal('media-type-unknown', `no byte-rate bounds for media type ${JSON.stringify(a.mediaType)}: neither its own nor its type/* entry`)
  } else if (!fits(rate, a.contentBytes, a.durationMs)) {
    fatal('bytes-implausible', `${a.contentBytes} bytes of ${a.mediaType} cannot be ${seconds(a.durationMs)} (${rate.minBytesPerSecond}..${rate.maxBytesPerSecond} bytes per second)`)
  }
  const mismatch = sensorMediaMismatch(context.sensors ?? [], a.mediaType)
  if (mismatch != null) {
    fatal('media-type-mismatch', `footage of sensor ${mismatch} cannot be ${JSON.stringify(a.mediaType)}`)
  }

  // the footage
  if (context.requireFootage === true) {
    if (footage == null) {
      fatal('footage-missing', 'no footage given: its seconds would rest on the capturer\'s own byte claims')
    } else if (a.contentCid === '') {
      fatal('footage-missing', 'the attestation names no content CID: its footage cannot be fetched')
    }
  }
  const chunkOk: boolean[] = new Array(chunked ? a.chunkCount : 0).fill(footage == null)
  const presentHashes: Uint8Array[] = []
  if (footage != null && chunked) {
    checkFootage(a, footage, rate, chunkOk, presentHashes, reasons)
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
  const allWitnesses = considered.map(c => peerString(c.statement.value.witness))
  const capturerString = peerString(a.capturer)
  const capturerHosts = context.addresses != null ? publicHosts(context.addresses(capturer)) : undefined
  for (const c of considered) {
    if (c.reasons.length > 0) {
      continue
    }
    const s = c.statement.value
    const witnessString = peerString(s.witness)
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
    const observed = multiaddrHost(s.observedAddr)
    const observedPublic = observed == null ? undefined : publicHost(observed)
    if (observed != null && observedPublic == null && context.allowPrivateAddresses !== true) {
      refuse('witness-sybil-address', `saw the capturer at ${observed}, not a public address: they share a host or a LAN`)
    } else if (context.addresses != null && capturerHosts != null) {
      const witnessHosts = publicHosts(context.addresses(c.statement.signer))
      const shared = [...witnessHosts].filter(h => capturerHosts.has(h))
      if (observedPublic != null && witnessHosts.has(observedPublic) && !shared.includes(observedPublic)) {
        shared.push(observedPublic)
      }
      if (shared.length > 0) {
        refuse('witness-sybil-address', `shares public address ${shared.join(', ')} with the capturer`)
      }
    }

    // history independent of this capture's parties: one set of counterparties, from history and from the verifier's own receipts
    const exclude = new Set([capturerString, ...allWitnesses, witnessString])
    const fromHistory = new Set<string>()
    let unestablished = 0
    let oldestEndedMs = Infinity
    for (const { receipt, provider, requester } of history) {
      const other = provider === witnessString ? requester : requester === witnessString ? provider : undefined
      if (other == null || exclude.has(other)) {
        continue
      }
      if (context.established != null && !isEstablished(context.established, receipt, other)) {
        unestablished++
        continue
      }
      fromHistory.add(other)
      oldestEndedMs = Math.min(oldestEndedMs, receipt.record.value.endedMs)
    }
    const counterparties = new Set(fromHistory)
    let known = 0
    if (context.counterparties != null) {
      const own = context.counterparties(c.statement.signer)
      for (const other of Array.isArray(own) ? own : []) {
        if (typeof other === 'string' && !exclude.has(other)) {
          counterparties.add(other)
          known++
        }
      }
    } else if (context.standing != null) {
      // deprecated: a count cannot be merged, so the larger of the two counts, never their sum
      const excludedPeers = [capturer, ...considered.filter(o => o !== c).map(o => o.statement.signer)]
      known = Math.max(0, context.standing(c.statement.signer, excludedPeers))
      known = Number.isFinite(known) ? Math.floor(known) : 0
    }
    const count = Math.max(counterparties.size, known)
    const minCounterparties = context.minWitnessCounterparties ?? DEFAULT_MIN_WITNESS_COUNTERPARTIES
    const minAgeMs = context.minWitnessAgeMs ?? DEFAULT_MIN_WITNESS_AGE_MS
    if (count < minCounterparties) {
      const skipped = unestablished > 0 ? `, ${unestablished} receipt(s) of history with counterparties unknown here not counted` : ''
      refuse('witness-no-history', `${count} distinct counterparties (${fromHistory.size} in its history, ${known} known here), ${minCounterparties} needed (not counting the capturer and the capture's witnesses${skipped})`)
    } else if (fromHistory.size > 0 && oldestEndedMs > a.startedMs - minAgeMs) {
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

/** Whether `bytes` fit `ms` of footage at `rate`. */
function fits (rate: MediaRate, bytes: number, ms: number): boolean {
  const s = ms / 1000
  return Number.isFinite(bytes) && bytes >= 0 && s > 0 && bytes >= rate.minBytesPerSecond * s && bytes <= rate.maxBytesPerSecond * s
}

/** Whether the verifier knows the counterparty `other` (a peer id string) of a history receipt; false when it cannot say. */
function isEstablished (established: (peer: PeerId) => boolean, receipt: CountersignedRecord<WorkReceipt>, other: string): boolean {
  try {
    const peer = receipt.record.signer.toString() === other ? receipt.record.signer : receipt.countersigner.toString() === other ? receipt.countersigner : undefined
    return peer != null && established(peer) === true
  } catch {
    return false
  }
}

/** Check the footage against the attestation (`rate`: the media type's bounds, when known); fills `chunkOk` and `presentHashes`. */
function checkFootage (
  a: CaptureAttestation,
  footage: CaptureFootage,
  rate: MediaRate | undefined,
  chunkOk: boolean[],
  presentHashes: Uint8Array[],
  reasons: CaptureRefusal[]
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
    // an unknown media type is refused already: its chunks have no bounds to fail
    if (rate != null && !fits(rate, chunk.byteLength, ms)) {
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

/** A receipt of history, opened, with its two parties' peer id strings. */
interface HistoryReceipt {
  receipt: CountersignedRecord<WorkReceipt>
  provider: string
  requester: string
}

/** The countersigned receipts of `history` that open, between two distinct parties; the rest prove nothing and are left out. */
async function openHistory (history: Uint8Array[]): Promise<HistoryReceipt[]> {
  const out: HistoryReceipt[] = []
  const ids = new Set<string>()
  for (const bytes of Array.isArray(history) ? history : []) {
    try {
      const receipt = await openCountersigned(WorkReceiptType, bytes, { ignoreTime: true })
      const id = toHex(receipt.id)
      const provider = peerString(receipt.record.value.provider)
      const requester = peerString(receipt.record.value.requester)
      if (!ids.has(id) && provider !== requester) {
        ids.add(id)
        out.push({ receipt, provider, requester })
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
