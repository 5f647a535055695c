import assert from 'node:assert/strict'
import { checkAssertions } from '../../../../src/interfaces/simulator/assertions.ts'
import type { Metrics } from '../../../../src/interfaces/simulator/metrics.ts'
import { parseScenario } from '../../../../src/interfaces/simulator/scenario.ts'

const scenario = (assertions: unknown): ReturnType<typeof parseScenario> =>
  parseScenario({ name: 'x', cities: { count: 3 }, workload: { lookupsPerSecond: 1, durationMs: 1000 }, assertions }, 'x.json')

const metrics: Metrics = {
  lookupSuccessRate: { value: 0.998, unit: 'share' },
  gossipTo99pct: { value: 268, unit: 'ms (median over updates)' },
  coldLatencyP95: { value: Number.NaN, unit: 'ms' }
}

describe('simulator assertions', () => {
  it('hold when every bound holds, and say by how much one missed', () => {
    const [success, gossip] = checkAssertions(scenario({ lookupSuccessRate: { min: 0.999 }, gossipTo99pct: { min: 0, max: 1000 } }), metrics)
    assert.deepEqual(success, { figure: 'lookupSuccessRate', min: 0.999, value: 0.998, unit: 'share', ok: false, reason: 'lookupSuccessRate 0.998 is below 0.999' })
    assert.equal(gossip?.ok, true)
    assert.equal(gossip?.reason, '')
    assert.equal(checkAssertions(scenario({ gossipTo99pct: { max: 200 } }), metrics)[0]?.reason, 'gossipTo99pct 268 is above 200')
  })

  it('fail for a figure the run does not have, or one it did not measure', () => {
    const [missing, unmeasured] = checkAssertions(scenario({ successAfterHeal: { min: 0.9 }, coldLatencyP95: { max: 1000 } }), metrics)
    assert.equal(missing?.ok, false)
    assert.equal(missing?.reason, 'the run has no figure successAfterHeal')
    assert.equal(unmeasured?.ok, false)
    assert.match(unmeasured?.reason ?? '', /not measured/)
  })

  it('a scenario without assertions checks nothing; a bound without min or max is refused naming the field', () => {
    assert.deepEqual(checkAssertions(scenario(undefined), metrics), [])
    assert.throws(() => scenario({ lookupSuccessRate: {} }), (err: Error) => err.name === 'ScenarioError' && /assertions\.lookupSuccessRate/.test(err.message))
    assert.throws(() => scenario({ lookupSuccessRate: { minimum: 1 } }), { name: 'ScenarioError' })
  })
})
