import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const main = fileURLToPath(new URL('../../../src/interfaces/cli/main.ts', import.meta.url))
const smoke = fileURLToPath(new URL('../../../simulations/smoke.json', import.meta.url))

function smokeDurationMs (): number {
  return (JSON.parse(readFileSync(smoke, 'utf8')) as { workload: { durationMs: number } }).workload.durationMs
}

function citycode (args: string[], timeoutMs = 240_000): { status: number | null, stdout: string, stderr: string } {
  // stdout and stderr are pipes here, not a terminal: the run prints plain progress lines
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, DEBUG: '' } })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('citycode sim run (CLI)', function () {
  this.timeout(300_000)
  const dir = mkdtempSync(join(tmpdir(), 'citycode-sim-cli-'))
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  it('--seed, --nodes and --no-baseline override the scenario; without a terminal, progress comes as plain lines; --clock real measures the event loop', () => {
    const out = join(dir, 'small')
    const profile = join(dir, 'workload.cpuprofile')
    const heap = join(dir, 'workload.heapprofile')
    const r = citycode(['sim', 'run', smoke, '--out', out, '--seed', '3', '--nodes', '4', '--json', '--clock', 'real', '--no-baseline', '--cpu-profile', profile, '--heap-profile', heap])
    assert.equal(r.status, 0, r.stderr)
    const builds = [...r.stderr.matchAll(/^build: (\d+)\/(\d+)$/gm)]
    const last = builds.at(-1)
    assert.ok(last !== undefined, 'plain build lines')
    const built = /built (\d+) nodes/.exec(r.stderr + r.stdout)?.[1]
    // the root and the countries count too: the last progress line agrees with the final one
    assert.deepEqual([last[1], last[2]], [built, built], `${last[0]} then built ${String(built)} nodes`)
    assert.ok(Number(built) > 6, 'authorities, 4 cities and 2 resolvers')
    assert.match(r.stderr, /^dial: (\d+)\/\1$/m, 'the random dials after the build report their progress to the end')
    assert.match(r.stderr, /^workload: \d+\/\d+$/m)
    assert.doesNotMatch(r.stderr, /\u001b\[|\r/, 'no terminal control characters')
    const { figures, cost } = JSON.parse(r.stdout) as Record<'figures' | 'cost', Record<string, { value: number, unit: string, baseline?: number }>>
    assert.equal(figures.cityNodes?.value, 4)
    // on the real clock, how late the event loop ran while the workload ran: the context of every latency figure
    for (const k of ['eventLoopDelayP50', 'eventLoopDelayP99', 'eventLoopDelayMax']) assert.ok((cost[k]?.value ?? -1) >= 0, `${k} is measured`)
    assert.ok((cost.eventLoopDelayP99?.value ?? 0) <= (cost.eventLoopDelayMax?.value ?? -1))
    assert.equal(cost.clock?.unit, 'real clock')
    assert.equal(figures.eventLoopDelayP99, undefined, 'what the machine costs is not a protocol figure')
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { scenario: { seed: number, cities: { count: number }, baseline: boolean }, environment: { node: string, cpus: number, commit: string, loadAverage: { start: number, end: number } } }
    assert.equal(metrics.scenario.seed, 3)
    assert.equal(metrics.scenario.cities.count, 4)
    assert.equal(metrics.scenario.baseline, false)
    assert.equal(figures.lookupSuccessRate?.baseline, undefined, 'no comparison without the baseline')
    assert.ok((figures.lookups?.value ?? 0) > 0)
    // where it ran: the machine, its load, the Node version and the commit of this checkout
    assert.equal(metrics.environment.node, process.version)
    assert.ok(metrics.environment.cpus >= 1)
    assert.match(metrics.environment.commit, /^[0-9a-f]{40}$/)
    assert.ok(metrics.environment.loadAverage.end >= 0)
    assert.match(readFileSync(join(out, 'summary.md'), 'utf8'), new RegExp(`^Machine: .*Node ${process.version.replace(/\./g, '\\.')}; commit ${metrics.environment.commit.slice(0, 12)}`, 'm'))
    // the workload's CPU profile: samples over the workload window, in the resolver among others
    const cpu = JSON.parse(readFileSync(profile, 'utf8')) as { nodes: Array<{ callFrame: { url: string } }>, samples: number[], startTime: number, endTime: number }
    assert.ok(cpu.samples.length > 100, `${cpu.samples.length} samples`)
    assert.ok(cpu.endTime - cpu.startTime >= 0.9 * smokeDurationMs() * 1000, 'the profile spans the workload')
    assert.ok(cpu.nodes.some(n => n.callFrame.url.endsWith('/src/services/resolver/resolver.ts')), 'the resolver ran while profiled')
    // what the workload allocated, collected objects included: more than what stays alive
    interface HeapNode { callFrame: { url: string }, selfSize: number, children: HeapNode[] }
    const allocated = JSON.parse(readFileSync(heap, 'utf8')) as { head: HeapNode, samples: unknown[] }
    const flat = (n: HeapNode): HeapNode[] => [n, ...n.children.flatMap(flat)]
    const nodes = flat(allocated.head)
    assert.ok(allocated.samples.length > 10, `${allocated.samples.length} allocation samples`)
    assert.ok(nodes.some(n => n.selfSize > 0 && n.callFrame.url.includes('/src/')), 'citycode code allocated while profiled')
  })

  it('a scenario\'s assertions are checked: the summary says which held, and a missed one exits 1 naming it', () => {
    const file = join(dir, 'asserting.json')
    const base = JSON.parse(readFileSync(smoke, 'utf8')) as Record<string, unknown>
    writeFileSync(file, JSON.stringify({ ...base, name: 'asserting', cities: { count: 4, countries: ['CN'] }, resolvers: 1, baseline: false, assertions: { lookups: { min: 1 }, lookupSuccessRate: { min: 2 } } }))
    const out = join(dir, 'asserting')
    const r = citycode(['sim', 'run', file, '--out', out])
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, /^assertion failed: lookupSuccessRate [\d.]+ is below 2$/m)
    assert.doesNotMatch(r.stderr, /assertion failed: lookups/)
    assert.match(readFileSync(join(out, 'summary.md'), 'utf8'), /Assertions: 1 of 2 held\./)
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { assertions: Array<{ figure: string, ok: boolean }> }
    assert.deepEqual(metrics.assertions.map(a => [a.figure, a.ok]), [['lookups', true], ['lookupSuccessRate', false]])
  })

  it('on the virtual clock, the same scenario and seed in two fresh processes give byte-identical operations and equal figures', () => {
    const run = (name: string): { csv: Buffer, figures: unknown, cost: Record<string, { value: number, unit: string }>, summary: string } => {
      const out = join(dir, name)
      const r = citycode(['sim', 'run', smoke, '--clock', 'virtual', '--seed', '7', '--out', out])
      assert.equal(r.status, 0, r.stderr)
      assert.match(r.stderr, /^workload: \d+\/\d+ \(simulated [\d.]+ s\)$/m, 'progress in simulated time')
      const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { figures: unknown, cost: Record<string, { value: number, unit: string }> }
      return { csv: readFileSync(join(out, 'operations.csv')), figures: metrics.figures, cost: metrics.cost, summary: readFileSync(join(out, 'summary.md'), 'utf8') }
    }
    const a = run('A')
    const b = run('B')
    assert.ok(a.csv.toString().split('\n').filter(l => l.startsWith('lookup,')).length > 50, 'a real workload')
    assert.ok(a.csv.equals(b.csv), 'operations.csv byte for byte')
    assert.deepEqual(a.figures, b.figures)
    assert.equal(a.cost.clock?.unit, 'virtual clock')
    assert.ok((a.cost.simulatedTime?.value ?? 0) >= smokeDurationMs() / 1000, 'simulated time covers the workload')
    assert.match(a.summary, /\*\*virtual clock\*\*/)
    assert.match(a.summary, /## Cost of the run \(wall clock/)
  })

  it('a run stopped by a signal ends its operations in flight and writes what finished', async () => {
    const file = join(dir, 'long.json')
    const base = JSON.parse(readFileSync(smoke, 'utf8')) as Record<string, unknown> & { workload: Record<string, unknown> }
    writeFileSync(file, JSON.stringify({ ...base, name: 'long', cities: { count: 4, countries: ['CN'] }, resolvers: 1, clock: 'real', workload: { ...base.workload, durationMs: 120_000, timeoutMs: 3_000 } }))
    const out = join(dir, 'stopped')
    const child = spawn(process.execPath, [main, 'sim', 'run', file, '--out', out], { env: { ...process.env, DEBUG: '' } })
    let err = ''
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.stdout.resume()
    const exited = new Promise<number | null>(resolve => child.on('exit', resolve))
    const t0 = Date.now()
    while (!/^workload: [1-9]\d*\//m.test(err) && Date.now() - t0 < 120_000 && child.exitCode === null) await new Promise(resolve => setTimeout(resolve, 200))
    const signalled = Date.now()
    child.kill('SIGINT')
    const code = await exited
    assert.equal(code, 130, err.slice(-1000))
    assert.ok(Date.now() - signalled < 30_000, 'it stops within the operations\' deadline, not at the end of the two minutes')
    assert.match(err, /SIGINT: stopping/)
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { interrupted: { phase: string, atMs: number }, figures: Record<string, { value: number, baseline?: number }> }
    assert.equal(metrics.interrupted.phase, 'workload')
    assert.ok(metrics.interrupted.atMs < 120_000)
    assert.ok((metrics.figures.lookups?.value ?? 0) > 0, 'the lookups that finished are counted')
    assert.equal(metrics.figures.lookupSuccessRate?.baseline, undefined, 'no baseline after a stop')
    assert.match(readFileSync(join(out, 'summary.md'), 'utf8'), /\*\*Stopped by a signal\*\* during the workload at [\d.]+ s of 120 s/)
    assert.ok(readFileSync(join(out, 'operations.csv'), 'utf8').split('\n').some(l => l.startsWith('lookup,')))
  })

  it('bad overrides get one line naming the problem', () => {
    const clock = citycode(['sim', 'run', smoke, '--out', join(dir, 'x'), '--clock', 'sundial'], 60_000)
    assert.equal(clock.status, 1)
    assert.match(clock.stderr, /^error: ScenarioError: --clock must be virtual or real, not sundial$/m)
    const virtualShards = citycode(['sim', 'run', smoke, '--out', join(dir, 'x'), '--clock', 'virtual', '--shards', '2'], 60_000)
    assert.equal(virtualShards.status, 1)
    assert.match(virtualShards.stderr, /^error: ScenarioError: .*smoke\.json: clock: a virtual clock runs in one process: not with shards$/m)
    const shards = citycode(['sim', 'run', smoke, '--out', join(dir, 'x'), '--shards', '0'], 60_000)
    assert.equal(shards.status, 1)
    assert.match(shards.stderr, /^error: ScenarioError: .*smoke\.json: shards: /m)
    const control = citycode(['sim', 'run', smoke, '--out', join(dir, 'x'), '--control', 'nowhere'], 60_000)
    assert.equal(control.status, 1)
    assert.match(control.stderr, /^error: ShardError: --control must be host:port, got "nowhere"$/m)
    const nodes = citycode(['sim', 'run', smoke, '--out', join(dir, 'x'), '--nodes', 'many'], 60_000)
    assert.equal(nodes.status, 1)
    assert.match(nodes.stderr, /cities\.count/)
    const profiled = citycode(['sim', 'run', smoke, '--out', join(dir, 'x'), '--shards', '2', '--cpu-profile', join(dir, 'p.cpuprofile')], 60_000)
    assert.equal(profiled.status, 1)
    assert.match(profiled.stderr, /^error: ScenarioError: --cpu-profile and --heap-profile profile one process: not with --shards$/m)
  })
})
