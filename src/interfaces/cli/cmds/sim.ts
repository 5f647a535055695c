import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import cliProgress from 'cli-progress'
import { ScenarioError, clockOf, loadScenario } from '../../simulator/scenario.ts'
import { wallDateNow } from '../../simulator/virtual-clock.ts'
import { runScenario } from '../../simulator/runner.ts'
import { runSharded } from '../../simulator/coordinator.ts'
import { parseHostPort } from '../../simulator/shard-protocol.ts'
import { probes, workloadCpuProfile, workloadHeapProfile } from '../../simulator/profiles.ts'
import { writeReport } from '../../simulator/report.ts'
import { environmentAtStart } from '../../simulator/environment.ts'
import { computeCost, computeMetrics } from '../../simulator/metrics.ts'
import { printJson, runHandler } from '../output.ts'

const SIMULATIONS = fileURLToPath(new URL('../../../../simulations/', import.meta.url))

export function registerSim (program: Command): void {
  const sim = program.command('sim').description('multi-node simulations with real nodes, metrics, plots and a plain kad-dht baseline')
  sim.command('list')
    .description('list the shipped scenarios')
    .action(async () => {
      await runHandler(async () => {
        for (const file of readdirSync(SIMULATIONS).filter(f => f.endsWith('.json')).sort()) {
          const s = JSON.parse(readFileSync(join(SIMULATIONS, file), 'utf8')) as { name?: string, description?: string, cities?: { count?: number } }
          process.stdout.write(`${join('simulations', file).padEnd(34)} ${String(s.cities?.count ?? '?').padStart(5)} cities  ${s.description ?? ''}\n`)
        }
        return 0
      })
    })
  sim.command('run')
    .description('run a scenario and write metrics.json, operations.csv, SVG plots and summary.md')
    .argument('<scenario>', 'scenario file (simulations/*.json)')
    .requiredOption('--out <dir>', 'output directory')
    .option('--seed <n>', 'override the scenario seed')
    .option('--nodes <n>', 'override the number of cities')
    .option('--clock <clock>', 'virtual (simulated time: CPU is free, runs repeat to the byte; the default in one process) or real (wall clock; sharded runs)')
    .option('--shards <n>', 'spread the nodes over n shard processes linked by loopback TCP (one merged report)')
    .option('--external-shards', 'do not start the shards: wait for shards started elsewhere (containers) to connect')
    .option('--control <host:port>', 'control address the shards connect to', '127.0.0.1:0')
    .option('--json', 'print the figures and the run\'s cost as JSON ({ figures, cost })')
    .option('--cpu-profile <file>', 'write a CPU profile (.cpuprofile) of the workload phase (single-process runs)')
    .option('--heap-profile <file>', 'write a sampling profile of what the workload phase allocates (.heapprofile, single-process runs)')
    .option('--no-baseline', 'skip the plain kad-dht baseline (no comparison column)')
    .action(async (file: string, opts: { out: string, seed?: string, nodes?: string, shards?: string, clock?: string, externalShards?: boolean, control: string, json?: boolean, cpuProfile?: string, heapProfile?: string, baseline: boolean }) => {
      await runHandler(async () => {
        const environment = environmentAtStart()
        if (opts.clock !== undefined && opts.clock !== 'virtual' && opts.clock !== 'real') throw new ScenarioError(`--clock must be virtual or real, not ${opts.clock}`, { field: '--clock', source: file })
        const scenario = loadScenario(file, {
          clock: opts.clock,
          seed: opts.seed === undefined ? undefined : Number(opts.seed),
          nodes: opts.nodes === undefined ? undefined : Number(opts.nodes),
          shards: opts.shards === undefined ? undefined : Number(opts.shards),
          ...(opts.baseline ? {} : { baseline: false })
        })
        const sharded = scenario.shards > 1 || opts.externalShards === true
        const virtual = !sharded && clockOf(scenario) === 'virtual'
        const profiles = [
          ...(opts.cpuProfile !== undefined ? [workloadCpuProfile(opts.cpuProfile)] : []),
          ...(opts.heapProfile !== undefined ? [workloadHeapProfile(opts.heapProfile)] : [])
        ]
        if (sharded && profiles.length > 0) throw new ScenarioError('--cpu-profile and --heap-profile profile one process: not with --shards', { field: opts.cpuProfile !== undefined ? '--cpu-profile' : '--heap-profile', source: file })
        const control = parseHostPort(opts.control, '--control')
        const tty = process.stderr.isTTY === true
        const bar = tty ? new cliProgress.SingleBar({ format: '{phase} [{bar}] {value}/{total}', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined
        let phase = ''
        let lastLine = 0
        // the first Ctrl-C ends the run early and writes what finished; a second one quits at once
        const stop = new AbortController()
        const onSignal = (signal: NodeJS.Signals): void => {
          if (stop.signal.aborted) process.exit(130)
          bar?.stop()
          process.stderr.write(`${signal}: stopping: the operations in flight end within their deadline, then what finished is written (again to quit at once)\n`)
          stop.abort()
        }
        // a sharded run's shards have no way to stop early: there a signal ends the command as usual
        if (!sharded) {
          process.on('SIGINT', onSignal)
          process.on('SIGTERM', onSignal)
        }
        const runOptions: Parameters<typeof runScenario>[1] = {
          stop: stop.signal,
          ...(profiles.length > 0 ? { workloadProbe: probes(profiles) } : {}),
          out: (line) => { process.stderr.write(`${line}\n`) },
          progress: (p, done, total) => {
            if (bar !== undefined) {
              if (p !== phase) { bar.stop(); bar.start(total, 0, { phase: p }); phase = p }
              bar.update(done, { phase: p })
            } else if (p !== phase || wallDateNow() - lastLine > 5_000 || done === total) {
              phase = p
              lastLine = wallDateNow()
              process.stderr.write(`${p}: ${done}/${total}${virtual ? ` (simulated ${(performance.now() / 1000).toFixed(1)} s)` : ''}\n`)
            }
          }
        }
        const result = sharded
          ? await runSharded(scenario, {
            ...runOptions,
            shards: scenario.shards,
            spawn: opts.externalShards !== true,
            controlHost: control.host,
            controlPort: control.port,
            onListening: (a) => { process.stderr.write(`coordinator listening on ${a.host}:${a.port} for ${scenario.shards} shards\n`) }
          })
          : await runScenario(scenario, runOptions)
        bar?.stop()
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        result.environment = environment.end()
        const files = await writeReport(result, opts.out)
        if (opts.json === true) printJson({ figures: computeMetrics(result), cost: computeCost(result) })
        else process.stdout.write(readFileSync(files.summary, 'utf8'))
        process.stderr.write(`wrote ${files.metrics}, ${files.csv}, ${files.plots.length} plots, ${files.summary}\n`)
        // a scenario's targets that the run missed: the run itself worked, its result did not hold
        if (result.interrupted !== undefined) {
          process.stderr.write(`stopped during the ${result.interrupted.phase}: the report covers what finished\n`)
          return 130
        }
        const failed = files.assertions.filter(a => !a.ok)
        for (const a of failed) process.stderr.write(`assertion failed: ${a.reason}\n`)
        return failed.length > 0 ? 1 : 0
      }, { json: opts.json === true })
    })
}
