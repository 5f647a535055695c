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
