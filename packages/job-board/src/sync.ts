/**
 * The late-joiner sync, `/shoal/jobs/sync/1.0.0` (docs/spec.md §2.5): a peer
 * that connects asks for the live announcements and withdrawals it would
 * keep. The request says what the asker serves, so the responder sends only
 * what the asker would keep; the schema (`JobSyncRequest`) lives in
 * @shoal/records, and this module maps it to and from `Interests` and
 * enforces the limits. `JobSync` is both ends: the client (`sync()`, run on
 * connect) and the server (the protocol handler).
 */

import { setMaxListeners } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { JobKind, JobSyncRequest, MAX_SIZE, decodeMessage, isGeohash } from '@shoal/records'
import { BoundedMap, describeError, errorName, openStreamTo } from '@shoal/utils'
import { MAX_TRACKED_PEERS, REGION_PRECISION, MAX_SYNC_REQUEST_BYTES, MAX_SYNC_REQUEST_ITEMS, SYNC_MAX_INBOUND_STREAMS, SYNC_MAX_OUTBOUND_STREAMS } from './constants.js'
import { count } from './context.js'
import { InvalidSyncRequestError, InvalidSyncResponseError, JobBoardNotStartedError, SyncProtocolInUseError } from './errors.js'
import { isTopicJobKind } from './topics.js'
import type { BoardContext } from './context.js'
import type { MessageIngest } from './ingest.js'
import type { PeerPenalties } from './penalties.js'
import type { Interests, TopicJobKind } from './topics.js'
import type { AbortOptions, Connection, PeerId, Stream } from '@libp2p/interface'

/**
 * Wire numbers of the job kinds that have topics: enum `JobKind` of
 * records.proto (the request carries them as uint32, see `JobSyncRequest`).
 */
export const SYNC_KIND_NUMBER: Readonly<Record<TopicJobKind, number>> = Object.freeze({
  [JobKind.GPU_INFERENCE]: 1,
  [JobKind.GPU_BATCH]: 2,
  [JobKind.CAPTURE]: 3
})

const KIND_OF_NUMBER = new Map<number, TopicJobKind>(
  (Object.entries(SYNC_KIND_NUMBER) as Array<[TopicJobKind, number]>).map(([kind, n]) => [n, kind])
)

/** Encode the interests an asker sends: kinds, and regions cut to the region precision. */
export function encodeSyncRequest (interests: Interests): Uint8Array {
  const kinds = [...new Set(interests.kinds ?? [])].filter(isTopicJobKind).map(kind => SYNC_KIND_NUMBER[kind])
  const regions = [...new Set((interests.regions ?? []).map(r => r.slice(0, REGION_PRECISION)))]
  if (kinds.length > MAX_SYNC_REQUEST_ITEMS || regions.length > MAX_SYNC_REQUEST_ITEMS) {
    throw new InvalidSyncRequestError(`A sync request names at most ${MAX_SYNC_REQUEST_ITEMS} kinds and regions`)
  }
  return JobSyncRequest.encode({ kinds, regions })
}

/**
 * Decode a sync request frame. Anything wrong (size, bytes, an unknown kind,
 * a region that is not a 1- or 2-character geohash prefix, too many items)
 * is an `InvalidSyncRequestError`; nothing else is thrown.
 */
export function decodeSyncRequest (bytes: Uint8Array | { subarray(): Uint8Array }): Interests {
  let request: JobSyncRequest
  try {
    request = decodeMessage('JobSyncRequest', (buf) => JobSyncRequest.decode(buf, {
      limits: { kinds: MAX_SYNC_REQUEST_ITEMS, regions: MAX_SYNC_REQUEST_ITEMS }
    }), bytes, MAX_SYNC_REQUEST_BYTES)
  } catch (err: unknown) {
    throw new InvalidSyncRequestError(describeError(err))
  }
  const kinds = new Set<TopicJobKind>()
  for (const n of request.kinds) {
    const kind = KIND_OF_NUMBER.get(n)
    if (kind == null) {
      throw new InvalidSyncRequestError(`Unknown job kind ${n}`)
    }
    kinds.add(kind)
  }
  for (const region of request.regions) {
    if (region.length === 0 || region.length > REGION_PRECISION || !isGeohash(region)) {
      throw new InvalidSyncRequestError(`Region "${region.slice(0, 16)}" is not a geohash prefix of 1 or ${REGION_PRECISION} characters`)
    }
  }
  return { kinds: [...kinds], regions: [...new Set(request.regions)] }
}

function isUnexpectedEOF (err: unknown): boolean {
  return errorName(err) === 'UnexpectedEOFError'
}

/** Options of the sync. */
export interface JobSyncInit {
  /** serve the protocol and sync with peers as they connect */
  enabled: boolean
  protocol: string
  maxRecords: number
  maxBytes: number
  timeoutMs: number
  intervalMs: number
  maxInboundStreams?: number
  maxOutboundStreams?: number
}

/** Both ends of the sync protocol. */
export class JobSync {
  private readonly ctx: BoardContext
  private readonly ingest: MessageIngest
  private readonly penalties: PeerPenalties
  private readonly init: JobSyncInit
  /** when this peer last asked each peer */
  private readonly lastSync = new BoundedMap<string, number>(MAX_TRACKED_PEERS)
  private running = false
  /** whether this board registered the handler (so stop() never removes another service's) */
  private handling = false
  private topologyId?: string
  private shutdown?: AbortController

  constructor (ctx: BoardContext, ingest: MessageIngest, penalties: PeerPenalties, init: JobSyncInit) {
    this.ctx = ctx
    this.ingest = ingest
    this.penalties = penalties
    this.init = init
    this.handle = this.handle.bind(this)
  }

  /** Serve the protocol and sync with peers as they connect (when enabled); `sync()` works from here on either way. */
  async start (): Promise<void> {
    if (this.init.enabled) {
      await this.handleProtocol()
    }
    this.shutdown = new AbortController()
    setMaxListeners(Infinity, this.shutdown.signal)
    this.running = true
    if (this.init.enabled) {
      this.topologyId = await this.ctx.components.registrar.register(this.init.protocol, {
        onConnect: (peerId: PeerId) => { this.onPeerConnect(peerId) }
      })
    }
  }

  /** Abort running exchanges and stop serving. */
  async stop (): Promise<void> {
    this.running = false
    this.shutdown?.abort()
    if (this.topologyId != null) {
      this.ctx.components.registrar.unregister(this.topologyId)
      this.topologyId = undefined
    }
    if (this.handling) {
      this.handling = false
      await this.ctx.components.registrar.unhandle(this.init.protocol)
    }
  }

  /** Register the handler, refusing clearly to replace another service's (a second board on this node). */
  private async handleProtocol (): Promise<void> {
    const { registrar } = this.ctx.components
    const inUse = (): SyncProtocolInUseError => new SyncProtocolInUseError(
      `Another service already handles ${this.init.protocol} on this node (a second job board?): ` +
      'give each job board its own `syncProtocol`, or `sync: false`'
    )
    if (registrar.getProtocols().includes(this.init.protocol)) {
      throw inUse()
    }
    try {
      await registrar.handle(this.init.protocol, this.handle, {
        maxInboundStreams: this.init.maxInboundStreams ?? SYNC_MAX_INBOUND_STREAMS,
        maxOutboundStreams: this.init.maxOutboundStreams ?? SYNC_MAX_OUTBOUND_STREAMS,
        // announcements are small: a peer reachable only through a relay syncs too
        runOnLimitedConnection: true
      })
    } catch (err: unknown) {
      if (errorName(err) === 'DuplicateProtocolHandlerError') {
        throw inUse()
      }
      throw err
    }
    this.handling = true
  }

  private onPeerConnect (peer: PeerId): void {
    if (!this.running || (this.ctx.interests.kinds ?? []).length === 0 || this.penalties.isBanned(peer)) {
      return
    }
    const last = this.lastSync.get(peer.toString())
    if (last != null && this.ctx.now() - last < this.init.intervalMs) {
      return
    }
    this.sync(peer).catch(err => {
      this.ctx.log('sync with %p failed - %e', peer, err)
    })
  }

  /**
   * Ask a peer for its live announcements and withdrawals, validate each
   * like gossip and keep those matching this peer's interests. Returns the
   * number of jobs learned.
   */
  async sync (peer: PeerId, options: AbortOptions = {}): Promise<number> {
    if (!this.running) {
      throw new JobBoardNotStartedError()
    }
    const signal = this.exchangeSignal(options)
    this.lastSync.set(peer.toString(), this.ctx.now())

    const stream = await openStreamTo(this.ctx.components.connectionManager, peer, this.init.protocol, { signal, runOnLimitedConnection: true })
    let learned = 0
    try {
      // the request: what this peer serves, so the responder sends nothing it would drop; then close our side
      const lp = lpStream(stream, { maxDataLength: MAX_SIZE.JobAnnouncement })
      await lp.write(encodeSyncRequest(this.ctx.interests), { signal })
      await stream.close({ signal })
      let records = 0
      let bytes = 0
      while (records < this.init.maxRecords && bytes < this.init.maxBytes) {
        let frame: Uint8Array
        try {
          frame = (await lp.read({ signal })).subarray()
        } catch (err: unknown) {
          if (isUnexpectedEOF(err)) {
            break
          }
          throw err
        }
        records++
        bytes += frame.byteLength
        const { verdict, result } = await this.ingest.synced(frame, peer)
        if (result === 'reject') {
          throw new InvalidSyncResponseError(`Peer ${peer.toString()} sent an invalid record: ${verdict.result === 'accept' ? '' : verdict.reason}`)
        }
        if (result === 'accept' && verdict.result === 'accept' && verdict.type === 'announcement') {
          learned++
        }
      }
      if (records >= this.init.maxRecords || bytes >= this.init.maxBytes) {
        stream.abort(new Error('sync limit reached'))
      }
    } catch (err: unknown) {
      stream.abort(err as Error)
      throw err
    }
    this.ctx.log('learned %d jobs from %p by sync', learned, peer)
    return learned
  }

  /** One exchange ends at its timeout, the caller's signal or this board's stop, whichever comes first. */
  private exchangeSignal (options: AbortOptions): AbortSignal {
    const signals = [AbortSignal.timeout(this.init.timeoutMs)]
    if (options.signal != null) {
      signals.push(options.signal)
    }
    if (this.shutdown != null) {
      signals.push(this.shutdown.signal)
    }
    const signal = AbortSignal.any(signals)
    setMaxListeners(Infinity, signal)
    return signal
  }

  /**
   * Serve a sync request: this peer's withdrawals, then its live
   * announcements the asker wants, newest first, walking the board's index
   * and stopping at the limits.
   */
  private async handle (stream: Stream, connection: Connection): Promise<void> {
    if (this.penalties.isBanned(connection.remotePeer)) {
      stream.abort(new Error('refused'))
      return
    }
    const signal = AbortSignal.timeout(this.init.timeoutMs)
    setMaxListeners(Infinity, signal)
    try {
      // this side reads only the request
      const lp = lpStream(stream, { maxDataLength: MAX_SYNC_REQUEST_BYTES })
      let wants: Interests | undefined
      try {
        wants = decodeSyncRequest(await lp.read({ signal }))
      } catch (err: unknown) {
        // an asker of the first 1.0.0 sends no request: it wants everything
        if (!isUnexpectedEOF(err)) {
          throw err
        }
      }
      await this.respond(wants, async (data) => { await lp.write(data, { signal }) })
      await stream.close({ signal })
    } catch (err: unknown) {
      this.ctx.log('sync response to %p failed - %e', connection.remotePeer, err)
      if (errorName(err) === 'InvalidSyncRequestError') {
        // garbage the asker could have checked itself: counted like a rejected message
        count(this.ctx, 'reject', 'sync-request')
        this.penalties.penalize(connection.remotePeer)
      }
      stream.abort(err as Error)
    }
  }

  /** Write the response frames within the limits: withdrawals first, then the wanted live jobs, newest first. */
  private async respond (wants: Interests | undefined, write: (data: Uint8Array) => Promise<void>): Promise<void> {
    const now = this.ctx.now()
    let records = 0
    let bytes = 0
    const send = async (data: Uint8Array): Promise<boolean> => {
      if (records >= this.init.maxRecords || bytes + data.byteLength > this.init.maxBytes) {
        return false
      }
      records++
      bytes += data.byteLength
      await write(data)
      return true
    }
    // withdrawals first: a late joiner must not learn a job and miss its withdrawal
    for (const w of this.ctx.store.withdrawalValues()) {
      if (w.untilMs > now && records < this.init.maxRecords / 4) {
        if (!await send(w.record.bytes)) {
          break
        }
      }
    }
    // expired entries still on the board (the sweep is due) are skipped, but counted, so the walk stays bounded
    let walked = 0
    for (const entry of this.ctx.store.newest(wants)) {
      if (++walked > this.init.maxRecords * 2) {
        break
      }
      if (entry.record.value.expiresMs <= now) {
        continue
      }
      if (!await send(entry.record.bytes)) {
        break
      }
    }
  }
}
