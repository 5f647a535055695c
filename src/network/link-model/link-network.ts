
/**
 * The shared medium of a simulated network: who listens where, how long each link takes, and which
 * links are cut. Every connection of every node in the process goes through one LinkNetwork.
 */
export interface LinkEndpoint {
  /** Delivers bytes to this end's reader. */
  deliver(data: Uint8Array): void
  /** The remote end closed (err: reset). */
  remoteClosed(err?: Error): void
}

export interface LinkListener {
  readonly address: string
  accept(remoteName: string, connect: (local: LinkEndpoint) => LinkEndpoint): void
}

export interface LinkNetworkInit {
  /** One-way latency from node `from` to node `to` (names are the listen names), ms. */
  latencyMs?: (from: string, to: string) => number
  /**
   * Share of buffers hit by loss. The links are reliable streams (like TCP), so a lost buffer is
   * retransmitted: it arrives one retransmission timeout later (and everything behind it waits).
   */
  lossRate?: number
  /** Retransmission delay of a lost buffer, ms. @default 3 x the link latency, at least 10 ms */
  retransmitMs?: (latency: number) => number
  /** Random source for loss (seeded by the simulator). @default Math.random */
  random?: () => number
  /** Bandwidth of every link, Mbit/s (serialisation delay = bytes x 8 / rate). @default unlimited */
  bandwidthMbps?: number
}

/**
 * One direction of one connection: buffers leave in order and each arrives at its own send time
 * plus the link latency (never before the one sent ahead of it). So n buffers in flight cost one
 * latency, not n, unlike `@libp2p/memory`'s `latency` option which waits once per buffer. One timer
 * per direction at most, however many buffers are in flight.
 */
export class LinkDirection {
  private readonly queue: Array<{ at: number, data?: Uint8Array, close?: { err?: Error } }> = []
  private timer: ReturnType<typeof setTimeout> | undefined
  private lastAt = 0
  /** When the sender's side of the link is free again (bandwidth): buffers are serialised one after another. */
  private busyUntil = 0
  private readonly target: () => LinkEndpoint | undefined
  private readonly delayOf: () => number
  private readonly msPerByte: number

  /** @param msPerByte serialisation time of one byte (8 / bits per ms); 0 for unlimited bandwidth */
  constructor (target: () => LinkEndpoint | undefined, delayOf: () => number, msPerByte = 0) {
    this.target = target
    this.delayOf = delayOf
    this.msPerByte = msPerByte
  }

  send (data: Uint8Array): void {
    this.enqueue({ data }, data.byteLength)
  }

  close (err?: Error): void {
    this.enqueue({ close: { err } }, 0)
  }

  cancel (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.queue.length = 0
  }

  private enqueue (item: { data?: Uint8Array, close?: { err?: Error } }, bytes: number): void {
    const now = performance.now()
    // the last byte leaves once the ones queued ahead of it and this buffer itself are on the wire
    let sent = now
    if (this.msPerByte > 0) {
      this.busyUntil = Math.max(now, this.busyUntil) + bytes * this.msPerByte
      sent = this.busyUntil
    }
    const at = Math.max(sent + this.delayOf(), this.lastAt)
    this.lastAt = at
    this.queue.push({ at, ...item })
    if (this.timer === undefined) this.arm()
  }

  private arm (): void {
    const head = this.queue[0]
    if (head === undefined) return
    this.timer = setTimeout(() => { this.flush() }, Math.max(0, head.at - performance.now()))
    // a link in flight must not keep a finished simulation alive
    this.timer.unref?.()
  }

  private flush (): void {
    this.timer = undefined
    const now = performance.now()
    while (this.queue.length > 0 && (this.queue[0] as { at: number }).at <= now + 0.5) {
      const item = this.queue.shift() as { data?: Uint8Array, close?: { err?: Error } }
      const end = this.target()
      if (end === undefined) continue
      if (item.data !== undefined) end.deliver(item.data)
      else end.remoteClosed(item.close?.err)
    }
    this.arm()
  }
}

export class LinkNetwork {
  private readonly listeners = new Map<string, LinkListener>()
  private readonly partitions = new Map<string, number>()
  private readonly init: LinkNetworkInit
  private readonly open = new Set<{ abort: (err: Error) => void, names: [string, string] }>()

  constructor (init: LinkNetworkInit = {}) {
    this.init = init
  }

  listen (listener: LinkListener): void {
    if (this.listeners.has(listener.address)) throw new Error(`link address ${listener.address} already in use`)
    this.listeners.set(listener.address, listener)
  }

  unlisten (address: string): void {
    this.listeners.delete(address)
  }

  listener (address: string): LinkListener | undefined {
    return this.listeners.get(address)
  }

  /** One-way delay of one buffer on the link from -> to, loss included. */
  delay (from: string, to: string): number {
    const base = Math.max(0, this.init.latencyMs?.(from, to) ?? 0)
    const loss = this.init.lossRate ?? 0
    if (loss > 0 && (this.init.random ?? Math.random)() < loss) return base + (this.init.retransmitMs?.(base) ?? Math.max(10, 3 * base))
    return base
  }

  /** Serialisation time of one byte on a link, ms (0: unlimited bandwidth). */
  msPerByte (): number {
    const mbps = this.init.bandwidthMbps
    return mbps === undefined ? 0 : 8 / (mbps * 1000)
  }

  /** Splits the network: nodes in different groups can no longer reach each other. */
  partition (groups: string[][]): void {
    this.partitions.clear()
    groups.forEach((group, i) => { for (const name of group) this.partitions.set(name, i) })
    for (const c of [...this.open]) {
      if (!this.reachable(c.names[0], c.names[1])) c.abort(new Error('link partitioned'))
    }
  }

  heal (): void {
    this.partitions.clear()
  }

  reachable (a: string, b: string): boolean {
    const pa = this.partitions.get(a)
    const pb = this.partitions.get(b)
    return pa === undefined || pb === undefined || pa === pb
  }

  /** Remembers an open connection so a partition can cut it. */
  track (names: [string, string], abort: (err: Error) => void): () => void {
    const entry = { names, abort }
    this.open.add(entry)
    return () => { this.open.delete(entry) }
  }
}
