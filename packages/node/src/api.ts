import { createServer } from 'node:http'
import { timingSafeEqual } from 'node:crypto'
import { errorCode, errorMessage, errorName, toHex } from '@shoal/utils'
import { API_HOST, MAX_API_BODY_BYTES } from './constants.js'
import { ConfigError, PortInUseError, ServiceUnavailableError } from './errors.js'
import { metricsRegistry } from './node.js'
import { nodeStatus, peerStatus, receiptToJson } from './status.js'
import type { ShoalNode } from './node.js'
import type { NodeStatus } from './status.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'

/** A progress event of a submitted job, streamed to `shoal job submit` as one JSON line each. */
export interface JobProgress {
  /** what happened: `announced`, `candidates`, `quoted`, `assigned`, `running`, `result`, `receipt`, `failed`, ... */
  stage: string
  /** human-readable detail */
  message?: string
  /** anything else the stage carries (peer ids, the receipt, the error name) */
  [key: string]: unknown
}

/** `GET /id`: who this node is. */
export interface IdJson {
  peerId: string
  /** the raw public key, base64 */
  publicKey: string
  type: string
  addrs: string[]
}

/** `GET /receipts/verify`: the receipt log's verification, hashes in hex. */
export interface LogVerificationJson {
  ok: boolean
  length: number
  head: { length: number, hash: string }
  problems: Array<{ seq?: number, key: string, reason: string }>
}

/** The job routes of the API, provided once `@shoal/work` is wired into the node. */
export interface JobApi {
  /** jobs in flight on this node (as requester or provider) */
  list(): Promise<unknown[]>
  /** submit a job; calls `progress` for each stage and resolves with the final event */
  submit(request: Record<string, unknown>, progress: (event: JobProgress) => void, signal: AbortSignal): Promise<JobProgress>
  /** a job submitted here (live or lately ended) by its id (hex), with a capture job's verdict */
  get?(jobId: string): Promise<unknown>
}

/** The capture routes of the API (`@shoal/provenance`). */
export interface CaptureApi {
  /** verify the CaptureProof held for footage `cid`, fetching the footage (undefined: no proof held) */
  verifyCid(cid: string, signal: AbortSignal): Promise<unknown>
  /** verify a CaptureProof given as bytes, fetching its footage */
  verifyProof(proof: Uint8Array, signal: AbortSignal): Promise<unknown>
  /** the CaptureProof held for footage `cid` (undefined: none) */
  proof(cid: string): Promise<Uint8Array | undefined>
}

/** Options of the local HTTP API. */
export interface ApiServerInit {
  node: ShoalNode
  /** port; 0 picks a free one */
  port: number
  /**
   * address to bind; on anything but loopback every route except `/health`
   * and `/metrics` needs the token
   *
   * @default '127.0.0.1'
   */
  host?: string
  /** bearer token required by mutating routes (and by every private route off loopback) */
  token: string
  /** node version, shown by `/status` */
  version: string
  /** when the node started, ms */
  startedAt: number
  /** whether the node is shutting down: new jobs are refused, `/health` is 503 */
  draining?: () => boolean
  /** job routes (absent until `@shoal/work` is wired) */
  jobs?: JobApi
  /** capture routes (absent on a node without the provenance service) */
  captures?: CaptureApi
  /** more `/status` fields (capabilities, live jobs) */
  statusExtra?: () => Promise<Partial<NodeStatus>>
}

/** A running API server. */
export interface ApiServer {
  /** the address it is bound to */
  host: string
  /** the port it listens on */
  port: number
  /** stop accepting requests and close open connections */
  close(): Promise<void>
}

class HttpError extends Error {
  constructor (readonly status: number, message: string) {
    super(message)
  }
}

function sendJson (res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + '\n'
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(text)
}

async function readBody (req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of req) {
    length += (chunk as Buffer).byteLength
    if (length > MAX_API_BODY_BYTES) throw new HttpError(413, `request body larger than ${MAX_API_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new HttpError(400, 'request body is not JSON')
  }
}

function authorized (req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? ''
  const given = Buffer.from(header.replace(/^Bearer /, ''))
  const expected = Buffer.from(token)
  return given.byteLength === expected.byteLength && timingSafeEqual(given, expected)
}

/** Whether an API bound to `host` is reachable from this machine only. */
export function isLoopbackHost (host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** Routes a scraper or health check reads without the token wherever the API is bound: they reveal no receipts, jobs or peers. */
const PUBLIC_ROUTES = new Set(['GET /health', 'GET /metrics'])

const UNAUTHORIZED = 'missing or wrong API token (the CLI reads it from api.json in the data dir)'

function intParam (url: URL, name: string): number | undefined {
  const value = url.searchParams.get(name)
  if (value == null) return undefined
  if (!/^\d{1,9}$/.test(value)) throw new HttpError(400, `${name} must be a non-negative integer`)
  return Number(value)
}

/**
 * Start the node's HTTP API (on 127.0.0.1 unless `host` says otherwise): `/health`, `/status`,
 * `/peers`, `/id`, `/metrics`, `/jobs`, `/receipts`, `/receipts/verify`,
 * `/receipts/export`. The CLI's read commands are clients of it.
 */
export async function startApiServer (init: ApiServerInit): Promise<ApiServer> {
  const { node } = init
  const host = init.host ?? API_HOST
  // off loopback anyone on the network can ask: receipts, peers and jobs need the token too
  const tokenForReads = !isLoopbackHost(host)

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>> = {
    'GET /health': async (_req, res) => {
      const draining = init.draining?.() === true
      const ok = node.status === 'started' && !draining
      sendJson(res, ok ? 200 : 503, {
        ok,
        status: draining && node.status === 'started' ? 'stopping' : node.status,
        peerId: node.peerId.toString(),
        peers: node.getPeers().length,
        receiptLogLength: node.services.receipts.head().length,
        uptimeMs: Date.now() - init.startedAt
      })
    },
    'GET /status': async (_req, res) => {
      sendJson(res, 200, await nodeStatus(node, { startedAt: init.startedAt, version: init.version, extra: init.statusExtra }))
    },
    'GET /peers': async (_req, res) => {
      sendJson(res, 200, await peerStatus(node))
    },
    'GET /id': async (_req, res) => {
      sendJson(res, 200, {
        peerId: node.peerId.toString(),
        publicKey: Buffer.from(node.peerId.publicKey?.raw ?? new Uint8Array()).toString('base64'),
        type: node.peerId.type,
        addrs: node.getMultiaddrs().map(String)
      } satisfies IdJson)
    },
    'GET /metrics': async (_req, res) => {
      const registry = metricsRegistry(node)
      if (registry === undefined) throw new HttpError(404, 'metrics are off (metrics: false)')
      const text = await registry.metrics()
      res.writeHead(200, { 'content-type': registry.contentType })
      res.end(text)
    },
    'GET /receipts': async (_req, res, url) => {
      const limit = intParam(url, 'limit')
      const fromSeq = intParam(url, 'from')
      const out = []
      if (url.searchParams.get('state') === 'pending') {
        for await (const r of node.services.receipts.listPending()) out.push(receiptToJson(r))
      } else {
        for await (const r of node.services.receipts.list({ limit, fromSeq })) out.push(receiptToJson(r))
      }
      sendJson(res, 200, out)
    },
    'GET /receipts/verify': async (_req, res, url) => {
      const result = await node.services.receipts.verifyLog({ signatures: url.searchParams.get('signatures') === 'true' })
      sendJson(res, 200, { ok: result.ok, length: result.length, head: { length: result.head.length, hash: toHex(result.head.hash) }, problems: result.problems } satisfies LogVerificationJson)
    },
    'GET /receipts/export': async (_req, res) => {
      // NDJSON: one receipt per line with its signed bytes, streamed so a large log never sits in memory
      res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8' })
      for await (const r of node.services.receipts.list()) {
        res.write(JSON.stringify(receiptToJson(r, true)) + '\n')
      }
      res.end()
    },
    'GET /jobs': async (_req, res) => {
      sendJson(res, 200, init.jobs != null ? await init.jobs.list() : [])
    },
    'POST /jobs': async (req, res) => {
      if (!authorized(req, init.token)) throw new HttpError(401, UNAUTHORIZED)
      if (init.jobs == null) throw new ServiceUnavailableError('this node cannot submit jobs yet: @shoal/work is not wired into @shoal/node')
      if (init.draining?.() === true) throw Object.assign(new HttpError(503, 'the node is shutting down and takes no new jobs'), { name: 'ShuttingDownError' })
      const request = await readBody(req)
      if (typeof request !== 'object' || request === null || Array.isArray(request)) throw new HttpError(400, 'request body must be a JSON object')
      const controller = new AbortController()
      res.on('close', () => { if (!res.writableFinished) controller.abort() })
      res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' })
      const write = (event: JobProgress): void => { res.write(JSON.stringify(event) + '\n') }
      try {
        write(await init.jobs.submit(request as Record<string, unknown>, write, controller.signal))
      } catch (err: unknown) {
        write({ stage: 'failed', error: errorName(err) ?? 'Error', message: errorMessage(err) })
      }
      res.end()
    }
  }

  /** Routes with a parameter: `GET /jobs/:id`, `GET /captures/:cid`, `GET /captures/:cid/verify` (and `POST /captures/verify`, exact). */
  const paramRoute = (method: string, path: string): ((req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>) | undefined => {
    const job = /^\/jobs\/([0-9a-fA-F]{1,128})$/.exec(path)
    if (method === 'GET' && job != null) {
      return async (_req, res) => {
        const record = await init.jobs?.get?.(job[1])
        if (record === undefined) throw new HttpError(404, `no job ${job[1]} submitted here lately`)
        sendJson(res, 200, record)
      }
    }
    const capture = /^\/captures\/([a-zA-Z0-9]{8,128})(\/verify)?$/.exec(path)
    if (method === 'GET' && capture != null) {
      return async (_req, res) => {
        const captures = init.captures
        if (captures == null) throw new ServiceUnavailableError('this node runs no provenance service')
        const cid = capture[1]
        if (capture[2] === undefined) {
          const proof = await captures.proof(cid)
          if (proof === undefined) throw new HttpError(404, `no capture proof held for ${cid}`)
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' })
          res.end(proof)
          return
        }
        const controller = new AbortController()
        res.on('close', () => { if (!res.writableFinished) controller.abort() })
        const verdict = await captures.verifyCid(cid, controller.signal)
        if (verdict === undefined) throw new HttpError(404, `no capture proof held for ${cid}`)
        sendJson(res, 200, verdict)
      }
    }
    return undefined
  }

  routes['POST /captures/verify'] = async (req, res) => {
    const captures = init.captures
    if (captures == null) throw new ServiceUnavailableError('this node runs no provenance service')
    const body = await readBody(req) as { proof?: unknown } | null
    if (typeof body?.proof !== 'string') throw new HttpError(400, 'expected {"proof": "<base64 of the CaptureProof bytes>"}')
    const controller = new AbortController()
    res.on('close', () => { if (!res.writableFinished) controller.abort() })
    sendJson(res, 200, await captures.verifyProof(Buffer.from(body.proof, 'base64'), controller.signal))
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const key = `${req.method} ${url.pathname.replace(/\/+$/, '') || '/'}`
    const route = routes[key] ?? paramRoute(req.method ?? 'GET', url.pathname.replace(/\/+$/, ''))
    if (route === undefined) {
      sendJson(res, 404, { error: 'NotFound', message: `no route ${req.method} ${url.pathname}` })
      return
    }
    if (tokenForReads && !PUBLIC_ROUTES.has(key) && !authorized(req, init.token)) {
      sendJson(res, 401, { error: 'Unauthorized', message: `${UNAUTHORIZED}; the API listens on ${host}, so only /health and /metrics are open` })
      return
    }
    route(req, res, url).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : errorName(err) === ServiceUnavailableError.name ? 501 : errorName(err) === 'InvalidCaptureProofError' ? 400 : 500
      if (res.headersSent) {
        res.end()
        return
      }
      sendJson(res, status, { error: errorName(err) ?? 'Error', message: errorMessage(err) })
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: unknown) => {
      if (errorCode(err) === 'EADDRINUSE') {
        reject(new PortInUseError(`${host}:${init.port}`, `cannot start the HTTP API on ${host}:${init.port}: address already in use (choose another with --api-port, or 0 for any free port)`, { cause: err }))
      } else if (errorCode(err) === 'EADDRNOTAVAIL') {
        reject(new ConfigError('apiHost', `cannot bind the HTTP API to ${host}: not an address of this machine (EADDRNOTAVAIL)`))
      } else {
        reject(err)
      }
    })
    server.listen(init.port, host, () => { resolve() })
  })
  const address = server.address()
  const port = typeof address === 'object' && address != null ? address.port : init.port

  return {
    host,
    port,
    async close () {
      await new Promise<void>(resolve => {
        server.close(() => { resolve() })
        server.closeAllConnections()
      })
    }
  }
}
