/**
 * Executors run a job's input to an output. The work service meters and
 * signs; an executor only computes. Two are built in: a function in this
 * process, and a program run with the input on stdin.
 */

import { spawn } from 'node:child_process'
import { setMaxListeners } from 'node:events'
import { accessSync, constants as fsConstants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { errorMessage } from '@shoal/utils'
import { CommandError, ExecutorError } from './errors.js'
import { ensureStateDir, PROCESS_GROUPS, reapOrphans, trackGroup } from './process-group.js'
import type { JobGroup } from './process-group.js'
import type { JobAnnouncement, Quote } from '@shoal/records'
import type { PeerId } from '@libp2p/interface'

/** A progress report from an executor. */
export interface ExecutorProgress {
  /** units consumed so far, if the executor meters them itself (e.g. tokens) */
  units?: number
  /** completed fraction in thousandths */
  permille?: number
  /** a short human message */
  message?: string
}

/** What an executor is told about the job besides its input. */
export interface ExecuteOptions {
  /** aborts when the job is cancelled or times out; the executor must stop */
  signal: AbortSignal
  /** report progress; the provider forwards it to the requester */
  onProgress(progress: ExecutorProgress): void
  /** the job as announced and signed by the requester (absent if the provider no longer holds it) */
  job?: JobAnnouncement
  /** the quote the requester accepted */
  quote: Quote
  /** record id of the requester's Assignment (a capture attests it: `CaptureAttestation.assignmentId`) */
  assignmentId?: Uint8Array
  /** when the requester signed the Assignment (`createdMs`): a capture may not start before it */
  assignedMs?: number
  /** who asked for the work */
  requester: PeerId
}

/** The outcome of a run. */
export interface ExecutorResult {
  /** the result bytes; their SHA-256 goes into the receipt (empty when the output is at `location`) */
  output: Uint8Array
  /**
   * where the requester fetches an output too large to send inline (a URL,
   * a CID...); then `outputHash` is required and `output` is empty
   */
  location?: string
  /** SHA-256 of the output at `location` */
  outputHash?: Uint8Array
  /** units the executor metered (e.g. tokens); without it the provider meters wall time */
  units?: number
  /** exit status, 0 = success */
  status: number
}

/** Runs jobs. Pluggable: implement `run` to offer any kind of work. */
export interface Executor {
  run(input: Uint8Array, options: ExecuteOptions): Promise<ExecutorResult>
  /** end every run still going, and whatever it started; resolves once they are gone (optional) */
  stop?(): Promise<void>
}

/** What `functionExecutor` accepts from the function. */
export type FunctionExecutorOutput = Uint8Array | ExecutorResult

/** Run jobs with a function in this process (embedding, tests). */
export function functionExecutor (fn: (input: Uint8Array, options: ExecuteOptions) => FunctionExecutorOutput | Promise<FunctionExecutorOutput>): Executor {
  return {
    async run (input, options) {
      let out: FunctionExecutorOutput
      try {
        out = await fn(input, options)
      } catch (err: unknown) {
        if (options.signal.aborted) {
          throw err
        }
        throw new ExecutorError(`function executor threw: ${errorMessage(err)}`, { cause: err })
      }
      if (out instanceof Uint8Array) {
        return { output: out, status: 0 }
      }
      return out
    }
  }
}

/** Options of the command executor. */
export interface CommandExecutorInit {
  /** program to run (looked up in PATH) */
  command: string
  /** its arguments */
  args?: string[]
  /** environment; default: the provider's own */
  env?: NodeJS.ProcessEnv
  /** working directory */
  cwd?: string
  /**
   * Kill the program after this long, ms; the run then reports status 124
   *
   * @default 60000
   */
  timeoutMs?: number
  /**
   * Most stdout bytes kept; a program writing more is killed and the run fails
   *
   * @default 1048576
   */
  maxOutputBytes?: number
  /**
   * Address-space limit in MiB, enforced with `prlimit --as` when `prlimit`
   * is installed, and for node scripts (command `node` or the running node)
   * with `--max-old-space-size` instead (V8 reserves more address space than
   * it uses, so an address-space limit would stop node from starting).
   * Not enforced otherwise: see `memoryLimitEnforcement`.
   */
  memoryLimitMb?: number
  /**
   * Programs run at once; further runs wait
   *
   * @default 1
   */
  concurrency?: number
  /**
   * How long a program's process group gets between SIGTERM and SIGKILL
   * when a run ends (abort, timeout, too much output, or members left after
   * the program exited), ms; 0 = SIGKILL at once. Not used on Windows,
   * where only the program itself is killed.
   *
   * @default 2000
   */
  killGraceMs?: number
  /**
   * Directory where each running program's process group is recorded (one
   * small file per group), so that after this process is killed outright
   * the next executor on the same directory ends what it left running
   * (`reapOrphans`, called when the executor is created). Linux only (the
   * check against pid reuse needs /proc); elsewhere records are dropped.
   */
  stateDir?: string
}

/** How a command executor limits memory on this machine. */
export type MemoryLimitEnforcement = 'prlimit' | 'node-heap' | 'none'

/** A command executor, with what it enforces. */
export interface CommandExecutor extends Executor {
  /** how `memoryLimitMb` is enforced here */
  readonly memoryLimitEnforcement: MemoryLimitEnforcement
  /** programs running now */
  readonly running: number
  /** runs waiting for a slot */
  readonly queued: number
  /**
   * End every run: queued ones fail, running programs and their process
   * groups get SIGTERM, then SIGKILL after `killGraceMs`. Resolves when all
   * runs have settled; later runs fail with CommandError.
   */
  stop(): Promise<void>
}

/** Exit status reported when the program was killed for running too long (as coreutils `timeout`). */
export const TIMEOUT_STATUS = 124

/**
 * After the program exits, how long its output may take to close, ms: a
 * process it left behind can hold stdout open for ever, and ending the
 * group (which closes it) must not wait for that.
 */
const STDIO_WAIT_MS = 500

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 }

/** Find a program in PATH (or an absolute path), or undefined. */
export function findProgram (name: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = name.includes('/') ? [name] : path.split(delimiter).filter(d => d !== '').map(d => join(d, name))
  for (const candidate of candidates) {
    try {
      accessSync(candidate, fsConstants.X_OK)
      return candidate
    } catch {}
  }
  return undefined
}

function isNode (command: string): boolean {
  return command === 'node' || command === process.execPath
}

/** A program and its arguments, wrapped so its memory is limited where the system allows. */
interface LimitedCommand {
  command: string
  argv: string[]
  enforcement: MemoryLimitEnforcement
}

/** Wrap `init`'s program to enforce `memoryLimitMb`: node's heap flag for node scripts, else `prlimit` if installed. */
function limitMemory (init: CommandExecutorInit): LimitedCommand {
  const args = init.args ?? []
  if (init.memoryLimitMb == null) {
    return { command: init.command, argv: args, enforcement: 'none' }
  }
  const mb = Math.max(1, Math.floor(init.memoryLimitMb))
  const prlimit = findProgram('prlimit')
  if (isNode(init.command)) {
    return { command: init.command, argv: [`--max-old-space-size=${mb}`, ...args], enforcement: 'node-heap' }
  }
  if (prlimit != null) {
    return { command: prlimit, argv: [`--as=${mb * 1024 * 1024}`, '--', init.command, ...args], enforcement: 'prlimit' }
  }
  return { command: init.command, argv: args, enforcement: 'none' }
}

/** At most `size` holders at once; the others wait in order, and give up when their signal aborts. */
class Slots {
  running = 0
  private readonly size: number
  private readonly waiting: Array<() => void> = []

  constructor (size: number) {
    this.size = size
  }

  get queued (): number {
    return this.waiting.length
  }

  async acquire (signal: AbortSignal): Promise<void> {
    if (this.running < this.size) {
      this.running++
      return
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiting.indexOf(grant)
        if (i >= 0) {
          this.waiting.splice(i, 1)
        }
        reject(signal.reason)
      }
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort)
        this.running++
        resolve()
      }
      this.waiting.push(grant)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  release (): void {
    this.running--
    this.waiting.shift()?.()
  }
}

/** What one run of a program is bounded by. */
interface ProgramLimits {
  /** the command as configured, for messages */
  name: string
  env?: NodeJS.ProcessEnv
  cwd?: string
  timeoutMs: number
  maxOutputBytes: number
  killGraceMs: number
  stateDir?: string
}

/**
 * Run the program once: `input` on stdin, stdout the output. It leads a
 * process group of its own (not on Windows): on timeout, abort or too much
 * output the whole group is ended, and so is whatever it left running when
 * it exits, before the run settles.
 */
async function runProgram (program: LimitedCommand, limits: ProgramLimits, input: Uint8Array, signal: AbortSignal): Promise<ExecutorResult> {
  const { name, timeoutMs, maxOutputBytes, killGraceMs } = limits
  return new Promise<ExecutorResult>((resolve, reject) => {
    let child
    try {
      child = spawn(program.command, program.argv, { env: limits.env, cwd: limits.cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: PROCESS_GROUPS })
    } catch (err: unknown) {
      reject(new CommandError(`cannot start ${name}: ${errorMessage(err)}`, { cause: err }))
      return
    }
    let group: JobGroup | undefined
    try {
      group = PROCESS_GROUPS && child.pid != null ? trackGroup(child.pid, name, limits.stateDir) : undefined
    } catch (err: unknown) {
      // the state directory refused the record (and the group was killed)
      reject(new CommandError(`cannot record the process group of ${name}: ${errorMessage(err)}`, { cause: err }))
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let stderr = ''
    let failure: Error | undefined
    let timedOut = false
    let exit: { code: number | null, sig: NodeJS.Signals | null } | undefined
    let settled = false
    let stdioTimer: ReturnType<typeof setTimeout> | undefined

    const kill = (): void => {
      if (group != null) {
        void group.end(killGraceMs)
      } else if (child.exitCode == null && child.signalCode == null) {
        child.kill('SIGKILL')
      }
    }
    const timer = setTimeout(() => { timedOut = true; kill() }, timeoutMs)
    const onAbort = (): void => { failure ??= signal.reason; kill() }
    signal.addEventListener('abort', onAbort, { once: true })

    const finish = (): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearTimeout(stdioTimer)
      signal.removeEventListener('abort', onAbort)
      const output = new Uint8Array(Buffer.concat(chunks, Math.min(size, maxOutputBytes)))
      const code = exit?.code
      const sig = exit?.sig
      // whatever the program left running (a backgrounded workload) ends with the run
      void (group?.end(killGraceMs) ?? Promise.resolve()).then(() => {
        // a process that left the group may still hold the pipes: stop reading them
        child.stdout.destroy()
        child.stderr.destroy()
        if (failure != null) {
          reject(failure)
          return
        }
        if (timedOut) {
          resolve({ output, status: TIMEOUT_STATUS })
          return
        }
        resolve({ output, status: code ?? (sig != null ? 128 + (SIGNALS[sig] ?? 0) : 1) })
      })
    }

    child.stdout.on('data', (chunk: Buffer) => {
      if (settled) return
      size += chunk.byteLength
      if (size > maxOutputBytes) {
        failure ??= new CommandError(`${name} wrote more than ${maxOutputBytes} bytes`)
        kill()
        return
      }
      chunks.push(chunk)
    })
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) {
        stderr += chunk.toString('utf8')
      }
    })
    // a program that exits without reading its stdin makes our write fail with EPIPE: not an error of the run
    child.stdin.on('error', () => {})
    child.on('error', (err) => {
      failure ??= new CommandError(`cannot run ${name}: ${err.message}`, { cause: err })
      // it never started: no exit, and maybe no close, will follow
      if (child.pid == null) finish()
    })
    child.on('exit', (code, sig) => {
      exit = { code, sig }
      // with a group, a member left behind may hold stdout open: do not wait for it beyond a moment
      if (group != null) stdioTimer = setTimeout(finish, STDIO_WAIT_MS)
    })
    child.on('close', (code, sig) => {
      exit ??= { code, sig }
      finish()
    })
    child.stdin.end(input)
  })
}

/**
 * Run jobs as a program: the input on stdin, the output from stdout. Enforces
 * a timeout, an output size limit, a concurrency limit and, where the system
 * allows, a memory limit; reports the exit status.
 */
export function commandExecutor (init: CommandExecutorInit): CommandExecutor {
  const program = limitMemory(init)
  const limits: ProgramLimits = {
    name: init.command,
    env: init.env,
    cwd: init.cwd,
    timeoutMs: init.timeoutMs ?? 60_000,
    maxOutputBytes: init.maxOutputBytes ?? 1024 * 1024,
    killGraceMs: Math.max(0, init.killGraceMs ?? 2000),
    stateDir: init.stateDir
  }
  if (init.stateDir != null && PROCESS_GROUPS) {
    ensureStateDir(init.stateDir)
    // a previous process on this directory was killed outright: its jobs still hold the GPU
    reapOrphans(init.stateDir)
  }
  const slots = new Slots(Math.max(1, init.concurrency ?? 1))
  const stopping = new AbortController()
  setMaxListeners(Infinity, stopping.signal)
  const runs = new Set<Promise<unknown>>()
  const runOnce = async (input: Uint8Array, signal: AbortSignal): Promise<ExecutorResult> => {
    await slots.acquire(signal)
    try {
      return await runProgram(program, limits, input, signal)
    } finally {
      slots.release()
    }
  }
  return {
    memoryLimitEnforcement: program.enforcement,
    get running () { return slots.running },
    get queued () { return slots.queued },
    async run (input, options) {
      options.signal.throwIfAborted()
      stopping.signal.throwIfAborted()
      const run = runOnce(input, AbortSignal.any([options.signal, stopping.signal]))
      runs.add(run)
      try {
        return await run
      } finally {
        runs.delete(run)
      }
    },
    async stop () {
      stopping.abort(new CommandError(`${init.command}: the executor stopped`))
      await Promise.allSettled([...runs])
    }
  }
}
