import { peerIdFromBytes } from '@shoal/records'
import { toHex } from '@shoal/utils'
import { STATUS_RECENT_RECEIPTS } from './constants.js'
import { nodeConfig } from './node.js'
import type { ShoalNode } from './node.js'
import type { ReachabilityStatus } from './reachability.js'
import type { EvidenceService, StoredReceipt } from '@shoal/receipts'

/** One connected peer, as `/status` and `/peers` show it. */
export interface PeerStatus {
  peerId: string
  /** remote addresses of the open connections */
  addrs: string[]
  /** `inbound` or `outbound` (of the first connection) */
  direction: string
  /** last measured round trip, ms, when known */
  rttMs?: number
  /** protocols the peer speaks (from identify) */
  protocols: string[]
}

/** A receipt in JSON: ids in hex, peers as strings. */
export interface ReceiptJson {
  id: string
  state: string
  jobId: string
  provider: string
  requester: string
  units: number
  total: number
  perUnit?: number
  currency?: string
  unit?: string
  startedMs: number
  endedMs: number
  seq?: number
  addedAt: number
  /** the stored bytes, base64 (only in `export`) */
  bytes?: string
}

/** What `/status` returns. */
export interface NodeStatus {
  peerId: string
  role: string
  version: string
  status: string
  startedAt: number
  uptimeMs: number
  addrs: string[]
  peers: PeerStatus[]
  topics: string[]
  dhtMode: string
  /** whether others can reach this node: public, through relays, or not at all */
  reachability: ReachabilityStatus
  /** what this node offers (provider roles) */
  capabilities: unknown[]
  /** jobs in flight on this node */
  jobs: unknown[]
  receipts: { count: number, recent: ReceiptJson[] }
  /** peers this node holds valid evidence of cheating against (it never chooses, asks or serves them) */
  offenders: OffenderJson[]
  /** which Shoal services this node runs */
  services: Record<string, boolean>
}

/** A proven offender as `shoal status` shows it: the first evidence held against it. */
export interface OffenderJson {
  peerId: string
  /** `equivocation` or `wrong-result` */
  kind: string
  /** who signed the evidence */
  reporter: string
  /** the evidence record's id, hex */
  evidence: string
  jobId: string
}

/** The offenders a node's evidence service holds (none without one). */
export function offendersOf (node: ShoalNode): OffenderJson[] {
  const evidence = (node.services as { evidence?: Pick<EvidenceService, 'offenders'> }).evidence
  return (evidence?.offenders() ?? []).map(e => ({ peerId: e.offender.toString(), kind: e.kind, reporter: e.reporter.toString(), evidence: toHex(e.id), jobId: toHex(e.jobId) }))
}

/** Lowercase hex of some bytes. */
export { toHex }

function peerString (bytes: Uint8Array): string {
  try {
    return peerIdFromBytes(bytes).toString()
  } catch {
    return toHex(bytes)
  }
}

/** A stored receipt as JSON. */
export function receiptToJson (receipt: StoredReceipt, withBytes = false): ReceiptJson {
  const v = receipt.value
  const json: ReceiptJson = {
    id: toHex(receipt.id),
    state: receipt.state,
    jobId: toHex(v.jobId),
    provider: receipt.provider?.toString() ?? peerString(v.provider),
    requester: receipt.requester?.toString() ?? peerString(v.requester),
    units: v.units,
    total: v.total,
    perUnit: v.price?.perUnit,
    currency: v.price?.currency,
    unit: v.price?.unit,
    startedMs: v.startedMs,
    endedMs: v.endedMs,
    seq: receipt.seq,
    addedAt: receipt.addedAt
  }
  if (withBytes) json.bytes = Buffer.from(receipt.bytes).toString('base64')
  return json
}

/** Connected peers with their addresses and last RTT. */
export async function peerStatus (node: ShoalNode): Promise<PeerStatus[]> {
  const byPeer = new Map<string, PeerStatus>()
  for (const conn of node.getConnections()) {
    const key = conn.remotePeer.toString()
    let entry = byPeer.get(key)
    if (entry === undefined) {
      let protocols: string[] = []
      try {
        protocols = (await node.peerStore.get(conn.remotePeer)).protocols
      } catch {}
      entry = { peerId: key, addrs: [], direction: conn.direction, protocols }
      byPeer.set(key, entry)
    }
    entry.addrs.push(conn.remoteAddr.toString())
    if (conn.rtt != null) entry.rttMs = conn.rtt
  }
  return [...byPeer.values()].sort((a, b) => a.peerId.localeCompare(b.peerId))
}

/** The most recent countersigned receipts, newest first. */
export async function recentReceipts (node: ShoalNode, limit: number): Promise<{ count: number, recent: ReceiptJson[] }> {
  const store = node.services.receipts
  const count = store.head().length
  const recent: ReceiptJson[] = []
  for await (const r of store.list({ fromSeq: Math.max(0, count - limit) })) {
    recent.push(receiptToJson(r))
  }
  return { count, recent: recent.reverse() }
}

/** Everything `shoal status` shows. */
export async function nodeStatus (node: ShoalNode, info: { startedAt: number, version: string, extra?: () => Promise<Partial<NodeStatus>> }): Promise<NodeStatus> {
  const config = nodeConfig(node)
  const services = node.services as Record<string, unknown>
  const extra = info.extra != null ? await info.extra() : {}
  return {
    peerId: node.peerId.toString(),
    role: config?.role ?? 'unknown',
    version: info.version,
    status: node.status,
    startedAt: info.startedAt,
    uptimeMs: Date.now() - info.startedAt,
    addrs: node.getMultiaddrs().map(String),
    peers: await peerStatus(node),
    topics: node.services.pubsub.getTopics(),
    dhtMode: node.services.dht.getMode(),
    reachability: node.services.reachability.status(),
    capabilities: [],
    jobs: [],
    receipts: await recentReceipts(node, STATUS_RECENT_RECEIPTS),
    offenders: offendersOf(node),
    services: {
      receipts: services.receipts != null,
      router: services.router != null,
      jobBoard: services.jobs != null,
      discovery: services.discovery != null,
      work: services.work != null,
      evidence: services.evidence != null
    },
    ...extra
  }
}
