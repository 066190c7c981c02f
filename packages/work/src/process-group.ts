/**
 * Each program the command executor runs leads a process group of its own
 * (POSIX), so ending a job ends everything it started: a wrapper script's
 * workload, a backgrounded helper. Killing only the direct child would leave
 * them running, re-parented to PID 1, holding the GPU.
 *
 * Live groups are tracked twice: in memory, so `killAllJobProcesses()` can
 * end them synchronously when this process exits; and optionally as one small
 * file per group in a state directory, so after a `kill -9` of this process
 * the next start can end what the killed one left (`reapOrphans()`).
 */

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { errorCode } from '@shoal/utils'

/** Whether jobs get process groups on this platform (not on Windows, which has none). */
export const PROCESS_GROUPS = process.platform !== 'win32'

/** pgids of the groups this process started and has not ended yet. */
const live = new Set<number>()

/** How often a group is checked for live members while it has time to exit after SIGTERM, ms. */
const POLL_MS = 50

/** What the state directory records of a live group. */
interface GroupRecord {
  /** the group leader, whose pid is the pgid */
  pid: number
  /** the leader's start time in clock ticks after boot (`/proc/<pid>/stat` field 22), null without /proc */
  startTime: string | null
  /** the program, for the operator reading the directory */
  command: string
  /** when the run started (ISO time) */
  startedAt: string
}

/** Send `signal` to every member of group `pgid`; false when there is no such group. */
function signalGroup (pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal)
    return true
  } catch (err: unknown) {
    // EPERM: the group exists but a member is not ours to signal (a setuid program)
    return errorCode(err) !== 'ESRCH'
  }
}

/** The fields of `/proc/<pid>/stat` this module needs, or undefined without such a process (or /proc). */
function procStat (pid: number | string): { state: string, pgrp: number, startTime: string } | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // the command name (field 2) is in parentheses and may hold spaces or parentheses itself
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state), fields[2] field 5 (pgrp), fields[19] field 22 (starttime)
  return { state: fields[0], pgrp: Number(fields[2]), startTime: fields[19] }
}

let hasProc: boolean | undefined
function procAvailable (): boolean {
  hasProc ??= procStat('self') !== undefined
  return hasProc
}

/**
 * Whether group `pgid` has a member that is not a zombie. A killed member
 * re-parented to a PID 1 that does not reap (some containers) stays a zombie
 * in the group forever; it holds nothing, so it does not count.
 */
export function groupAlive (pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false
  if (!procAvailable()) return true
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter(name => /^\d+$/.test(name))
  } catch {
    return true
  }
  return pids.some(pid => {
    const stat = procStat(pid)
    return stat !== undefined && stat.pgrp === pgid && stat.state !== 'Z'
  })
}

/** A program's process group, from its start until `end()` made sure nothing of it runs. */
export interface JobGroup {
  /** the group id (the program's pid) */
  readonly pgid: number
  /**
   * SIGTERM to the group, SIGKILL after `graceMs` to what is left (at once
   * when 0); nothing if the group is already empty. Resolves when done;
   * calling it again returns the same promise.
   */
  end(graceMs: number): Promise<void>
}

/**
 * Track the group led by `pid` (a program spawned `detached`), recording it
 * in `stateDir` when given, until `end()`.
 */
export function trackGroup (pid: number, command: string, stateDir?: string): JobGroup {
  const file = stateDir != null ? join(stateDir, `${pid}.json`) : undefined
  if (file != null) {
    const record: GroupRecord = { pid, startTime: procStat(pid)?.startTime ?? null, command, startedAt: new Date().toISOString() }
    try {
      // no fsync: the record only has to outlive this process, not the machine (a reboot ends the jobs too)
      writeFileSync(file, JSON.stringify(record))
    } catch (err: unknown) {
      // a group a restart could not find must not run
      signalGroup(pid, 'SIGKILL')
      throw err
    }
  }
  live.add(pid)
  let ending: Promise<void> | undefined
  return {
    pgid: pid,
    async end (graceMs) {
      ending ??= (async () => {
        if (graceMs > 0 && signalGroup(pid, 'SIGTERM')) {
          const deadline = Date.now() + graceMs
          while (Date.now() < deadline && groupAlive(pid)) {
            await new Promise(resolve => setTimeout(resolve, Math.min(POLL_MS, deadline - Date.now())))
          }
        }
        if (groupAlive(pid)) signalGroup(pid, 'SIGKILL')
        live.delete(pid)
        if (file != null) rmSync(file, { force: true })
      })()
      return ending
    }
  }
}

/**
 * Signal every job process group this process started and has not ended
 * (SIGKILL by default). Synchronous, so a `process.on('exit')` handler can
 * call it: a node exiting at once (a second Ctrl-C) leaves no job running.
 * Returns how many groups were signalled.
 */
export function killAllJobProcesses (signal: NodeJS.Signals = 'SIGKILL'): number {
  let signalled = 0
  for (const pgid of live) {
    if (signalGroup(pgid, signal)) signalled++
  }
  return signalled
}

/** Create `stateDir` if needed (the command executor records its groups there). */
export function ensureStateDir (stateDir: string): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 })
}

/** Whether `record` (file `<pgid>.json`) still names a live group of the process that wrote it. */
function leftOver (pgid: number, record: Partial<GroupRecord>): boolean {
  // without /proc a recorded pid cannot be told from a reused one: better leave it alone
  if (record.pid !== pgid || record.startTime == null || !procAvailable()) return false
  const leader = procStat(pgid)
  if (leader !== undefined) {
    // the same process only if it started at the same tick; otherwise the pid was reused
    return leader.startTime === record.startTime && leader.pgrp === pgid
  }
  // the leader is gone; while members of its group live its pid is not given to another process,
  // so a group with this id is still the recorded one
  return groupAlive(pgid)
}

/**
 * End the job process groups recorded in `stateDir` by a process that no
 * longer runs them (a node killed with `kill -9`): SIGKILL to each group whose
 * leader is still the recorded process (same start time in
 * `/proc/<pid>/stat`, or gone with members left). Records that do not match
 * (pid reused, group gone, no /proc to check) are deleted without killing
 * anything. Groups this process runs now are left alone. Returns how many
 * groups were killed.
 */
export function reapOrphans (stateDir: string): number {
  let names: string[]
  try {
    names = readdirSync(stateDir)
  } catch (err: unknown) {
    if (errorCode(err) === 'ENOENT') return 0
    throw err
  }
  let killed = 0
  for (const name of names) {
    const match = /^(\d+)\.json$/.exec(name)
    if (match == null) continue
    const pgid = Number(match[1])
    if (live.has(pgid)) continue
    const file = join(stateDir, name)
    let record: Partial<GroupRecord> = {}
    try {
      record = JSON.parse(readFileSync(file, 'utf8'))
    } catch {}
    if (leftOver(pgid, record) && signalGroup(pgid, 'SIGKILL')) killed++
    rmSync(file, { force: true })
  }
  return killed
}
