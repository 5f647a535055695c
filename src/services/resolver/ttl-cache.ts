/**
 * A bounded cache whose entries expire (time-aware LRU): a hit costs one Map lookup, so the cached
 * path stays well under a millisecond. Time is passed in, so tests and simulations control it.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V, expiresAt: number }>()
  private readonly maxEntries: number

  constructor (maxEntries: number) {
    this.maxEntries = maxEntries
  }

  get (key: string, now: number): V | undefined {
    const e = this.entries.get(key)
    if (e === undefined) return undefined
    if (now >= e.expiresAt) return undefined
    return e.value
  }

  /** The entry even if expired: a stale record still tells where its holder lives. */
  peek (key: string): { value: V, expiresAt: number } | undefined {
    return this.entries.get(key)
  }

  set (key: string, value: V, expiresAt: number): void {
    this.entries.delete(key)
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.entries.delete(oldest)
    }
    this.entries.set(key, { value, expiresAt })
  }

  has (key: string): boolean {
    return this.entries.has(key)
  }

  delete (key: string): void {
    this.entries.delete(key)
  }

  get size (): number {
    return this.entries.size
  }

  keys (): IterableIterator<string> {
    return this.entries.keys()
  }
}
