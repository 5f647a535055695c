/**
 * Resolution and publication against plain kad-dht, on the same memory-transport network, same run.
 * Targets (issue 4): cold resolution p50 <= 0.5x a plain kad-dht GET of the same key; cached
 * resolution p99 < 1 ms; a publication reaching >= 16 replicas faster than a plain kad-dht PUT.
 * `BENCH_SIZES=50,200` chooses the network sizes; `BENCH_PAIRS` the number of lookups.
 */
import { readFileSync } from 'node:fs'
import { recordKey } from '../src/core/index.ts'
import { buildNetwork, registerCities } from '../src/interfaces/simulator/network-builder.ts'
import type { SimNode } from '../src/interfaces/simulator/network-builder.ts'
import { Rng } from '../src/interfaces/simulator/rng.ts'
import { quantile, writeResults } from './harness.ts'
import { tolerateStrayNetworkErrors } from '../src/network/stray-errors.ts'

const stray = tolerateStrayNetworkErrors()

const SIZES = (process.env.BENCH_SIZES ?? '50,200').split(',').map(Number)
const PAIRS = Number(process.env.BENCH_PAIRS ?? 30)
const PUBLISHES = Number(process.env.BENCH_PUBLISHES ?? 5)
const QUERY_DEADLINE_MS = Number(process.env.BENCH_DEADLINE_MS ?? 20_000)
const REPLICAS = 16

async function plainGet (asker: SimNode, code: string): Promise<{ ms: number, ok: boolean }> {
  const t0 = performance.now()
  let ok = false
  try {
    for await (const e of asker.node.libp2p.services.dht.get(recordKey(code), { signal: AbortSignal.timeout(QUERY_DEADLINE_MS) })) {
      if (e.name === 'VALUE') ok = true
    }
  } catch {}
  return { ms: performance.now() - t0, ok }
}

async function plainPut (holder: SimNode, code: string, bytes: Uint8Array): Promise<{ ms: number, peers: number }> {
  const t0 = performance.now()
  let peers = 0
  try {
    for await (const e of holder.node.libp2p.services.dht.put(recordKey(code), bytes, { signal: AbortSignal.timeout(QUERY_DEADLINE_MS) })) {
      if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE') peers++
    }
  } catch {}
  return { ms: performance.now() - t0, peers }
}

const ms = (x: number): number => Number(x.toFixed(2))
const results: Record<string, unknown> = {}
for (const size of SIZES) {
  const t0 = performance.now()
  const net = await buildNetwork({
    cities: registerCities(size),
    resolvers: 0,
    transport: 'memory',
    encryption: 'noise',
    dialsPerNode: 4,
    seed: 42,
    lean: false,
    concurrency: 16,
    prefix: `bench-resolution-${process.pid}-${size}`,
    onProgress: (done, total) => { if (done % 50 === 0) process.stderr.write(`  built ${done}/${total}\n`) },
    resolverInit: { directTimeoutMs: 2_000, timeoutMs: QUERY_DEADLINE_MS }
  })
  const setupS = (performance.now() - t0) / 1000
  await new Promise(resolve => setTimeout(resolve, 3_000))
  const rng = new Rng(7)
  const cities = net.cities
  const get: number[] = []
  const cold: number[] = []
  let getOk = 0
  let coldOk = 0
  const sources: Record<string, number> = {}
  const used = new Set<string>()
  const pairs: Array<[SimNode, SimNode]> = []
  while (pairs.length < PAIRS) {
    const asker = rng.pick(cities)
    const target = rng.pick(cities)
    if (asker === target || used.has(`${asker.code} ${target.code}`)) continue
    used.add(`${asker.code} ${target.code}`)
    pairs.push([asker, target])
  }
  // the baseline must find the same bytes: make sure every target's record is in the DHT first
  process.stderr.write('  storing the targets\' records in the DHT\n')
  for (const target of new Set(pairs.map(p => p[1]))) {
    const own = await target.node.held(target.code as string)
    if (own !== undefined) await plainPut(target, target.code as string, own.record.bytes)
  }
  for (let i = 0; i < PAIRS; i++) {
    process.stderr.write(`  lookup ${i + 1}/${PAIRS}\n`)
    const [asker, target] = pairs[i] as [SimNode, SimNode]
    const code = target.code as string
    const runGet = async (): Promise<void> => {
      const g = await plainGet(asker, code)
      get.push(g.ms)
      if (g.ok) getOk++
    }
    const runResolve = async (): Promise<void> => {
      const t = performance.now()
      try {
        const r = await asker.node.resolve(code, { fresh: true, signal: AbortSignal.timeout(QUERY_DEADLINE_MS) })
        coldOk++
        sources[r.source] = (sources[r.source] ?? 0) + 1
      } catch {}
      cold.push(performance.now() - t)
    }
    // alternate the order so neither path profits from connections the other opened
    if (i % 2 === 0) { await runGet(); await runResolve() } else { await runResolve(); await runGet() }
  }
  const cached: number[] = []
  // a pair whose cold resolution succeeded: its answer is in the asker's cache now
  const resolvedPair = pairs.find(([a, t]) => a.node.resolver.cached(t.code as string) !== undefined) ?? pairs[0] as [SimNode, SimNode]
  const probe = resolvedPair[0]
  const probeCode = resolvedPair[1].code as string
  await probe.node.resolve(probeCode).catch(() => undefined)
  for (let i = 0; i < 2000 && probe.node.resolver.cached(probeCode) !== undefined; i++) {
    const t = performance.now()
    await probe.node.resolve(probeCode)
    cached.push(performance.now() - t)
  }

  const reach: number[] = []
  const put: number[] = []
  const putPeers: number[] = []
  for (let p = 0; p < PUBLISHES; p++) {
    const holder = rng.pick(cities)
    const code = holder.code as string
    const watchers = rng.sample(cities.length, REPLICAS + 4).map(i => cities[i] as SimNode).filter(w => w !== holder)
    await Promise.all(watchers.map(async w => await w.node.resolve(code).catch(() => undefined)))
    const t = performance.now()
    const published = await holder.node.publishOwn([{ type: 'data', name: 'version', value: String(p) }], { background: true })
    const seq = published.record.body.seq
    let reached = performance.now() - t
    while (performance.now() - t < QUERY_DEADLINE_MS) {
      if (watchers.filter(w => w.node.resolver.cached(code)?.record.body.seq === seq).length >= REPLICAS) { reached = performance.now() - t; break }
      await new Promise(resolve => setTimeout(resolve, 2))
      reached = performance.now() - t
    }
    reach.push(reached)
    const plain = await plainPut(holder, code, published.record.bytes)
    put.push(plain.ms)
    putPeers.push(plain.peers)
  }
  const rss = process.memoryUsage().rss / 1e6
  const fig = {
    nodes: net.nodes.length,
    setupSeconds: Number(setupS.toFixed(1)),
    plainGet: { p50Ms: ms(quantile(get, 0.5)), p95Ms: ms(quantile(get, 0.95)), ok: `${getOk}/${PAIRS}` },
    coldResolve: { p50Ms: ms(quantile(cold, 0.5)), p95Ms: ms(quantile(cold, 0.95)), ok: `${coldOk}/${PAIRS}`, sources },
    coldVsPlainGetP50: Number((quantile(cold, 0.5) / quantile(get, 0.5)).toFixed(3)),
    coldVsPlainGetP95: Number((quantile(cold, 0.95) / quantile(get, 0.95)).toFixed(3)),
    cachedResolve: { p50Ms: Number(quantile(cached, 0.5).toFixed(4)), p99Ms: Number(quantile(cached, 0.99).toFixed(4)) },
    publishTo16Replicas: { p50Ms: ms(quantile(reach, 0.5)), maxMs: ms(Math.max(...reach)) },
    plainPut: { p50Ms: ms(quantile(put, 0.5)), maxMs: ms(Math.max(...put)), peersMedian: quantile(putPeers, 0.5) },
    publishVsPlainPutP50: Number((quantile(reach, 0.5) / quantile(put, 0.5)).toFixed(3)),
    rssMbPerNode: Number((rss / net.nodes.length).toFixed(1)),
    strayNetworkErrors: stray.count
  }
  results[`n${size}`] = fig
  console.log(`resolution, ${fig.nodes} nodes (memory transport, noise), setup ${fig.setupSeconds} s`)
  console.log(`  plain kad-dht GET      p50 ${fig.plainGet.p50Ms} ms  p95 ${fig.plainGet.p95Ms} ms  ok ${fig.plainGet.ok}`)
  console.log(`  cold resolution        p50 ${fig.coldResolve.p50Ms} ms  p95 ${fig.coldResolve.p95Ms} ms  ok ${fig.coldResolve.ok}  ${JSON.stringify(sources)}`)
  console.log(`    ratio to plain GET   p50 ${fig.coldVsPlainGetP50} (target <= 0.5)  p95 ${fig.coldVsPlainGetP95}`)
  console.log(`  cached resolution      p50 ${fig.cachedResolve.p50Ms} ms  p99 ${fig.cachedResolve.p99Ms} ms (target < 1 ms)`)
  console.log(`  publish to ${REPLICAS} replicas  p50 ${fig.publishTo16Replicas.p50Ms} ms   plain PUT p50 ${fig.plainPut.p50Ms} ms (${fig.plainPut.peersMedian} peers)  ratio ${fig.publishVsPlainPutP50} (target < 1)`)
  await net.stop()
}
// keep the figures of sizes not run this time (BENCH_SIZES picks a subset)
let previous: Record<string, unknown> = {}
try {
  previous = (JSON.parse(readFileSync(new URL('./results/resolution.json', import.meta.url), 'utf8')) as { figures: Record<string, unknown> }).figures
} catch {}
console.log(`  wrote ${writeResults('resolution', { ...previous, ...results })}`)
process.exit(0)
