/**
 * What one publication costs a simulation process: the CPU time of the whole process in a window
 * after a city publishes a new version, less the CPU time of an idle window of the same length
 * just before it (paired, so the machine's load drifts out), on the latency-50 network (60 cities,
 * noise, 50 ms links), for full nodes and for the lean profile, same run. This is what decides the
 * update rate a single-process simulation carries (docs/SIMULATION.md).
 */
import { buildNetwork } from '../src/interfaces/simulator/network-builder.ts'
import { citiesFor } from '../src/interfaces/simulator/runner.ts'
import { loadScenario } from '../src/interfaces/simulator/scenario.ts'
import { scenarioLinkModel } from '../src/interfaces/simulator/link-model.ts'
import { tolerateStrayNetworkErrors } from '../src/network/stray-errors.ts'
import { median, writeResults } from './harness.ts'

const WINDOW_MS = 6_000
const PUBLICATIONS = 3

tolerateStrayNetworkErrors()
const scenario = loadScenario(new URL('../simulations/latency-50.json', import.meta.url).pathname, {})
const cities = citiesFor(scenario)

const cpuOver = async (ms: number): Promise<number> => {
  const before = process.cpuUsage()
  await new Promise(resolve => setTimeout(resolve, ms))
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000
}

async function measure (lean: boolean): Promise<{ perPublicationMs: number, idleMs: number, connectionsPerNode: number }> {
  const links = scenarioLinkModel(scenario, cities)
  const net = await buildNetwork({
    cities,
    resolvers: scenario.resolvers,
    transport: 'memory',
    encryption: scenario.encryption,
    customTransport: links?.transport,
    dialsPerNode: scenario.dialsPerNode,
    seed: scenario.seed,
    lean,
    concurrency: scenario.concurrency,
    prefix: `pubcost-${lean ? 'lean' : 'full'}-${process.pid}`
  })
  try {
    // the build's own DHT puts and first heads settle first
    await new Promise(resolve => setTimeout(resolve, 8_000))
    const extra: number[] = []
    const idle: number[] = []
    for (let i = 0; i < PUBLICATIONS; i++) {
      const quiet = await cpuOver(WINDOW_MS)
      const holder = net.cities[(i * 7) % net.cities.length]
      if (holder === undefined) throw new Error('no city to publish')
      const before = process.cpuUsage()
      const t = performance.now()
      await holder.node.publishOwn([{ type: 'data', name: 'version', value: String(i) }], { background: true })
      await new Promise(resolve => setTimeout(resolve, Math.max(0, WINDOW_MS - (performance.now() - t))))
      const used = process.cpuUsage(before)
      extra.push((used.user + used.system) / 1000 - quiet)
      idle.push(quiet)
    }
    const connections = net.nodes.reduce((n, s) => n + s.node.libp2p.getConnections().length, 0)
    return { perPublicationMs: median(extra), idleMs: median(idle), connectionsPerNode: connections / net.nodes.length }
  } finally {
    await net.stop()
  }
}

const full = await measure(false)
const lean = await measure(true)
const figures = {
  nodes: cities.length + scenario.resolvers + 1 + new Set(cities.map(c => c.country)).size,
  windowMs: WINDOW_MS,
  publications: PUBLICATIONS,
  fullCpuMsPerPublication: Math.round(full.perPublicationMs),
  fullIdleCpuMsPerWindow: Math.round(full.idleMs),
  fullConnectionsPerNode: Number(full.connectionsPerNode.toFixed(1)),
  leanCpuMsPerPublication: Math.round(lean.perPublicationMs),
  leanIdleCpuMsPerWindow: Math.round(lean.idleMs),
  leanConnectionsPerNode: Number(lean.connectionsPerNode.toFixed(1)),
  leanVsFull: Number((lean.perPublicationMs / full.perPublicationMs).toFixed(3))
}
console.log(`publication cost on the latency-50 network (${figures.nodes} nodes, noise, 50 ms links), median of ${PUBLICATIONS}, each less an idle ${WINDOW_MS / 1000} s window just before it:`)
console.log(`  full nodes: ${figures.fullCpuMsPerPublication} ms of CPU per publication (idle ${figures.fullIdleCpuMsPerWindow} ms per window, ${figures.fullConnectionsPerNode} connections per node)`)
console.log(`  lean nodes: ${figures.leanCpuMsPerPublication} ms of CPU per publication (idle ${figures.leanIdleCpuMsPerWindow} ms per window, ${figures.leanConnectionsPerNode} connections per node)`)
console.log(`  lean / full: ${figures.leanVsFull}`)
console.log(`  wrote ${writeResults('publication-cost', figures)}`)
process.exit(0)
