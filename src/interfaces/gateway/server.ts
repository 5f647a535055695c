import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import Fastify from 'fastify'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isCitycodeError } from '../../core/errors.ts'
import { ConfigError } from '../config/load.ts'
import { guardConnections } from './connections.ts'
import type { GatewayContext } from './context.ts'
import {
  DEFAULT_CONNECTION_LIMITS, DEFAULT_GATEWAY_HOST, DEFAULT_GATEWAY_PORT, DEFAULT_GLOBAL_RATE_BURST, DEFAULT_GLOBAL_RATE_PER_SECOND, DEFAULT_LOG_CACHE_MS,
  DEFAULT_MAX_URL_LENGTH, DEFAULT_RATE_BURST, DEFAULT_RATE_PER_SECOND, DEFAULT_RESOLVE_TIMEOUT_MS, parseListen
} from './constants.ts'
import type { GatewayConnectionLimits } from './constants.ts'
import type { Gateway, GatewayComponents, GatewayInit } from './index.ts'
import { LogCache } from './log-cache.ts'
import { GatewayMetrics } from './metrics.ts'
import { openApiDocument } from './openapi.ts'
import {
  BodyTooLargeError, ClientTimeoutError, ExpectationFailedError, GatewayBusyError, GatewayClosingError, GatewayListenError, HeadersTooLargeError,
  InvalidRequestError, MalformedUrlError, MethodNotAllowedError, PROBLEM_CONTENT_TYPE, problemFor, RateLimitedError, RouteNotFoundError, UnsupportedMediaTypeError,
  UrlTooLongError
} from './problem.ts'
import { GatewayRateLimits } from './rate-limit.ts'
import { routeModules } from './routes/index.ts'

/** A socket answered by the client-error path is destroyed this long after its answer, read or not. */
const CLIENT_ERROR_LINGER_MS = 1_000
/** The `instance` of a problem echoes at most this much of the request target. */
const INSTANCE_MAX = 256
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const ALLOW = 'GET, HEAD, OPTIONS'
const EXPOSED_HEADERS = 'etag, cache-control, x-citycode-source, retry-after'

export class GatewayServer implements Gateway {
  private readonly app: FastifyInstance
  private readonly host: string
  private readonly port: number
  readonly metrics: GatewayMetrics
  readonly limits: Readonly<GatewayConnectionLimits>
  /** Connections open by client key (an IPv4 address or an IPv6 /64). */
  readonly connections: ReadonlyMap<string, number>
  private readonly state = { closing: false }
  private address = ''

  constructor (init: GatewayInit, components: GatewayComponents) {
    const { host, port } = parseListen(init.listen ?? `${DEFAULT_GATEWAY_HOST}:${DEFAULT_GATEWAY_PORT}`)
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`gateway address ${init.listen ?? ''} needs a port 0..65535`, { field: 'http' })
    this.host = host
    this.port = port
    this.metrics = new GatewayMetrics(components.node, components.registry)
    const resolveTimeoutMs = init.resolveTimeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS
    const ledger = components.node.ledger
    const ctx: GatewayContext = {
      node: components.node,
      metrics: this.metrics,
      logs: ledger === undefined ? undefined : new LogCache(ledger, init.logCacheMs ?? DEFAULT_LOG_CACHE_MS, resolveTimeoutMs),
      resolveTimeoutMs
    }
    this.limits = connectionLimits(init.connections)
    this.app = buildApp(init, ctx, this.limits, this.state)
    this.connections = guardConnections(this.app.server, this.limits, this.metrics)
  }

  /** The node:http server under fastify (its limits are the gateway's). */
  get server (): Server {
    return this.app.server
  }

  get url (): string {
    return this.address
  }

  async start (): Promise<void> {
    try {
      await this.app.listen({ host: this.host, port: this.port })
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'unknown'
      throw new GatewayListenError(`cannot serve the gateway on ${this.host}:${this.port}: ${code === 'EADDRINUSE' ? 'address in use' : (err as Error).message}`, { host: this.host, port: this.port, reason: code })
    }
    const a = this.app.server.address()
    if (a !== null && typeof a === 'object') this.address = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`
  }

  async stop (): Promise<void> {
    // requests still arriving on open connections get a problem, not fastify's own 503 body
    this.state.closing = true
    this.metrics.close()
    await this.app.close()
  }
}

function sendProblem (ctx: GatewayContext, request: FastifyRequest | undefined, reply: FastifyReply, err: unknown): FastifyReply {
  const problem = problemFor(err, request?.url.slice(0, INSTANCE_MAX))
  ctx.metrics.rejection(problem.type.slice(problem.type.lastIndexOf(':') + 1))
  if (problem.status >= 500 && problem.status !== 504) request?.log.error({ err }, 'request failed')
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).header('cache-control', 'no-store').send(JSON.stringify(problem))
}

/** The limits of `init`, each missing one at its default; refuses values the HTTP server cannot honour. */
export function connectionLimits (given: Partial<GatewayConnectionLimits> = {}): Readonly<GatewayConnectionLimits> {
  const limits: GatewayConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS }
  for (const [field, value] of Object.entries(given) as Array<[keyof GatewayConnectionLimits, number | undefined]>) {
    if (value === undefined) continue
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(`gateway limit ${field} must be a positive integer, not ${String(value)}`, { field })
    limits[field] = value
  }
  // node:http refuses a header deadline past the request's (the headers are part of the request)
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) throw new ConfigError(`gateway headersTimeoutMs (${limits.headersTimeoutMs}) must not exceed requestTimeoutMs (${limits.requestTimeoutMs})`, { field: 'headersTimeoutMs' })
  return Object.freeze(limits)
}

/** Fastify's own request errors (schema validation, bad content, its router's refusals) as our typed errors; anything else unchanged. */
function asTyped (err: FastifyError, request: FastifyRequest | undefined, limits: Readonly<GatewayConnectionLimits>): unknown {
  if (isCitycodeError(err)) return err
  if (err.validation !== undefined) return new InvalidRequestError(`${err.validationContext ?? 'request'}: ${err.message}`, { where: err.validationContext ?? null })
  const length = request?.url.length ?? 0
  switch (err.code) {
    case 'FST_ERR_BAD_URL': return new MalformedUrlError('the request target is not valid percent-encoding (a % must be followed by two hex digits)', { fastify: err.code })
    case 'FST_ERR_MAX_PARAM_LENGTH': return new UrlTooLongError(`a path segment of the request target (${length} characters) is over the limit`, { length, fastify: err.code })
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return new BodyTooLargeError(`the request body is over ${limits.bodyLimitBytes} bytes: the gateway takes none`, { limit: limits.bodyLimitBytes })
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH': return new UnsupportedMediaTypeError('no route of the gateway takes a request body', { fastify: err.code })
  }
  if (typeof err.statusCode === 'number' && err.statusCode === 413) return new BodyTooLargeError(err.message, { limit: limits.bodyLimitBytes, fastify: err.code })
  if (typeof err.statusCode === 'number' && err.statusCode === 415) return new UnsupportedMediaTypeError(err.message, { fastify: err.code })
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return new InvalidRequestError(err.message, { fastify: err.code })
  return err
}

const REASON: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 417: 'Expectation Failed', 431: 'Request Header Fields Too Large' }

/** A whole HTTP/1.1 answer with a problem body, for the paths that have a socket and no reply. */
function rawProblem (problem: ReturnType<typeof problemFor>): string {
  const body = JSON.stringify(problem)
  return `HTTP/1.1 ${problem.status} ${REASON[problem.status] ?? 'Error'}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncache-control: no-store\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
}

/**
 * What node:http hands over without a request: bytes that are not HTTP, headers over the limit, a
 * request past its header or request deadline. Each gets its typed problem, counted like any other,
 * and the socket is destroyed: http.Server sockets are half-open, so `end()` alone leaves one open
 * until the client closes its side, which a client that never reads never does.
 */
function clientErrorHandler (ctx: GatewayContext, limits: Readonly<GatewayConnectionLimits>): (err: Error & { code?: string }, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy()
      return
    }
    const typed = err.code === 'HPE_HEADER_OVERFLOW'
      ? new HeadersTooLargeError(`the request line and headers are over ${limits.maxHeaderBytes} bytes`, { limit: limits.maxHeaderBytes })
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new ClientTimeoutError(`the request did not arrive whole in time (headers within ${limits.headersTimeoutMs} ms, all of it within ${limits.requestTimeoutMs} ms)`, { headersTimeoutMs: limits.headersTimeoutMs, requestTimeoutMs: limits.requestTimeoutMs })
        : new InvalidRequestError('the request is not valid HTTP/1.1', { parser: err.code ?? null })
    ctx.metrics.rejection(typed.name)
    // an answer half-written by a route must not get a second status line inside it
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
    if (inFlight?.headersSent === true) {
      socket.destroy()
      return
    }
    socket.end(rawProblem(problemFor(typed)))
    socket.destroySoon()
    setTimeout(() => { socket.destroy() }, CLIENT_ERROR_LINGER_MS).unref()
  }
}

function buildApp (init: GatewayInit, ctx: GatewayContext, limits: Readonly<GatewayConnectionLimits>, state: { readonly closing: boolean }): FastifyInstance {
  // an access log is asked for: by default it would be mixed into the operator's own output
  const logMode = init.log ?? 'off'
  const maxUrlLength = init.maxUrlLength ?? DEFAULT_MAX_URL_LENGTH
  const rateLimits = new GatewayRateLimits(
    init.rateLimit === false ? undefined : { perSecond: init.rateLimit?.perSecond ?? DEFAULT_RATE_PER_SECOND, burst: init.rateLimit?.burst ?? DEFAULT_RATE_BURST },
    init.globalRateLimit === false ? undefined : { perSecond: init.globalRateLimit?.perSecond ?? DEFAULT_GLOBAL_RATE_PER_SECOND, burst: init.globalRateLimit?.burst ?? DEFAULT_GLOBAL_RATE_BURST }
  )
  const commonHeaders = {
    'access-control-allow-origin': init.corsOrigin ?? '*',
    'access-control-expose-headers': EXPOSED_HEADERS,
    'x-content-type-options': 'nosniff'
  }
  const app = Fastify({
    logger: logMode === 'json' ? { level: 'info', stream: process.stderr } : false,
    // long codes reach the handler, whose parser names what is wrong with them
    routerOptions: { maxParamLength: maxUrlLength },
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // node's default looks every 30 s, which turns a 10 s header deadline into 40 s
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // node answers a missing Host with a bare 400 of its own; the onRequest hook gives the problem
      requireHostHeader: false
    },
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // a socket with no traffic either way is destroyed (server.setTimeout with no listener)
    connectionTimeout: limits.idleTimeoutMs,
    bodyLimit: limits.bodyLimitBytes,
    // fastify's own 503 while closing is not a problem: the onRequest hook answers instead
    return503OnClosing: false,
    clientErrorHandler: clientErrorHandler(ctx, limits),
    // the router's refusals (`%ZZ`, an over-long path segment) go through the same problem path
    frameworkErrors: (err, request, reply) => {
      reply.headers(commonHeaders)
      sendProblem(ctx, request, reply, asTyped(err, request, limits))
    },
    // unknown query parameters are refused, not silently dropped
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } }
  })
  app.server.maxHeadersCount = limits.maxHeadersCount
  // node answers an `Expect` it cannot meet with a bare 417 of its own
  app.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const problem = problemFor(new ExpectationFailedError(`the gateway cannot meet "Expect: ${String(req.headers.expect).slice(0, 64)}"`, {}), req.url?.slice(0, INSTANCE_MAX))
    ctx.metrics.rejection('ExpectationFailedError')
    const body = JSON.stringify(problem)
    res.writeHead(417, { ...commonHeaders, 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body), connection: 'close' })
    res.end(body)
  })

  // callback hooks, not async ones: every request runs them, and a promise each is measurable
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(commonHeaders)
    if (state.closing) {
      reply.header('connection', 'close')
      done(new GatewayClosingError('the gateway is stopping', {}))
      return
    }
    if (request.url.length > maxUrlLength) {
      done(new UrlTooLongError(`the request target has ${request.url.length} characters, more than ${maxUrlLength}`, { length: request.url.length, max: maxUrlLength }))
      return
    }
    if (!READ_METHODS.has(request.method)) {
      reply.header('allow', ALLOW)
      done(new MethodNotAllowedError(`${request.method.slice(0, 16)} is not allowed: the gateway only reads`, { method: request.method.slice(0, 16) }))
      return
    }
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
      done(new InvalidRequestError('an HTTP/1.1 request needs a Host header', { header: 'host' }))
      return
    }
    const spent = rateLimits.take(request.ip, Date.now())
    if (spent !== undefined) {
      reply.header('retry-after', String(spent.retryAfter))
      done(spent.scope === 'address'
        ? new RateLimitedError(`too many requests from ${request.ip}: retry in ${spent.retryAfter} s`, { retryAfter: spent.retryAfter })
        : new GatewayBusyError(`the gateway's budget for all clients is spent: retry in ${spent.retryAfter} s`, { retryAfter: spent.retryAfter }))
      return
    }
    if (request.method === 'OPTIONS') {
      // CORS preflight: every endpoint is a read
      reply.code(204)
        .header('access-control-allow-methods', ALLOW)
        .header('access-control-allow-headers', request.headers['access-control-request-headers'] ?? 'content-type')
        .header('access-control-max-age', '86400')
        .send()
      return
    }
    done()
  })

  app.addHook('onResponse', (request, reply, done) => {
    ctx.metrics.request(request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
    if (logMode === 'text') process.stderr.write(`${request.method} ${request.url.slice(0, INSTANCE_MAX)} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)} ms\n`)
    done()
  })

  app.setErrorHandler((err: FastifyError, request, reply) => sendProblem(ctx, request, reply, asTyped(err, request, limits)))
  app.setNotFoundHandler((request, reply) => sendProblem(ctx, request, reply, new RouteNotFoundError(`no resource at ${request.url.slice(0, INSTANCE_MAX)}`, {})))

  for (const m of routeModules) m.register(app, ctx)
  const openapi = JSON.stringify(openApiDocument(routeModules))
  app.get('/openapi.json', async (_request, reply) => await reply.type('application/json').send(openapi))
  return app
}
