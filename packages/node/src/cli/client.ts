import { request } from 'node:http'
import { join } from 'node:path'
import { errorCode, errorMessage } from '@shoal/utils'
import { API_FILE, API_HOST } from '../constants.js'
import { readApiInfo } from '../data-dir.js'
import { ApiError } from '../errors.js'
import type { ApiInfo } from '../data-dir.js'

/** The running node the CLI talks to, and where its API token came from. */
export interface ApiTarget extends ApiInfo {
  /** where `token` came from, or why there is none: for the error when the node refuses it */
  tokenSource: string
}

/** How the CLI was told which node to ask. */
export interface LocateOptions {
  /** `--api-port`: ask the node on this port */
  port?: number
  /** the data dir was named (--data-dir, a config file, SHOAL_DATA_DIR), not the default: its api.json's token is used even when `port` differs (a port mapped by Docker) */
  named?: boolean
  /** `--api-token`: use this token, not api.json's */
  token?: string
}

/** Where the CLI finds the running node: an explicit port, or `api.json` in the data dir (which also holds the API token). */
export async function locateApi (dataDir: string, options: LocateOptions = {}): Promise<ApiTarget> {
  const { port, named = false, token } = options
  const file = join(dataDir, API_FILE)
  const info = await readApiInfo(dataDir)
  if (port !== undefined) {
    const fileToken = info !== undefined && (info.port === port || named) ? info.token : undefined
    const tokenSource = token !== undefined
      ? 'the token given with --api-token'
      : fileToken !== undefined
        ? `the token from ${file}`
        : `no token was sent: ${info === undefined ? `${file} does not exist` : `${file} is for the node on port ${info.port}`}`
    // the host the node's api.json names when it is that node (an API bound to one LAN address), else loopback
    return { host: info !== undefined && info.port === port ? info.host : API_HOST, port, token: token ?? fileToken ?? '', pid: info?.pid ?? 0, peerId: info?.peerId ?? '', startedAt: info?.startedAt ?? 0, tokenSource }
  }
  if (info === undefined) {
    throw new ApiError(`no running node found: ${file} does not exist (start one with \`shoal node start\`, or pass --data-dir / --api-port)`)
  }
  return token !== undefined ? { ...info, token, tokenSource: 'the token given with --api-token' } : { ...info, tokenSource: `the token from ${file}` }
}

/** The error for a node that refused the API token: what was sent and exactly what to pass instead. */
export function tokenRefused (api: ApiTarget): ApiError {
  return new ApiError(`the node on ${api.host}:${api.port} refused the request: it needs the API token it wrote to api.json in its data dir, and ${api.tokenSource.startsWith('no token') ? api.tokenSource : `${api.tokenSource} is not its token`}. Pass the node's data dir (--data-dir D, or the --config F that names it), or --api-token T with the "token" from its api.json`, 401)
}

/** A response of the node's API, before reading its body. */
export interface ApiResponse {
  status: number
  contentType: string
  /** the body, chunk by chunk */
  body: AsyncIterable<Buffer>
}

/** Send a request to the node's API. Connection failures become `ApiError` with a hint. */
export async function call (api: ApiInfo, method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const req = request({
      host: api.host,
      port: api.port,
      method,
      path,
      signal,
      headers: {
        ...(payload != null ? { 'content-type': 'application/json', 'content-length': payload.byteLength } : {}),
        ...(api.token !== '' ? { authorization: `Bearer ${api.token}` } : {})
      }
    }, (res) => {
      resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: res })
    })
    req.on('error', (err: unknown) => {
      if (errorCode(err) === 'ECONNREFUSED') {
        reject(new ApiError(`no node answers on ${api.host}:${api.port} (is it running? api.json may be left over from a crash)`, undefined, { cause: err }))
      } else {
        reject(new ApiError(`cannot reach the node's API on ${api.host}:${api.port}: ${errorCode(err) ?? errorMessage(err)}`, undefined, { cause: err }))
      }
    })
    req.end(payload)
  })
}

async function text (body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

/** GET a JSON route; an error status becomes `ApiError` with the node's message. */
export async function getJson<T> (api: ApiInfo, path: string): Promise<T> {
  const res = await call(api, 'GET', path)
  const body = await text(res.body)
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    throw new ApiError(`the node answered ${path} with something that is not JSON (HTTP ${res.status})`, res.status)
  }
  if (res.status >= 400) {
    const answer = (parsed ?? {}) as { error?: unknown, message?: unknown }
    throw new ApiError(`${path}: ${String(answer.error ?? 'error')}: ${String(answer.message ?? `HTTP ${res.status}`)}`, res.status)
  }
  // the node's own routes: the caller names the shape the route answers with
  return parsed as T
}

/** GET a text route (e.g. `/metrics`). */
export async function getText (api: ApiInfo, path: string): Promise<string> {
  const res = await call(api, 'GET', path)
  const body = await text(res.body)
  if (res.status >= 400) throw new ApiError(`${path}: HTTP ${res.status}: ${body.trim()}`, res.status)
  return body
}

/** Read an NDJSON response line by line. */
export async function * ndjson<T> (body: AsyncIterable<Buffer>): AsyncGenerator<T> {
  let buffered = ''
  for await (const chunk of body) {
    buffered += chunk.toString('utf8')
    let newline
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim()
      buffered = buffered.slice(newline + 1)
      if (line !== '') yield JSON.parse(line)
    }
  }
  if (buffered.trim() !== '') yield JSON.parse(buffered)
}
