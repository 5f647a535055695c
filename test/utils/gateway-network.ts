import { request } from 'node:http'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { Registry } from 'prom-client'
import { toMicroDegrees } from '../../src/core/record/values.ts'
import type { CitycodeNode } from '../../src/services/node/index.ts'
import { gateway } from '../../src/interfaces/gateway/index.ts'
import type { Gateway, GatewayInit } from '../../src/interfaces/gateway/index.ts'
import { eventually, startTestNetwork } from './citycode-network.ts'
import type { TestNetwork } from './citycode-network.ts'

/**
 * A real local network (root, country MA.156, cities on the memory transport) and a resolver node
 * serving the gateway on loopback. Shijiazhuang (MA.156.1301) publishes a second version with its
 * name and place and registers one sub-code, so children and history have something to show.
 */
export interface GatewayNetwork {
  net: TestNetwork
  node: CitycodeNode
  registry: Registry
  gateway: Gateway
  /** Another gateway on the same node (e.g. other limits); stopped by `stop`. */
  another(init: GatewayInit): Promise<Gateway>
  stop(): Promise<void>
}

export const SJZ = { code: 'MA.156.1301', name: 'Shijiazhuang', lat: 38.04139, lon: 114.47861 }
export const SJZ_SUB = 'MA.156.1301.01'

export async function startGatewayNetwork (cities = 2, init: GatewayInit = {}): Promise<GatewayNetwork> {
  const net = await startTestNetwork(cities)
  const gateways: Gateway[] = []
  try {
    const city = net.cities[0] as CitycodeNode
    await city.publishOwn([{ type: 'name', lang: 'en', value: SJZ.name }, { type: 'geo', lat: toMicroDegrees(SJZ.lat), lon: toMicroDegrees(SJZ.lon) }])
    const sub = await city.authority?.allocateOwn('Urban management bureau')
    if (sub !== SJZ_SUB) throw new Error(`expected ${SJZ_SUB}, allocated ${String(sub)}`)
    await city.publish(sub, [{ type: 'name', lang: 'en', value: 'Shijiazhuang urban management bureau' }])
    // heads are signed within a second of an append: wait until they cover everything
    for (const n of [net.root, net.country, city]) {
      if (!await eventually(() => n.ledger !== undefined && n.ledger.head()?.sth.head.size === n.ledger.size, 10_000)) throw new Error('ledger head not signed in time')
    }
    const registry = new Registry()
    const node = await net.add('resolver', {
      network: { transport: 'memory', listen: [], bootstrap: [net.addrOf(net.root), net.addrOf(net.country)], metrics: prometheusMetrics({ registry }) }
    })
    await node.knowAuthority({ namespace: 'MA', addr: net.addrOf(net.root) })
    // one registry holds one gateway's series: others on the node get their own
    const serve = async (extra: GatewayInit, shared?: Registry): Promise<Gateway> => {
      const g = gateway({ listen: '127.0.0.1:0', log: 'off', ...extra })({ node, ...(shared !== undefined ? { registry: shared } : {}) })
      await g.start()
      gateways.push(g)
      return g
    }
    const another = async (extra: GatewayInit): Promise<Gateway> => await serve(extra)
    const main = await serve(init, registry)
    return {
      net,
      node,
      registry,
      gateway: main,
      another,
      stop: async () => {
        await Promise.allSettled(gateways.map(async g => { await g.stop() }))
        await net.stop()
      }
    }
  } catch (err) {
    await Promise.allSettled(gateways.map(async g => { await g.stop() }))
    await net.stop()
    throw err
  }
}

/** An RFC 9457 problem as the gateway sends it. */
export interface Problem { type: string, title: string, status: number, detail: string, code: string, instance?: string, details?: Record<string, unknown> }

export interface HttpAnswer { status: number, headers: Record<string, string | string[] | undefined>, body: Buffer, text: string, json: <T = Problem>() => T }

/** An RFC 9457 problem as the gateway sends it. */
export interface Problem { type: string, title: string, status: number, detail: string, code: string, instance?: string, details?: Record<string, unknown> }

/** One HTTP request with exactly this method and target (no normalisation of the path). */
export async function http (base: string, method: string, path: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const url = new URL(base)
  return await new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const body = Buffer.concat(chunks)
        const text = body.toString('utf8')
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json: <T>() => JSON.parse(text) as T })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.on('timeout', () => { req.destroy(new Error(`no answer to ${method} ${path.slice(0, 80)}`)) })
    req.end()
  })
}
