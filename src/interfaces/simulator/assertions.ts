import type { Metrics } from './metrics.ts'
import type { Scenario } from './scenario.ts'

/** One of a scenario's assertions, checked against the run's figures. */
export interface AssertionResult {
  figure: string
  min?: number
  max?: number
  /** The figure's value; undefined when the run has no such figure. */
  value?: number
  unit?: string
  ok: boolean
  /** Why it failed, in words (empty when it held). */
  reason: string
}

/**
 * Checks a scenario's assertions against a run's metrics: a pure function of both, so a new target
 * needs a line in a scenario file, not code. A figure the run did not produce, or a value that is not
 * a number (nothing measured), fails: a target cannot be met by having nothing to show.
 */
export function checkAssertions (scenario: Scenario, metrics: Metrics): AssertionResult[] {
  return Object.entries(scenario.assertions).map(([figure, bounds]) => {
    const f = metrics[figure]
    const result: AssertionResult = { figure, ...bounds, ok: false, reason: '' }
    if (f === undefined) return { ...result, reason: `the run has no figure ${figure}` }
    const out = { ...result, value: f.value, unit: f.unit }
    if (!Number.isFinite(f.value)) return { ...out, reason: `${figure} was not measured (${String(f.value)})` }
    if (bounds.min !== undefined && f.value < bounds.min) return { ...out, reason: `${figure} ${f.value} is below ${bounds.min}` }
    if (bounds.max !== undefined && f.value > bounds.max) return { ...out, reason: `${figure} ${f.value} is above ${bounds.max}` }
    return { ...out, ok: true }
  })
}
