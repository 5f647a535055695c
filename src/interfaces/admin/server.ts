import { chmodSync, lstatSync, unlinkSync } from 'node:fs'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { connect } from 'node:net'
import type { Duplex } from 'node:stream'
import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { isCitycodeError } from '../../core/errors.ts'
import { AdminRequestError, AdminRequestTimeoutError, AdminRequestTooLargeError, UnknownAdminOpError } from '../../services/admin/index.ts'
import type { AdminOperations } from '../../services/admin/index.ts'
import { parseWithSchema } from '../config/parse-with-schema.ts'
import { AdminInternalError, AdminSocketError } from './errors.ts'
import {
  ADMIN_HEADER_MAX_BYTES, ADMIN_MAX_CONNECTIONS, ADMIN_PATH, ADMIN_PROTOCOL_VERSION, ADMIN_REQUEST_MAX_BYTES, ADMIN_REQUEST_TIMEOUT_MS,
  ADMIN_OPS, ADMIN_TIMEOUT_CHECK_INTERVAL_MS, isAdminOp, proofToWire, requestSchemas, revocationToWire, invitationToWire, UNIX_SOCKET_PATH_MAX_BYTES
} from './protocol.ts'
import type { AdminAnswer, AdminRequest, AdminWireError } from './protocol.ts'

/** How long a socket file left behind may take to refuse a probe before it counts as another process's. */
const STALE_PROBE_TIMEOUT_MS = 2_000
/** On stop, requests already being handled (an approval in the authority's queue) get this long to finish. */
const STOP_GRACE_MS = 5_000

export interface AdminServerInit {
  /** Where to create the socket (mode 0600). */
  socketPath: string
  logger?: ComponentLogger
  /** The whole request (headers and body) must arrive within this. @default ADMIN_REQUEST_TIMEOUT_MS */
  requestTimeoutMs?: number
  /** How often requests past that limit are looked for. @default ADMIN_TIMEOUT_CHECK_INTERVAL_MS */
  timeoutCheckIntervalMs?: number
}

export interface AdminServer {
  readonly path: string
  /** The limit in force for a whole request, ms. */
  readonly requestTimeoutMs: number
  /** Stops answering, lets requests in progress finish (a few seconds at most) and removes the socket file. */
  stop(): Promise<void>
}

/**
 * Serves the admin operations of a running node on a Unix domain socket (docs/spec/admin.md). A
 * socket file left by a node that crashed is removed; one that another process answers on, or a
 * path that is not a socket, is refused (AdminSocketError).
 */
export async function serveAdmin (operations: AdminOperations, init: AdminServerInit): Promise<AdminServer> {
  const path = init.socketPath
  const log = (init.logger ?? defaultLogger()).forComponent('citycode:admin')
  if (Buffer.byteLength(path) > UNIX_SOCKET_PATH_MAX_BYTES) {
    throw new AdminSocketError(`the admin socket path ${path} is longer than the ${UNIX_SOCKET_PATH_MAX_BYTES} bytes a Unix socket path may have: set "adminSocket" in the config to a shorter path`, { path })
  }
  await removeStaleSocket(path)

  const requestTimeoutMs = init.requestTimeoutMs ?? ADMIN_REQUEST_TIMEOUT_MS
  const server = createServer({
    maxHeaderSize: ADMIN_HEADER_MAX_BYTES,
    // one deadline for the whole request, counted from its start: a body dripped a byte at a time
    // is cut off like a slow header
    requestTimeout: requestTimeoutMs,
    headersTimeout: requestTimeoutMs,
    connectionsCheckingInterval: init.timeoutCheckIntervalMs ?? ADMIN_TIMEOUT_CHECK_INTERVAL_MS,
    keepAliveTimeout: 1_000
  }, (req, res) => {
    void answer(operations, req, res, log)
  })
  server.maxConnections = ADMIN_MAX_CONNECTIONS
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => { refuseUnparsable(err, socket, requestTimeoutMs) })
  server.on('error', (err) => { log.error('admin socket failed: %s', err.message) })

  await listenPrivately(server, path)
  log('admin socket at %s', path)

  let stopping: Promise<void> | undefined
  return {
    path,
    requestTimeoutMs,
    stop: async () => {
      stopping ??= (async () => {
        const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
        server.closeIdleConnections()
        const grace = setTimeout(() => { server.closeAllConnections() }, STOP_GRACE_MS)
        await closed
        clearTimeout(grace)
        // libuv unlinks the file it bound; this covers a server that failed between bind and close
        try { unlinkSync(path) } catch {}
      })()
      await stopping
    }
  }
}

/**
 * Binds with a umask that leaves the socket 0600 from its first instant (a chmod after binding
 * would leave a moment in which another user could connect), then checks the mode it got.
 */
async function listenPrivately (server: Server, path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new AdminSocketError(`cannot create the admin socket ${path}: ${err.code ?? err.message}`, { path }))
    }
    server.once('error', onError)
    const umask = process.umask(0o177)
    try {
      // a Unix socket is bound synchronously inside listen(), so the umask covers exactly this bind
      server.listen(path, () => { server.off('error', onError); resolve() })
    } finally {
      process.umask(umask)
    }
  })
  chmodSync(path, 0o600)
}

/** Removes a socket file that nobody answers on (the node that made it crashed); refuses anything else. */
async function removeStaleSocket (path: string): Promise<void> {
  let kind
  try {
    kind = lstatSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new AdminSocketError(`cannot check the admin socket path ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path })
  }
  if (!kind.isSocket()) throw new AdminSocketError(`${path} exists and is not a socket: refusing to replace it with the admin socket`, { path })
  const answered = await new Promise<boolean>(resolve => {
    const probe = connect(path)
    const done = (live: boolean): void => { clearTimeout(timer); probe.destroy(); resolve(live) }
    // a socket nobody listens on refuses at once (ECONNREFUSED); one that hangs is somebody's
    const timer = setTimeout(() => { done(true) }, STALE_PROBE_TIMEOUT_MS)
    probe.once('connect', () => { done(true) })
    probe.once('error', (err: NodeJS.ErrnoException) => { done(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT') })
  })
  if (answered) throw new AdminSocketError(`another process answers on the admin socket ${path}: is another node using this data directory?`, { path })
  try {
    unlinkSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new AdminSocketError(`cannot remove the stale admin socket ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path })
  }
}

function toWire (err: unknown): AdminWireError {
  if (isCitycodeError(err)) return { name: err.name, code: err.code, message: err.message.slice(0, 1024), details: err.details }
  const internal = new AdminInternalError('the node failed to handle the request (see its log)')
  return { name: internal.name, code: internal.code, message: internal.message, details: {} }
}

/** HTTP status of a refusal: the protocol's own errors by their kind; any operation's typed refusal is 422. */
function statusOf (err: AdminWireError): number {
  switch (err.name) {
    case 'AdminRequestError': return 400
    case 'UnknownAdminOpError': return 400
    case 'AdminRequestTimeoutError': return 408
    case 'AdminRequestTooLargeError': return 413
    case 'AdminInternalError': return 500
    default: return 422
  }
}

function send (res: ServerResponse, status: number, answer: AdminAnswer, close = false): void {
  const body = JSON.stringify(answer)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(close ? { connection: 'close' } : {}) })
  res.end(body)
}

function sendError (res: ServerResponse, err: unknown, close = false): void {
  const wire = toWire(err)
  send(res, statusOf(wire), { v: ADMIN_PROTOCOL_VERSION, error: wire }, close)
}

/**
 * Bytes that are not HTTP at all, headers over the limit, or a request not whole in time: a typed
 * JSON answer, then the socket is destroyed (an http.Server socket is half-open: `end()` alone
 * would keep it until the client closes its side, and a client that never reads never does).
 */
function refuseUnparsable (err: NodeJS.ErrnoException, socket: Duplex, requestTimeoutMs: number): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW'
  const late = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
  const refusal = tooLarge
    ? new AdminRequestTooLargeError(`request headers over ${ADMIN_HEADER_MAX_BYTES} bytes`, { limit: ADMIN_HEADER_MAX_BYTES })
    : late
      ? new AdminRequestTimeoutError(`the request did not arrive whole within ${requestTimeoutMs} ms`, { timeoutMs: requestTimeoutMs })
      : new AdminRequestError(`not an HTTP/1.1 request (${err.code ?? 'unparsable'}): the admin socket speaks JSON over HTTP/1.1, see docs/spec/admin.md`, { field: '(request)' })
  // an answer already begun must not get a second status line inside it
  if ((socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage?.headersSent === true) {
    socket.destroy()
    return
  }
  const body = JSON.stringify({ v: ADMIN_PROTOCOL_VERSION, error: toWire(refusal) })
  const status = tooLarge ? '431 Request Header Fields Too Large' : late ? '408 Request Timeout' : '400 Bad Request'
  socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
  socket.once('finish', () => { socket.destroy() })
  setTimeout(() => { socket.destroy() }, 1_000).unref()
}

async function readBody (req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > ADMIN_REQUEST_MAX_BYTES) throw new AdminRequestTooLargeError(`request body of ${declared} bytes is over the limit of ${ADMIN_REQUEST_MAX_BYTES}`, { limit: ADMIN_REQUEST_MAX_BYTES })
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > ADMIN_REQUEST_MAX_BYTES) throw new AdminRequestTooLargeError(`request body over the limit of ${ADMIN_REQUEST_MAX_BYTES} bytes`, { limit: ADMIN_REQUEST_MAX_BYTES })
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

/** Parses and checks one request: the op first (so an unknown one is named as such), then its arguments. */
export function parseAdminRequest (body: Buffer): AdminRequest {
  let raw: unknown
  try {
    raw = JSON.parse(body.toString('utf8'))
  } catch {
    throw new AdminRequestError('the request body is not JSON', { field: '(body)' })
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new AdminRequestError('the request body must be a JSON object with an "op"', { field: '(body)' })
  const op = (raw as { op?: unknown }).op
  if (typeof op !== 'string') throw new AdminRequestError('"op" must be a string naming the operation', { field: 'op' })
  if (!isAdminOp(op)) throw new UnknownAdminOpError(`unknown operation ${JSON.stringify(op.slice(0, 64))}: this node knows ${ADMIN_OPS.join(', ')}`, { op: op.slice(0, 64) })
  return parseWithSchema(requestSchemas[op], raw, `admin ${op}`, AdminRequestError) as AdminRequest
}

async function dispatch (operations: AdminOperations, request: AdminRequest): Promise<unknown> {
  switch (request.op) {
    case 'status': return await operations.status()
    case 'pending': return await operations.pending()
    case 'approve': return await operations.approve(request.ids, request.reinstate === true ? { reinstate: true } : {})
    case 'reject': return await operations.reject(request.ids)
    case 'prove': return proofToWire(await operations.prove({ code: request.code, ledger: request.ledger, timeoutMs: request.timeoutMs }))
    case 'revoke': return revocationToWire(await operations.revoke({ code: request.code, reason: request.reason, revokedAt: request.revokedAt, timeoutMs: request.timeoutMs }))
    case 'register-batch': return await operations.registerBatch({ lines: request.lines, ...(request.check === true ? { check: true } : {}) })
    case 'share-add': return await operations.shareAdd(withoutOp(request))
    case 'share-list': return await operations.shareList()
    case 'share-remove': return await operations.shareRemove(withoutOp(request))
    case 'fetch': return await operations.fetch(withoutOp(request))
    case 'exchange-log': return await operations.exchangeLog(withoutOp(request))
    case 'rotate': return await operations.rotate()
    case 'reinstate': return await operations.reinstate({ code: request.code, key: request.key, ...(request.next !== undefined ? { next: request.next } : {}) })
    case 'publish': return await operations.publish({ ...(request.sub !== undefined ? { sub: request.sub } : {}), ...(request.values !== undefined ? { values: request.values } : {}) })
    case 'invite': return invitationToWire(await operations.invite({ key: request.key, ...(request.code !== undefined ? { code: request.code } : {}), ...(request.validDays !== undefined ? { validDays: request.validDays } : {}) }))
  }
}

/** The request's arguments, its op dropped and absent optional fields left out. */
function withoutOp<T extends { op: string }> (request: T): Omit<T, 'op'> {
  const { op: _op, ...rest } = request
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Omit<T, 'op'>
}

async function answer (operations: AdminOperations, req: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> {
  try {
    const path = (req.url ?? '').split('?')[0]
    if (path !== ADMIN_PATH) {
      req.resume()
      throw new AdminRequestError(`no ${JSON.stringify((path ?? '').slice(0, 64))} here: this node speaks version ${ADMIN_PROTOCOL_VERSION} of the admin protocol at POST ${ADMIN_PATH}`, { field: '(path)', version: ADMIN_PROTOCOL_VERSION })
    }
    if (req.method !== 'POST') {
      req.resume()
      throw new AdminRequestError(`${req.method ?? '(none)'} is not allowed: send POST ${ADMIN_PATH}`, { field: '(method)' })
    }
    const request = parseAdminRequest(await readBody(req))
    log('admin %s', request.op)
    send(res, 200, { v: ADMIN_PROTOCOL_VERSION, result: await dispatch(operations, request) })
  } catch (err) {
    // a request cut off at its deadline ends here with the socket already destroyed: nothing failed
    if (req.socket.destroyed) return
    if (!isCitycodeError(err)) log.error('admin request failed: %s', (err as Error).stack ?? (err as Error).message)
    // a body cut off at the limit leaves unread bytes on the connection: close it after answering
    sendError(res, err, err instanceof AdminRequestTooLargeError)
  }
}
