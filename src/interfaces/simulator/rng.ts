/**
 * A seeded PRNG (mulberry32): the same seed gives the same scenario, workload and choices, so a
 * rerun reproduces the same operations (latencies still vary with the machine).
 */
export class Rng {
  private state: number

  constructor (seed: number) {
    this.state = seed >>> 0
  }

  next (): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  int (maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive)
  }

  pick<T> (items: readonly T[]): T {
    return items[this.int(items.length)] as T
  }

  /** k distinct indices from 0..n-1. */
  sample (n: number, k: number): number[] {
    const out = new Set<number>()
    while (out.size < Math.min(k, n)) out.add(this.int(n))
    return [...out]
  }

  exponential (mean: number): number {
    return -Math.log(1 - this.next()) * mean
  }

  /** Zipf(s) over ranks 1..n, as a 0-based index. */
  zipf (n: number, s: number): number {
    let norm = 0
    for (let i = 1; i <= n; i++) norm += 1 / i ** s
    let u = this.next() * norm
    for (let i = 1; i <= n; i++) {
      u -= 1 / i ** s
      if (u <= 0) return i - 1
    }
    return n - 1
  }
}
