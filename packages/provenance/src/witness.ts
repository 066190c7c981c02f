/**
 * `/shoal/witness/1.0.0`: one WitnessMessage per length-prefixed frame
 * (docs/spec.md §7.4).
 *
 * ```
 * capturer                                 witness
 *   open{jobId, geohash, startedMs, dur} ->
 *                                       <- accept{own cell, price?} | error
 *                                       <- echo{nonce}      (rounds, spread
 *   echo{same nonce}                    ->                   over the recording)
 *   attest{attestation}                 ->
 *                                       <- signed{statement, receipt?, history} | error
 *   countersign{receipt}                ->  (only with a price)
 * ```
 *
 * The witness measures the RTT itself (the capturer cannot make it look
 * smaller than it is, only larger) and signs only if the claimed cell is
 * physically possible from its own by `checkWitnessRtt`.
 */

import { randomBytes } from 'node:crypto'
import { setMaxListeners } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import {
  CLOCK_SKEW_MS, CaptureAttestationType, MAX_MESSAGE_SIZE, MAX_WITNESS_HISTORY, RANDOM_ID_LENGTH, RECORD_VERSION,
  WitnessMessage, WitnessStatementType, WorkReceiptType, countersign, decodeMessage, isGeohash, newRandomId,
  openCountersigned, openRecord, signRecord
} from '@shoal/records'
import { asError, equalBytes, errorMessage, sha256, sleep } from '@shoal/utils'
import { DEFAULT_RTT_ROUNDS, DEFAULT_WITNESS_WINDOW_TOLERANCE_MS, WITNESS_PRICE_UNIT } from './constants.js'
import { InvalidWitnessMessageError, WitnessRefusedError } from './errors.js'
import { checkWitnessRtt } from './plausibility.js'
import type { WitnessInit } from './service.js'
import type { AbortOptions, Connection, Logger, PeerId, PrivateKey, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type {
  CaptureAttestation, CountersignedRecord, Price, SignedRecord, WitnessAccept, WitnessOpen, WitnessSigned,
  WitnessStatement, WorkReceipt
} from '@shoal/records'

/** Witnessings at once, by default. */
export const DEFAULT_WITNESS_MAX_CONCURRENT = 8

/** Longest capture a witness watches by default, ms. */
export const DEFAULT_WITNESS_MAX_DURATION_MS = 600_000

/**
 * Clock difference (and open/attest latency) a witness allows between the
 * times a capturer states and its own, ms.
 *
 * @default 5_000
 */
export const DEFAULT_WITNESS_CLOCK_SKEW_MS = 5_000

/**
 * Longest wait for one step of the protocol (an accept, an echo's answer,
 * a statement, a countersignature), ms.
 *
 * @default 10_000
 */
export const WITNESS_STEP_TIMEOUT_MS = 10_000

/**
 * Longest wait for a candidate witness to accept (the stream opened and the
 * accept read), ms. Two waves of opens must fit in the witness's clock skew
 * (DEFAULT_WITNESS_CLOCK_SKEW_MS), since the open's start is stated before
 * either wave ends; a slow or silent candidate costs at most this.
 *
 * @default 2_000
 */
export const WITNESS_OPEN_TIMEOUT_MS = 2_000

/** Bytes of an echo nonce. */
export const ECHO_NONCE_LENGTH = 8

/** Most stale echoes a capturer ignores after it attested (ones that crossed its attest on the wire). */
const MAX_STALE_ECHOES = 64

/** Most of its own receipts a witness reads looking for independent history. */
const MAX_HISTORY_SCAN = 1024

/** The kind of a WitnessMessage: the one field it sets. */
export type WitnessMessageKind = keyof WitnessMessage

const KINDS: WitnessMessageKind[] = ['open', 'accept', 'echo', 'attest', 'signed', 'countersign', 'error']

/**
 * Decode one frame: size limit, protobuf, and exactly one field set;
 * throws InvalidWitnessMessageError.
 */
export function decodeWitnessMessage (bytes: Uint8Array | { subarray(): Uint8Array }): { kind: WitnessMessageKind, message: WitnessMessage } {
  let message: WitnessMessage
  try {
    message = decodeMessage('WitnessMessage', WitnessMessage.decode, bytes, MAX_MESSAGE_SIZE.WitnessMessage)
  } catch (err: unknown) {
    throw new InvalidWitnessMessageError(errorMessage(err))
  }
  const set = KINDS.filter(k => message[k] != null)
  if (set.length !== 1) {
    throw new InvalidWitnessMessageError(`a frame carries exactly one message, this one ${set.length}`)
  }
  return { kind: set[0], message }
}

/** Encode one frame. */
export function encodeWitnessMessage (message: WitnessMessage): Uint8Array {
  return WitnessMessage.encode(message)
}

/** A witnessing stream with its framing. */
class Frames {
  private readonly lp: LengthPrefixedStream<Stream>

  constructor (readonly stream: Stream) {
    this.lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_SIZE.WitnessMessage })
  }

  async send (message: WitnessMessage, options: AbortOptions): Promise<void> {
    await this.lp.write(encodeWitnessMessage(message), options)
  }

  /** The next frame; an error frame throws WitnessRefusedError. */
  async next (options: AbortOptions): Promise<{ kind: WitnessMessageKind, message: WitnessMessage }> {
    let bytes
    try {
      bytes = await this.lp.read(options)
    } catch (err: unknown) {
      const error = asError(err)
      // a length over the limit or a bad prefix is the remote's fault; a timeout or closed stream is not a bad message
      if (error.name === 'InvalidDataLengthError' || error.name === 'InvalidMessageLengthError' || error.name === 'InvalidDataLengthLengthError') {
        throw new InvalidWitnessMessageError(error.message)
      }
      throw error
    }
    const frame = decodeWitnessMessage(bytes)
    if (frame.kind === 'error') {
      const failure = frame.message.error
      throw new WitnessRefusedError(failure?.message ?? 'refused', failure?.code ?? 'refused')
    }
    return frame
  }

  /** Send an error frame (best effort) and abort the stream. */
  async fail (code: string, explain: string, err: Error): Promise<void> {
    try {
      await this.send({ error: { code, message: explain.slice(0, 256), retryAfterMs: 0 } }, { signal: AbortSignal.timeout(1_000) })
      await this.stream.close({ signal: AbortSignal.timeout(1_000) })
    } catch {
      this.stream.abort(err)
    }
  }
}

function stepSignal (outer: AbortSignal | undefined, ms: number): AbortSignal {
  const signal = outer == null ? AbortSignal.timeout(ms) : AbortSignal.any([outer, AbortSignal.timeout(ms)])
  setMaxListeners(Infinity, signal)
  return signal
}


function samePrice (a: Price | undefined, b: Price | undefined): boolean {
  if (a == null || b == null) {
    return a == null && b == null
  }
  return a.perUnit === b.perUnit && a.currency === b.currency && a.unit === b.unit
}

// ---------------------------------------------------------------------------
// the witness's side

/** The receipts store of the node, as the witness and capturer use it (a @shoal/receipts ReceiptStore fits). */
export interface WitnessReceipts {
  put(receipt: CountersignedRecord<WorkReceipt> | SignedRecord<WorkReceipt> | Uint8Array, options?: AbortOptions): Promise<unknown>
  list?(options?: AbortOptions & { provider?: PeerId, requester?: PeerId, limit?: number }): AsyncIterable<{ bytes: Uint8Array, value: WorkReceipt, state?: string }>
  /** countersigned receipts held in which `peer` is a party (a verifier's "I have worked with it") */
  standing?(peer: PeerId): { receipts: number }
}

/** What the witness's handler needs: the service's `WitnessInit`, and the node's parts. */
export interface WitnessHandlerInit extends WitnessInit {
  peerId: PeerId
  privateKey: PrivateKey
  log: Logger
  /** the witness's own cell (it refuses everything without one) */
  geohash?: string
  /** the clock (default Date.now) */
  now?(): number
  receipts?(): WitnessReceipts | undefined
  onSigned?(statement: SignedRecord<WitnessStatement>): void
  onRefused?(refusal: { peer: PeerId, code: string, explain: string }): void
}

/** A refusal the witness sends as an error frame. */
class Refusal extends Error {
  constructor (readonly code: string, explain: string) {
    super(explain)
    this.name = 'Refusal'
  }
}

/** The witness's side of `/shoal/witness/1.0.0`. */
export class WitnessHandler {
  private readonly init: WitnessHandlerInit
  private readonly now: () => number
  private active = 0
  /** aborted by stop(): every witnessing under way ends */
  private stopping = new AbortController()

  constructor (init: WitnessHandlerInit) {
    this.init = init
    this.now = init.now ?? Date.now
    this.handle = this.handle.bind(this)
  }

  /** Witnessings under way. */
  get running (): number {
    return this.active
  }

  /** End every witnessing under way (their streams are reset); later streams are handled as before. */
  stop (): void {
    this.stopping.abort(new WitnessRefusedError('the witness stopped', 'refused'))
    this.stopping = new AbortController()
  }

  /** The stream handler to register for WITNESS_PROTOCOL: never throws. */
  async handle (stream: Stream, connection: Connection): Promise<void> {
    const frames = new Frames(stream)
    const peer = connection.remotePeer
    // a capturer that leaves (a reset, or its side closed while it should be answering echoes) or the service
    // stopping frees the slot at once, mid-sleep too
    const closed = new AbortController()
    const halfClosed = new AbortController()
    const onClose = (): void => { closed.abort(new WitnessRefusedError('the capturer left', 'refused')) }
    const onHalfClose = (): void => { halfClosed.abort(new WitnessRefusedError('the capturer closed its side', 'refused')) }
    stream.addEventListener('close', onClose)
    stream.addEventListener('remoteCloseWrite', onHalfClose)
    const ended = AbortSignal.any([closed.signal, this.stopping.signal])
    const left = AbortSignal.any([ended, halfClosed.signal])
    setMaxListeners(Infinity, ended, left)
    this.active++
    try {
      if (stream.status !== 'open') {
        onClose()
      } else if (stream.remoteWriteStatus !== 'writable') {
        onHalfClose()
      }
      await this.witness(frames, connection, { ended, left })
    } catch (err: unknown) {
      const error = asError(err)
      if (error instanceof Refusal) {
        this.init.log('refused to witness for %p: %s %s', peer, error.code, error.message)
        this.init.onRefused?.({ peer, code: error.code, explain: error.message })
        await frames.fail(error.code, error.message, error)
      } else {
        this.init.log('witnessing for %p failed - %e', peer, error)
        if (error instanceof InvalidWitnessMessageError) {
          await frames.fail('invalid', error.message, error)
        } else {
          stream.abort(error)
        }
      }
    } finally {
      this.active--
      stream.removeEventListener('close', onClose)
      stream.removeEventListener('remoteCloseWrite', onHalfClose)
    }
  }

  /** `left` aborts when the capturer can no longer answer (until its attestation is in); `ended` when the stream or the service ends. */
  private async witness (frames: Frames, connection: Connection, signals: { ended: AbortSignal, left: AbortSignal }): Promise<void> {
    let outer = signals.left
    const init = this.init
    const peer = connection.remotePeer
    const skew = init.clockSkewMs ?? DEFAULT_WITNESS_CLOCK_SKEW_MS
    const first = await frames.next({ signal: stepSignal(outer, WITNESS_STEP_TIMEOUT_MS) })
    if (first.kind !== 'open') {
      throw new InvalidWitnessMessageError(`expected open, got ${first.kind}`)
    }
    const open = first.message.open as WitnessOpen
    const own = init.geohash ?? ''
    this.checkOpen(open, own, skew)

    await frames.send({ accept: { geohash: own, price: init.price } }, { signal: stepSignal(outer, WITNESS_STEP_TIMEOUT_MS) })
    const windowStartMs = this.now()

    // echo rounds spread over the recording; the attestation may come at any time after the first
    const rounds = Math.max(1, init.rounds ?? DEFAULT_RTT_ROUNDS)
    const interval = open.durationMs / rounds
    const begun = performance.now()
    let minRtt = Infinity
    let measured = 0
    let attest: WitnessMessage | undefined
    for (let i = 0; i < rounds && attest == null; i++) {
      await sleep(begun + i * interval - performance.now(), outer)
      const nonce = new Uint8Array(randomBytes(ECHO_NONCE_LENGTH))
      const signal = stepSignal(outer, WITNESS_STEP_TIMEOUT_MS)
      const sent = performance.now()
      await frames.send({ echo: { nonce } }, { signal })
      const reply = await frames.next({ signal })
      const rtt = performance.now() - sent
      if (reply.kind === 'attest') {
        attest = reply.message
      } else if (reply.kind === 'echo') {
        if (!equalBytes(reply.message.echo?.nonce ?? new Uint8Array(), nonce)) {
          throw new InvalidWitnessMessageError('echo answered with another nonce')
        }
        minRtt = Math.min(minRtt, rtt)
        measured++
      } else {
        throw new InvalidWitnessMessageError(`expected echo or attest, got ${reply.kind}`)
      }
    }
    if (attest == null) {
      const left = Math.max(0, open.startedMs + open.durationMs - this.now())
      const frame = await frames.next({ signal: stepSignal(outer, left + skew + WITNESS_STEP_TIMEOUT_MS) })
      if (frame.kind !== 'attest') {
        throw new InvalidWitnessMessageError(`expected attest, got ${frame.kind}`)
      }
      attest = frame.message
    }
    const windowEndMs = this.now()
    // the capturer may close its side once it has sent all it will (after countersigning)
    outer = signals.ended

    const attestation = await this.checkAttestation(attest.attest?.attestation ?? new Uint8Array(), open, peer, windowStartMs, windowEndMs, skew)
    if (measured === 0) {
      throw new Refusal('invalid', 'attested before any RTT round was answered')
    }
    const rttMs = Math.ceil(minRtt)
    const check = checkWitnessRtt(own, open.geohash, rttMs, init.rtt)
    if (check.refusal != null) {
      throw new Refusal(check.refusal.code, check.refusal.explain)
    }

    const createdMs = this.now()
    const statement = await signRecord(WitnessStatementType, {
      version: RECORD_VERSION,
      witness: init.peerId.toMultihash().bytes,
      attestationId: attestation.id,
      capturer: peer.toMultihash().bytes,
      rttMs,
      geohash: own,
      createdMs,
      rounds: measured,
      windowStartMs,
      windowEndMs,
      observedAddr: connection.remoteAddr.bytes
    }, init.privateKey)

    let receipt: SignedRecord<WorkReceipt> | undefined
    if (init.price != null) {
      const jobId = attestation.value.jobId.byteLength === RANDOM_ID_LENGTH ? attestation.value.jobId : newRandomId()
      receipt = await signRecord(WorkReceiptType, {
        version: RECORD_VERSION,
        jobId,
        assignmentId: attestation.id,
        requester: peer.toMultihash().bytes,
        provider: init.peerId.toMultihash().bytes,
        units: 1,
        price: init.price,
        total: init.price.perUnit,
        resultHash: sha256(statement.bytes),
        startedMs: windowStartMs,
        endedMs: Math.max(windowStartMs, this.now()),
        status: 0,
        prev: new Uint8Array()
      }, init.privateKey)
    }
    const history = await this.history(peer)
    await frames.send({ signed: { statement: statement.bytes, receipt: receipt?.bytes ?? new Uint8Array(), history } }, { signal: stepSignal(outer, WITNESS_STEP_TIMEOUT_MS) })
    init.onSigned?.(statement)
    init.log('witnessed %p at %s: %d ms over %d rounds', peer, open.geohash, rttMs, measured)

    if (receipt != null) {
      const frame = await frames.next({ signal: stepSignal(outer, WITNESS_STEP_TIMEOUT_MS) })
      if (frame.kind !== 'countersign') {
        throw new InvalidWitnessMessageError(`expected countersign, got ${frame.kind}`)
      }
      let cs: CountersignedRecord<WorkReceipt>
      try {
        cs = await openCountersigned(WorkReceiptType, frame.message.countersign?.receipt ?? new Uint8Array(), { knownRecord: receipt, ignoreTime: true })
      } catch (err: unknown) {
        throw new InvalidWitnessMessageError(`countersigned receipt: ${errorMessage(err)}`)
      }
      if (!equalBytes(cs.id, receipt.id)) {
        throw new InvalidWitnessMessageError('countersigned another receipt')
      }
      await init.receipts?.()?.put(cs)
    }
    await frames.stream.close({ signal: stepSignal(outer, WITNESS_STEP_TIMEOUT_MS) })
  }

  private checkOpen (open: WitnessOpen, own: string, skew: number): void {
    const init = this.init
    if (init.enabled === false || own === '' || !isGeohash(own)) {
      throw new Refusal('refused', 'this node does not witness')
    }
    if (this.active > (init.maxConcurrent ?? DEFAULT_WITNESS_MAX_CONCURRENT)) {
      throw new Refusal('busy', 'witnessing as many captures as it can')
    }
    if (!isGeohash(open.geohash) || open.geohash === '') {
      throw new Refusal('invalid', `claimed cell ${JSON.stringify(open.geohash)} is no geohash`)
    }
    if (open.jobId.byteLength !== 0 && open.jobId.byteLength !== RANDOM_ID_LENGTH) {
      throw new Refusal('invalid', 'job id of the wrong length')
    }
    if (open.durationMs <= 0 || open.durationMs > (init.maxDurationMs ?? DEFAULT_WITNESS_MAX_DURATION_MS)) {
      throw new Refusal('too-long', `a ${open.durationMs} ms capture is longer than this witness watches`)
    }
    if (Math.abs(open.startedMs - this.now()) > skew) {
      throw new Refusal('invalid', `start ${open.startedMs} is not now`)
    }
    const reach = checkWitnessRtt(own, open.geohash, 0, init.rtt)
    if (reach.refusal?.code === 'witness-too-far') {
      throw new Refusal('too-far', reach.refusal.explain)
    }
  }

  private async checkAttestation (bytes: Uint8Array, open: WitnessOpen, peer: PeerId, windowStartMs: number, windowEndMs: number, skew: number): Promise<SignedRecord<CaptureAttestation>> {
    let attestation: SignedRecord<CaptureAttestation>
    try {
      attestation = await openRecord(CaptureAttestationType, bytes, { now: this.now(), clockSkewMs: Math.max(skew, CLOCK_SKEW_MS) })
    } catch (err: unknown) {
      throw new InvalidWitnessMessageError(`attestation: ${errorMessage(err)}`)
    }
    const a = attestation.value
    if (!attestation.signer.equals(peer)) {
      throw new Refusal('invalid', 'attested by another peer than the one recording')
    }
    if (a.geohash !== open.geohash) {
      throw new Refusal('invalid', `attests ${a.geohash}, opened with ${open.geohash}`)
    }
    if (!equalBytes(a.jobId, open.jobId)) {
      throw new Refusal('invalid', 'attests another job than it opened with')
    }
    if (Math.abs(a.startedMs - open.startedMs) > skew || Math.abs(a.durationMs - open.durationMs) > skew) {
      throw new Refusal('invalid', 'attests another start or duration than it opened with')
    }
    // what verifiers allow (verifyCapture's window rule), so it never signs a window they refuse
    const tolerance = Math.min(skew, DEFAULT_WITNESS_WINDOW_TOLERANCE_MS)
    if (a.startedMs < windowStartMs - tolerance || a.startedMs + a.durationMs > windowEndMs + tolerance) {
      throw new Refusal('invalid', `recorded ${a.startedMs}..${a.startedMs + a.durationMs}, watched ${windowStartMs}..${windowEndMs}`)
    }
    return attestation
  }

  /** Up to MAX_WITNESS_HISTORY of its countersigned receipts, one per counterparty other than `capturer`, oldest first. */
  private async history (capturer: PeerId): Promise<Uint8Array[]> {
    const store = this.init.receipts?.()
    if (store?.list == null) {
      return []
    }
    const self = this.init.peerId.toMultihash().bytes
    const capturerBytes = capturer.toMultihash().bytes
    const found: Array<{ bytes: Uint8Array, endedMs: number }> = []
    const seen = new Set<string>()
    for (const side of ['provider', 'requester'] as const) {
      try {
        for await (const stored of store.list({ [side]: this.init.peerId, limit: MAX_HISTORY_SCAN })) {
          if (found.length >= MAX_WITNESS_HISTORY) {
            break
          }
          if (stored.state != null && stored.state !== 'countersigned') {
            continue
          }
          const other = side === 'provider' ? stored.value.requester : stored.value.provider
          const key = Buffer.from(other).toString('hex')
          if (equalBytes(other, capturerBytes) || equalBytes(other, self) || seen.has(key)) {
            continue
          }
          seen.add(key)
          found.push({ bytes: stored.bytes, endedMs: stored.value.endedMs })
        }
      } catch (err: unknown) {
        this.init.log('could not read receipts for history - %e', err)
      }
    }
    return found.sort((a, b) => a.endedMs - b.endedMs).map(h => h.bytes)
  }
}

// ---------------------------------------------------------------------------
// the capturer's side

/** What a witness said once it signed. */
export interface WitnessResult {
  witness: PeerId
  statement: SignedRecord<WitnessStatement>
  /** the witness's receipt, countersigned here (when it asked a price) */
  receipt?: CountersignedRecord<WorkReceipt>
  /** its history (Countersigned WorkReceipt bytes), at most MAX_WITNESS_HISTORY */
  history: Uint8Array[]
}

/** Options of {@link openWitnessSession}. */
export interface WitnessSessionInit {
  /** the capturer's key (countersigns the witness's receipt) */
  privateKey: PrivateKey
  log: Logger
  jobId?: Uint8Array
  geohash: string
  startedMs: number
  durationMs: number
  /** the most a witness may ask; a priced witness is declined without it */
  maxPrice?: Price
  /** where the countersigned witness receipt is kept */
  receipts?: WitnessReceipts
}

/**
 * A capturer's open witnessing: answers the witness's echoes until
 * `attest()`, then collects its statement.
 */
export class WitnessSession {
  readonly witness: PeerId
  readonly accept: WitnessAccept
  private readonly frames: Frames
  private readonly init: WitnessSessionInit
  private readonly abort = new AbortController()
  private attested?: SignedRecord<CaptureAttestation>
  private readonly signed: Promise<WitnessSigned>
  private echoes = 0

  constructor (witness: PeerId, frames: Frames, accept: WitnessAccept, init: WitnessSessionInit) {
    this.witness = witness
    this.frames = frames
    this.accept = accept
    this.init = init
    setMaxListeners(Infinity, this.abort.signal)
    this.signed = this.answer()
    // the outcome is read by attest(); until then a failure must not go unhandled
    this.signed.catch(() => {})
  }

  /** Echoes answered so far. */
  get answered (): number {
    return this.echoes
  }

  /** Answer echoes until a statement (or an error) arrives. */
  private async answer (): Promise<WitnessSigned> {
    let stale = 0
    while (true) {
      const frame = await this.frames.next({ signal: this.abort.signal })
      if (frame.kind === 'echo') {
        if (this.attested == null) {
          const nonce = frame.message.echo?.nonce ?? new Uint8Array()
          if (nonce.byteLength !== ECHO_NONCE_LENGTH) {
            throw new InvalidWitnessMessageError('echo nonce of the wrong length')
          }
          await this.frames.send({ echo: { nonce } }, { signal: this.abort.signal })
          this.echoes++
        } else if (++stale > MAX_STALE_ECHOES) {
          throw new InvalidWitnessMessageError('echoes after the attestation')
        }
        continue
      }
      if (frame.kind === 'signed' && this.attested != null) {
        return frame.message.signed as WitnessSigned
      }
      throw new InvalidWitnessMessageError(`unexpected ${frame.kind}`)
    }
  }

  /** Send the attestation; resolves to the witness's checked statement (its receipt countersigned and stored). */
  async attest (attestation: SignedRecord<CaptureAttestation>, options: AbortOptions = {}): Promise<WitnessResult> {
    const signal = stepSignal(options.signal, WITNESS_STEP_TIMEOUT_MS)
    const onAbort = (): void => { this.abort.abort(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      this.attested = attestation
      await this.frames.send({ attest: { attestation: attestation.bytes } }, { signal })
      const signed = await this.signed
      const result = await this.check(signed, attestation)
      if (result.receipt != null) {
        await this.frames.send({ countersign: { receipt: result.receipt.bytes } }, { signal })
        try {
          await this.init.receipts?.put(result.receipt)
        } catch (err: unknown) {
          this.init.log('could not store the receipt of witness %p - %e', this.witness, err)
        }
      }
      await this.frames.stream.close({ signal })
      return result
    } catch (err: unknown) {
      this.close(asError(err))
      throw err
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  private async check (signed: WitnessSigned, attestation: SignedRecord<CaptureAttestation>): Promise<WitnessResult> {
    let statement: SignedRecord<WitnessStatement>
    try {
      statement = await openRecord(WitnessStatementType, signed.statement)
    } catch (err: unknown) {
      throw new InvalidWitnessMessageError(`statement: ${errorMessage(err)}`)
    }
    const s = statement.value
    const self = peerOf(this.init.privateKey)
    if (!statement.signer.equals(this.witness) || !equalBytes(s.attestationId, attestation.id) || !equalBytes(s.capturer, self) || s.geohash !== this.accept.geohash) {
      throw new InvalidWitnessMessageError('statement about another capture, capturer or cell')
    }
    if (signed.history.length > MAX_WITNESS_HISTORY) {
      throw new InvalidWitnessMessageError(`history of ${signed.history.length} receipts, limit ${MAX_WITNESS_HISTORY}`)
    }
    const result: WitnessResult = { witness: this.witness, statement, history: signed.history }
    const price = this.accept.price
    if (price == null) {
      if (signed.receipt.byteLength !== 0) {
        throw new InvalidWitnessMessageError('a receipt from a free witness')
      }
      return result
    }
    let receipt: SignedRecord<WorkReceipt>
    try {
      receipt = await openRecord(WorkReceiptType, signed.receipt, { ignoreTime: true })
    } catch (err: unknown) {
      throw new InvalidWitnessMessageError(`receipt: ${errorMessage(err)}`)
    }
    const r = receipt.value
    if (!receipt.signer.equals(this.witness) || !equalBytes(r.requester, self) || !equalBytes(r.assignmentId, attestation.id) ||
      r.units !== 1 || !samePrice(r.price, price) || r.total !== price.perUnit || !equalBytes(r.resultHash, sha256(statement.bytes)) || r.status !== 0) {
      throw new InvalidWitnessMessageError('receipt does not bill this witnessing at the accepted price')
    }
    result.receipt = await countersign(receipt, this.init.privateKey)
    return result
  }

  /** Give up on this witness. */
  close (err: Error = new WitnessRefusedError('capture abandoned')): void {
    this.abort.abort(err)
    this.frames.stream.abort(err)
  }
}

/** The peer id bytes (multihash) of a key, as records carry them. */
function peerOf (key: PrivateKey): Uint8Array {
  return key.publicKey.toMultihash().bytes
}

/** Whether a witness's price is within what the capturer accepts. */
export function priceAcceptable (price: Price | undefined, max: Price | undefined): boolean {
  if (price == null) {
    return true
  }
  if (max == null || price.unit !== WITNESS_PRICE_UNIT) {
    return false
  }
  return price.currency === max.currency && price.perUnit <= max.perUnit
}

/**
 * Open a witnessing on `stream` (to `witness`): send open, read accept.
 * Throws WitnessRefusedError when the witness refuses or asks too much.
 */
export async function openWitnessSession (stream: Stream, witness: PeerId, init: WitnessSessionInit, options: AbortOptions = {}): Promise<WitnessSession> {
  const frames = new Frames(stream)
  const signal = stepSignal(options.signal, WITNESS_STEP_TIMEOUT_MS)
  try {
    await frames.send({ open: { jobId: init.jobId ?? new Uint8Array(), geohash: init.geohash, startedMs: init.startedMs, durationMs: init.durationMs } }, { signal })
    const frame = await frames.next({ signal })
    if (frame.kind !== 'accept') {
      throw new InvalidWitnessMessageError(`expected accept, got ${frame.kind}`)
    }
    const accept = frame.message.accept as WitnessAccept
    if (!isGeohash(accept.geohash) || accept.geohash === '') {
      throw new InvalidWitnessMessageError('accepted from no cell')
    }
    if (!priceAcceptable(accept.price, init.maxPrice)) {
      const error = new WitnessRefusedError(`witness asks ${accept.price?.perUnit} ${accept.price?.currency} per ${accept.price?.unit}, more than accepted`, 'price')
      await frames.fail('refused', 'price not accepted', error)
      throw error
    }
    return new WitnessSession(witness, frames, accept, init)
  } catch (err: unknown) {
    stream.abort(asError(err))
    throw err
  }
}
