import { execFileSync } from 'node:child_process'
import { cpus, loadavg, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'

/**
 * Where a run ran: the machine, its load while the run ran, the Node version and the commit. Not a
 * protocol figure (on the virtual clock none of it changes the figures), but what a reader needs to
 * judge the run's cost and to repeat it.
 */
export interface RunEnvironment {
  node: string
  platform: string
  cpuModel: string
  cpus: number
  memoryGb: number
  /** 1-minute load average when the run started and when it ended. */
  loadAverage: { start: number, end: number }
  /** The project's commit, `unknown` outside a git checkout; `dirty` when files differ from it. */
  commit: string
  dirty: boolean
}

const PROJECT = fileURLToPath(new URL('../../../', import.meta.url))

function git (args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: PROJECT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim()
  } catch {
    return undefined
  }
}

/** Taken when the run starts; `end()` completes it when the run has ended. */
export function environmentAtStart (): { end: () => RunEnvironment } {
  const start = loadavg()[0] as number
  const cpu = cpus()
  const commit = git(['rev-parse', 'HEAD']) ?? 'unknown'
  const dirty = commit !== 'unknown' && (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== ''
  return {
    end: () => ({
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpuModel: cpu[0]?.model.trim() ?? 'unknown',
      cpus: cpu.length,
      memoryGb: Math.round(totalmem() / 2 ** 30 * 10) / 10,
      loadAverage: { start: round2(start), end: round2(loadavg()[0] as number) },
      commit,
      dirty
    })
  }
}

const round2 = (x: number): number => Math.round(x * 100) / 100

/** One line for summary.md. */
export function environmentLine (e: RunEnvironment): string {
  return `Machine: ${e.cpus} × ${e.cpuModel}, ${e.memoryGb} GB (${e.platform}), load average ${e.loadAverage.start} at the start and ${e.loadAverage.end} at the end; Node ${e.node}; commit ${e.commit.slice(0, 12)}${e.dirty ? ' with local changes' : ''}.`
}

