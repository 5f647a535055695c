import type { Rng } from './rng.ts'
import type { Scenario } from './scenario.ts'

/** One operation of the seeded workload, at its due time from the start of the workload phase. */
export type WorkloadEvent =
  | { readonly kind: 'lookup', readonly dueMs: number, readonly asker: number, readonly code: string }
  | { readonly kind: 'update', readonly dueMs: number, readonly holder: number }

/**
 * The workload as a schedule: Poisson arrivals of lookups (askers uniform, codes Zipf-popular) and
 * of updates (holders uniform), drawn from `rng` alone. The single-process runner and the sharding
 * coordinator both consume it, so one seed gives one list of operations whichever runs it.
 */
export function * workloadEvents (workload: Scenario['workload'], rng: Rng, codes: readonly string[], askers: number, holders: number): Generator<WorkloadEvent> {
  let nextLookup = rng.exponential(1000 / workload.lookupsPerSecond)
  let nextUpdate = workload.updatesPerSecond > 0 && holders > 0 ? rng.exponential(1000 / workload.updatesPerSecond) : Infinity
  while (Math.min(nextLookup, nextUpdate) < workload.durationMs) {
    if (nextLookup <= nextUpdate) {
      const dueMs = nextLookup
      nextLookup += rng.exponential(1000 / workload.lookupsPerSecond)
      const asker = rng.int(askers)
      yield { kind: 'lookup', dueMs, asker, code: codes[rng.zipf(codes.length, workload.zipf)] as string }
    } else {
      const dueMs = nextUpdate
      nextUpdate += rng.exponential(1000 / workload.updatesPerSecond)
      yield { kind: 'update', dueMs, holder: rng.int(holders) }
    }
  }
}

/** How many lookups the schedule holds on average (for progress output). */
export function expectedLookups (workload: Scenario['workload']): number {
  return Math.round(workload.lookupsPerSecond * workload.durationMs / 1000)
}
