import type { Socket } from 'node:net'
import Fastify from 'fastify'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isCitycodeError } from '../../core/errors.ts'
import { ConfigError } from '../config/load.ts'
import type { GatewayContext } from './context.ts'
import {
  DEFAULT_GATEWAY_HOST, DEFAULT_GATEWAY_PORT, DEFAULT_LOG_CACHE_MS, DEFAULT_MAX_URL_LENGTH, DEFAULT_RATE_BURST, DEFAULT_RATE_PER_SECOND,
  DEFAULT_RESOLVE_TIMEOUT_MS, parseListen
} from './constants.ts'
import type { Gateway, GatewayComponents, GatewayInit } from './index.ts'
import { LogCache } from './log-cache.ts'
import { GatewayMetrics } from './metrics.ts'
import { openApiDocument } from './openapi.ts'
import {
  GatewayListenError, InvalidRequestError, MethodNotAllowedError, PROBLEM_CONTENT_TYPE, problemFor, RateLimitedError, RouteNotFoundError, UrlTooLongError
} from './problem.ts'
import { RateLimiter } from './rate-limit.ts'
import { routeModules } from './routes/index.ts'

/** A slow client cannot hold a connection open for longer than this per request. */
const REQUEST_TIMEOUT_MS = 30_000
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
    this.app = buildApp(init, ctx)
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

/** Fastify's own request errors (schema validation, bad content) as our typed errors; anything else unchanged. */
function asTyped (err: FastifyError): unknown {
  if (isCitycodeError(err)) return err
  if (err.validation !== undefined) return new InvalidRequestError(`${err.validationContext ?? 'request'}: ${err.message}`, { where: err.validationContext ?? null })
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return new InvalidRequestError(err.message, { fastify: err.code })
  return err
}

/** What a malformed HTTP request (bad request line, headers too large) gets before it reaches a route. */
function clientError (err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy()
    return
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW'
  const status = tooLarge ? 431 : 400
  const body = JSON.stringify({
    type: `urn:citycode:problem:${tooLarge ? 'HeadersTooLargeError' : 'InvalidRequestError'}`,
    title: tooLarge ? 'Request header fields too large' : 'Bad request',
    status,
    detail: tooLarge ? 'the request headers are too large' : 'the request is not valid HTTP',
    code: tooLarge ? 'ERR_HEADERS_TOO_LARGE' : 'ERR_INVALID_REQUEST'
  })
  socket.end(`HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}

function buildApp (init: GatewayInit, ctx: GatewayContext): FastifyInstance {
  const logMode = init.log ?? (process.stderr.isTTY ? 'text' : 'json')
  const maxUrlLength = init.maxUrlLength ?? DEFAULT_MAX_URL_LENGTH
  const limiter = init.rateLimit === false ? undefined : new RateLimiter(init.rateLimit?.perSecond ?? DEFAULT_RATE_PER_SECOND, init.rateLimit?.burst ?? DEFAULT_RATE_BURST)
  const commonHeaders = {
    'access-control-allow-origin': init.corsOrigin ?? '*',
    'access-control-expose-headers': EXPOSED_HEADERS,
    'x-content-type-options': 'nosniff'
  }
  const app = Fastify({
    logger: logMode === 'json' ? { level: 'info', stream: process.stderr } : false,
    // long codes reach the handler, whose parser names what is wrong with them
    routerOptions: { maxParamLength: maxUrlLength },
    requestTimeout: REQUEST_TIMEOUT_MS,
    return503OnClosing: true,
    clientErrorHandler: clientError,
    // unknown query parameters are refused, not silently dropped
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } }
  })

  // callback hooks, not async ones: every request runs them, and a promise each is measurable
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(commonHeaders)
    if (request.url.length > maxUrlLength) {
      done(new UrlTooLongError(`the request target has ${request.url.length} characters, more than ${maxUrlLength}`, { length: request.url.length, max: maxUrlLength }))
      return
    }
    if (!READ_METHODS.has(request.method)) {
      reply.header('allow', ALLOW)
      done(new MethodNotAllowedError(`${request.method.slice(0, 16)} is not allowed: the gateway only reads`, { method: request.method.slice(0, 16) }))
      return
    }
    if (limiter !== undefined) {
      const wait = limiter.take(request.ip, Date.now())
      if (wait > 0) {
        reply.header('retry-after', String(wait))
        done(new RateLimitedError(`too many requests from ${request.ip}: retry in ${wait} s`, { retryAfter: wait }))
        return
      }
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

  app.setErrorHandler((err: FastifyError, request, reply) => sendProblem(ctx, request, reply, asTyped(err)))
  app.setNotFoundHandler((request, reply) => sendProblem(ctx, request, reply, new RouteNotFoundError(`no resource at ${request.url.slice(0, INSTANCE_MAX)}`, {})))

  for (const m of routeModules) m.register(app, ctx)
  const openapi = JSON.stringify(openApiDocument(routeModules))
  app.get('/openapi.json', async (_request, reply) => await reply.type('application/json').send(openapi))
  return app
}
