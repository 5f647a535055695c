import { mkdirSync, writeFileSync } from 'node:fs'

/**
 * Shared by the benchmarks: these machines are noisy, so every figure is a ratio against a baseline
 * measured in the same run, interleaved (A B A B ...) so drift hits both, and the median of the
 * rounds is reported.
 */
export interface Timed { name: string, opsPerSecond: number[] }

export function opsPerSecond (fn: () => void, iterations: number): number {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) fn()
  const ns = Number(process.hrtime.bigint() - t0)
  return iterations / (ns / 1e9)
}

/**
 * Like opsPerSecond, but per second of CPU time this process was given (user + system), not of
 * wall time: on a machine shared with other work, time spent waiting for a core is nobody's cost.
 * Only for synchronous, CPU-bound cases.
 */
export function opsPerCpuSecond (fn: () => void, iterations: number): number {
  const t0 = process.cpuUsage()
  for (let i = 0; i < iterations; i++) fn()
  const used = process.cpuUsage(t0)
  return iterations / ((used.user + used.system) / 1e6)
}

export function median (values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

export function quantile (values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number
}

/**
 * Runs each case in turn for `rounds` rounds; returns ops/s per round per case. The order rotates
 * from round to round, so no case always runs right after the same other one (and pays for the
 * garbage it left).
 */
export function interleave (cases: Record<string, { fn: () => void, iterations: number }>, rounds: number, clock: 'wall' | 'cpu' = 'wall'): Record<string, number[]> {
  const measure = clock === 'cpu' ? opsPerCpuSecond : opsPerSecond
  const out: Record<string, number[]> = {}
  const entries = Object.entries(cases)
  for (const [name] of entries) out[name] = []
  for (const [, c] of entries) measure(c.fn, Math.ceil(c.iterations / 4))
  for (let r = 0; r < rounds; r++) {
    for (let n = 0; n < entries.length; n++) {
      const [name, c] = entries[(r + n) % entries.length] as [string, { fn: () => void, iterations: number }]
      ;(out[name] as number[]).push(measure(c.fn, c.iterations))
    }
  }
  return out
}

/** Median of the per-round ratios a/b (paired rounds cancel drift between rounds). */
export function pairedRatio (a: readonly number[], b: readonly number[]): number {
  return median(a.map((x, i) => x / (b[i] as number)))
}

export function writeResults (name: string, figures: unknown): string {
  const dir = new URL('./results/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  const file = new URL(`${name}.json`, dir)
  writeFileSync(file, JSON.stringify({ bench: name, date: new Date().toISOString(), node: process.version, figures }, null, 2) + '\n')
  return file.pathname
}
