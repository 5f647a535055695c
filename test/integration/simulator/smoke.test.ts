import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadScenario, parseScenario } from '../../../src/interfaces/simulator/scenario.ts'
import { runScenario } from '../../../src/interfaces/simulator/runner.ts'
import type { RunResult } from '../../../src/interfaces/simulator/runner.ts'
import { writeReport } from '../../../src/interfaces/simulator/report.ts'

const smokeFile = fileURLToPath(new URL('../../../simulations/smoke.json', import.meta.url))

describe('simulator', function () {
  this.timeout(180_000)
  const dir = mkdtempSync(join(tmpdir(), 'citycode-sim-'))
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  it('refuses a bad scenario naming the field', () => {
    assert.throws(() => parseScenario({ name: 'x', cities: { count: 0 }, workload: { lookupsPerSecond: 1, durationMs: 1000 } }, 'bad.json'), (err: Error) => {
      assert.equal(err.name, 'ScenarioError')
      assert.match(err.message, /bad\.json: cities\.count:/)
      return true
    })
    assert.throws(() => parseScenario({ name: 'x', cities: { count: 3 }, workload: { lookupsPerSecond: 1, durationMs: 1000 }, latency: { model: 'warp' } }, 'bad.json'), /latency/)
  })

  it('smoke.json writes metrics, CSV, plots and a summary with real figures', async () => {
    const result = await runScenario(loadScenario(smokeFile))
    const files = await writeReport(result, dir)
    const metrics = JSON.parse(readFileSync(files.metrics, 'utf8')) as Record<'figures' | 'cost', Record<string, { value: number, unit: string, ratio?: number }>>
    const f = metrics.figures
    for (const key of ['lookupSuccessRate', 'latencyP50', 'latencyP95', 'latencyP99', 'newestRecordShare', 'gossipTo99pct']) {
      assert.ok(f[key] !== undefined && typeof f[key]?.unit === 'string' && f[key]!.unit.length > 0, `${key} has a value and unit`)
    }
    // what the run cost the machine is apart from the protocol's figures
    for (const key of ['memoryPerNode', 'cpuPerNode', 'wallTime', 'simulatedTime', 'timersFired']) {
      assert.ok(Number.isFinite(metrics.cost[key]?.value) && f[key] === undefined, `${key} is a cost, not a figure`)
    }
    assert.equal(f.nodes?.value, 12 + 2 + 1 + 2, 'cities + resolvers + root + two countries')
    assert.ok((f.lookupSuccessRate?.value ?? 0) >= 0.95, `success ${f.lookupSuccessRate?.value}`)
    assert.ok(f.latencyP50?.ratio !== undefined && f.latencyP50.ratio > 0, 'p50 has a baseline ratio')
    assert.equal(f.lookups?.value, result.lookups.length)
    const csv = readFileSync(files.csv, 'utf8').trim().split('\n')
    assert.equal(csv.length, 1 + result.lookups.length + result.baselineLookups.length + result.updates.length + result.baselineUpdates.length)
    assert.ok(csv.slice(1).some(row => row.startsWith('lookup,') && row.includes(',true,')))
    assert.ok(csv.slice(1).some(row => row.startsWith('baseline-get,')))
    assert.equal(files.plots.length, 3)
    for (const plot of files.plots) {
      const svg = readFileSync(plot, 'utf8')
      assert.match(svg, /^<svg[\s\S]*<path[\s\S]*<\/svg>$/)
    }
    assert.match(readFileSync(files.plots[0] as string, 'utf8'), /plain kad-dht GET/)
    const summary = readFileSync(files.summary, 'utf8')
    assert.match(summary, /\| lookup success \| [01](\.\d+)? share \| [01](\.\d+)? \| [\d.]+x \|/)
    assert.match(summary, /Answers by path: .*direct \d+/)
    // wire cost: every lookup answered directly asked at least one peer with a request and got a response
    for (const o of result.lookups.filter(l => l.ok && l.source === 'direct')) {
      assert.ok(o.peersAsked >= 1 && o.messages >= 2 && o.bytes > o.messages, `direct lookup of ${o.code}: ${o.peersAsked} peers, ${o.messages} messages, ${o.bytes} bytes`)
    }
    for (const o of result.lookups.filter(l => l.source === 'cache')) assert.equal(o.messages, 0, 'a cache hit sends nothing')
    // every baseline GET walks the DHT: it asks peers, each query and answer counted
    for (const o of result.baselineLookups.filter(l => l.ok)) assert.ok(o.peersAsked >= 1 && o.messages >= 2 && o.bytes > 0)
    for (const key of ['peersAskedPerLookup', 'messagesPerLookup', 'bytesPerLookup']) {
      assert.ok((f[key]?.value ?? 0) > 0 && (f[key]?.ratio ?? 0) > 0, `${key} measured beside the baseline`)
    }
    assert.match(csv[0] ?? '', /,peers_asked,messages,bytes$/)
    assert.match(summary, /\| bytes per lookup \| [\d.]+ bytes/)
  })

  it('workload.path "dht": every lookup is read from the DHT alone: no direct question, no cache', async () => {
    const scenario = loadScenario(smokeFile)
    const result = await runScenario({ ...scenario, name: 'smoke-dht', baseline: false, workload: { ...scenario.workload, path: 'dht', durationMs: 2000, updatesPerSecond: 0 } })
    const answered = result.lookups.filter(l => l.ok)
    assert.ok(answered.length >= result.lookups.length * 0.9, `${answered.length} of ${result.lookups.length} answered`)
    assert.ok(answered.some(l => l.source === 'dht'), 'answers came from the DHT')
    assert.deepEqual(answered.filter(l => l.source !== 'dht' && l.source !== 'local').map(l => l.source), [], 'none by a direct question or the cache')
  })

  it('same seed, same scenario, virtual clock: the same run, every outcome and latency included, also in one process', async () => {
    const s = loadScenario(smokeFile)
    const small = { ...s, baseline: false, latency: { model: 'fixed' as const, ms: 20, jitterMs: 5 }, workload: { ...s.workload, durationMs: 1500, updatesPerSecond: 1 } }
    const runs: RunResult[] = []
    for (let i = 0; i < 2; i++) runs.push(await runScenario(small))
    const plan = (r: RunResult): string => r.lookups.map(o => `${o.asker}:${o.code}`).join(' ')
    assert.ok(runs[0]!.lookups.length > 10)
    assert.deepEqual(runs[0]!.lookups, runs[1]!.lookups)
    assert.deepEqual(runs[0]!.updates, runs[1]!.updates)
    // 20-25 ms links: a lookup answered over the network costs at least one round trip of simulated time
    const cold = runs[0]!.lookups.filter(o => o.ok && o.source === 'direct')
    assert.ok(cold.length > 0 && cold.every(o => o.latencyMs >= 40), cold.map(o => o.latencyMs).join(' '))
    const other = await runScenario({ ...small, seed: small.seed + 1 })
    assert.notEqual(plan(other), plan(runs[0]!), 'another seed gives another workload')
  })
})
