/**
 * Whether an OS process still runs, for tests that check a job's processes
 * were ended.
 */

import { readFileSync } from 'node:fs'

/**
 * Whether `pid` runs. A killed process re-parented to a PID 1 that does not
 * reap (some containers' init) stays a zombie: it runs nothing, so it counts
 * as ended.
 */
export function processRunning (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // field 3, the state, follows the command name in parentheses
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return true
  }
}
