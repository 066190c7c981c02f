/**
 * Benchmark `gossip`: how fast, how completely and at what cost job
 * announcements spread over gossipsub, against a plain flood (floodsub)
 * measured in the same run on the same peers, links and wiring.
 *
 * Setup. One simulation (`@shoal/sim`: real libp2p nodes with noise, yamux,
 * identify and gossipsub on the sim transport) with a measured latency data
 * set (WonderNetwork by default, `--latency PATH` for another; the run is
 * skipped with a `skipped` reason when it is absent). Peers are placed over
 * the world by city population and wired as the harness wires a network (3
 * bootstrap peers, then `--degree` dials per peer, half to nearby peers).
 * Every peer runs two job boards: `jobs` on the harness's gossipsub and
 * `floodJobs` on `@libp2p/floodsub` (gossipsub's floodsub fallback is turned
 * off so that the two routers do not share the `/floodsub/1.0.0` handler).
 * Every peer serves `GPU_INFERENCE` with no region, so every peer subscribes
 * to the kind's global topic and to nothing else, and every announcement
 * (no region, `global: true`) goes to that one topic: a worst case of one
 * topic with every peer in it. The late-joiner sync is off (only gossip is
 * measured) and so is the DHT's bootstrap (its queries would add traffic and
 * CPU unrelated to gossip).
 *
 * Run. After the mesh has formed (polled: every peer knows its neighbours'
 * subscriptions on both routers and holds a gossipsub mesh of
 * min(Dlo, subscribed neighbours), bounded by `--mesh-wait`), each router
 * in turn gets 3 unmeasured warm-up announcements, then `--announcements`
 * announcements from random peers (the same peers, in the same order, for
 * both) at a steady `--rate` per second of the run's clock, then a drain until
 * every delivery is in (bounded). Floodsub goes first: it leaves nothing
 * behind, whereas gossipsub keeps gossiping (IHAVE) about recent messages
 * for 3 heartbeats, which would land in the next phase's byte count.
 *
 * Time. The simulated part runs on virtual time by default (`--time
 * virtual`, `onSimClock` in bench/src/util.ts): every clock and timer of the
 * process is simulated and time moves only when the process is idle, so the
 * CPU all peers share on this machine costs wall time but no simulated
 * time. A delivery's delay is then the network's (RTTs, jitter, bandwidth,
 * the TCP model) plus the protocol's waits (heartbeats, IHAVE/IWANT round
 * trips), as if each peer had a CPU of its own that is never busy: whatever
 * stretch remains is the protocol's. `simulated_s_per_wall_s` says how fast
 * the run went, `wall_s` what it cost. Randomness is seeded too.
 *
 * Time dilation (`--dilate K`; default 1 on virtual time, 6 on the wall
 * clock, `--quick` 4): how this benchmark kept the CPU out of its figures
 * on the wall clock (`--time wall`), kept to reproduce older figures. There
 * the CPU of every peer is one shared core: at 200 peers one announcement
 * costs ~0.5 s of CPU (noise, yamux, protobuf, two signature checks per
 * delivery) spread over the ~0.3 s it takes to cross the world, and that
 * queueing counted as network delay (measured at 1x: stretch p50 ~16 at 4
 * announcements/s on 80 peers, event loop p99 lag ~1.8 s). So every delay
 * of the network model is multiplied by K: RTTs and measured jitter (a
 * wrapped LatencyModel), the jitter floor, the TCP model's RTO floor,
 * bandwidth (/K), and gossipsub's heartbeat and IWANT follow-up. Stretch
 * is a ratio of delays and does not change under dilation, while each
 * hop's CPU becomes K times smaller against the network. `delay_ms_*` are
 * given back in undilated ms. On the wall clock the event loop's p99 lag
 * during each phase is reported (`loop_lag_p99_ms_p90`, dilated wall-clock
 * ms) as a check that the CPU stayed out of the way; on virtual time there
 * is no lag (null).
 *
 * Figures, per router:
 * - delivery: a receiving board's `job:announced` (source `gossip`), which
 *   fires in the pubsub topic validator, i.e. when the receiver has verified
 *   the announcement and before it forwards it;
 *   `delivery_ratio` = deliveries / (announcements x (subscribers - 1));
 * - stretch = (delivery time - publish time) / (oracle RTT(publisher,
 *   receiver) / 2), on the run's clock (`performance.now()`), publish time
 *   taken just before `announce()` (so signing counts, on the wall clock);
 * - duplicates: every pubsub data message on the topic that reaches a peer
 *   is counted by wrapping the router's RPC entry point on each node
 *   (gossipsub `handleReceivedRpc`, floodsub `processRpc`; both receive each
 *   decoded RPC once per inbound frame, before de-duplication). Copies of a
 *   message are keyed by (receiving peer, `from`, `seqno`), the pubsub message
 *   id of signed messages. Duplicates = copies - first copies at peers other
 *   than the publisher (every copy echoed back to its publisher is a
 *   duplicate); `dupes_per_delivery` = duplicates / deliveries. Copies that
 *   gossipsub fetches by IWANT count too;
 * - bytes: the sim network's byte counters (encrypted, framed bytes written
 *   on every link) from the first announcement of a phase until it drained,
 *   / deliveries. Gossipsub's control traffic (IHAVE, IWANT, IDONTWANT,
 *   GRAFT/PRUNE, heartbeats) in that window counts; the other router idles;
 * - how each delivery came (`paths`): the first copy of a message at a
 *   receiver, and the neighbour it came from, seen at the RPC entry point.
 *   It came from the publisher itself (`via_publisher`: floodPublish's first
 *   hop), by IWANT (`via_pull`: the receiver had asked that neighbour for it
 *   after an IHAVE, gossipsub's lazy pull, one heartbeat plus a round trip
 *   late at best), or pushed by a mesh (or flooding) neighbour
 *   (`via_push`). Following each first copy back to the publisher gives the
 *   hops a delivery took and the route's latency (the sum of the oracle
 *   one-way delays along it): `route_stretch` = route latency / direct
 *   one-way delay is the stretch of the overlay's detours alone, and
 *   `wait_ms` = delay - route latency what the delivery waited on top
 *   (jitter, queueing, the pull's heartbeat and round trip; on the wall
 *   clock, the CPU too). Floodsub's figures in the same run are the floor:
 *   every peer forwards at once to every neighbour, so its first copy takes
 *   the fastest route of the wiring.
 *
 * Gossipsub configuration (through the harness's `stack.gossipsub`): the
 * job board's score parameters and thresholds (`jobBoardScoreParams` for
 * the one topic, `JOB_BOARD_SCORE_THRESHOLDS`), stock D = 6, Dlo = 4,
 * Dhi = 12; `floodPublish: true` (stock): the publisher sends to every
 * subscribed neighbour, not only its mesh, which takes the first hop out
 * of the mesh's detours for the price of a few more copies; heartbeat
 * 700 ms (stock 1 s): mesh repair and IHAVE gossip come sooner for a
 * little more control traffic; IDONTWANT from 256 bytes (stock 512: an
 * announcement is ~450 bytes on the wire, so stock never sends one);
 * `fastMsgIdFn` = (from, seqno): gossipsub verifies a copy's signature
 * before looking it up in its seen-cache unless a fast id lets it drop the
 * copy first; only verified messages enter the fast-id cache, so a forged
 * copy cannot shadow the real one. Floodsub has no knobs that matter here
 * (it checks its seen-cache before verifying).
 *
 * Options: `--peers N`, `--announcements N`, `--rate PER_S`, `--degree K`,
 * `--D N --Dlo N --Dhi N`, `--heartbeat MS`, `--flood-publish true|false`,
 * `--idontwant BYTES`, `--fast-msg-id true|false`, `--dilate K`,
 * `--loss P` (constant segment loss instead of the harness's distance
 * curve), `--mesh-wait S`, `--drain S` (undilated), `--time virtual|wall`.
 */

import { floodsub } from '@libp2p/floodsub'
import { JOB_BOARD_SCORE_THRESHOLDS, jobBoard, jobBoardScoreParams, jobKey, jobTopic, signedMessageFastId } from '@shoal/job-board'
import { JobAnnouncementType, JobKind, decodeRecord, newRandomId } from '@shoal/records'
import { createRng, createSimulation, loadLatency } from '@shoal/sim'
import { describeError, serviceAs, sleep } from '@shoal/utils'
import { progress } from '../options.js'
import { clockOption, dilated, dilatedNetwork, intOption, latencySource, mean, numOption, onSimClock, quantile, requireDataSet, round } from '../util.js'
import type { BenchOptions, BenchResult } from '../options.js'
import type { BenchClock } from '../util.js'
import type { FloodSub } from '@libp2p/floodsub'
import type { GossipsubOpts } from '@libp2p/gossipsub'
import type { JobBoard, JobBoardComponents, JobBoardService, JobEntry } from '@shoal/job-board'
import type { LatencyModel, Rng, SimPeer, Simulation } from '@shoal/sim'

type Services = Record<string, unknown> & { jobs: JobBoard, floodJobs: JobBoard, floodsub: FloodSub }
type Router = 'gossipsub' | 'floodsub'

const TOPIC = jobTopic(JobKind.GPU_INFERENCE)

/** Gossipsub knobs of this benchmark (why: see the file header), each overridable from the command line. */
const GOSSIP_DEFAULTS = {
  D: 6,
  Dlo: 4,
  Dhi: 12,
  heartbeatMs: 700,
  floodPublish: true,
  idontwantMinDataSize: 256
}

/** Per-phase counters of one router. */
interface Phase {
  router: Router
  /** job key -> publisher index and publish time */
  published: Map<string, { publisher: number, at: number }>
  /** `${receiver}|${job}` -> delivery time */
  delivered: Map<string, number>
  stretch: number[]
  delayMs: number[]
  copies: number
  /** `${receiver}|${msgid}` of first copies at non-publishers */
  firsts: Set<string>
  /** `${receiver}|${job}` -> the neighbour the first copy came from, and whether the receiver had asked it by IWANT */
  origin: Map<string, { via: number, pulled: boolean }>
  bytes: number
  chunks: number
  seconds: number
  lagP99Ms: number | null
}

function newPhase (router: Router): Phase {
  return { router, published: new Map(), delivered: new Map(), stretch: [], delayMs: [], copies: 0, firsts: new Set(), origin: new Map(), bytes: 0, chunks: 0, seconds: 0, lagP99Ms: null }
}

function hex (bytes: Uint8Array | undefined | null): string {
  return bytes == null ? '' : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

function boolOption (options: BenchOptions, key: string, fallback: boolean): boolean {
  const raw = options.extra[key]
  return raw == null ? fallback : raw !== 'false' && raw !== '0'
}

/** Distinct connected remote peers of a node. */
function neighbours (sim: Simulation<Services>, index: number): number {
  const node = sim.peers[index].node
  return node == null ? 0 : new Set(node.getConnections().map(c => c.remotePeer.toString())).size
}

/**
 * Waits until every running peer knows the topic subscriptions of all its
 * neighbours on both routers and holds a gossipsub mesh of at least
 * min(Dlo, subscribed neighbours). Returns what it saw.
 */
async function waitForMesh (sim: Simulation<Services>, dlo: number, maxMs: number): Promise<{ ok: boolean, seconds: number, lagging: Record<string, number>, meshMean: number, meshMin: number, meshMax: number, degreeMean: number, degreeMin: number, degreeMax: number }> {
  const started = performance.now()
  for (;;) {
    let ready = true
    const lagging = { gossipsub_subscribers: 0, floodsub_subscribers: 0, mesh: 0 }
    const mesh: number[] = []
    const degree: number[] = []
    for (const peer of sim.running()) {
      const node = peer.node
      if (node == null) continue
      const n = neighbours(sim, peer.index)
      const gossipSubs = node.services.pubsub.getSubscribers(TOPIC).length
      const floodSubs = node.services.floodsub.getSubscribers(TOPIC).length
      // the exported GossipSub interface omits getMeshPeers, which the class has
      const meshSize = (node.services.pubsub as unknown as { getMeshPeers(topic: string): string[] }).getMeshPeers(TOPIC).length
      mesh.push(meshSize)
      degree.push(n)
      if (gossipSubs < n) lagging.gossipsub_subscribers++
      if (floodSubs < n) lagging.floodsub_subscribers++
      if (meshSize < Math.min(dlo, gossipSubs)) lagging.mesh++
      if (gossipSubs < n || floodSubs < n || meshSize < Math.min(dlo, gossipSubs)) {
        ready = false
      }
    }
    const seconds = (performance.now() - started) / 1000
    if (ready || seconds * 1000 >= maxMs) {
      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
      return {
        ok: ready,
        seconds,
        lagging,
        meshMean: mean(mesh),
        meshMin: Math.min(...mesh),
        meshMax: Math.max(...mesh),
        degreeMean: mean(degree),
        degreeMin: Math.min(...degree),
        degreeMax: Math.max(...degree)
      }
    }
    await sleep(250)
  }
}

/** The run's settings, from the command line. */
interface Settings {
  peers: number
  announcements: number
  rate: number
  degree: number
  D: number
  Dlo: number
  Dhi: number
  heartbeatMs: number
  floodPublish: boolean
  idontwant: number
  fastMsgId: boolean
  loss?: number
  meshWaitMs: number
  /** the clock the simulated part runs on */
  clock: BenchClock
  dilate: number
  drainMs: number
}

function settingsOf (options: BenchOptions): Settings {
  const D = intOption(options, 'D', GOSSIP_DEFAULTS.D)
  const clock = clockOption(options)
  // dilation keeps the shared CPU small against the network on the wall clock; virtual time needs none
  const dilate = numOption(options, 'dilate', clock === 'virtual' ? 1 : options.quick ? 4 : 6) || 1
  return {
    peers: intOption(options, 'peers', options.quick ? 60 : 200),
    announcements: intOption(options, 'announcements', options.quick ? 20 : 100),
    rate: numOption(options, 'rate', options.quick ? 2 : 0.5),
    degree: intOption(options, 'degree', 8),
    D,
    Dlo: intOption(options, 'Dlo', Math.min(GOSSIP_DEFAULTS.Dlo, D)),
    Dhi: intOption(options, 'Dhi', Math.max(GOSSIP_DEFAULTS.Dhi, D)),
    heartbeatMs: intOption(options, 'heartbeat', GOSSIP_DEFAULTS.heartbeatMs),
    floodPublish: boolOption(options, 'flood-publish', GOSSIP_DEFAULTS.floodPublish),
    idontwant: numOption(options, 'idontwant', GOSSIP_DEFAULTS.idontwantMinDataSize),
    fastMsgId: boolOption(options, 'fast-msg-id', true),
    loss: options.extra.loss == null ? undefined : numOption(options, 'loss', 0),
    meshWaitMs: numOption(options, 'mesh-wait', options.quick ? 8 : 30) * 1000,
    clock,
    dilate,
    drainMs: numOption(options, 'drain', 6) * 1000 * dilate
  }
}

/** Starts the simulation: every peer with a job board on gossipsub and one on floodsub. */
async function startSimulation (set: Settings, latency: LatencyModel, seed: number): Promise<{ sim: Simulation<Services>, bootS: number }> {
  const { D, Dlo, Dhi, dilate } = set
  const gossipsubOpts: Partial<GossipsubOpts> = {
    fallbackToFloodsub: false,
    D,
    Dlo,
    Dhi,
    Dout: Math.min(2, Math.floor(Dlo / 2), Math.floor(D / 2)),
    heartbeatInterval: set.heartbeatMs * dilate,
    gossipsubIWantFollowupMs: 3000 * dilate,
    floodPublish: set.floodPublish,
    idontwantMinDataSize: set.idontwant,
    // drop copies of a message already seen before verifying their signature again (see the header)
    fastMsgIdFn: set.fastMsgId ? signedMessageFastId : undefined,
    scoreParams: jobBoardScoreParams({ topics: [TOPIC] }) as GossipsubOpts['scoreParams'],
    scoreThresholds: JOB_BOARD_SCORE_THRESHOLDS
  }
  const board = { serve: { kinds: [JobKind.GPU_INFERENCE] }, sync: false }

  progress(`starting ${set.peers} peers (${latency.sites.length} sites), ${set.degree} dials each`)
  const startedAt = performance.now()
  let lastProgress = 0
  const sim = await createSimulation<Services>({
    peers: set.peers,
    latency,
    seed,
    // time dilation: every delay of the network model scales by the same factor
    ...dilatedNetwork(dilate, set.loss == null ? {} : { loss: set.loss }),
    connect: { degree: set.degree },
    // the DHT is not used here: keep its bootstrap queries out of the byte counters and the CPU
    dhtStartDelayMs: 3_600_000,
    dhtStartSpreadMs: 0,
    stack: { gossipsub: gossipsubOpts },
    services: () => ({
      floodsub: floodsub(),
      jobs: jobBoard(board),
      floodJobs: (components: JobBoardComponents) => jobBoard(board)(serviceAs(components, 'pubsub', 'floodsub'))
    }) as any,
    onProgress: (p) => {
      const now = performance.now()
      if (p.done === p.total || now - lastProgress > 5000) {
        lastProgress = now
        progress(`  ${p.phase} ${p.done}/${p.total}`)
      }
    }
  })
  return { sim, bootS: (performance.now() - startedAt) / 1000 }
}

/** The job key of an announcement's pubsub data, undefined when it is not one. */
function jobOf (data: Uint8Array | undefined): string | undefined {
  if (data == null) return undefined
  try {
    return jobKey(decodeRecord(JobAnnouncementType, data).jobId)
  } catch {
    return undefined
  }
}

/** The last 8 bytes of a gossipsub message id (signed messages: key then seqno), or a seqno, as hex. */
function seqHex (bytes: Uint8Array | undefined | null): string {
  return bytes == null ? '' : hex(bytes.subarray(Math.max(0, bytes.byteLength - 8)))
}

type RpcMessage = { topic?: string, from?: Uint8Array, seqno?: Uint8Array, sequenceNumber?: Uint8Array, data?: Uint8Array }

/**
 * Counts, on every running peer, the copies each router receives (by
 * wrapping its RPC entry point), where each first copy came from, the
 * message ids gossipsub asks for by IWANT (by wrapping its IHAVE handler),
 * and the deliveries of its job board, into whichever phase `current()`
 * returns.
 */
function instrument (sim: Simulation<Services>, running: Array<SimPeer<Services>>, dilate: number, current: () => Phase | undefined): void {
  const ownId = new Map(running.map(p => [p.index, hex(p.peerId?.toMultihash().bytes)]))
  const indexOf = new Map(running.map(p => [p.peerId?.toString() ?? '', p.index]))
  /** `${receiver}|${asked}|${seqno}` of every message id a receiver asked a neighbour for by IWANT */
  const asked = new Set<string>()
  /** the job of each message (`${from}|${seqno}`), decoded once, not at every receiver */
  const jobs = new Map<string, string | undefined>()

  const countCopies = (router: Router, receiver: number, sender: string, messages: RpcMessage[] | undefined): void => {
    const phase = current()
    if (phase?.router !== router || messages == null) return
    for (const m of messages) {
      if (m.topic !== TOPIC) continue
      phase.copies++
      const from = hex(m.from)
      if (from === ownId.get(receiver)) continue
      const seqno = m.seqno ?? m.sequenceNumber
      const id = `${from}|${hex(seqno)}`
      const key = `${receiver}|${id}`
      if (phase.firsts.has(key)) continue
      phase.firsts.add(key)
      const via = indexOf.get(sender)
      if (!jobs.has(id)) jobs.set(id, jobOf(m.data))
      const job = jobs.get(id)
      if (via == null || job == null) continue
      phase.origin.set(`${receiver}|${job}`, { via, pulled: asked.has(`${receiver}|${via}|${seqHex(seqno)}`) })
    }
  }

  const onDelivery = (router: Router, receiver: number) => (evt: CustomEvent<JobEntry>) => {
    const at = performance.now()
    const phase = current()
    if (phase?.router !== router || evt.detail.source !== 'gossip') return
    const pub = phase.published.get(evt.detail.key)
    const k = `${receiver}|${evt.detail.key}`
    if (pub == null || phase.delivered.has(k)) return
    phase.delivered.set(k, at)
    const delay = at - pub.at
    phase.delayMs.push(delay / dilate)
    phase.stretch.push(delay / (sim.rtt(pub.publisher, receiver) / 2))
  }

  for (const peer of running) {
    const node = peer.node
    if (node == null) continue
    const gs = node.services.pubsub as any
    const handleReceivedRpc = gs.handleReceivedRpc.bind(gs)
    gs.handleReceivedRpc = async (from: { toString(): string }, rpc: any) => {
      countCopies('gossipsub', peer.index, from.toString(), rpc?.messages)
      return handleReceivedRpc(from, rpc)
    }
    // what the receiver asks for after an IHAVE: a later first copy from that neighbour was pulled
    const handleIHave = gs.handleIHave.bind(gs)
    gs.handleIHave = (id: string, ihave: unknown) => {
      const iwant = handleIHave(id, ihave) as Array<{ messageIDs?: Uint8Array[] }>
      const neighbour = indexOf.get(id)
      for (const msgId of iwant[0]?.messageIDs ?? []) {
        asked.add(`${peer.index}|${neighbour}|${seqHex(msgId)}`)
      }
      return iwant
    }
    const fs = node.services.floodsub as any
    const processRpc = fs.processRpc.bind(fs)
    fs.processRpc = async (stream: { peerId: { toString(): string } }, rpc: any) => {
      countCopies('floodsub', peer.index, stream.peerId.toString(), rpc?.messages)
      return processRpc(stream, rpc)
    }
    ;(node.services.jobs as JobBoardService).addEventListener('job:announced', onDelivery('gossipsub', peer.index))
    ;(node.services.floodJobs as JobBoardService).addEventListener('job:announced', onDelivery('floodsub', peer.index))
  }
}

/** How the deliveries of a phase came: by whom, in how many hops, along what route, and what they waited beyond it. */
interface Paths {
  /** deliveries whose first copy is known (the denominator of `via`) */
  traced: number
  /** share of those whose first copy came from the publisher, by IWANT, or pushed by another neighbour */
  via: { publisher: number, push: number, pull: number }
  /** hops of the deliveries whose route was followed back to the publisher */
  hops: number[]
  /** route latency / direct one-way delay, per delivery */
  routeStretch: number[]
  /** delivery delay - route latency, per delivery, undilated ms */
  waitMs: number[]
  /** stretch of the deliveries whose first copy was pulled, and of the others */
  stretchPulled: number[]
  stretchPushed: number[]
}

/** Follows each delivery's first copy back to its publisher. */
function pathsOf (sim: Simulation<Services>, p: Phase, dilate: number): Paths {
  const out: Paths = { traced: 0, via: { publisher: 0, push: 0, pull: 0 }, hops: [], routeStretch: [], waitMs: [], stretchPulled: [], stretchPushed: [] }
  for (const [key, at] of p.delivered) {
    const sep = key.indexOf('|')
    const receiver = Number(key.slice(0, sep))
    const job = key.slice(sep + 1)
    const pub = p.published.get(job)
    const first = p.origin.get(key)
    if (pub == null || first == null) continue
    out.traced++
    out.via[first.pulled ? 'pull' : first.via === pub.publisher ? 'publisher' : 'push']++
    const direct = sim.rtt(pub.publisher, receiver) / 2
    ;(first.pulled ? out.stretchPulled : out.stretchPushed).push((at - pub.at) / direct)
    const route = routeOf(sim, p, job, receiver, pub.publisher)
    if (route == null) continue
    out.hops.push(route.hops)
    out.routeStretch.push(route.ms / direct)
    out.waitMs.push((at - pub.at - route.ms) / dilate)
  }
  const n = Math.max(1, out.traced)
  out.via = { publisher: out.via.publisher / n, push: out.via.push / n, pull: out.via.pull / n }
  return out
}

/**
 * The route of `job`'s first copies from `publisher` to `receiver`: hops and
 * one-way latency summed along it; undefined where a first copy on the way
 * is unknown (bounded: a cycle would mean a bookkeeping error).
 */
function routeOf (sim: Simulation<Services>, p: Phase, job: string, receiver: number, publisher: number): { hops: number, ms: number } | undefined {
  let ms = 0
  let at = receiver
  for (let hops = 1; hops <= 64; hops++) {
    const o = p.origin.get(`${at}|${job}`)
    if (o == null) return undefined
    ms += sim.rtt(o.via, at) / 2
    at = o.via
    if (at === publisher) return { hops, ms }
  }
  return undefined
}

/** Announces one job from `publisher` on `router`'s board; a measured one is recorded in `phase`. */
async function announce (sim: Simulation<Services>, router: Router, publisher: number, phase?: Phase): Promise<void> {
  const node = sim.peers[publisher].node
  if (node == null) return
  const jobs = router === 'gossipsub' ? node.services.jobs : node.services.floodJobs
  const jobId = newRandomId()
  phase?.published.set(jobKey(jobId), { publisher, at: performance.now() })
  await jobs.announce({
    jobId,
    kind: JobKind.GPU_INFERENCE,
    requirements: { gpuClass: 'consumer-24g', minVramMib: 16384, gpuCount: 1, maxRttMs: 100 },
    priceCeiling: { perUnit: 20, currency: 'USDC', unit: 'gpu-second' },
    budget: 10_000,
    description: `gossip benchmark job from peer ${publisher}`
  }, { global: true })
}

/** One router's phase: unmeasured warm-up, the announcements at a steady rate, then the drain. */
async function runPhase (sim: Simulation<Services>, set: Settings, router: Router, plan: { warmup: number[], publishers: number[], expectedPer: number }, setCurrent: (phase: Phase | undefined) => void): Promise<Phase> {
  const { dilate, announcements, rate, drainMs } = set
  progress(`${router}: warm-up (${plan.warmup.length} unmeasured announcements)`)
  setCurrent(undefined)
  for (const p of plan.warmup) {
    await announce(sim, router, p)
    await sleep(100 * dilate)
  }
  // the longest RTT of the data set is ~400 ms: let the warm-up copies land before counting
  await sleep(500 * dilate)

  const phase = newPhase(router)
  setCurrent(phase)
  sim.network.resetStats()
  const lagFrom = sim.events.now()
  const t0 = performance.now()
  const interval = 1000 / rate
  progress(`${router}: ${announcements} announcements at ${rate}/s`)
  const inFlight: Array<Promise<void>> = []
  for (let i = 0; i < announcements; i++) {
    const due = t0 + i * interval
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    inFlight.push(announce(sim, router, plan.publishers[i], phase).catch(err => {
      progress(`${router}: announce from ${plan.publishers[i]} failed: ${describeError(err)}`)
    }))
  }
  await Promise.all(inFlight)
  const expected = announcements * plan.expectedPer
  const lastPublish = performance.now()
  while (phase.delivered.size < expected && performance.now() - lastPublish < drainMs) {
    await sleep(50)
  }
  // copies still in flight to peers that already have the message
  await sleep(Math.min(500 * dilate, drainMs))
  setCurrent(undefined)
  const totals = sim.network.totals()
  phase.bytes = totals.bytes
  phase.chunks = totals.chunks
  phase.seconds = (performance.now() - t0) / 1000
  const lags = sim.events.ofType('loop').filter(e => e.t >= lagFrom).map(e => Number(e.p99_ms))
  phase.lagP99Ms = lags.length > 0 ? quantile(lags, 0.9) : null
  progress(`${router}: ${phase.delivered.size}/${expected} deliveries in ${phase.seconds.toFixed(1)} s, stretch p50 ${quantile(phase.stretch, 0.5).toFixed(2)} p90 ${quantile(phase.stretch, 0.9).toFixed(2)}, ${phase.copies} copies`)
  return phase
}

/** A phase's figures; `expected` deliveries = announcements x (subscribers - 1). */
function figures (p: Phase, expected: number, paths: Paths) {
  const deliveries = p.delivered.size
  const dupes = p.copies - p.firsts.size
  return {
    delivery_ratio: round(deliveries / expected),
    stretch_p50: round(quantile(p.stretch, 0.5), 3),
    stretch_p90: round(quantile(p.stretch, 0.9), 3),
    stretch_p99: round(quantile(p.stretch, 0.99), 3),
    delay_ms_p50: round(quantile(p.delayMs, 0.5), 1),
    delay_ms_p90: round(quantile(p.delayMs, 0.9), 1),
    delay_ms_p99: round(quantile(p.delayMs, 0.99), 1),
    dupes_per_delivery: round(dupes / Math.max(1, deliveries), 3),
    bytes_per_delivery: round(p.bytes / Math.max(1, deliveries), 0),
    deliveries,
    copies: p.copies,
    bytes: p.bytes,
    phase_s: round(p.seconds, 1),
    // wall clock only (null on virtual time, where the loop's delay delays nothing simulated)
    loop_lag_p99_ms_p90: p.lagP99Ms == null ? null : round(p.lagP99Ms, 1),
    paths: {
      traced: paths.traced,
      routed: paths.hops.length,
      via_publisher: round(paths.via.publisher, 3),
      via_push: round(paths.via.push, 3),
      via_pull: round(paths.via.pull, 3),
      hops_mean: round(mean(paths.hops), 2),
      hops_p50: round(quantile(paths.hops, 0.5), 1),
      hops_p90: round(quantile(paths.hops, 0.9), 1),
      hops_max: paths.hops.length === 0 ? null : Math.max(...paths.hops),
      route_stretch_p50: round(quantile(paths.routeStretch, 0.5), 3),
      route_stretch_p90: round(quantile(paths.routeStretch, 0.9), 3),
      wait_ms_p50: round(quantile(paths.waitMs, 0.5), 1),
      wait_ms_p90: round(quantile(paths.waitMs, 0.9), 1),
      stretch_pushed_p50: round(quantile(paths.stretchPushed, 0.5), 3),
      stretch_pushed_p90: round(quantile(paths.stretchPushed, 0.9), 3),
      stretch_pulled_p50: round(quantile(paths.stretchPulled, 0.5), 3),
      stretch_pulled_p90: round(quantile(paths.stretchPulled, 0.9), 3)
    }
  }
}

/**
 * Both routers' phases on the same peers: the same random publishers in the
 * same order, floodsub first. Returns the phases and the deliveries expected
 * in each.
 */
async function measureRouters (sim: Simulation<Services>, set: Settings, running: Array<SimPeer<Services>>, rng: Rng): Promise<{ flood: Phase, gossip: Phase, expected: number }> {
  // counters, switched by the phase being measured
  let current: Phase | undefined
  instrument(sim, running, set.dilate, () => current)

  const publishers = Array.from({ length: set.announcements }, () => rng.pick(running).index)
  const warmup = rng.sample(running, Math.min(3, running.length)).map(p => p.index)
  const plan = { warmup, publishers, expectedPer: running.length - 1 }
  const setCurrent = (phase: Phase | undefined): void => { current = phase }

  // floodsub first: it leaves nothing behind, whereas gossipsub keeps gossiping (IHAVE) about
  // recent messages for 3 heartbeats, which would be counted in the next phase's bytes
  const flood = await runPhase(sim, set, 'floodsub', plan, setCurrent)
  const gossip = await runPhase(sim, set, 'gossipsub', plan, setCurrent)
  return { flood, gossip, expected: set.announcements * plan.expectedPer }
}

export async function run (options: BenchOptions): Promise<BenchResult> {
  const data = requireDataSet(options, ['delivery_ratio', 'stretch_p50', 'stretch_p90', 'stretch_p99', 'dupes_per_delivery', 'flood_dupes_per_delivery'])
  if ('skipped' in data) {
    return data.skipped
  }
  const { path } = data
  const set = settingsOf(options)
  const rng = createRng(options.seed).fork('gossip')

  progress(`loading ${path}`)
  const measured = await loadLatency(path)
  const latency = dilated(measured, set.dilate)

  // the simulated part, on virtual time unless --time wall
  const { value, figures: clock } = await onSimClock(set.clock, options.seed, async () => {
    const { sim, bootS } = await startSimulation(set, latency, options.seed)
    try {
      return await measure(sim, set, rng, bootS)
    } finally {
      await sim.stop()
    }
  })
  return { latency_source: latencySource(path), ...clock, ...value }
}

/** Waits for the mesh, measures both routers and returns the figures (on whichever clock is installed). */
async function measure (sim: Simulation<Services>, set: Settings, rng: Rng, bootS: number): Promise<BenchResult> {
  const { peers, announcements, rate, degree, D, Dlo, Dhi, heartbeatMs, floodPublish, idontwant, fastMsgId, loss, dilate } = set
  const running = sim.running()
  const failedPeers = peers - running.length
  progress(`${running.length} peers running after ${bootS.toFixed(1)} s, ${sim.network.connectionCount} connections; waiting for the mesh`)
  const mesh = await waitForMesh(sim, Dlo, set.meshWaitMs)
  progress(`mesh ${mesh.ok ? 'formed' : `NOT formed (peers lagging: ${JSON.stringify(mesh.lagging)})`} after ${mesh.seconds.toFixed(1)} s: mesh ${mesh.meshMin}-${mesh.meshMax} (mean ${mesh.meshMean.toFixed(1)}), degree ${mesh.degreeMin}-${mesh.degreeMax} (mean ${mesh.degreeMean.toFixed(1)})`)

  const { flood, gossip, expected } = await measureRouters(sim, set, running, rng)
  const g = figures(gossip, expected, pathsOf(sim, gossip, dilate))
  const f = figures(flood, expected, pathsOf(sim, flood, dilate))
  const ratio = (a: number | null, b: number | null): number | null => a == null || b == null || b === 0 ? null : round(a / b, 3)

  return {
    peers,
    peers_failed: failedPeers,
    subscribers: running.length,
    announcements,
    rate_per_s: rate,
    topic: TOPIC,
    wiring: { dials_per_peer: degree, degree_mean: round(mesh.degreeMean, 1), degree_min: mesh.degreeMin, degree_max: mesh.degreeMax },
    mesh: { formed: mesh.ok, wait_s: round(mesh.seconds, 1), peers_not_ready: mesh.lagging, size_mean: round(mesh.meshMean, 1), size_min: mesh.meshMin, size_max: mesh.meshMax },
    gossipsub: { D, Dlo, Dhi, heartbeat_ms: heartbeatMs, flood_publish: floodPublish, idontwant_min_bytes: idontwant, fast_msg_id: fastMsgId, score: 'jobBoardScoreParams' },
    loss: loss ?? 'harness distance curve',
    time_dilation: dilate,
    boot_s: round(bootS, 1),
    ...g,
    flood_delivery_ratio: f.delivery_ratio,
    flood_stretch_p50: f.stretch_p50,
    flood_stretch_p90: f.stretch_p90,
    flood_stretch_p99: f.stretch_p99,
    flood_delay_ms_p50: f.delay_ms_p50,
    flood_delay_ms_p90: f.delay_ms_p90,
    flood_delay_ms_p99: f.delay_ms_p99,
    flood_dupes_per_delivery: f.dupes_per_delivery,
    flood_bytes_per_delivery: f.bytes_per_delivery,
    flood_paths: f.paths,
    baseline: { router: '@libp2p/floodsub', ...f },
    ratio_dupes_gossip_vs_flood: ratio(g.dupes_per_delivery, f.dupes_per_delivery),
    ratio_bytes_gossip_vs_flood: ratio(g.bytes_per_delivery, f.bytes_per_delivery),
    ratio_stretch_p50_gossip_vs_flood: ratio(g.stretch_p50, f.stretch_p50),
    ratio_stretch_p90_gossip_vs_flood: ratio(g.stretch_p90, f.stretch_p90),
    goals: {
      delivery_100: g.delivery_ratio === 1,
      stretch_p50_le_1_5: g.stretch_p50 != null && g.stretch_p50 <= 1.5,
      stretch_p90_le_3: g.stretch_p90 != null && g.stretch_p90 <= 3,
      dupes_below_flood: g.dupes_per_delivery != null && f.dupes_per_delivery != null && g.dupes_per_delivery < f.dupes_per_delivery
    },
    notes: `stretch = (delivery - publish) / (oracle RTT / 2), ${set.clock === 'virtual' ? 'simulated time (virtual: no CPU of this machine in it)' : 'wall clock'}; delivery = job:announced in the receiver's topic validator; dupes = pubsub data copies on the topic received beyond the first per (peer, message), copies echoed to the publisher included, / deliveries; bytes = sim link bytes (encrypted, framed) from the first announcement until drained / deliveries; both routers on the same peers, links and wiring, floodsub first, each after 3 unmeasured warm-up announcements; time dilated by time_dilation (RTT, jitter, RTO floor, bandwidth, gossipsub heartbeat), delay_ms in undilated ms; paths: the first copy of each delivery followed back to the publisher (via publisher / mesh push / IWANT pull, hops, route latency over direct one-way delay, wait beyond the route)`
  }
}
