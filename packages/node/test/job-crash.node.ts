/**
 * Jobs across kill -9: a provider and a requester as real OS
 * processes, each killed with SIGKILL at random moments of a job and
 * restarted on its data dir, while the harness counts what must stay zero:
 * jobs run more than once, orphan processes, acknowledged receipts lost and
 * false equivocations (the provider is honest).
 *
 * Run it alone with a seed (the seed of a run is in its figures line):
 *
 *   cd packages/node && SHOAL_CRASH_SEED=1234 npm run test:job-crash
 *
 * SHOAL_CRASH_ROUNDS sets the number of kills (20 by default); SHOAL_CRASH_VERBOSE=1
 * adds each unpaid job's events, with their messages, to the failure.
 *
 * The kill moments, relative to the first of the round's jobs to reach
 * them (its token's lines in the runs and done files written by
 * fixtures/crash-job.sh):
 * - `before-run`: the requester routed the job, the run has not started;
 * - `mid-run`: a random time into the run;
 * - `run-to-reply`: at once when the job's program finished (the provider
 *   has its output or is about to, and has not answered yet);
 * - `countersign`: 20 to 150 ms after the program finished, while the result
 *   and the countersignature cross.
 *
 * The two focused tests after it are the issue's own cases: the provider
 * killed once it stored its receipt and before any countersignature (the
 * requester is held with SIGSTOP meanwhile, so the result it may already
 * have in its socket cannot be countersigned before the kill), then
 * restarted: whatever the requester sends again (the assignment, the
 * countersignature) must leave one run and one receipt, the same on both
 * sides; and the requester killed mid-run, then restarted: its job must end
 * countersigned in both stores within the job's deadline.
 *
 * The figures go to stdout as one JSON line (`job-crash figures {...}`):
 * they are the test's report, what bench/README.md quotes.
 */

import { strict as assert } from 'node:assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRng } from '@shoal/utils'
import { ShoalProcesses } from './fixtures/cli-process.js'
import { aliveAs, CrashNet, readStore } from './fixtures/job-crash-net.js'
import { waitFor } from './fixtures/wait.js'
import type { ReceiptEntry, StoreContents, SubmittedJob } from './fixtures/job-crash-net.js'
import type { ShoalNodeProcess } from './fixtures/cli-process.js'

const ROUNDS = Number(process.env.SHOAL_CRASH_ROUNDS ?? 20)
/** jobs submitted per round, all in flight at once (the provider has 2 slots) */
const JOBS_PER_ROUND = 3
/** each job's deadline: a round settles by then at the latest */
const JOB_TIMEOUT_MS = 12_000
const MOMENTS = ['before-run', 'mid-run', 'run-to-reply', 'countersign'] as const
type Moment = typeof MOMENTS[number]
type Side = 'provider' | 'requester'

/**
 * Longest the last look waits for countersignatures still being re-sent, ms: the re-sender's back-off reaches
 * 60 s, so a wait of one back-off could end just before the next send (seen: a receipt countersigned on the
 * requester's side, still pending on the provider's at the last look); two cover it.
 */
const FINAL_DRAIN_MS = 120_000

/** Seeded random floats: a failing run is replayed from its seed. */
function prng (seed: number): () => number {
  const rng = createRng(seed)
  return () => rng.float()
}

function crashSeed (): number {
  return Number(process.env.SHOAL_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** The figures of a crash run: what must be zero, and how the jobs ended. */
interface Figures {
  seed: number
  rounds: number
  kills: Record<Side, number>
  moments: Record<string, number>
  jobs: number
  jobs_completed: number
  jobs_failed_over: number
  jobs_failed: number
  /** the requester died under the job's API request and no receipt for it is in its store */
  jobs_unresolved: number
  /** the failed jobs' error names */
  failures: Record<string, number>
  /**
   * jobs run again after the provider had recorded a run of them (its
   * receipts for the job, pending or countersigned): work done and charged
   * twice (must be 0)
   */
  jobs_run_more_than_once: number
  /**
   * jobs whose program ran to its end twice because a kill landed between
   * the end of the first run and the provider saving its result (the
   * `run-to-reply` moment aims there): that result never existed for the
   * protocol, the job was failed over and ran again
   */
  programs_finished_twice: number
  /**
   * jobs started again after a kill cut their run short: the provider never
   * runs an interrupted assignment again, but the requester fails the job over
   * (here to the only provider, with a fresh quote): work lost, not done twice
   */
  jobs_rerun_after_interruption: number
  orphan_processes: number
  acknowledged_receipts_lost: number
  false_equivocations: number
  pending_receipts_left: number
  receipt_logs_ok: boolean
  wall_ms: number
}

describe('jobs across kill -9 of the provider or the requester (separate processes)', function () {
  this.timeout(600_000)
  let root: string
  let processes: ShoalProcesses
  let net: CrashNet

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'shoal-job-crash-'))
    processes = new ShoalProcesses({ env: { XDG_DATA_HOME: join(root, 'xdg') } })
    net = new CrashNet(root, processes)
  })

  afterEach(async () => {
    processes.killAll()
    // the job processes the nodes left behind (counted already) go too
    for (const pid of await net.alivePids()) {
      try { process.kill(pid, 'SIGKILL') } catch {}
    }
    await rm(root, { recursive: true, force: true })
  })

  /** Until the run of one of `jobs` shows in `file` (runs or done): that job; undefined if they all ended first. */
  async function waitRecord (file: string, jobs: SubmittedJob[]): Promise<SubmittedJob | undefined> {
    const found = await waitFor(`a run of ${jobs.map(j => j.token).join(', ')} in ${file}`, async () => {
      const tokens = new Set((await net.records(file)).map(([t]) => t))
      const job = jobs.find(j => tokens.has(j.token))
      if (job !== undefined) return { job }
      if (jobs.every(j => j.final !== undefined || j.cut)) return { job: undefined }
      return undefined
    }, JOB_TIMEOUT_MS + 5_000, 10)
    return found.job
  }

  /**
   * Wait for the moment of the round's first job to reach it (`delay` in
   * [0, 1) places the kill within the moment's window); false if every job
   * ended before.
   */
  async function reachMoment (moment: Moment, jobs: SubmittedJob[], delay: number): Promise<boolean> {
    switch (moment) {
      case 'before-run':
        return waitFor('a job to be routed', () => {
          if (jobs.some(j => j.events.some(e => e.stage === 'routed'))) return true
          if (jobs.every(j => j.final !== undefined || j.cut)) return false
          return undefined
        }, JOB_TIMEOUT_MS + 5_000, 5)
      case 'mid-run': {
        const target = await waitRecord(net.runsFile, jobs)
        if (target === undefined) return false
        await sleep(Math.floor(delay * target.seconds * 900))
        return true
      }
      case 'run-to-reply':
        return await waitRecord(net.doneFile, jobs) !== undefined
      case 'countersign':
        if (await waitRecord(net.doneFile, jobs) === undefined) return false
        await sleep(20 + Math.floor(delay * 130))
        return true
    }
  }

  /**
   * Until the round's jobs settled: every API answer the requester still
   * owes has ended and neither node has a job in flight (twice in a row, so
   * a resumed job that starts a moment later is waited for too), or the
   * jobs' deadline passed.
   */
  async function settle (jobs: SubmittedJob[]): Promise<void> {
    const deadline = Math.max(...jobs.map(j => j.submittedAt + j.timeoutMs)) + 3_000
    let quiet = 0
    while (Date.now() < deadline && quiet < 2) {
      const answered = jobs.every(j => j.final !== undefined || j.cut)
      let idle = false
      try {
        idle = (await net.liveJobs(net.requester)).length === 0 && (await net.liveJobs(net.provider)).length === 0
      } catch {}
      quiet = answered && idle ? quiet + 1 : 0
      await sleep(300)
    }
    await Promise.race([Promise.all(jobs.map(async j => j.ended)), sleep(Math.max(0, deadline - Date.now()))])
  }

  it(`${ROUNDS} kills at random moments on both sides: no job runs twice, no orphan, no acknowledged receipt lost, no false equivocation`, async () => {
    const started = Date.now()
    const seed = crashSeed()
    const random = prng(seed)
    await net.start()

    // the whole plan is drawn first, so a seed replays the same kills whatever the timing: both sides equally often, in a random order
    const sides: Side[] = Array.from({ length: ROUNDS }, (_, i) => i % 2 === 0 ? 'provider' : 'requester')
    for (let i = sides.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[sides[i], sides[j]] = [sides[j], sides[i]]
    }
    const plan = sides.map(side => ({
      side,
      moment: MOMENTS[Math.floor(random() * MOMENTS.length)],
      seconds: Array.from({ length: JOBS_PER_ROUND }, () => 0.2 + random() * 1.3),
      delay: random()
    }))
    const figures: Figures = {
      seed, rounds: ROUNDS, kills: { provider: 0, requester: 0 }, moments: {}, jobs: 0, jobs_completed: 0, jobs_failed_over: 0, jobs_failed: 0, jobs_unresolved: 0, failures: {},
      jobs_run_more_than_once: 0, programs_finished_twice: 0, jobs_rerun_after_interruption: 0, orphan_processes: 0, acknowledged_receipts_lost: 0, false_equivocations: 0, pending_receipts_left: 0, receipt_logs_ok: true, wall_ms: 0
    }
    const jobs: SubmittedJob[] = []
    const orphans = new Set<number>()
    // receipts a node acknowledged, by node: its store listed them, or the requester's API returned them countersigned (the provider's too when it acknowledged the countersignature)
    const acknowledged: Record<Side, Map<string, string>> = { provider: new Map(), requester: new Map() }
    const lost = new Set<string>()

    const checkAcknowledged = (side: Side, listed: ReceiptEntry[]): void => {
      const now = new Map(listed.map(r => [r.id, r.state]))
      for (const [id, state] of acknowledged[side]) {
        const found = now.get(id)
        if (found === undefined || (state === 'countersigned' && found !== 'countersigned')) lost.add(`${side}:${id}`)
      }
    }
    const acknowledge = (side: Side, listed: ReceiptEntry[]): void => {
      for (const r of listed) {
        if (acknowledged[side].get(r.id) !== 'countersigned') acknowledged[side].set(r.id, r.state)
      }
    }

    const acknowledgeFinal = (job: SubmittedJob): void => {
      const receipt = job.final?.stage === 'receipt' ? job.final.receipt : undefined
      if (receipt === undefined) return
      acknowledged.requester.set(receipt.id, 'countersigned')
      if (job.final?.acknowledged === true) acknowledged.provider.set(receipt.id, 'countersigned')
    }

    for (let round = 1; round <= ROUNDS; round++) {
      const { side, moment, seconds, delay } = plan[round - 1]
      const batch = seconds.map((s, i) => net.submit(`r${round}j${i}`, s, JOB_TIMEOUT_MS))
      jobs.push(...batch)
      const reached = await reachMoment(moment, batch, delay)
      const label = reached ? moment : `${moment} (missed: every job ended first)`
      figures.moments[label] = (figures.moments[label] ?? 0) + 1
      figures.kills[side]++

      const victim = (side === 'provider' ? net.provider : net.requester) as ShoalNodeProcess
      await net.kill(victim)
      // what the requester's API returned before the kill counts as acknowledged, by the provider too when it acknowledged the countersignature
      batch.forEach(acknowledgeFinal)
      if (side === 'provider') {
        await net.startProvider()
      } else {
        await net.startRequester()
      }
      // the restarted node still has every receipt it acknowledged before the kill
      const restarted = side === 'provider' ? net.provider : net.requester
      checkAcknowledged(side, await net.receipts(restarted))
      await net.waitConnected()
      await settle(batch)

      // every job process still alive now outlived its job
      for (const pid of await net.alivePids()) orphans.add(pid)
      batch.forEach(acknowledgeFinal)
      acknowledge('provider', await net.receipts(net.provider))
      acknowledge('requester', await net.receipts(net.requester))
    }

    // countersignatures the requester still re-sends (its provider was down a while: the back-off grows to a minute),
    // and results it still follows up in the background (a job it gave up on while the provider was down), are
    // delivered, not lost; give them their time before the last look
    const drainBy = Date.now() + FINAL_DRAIN_MS
    while (Date.now() < drainBy) {
      let left = 1
      try {
        const pending = (await net.receipts(net.provider)).filter(r => r.state !== 'countersigned').length
        left = (await net.liveJobs(net.requester)).length + (await net.liveJobs(net.provider)).length + pending
      } catch {}
      if (left === 0) break
      await sleep(500)
    }

    // a last look once the nodes stopped the way an operator stops them
    const codes = await net.stop()
    for (const pid of await net.alivePids()) orphans.add(pid)
    const stores: Record<Side, StoreContents> = { provider: await readStore(net.providerDir), requester: await readStore(net.requesterDir) }
    for (const side of ['provider', 'requester'] as const) {
      const store = stores[side]
      checkAcknowledged(side, [...[...store.countersigned].map(id => ({ id, state: 'countersigned', jobId: '' })), ...[...store.pending].map(id => ({ id, state: 'pending', jobId: '' }))])
      figures.false_equivocations += store.equivocations
      figures.receipt_logs_ok &&= store.logOk
    }
    figures.pending_receipts_left = stores.provider.pending.size

    const runs = await net.records(net.runsFile)
    const done = await net.records(net.doneFile)
    const count = (records: Array<[string, number]>): Map<string, number> => {
      const m = new Map<string, number>()
      for (const [token] of records) m.set(token, (m.get(token) ?? 0) + 1)
      return m
    }
    const finished = count(done)
    figures.jobs_run_more_than_once = [...stores.provider.byJob.values()].filter(ids => new Set(ids).size > 1).length
    figures.programs_finished_twice = [...finished.values()].filter(n => n > 1).length
    figures.jobs_rerun_after_interruption = [...count(runs)].filter(([token, n]) => n > 1 && (finished.get(token) ?? 0) <= 1).length
    figures.jobs = jobs.length
    for (const job of jobs) {
      const countersigned = job.jobId !== undefined && (stores.requester.byJob.get(job.jobId) ?? []).some(id => stores.requester.countersigned.has(id))
      const completed = job.final?.stage === 'receipt' || countersigned
      if (completed && job.events.some(e => e.stage === 'failed-over' || e.stage === 'retrying')) {
        figures.jobs_failed_over++
      } else if (completed) {
        figures.jobs_completed++
      } else if (job.final?.stage === 'failed') {
        figures.jobs_failed++
        // peer ids and trust values left out, so that equal reasons add up
        const reason = `${job.final.error ?? 'Error'}: ${(job.final.message ?? '').replace(/12D3KooW\w+/g, '<peer>').replace(/trust [\d.]+/g, 'trust <n>').slice(0, 160)}`
        figures.failures[reason] = (figures.failures[reason] ?? 0) + 1
      } else {
        figures.jobs_unresolved++
      }
    }
    figures.orphan_processes = orphans.size
    figures.acknowledged_receipts_lost = lost.size
    figures.wall_ms = Date.now() - started
    // the test's report (bench/README.md quotes it): one line, whatever the asserts say next
    process.stdout.write(`job-crash figures ${JSON.stringify(figures)}\n`)

    assert.deepEqual(codes, [0, 0], 'both nodes exit cleanly on SIGTERM at the end')
    assert.equal(figures.jobs_run_more_than_once, 0, `seed ${seed}: jobs the provider ran again after it recorded a run of them`)
    assert.equal(figures.orphan_processes, 0, `seed ${seed}: job processes outlived their job: ${[...orphans].join(' ')}`)
    assert.equal(figures.acknowledged_receipts_lost, 0, `seed ${seed}: acknowledged receipts lost: ${[...lost].join(' ')}`)
    assert.equal(figures.false_equivocations, 0, `seed ${seed}: equivocations recorded against an honest provider`)
    const pendingJobs = [...stores.provider.byJob].filter(([, ids]) => ids.some(id => stores.provider.pending.has(id))).map(([jobId]) => {
      const job = jobs.find(j => j.jobId === jobId)
      return `${jobId.slice(0, 12)}: ${job == null ? 'unknown job' : `${job.cut ? 'cut, ' : ''}${job.events.map(e => e.stage).join('>')}${process.env.SHOAL_CRASH_VERBOSE != null ? ` [${job.events.map(e => JSON.stringify(e)).join(' ')}]` : ''}${job.final?.error != null ? ` ${job.final.error}: ${job.final.message ?? ''}` : ''}`}`
    })
    assert.equal(figures.pending_receipts_left, 0, `seed ${seed}: provider receipts never countersigned: ${pendingJobs.join('; ')}`)
    assert.ok(figures.receipt_logs_ok, `seed ${seed}: a receipt log does not verify`)
  })

  it('kill -9 of the provider between run and reply, restart, the requester resends: one run, the same receipt on both sides, no equivocation', async () => {
    await net.start()
    const job = net.submit('between-run-and-reply', 0.3, 30_000)
    assert.ok(await waitRecord(net.doneFile, [job]) !== undefined, `the job ended before its program did: ${JSON.stringify(job.final)}`)
    // hold the requester so the result cannot be countersigned, until the provider has its receipt
    const requester = net.requester as ShoalNodeProcess
    requester.child.kill('SIGSTOP')
    try {
      await waitFor('the provider to store its receipt', async () => {
        const receipts = await net.receipts(net.provider)
        return receipts.length > 0 ? receipts : undefined
      }, 15_000, 10)
      await net.kill(net.provider as ShoalNodeProcess)
    } finally {
      requester.child.kill('SIGCONT')
    }
    await net.startProvider()
    await job.ended
    assert.equal(job.final?.stage, 'receipt', `the job ends with a receipt: ${JSON.stringify(job.events.slice(-3))}`)
    const runs = (await net.records(net.runsFile)).filter(([t]) => t === job.token)
    assert.equal(runs.length, 1, 'the job ran once')

    // the countersignature reaches the restarted provider (sent again if the first went to the dead one) within the job's deadline
    const deadline = job.submittedAt + job.timeoutMs
    let theirs: ReceiptEntry[] = []
    while (true) {
      theirs = await net.receipts(net.provider)
      if (theirs.some(r => r.id === job.final?.receipt?.id && r.state === 'countersigned') || Date.now() > deadline) break
      await sleep(200)
    }
    assert.ok(theirs.some(r => r.id === job.final?.receipt?.id && r.state === 'countersigned'), `the provider holds ${JSON.stringify(theirs.map(r => [r.id, r.state]))}, not ${job.final?.receipt?.id} countersigned, by the job's deadline`)
    assert.deepEqual(await net.stop(), [0, 0])
    const provider = await readStore(net.providerDir)
    const requesterStore = await readStore(net.requesterDir)
    const jobId = job.jobId as string
    assert.deepEqual(provider.byJob.get(jobId), [job.final?.receipt?.id], 'the provider signed one receipt for the job, the one the requester holds')
    assert.deepEqual(requesterStore.byJob.get(jobId), [job.final?.receipt?.id])
    assert.equal(provider.pending.size, 0)
    assert.equal(provider.equivocations + requesterStore.equivocations, 0, 'no equivocation in either store')
  })

  it('kill -9 of the requester mid-job, restart: the job ends countersigned on both sides within its deadline', async () => {
    await net.start()
    const timeoutMs = 15_000
    const job = net.submit('requester-killed-mid-job', 1.0, timeoutMs)
    assert.ok(await waitRecord(net.runsFile, [job]) !== undefined, `the job ended before it ran: ${JSON.stringify(job.final)}`)
    await sleep(300)
    await net.kill(net.requester as ShoalNodeProcess)
    await job.ended
    const jobId = job.jobId
    assert.ok(jobId !== undefined, 'the requester named the job before it died')
    await net.startRequester()
    await net.waitConnected()

    // resumed from the requester's datastore: countersigned in both stores before the deadline
    const deadline = job.submittedAt + timeoutMs
    const outcome = await waitFor('the resumed job to end', async () => {
      const mine = (await net.receipts(net.requester)).filter(r => r.jobId === jobId)
      if (mine.some(r => r.state === 'countersigned')) return mine
      return Date.now() > deadline ? [] : undefined
    }, timeoutMs + 5_000, 200)
    assert.ok(outcome.length > 0, `no countersigned receipt for job ${jobId} in the requester's store by its deadline; the provider holds ${JSON.stringify((await net.receipts(net.provider)).filter(r => r.jobId === jobId))}`)
    const theirs = await waitFor('the provider to hold the countersignature', async () => {
      const r = (await net.receipts(net.provider)).filter(r => r.jobId === jobId)
      return r.some(x => x.state === 'countersigned') ? r : undefined
    }, 15_000)
    assert.deepEqual(theirs.map(r => r.id), outcome.map(r => r.id), 'the same receipt on both sides')
    assert.equal((await net.records(net.runsFile)).filter(([t]) => t === job.token).length, 1, 'the job ran once')
    assert.ok(!(await net.records(net.helpersFile)).some(([, pid]) => aliveAs(pid, 'sleep')), 'no job process left')
  })
})
