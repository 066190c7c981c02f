/**
 * The control link between a sharded simulation's coordinator and one
 * shard: requests, results, events. Three carriers, one interface: a worker
 * thread, a child process (IPC with `serialization: 'advanced'`) and a TCP
 * connection (length-prefixed `v8.serialize` frames) for shards on other
 * machines.
 */

import { deserialize, serialize } from 'node:v8'
import { DEFAULT_MAX_CONTROL_FRAME_BYTES } from './constants.js'
import { InvalidControlFrameError } from './errors.js'
import { FrameReader, lengthPrefixed } from './frame.js'
import { errorMessage } from '../error-text.js'
import { real } from '../time/virtual-clock.js'
import type { ChildProcess } from 'node:child_process'
import type { Socket } from 'node:net'
import type { MessagePort, Worker } from 'node:worker_threads'

/** A duplex, ordered message link between the coordinator and one shard. */
export interface ControlLink<In, Out> {
  /** the OS process at the other end, when it is a local child process */
  readonly pid?: number
  /** Sends one message; dropped once the link is gone. */
  send(msg: Out): void
  /** Delivers every message that arrives (set once). */
  onMessage(handler: (msg: In) => void): void
  /** Called once when the link is gone, with why when it failed (set once). */
  onExit(handler: (err?: Error) => void): void
  /** Closes the link (and ends the thread or process at the other end, if it is ours). */
  close(): Promise<void>
}

/** A worker thread, seen from the coordinator (`Worker`) or from the thread (`parentPort`). */
export class WorkerLink<In, Out> implements ControlLink<In, Out> {
  private readonly target: Worker | MessagePort
  private exited = false
  private reported = false
  private exitHandler?: (err?: Error) => void

  constructor (target: Worker | MessagePort) {
    this.target = target
  }

  send (msg: Out): void {
    if (!this.exited) this.target.postMessage(msg)
  }

  onMessage (handler: (msg: In) => void): void {
    this.target.on('message', handler)
  }

  onExit (handler: (err?: Error) => void): void {
    this.exitHandler = handler
    // a Worker emits 'error' for an uncaught exception, then 'exit'
    let error: Error | undefined
    this.target.on('error', (err: Error) => { error = err })
    this.target.on(isWorker(this.target) ? 'exit' : 'close', (code?: number) => {
      this.exit(error ?? (code != null && code !== 0 ? new Error(`worker exited with code ${code}`) : undefined))
    })
  }

  async close (): Promise<void> {
    if (isWorker(this.target)) {
      this.exited = true
      await this.target.terminate()
    } else {
      this.target.close()
    }
  }

  private exit (err?: Error): void {
    if (this.reported) return
    this.reported = true
    this.exited = true
    this.exitHandler?.(err)
  }
}

function isWorker (target: Worker | MessagePort): target is Worker {
  return typeof (target as Worker).terminate === 'function'
}

/** The surface of `process` a forked shard talks through. */
interface ProcessLike {
  pid?: number
  send?: (msg: unknown) => boolean
  // never[]: a listener may take whatever arguments its event carries
  on(event: string, listener: (...args: never[]) => void): unknown
  disconnect?: () => void
  connected?: boolean
}

/**
 * A child process (`child_process.fork` with `serialization: 'advanced'`),
 * seen from the coordinator (`ChildProcess`) or from the child (`process`).
 */
export class ProcessLink<In, Out> implements ControlLink<In, Out> {
  readonly pid?: number
  private readonly target: ProcessLike
  private readonly child: boolean
  private exited = false
  private exitHandler?: (err?: Error) => void
  private readonly exitedPromise: Promise<void>
  private resolveExited!: () => void

  /** `target` is the `ChildProcess` on the coordinator's side, `process` on the shard's. */
  constructor (target: ChildProcess | NodeJS.Process) {
    this.target = target as ProcessLike
    this.child = target !== process
    this.pid = this.child ? target.pid : undefined
    this.exitedPromise = new Promise(resolve => { this.resolveExited = resolve })

    if (this.child) {
      let error: Error | undefined
      this.target.on('error', (err: Error) => { error = err })
      this.target.on('exit', (code: number | null, signal: string | null) => {
        this.resolveExited()
        this.exit(error ?? (code === 0 ? undefined : new Error(`shard process ${this.pid ?? '?'} exited with ${signal ?? `code ${code}`}`)))
      })
    } else {
      // the coordinator is gone (or closed the link): nothing more to do here
      this.target.on('disconnect', () => { this.resolveExited(); this.exit() })
    }
  }

  send (msg: Out): void {
    if (this.exited || this.target.connected === false) return

    try {
      this.target.send?.(msg)
    } catch {
      // the channel closed under us; 'exit' / 'disconnect' reports it
    }
  }

  onMessage (handler: (msg: In) => void): void {
    this.target.on('message', handler)
  }

  onExit (handler: (err?: Error) => void): void {
    this.exitHandler = handler
  }

  async close (): Promise<void> {
    if (this.target.connected === true) this.target.disconnect?.()
    if (!this.child) return

    // the shard exits on 'disconnect'; a stuck one is killed
    // real timers: a process exits in real time, whatever clock the run is on
    const timer = real.setTimeout(() => { (this.target as ChildProcess).kill('SIGKILL') }, 5_000)
    await this.exitedPromise
    real.clearTimeout(timer)
  }

  private exit (err?: Error): void {
    if (this.exited) return
    this.exited = true
    this.exitHandler?.(err)
  }
}

const CONTROL_OPS = new Set(['call', 'mesh', 'init', 'ready', 'join', 'listening', 'result', 'error', 'event', 'progress', 'fatal', 'run', 'done'])

function isRecord (x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

/**
 * Decodes one control frame (a `v8.serialize`d message). Throws
 * {@link InvalidControlFrameError} for bytes that do not deserialize or for
 * a value that is not a control message of a known kind with the fields it
 * needs.
 */
export function decodeControlMessage (bytes: Uint8Array): { op: string } & Record<string, unknown> {
  let value: unknown

  try {
    value = deserialize(bytes)
  } catch (err: unknown) {
    throw new InvalidControlFrameError(`does not deserialize (${errorMessage(err)})`)
  }

  if (!isRecord(value) || typeof value.op !== 'string') {
    throw new InvalidControlFrameError('not an object with an "op"')
  }

  if (!CONTROL_OPS.has(value.op)) {
    throw new InvalidControlFrameError(`unknown op ${JSON.stringify(value.op).slice(0, 40)}`)
  }

  const need = (field: string, ok: (v: unknown) => boolean): void => {
    if (!ok(value[field])) throw new InvalidControlFrameError(`${value.op}.${field} is missing or malformed`)
  }
  const id = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0
  const str = (v: unknown): boolean => typeof v === 'string'

  switch (value.op) {
    case 'call': need('id', id); need('method', str); need('args', Array.isArray); break
    case 'result': need('id', id); break
    case 'error': need('id', id); need('name', str); need('message', str); break
    case 'fatal': need('name', str); need('message', str); break
    case 'mesh': need('addresses', v => Array.isArray(v) && v.every(a => isRecord(a) && str(a.host) && id(a.port))); break
    case 'init': need('data', isRecord); break
    case 'join': need('version', id); break
    case 'listening': need('port', id); break
    case 'event': need('abs', v => typeof v === 'number'); need('event', isRecord); break
    case 'progress': need('progress', isRecord); break
    case 'run':
      need('lookaheadMs', v => typeof v === 'number' && v > 0)
      need('horizon', v => typeof v === 'number' && !Number.isNaN(v))
      need('expect', v => isRecord(v) && Object.values(v).every(id))
      need('calls', v => Array.isArray(v) && v.every(c => isRecord(c) && id(c.id) && str(c.method) && Array.isArray(c.args) && Number.isFinite(c.at)))
      break
    case 'done': need('nextAt', v => typeof v === 'number' && !Number.isNaN(v)); need('sent', isRecord); need('minAt', isRecord); need('clamped', id); break
    default: break
  }

  return value as { op: string } & Record<string, unknown>
}

/** Encodes a control message as one length-prefixed frame. */
export function encodeControlMessage (msg: unknown): Uint8Array {
  return lengthPrefixed(serialize(msg))
}

/** Options of a {@link SocketLink}. */
export interface SocketLinkInit {
  /** @default 67108864 */
  maxFrameBytes?: number
  /** called with the error when bad bytes made the link drop the connection */
  onInvalid?(err: InvalidControlFrameError): void
}

/**
 * A TCP control connection to a shard on another machine (either side):
 * u32 length-prefixed `v8.serialize` frames. A malformed frame drops the
 * connection with {@link InvalidControlFrameError}: the shard is then
 * reported gone, like a crashed process.
 */
export class SocketLink<In, Out> implements ControlLink<In, Out> {
  private readonly socket: Socket
  private readonly reader: FrameReader
  private readonly init: SocketLinkInit
  private handler?: (msg: In) => void
  private readonly queue: In[] = []
  private exited = false
  private exitHandler?: (err?: Error) => void
  private error?: Error

  constructor (socket: Socket, init: SocketLinkInit = {}) {
    this.socket = socket
    this.init = init
    // the smallest serialized message (an object with an op) is well above 2 bytes
    this.reader = new FrameReader(init.maxFrameBytes ?? DEFAULT_MAX_CONTROL_FRAME_BYTES, 2, (reason) => new InvalidControlFrameError(reason))
    socket.setNoDelay(true)
    socket.on('data', (chunk: Uint8Array) => { this.receive(chunk) })
    socket.on('error', (err) => { this.error ??= err })
    socket.on('close', () => { this.exit(this.error) })
  }

  /** the remote end's IP address, as this side sees it */
  get remoteAddress (): string | undefined {
    return this.socket.remoteAddress
  }

  /** this side's IP address on the connection (the interface that reaches the other end) */
  get localAddress (): string | undefined {
    return this.socket.localAddress
  }

  send (msg: Out): void {
    if (!this.exited && !this.socket.destroyed) this.socket.write(encodeControlMessage(msg))
  }

  onMessage (handler: (msg: In) => void): void {
    this.handler = handler
    // messages that arrived before anyone listened (the first frames of a join)
    for (const msg of this.queue.splice(0)) handler(msg)
  }

  onExit (handler: (err?: Error) => void): void {
    this.exitHandler = handler
    if (this.exited) handler(this.error)
  }

  async close (): Promise<void> {
    if (this.socket.destroyed) return
    const closed = new Promise(resolve => this.socket.once('close', resolve))
    this.socket.end()
    real.setTimeout(() => this.socket.destroy(), 2_000).unref()
    await closed
  }

  private receive (chunk: Uint8Array): void {
    let msgs: In[]

    try {
      msgs = this.reader.push(chunk).map(frame => decodeControlMessage(frame) as In)
    } catch (err: unknown) {
      // the reader and the decoder throw nothing else
      const invalid = err instanceof InvalidControlFrameError ? err : new InvalidControlFrameError(errorMessage(err))
      this.error = invalid
      this.init.onInvalid?.(invalid)
      this.socket.destroy()
      return
    }

    for (const msg of msgs) {
      if (this.handler != null) this.handler(msg)
      else this.queue.push(msg)
    }
  }

  private exit (err?: Error): void {
    if (this.exited) return
    this.exited = true
    this.exitHandler?.(err)
  }
}

/**
 * Parses `HOST:PORT`, `[IPv6]:PORT`, `HOST` or `:PORT` (missing parts
 * from `defaults`). Throws a `RangeError` naming what is wrong.
 */
export function parseHostPort (text: string, defaults: { host: string, port: number }): { host: string, port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*))(?::(\d*))?$/.exec(text.trim())

  if (m == null) {
    throw new RangeError(`"${text}" is not HOST:PORT`)
  }

  const host = m[1] ?? (m[2] !== '' && m[2] != null ? m[2] : defaults.host)
  const port = m[3] == null || m[3] === '' ? defaults.port : Number(m[3])

  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`"${text}": port must be in 0..65535`)
  }

  return { host, port }
}
