/**
 * The HTTP gateway's cached path against a bare HTTP server returning the same bytes, same run.
 * Target (issue 7): >= 0.5x the bare server's requests/s, and p99 < 10 ms.
 *
 * A memory-transport network (root, country, one city) and a resolver node serving the gateway on
 * loopback; `/v1/codes/MA.156.1301` is resolved once, so every measured request is a cache hit that
 * still goes through routing, parameter validation, the code parser, the node's trust check,
 * per-client rate limiting (limit set out of reach), CORS, metrics and the response headers.
 * The bare `node:http` server in the same process returns the gateway's body and headers as they
 * were captured. autocannon (in this process too, so both servers share the load generator's cost)
 * runs rounds that alternate which server goes first; reported: requests/s and p99 per round, and
 * the median of the per-round ratios.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import autocannon from 'autocannon'
import { median, writeResults } from './harness.ts'
import { http, SJZ, startGatewayNetwork } from '../test/utils/gateway-network.ts'
import { tolerateStrayNetworkErrors } from '../src/network/stray-errors.ts'

const stray = tolerateStrayNetworkErrors()
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10)
/** Load generator in worker threads, so it does not share the servers' event loop. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1)
const TARGET_RATIO = 0.5
const TARGET_P99_MS = 10

interface Round { requestsPerSecond: number, p99: number, errors: number, non2xx: number }

async function load (url: string, seconds: number): Promise<Round> {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: seconds, pipelining: 1, ...(WORKERS > 0 ? { workers: WORKERS } : {}) })
  return { requestsPerSecond: r.requests.average, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx }
}

async function main (): Promise<void> {
  console.log('gateway: cached GET /v1/codes/{code} vs a bare node:http server with the same bytes (same run, alternating rounds)')
  const g = await startGatewayNetwork(1, { rateLimit: { perSecond: 1e9, burst: 1e9 }, globalRateLimit: false })
  const path = `/v1/codes/${SJZ.code}`
  const gatewayUrl = `${g.gateway.url}${path}`
  const warm = await http(g.gateway.url, 'GET', path)
  const cached = await http(g.gateway.url, 'GET', path)
  if (warm.status !== 200 || !cached.text.includes('"source":"cache"')) throw new Error(`the code did not resolve into the cache: ${cached.status} ${cached.text.slice(0, 200)}`)
  const headers: Record<string, string> = {}
  for (const name of ['content-type', 'cache-control', 'etag', 'x-citycode-source', 'access-control-allow-origin', 'x-content-type-options', 'access-control-expose-headers']) {
    const v = cached.headers[name]
    if (typeof v === 'string') headers[name] = v
  }
  const body = cached.body
  const bare = createServer((_req, res) => {
    res.writeHead(200, { ...headers, 'content-length': body.length })
    res.end(body)
  })
  await new Promise<void>(resolve => bare.listen(0, '127.0.0.1', resolve))
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}${path}`

  await load(gatewayUrl, 1)
  await load(bareUrl, 1)
  const rounds: Array<{ gateway: Round, bare: Round }> = []
  for (let i = 0; i < ROUNDS; i++) {
    let gw: Round
    let b: Round
    if (i % 2 === 0) {
      gw = await load(gatewayUrl, SECONDS)
      b = await load(bareUrl, SECONDS)
    } else {
      b = await load(bareUrl, SECONDS)
      gw = await load(gatewayUrl, SECONDS)
    }
    rounds.push({ gateway: gw, bare: b })
    console.log(`  round ${i + 1}: gateway ${gw.requestsPerSecond.toFixed(0)} req/s p99 ${gw.p99} ms, bare ${b.requestsPerSecond.toFixed(0)} req/s p99 ${b.p99} ms, ratio ${(gw.requestsPerSecond / b.requestsPerSecond).toFixed(3)}`)
  }
  const ratio = median(rounds.map(r => r.gateway.requestsPerSecond / r.bare.requestsPerSecond))
  const figures = {
    bodyBytes: body.length,
    connections: CONNECTIONS,
    secondsPerRound: SECONDS,
    rounds: ROUNDS,
    gatewayRequestsPerSecond: Math.round(median(rounds.map(r => r.gateway.requestsPerSecond))),
    bareRequestsPerSecond: Math.round(median(rounds.map(r => r.bare.requestsPerSecond))),
    ratio: Number(ratio.toFixed(3)),
    gatewayP99Ms: median(rounds.map(r => r.gateway.p99)),
    gatewayP99MsWorst: Math.max(...rounds.map(r => r.gateway.p99)),
    bareP99Ms: median(rounds.map(r => r.bare.p99)),
    gatewayErrors: rounds.reduce((s, r) => s + r.gateway.errors + r.gateway.non2xx, 0),
    targets: { ratio: TARGET_RATIO, gatewayP99Ms: TARGET_P99_MS }
  }
  console.log(`  gateway ${figures.gatewayRequestsPerSecond} req/s vs bare ${figures.bareRequestsPerSecond} req/s: ratio ${figures.ratio} (target >= ${TARGET_RATIO})`)
  console.log(`  gateway p99 ${figures.gatewayP99Ms} ms (worst round ${figures.gatewayP99MsWorst} ms; target < ${TARGET_P99_MS} ms), bare p99 ${figures.bareP99Ms} ms, ${figures.gatewayErrors} errors or non-2xx`)
  console.log(`  wrote ${writeResults('gateway', figures)}`)
  await new Promise<void>(resolve => bare.close(() => { resolve() }))
  await g.stop()
  if (stray.count > 0) console.log(`  (${stray.count} stray network failures ignored)`)
}

await main()
