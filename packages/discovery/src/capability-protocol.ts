/**
 * `/shoal/capability/1.0.0` (docs/spec.md §3): a provider answers a stream
 * with its current signed CapabilityRecord, length-prefixed, and closes it;
 * a searcher reads and verifies it.
 */

import { isPeerId, setMaxListeners } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { CapabilityRecordType, RecordTooLargeError, openRecord } from '@shoal/records'
import { asError, errorName, openStreamTo, untilAborted } from '@shoal/utils'
import { CAPABILITY_PROTOCOL } from './constants.js'
import { NoRecordError, WrongProviderError } from './errors.js'
import { timeoutSignal } from './utils.js'
import type { DiscoveryStats } from './index.js'
import type { AbortOptions, Connection, Logger, PeerId, PeerInfo, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { CapabilityRecord, SignedRecord } from '@shoal/records'

/** What the protocol needs from the node. */
export interface CapabilityProtocolComponents {
  registrar: Pick<Registrar, 'handle' | 'unhandle'>
  connectionManager: Pick<ConnectionManager, 'getConnections' | 'openConnection' | 'openStream'>
}

/** Options of the protocol. */
export interface CapabilityProtocolInit {
  /** time allowed to dial a provider and read its record, or to serve ours, ms */
  fetchTimeoutMs: number
  maxInboundStreams: number
  maxOutboundStreams: number
  /** the clock records are checked against, ms */
  now(): number
  /** the record we serve, if any */
  record(): SignedRecord<CapabilityRecord> | undefined
  /** counters shared with the service (`fetches`, `served`) */
  stats: DiscoveryStats
  log: Logger
}

/** Serves our record and fetches others'. */
export class CapabilityProtocol {
  private readonly components: CapabilityProtocolComponents
  private readonly init: CapabilityProtocolInit
  /** how long each fetched record's own stream took (see fetchRecord) */
  private readonly streamTimes = new WeakMap<SignedRecord<CapabilityRecord>, number>()
  /**
   * fetches under way, by peer: searches run at once (a burst of jobs) ask
   * the same provider together, and a stream each would pass the
   * protocol's stream limit and fail them all
   */
  private readonly inFlight = new Map<string, Promise<SignedRecord<CapabilityRecord>>>()

  constructor (components: CapabilityProtocolComponents, init: CapabilityProtocolInit) {
    this.components = components
    this.init = init
    this.handleRequest = this.handleRequest.bind(this)
  }

  async start (): Promise<void> {
    // a record is small: a provider behind NAT, reachable only through a relay, still answers
    await this.components.registrar.handle(CAPABILITY_PROTOCOL, this.handleRequest, {
      maxInboundStreams: this.init.maxInboundStreams,
      maxOutboundStreams: this.init.maxOutboundStreams,
      runOnLimitedConnection: true
    })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(CAPABILITY_PROTOCOL)
  }

  /**
   * Ask `peer` for its current record and verify it: signature, values and
   * time (by @shoal/records), and that it is `peer`'s own record. Throws a
   * RecordError, NoRecordError or WrongProviderError.
   */
  async fetchRecord (peer: PeerId | PeerInfo, options: AbortOptions = {}): Promise<SignedRecord<CapabilityRecord>> {
    options.signal?.throwIfAborted()
    const key = (isPeerId(peer) ? peer : peer.id).toString()
    let pending = this.inFlight.get(key)
    if (pending == null) {
      // shared: only the fetch timeout ends it, not the signal of one caller
      pending = this.fetchOnce(peer).finally(() => { this.inFlight.delete(key) })
      this.inFlight.set(key, pending)
    }
    return untilAborted(pending, options.signal)
  }

  private async fetchOnce (peer: PeerId | PeerInfo): Promise<SignedRecord<CapabilityRecord>> {
    const id = isPeerId(peer) ? peer : peer.id
    const signal = timeoutSignal(this.init.fetchTimeoutMs)
    this.init.stats.fetches++
    // dial first, so the stream alone times one round trip
    await this.connect(peer, signal)
    const opened = performance.now()
    const stream = await openStreamTo(this.components.connectionManager, id, CAPABILITY_PROTOCOL, { signal, runOnLimitedConnection: true })
    let bytes: Uint8Array
    let streamMs: number
    try {
      const lp = lpStream(stream, { maxDataLength: CapabilityRecordType.maxSize })
      bytes = (await lp.read({ signal })).subarray()
      streamMs = performance.now() - opened
      await stream.close({ signal }).catch(() => {})
    } catch (err) {
      stream.abort(asError(err))
      const name = errorName(err)
      if (name === 'UnexpectedEOFError') {
        throw new NoRecordError(`${id} answered without a record`)
      }
      if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') {
        throw new RecordTooLargeError(`${id} sent more than ${CapabilityRecordType.maxSize} bytes`)
      }
      throw err
    }
    const record = await openRecord(CapabilityRecordType, bytes, { now: this.init.now, signal })
    if (!record.signer.equals(id)) {
      throw new WrongProviderError(`${id} served the record of ${record.signer}`)
    }
    this.streamTimes.set(record, streamMs)
    return record
  }

  /**
   * How long the stream that fetched `record` took, ms: one round trip plus
   * both ends' processing (an RTT sample); undefined for a record this did
   * not fetch.
   */
  streamMs (record: SignedRecord<CapabilityRecord>): number | undefined {
    return this.streamTimes.get(record)
  }

  /** Whether a connection to `peer` is open. */
  isConnected (peer: PeerId): boolean {
    return this.components.connectionManager.getConnections(peer).length > 0
  }

  /** Dial `peer` unless a connection is open: at the addresses of its provider entry if it has some. */
  async connect (peer: PeerId | PeerInfo, signal: AbortSignal): Promise<void> {
    const id = isPeerId(peer) ? peer : peer.id
    if (this.isConnected(id)) {
      return
    }
    const target = !isPeerId(peer) && peer.multiaddrs.length > 0
      ? peer.multiaddrs.map(ma => ma.toString().includes('/p2p/') ? ma : ma.encapsulate(`/p2p/${id.toString()}`))
      : id
    await this.components.connectionManager.openConnection(target, { signal })
  }

  private async handleRequest (stream: Stream, connection: Connection): Promise<void> {
    const record = this.init.record()
    const signal = AbortSignal.timeout(this.init.fetchTimeoutMs)
    setMaxListeners(Infinity, signal)
    try {
      if (record != null) {
        const lp = lpStream(stream)
        await lp.write(record.bytes, { signal })
        this.init.stats.served++
      }
      await stream.close({ signal })
    } catch (err) {
      this.init.log('could not serve record to %p - %e', connection.remotePeer, err)
      stream.abort(asError(err))
    }
  }
}
