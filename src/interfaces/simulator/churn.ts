import { Rng } from './rng.ts'
import type { Scenario } from './scenario.ts'

/**
 * How long node `index` stays away after it left, when the scenario's churn has nodes rejoin
 * (`churn.rejoinAfterMs`, exponential). Drawn from the seed and the node, not from the workload's
 * generator, so when nodes leave never changes which operations the workload issues.
 */
export function rejoinDelay (s: Scenario, index: number): number | undefined {
  const mean = s.churn?.rejoinAfterMs
  if (mean === undefined) return undefined
  return new Rng((s.seed * 7919 + index * 104729) >>> 0).exponential(mean)
}
