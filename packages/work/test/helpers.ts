import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { TypedEventEmitter } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { router } from '@shoal/router'
import { AssignmentType, QuoteType, RECORD_VERSION, newRandomId, signRecord } from '@shoal/records'
import { createTestNode, party } from '@shoal/test-support'
import { createHash } from 'node:crypto'
import { WorkContext, workSettings } from '../src/context.js'
import { PROTOCOL, decodeFrame, encodeFrame, work } from '../src/index.js'
import type { Work, WorkComponents, WorkEvents, WorkFrame, WorkInit } from '../src/index.js'
import type { Identify } from '@libp2p/identify'
import type { ComponentLogger, Libp2p, Logger, Metrics, PeerId, PrivateKey, Stream } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Router, RouterInit } from '@shoal/router'
import type { Assignment, CountersignedRecord, Price, Quote, SignedRecord, WorkReceipt } from '@shoal/records'
import type { Datastore } from 'interface-datastore'

/** A node with the work service. */
export type WorkNode = Libp2p<{ identify: Identify, ping: Ping, work: Work }>

/** Start a real node on TCP loopback with the work service (and the given datastore, else memory). */
export async function createWorkNode (init: WorkInit = {}, privateKey?: PrivateKey, datastore?: Datastore): Promise<WorkNode> {
  return createTestNode({
    privateKey,
    datastore,
    services: {
      identify: identify(),
      ping: ping(),
      work: work(init)
    }
  })
}

/** A node with the work service and a router. */
export type RoutedWorkNode = Libp2p<{ identify: Identify, ping: Ping, work: Work, router: Router }>

/** Start a real node on TCP loopback with the work service and a router. */
export async function createRoutedWorkNode (init: WorkInit = {}, routerInit: RouterInit = {}): Promise<RoutedWorkNode> {
  return createTestNode({
    services: {
      identify: identify(),
      ping: ping(),
      work: work(init),
      router: router(routerInit)
    }
  })
}

/** Dial `b` from `a` so streams can be opened by peer id. */
/**
 * Work nodes a suite creates, stopped after each test: call inside
 * `describe`, then create nodes with `node()` / `routedNode()`.
 */
export function suiteNodes (): { node: typeof createWorkNode, routedNode: typeof createRoutedWorkNode } {
  let nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })
  return {
    node: async (...args) => {
      const n = await createWorkNode(...args)
      nodes.push(n)
      return n
    },
    routedNode: async (...args) => {
      const n = await createRoutedWorkNode(...args)
      nodes.push(n)
      return n
    }
  }
}

export async function connect (a: Libp2p, b: Libp2p): Promise<void> {
  await a.dial(b.getMultiaddrs()[0])
  // the listener registers the inbound connection a moment later; wait so either side can open streams
  for (let i = 0; i < 200 && b.getConnections(a.peerId).length === 0; i++) {
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

/** A hand-driven end of a work stream, to play a misbehaving peer. */
export class RawPeer {
  readonly lp
  readonly stream: Stream

  constructor (stream: Stream) {
    this.stream = stream
    this.lp = lpStream(stream, { maxDataLength: 4 * 1024 * 1024 })
  }

  async send (frame: WorkFrame): Promise<void> {
    await this.lp.write(encodeFrame(frame))
  }

  async read (): Promise<WorkFrame> {
    const bytes = await this.lp.read({ signal: AbortSignal.timeout(10_000) })
    return decodeFrame(bytes.subarray(), 4 * 1024 * 1024)
  }
}

/** Open a raw work stream from `from` to `to`. */
export async function rawStream (from: Libp2p, to: Libp2p): Promise<RawPeer> {
  const stream = await from.dialProtocol(to.peerId, PROTOCOL)
  return new RawPeer(stream)
}

/**
 * Replace a node's work handler with a scripted one (a misbehaving provider).
 * The script gets each inbound stream.
 */
export async function scriptProvider (node: Libp2p, script: (peer: RawPeer) => Promise<void>): Promise<void> {
  await node.unhandle(PROTOCOL)
  await node.handle(PROTOCOL, async (stream) => {
    const peer = new RawPeer(stream)
    try {
      await script(peer)
    } catch {
      stream.abort(new Error('script failed'))
    }
  })
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b)

/** A receipt sink that keeps everything in arrays. */
export class ArraySink {
  readonly items: Array<SignedRecord<WorkReceipt> | CountersignedRecord<WorkReceipt>> = []

  async put (receipt: SignedRecord<WorkReceipt> | CountersignedRecord<WorkReceipt>): Promise<void> {
    this.items.push(receipt)
  }

  get countersigned (): Array<CountersignedRecord<WorkReceipt>> {
    return this.items.filter((r): r is CountersignedRecord<WorkReceipt> => 'countersignature' in r)
  }

  get pending (): Array<SignedRecord<WorkReceipt>> {
    return this.items.filter((r): r is SignedRecord<WorkReceipt> => !('countersignature' in r))
  }
}

/** A logger that drops everything. */
const silentLogger: ComponentLogger = {
  forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {}, newScope: () => silentLogger.forComponent(''), enabled: false }) as unknown as Logger
}

/** A payer, with the key it signs vouchers with, and a payee. */
export async function paymentParties (): Promise<{ payerKey: PrivateKey, payer: PeerId, payee: PeerId }> {
  const { key: payerKey, peerId: payer } = await party()
  return { payerKey, payer, payee: await somePeer() }
}

/** The peer id of a fresh key nobody keeps. */
export async function somePeer (): Promise<PeerId> {
  return (await party()).peerId
}

/** A role's context without a node: its own key, a settable clock, events to listen to. */
export interface StubContext {
  ctx: WorkContext
  key: PrivateKey
  peerId: PeerId
  events: TypedEventEmitter<WorkEvents>
  /** the context's clock, ms; set it to move time */
  clock: { now: number }
}

/** Make the context a requester or provider role runs in, with no libp2p node behind it (no streams). */
export async function stubContext (init: WorkInit = {}, metrics?: Metrics): Promise<StubContext> {
  const { key, peerId } = await party()
  const events = new TypedEventEmitter<WorkEvents>()
  const clock = { now: Date.now() }
  const components = { peerId, privateKey: key, logger: silentLogger, metrics } as unknown as WorkComponents
  const ctx = new WorkContext(components, workSettings(init), events, () => clock.now)
  ctx.started = true
  return { ctx, key, peerId, events, clock }
}


/** A quote `provider` signs for `requester`, valid for a minute of the provider's clock. */
export async function quoteFrom (provider: StubContext, requester: PeerId, price: Price): Promise<SignedRecord<Quote>> {
  const now = provider.clock.now
  return signRecord(QuoteType, {
    version: RECORD_VERSION,
    jobId: newRandomId(),
    requester: requester.toMultihash().bytes,
    provider: provider.ctx.self,
    price,
    estUnits: 1,
    etaMs: 10,
    freeSlots: 1,
    createdMs: now,
    expiresMs: now + 60_000,
    nonce: newRandomId()
  }, provider.key)
}

/** The requester's assignment of `quote` for `input`, allowing 10 units. */
export async function assignmentOf (quote: SignedRecord<Quote>, requesterKey: PrivateKey, input: Uint8Array, now: number): Promise<SignedRecord<Assignment>> {
  return signRecord(AssignmentType, {
    version: RECORD_VERSION,
    jobId: quote.value.jobId,
    requester: peerIdFromPrivateKey(requesterKey).toMultihash().bytes,
    provider: quote.value.provider,
    quote: quote.bytes,
    maxUnits: 10,
    inputHash: new Uint8Array(createHash('sha256').update(input).digest()),
    createdMs: now,
    expiresMs: now + 60_000,
    nonce: newRandomId()
  }, requesterKey)
}
