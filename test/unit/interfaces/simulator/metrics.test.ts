import assert from 'node:assert/strict'
import { convergence } from '../../../../src/interfaces/simulator/metrics.ts'
import type { LookupOp } from '../../../../src/interfaces/simulator/runner.ts'

const op = (startMs: number, ok: boolean, seq: number, newestSeq: number): LookupOp =>
  ({ kind: 'lookup', startMs, asker: 0, code: 'MA.156.1', ok, latencyMs: 10, source: 'dht', seq, newestSeq, error: ok ? '' : 'timeout' })

describe('simulator metrics: convergence after a heal', () => {
  it('is the start of the first lookup after the last stale or failed one', () => {
    const f = convergence([op(1_500, true, 3, 3), op(1_200, true, 2, 3), op(1_900, true, 3, 3), op(1_700, true, 3, 3)], 1_000)
    assert.deepEqual(f, { value: 500, unit: 'ms' })
  })

  it('counts a failed lookup against convergence, not only a stale answer', () => {
    const f = convergence([op(1_100, true, 3, 3), op(1_400, false, 0, 3), op(1_800, true, 3, 3)], 1_000)
    assert.equal(f.value, 800)
  })

  it('is 0 when every lookup after the heal got the newest record', () => {
    assert.equal(convergence([op(1_100, true, 3, 3), op(1_200, true, 4, 4)], 1_000).value, 0)
  })

  it('is not a number, and says why, when nothing succeeded or the last lookup was stale', () => {
    const failed = convergence([op(1_100, false, 0, 3), op(1_400, false, 0, 3)], 1_000)
    assert.ok(Number.isNaN(failed.value))
    assert.match(failed.unit, /not converged/)
    const stale = convergence([op(1_100, true, 3, 3), op(1_400, true, 2, 3)], 1_000)
    assert.ok(Number.isNaN(stale.value))
    const none = convergence([], 1_000)
    assert.ok(Number.isNaN(none.value))
    assert.match(none.unit, /no lookups/)
  })
})
