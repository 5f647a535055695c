import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildNetwork, registerCities } from '../../../src/interfaces/simulator/network-builder.ts'
import type { SimNode } from '../../../src/interfaces/simulator/network-builder.ts'
import { rejoinDelay } from '../../../src/interfaces/simulator/churn.ts'
import { computeMetrics } from '../../../src/interfaces/simulator/metrics.ts'
import { runScenario } from '../../../src/interfaces/simulator/runner.ts'
import { writeReport } from '../../../src/interfaces/simulator/report.ts'
import { parseScenario } from '../../../src/interfaces/simulator/scenario.ts'

describe('simulator: churn with rejoining nodes', function () {
  this.timeout(240_000)

  it('a node that left comes back with the same peer id and code, and answers and asks again', async () => {
    const net = await buildNetwork({
      cities: registerCities(4), resolvers: 0, transport: 'memory', encryption: 'noise', dialsPerNode: 2, seed: 3, lean: false,
      concurrency: 4, prefix: `churn-test-${process.pid}-${Date.now()}`, resolverInit: { timeoutMs: 15_000, directTimeoutMs: 3_000 }
    })
    try {
      const [leaver, other] = net.cities as [SimNode, SimNode]
      const before = { peer: leaver.node.peerId.toString(), code: leaver.code as string }
      await leaver.node.libp2p.stop()
      assert.equal(leaver.node.libp2p.status, 'stopped')
      await leaver.rejoin?.()
      assert.equal(leaver.node.libp2p.status, 'started')
      assert.equal(leaver.node.peerId.toString(), before.peer, 'same keys: same peer id')
      assert.equal((await leaver.node.held(before.code))?.record.body.code, before.code, 'same data: it still holds its record')
      const found = await other.node.resolve(before.code, { signal: AbortSignal.timeout(20_000) })
      assert.equal(found.verified.record.body.code, before.code)
      const asked = await leaver.node.resolve(other.code as string, { signal: AbortSignal.timeout(20_000) })
      assert.equal(asked.verified.record.body.code, other.code)
    } finally {
      await net.stop()
    }
  })

  it('rejoin delays follow the seed and the node, so leaving never changes the workload', () => {
    const s = parseScenario({ name: 'x', seed: 5, cities: { count: 3 }, churn: { rate: 0.5, meanSessionMs: 1000, rejoinAfterMs: 800 }, workload: { lookupsPerSecond: 1, durationMs: 1000 } }, 'x')
    assert.equal(rejoinDelay(s, 4), rejoinDelay(s, 4))
    assert.notEqual(rejoinDelay(s, 4), rejoinDelay(s, 5))
    assert.equal(rejoinDelay({ ...s, churn: { ...s.churn!, rejoinAfterMs: undefined } }, 4), undefined)
    const delays = Array.from({ length: 400 }, (_, i) => rejoinDelay(s, i) as number)
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length
    assert.ok(mean > 600 && mean < 1000, `exponential with mean ~800 ms (got ${mean.toFixed(0)})`)
  })

  it('a scenario with rejoinAfterMs brings nodes back during the run and reports it', async () => {
    const s = parseScenario({
      name: 'rejoin-test',
      seed: 21,
      cities: { count: 10, countries: ['CN'] },
      resolvers: 1,
      churn: { rate: 0.6, meanSessionMs: 600, mode: 'crash', rejoinAfterMs: 700 },
      workload: { lookupsPerSecond: 6, zipf: 0.5, updatesPerSecond: 0, durationMs: 5_000, timeoutMs: 10_000 },
      baseline: false
    }, 'rejoin-test')
    const r = await runScenario(s)
    const left = r.churn.filter(c => c.kind === 'leave')
    const back = r.churn.filter(c => c.kind === 'rejoin')
    assert.ok(left.length > 0, 'some nodes left')
    assert.ok(back.length > 0, 'some came back')
    for (const b of back) assert.ok(left.some(l => l.node === b.node && l.atMs < b.atMs), 'only a node that left comes back, after it left')
    const m = computeMetrics(r)
    assert.equal(m.rejoins?.value, back.length)
    assert.equal(m.churnEvents?.value, left.length)
    // the alive count recovers as nodes rejoin: the last sample counts every node back by then
    const last = r.aliveOverTime.at(-1) as { atMs: number, alive: number }
    const backBy = back.filter(b => b.atMs <= last.atMs).length
    const leftBy = left.filter(l => l.atMs <= last.atMs).length
    assert.equal(last.alive, r.nodes - leftBy + backBy)
    // every event names the city code the node holds, and operations.csv lists them with the operations
    for (const e of r.churn) assert.match(e.code ?? '', /^MA\.156\.\d{4}$/)
    const dir = mkdtempSync(join(tmpdir(), 'citycode-churn-report-'))
    try {
      const rows = readFileSync((await writeReport(r, dir)).csv, 'utf8').trim().split('\n').slice(1).map(l => l.split(','))
      const events = rows.filter(row => row[0] === 'leave' || row[0] === 'rejoin')
      assert.deepEqual(events.map(row => [row[0], row[3]]), r.churn.map(e => [e.kind, e.code]))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
