import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import type { Metrics } from '@libp2p/interface'
import { Registry } from 'prom-client'
import type { CitycodeNode } from '../../services/node/index.ts'
import { gateway } from './index.ts'
import type { Gateway, GatewayInit } from './index.ts'

/**
 * What a command needs to serve the gateway for a node it builds: libp2p metrics into one registry
 * (given to the node before it starts), then the gateway on that node, serving the same registry.
 */
export interface GatewayMetricsPlan {
  registry: Registry
  /** For `NetworkInit.metrics` of the node the gateway will serve. */
  libp2pMetrics: (components: never) => Metrics
}

export function planGatewayMetrics (): GatewayMetricsPlan {
  const registry = new Registry()
  return { registry, libp2pMetrics: prometheusMetrics({ registry }) as (components: never) => Metrics }
}

export async function serveGateway (node: CitycodeNode, init: GatewayInit, plan?: GatewayMetricsPlan): Promise<Gateway> {
  const g = gateway(init)({ node, ...(plan !== undefined ? { registry: plan.registry } : {}) })
  await g.start()
  return g
}
