/** Address served when none is given: loopback only, never every interface by default. */
export const DEFAULT_GATEWAY_HOST = '127.0.0.1'
export const DEFAULT_GATEWAY_PORT = 8080
/** The whole of one network resolution behind a request; past it the answer is 504. */
export const DEFAULT_RESOLVE_TIMEOUT_MS = 10_000
/** Longer request targets are refused with 414 before routing. */
export const DEFAULT_MAX_URL_LENGTH = 2048
/** Requests per second per client address (token bucket), and the burst it may spend at once. */
export const DEFAULT_RATE_PER_SECOND = 50
export const DEFAULT_RATE_BURST = 200
/** A log read for children, history and the log endpoint is reused this long. */
export const DEFAULT_LOG_CACHE_MS = 5_000

/** Parses `host:port` (the CLI's `--http`); a bare port means loopback. */
export function parseListen (text: string): { host: string, port: number } {
  const at = text.lastIndexOf(':')
  const host = at < 0 ? DEFAULT_GATEWAY_HOST : text.slice(0, at).replace(/^\[|\]$/g, '')
  const port = Number(at < 0 ? text : text.slice(at + 1))
  return { host: host === '' ? DEFAULT_GATEWAY_HOST : host, port }
}

/**
 * Requests per second across every client together, and its burst: the per-address bucket alone
 * lets N addresses through N times over (40 loopback addresses passed 1000 requests at once), so
 * one budget for the whole gateway sits beside it. Four clients at their own full rate fill it; a
 * gateway serving many people raises it (a cached answer costs ~40 us, 26,000/s on one core).
 */
export const DEFAULT_GLOBAL_RATE_PER_SECOND = 200
export const DEFAULT_GLOBAL_RATE_BURST = 200

/**
 * Connections open at once. Every one holds a file descriptor of the process that also dials
 * libp2p peers and serves the admin socket: 20,000 that never read took all three down, so the
 * gateway keeps well under the usual descriptor limit.
 */
export const DEFAULT_MAX_CONNECTIONS = 1024
/** Connections open at once from one client address (an IPv6 /64 counts as one address). */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 64
/** Request line and headers must have arrived this long after the request started. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000
/** The whole request, headers and body, must have arrived this long after it started. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000
/** An idle keep-alive connection is closed after this. */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000
/**
 * A connection on which nothing moves either way is destroyed after this; above the resolve
 * deadline, since a request waiting for the network is silent meanwhile.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000
/** How often the HTTP server looks for requests past their header or request deadline. */
export const DEFAULT_TIMEOUT_CHECK_INTERVAL_MS = 1_000
/** Header lines kept per request; a read needs a handful. */
export const DEFAULT_MAX_HEADERS_COUNT = 64
/** Request line and headers together; more is refused with 431. */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024
/** Request bodies: the gateway only reads, no route takes one. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024

/** The connection and request limits of the gateway (`GatewayInit.connections`); every one in ms or a count. */
export interface GatewayConnectionLimits {
  maxConnections: number
  maxConnectionsPerAddress: number
  headersTimeoutMs: number
  requestTimeoutMs: number
  keepAliveTimeoutMs: number
  idleTimeoutMs: number
  timeoutCheckIntervalMs: number
  maxHeadersCount: number
  maxHeaderBytes: number
  bodyLimitBytes: number
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<GatewayConnectionLimits> = Object.freeze({
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  maxConnectionsPerAddress: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  headersTimeoutMs: DEFAULT_HEADERS_TIMEOUT_MS,
  requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
  keepAliveTimeoutMs: DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
  timeoutCheckIntervalMs: DEFAULT_TIMEOUT_CHECK_INTERVAL_MS,
  maxHeadersCount: DEFAULT_MAX_HEADERS_COUNT,
  maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
  bodyLimitBytes: DEFAULT_BODY_LIMIT_BYTES
})
