import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { computeMetrics, convergence } from '../../../../src/interfaces/simulator/metrics.ts'
import type { LookupOp, RunResult } from '../../../../src/interfaces/simulator/runner.ts'
import { parseScenario } from '../../../../src/interfaces/simulator/scenario.ts'

const op = (startMs: number, ok: boolean, seq: number, newestSeq: number): LookupOp =>
  ({ kind: 'lookup', startMs, asker: 0, code: 'MA.156.1', ok, latencyMs: 10, source: 'dht', seq, newestSeq, error: ok ? '' : 'timeout', peersAsked: 1, messages: 2, bytes: 300 })

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

describe('simulator metrics: cold lookups', () => {
  it('cold latency leaves out answers from the asker\'s cache or store, and sits beside the baseline\'s walks', () => {
    const scenario = parseScenario(JSON.parse(readFileSync(new URL('../../../../simulations/smoke.json', import.meta.url), 'utf8')) as unknown, 'smoke.json')
    const lookup = (latencyMs: number, source: string, ok = true): LookupOp => ({ ...op(0, ok, 1, 1), latencyMs, source })
    const lookups = [lookup(0, 'cache'), lookup(1, 'cache'), lookup(2, 'local'), lookup(300, 'direct'), lookup(500, 'dht'), lookup(15_000, '', false)]
    const r: RunResult = {
      scenario, nodes: 3, cityNodes: 2, adversaries: 0, setupMs: 1, lookups, updates: [],
      baselineLookups: [{ ...lookup(900, 'dht'), kind: 'baseline-get' }, { ...lookup(1_100, 'dht'), kind: 'baseline-get' }],
      baselineUpdates: [], churn: [], partitionEvents: [], revocations: [], aliveOverTime: [], memory: { rssBytes: 0, heapBytes: 0 }, cpu: { userMs: 0, systemMs: 0, wallMs: 1 }, clock: { kind: 'virtual', simulatedMs: 1 }, gossipRejected: 0
    }
    const m = computeMetrics(r)
    assert.equal(m.latencyP50?.value, 2, 'all successful lookups: cache hits pull it down')
    assert.equal(m.coldLatencyP50?.value, 500)
    assert.equal(m.coldLatencyP95?.value, 500)
    assert.equal(m.coldLatencyP50?.baseline, 1_100)
    assert.equal(m.coldLatencyP95?.ratio, round(500 / 1_100))
  })
})

describe('simulator metrics: wire cost per lookup', () => {
  it('averages peers asked, messages and bytes over all lookups (a cache hit costs 0) and beside the baseline', () => {
    const scenario = parseScenario(JSON.parse(readFileSync(new URL('../../../../simulations/smoke.json', import.meta.url), 'utf8')) as unknown, 'smoke.json')
    const lookup = (source: string, peersAsked: number, messages: number, bytes: number): LookupOp => ({ ...op(0, true, 1, 1), source, peersAsked, messages, bytes })
    const r: RunResult = {
      scenario, nodes: 3, cityNodes: 2, adversaries: 0, setupMs: 1,
      lookups: [lookup('cache', 0, 0, 0), lookup('direct', 1, 2, 700), lookup('direct', 3, 5, 1_100)],
      updates: [],
      baselineLookups: [{ ...lookup('dht', 10, 20, 9_000), kind: 'baseline-get' }, { ...lookup('dht', 14, 28, 12_000), kind: 'baseline-get' }],
      baselineUpdates: [], churn: [], partitionEvents: [], revocations: [], aliveOverTime: [], memory: { rssBytes: 0, heapBytes: 0 }, cpu: { userMs: 0, systemMs: 0, wallMs: 1 }, clock: { kind: 'virtual', simulatedMs: 1 }, gossipRejected: 0
    }
    const m = computeMetrics(r)
    assert.equal(m.peersAskedPerLookup?.value, round(4 / 3))
    assert.equal(m.peersAskedPerColdLookup?.value, 2, 'the cache hit left out')
    assert.equal(m.messagesPerLookup?.value, round(7 / 3))
    assert.equal(m.bytesPerLookup?.value, 600)
    assert.equal(m.bytesPerLookup?.baseline, 10_500)
    assert.equal(m.bytesPerLookup?.ratio, round(600 / 10_500))
    assert.equal(m.peersAskedPerLookup?.baseline, 12)
  })
})

function round (x: number): number {
  return Number(x.toFixed(3))
}

describe('simulator metrics: revocations', () => {
  it('lookups of a revoked code count apart: refused is right, answered after the reach is the failure', () => {
    const scenario = parseScenario(JSON.parse(readFileSync(new URL('../../../../simulations/smoke.json', import.meta.url), 'utf8')) as unknown, 'smoke.json')
    const lookup = (startMs: number, code: string, ok: boolean, revoked: boolean, error = ''): LookupOp => ({ ...op(startMs, ok, 1, 1), code, error, ...(revoked ? { revoked: true } : {}) })
    const r: RunResult = {
      scenario, nodes: 3, cityNodes: 2, adversaries: 0, setupMs: 1, updates: [],
      lookups: [lookup(0, 'MA.156.1301', true, false), lookup(100, 'MA.156.1302', true, false), lookup(1_010, 'MA.156.1301', true, true), lookup(1_300, 'MA.156.1301', false, true, 'RevokedError'), lookup(1_400, 'MA.156.1301', true, true)],
      baselineLookups: [], baselineUpdates: [], churn: [], partitionEvents: [],
      revocations: [{ atMs: 1_000, code: 'MA.156.1301', reachMs: 200, honoured: 3, of: 3 }, { atMs: 1_000, code: 'MA.156.1303', reachMs: null, honoured: 2, of: 3 }],
      aliveOverTime: [], memory: { rssBytes: 0, heapBytes: 0 }, cpu: { userMs: 0, systemMs: 0, wallMs: 1 }, clock: { kind: 'virtual', simulatedMs: 1 }, gossipRejected: 0
    }
    const m = computeMetrics(r)
    assert.equal(m.lookups?.value, 2, 'the revoked code\'s lookups are not in the success rate')
    assert.equal(m.lookupSuccessRate?.value, 1)
    assert.equal(m.revocations?.value, 2)
    assert.equal(m.revocationsNotReached?.value, 1)
    assert.equal(m.revocationReachMax?.value, 200)
    assert.equal(m.revokedLookups?.value, 3)
    assert.equal(m.revokedRefusedShare?.value, round(1 / 3))
    assert.equal(m.revokedAnsweredValid?.value, 2)
    assert.equal(m.revokedAnsweredValidAfterReach?.value, 1, 'the one at 1010 ms came before the reach at 1200 ms')
  })
})

describe('simulator metrics: gossip reach beside its floor', () => {
  it('sets the 99% reach of each update against its own floor and leaves out updates that have none', () => {
    const scenario = parseScenario(JSON.parse(readFileSync(new URL('../../../../simulations/smoke.json', import.meta.url), 'utf8')) as unknown, 'smoke.json')
    const update = (gossipReceiptsMs: number[], gossipFloorsMs?: number[]): RunResult['updates'][number] =>
      ({ kind: 'update', startMs: 0, code: 'MA.156.1', seq: 2, latencyMs: 1, gossipReceiptsMs, dhtPeers: 0, ...(gossipFloorsMs !== undefined ? { gossipFloorsMs } : {}) })
    const r: RunResult = {
      scenario, nodes: 4, cityNodes: 3, adversaries: 0, setupMs: 1, lookups: [],
      updates: [update([50, 110, 210], [50, 100, 150]), update([60, 100, 100], [50, 50, 100]), update([60, 100, 400]), update([60, 100], [50, 50, 100])],
      baselineLookups: [], baselineUpdates: [], churn: [], partitionEvents: [], revocations: [], aliveOverTime: [], memory: { rssBytes: 0, heapBytes: 0 }, cpu: { userMs: 0, systemMs: 0, wallMs: 1 }, clock: { kind: 'virtual', simulatedMs: 1 }, gossipRejected: 0
    }
    const m = computeMetrics(r)
    // the 3rd update has no floor, the 4th never reached 99%: two pairs, ratios 1.4 and 1.0
    assert.equal(m.gossipTo99pctOverFloor?.unit, 'x the floor (median over 2 updates)')
    assert.equal(m.gossipTo99pctOverFloor?.value, 1.4)
    assert.equal(m.gossipTo99pctOverFloorMax?.value, 1.4)
    assert.equal(m.gossipFloorTo99pct?.value, 150)
  })
})
