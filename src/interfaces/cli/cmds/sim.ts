import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import cliProgress from 'cli-progress'
import { loadScenario } from '../../simulator/scenario.ts'
import { runScenario } from '../../simulator/runner.ts'
import { writeReport } from '../../simulator/report.ts'
import { computeMetrics } from '../../simulator/metrics.ts'
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
    .option('--json', 'print the metrics as JSON')
    .action(async (file: string, opts: { out: string, seed?: string, nodes?: string, json?: boolean }) => {
      await runHandler(async () => {
        const scenario = loadScenario(file, {
          seed: opts.seed === undefined ? undefined : Number(opts.seed),
          nodes: opts.nodes === undefined ? undefined : Number(opts.nodes)
        })
        const tty = process.stderr.isTTY === true
        const bar = tty ? new cliProgress.SingleBar({ format: '{phase} [{bar}] {value}/{total}', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined
        let phase = ''
        let lastLine = 0
        const result = await runScenario(scenario, {
          out: (line) => { process.stderr.write(`${line}\n`) },
          progress: (p, done, total) => {
            if (bar !== undefined) {
              if (p !== phase) { bar.stop(); bar.start(total, 0, { phase: p }); phase = p }
              bar.update(done, { phase: p })
            } else if (p !== phase || Date.now() - lastLine > 5_000 || done === total) {
              phase = p
              lastLine = Date.now()
              process.stderr.write(`${p}: ${done}/${total}\n`)
            }
          }
        })
        bar?.stop()
        const files = await writeReport(result, opts.out)
        if (opts.json === true) printJson(computeMetrics(result))
        else process.stdout.write(readFileSync(files.summary, 'utf8'))
        process.stderr.write(`wrote ${files.metrics}, ${files.csv}, ${files.plots.length} plots, ${files.summary}\n`)
        return 0
      })
    })
}
