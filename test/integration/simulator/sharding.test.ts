import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkShardable, runSharded } from '../../../src/interfaces/simulator/coordinator.ts'
import type { RunResult } from '../../../src/interfaces/simulator/runner.ts'
import { computeMetrics } from '../../../src/interfaces/simulator/metrics.ts'
import { writeReport } from '../../../src/interfaces/simulator/report.ts'
import { parseScenario } from '../../../src/interfaces/simulator/scenario.ts'

const shardMain = fileURLToPath(new URL('../../../src/interfaces/simulator/shard-main.ts', import.meta.url))

// small enough for a loaded 2-core machine: 8 Chinese cities (their codes follow from GB/T 2260, so they are the same in every run), 2 resolvers, two shards
const scenario = parseScenario({
  name: 'sharded-test',
  seed: 11,
  cities: { count: 8, countries: ['CN'] },
  resolvers: 2,
  encryption: 'noise',
  workload: { lookupsPerSecond: 10, zipf: 0.5, updatesPerSecond: 1, durationMs: 2_500, timeoutMs: 20_000 },
  baseline: true,
  shards: 2
}, 'sharded-test')

const plan = (r: RunResult): string => r.lookups.map(o => `${o.asker}:${o.code}`).join(' ')

async function shardExit (env: Record<string, string>): Promise<{ code: number | null, stderr: string }> {
  const child = spawn(process.execPath, [shardMain], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>(resolve => { child.once('exit', resolve) })
  return { code, stderr }
}

describe('simulator: shards as processes over loopback TCP', function () {
  this.timeout(420_000)
  const dir = mkdtempSync(join(tmpdir(), 'citycode-shards-'))
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  it('two shard processes give one merged report whose lookups cross shards, and one seed gives one operation list', async () => {
    const first = await runSharded(scenario, { shards: 2 })
    assert.equal(first.sharding?.shards, 2)
    assert.equal(first.nodes, 8 + 2 + 1 + 1, 'cities + resolvers + root + one country, over both shards')
    const sh = first.sharding
    assert.ok(sh !== undefined)
    // every asker and every code is placed, and both shards hold some of each
    assert.deepEqual(new Set(sh.askerShard), new Set([0, 1]))
    assert.deepEqual(new Set(Object.values(sh.codeShard)), new Set([0, 1]))
    const cross = first.lookups.filter(o => sh.askerShard[o.asker] !== sh.codeShard[o.code])
    assert.ok(cross.length > 0, 'some lookups ask for a code held on the other shard')
    assert.ok(cross.some(o => o.ok && o.seq >= 1), `a cross-shard resolution succeeds (${cross.filter(o => o.ok).length}/${cross.length}; errors: ${cross.map(o => o.error).join(' ')})`)
    assert.ok(first.baselineLookups.length > 0, 'the baseline ran on the same shards')
    // updates published on one shard reach nodes of the other by gossip
    assert.ok(first.updates.some(u => u.seq > 1 && u.gossipReceiptsMs.length > 0), 'gossip receipts are merged from the shards')

    const files = await writeReport(first, dir)
    const metrics = JSON.parse(readFileSync(files.metrics, 'utf8')) as { figures: Record<string, { value: number }> }
    assert.equal(metrics.figures.shards?.value, 2)
    assert.equal(metrics.figures.crossShardLookups?.value, cross.length)
    assert.equal(metrics.figures.lookups?.value, first.lookups.length)
    const csv = readFileSync(files.csv, 'utf8').trim().split('\n')
    assert.equal(csv.length, 1 + first.lookups.length + first.baselineLookups.length + first.updates.length + first.baselineUpdates.length)
    assert.match(readFileSync(files.summary, 'utf8'), /on 2 shard processes linked by TCP/)

    const second = await runSharded({ ...scenario, baseline: false }, { shards: 2 })
    assert.ok(first.lookups.length > 10)
    assert.equal(plan(second), plan(first), 'the same seed gives the same operations')
    assert.deepEqual(second.sharding?.askerShard, sh.askerShard)
  })

  it('churn across shards: nodes leave and come back on their shard, and the merged report counts both', async () => {
    const s = parseScenario({
      ...scenario,
      baseline: false,
      churn: { rate: 0.6, meanSessionMs: 600, mode: 'crash', rejoinAfterMs: 700 },
      workload: { lookupsPerSecond: 6, zipf: 0.5, updatesPerSecond: 0, durationMs: 4_000, timeoutMs: 20_000 }
    }, 'sharded-churn')
    const r = await runSharded(s, { shards: 2 })
    const left = r.churn.filter(c => c.kind === 'leave')
    const back = r.churn.filter(c => c.kind === 'rejoin')
    assert.ok(left.length > 0 && back.length > 0, `nodes left (${left.length}) and came back (${back.length})`)
    for (const b of back) assert.ok(left.some(l => l.node === b.node && l.atMs < b.atMs), 'only a node that left comes back')
    const figures = computeMetrics(r)
    assert.equal(figures.rejoins?.value, back.length)
    assert.ok(r.lookups.some(o => o.ok), 'lookups still resolve')
  })

  it('refuses what a sharded run cannot honour, naming the field', () => {
    assert.throws(() => { checkShardable({ ...scenario, transport: 'tcp' }, 2) }, (err: Error & { details?: { field?: string } }) => err.name === 'ScenarioError' && err.details?.field === 'transport')
    assert.throws(() => { checkShardable({ ...scenario, partition: { share: 0.5, atMs: 100, healAtMs: 200 } }, 2) }, /partition/)
    assert.throws(() => { checkShardable(scenario, 9) }, /more shards \(9\) than cities \(8\)/)
    assert.throws(() => parseScenario({ ...scenario, shards: 0 }, 'x.json'), /x\.json: shards:/)
  })

  it('the shard entry point names a missing or bad setting and gives up on an absent coordinator', async () => {
    const missing = await shardExit({ CITYCODE_SIM_COORDINATOR: '', CITYCODE_SIM_SHARD: '0' })
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /^error: ShardError: CITYCODE_SIM_COORDINATOR/)
    const badIndex = await shardExit({ CITYCODE_SIM_COORDINATOR: '127.0.0.1:9', CITYCODE_SIM_SHARD: 'x', JOB_COMPLETION_INDEX: '' })
    assert.match(badIndex.stderr, /CITYCODE_SIM_SHARD \(or JOB_COMPLETION_INDEX\) must be a shard index/)
    // nothing listens on port 9 of loopback: the shard retries until its connect timeout, then says so
    const absent = await shardExit({ CITYCODE_SIM_COORDINATOR: '127.0.0.1:9', CITYCODE_SIM_SHARD: '0', CITYCODE_SIM_CONNECT_TIMEOUT_MS: '500' })
    assert.equal(absent.code, 1)
    assert.match(absent.stderr, /cannot reach the coordinator at 127\.0\.0\.1:9/)
  })
})
