import type { ShoalNode } from './node.js'
import type { CounterGroup } from '@libp2p/interface'

/** Counters the node keeps on top of what libp2p and the Shoal services register themselves. */
export interface ShoalNodeMetrics {
  /** receipts stored, by `state` (countersigned, pending), equivocations seen, and pending receipts removed uncountersigned (`expired`: unpaid work) */
  receipts?: CounterGroup<'countersigned' | 'pending' | 'equivocation' | 'expired'>
  /** jobs seen by this node, by event */
  jobs?: CounterGroup
  /** routing choices made by this node, by outcome */
  routing?: CounterGroup
}

/**
 * Register the node-level Shoal metrics in the node's metrics (no-op when
 * metrics are off): receipt counters fed by the receipt store's events, and
 * gauges computed at scrape time (peers, receipt log length, topics).
 */
export function registerShoalMetrics (node: ShoalNode): ShoalNodeMetrics {
  const metrics = node.metrics
  if (metrics == null) return {}
  const receipts = metrics.registerCounterGroup('shoal_node_receipts_total', {
    label: 'state',
    help: 'Work receipts stored by this node, by state, equivocations detected, and pending receipts removed uncountersigned'
  }) as CounterGroup<'countersigned' | 'pending' | 'equivocation' | 'expired'>
  const store = node.services.receipts
  store.addEventListener('receipt:added', () => { receipts.increment({ countersigned: true }) })
  store.addEventListener('receipt:pending', () => { receipts.increment({ pending: true }) })
  store.addEventListener('receipt:equivocation', () => { receipts.increment({ equivocation: true }) })
  // work done that no requester acknowledged, now out of the store: the operator should see it
  store.addEventListener('receipt:expired', () => { receipts.increment({ expired: true }) })

  metrics.registerMetric('shoal_node_receipt_log_length', {
    help: 'Entries in the hash-linked receipt log',
    calculate: () => store.head().length
  })
  metrics.registerMetric('shoal_node_peers', {
    help: 'Connected peers',
    calculate: () => node.getPeers().length
  })
  metrics.registerMetric('shoal_node_topics', {
    help: 'Gossipsub topics this node subscribes to',
    calculate: () => node.services.pubsub.getTopics().length
  })
  const jobs = metrics.registerCounterGroup('shoal_node_jobs_total', {
    label: 'event',
    help: 'Jobs submitted, served, completed and failed by this node'
  })
  const routing = metrics.registerCounterGroup('shoal_node_routing_choices_total', {
    label: 'outcome',
    help: 'Routing decisions made for submitted jobs, by outcome'
  })
  return { receipts, jobs, routing }
}
