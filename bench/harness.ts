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

export interface Case { fn: () => void, iterations: number }
export type Rounds = Record<string, number[]>

/**
 * Runs each case in turn for `rounds` rounds; returns ops/s per round per case. The order rotates
 * from round to round, so no case always runs right after the same other one (and pays for the
 * garbage it left).
 */
export function interleave (cases: Record<string, Case>, rounds: number): Rounds {
  return interleaveClocks(cases, rounds).wall
}

/**
 * Like interleave, timing every round on two clocks at once: wall time, and the CPU time this
 * process was given (user + system). On a machine shared with other work the CPU clock leaves out
 * the time spent waiting for a core, which is nobody's cost; only for synchronous CPU-bound cases.
 */
export function interleaveClocks (cases: Record<string, Case>, rounds: number): { wall: Rounds, cpu: Rounds } {
  const wall: Rounds = {}
  const cpu: Rounds = {}
  const entries = Object.entries(cases)
  for (const [name] of entries) {
    wall[name] = []
    cpu[name] = []
  }
  for (const [, c] of entries) opsPerSecond(c.fn, Math.ceil(c.iterations / 4))
  for (let r = 0; r < rounds; r++) {
    for (let n = 0; n < entries.length; n++) {
      const [name, c] = entries[(r + n) % entries.length] as [string, Case]
      const c0 = process.cpuUsage()
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < c.iterations; i++) c.fn()
      const ns = Number(process.hrtime.bigint() - t0)
      const used = process.cpuUsage(c0)
      ;(wall[name] as number[]).push(c.iterations / (ns / 1e9))
      ;(cpu[name] as number[]).push(c.iterations / ((used.user + used.system) / 1e6))
    }
  }
  return { wall, cpu }
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
