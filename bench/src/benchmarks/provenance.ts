/**
 * `provenance`: a simulated capture market on measured city RTTs, scored
 * by what requesters pay to liars.
 *
 * Peers are real libp2p nodes (noise, yamux, identify, ping and the
 * `@shoal/provenance` service) on the simulator transport, placed in
 * clusters of 3-5 per city of the latency data set (WonderNetwork by
 * default, `--latency PATH`; skipped with a reason when absent). Links
 * between cities carry the data set's RTT (mean of both directions' `avg`);
 * two peers of one city are linked by their access legs (0.25-1 ms each).
 * Each peer's claimed cell is its city's geohash (precision 5). Every peer
 * witnesses (with the package's own witness code) and captures once:
 *
 * - honest (the rest): 2-3 nearest witnesses by RTT measured with ping;
 * - spoofers (`--spoofers 0.15`): claim the cell of another simulated city
 *   500-10,000 km away (targets spread over the three distance bands), half
 *   naive (witnesses of their true city), half clever (they connect to and
 *   ask peers of the claimed city);
 * - replayers (`--replayers 0.1`): a genuine capture for one bounty, then
 *   the same footage (same synthetic seed, hence the same chunks) for a
 *   second bounty of the same requester (a requester only knows its own
 *   history: its replay index is what catches the replay);
 * - self-witnesses (`--self-witnesses 0.1`): two second identities (fresh
 *   keys, no history) at the capturer's own site witness for it; half of
 *   them add one honest witness of their city.
 *
 * Witnesses' history: before the run, every peer except the second
 * identities gets `--history 3` countersigned WorkReceipts as provider with
 * distinct peers of other cities (ended 2-48 h ago), and the requesters, the
 * market's regular clients, one with every peer but the second identities;
 * a second identity makes its history up (`--history` receipts with
 * throwaway keys of its own, backdated). All are served by an in-memory
 * `receipts` component the provenance service reads; a verifier counts a
 * witness's history only with counterparties it has itself worked with.
 *
 * Requesters (`--requesters N`, honest peers) take the captures in turn,
 * verify each with their service's `verify` (job, assignment, assigned and
 * result times, region = the claimed cell's first `--region-chars 3`
 * characters, sensors, their own replay index; no footage fetch: the bench
 * runs no Helia) and pay `verifiedSeconds`. The baseline applies the eight
 * checks of examples/data-bounty's `fetchCapture` to the same captures, with
 * the statement today's witness would sign (it signs whatever it is shown)
 * from the first witness each capturer asked, and pays the claimed seconds
 * when all pass.
 *
 * CPU: `verifyCaptureProof` on the run's own proofs (no footage), the
 * baseline function on the same captures, and node's raw Ed25519 verify,
 * in alternating slices, per second of process CPU time.
 *
 * Captures last as long as the footage they claim (3-10 s of synthetic
 * footage generated at once, `realTime: false`; the service waits out the
 * recording, and the witnesses' RTT rounds go over the simulated links
 * during it), so they run many at once: all of the quick run's, 25 at a
 * time in the full run (`--concurrency N`; at 100 at once the one shared
 * CPU pushed same-city witness RTTs past the 5 ms ceiling, see the README);
 * replays follow their originals.
 *
 * Sizes: `--quick` 60 peers, full 200 (`--peers N`). Knobs:
 * `--bytes-per-second N` (synthetic footage, default 8192), `--history N`,
 * `--requesters N`, `--region-chars N`, `--cpu-ms N` (CPU measurement).
 */

import { createPublicKey, createPrivateKey, generateKeyPairSync, randomBytes, sign as rawSign, verify as rawVerify } from 'node:crypto'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import {
  createDevice, attestCapture, deviceDigest, provenance, syntheticSource, verifyCaptureProof
} from '@shoal/provenance'
import {
  CaptureAttestationType, RECORD_VERSION, WitnessStatementType, WorkReceiptType, countersign, encodeGeohash, greatCircleKm,
  newRandomId, openRecord, signRecord
} from '@shoal/records'
import { SimNetwork, createRng, loadLatencyDataset, pool, simTransport } from '@shoal/sim'
import { describeError, equalBytes, sha256 } from '@shoal/utils'
import { createLibp2p } from 'libp2p'
import { progress } from '../options.js'
import { intOption, latencySource, numOption, quantile, requireDataSet, round } from '../util.js'
import type { BenchOptions, BenchResult } from '../options.js'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Capture, CaptureDevice, CaptureVerdict, Provenance, VerifyContext, WitnessReceipts } from '@shoal/provenance'
import type { CaptureAttestation, CountersignedRecord, SignedRecord, WitnessStatement, WorkReceipt } from '@shoal/records'
import type { LatencyDataset, Rng } from '@shoal/sim'

const FIGURES = ['spoof_caught_ratio', 'honest_false_reject_ratio', 'replay_caught_ratio', 'self_witness_caught_ratio', 'paid_seconds_to_liars', 'verify_per_s']

/** Goals of the brief, printed with the figures. */
const GOALS = {
  spoof_caught_ratio: '>= 0.95 (claims >= 500 km from the truth)',
  honest_false_reject_ratio: '<= 0.01',
  replay_caught_ratio: '1.0',
  paid_seconds_to_liars: '0'
}

/** Distance bands of the spoofs, km. */
const BANDS: Array<[number, number]> = [[500, 1000], [1000, 3000], [3000, 10000]]
const GEOHASH_PRECISION = 5
const SENSORS = ['video']
const MEDIA_TYPE = 'video/mp4'
const HOUR = 3_600_000

type Role = 'honest' | 'spoofer' | 'replayer' | 'self-witness'
type Strategy = 'naive' | 'clever'

type ProvNode = Libp2p<{ identify: Identify, ping: Ping, receipts: WitnessReceipts, provenance: Provenance }>

interface City {
  site: number
  name: string
  lat: number
  lon: number
  cell: string
}

interface Peer {
  index: number
  city: number
  site: string
  key: PrivateKey
  peerId: PeerId
  role: Role
  node?: ProvNode
  device?: CaptureDevice
  /** spoofers: the city claimed, how far it is and how they pick witnesses */
  spoof?: { city: number, km: number, strategy: Strategy }
  /** self-witnesses: their second identities */
  sybils: Peer[]
  /** whether this is a second identity */
  sybil: boolean
}

/** One capture submitted to a requester. */
interface Submission {
  capturer: Peer
  kind: 'honest' | 'spoof' | 'replay-original' | 'replay' | 'self-witness'
  requester: Peer
  jobId: Uint8Array
  assignmentId: Uint8Array
  assignedMs: number
  resultMs: number
  region: string
  claimedCell: string
  seconds: number
  /** witnesses an honest capturer asks */
  k: number
  seed: number
  witnessesAsked: Peer[]
  capture?: Capture
  captureError?: string
  /** the attestation the baseline reads: the capture's, or one the bench signed when the capture failed */
  attestation?: SignedRecord<CaptureAttestation>
  chunks?: Uint8Array[]
  verdict?: CaptureVerdict
  paid: number
  baselineStatement?: SignedRecord<WitnessStatement>
  baselinePaid: number
  baselineFailed?: string
}

/** A receipts component in memory: what the provenance service reads a witness's history from (the part of a ReceiptStore it uses). */
function memoryReceipts (held: Array<CountersignedRecord<WorkReceipt>>): () => WitnessReceipts {
  return () => ({
    async put (receipt) {
      if (!(receipt instanceof Uint8Array) && 'record' in receipt) {
        held.push(receipt)
      }
    },
    async * list (options = {}) {
      const provider = options.provider?.toMultihash().bytes
      const requester = options.requester?.toMultihash().bytes
      let n = 0
      for (const r of held) {
        const v = r.record.value
        if ((provider == null || equalBytes(v.provider, provider)) && (requester == null || equalBytes(v.requester, requester))) {
          if (options.limit != null && n++ >= options.limit) return
          yield { bytes: r.bytes, value: v, state: 'countersigned' }
        }
      }
    },
    // whether the holder has worked with `peer`: a verifier counts a witness's history only with counterparties it knows
    standing (peer) {
      const id = peer.toMultihash().bytes
      return { receipts: held.filter(r => equalBytes(r.record.value.provider, id) || equalBytes(r.record.value.requester, id)).length }
    }
  })
}

interface Settings {
  peers: number
  spoofers: number
  replayers: number
  selfWitnesses: number
  requesters: number
  history: number
  concurrency: number
  regionChars: number
  bytesPerSecond: number
  cpuMs: number
}

function settingsOf (options: BenchOptions): Settings {
  const quick = options.quick
  return {
    peers: intOption(options, 'peers', quick ? 60 : 200),
    spoofers: numOption(options, 'spoofers', 0.15),
    replayers: numOption(options, 'replayers', 0.1),
    selfWitnesses: numOption(options, 'self-witnesses', 0.1),
    requesters: intOption(options, 'requesters', quick ? 4 : 8),
    history: intOption(options, 'history', 3),
    concurrency: intOption(options, 'concurrency', quick ? 64 : 25),
    regionChars: intOption(options, 'region-chars', 3),
    bytesPerSecond: intOption(options, 'bytes-per-second', 8192),
    cpuMs: intOption(options, 'cpu-ms', quick ? 1500 : 4000)
  }
}

/** City RTTs of the data set: the mean of both directions, and which sites have coordinates and pairs. */
function cityRtts (dataset: LatencyDataset): { rtt: Map<string, number>, usable: number[] } {
  const sums = new Map<string, { sum: number, n: number }>()
  for (const p of dataset.pairs) {
    if (p.a === p.b || !(p.rttMs > 0)) continue
    const key = p.a < p.b ? `${p.a},${p.b}` : `${p.b},${p.a}`
    const s = sums.get(key) ?? { sum: 0, n: 0 }
    s.sum += p.rttMs
    s.n++
    sums.set(key, s)
  }
  const rtt = new Map([...sums].map(([k, s]) => [k, s.sum / s.n]))
  const degree = new Map<number, number>()
  for (const k of rtt.keys()) {
    for (const s of k.split(',').map(Number)) degree.set(s, (degree.get(s) ?? 0) + 1)
  }
  const usable = dataset.sites
    .filter(s => Number.isFinite(s.lat) && Number.isFinite(s.lon) && (degree.get(s.id) ?? 0) > dataset.sites.length / 2)
    .map(s => s.id)
  return { rtt, usable }
}

/** Place peers in clusters of 3-5 per city; cities drawn from the data set. */
function placePeers (dataset: LatencyDataset, usable: number[], count: number, rng: Rng): { cities: City[], cityOf: number[] } {
  const sizes: number[] = []
  for (let left = count; left > 0;) {
    const n = Math.min(left, rng.intBetween(3, 5))
    // a last cluster of 1-2 joins the one before
    if (left - n > 0 && left - n < 3) {
      sizes.push(left)
      break
    }
    sizes.push(n)
    left -= n
  }
  // every other city 500-1000 km from one already chosen, so the shortest spoof band has claimed cities to pick from
  const km = (a: number, b: number): number => greatCircleKm(dataset.sites[a].lat, dataset.sites[a].lon, dataset.sites[b].lat, dataset.sites[b].lon)
  const chosen: number[] = []
  for (const id of rng.shuffle([...usable])) {
    if (chosen.length >= sizes.length) break
    if (chosen.includes(id)) continue
    chosen.push(id)
    if (chosen.length >= sizes.length) break
    const near = usable.filter(n => !chosen.includes(n) && km(id, n) >= 500 && km(id, n) < 1000)
    if (near.length > 0) chosen.push(rng.pick(near))
  }
  const cities: City[] = chosen.map(id => {
    const s = dataset.sites[id]
    return { site: id, name: s.name, lat: s.lat, lon: s.lon, cell: encodeGeohash(s.lat, s.lon, GEOHASH_PRECISION) }
  })
  const cityOf: number[] = []
  sizes.slice(0, cities.length).forEach((n, c) => { for (let i = 0; i < n; i++) cityOf.push(c) })
  while (cityOf.length < count) cityOf.push(cityOf.length % cities.length)
  return { cities, cityOf }
}

function kmBetween (a: City, b: City): number {
  return greatCircleKm(a.lat, a.lon, b.lat, b.lon)
}

function bandOf (km: number): string {
  const band = BANDS.find(([lo, hi]) => km >= lo && km < hi)
  return band == null ? 'other' : `${band[0]}-${band[1]}`
}

/** A claimed city for each spoofer: targets spread over the bands, the simulated city nearest each target distance. */
function chooseSpoofs (spoofers: Peer[], cities: City[], rng: Rng): void {
  spoofers.forEach((peer, i) => {
    const [lo, hi] = BANDS[i % BANDS.length]
    const target = lo * Math.pow(hi / lo, rng.float())
    const own = cities[peer.city]
    const candidates = cities
      .map((c, index) => ({ index, km: kmBetween(own, c) }))
      .filter(c => c.km >= 500 && c.km <= 10_000)
      .sort((a, b) => Math.abs(a.km - target) - Math.abs(b.km - target))
    const strategy: Strategy = i % 2 === 0 ? 'naive' : 'clever'
    if (candidates.length > 0) {
      peer.spoof = { city: candidates[0].index, km: candidates[0].km, strategy }
    }
  })
}

/** A countersigned receipt of 10 s of work `provider` did for `requester`, ended at `endedMs`. */
async function pastReceipt (provider: PrivateKey, requester: PrivateKey, endedMs: number): Promise<CountersignedRecord<WorkReceipt>> {
  const signed = await signRecord(WorkReceiptType, {
    version: RECORD_VERSION,
    jobId: newRandomId(),
    assignmentId: new Uint8Array(randomBytes(32)),
    requester: peerIdFromPrivateKey(requester).toMultihash().bytes,
    provider: peerIdFromPrivateKey(provider).toMultihash().bytes,
    units: 10,
    price: { perUnit: 1, currency: 'USDC', unit: 'gpu-second' },
    total: 10,
    resultHash: new Uint8Array(randomBytes(32)),
    startedMs: endedMs - 10_000,
    endedMs,
    status: 0,
    prev: new Uint8Array()
  }, provider)
  return countersign(signed, requester)
}

/** Countersigned receipts between peers of different cities, ended hours ago: every non-sybil peer's history. */
async function makeHistory (peers: Peer[], perPeer: number, rng: Rng): Promise<Map<number, Array<CountersignedRecord<WorkReceipt>>>> {
  const held = new Map<number, Array<CountersignedRecord<WorkReceipt>>>(peers.map(p => [p.index, []]))
  const now = Date.now()
  for (const provider of peers) {
    const others = peers.filter(p => p.city !== provider.city)
    for (const requester of rng.sample(others, Math.min(perPeer, others.length))) {
      const both = await pastReceipt(provider.key, requester.key, now - rng.intBetween(2 * HOUR, 48 * HOUR))
      held.get(provider.index)?.push(both)
      held.get(requester.index)?.push(both)
    }
  }
  return held
}

async function createPeerNode (network: SimNetwork, peer: Peer, cell: string, held: Array<CountersignedRecord<WorkReceipt>>): Promise<ProvNode> {
  peer.device = await createDevice(peer.key, { model: 'bench-camera' })
  return createLibp2p({
    privateKey: peer.key,
    addresses: { listen: [`/memory/provenance-${peer.index}${peer.sybil ? 's' : ''}`] },
    transports: [simTransport({ network, site: peer.site })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      ping: ping(),
      receipts: memoryReceipts(held),
      provenance: provenance({ geohash: cell, device: peer.device, witnesses: 3 })
    }
  })
}

/** RTT by ping from `from` to each of `to` (ms, performance.now()), ascending. */
async function nearestByRtt (from: ProvNode, to: Peer[]): Promise<Array<{ peer: Peer, rttMs: number }>> {
  const out: Array<{ peer: Peer, rttMs: number }> = []
  for (const peer of to) {
    try {
      let best = Infinity
      for (let i = 0; i < 3; i++) {
        const start = performance.now()
        await from.services.ping.ping(peer.peerId, { signal: AbortSignal.timeout(10_000) })
        best = Math.min(best, performance.now() - start)
      }
      out.push({ peer, rttMs: best })
    } catch {}
  }
  return out.sort((a, b) => a.rttMs - b.rttMs)
}

/** The statement today's witness (examples/data-bounty) signs: whatever it is shown, with its own cell and RTT. */
async function todaysStatement (witness: Peer, witnessCell: string, attestation: SignedRecord<CaptureAttestation>, rttMs: number): Promise<SignedRecord<WitnessStatement>> {
  const now = Date.now()
  return signRecord(WitnessStatementType, {
    version: RECORD_VERSION,
    witness: witness.peerId.toMultihash().bytes,
    attestationId: attestation.id,
    capturer: attestation.value.capturer,
    rttMs: Math.max(0, Math.round(rttMs)),
    geohash: witnessCell,
    createdMs: now,
    rounds: 1,
    windowStartMs: attestation.value.startedMs,
    windowEndMs: now,
    observedAddr: new Uint8Array()
  }, witness.key)
}

function concat (chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}

/**
 * The baseline: the eight checks of examples/data-bounty's `fetchCapture`,
 * on envelope bytes as that example receives them. Returns the failed
 * check, or undefined when the capture passes. The attestation's device
 * signature is checked over the current device digest (the example signed
 * the content hash; the record format changed since).
 */
export async function baselineCheck (
  attestationBytes: Uint8Array, statementBytes: Uint8Array, footage: Uint8Array,
  bounty: { provider: PeerId, jobId: Uint8Array, region: string, sensor: string, units: number, resultHash: Uint8Array }
): Promise<string | undefined> {
  let attestation: SignedRecord<CaptureAttestation>
  let statement: SignedRecord<WitnessStatement>
  try {
    attestation = await openRecord(CaptureAttestationType, attestationBytes)
    statement = await openRecord(WitnessStatementType, statementBytes)
  } catch (err) {
    return `does not open: ${describeError(err)}`
  }
  const a = attestation.value
  if (!equalBytes(a.capturer, bounty.provider.toMultihash().bytes)) return 'attested by the provider'
  if (!equalBytes(a.jobId, bounty.jobId)) return 'for this bounty'
  if (!equalBytes(sha256(footage), a.contentHash) || !equalBytes(a.contentHash, bounty.resultHash)) return 'footage matches the attested hash'
  let deviceOk = false
  try {
    deviceOk = await publicKeyFromProtobuf(a.deviceKey).verify(deviceDigest(a), a.deviceSignature)
  } catch {}
  if (!deviceOk) return 'signed by the capture device'
  if (!a.sensors.includes(bounty.sensor) || !a.geohash.startsWith(bounty.region)) return 'video, in the region'
  if (bounty.units > Math.floor(a.durationMs / 1000)) return 'units = whole seconds of footage'
  if (!equalBytes(statement.value.attestationId, attestation.id) || statement.signer.equals(attestation.signer) ||
    !equalBytes(statement.value.capturer, a.capturer)) return 'witnessed by another peer'
  if (!statement.value.geohash.startsWith(bounty.region)) return 'witness in the region'
  return undefined
}

function ratio (num: number, den: number): number | null {
  return den === 0 ? null : round(num / den)
}

/** CPU per second of `fn` calls, measured in slices alternating with the others (process CPU time). */
async function cpuRates (fns: Record<string, () => Promise<unknown> | unknown>, totalMs: number): Promise<Record<string, number>> {
  const names = Object.keys(fns)
  const cpu = Object.fromEntries(names.map(n => [n, 0]))
  const calls = Object.fromEntries(names.map(n => [n, 0]))
  const sliceMs = 100
  for (let spent = 0; spent < totalMs;) {
    for (const name of names) {
      const start = process.cpuUsage()
      let used = 0
      while (used < sliceMs * 1000) {
        await fns[name]()
        calls[name]++
        const d = process.cpuUsage(start)
        used = d.user + d.system
      }
      cpu[name] += used
      spent += used / 1000 / names.length
    }
  }
  return Object.fromEntries(names.map(n => [n, calls[n] / (cpu[n] / 1e6)]))
}

export async function run (options: BenchOptions): Promise<BenchResult> {
  const data = requireDataSet(options, FIGURES)
  if ('skipped' in data) {
    return data.skipped
  }
  const set = settingsOf(options)
  const rng = createRng(options.seed)
  const t0 = performance.now()

  progress(`loading ${data.path}`)
  const dataset = await loadLatencyDataset(data.path)
  const { rtt: cityRtt, usable } = cityRtts(dataset)
  const { cities, cityOf } = placePeers(dataset, usable, set.peers, rng.fork('place'))
  progress(`${set.peers} peers in ${cities.length} cities (${usable.length} usable sites in the data set)`)

  // roles
  const keys = await Promise.all(Array.from({ length: set.peers }, async () => generateKeyPair('Ed25519')))
  const peers: Peer[] = keys.map((key, index) => ({
    index, city: cityOf[index], site: `p${index}`, key, peerId: peerIdFromPrivateKey(key), role: 'honest', sybils: [], sybil: false
  }))
  const order = rng.fork('roles').shuffle([...peers])
  const nSpoof = Math.round(set.spoofers * set.peers)
  const nReplay = Math.round(set.replayers * set.peers)
  const nSelf = Math.round(set.selfWitnesses * set.peers)
  order.slice(0, nSpoof).forEach(p => { p.role = 'spoofer' })
  order.slice(nSpoof, nSpoof + nReplay).forEach(p => { p.role = 'replayer' })
  order.slice(nSpoof + nReplay, nSpoof + nReplay + nSelf).forEach(p => { p.role = 'self-witness' })
  const spoofers = peers.filter(p => p.role === 'spoofer')
  chooseSpoofs(spoofers, cities, rng.fork('spoofs'))

  // second identities of the self-witnesses: fresh keys at the capturer's own site
  let nextIndex = set.peers
  for (const p of peers.filter(p => p.role === 'self-witness')) {
    for (let i = 0; i < 2; i++) {
      const key = await generateKeyPair('Ed25519')
      p.sybils.push({ index: nextIndex++, city: p.city, site: p.site, key, peerId: peerIdFromPrivateKey(key), role: 'honest', sybils: [], sybil: true })
    }
  }

  // links: the data set between cities, access legs within one
  const access = peers.map(() => rng.uniform(0.25, 1))
  let fallbackPairs = 0
  const cityPairRtt = (a: number, b: number): number => {
    const sa = cities[a].site
    const sb = cities[b].site
    const measured = cityRtt.get(sa < sb ? `${sa},${sb}` : `${sb},${sa}`)
    if (measured != null) return measured
    fallbackPairs++
    return 2 * kmBetween(cities[a], cities[b]) / 200 * 1.5 + 2
  }
  const siteIndex = (site: string): number => Number(site.slice(1))
  const network = new SimNetwork({
    seed: options.seed,
    linkProfile: (from, to) => {
      if (from === to) return { rttMs: 0.1 }
      const a = siteIndex(from)
      const b = siteIndex(to)
      const ca = peers[a].city
      const cb = peers[b].city
      return { rttMs: ca === cb ? access[a] + access[b] : cityPairRtt(ca, cb) }
    }
  })

  // the requesters are the market's regular clients: each has paid every (non-sybil) peer for earlier work
  const honest = peers.filter(p => p.role === 'honest')
  const requesters = rng.fork('requesters').sample(honest, Math.min(set.requesters, honest.length))
  progress('signing the witnesses\' history')
  const history = await makeHistory(peers, set.history, rng.fork('history'))
  for (const r of requesters) {
    for (const p of peers) {
      if (p !== r) {
        const both = await pastReceipt(p.key, r.key, Date.now() - rng.intBetween(2 * HOUR, 48 * HOUR))
        history.get(p.index)?.push(both)
        history.get(r.index)?.push(both)
      }
    }
  }
  // a second identity makes history up: receipts with throwaway keys of its own, backdated (counted by no verifier that never met them)
  for (const p of peers) {
    for (const sybil of p.sybils) {
      const made: Array<CountersignedRecord<WorkReceipt>> = []
      for (let i = 0; i < set.history; i++) {
        made.push(await pastReceipt(sybil.key, await generateKeyPair('Ed25519'), Date.now() - rng.intBetween(2 * HOUR, 48 * HOUR)))
      }
      history.set(sybil.index, made)
    }
  }

  progress('starting nodes')
  const sybils = peers.flatMap(p => p.sybils)
  await pool([...peers, ...sybils], 8, async (peer) => {
    peer.node = await createPeerNode(network, peer, cities[peer.city].cell, history.get(peer.index) ?? [])
  })

  // wiring: city mates, the peers of the nearest other city, a sybil to its owner, a clever spoofer to the claimed city
  const byCity = cities.map((_, c) => peers.filter(p => p.city === c))
  const nearestCity = cities.map((_, c) => cities.map((_, d) => d).filter(d => d !== c).sort((x, y) => cityPairRtt(c, x) - cityPairRtt(c, y))[0])
  const dials: Array<[Peer, Peer]> = []
  for (const p of peers) {
    for (const q of byCity[p.city]) if (q.index > p.index) dials.push([p, q])
    if (nearestCity[p.city] != null) for (const q of byCity[nearestCity[p.city]]) dials.push([p, q])
    for (const s of p.sybils) dials.push([p, s])
    if (p.spoof?.strategy === 'clever') for (const q of byCity[p.spoof.city]) dials.push([p, q])
  }
  let dialFailures = 0
  await pool(dials, 8, async ([a, b]) => {
    try {
      await a.node!.dial(b.node!.getMultiaddrs(), { signal: AbortSignal.timeout(20_000) })
    } catch (err) {
      dialFailures++
      progress(`dial ${a.index} -> ${b.index} failed: ${describeError(err)}`)
    }
  })
  // RTTs to witness candidates, measured before the captures (a burst of 60 capturers pinging at once measures the CPU, not the links)
  const candidatesOf = (p: Peer): Peer[] => {
    if (p.spoof?.strategy === 'clever') return byCity[p.spoof.city]
    return [...byCity[p.city], ...(nearestCity[p.city] != null ? byCity[nearestCity[p.city]] : [])].filter(q => q !== p)
  }
  const measured = new Map<number, Array<{ peer: Peer, rttMs: number }>>()
  await pool(peers, 4, async p => { measured.set(p.index, await nearestByRtt(p.node!, candidatesOf(p))) })

  // why witnesses refused, by the capturer's role (the witness's own events)
  const roleOf = new Map(peers.map(p => [p.peerId.toString(), p.role]))
  const witnessRefusals: Record<string, number> = {}
  for (const p of [...peers, ...sybils]) {
    p.node!.services.provenance.addEventListener('witness:refused', (evt) => {
      const key = `${roleOf.get(evt.detail.peer.toString()) ?? 'unknown'}: ${evt.detail.code}`
      witnessRefusals[key] = (witnessRefusals[key] ?? 0) + 1
    })
  }
  const setupS = (performance.now() - t0) / 1000
  progress(`${peers.length + sybils.length} nodes, ${dials.length} connections in ${setupS.toFixed(1)} s`)

  // the captures
  let turn = 0
  const nextRequester = (capturer: Peer): Peer => {
    for (let i = 0; i < requesters.length; i++) {
      const r = requesters[turn++ % requesters.length]
      if (r !== capturer) return r
    }
    return requesters[0]
  }
  const crng = rng.fork('captures')

  const submissions: Submission[] = []
  const newSubmission = (capturer: Peer, kind: Submission['kind'], requester: Peer, seed: number): Submission => {
    const claimedCell = capturer.spoof == null ? cities[capturer.city].cell : cities[capturer.spoof.city].cell
    return {
      capturer,
      kind,
      requester,
      jobId: newRandomId(),
      assignmentId: new Uint8Array(randomBytes(32)),
      assignedMs: 0,
      resultMs: 0,
      region: claimedCell.slice(0, set.regionChars),
      claimedCell,
      seconds: crng.intBetween(3, 10),
      k: crng.intBetween(2, 3),
      seed,
      witnessesAsked: [],
      paid: 0,
      baselinePaid: 0
    }
  }
  for (const p of peers) {
    const kind: Submission['kind'] = p.role === 'spoofer' ? 'spoof' : p.role === 'replayer' ? 'replay-original' : p.role === 'self-witness' ? 'self-witness' : 'honest'
    if (p.role === 'spoofer' && p.spoof == null) continue
    submissions.push(newSubmission(p, kind, nextRequester(p), crng.int(2 ** 31)))
  }

  const lag = monitorEventLoopDelay({ resolution: 1 })
  lag.enable()

  const runOne = async (s: Submission): Promise<void> => {
    const p = s.capturer
    const node = p.node!
    // who to ask
    if (s.kind === 'self-witness') {
      s.witnessesAsked = [...p.sybils]
      if (p.index % 2 === 0) {
        const mate = byCity[p.city].find(q => q !== p)
        if (mate != null) s.witnessesAsked.push(mate)
      }
    } else if (s.kind === 'spoof' && p.spoof?.strategy === 'clever') {
      s.witnessesAsked = (measured.get(p.index) ?? []).slice(0, 3).map(x => x.peer)
    } else {
      s.witnessesAsked = (measured.get(p.index) ?? []).slice(0, s.k).map(x => x.peer)
    }

    s.assignedMs = Date.now()
    const source = syntheticSource({ realTime: false, seed: s.seed, bytesPerSecond: set.bytesPerSecond, mediaType: MEDIA_TYPE, sensors: SENSORS })
    try {
      s.capture = await node.services.provenance.capture(source, {
        durationMs: s.seconds * 1000,
        geohash: s.claimedCell,
        jobId: s.jobId,
        assignmentId: s.assignmentId,
        witnesses: s.witnessesAsked.map(w => w.peerId),
        k: s.witnessesAsked.length,
        signal: AbortSignal.timeout(60_000)
      })
      s.attestation = s.capture.attestation
      s.chunks = s.capture.chunks
    } catch (err) {
      s.captureError = describeError(err)
    }
    s.resultMs = Date.now()

    if (s.capture != null) {
      try {
        s.verdict = await s.requester.node!.services.provenance.verify(s.capture.proof, {
          fetchFootage: false,
          remember: true,
          capturer: p.peerId,
          jobId: s.jobId,
          assignmentId: s.assignmentId,
          assignedMs: s.assignedMs,
          resultMs: s.resultMs,
          region: s.region,
          sensors: SENSORS
        })
        s.paid = s.verdict.verifiedSeconds
      } catch (err) {
        s.captureError = `verify threw: ${describeError(err)}`
      }
    }

    // the baseline on the same capture: the attestation (signed by the bench with the capturer's keys when the capture failed)
    try {
      if (s.attestation == null) {
        const chunks: Uint8Array[] = []
        for await (const c of source.record(s.seconds * 1000, {})) chunks.push(c)
        s.chunks = chunks
        s.attestation = await attestCapture({
          chunks, mediaType: MEDIA_TYPE, startedMs: s.assignedMs, durationMs: s.seconds * 1000, geohash: s.claimedCell, sensors: SENSORS, jobId: s.jobId, assignmentId: s.assignmentId
        }, p.key, p.device!)
      }
      const w = s.witnessesAsked[0]
      const witnessRtt = p.city === w.city ? (w.sybil ? 0.1 : access[p.index] + access[w.index]) : cityPairRtt(p.city, w.city)
      s.baselineStatement = await todaysStatement(w, cities[w.city].cell, s.attestation, witnessRtt)
      const footage = concat(s.chunks ?? [])
      s.baselineFailed = await baselineCheck(s.attestation.bytes, s.baselineStatement.bytes, footage, {
        provider: p.peerId, jobId: s.jobId, region: s.region, sensor: 'video', units: s.seconds, resultHash: s.attestation.value.contentHash
      })
      s.baselinePaid = s.baselineFailed == null ? s.seconds : 0
    } catch (err) {
      s.baselineFailed = `baseline threw: ${describeError(err)}`
    }
  }

  const captureStart = performance.now()
  progress(`${submissions.length} captures, ${set.concurrency} at once`)
  let done = 0
  await pool(submissions, set.concurrency, async (s) => {
    await runOne(s)
    if (++done % 20 === 0) progress(`${done}/${submissions.length} captures`)
  })
  // the replays: the same footage, a new bounty of the same requester
  const replays = submissions.filter(s => s.kind === 'replay-original').map(s => {
    const r = newSubmission(s.capturer, 'replay', s.requester, s.seed)
    r.seconds = s.seconds
    return r
  })
  await pool(replays, set.concurrency, runOne)
  submissions.push(...replays)
  const captureS = (performance.now() - captureStart) / 1000
  lag.disable()
  progress(`captures done in ${captureS.toFixed(1)} s`)

  // CPU: the run's real proofs, the baseline on the same captures, raw Ed25519
  const verifiable = submissions.filter(s => s.capture != null)
  const baselineable = submissions.filter(s => s.attestation != null && s.baselineStatement != null)
  let rates: Record<string, number> = {}
  if (verifiable.length > 0 && baselineable.length > 0) {
    progress('measuring verify CPU')
    const raw = generateKeyPairSync('ed25519')
    const rawPriv = createPrivateKey(raw.privateKey.export({ format: 'pem', type: 'pkcs8' }))
    const rawPub = createPublicKey(raw.publicKey.export({ format: 'pem', type: 'spki' }))
    const message = new Uint8Array(356).fill(42)
    const rawSig = rawSign(null, message, rawPriv)
    let vi = 0
    let bi = 0
    rates = await cpuRates({
      verify: async () => {
        const s = verifiable[vi++ % verifiable.length]
        const context: VerifyContext = {
          capturer: s.capturer.peerId, jobId: s.jobId, assignmentId: s.assignmentId, assignedMs: s.assignedMs, resultMs: s.resultMs, region: s.region, sensors: SENSORS
        }
        return verifyCaptureProof(s.capture!.proof, undefined, context)
      },
      baseline: async () => {
        const s = baselineable[bi++ % baselineable.length]
        return baselineCheck(s.attestation!.bytes, s.baselineStatement!.bytes, concat(s.chunks ?? []), {
          provider: s.capturer.peerId, jobId: s.jobId, region: s.region, sensor: 'video', units: s.seconds, resultHash: s.attestation!.value.contentHash
        })
      },
      raw: () => rawVerify(null, message, rawPub, rawSig)
    }, set.cpuMs)
  }

  await pool([...peers, ...sybils], 16, async p => { await p.node?.stop() })
  network.close()

  return {
    latency_source: latencySource(data.path),
    ...figures(submissions, cities, rates, access, cityPairRtt),
    peers: set.peers,
    second_identities: sybils.length,
    cities: cities.length,
    requesters: requesters.length,
    connections: dials.length,
    dial_failures: dialFailures,
    city_pairs_without_measurement: fallbackPairs,
    witness_refusals: witnessRefusals,
    honest_witnesses_asked: tally(submissions.filter(s => s.kind === 'honest').flatMap(s => s.witnessesAsked.map(w => w.city === s.capturer.city ? 'same city' : `${Math.round(kmBetween(cities[w.city], cities[s.capturer.city]))} km`))),
    setup_s: round(setupS, 1),
    capture_s: round(captureS, 1),
    loop_delay_p50_ms: round(lag.percentile(50) / 1e6, 1),
    loop_delay_p99_ms: round(lag.percentile(99) / 1e6, 1),
    settings: set,
    goals: GOALS,
    notes: 'paid seconds = the requester\'s verdict.verifiedSeconds (baseline: the claimed seconds when all eight checks of examples/data-bounty pass); ' +
      'a capture that failed (witnesses refused) pays 0 and the baseline reads an attestation the bench signed with the capturer\'s keys; ' +
      'replays go to the requester of the original (a requester knows only its own history); no footage fetch (no Helia in the bench): ' +
      'content checks are the baseline\'s only; the baseline\'s witness statement is the one today\'s witness would sign (anything, with its own cell and RTT) by the first witness asked; ' +
      'spoof distances are great-circle km between the true and the claimed city; verify_per_s: verifyCaptureProof without footage per CPU second, alternating with the baseline and raw Ed25519 verify (356-byte message)'
  }
}

function figures (submissions: Submission[], cities: City[], rates: Record<string, number>, access: number[], cityPairRtt: (a: number, b: number) => number): BenchResult {
  const of = (kind: Submission['kind']): Submission[] => submissions.filter(s => s.kind === kind)
  const spoofs = of('spoof').filter(s => (s.capturer.spoof?.km ?? 0) >= 500)
  const caught = (s: Submission): boolean => s.paid === 0
  const baseCaught = (s: Submission): boolean => s.baselinePaid === 0
  const byBand: Record<string, unknown> = {}
  const baseByBand: Record<string, unknown> = {}
  for (const [lo, hi] of BANDS) {
    const inBand = spoofs.filter(s => bandOf(s.capturer.spoof!.km) === `${lo}-${hi}`)
    byBand[`${lo}-${hi}`] = { n: inBand.length, caught: ratio(inBand.filter(caught).length, inBand.length) }
    baseByBand[`${lo}-${hi}`] = { n: inBand.length, caught: ratio(inBand.filter(baseCaught).length, inBand.length) }
  }
  const byStrategy: Record<string, unknown> = {}
  const baseByStrategy: Record<string, unknown> = {}
  for (const strategy of ['naive', 'clever']) {
    const these = spoofs.filter(s => s.capturer.spoof?.strategy === strategy)
    byStrategy[strategy] = { n: these.length, caught: ratio(these.filter(caught).length, these.length) }
    baseByStrategy[strategy] = { n: these.length, caught: ratio(these.filter(baseCaught).length, these.length) }
  }
  const honest = of('honest')
  const replays = of('replay')
  const selfs = of('self-witness')
  const liars = [...of('spoof'), ...replays, ...selfs]
  const falseReject = (s: Submission): boolean => s.paid < s.seconds
  const baseFalseReject = (s: Submission): boolean => s.baselinePaid < s.seconds

  // refusal codes per kind (first fatal reason, or the capture error)
  const codes: Record<string, Record<string, number>> = {}
  for (const s of submissions) {
    const k = codes[s.kind] ?? (codes[s.kind] = {})
    const code = s.captureError != null
      ? `capture-failed: ${s.captureError.slice(0, 80)}`
      : s.verdict == null ? 'no-verdict' : s.verdict.reasons[0]?.code ?? 'none'
    k[code] = (k[code] ?? 0) + 1
  }
  const witnessCodes: Record<string, number> = {}
  const honestWitnessRtts: number[] = []
  for (const s of submissions) {
    for (const w of s.verdict?.witnesses ?? []) {
      witnessCodes[`${s.kind}: ${w.code ?? 'accepted'}`] = (witnessCodes[`${s.kind}: ${w.code ?? 'accepted'}`] ?? 0) + 1
      if (s.kind === 'honest' && w.rttMs != null) honestWitnessRtts.push(w.rttMs)
    }
  }

  const verifyPerS = rates.verify ?? NaN
  const rawPerS = rates.raw ?? NaN
  const baselinePerS = rates.baseline ?? NaN

  return {
    spoof_caught_ratio: ratio(spoofs.filter(caught).length, spoofs.length),
    spoof_caught_by_band: byBand,
    spoof_caught_by_strategy: byStrategy,
    honest_false_reject_ratio: ratio(honest.filter(falseReject).length, honest.length),
    replay_caught_ratio: ratio(replays.filter(caught).length, replays.length),
    self_witness_caught_ratio: ratio(selfs.filter(caught).length, selfs.length),
    paid_seconds_to_liars: liars.reduce((n, s) => n + s.paid, 0),
    paid_seconds_honest: honest.reduce((n, s) => n + s.paid, 0),
    recorded_seconds_honest: honest.reduce((n, s) => n + s.seconds, 0),
    replay_originals_paid_ratio: ratio(of('replay-original').filter(s => !falseReject(s)).length, of('replay-original').length),
    verify_per_s: round(verifyPerS, 0),
    raw_sig_verify_per_s: round(rawPerS, 0),
    verify_vs_raw_sig_ratio: round(verifyPerS / rawPerS),
    verify_cost_in_sig_verifies: round(rawPerS / verifyPerS, 2),
    baseline: {
      what: 'the eight checks of examples/data-bounty fetchCapture on the same captures',
      spoof_caught_ratio: ratio(spoofs.filter(baseCaught).length, spoofs.length),
      spoof_caught_by_band: baseByBand,
      spoof_caught_by_strategy: baseByStrategy,
      honest_false_reject_ratio: ratio(honest.filter(baseFalseReject).length, honest.length),
      replay_caught_ratio: ratio(replays.filter(baseCaught).length, replays.length),
      self_witness_caught_ratio: ratio(selfs.filter(baseCaught).length, selfs.length),
      paid_seconds_to_liars: liars.reduce((n, s) => n + s.baselinePaid, 0),
      verify_per_s: round(baselinePerS, 0),
      failed_checks: Object.fromEntries(['honest', 'spoof', 'replay', 'self-witness'].map(kind => [kind, tally(of(kind as Submission['kind']).map(s => s.baselineFailed ?? 'passed'))]))
    },
    ratio_verify_per_s_vs_baseline: round(verifyPerS / baselinePerS),
    captures: Object.fromEntries(['honest', 'spoof', 'replay-original', 'replay', 'self-witness'].map(k => [k, of(k as Submission['kind']).length])),
    refusals: codes,
    witness_verdicts: witnessCodes,
    honest_witness_rtt_ms: { p50: round(quantile(honestWitnessRtts, 0.5), 1), p90: round(quantile(honestWitnessRtts, 0.9), 1), max: honestWitnessRtts.length === 0 ? null : Math.max(...honestWitnessRtts) },
    spoofs: of('spoof').map(s => {
      const sp = s.capturer.spoof!
      return {
        from: cities[s.capturer.city].name,
        claimed: cities[sp.city].name,
        km: Math.round(sp.km),
        rtt_ms: round(cityPairRtt(s.capturer.city, sp.city), 1),
        fibre_floor_ms: round(2 * sp.km / 200, 1),
        strategy: sp.strategy,
        paid: s.paid,
        baseline_paid: s.baselinePaid,
        reason: s.captureError ?? s.verdict?.reasons[0]?.code
      }
    }),
    mean_access_leg_ms: round(access.reduce((a, b) => a + b, 0) / access.length, 2)
  }
}

function tally (values: string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const v of values) out[v] = (out[v] ?? 0) + 1
  return out
}
