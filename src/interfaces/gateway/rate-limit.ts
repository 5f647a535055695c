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
