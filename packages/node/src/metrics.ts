import { Counter } from 'prom-client'
import { metricsRegistry } from './node.js'
import type { ShoalNode } from './node.js'
import type { ReachabilityStatus } from './reachability.js'
import type { CounterGroup, HistogramGroup } from '@libp2p/interface'

/** Which side of a job this node was on. */
export type JobRole = 'requester' | 'provider'

/** How a job ended: `completed` (a receipt with exit status 0), `timeout` (the run or the job timed out), `aborted` (cancelled), `failed` (a non-zero exit status, or no receipt at all). */
export type JobOutcome = 'completed' | 'failed' | 'timeout' | 'aborted'

/** Counters the node keeps on top of what libp2p and the Shoal services register themselves. */
export interface ShoalNodeMetrics {
  /** receipts stored, by `state` (countersigned, pending), equivocations seen, and pending receipts removed uncountersigned (`expired`: unpaid work) */
  receipts?: CounterGroup<'countersigned' | 'pending' | 'equivocation' | 'expired'>
  /** jobs that ended, by `role` and `outcome` */
  jobs?: Counter<'role' | 'outcome'>
  /** seconds from start to end of a job, by `role` */
  jobDuration?: HistogramGroup<JobRole>
  /** routing choices made by this node, by outcome */
  routing?: CounterGroup
  /** vouchers by `direction`: `sent` (as requester) or `accepted` (as provider) */
  vouchers?: CounterGroup<'sent' | 'accepted'>
  /** amounts the vouchers moved, by `direction` and `currency` */
  payments?: Counter<'direction' | 'currency'>
  /** messages and requests refused, by `source` (`job-board`, `work`) and `reason` */
  refused?: Counter<'source' | 'reason'>
}

/** Options of `registerShoalMetrics()`. */
export interface ShoalMetricsInit {
  /** jobs this node submitted that are still running (the requester side of `shoal_node_jobs_running`) */
  requesting?(): number
}

/** Every reachability status, each a label of `shoal_node_reachability`. */
const REACHABILITY: ReadonlyArray<ReachabilityStatus['status']> = ['public', 'relayed', 'private', 'unknown']

/** Upper bounds (seconds) of the job latency histogram: from an echo to a long batch job. */
export const JOB_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]

/**
 * Register the node-level Shoal metrics in the node's metrics (no-op when
 * metrics are off): counters fed by the services' events and the node's
 * job flows (see `observeNode()`), and gauges computed at scrape time.
 * Metrics with two labels are prom-client metrics in the node's registry:
 * libp2p's `Metrics` interface gives a group one label.
 */
export function registerShoalMetrics (node: ShoalNode, init: ShoalMetricsInit = {}): ShoalNodeMetrics {
  const metrics = node.metrics
  const registry = metricsRegistry(node)
  if (metrics == null || registry == null) return {}
  const receipts = metrics.registerCounterGroup('shoal_node_receipts_total', {
    label: 'state',
    help: 'Work receipts stored by this node, by state, equivocations detected, and pending receipts removed uncountersigned'
  }) as CounterGroup<'countersigned' | 'pending' | 'equivocation' | 'expired'>

  const store = node.services.receipts
  metrics.registerMetric('shoal_node_receipt_log_length', {
    help: 'Entries in the hash-linked receipt log',
    calculate: () => store.head().length
  })
  metrics.registerMetric('shoal_node_peers', {
    help: 'Connected peers',
    calculate: () => node.getPeers().length
  })
  const reach = node.services.reachability
  metrics.registerCounterGroup('shoal_node_connections_opened_total', {
    label: 'kind',
    help: 'Connections opened since start, by kind: direct, or relayed (through a circuit relay, with its limits)',
    calculate: () => reach.connectionsOpened
  })
  metrics.registerCounter('shoal_node_direct_upgrades_total', {
    help: 'Peers that had a relayed connection and then got a direct one (DCUtR hole punching), since start',
    calculate: () => reach.directUpgrades
  })
  metrics.registerMetricGroup('shoal_node_reachability', {
    label: 'status',
    help: 'Whether others can reach this node: 1 for its status now (public, relayed, private, unknown), 0 for the others',
    calculate: () => {
      const now = reach.status().status
      return Object.fromEntries(REACHABILITY.map(s => [s, s === now ? 1 : 0]))
    }
  })
  metrics.registerMetric('shoal_node_relay_reservations', {
    help: 'Circuit relays holding a reservation for this node (each gives it a /p2p-circuit address)',
    calculate: () => reach.status().relays.length
  })
  metrics.registerMetric('shoal_node_topics', {
    help: 'Gossipsub topics this node subscribes to',
    calculate: () => node.services.pubsub.getTopics().length
  })
  const jobs = new Counter({
    name: 'shoal_node_jobs_total',
    help: 'Jobs that ended on this node, by role (requester: submitted here; provider: run here) and outcome',
    labelNames: ['role', 'outcome'] as const,
    registers: [registry]
  })
  const jobDuration = metrics.registerHistogramGroup('shoal_node_job_duration_seconds', {
    label: 'role',
    help: 'Time from start to end of the jobs that ended on this node, by role (requester: submission to receipt; provider: run)',
    buckets: JOB_DURATION_BUCKETS
  }) as HistogramGroup<JobRole>
  metrics.registerMetricGroup('shoal_node_jobs_running', {
    label: 'role',
    help: 'Jobs in flight now, by role (a provider\'s jobs past its concurrency wait in its queue: shoal_node_jobs_queued)',
    calculate: () => ({ requester: init.requesting?.() ?? 0, provider: node.services.work.load.running })
  })
  metrics.registerMetric('shoal_node_jobs_queued', {
    help: 'Jobs this provider admitted that wait for a free slot',
    calculate: () => node.services.work.load.queued
  })
  metrics.registerMetric('shoal_node_job_slots_free', {
    help: 'Jobs this provider would still take now (its concurrency minus the running jobs)',
    calculate: () => {
      const { running, concurrency } = node.services.work.load
      return Math.max(0, concurrency - running)
    }
  })
  const routing = metrics.registerCounterGroup('shoal_node_routing_choices_total', {
    label: 'outcome',
    help: 'Routing decisions made for submitted jobs, by outcome'
  })
  const vouchers = metrics.registerCounterGroup('shoal_node_vouchers_total', {
    label: 'direction',
    help: 'Payment vouchers sent (as requester) and accepted (as provider)'
  }) as CounterGroup<'sent' | 'accepted'>
  const payments = new Counter({
    name: 'shoal_node_payments_total',
    help: 'Amounts paid by vouchers, by direction (sent, accepted) and currency, in the smallest unit of the currency',
    labelNames: ['direction', 'currency'] as const,
    registers: [registry]
  })
  const refused = new Counter({
    name: 'shoal_node_refused_total',
    help: 'Messages and requests this node refused, by source (job-board: rejected gossip or sync; work: refused quote requests, assignments, vouchers) and reason',
    labelNames: ['source', 'reason'] as const,
    registers: [registry]
  })
  return { receipts, jobs, jobDuration, routing, vouchers, payments, refused }
}
