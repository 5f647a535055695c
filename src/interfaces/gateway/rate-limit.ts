import { isIPv4, isIPv6 } from 'node:net'

/** Client addresses tracked at most; the least recently seen are forgotten first. */
const MAX_CLIENTS = 10_000

/**
 * A token bucket per client address: `burst` requests at once, refilled at `perSecond`. Cheap enough
 * for every request (one Map lookup and a little arithmetic).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number, at: number }>()
  private readonly perSecond: number
  private readonly burst: number

  constructor (perSecond: number, burst: number) {
    this.perSecond = perSecond
    this.burst = burst
  }

  /** Takes one token for `client`; returns 0 when allowed, else the seconds until one is available. */
  take (client: string, nowMs: number): number {
    let b = this.buckets.get(client)
    if (b === undefined) {
      if (this.buckets.size >= MAX_CLIENTS) this.buckets.delete(this.buckets.keys().next().value as string)
      b = { tokens: this.burst, at: nowMs }
      this.buckets.set(client, b)
    } else {
      b.tokens = Math.min(this.burst, b.tokens + (nowMs - b.at) * this.perSecond / 1000)
      b.at = nowMs
    }
    if (b.tokens >= 1) {
      b.tokens -= 1
      return 0
    }
    return Math.ceil((1 - b.tokens) / this.perSecond)
  }
}

/**
 * The gateway's limits: a bucket per client (`clientKey`) and, beside it, one for all clients
 * together, since an attacker with many addresses (an IPv6 prefix holds 2^64 of them) passes any
 * per-address limit. A request refused per address spends nothing of the shared budget, so one
 * noisy client cannot spend it for the others.
 */
export class GatewayRateLimits {
  private readonly perClient: RateLimiter | undefined
  private readonly global: RateLimiter | undefined

  constructor (perClient: { perSecond: number, burst: number } | undefined, global: { perSecond: number, burst: number } | undefined) {
    this.perClient = perClient === undefined ? undefined : new RateLimiter(perClient.perSecond, perClient.burst)
    this.global = global === undefined ? undefined : new RateLimiter(global.perSecond, global.burst)
  }

  /** Allowed (`undefined`), or which budget is spent and the seconds until it has a token again. */
  take (address: string, nowMs: number): { scope: 'address' | 'global', retryAfter: number } | undefined {
    const own = this.perClient?.take(clientKey(address), nowMs) ?? 0
    if (own > 0) return { scope: 'address', retryAfter: own }
    const all = this.global?.take('*', nowMs) ?? 0
    if (all > 0) return { scope: 'global', retryAfter: all }
    return undefined
  }
}

/**
 * What one client is, for limits: an IPv4 address (also when it reaches a dual-stack socket as
 * `::ffff:a.b.c.d`), or the /64 prefix of an IPv6 address. One /64 is the smallest block a site is
 * given (RFC 6177), and an attacker holding one can take a new address from it for every request.
 */
export function clientKey (address: string | undefined): string {
  if (address === undefined || address === '') return '(unknown)'
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped !== null) return mapped[1] as string
  if (isIPv4(address)) return address
  const bare = address.split('%')[0] as string
  if (!isIPv6(bare)) return address
  return `${expandIPv6(bare).slice(0, 4).join(':')}::/64`
}

/** The eight groups of an IPv6 address, each as a lower-case number without leading zeros. */
function expandIPv6 (address: string): string[] {
  let text = address.toLowerCase()
  // an embedded IPv4 tail (`::1.2.3.4`) is two groups
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const zeros = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0')
  return [...left, ...zeros, ...right].map(g => parseInt(g, 16).toString(16))
}
