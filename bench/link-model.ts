/**
 * Request/response latency on an open connection, 25 ms one-way links: the stock `@libp2p/memory`
 * `latency` option (which waits once per buffer, so buffers in flight add up) against the link-model
 * transport (each buffer arrives at its send time + 25 ms), same run. The ideal is 2 RTT = 100 ms.
 */
import { memory } from '@libp2p/memory'
import type { CitycodeLibp2p } from '../src/network/node/index.ts'
import { connectedPair } from './two-nodes.ts'
import { handleRequests, sendRequest } from '../src/network/rpc/index.ts'
import { median, writeResults } from './harness.ts'

const LATENCY_MS = 25
const ROUNDS = 7

async function pair (kind: 'stock' | 'link'): Promise<[CitycodeLibp2p, CitycodeLibp2p]> {
  const { a, b } = await connectedPair(LATENCY_MS, kind === 'stock' ? () => memory({ latency: LATENCY_MS }) as never : undefined)
  await handleRequests(b, '/bench/echo/1.0.0', async (request) => request)
  await sendRequest(a, b.peerId, '/bench/echo/1.0.0', new Uint8Array(200))
  return [a, b]
}

async function measure ([a, b]: [CitycodeLibp2p, CitycodeLibp2p], concurrent: number): Promise<number> {
  const t = performance.now()
  await Promise.all(Array.from({ length: concurrent }, async () => await sendRequest(a, b.peerId, '/bench/echo/1.0.0', new Uint8Array(200), { timeoutMs: 60_000 })))
  return performance.now() - t
}

const stock = await pair('stock')
const link = await pair('link')
const figures: Record<string, number> = {}
for (const concurrent of [1, 10]) {
  const s: number[] = []
  const l: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    s.push(await measure(stock, concurrent))
    l.push(await measure(link, concurrent))
  }
  figures[`stockMs_${concurrent}`] = Number(median(s).toFixed(1))
  figures[`linkModelMs_${concurrent}`] = Number(median(l).toFixed(1))
  figures[`linkVsStock_${concurrent}`] = Number((median(l) / median(s)).toFixed(3))
  console.log(`link model: ${concurrent} request(s) in flight on an open connection, 25 ms links: stock memory latency ${figures[`stockMs_${concurrent}`]} ms, link model ${figures[`linkModelMs_${concurrent}`]} ms (ideal ~100 ms), ratio ${figures[`linkVsStock_${concurrent}`]}`)
}
console.log(`  wrote ${writeResults('link-model', { latencyMs: LATENCY_MS, idealMs: 4 * LATENCY_MS, ...figures })}`)
await Promise.all([...stock, ...link].map(async n => { await n.stop() }))
