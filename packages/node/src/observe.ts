/**
 * What the node tells its operator: the services' public events, and the
 * jobs this node submits, as one log line each and as the `shoal_node_*`
 * metrics. Both come from here, so a log line and its counter never
 * disagree.
 */

import { BoundedMap, toHex } from '@shoal/utils'
import { TIMEOUT_STATUS } from '@shoal/work'
import type { LogFields, NodeLogger } from './log.js'
import type { JobOutcome, JobRole, ShoalNodeMetrics } from './metrics.js'
import type { ShoalNode } from './node.js'
import type { ProviderHandle } from './flows/start-provider.js'
import type { StoredReceipt } from '@shoal/receipts'
import type { PayeeLane } from '@shoal/work'

/** A job that ended on this node. */
export interface EndedJob {
  role: JobRole
  /** hex */
  jobId: string
  /** the other party: the requester (provider side) or the provider that ran it (requester side) */
  peer?: string
  /** when the job started and ended, ms */
  startedAt: number
  endedAt: number
  outcome: JobOutcome
  error?: Error
  /** the receipt's exit status, when the job ended with one (0: the work succeeded) */
  status?: number
  units?: number
  total?: number
  currency?: string
}

/** The outcome a job's error stands for. */
export function jobOutcome (error?: Error): JobOutcome {
  if (error == null) return 'completed'
  if (error.name === 'TimeoutError') return 'timeout'
  if (error.name === 'AbortError') return 'aborted'
  return 'failed'
}

/** The outcome a receipt's exit status stands for: the run was paid for either way, but only 0 is work done. */
export function receiptOutcome (status: number): JobOutcome {
  if (status === 0) return 'completed'
  return status === TIMEOUT_STATUS ? 'timeout' : 'failed'
}

/** A provider-side job between `job:started` and its end. */
interface StartedJob {
  jobId: string
  peer: string
  startedAt: number
}

/** Lanes remembered for the amount of the next voucher on them. */
const MAX_TRACKED_LANES = 4096

/**
 * Distinct currencies given their own metric label; later ones count as
 * `other`. A payer names a voucher's currency, so without a bound any peer
 * could add a time series per string it sends.
 */
export const MAX_CURRENCY_LABELS = 16

/** Logs and counts what happens on a node; `observeNode()` feeds it the services' events. */
export class NodeObserver {
  private readonly log: NodeLogger
  private readonly metrics: ShoalNodeMetrics
  /** each payer lane's total as of its last voucher, for the amount the next one pays */
  private readonly lanes = new BoundedMap<string, number>(MAX_TRACKED_LANES)
  /** the currencies that have a label of their own */
  private readonly currencies = new Set<string>()

  constructor (log: NodeLogger, metrics: ShoalNodeMetrics) {
    this.log = log
    this.metrics = metrics
  }

  /** A job ended: `job:served` (provider) or `job:requested` (requester). */
  jobEnded (job: EndedJob): void {
    const durationMs = Math.max(0, job.endedAt - job.startedAt)
    this.metrics.jobs?.inc({ role: job.role, outcome: job.outcome })
    this.metrics.jobDuration?.observe({ [job.role]: durationMs / 1000 })
    const fields: LogFields = {
      jobId: job.jobId,
      [job.role === 'provider' ? 'requester' : 'provider']: job.peer,
      durationMs,
      outcome: job.outcome,
      status: job.status,
      units: job.units,
      total: job.total,
      currency: job.currency,
      error: job.error != null ? `${job.error.name}: ${job.error.message}` : undefined
    }
    const event = job.role === 'provider' ? 'job:served' : 'job:requested'
    if (job.outcome === 'completed') this.log.info(event, fields)
    else this.log.warn(event, fields)
  }

  /** This node (as requester) paid a provider with a voucher. */
  voucherSent (payment: { peer: string, jobId: string, amount: number, currency: string, laneTotal: number }): void {
    this.metrics.vouchers?.increment({ sent: true })
    this.metrics.payments?.inc({ direction: 'sent', currency: this.currencyLabel(payment.currency) }, payment.amount)
    this.log.info('voucher:sent', { payee: payment.peer, jobId: payment.jobId, amount: payment.amount, currency: payment.currency, laneTotal: payment.laneTotal })
  }

  /** The metric label of `currency`: itself while fewer than MAX_CURRENCY_LABELS have one, else `other`. */
  private currencyLabel (currency: string): string {
    if (this.currencies.has(currency)) return currency
    if (this.currencies.size >= MAX_CURRENCY_LABELS) return 'other'
    this.currencies.add(currency)
    return currency
  }

  /** This node (as provider) accepted a voucher moving a payer's lane forward. */
  voucherAccepted (lane: PayeeLane): void {
    const key = `${lane.payer}/${toHex(lane.lane)}`
    // a lane's first voucher (nonce 1) pays from 0; a lane first seen after a restart is counted from its next voucher
    const before = this.lanes.get(key) ?? (lane.nonce <= 1 ? 0 : lane.cumulative)
    this.lanes.set(key, lane.cumulative)
    const amount = Math.max(0, lane.cumulative - before)
    this.metrics.vouchers?.increment({ accepted: true })
    this.metrics.payments?.inc({ direction: 'accepted', currency: this.currencyLabel(lane.currency) }, amount)
    // one per streamed payment: debug; the job's own line carries what it earned
    this.log.debug('voucher:accepted', { payer: lane.payer, amount, currency: lane.currency, laneTotal: lane.cumulative, nonce: lane.nonce })
  }

  /** A message or request from `peer` was refused. */
  refused (source: 'job-board' | 'work', reason: string, fields: LogFields): void {
    this.metrics.refused?.inc({ source, reason })
    this.log.info(`${source}:refused`, { reason, ...fields })
  }
}

/**
 * Follow a node's services: provider-side jobs (`job:started`,
 * `job:completed`, `job:failed`), vouchers accepted and refused requests
 * (work), receipts stored, expired and equivocations (receipt store),
 * rejected messages and banned peers (job board), providers losing trust
 * (router), peers coming and going.
 * Returns the observer, for the jobs the node submits itself, and how to
 * stop following.
 */
export function observeNode (node: ShoalNode, log: NodeLogger, metrics: ShoalNodeMetrics): { observer: NodeObserver, stop(): void } {
  const observer = new NodeObserver(log, metrics)
  const { work, receipts, jobs, router } = node.services
  const started = new Map<string, StartedJob>()
  const ac = new AbortController()
  const opts = { signal: ac.signal }

  // provider side: a job runs from job:started to job:completed or job:failed
  work.addEventListener('job:started', (evt) => {
    const { assignment } = evt.detail
    const job = { jobId: toHex(assignment.value.jobId), peer: assignment.signer.toString(), startedAt: Date.now() }
    started.set(toHex(assignment.id), job)
    log.debug('job:started', { jobId: job.jobId, requester: job.peer })
  }, opts)
  work.addEventListener('job:completed', (evt) => {
    const receipt = evt.detail.value
    const run = started.get(toHex(receipt.assignmentId))
    started.delete(toHex(receipt.assignmentId))
    observer.jobEnded({
      role: 'provider',
      jobId: toHex(receipt.jobId),
      peer: run?.peer,
      startedAt: receipt.startedMs,
      endedAt: receipt.endedMs,
      outcome: receiptOutcome(receipt.status),
      status: receipt.status,
      units: receipt.units,
      total: receipt.total,
      currency: receipt.price?.currency
    })
  }, opts)
  work.addEventListener('job:failed', (evt) => {
    const { assignmentId, error } = evt.detail
    const run = started.get(toHex(assignmentId))
    started.delete(toHex(assignmentId))
    const now = Date.now()
    observer.jobEnded({ role: 'provider', jobId: run?.jobId ?? '', peer: run?.peer, startedAt: run?.startedAt ?? now, endedAt: now, outcome: jobOutcome(error), error })
  }, opts)
  work.addEventListener('voucher:accepted', (evt) => { observer.voucherAccepted(evt.detail) }, opts)
  work.addEventListener('request:refused', (evt) => {
    const { peer, kind, code, error } = evt.detail
    observer.refused('work', code, { peer: peer.toString(), request: kind, error: error.message })
  }, opts)

  // receipts, as the store keeps them (both sides)
  receipts.addEventListener('receipt:added', (evt) => {
    metrics.receipts?.increment({ countersigned: true })
    log.info('receipt:stored', receiptFields(evt.detail, 'countersigned'))
  }, opts)
  receipts.addEventListener('receipt:pending', (evt) => {
    metrics.receipts?.increment({ pending: true })
    log.debug('receipt:stored', receiptFields(evt.detail, 'pending'))
  }, opts)
  receipts.addEventListener('receipt:expired', (evt) => {
    // work done that no requester acknowledged, now out of the store: the operator should see it
    metrics.receipts?.increment({ expired: true })
    log.warn('receipt:expired', { ...receiptFields(evt.detail.receipt, 'pending'), reason: evt.detail.reason })
  }, opts)
  receipts.addEventListener('receipt:equivocation', (evt) => {
    const e = evt.detail
    metrics.receipts?.increment({ equivocation: true })
    log.warn('receipt:equivocation', { offender: e.offender.toString(), kind: e.kind, jobId: toHex(e.jobId), provider: e.provider.toString() })
  }, opts)

  // the job board: rejected messages (each counts against its sender) and the peers cut off for them
  jobs.addEventListener('message:rejected', (evt) => {
    const { peer, reason, source, topic, error } = evt.detail
    observer.refused('job-board', reason, { peer: peer.toString(), via: source, topic, error: error?.message })
  }, opts)
  jobs.addEventListener('peer:banned', (evt) => {
    log.warn('peer:banned', { peer: evt.detail.toString(), by: 'job-board', reason: 'too many rejected messages' })
  }, opts)

  // the router: a provider that failed or timed out a job lost trust (and ranks lower next time)
  router.addEventListener('peer:penalized', (evt) => {
    const { peerId, event, trust } = evt.detail
    log.info('peer:penalized', { peer: peerId.toString(), by: 'router', reason: event, trust: Math.round(trust * 1000) / 1000 })
  }, opts)

  // a DHT server's peers come and go all the time: debug
  node.addEventListener('peer:connect', (evt) => { log.debug('peer:connected', { peer: evt.detail.toString() }) }, opts)
  node.addEventListener('peer:disconnect', (evt) => { log.debug('peer:disconnected', { peer: evt.detail.toString() }) }, opts)

  return { observer, stop: () => { ac.abort() } }
}

/** The log fields of a stored receipt. */
function receiptFields (receipt: StoredReceipt, state: string): LogFields {
  return {
    id: toHex(receipt.id),
    state,
    jobId: toHex(receipt.value.jobId),
    provider: receipt.provider.toString(),
    requester: receipt.requester.toString(),
    units: receipt.value.units,
    total: receipt.value.total,
    currency: receipt.value.price?.currency
  }
}

/**
 * Follow a provider role: its offer advertised (or not yet: no DHT peer took
 * it, retried with backoff), and the board's jobs it quoted or could not.
 */
export function observeProvider (role: ProviderHandle, log: NodeLogger): void {
  role.addEventListener('advertised', (evt) => {
    const { record, keys } = evt.detail
    log.info('provider:advertised', { keys: keys.length, gpus: record.value.gpus.map(g => `${g.count}x${g.class}`).join(','), sensors: record.value.sensors.join(','), region: record.value.geohash })
  })
  role.addEventListener('advertise:failed', (evt) => {
    const { error, result, retryIn } = evt.detail
    log.info('provider:advertise-failed', { error: error?.message ?? `${result?.failed.length ?? 0} key(s) reached no DHT peer`, retryInMs: retryIn })
  })
  role.addEventListener('quote:sent', (evt) => {
    log.debug('provider:quoted', { jobId: evt.detail.job.key, requester: evt.detail.job.requester.toString(), perUnit: evt.detail.quote.value.price?.perUnit, currency: evt.detail.quote.value.price?.currency })
  })
  role.addEventListener('quote:failed', (evt) => {
    log.warn('provider:quote-failed', { jobId: evt.detail.job.key, error: `${evt.detail.error.name}: ${evt.detail.error.message}` })
  })
}
