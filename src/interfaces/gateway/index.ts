import type { ComponentLogger } from '@libp2p/interface'
import type { Registry } from 'prom-client'
import type { CitycodeNode } from '../../services/node/index.ts'
import type { GatewayConnectionLimits } from './constants.ts'
import { GatewayServer } from './server.ts'

export * from './constants.ts'

export interface GatewayInit {
  /** `host:port`; port 0 picks a free one. @default 127.0.0.1:8080 */
  listen?: string
  /** @default DEFAULT_RESOLVE_TIMEOUT_MS */
  resolveTimeoutMs?: number
  /** @default DEFAULT_MAX_URL_LENGTH */
  maxUrlLength?: number
  /** Per-client request rate; `false` turns the limit off. @default 50/s, burst 200 */
  rateLimit?: { perSecond: number, burst: number } | false
  /**
   * Request rate of all clients together, beside the per-client one (which many addresses pass
   * many times over); `false` turns it off. @default 200/s, burst 200
   */
  globalRateLimit?: { perSecond: number, burst: number } | false
  /**
   * Connection caps (in total, per client address or IPv6 /64) and the deadlines of a request's
   * headers, of the whole request, of keep-alive and idle connections; any field left out takes its
   * default. @default DEFAULT_CONNECTION_LIMITS
   */
  connections?: Partial<GatewayConnectionLimits>
  /** @default DEFAULT_LOG_CACHE_MS */
  logCacheMs?: number
  /**
   * Request logs: `json` (one JSON object per line on stderr, for log collectors), `text` (one short
   * line per request on stderr), `off`. @default `off`: the operator's own output stays its own
   */
  log?: 'json' | 'text' | 'off'
  /** `Access-Control-Allow-Origin` of read endpoints. @default '*' */
  corsOrigin?: string
}

export interface GatewayComponents {
  node: CitycodeNode
  /**
   * The Prometheus registry `/metrics` serves; pass the one given to the node's libp2p
   * (`prometheusMetrics({ registry })`) so libp2p's series are served too. @default a new registry
   */
  registry?: Registry
  logger?: ComponentLogger
}

export interface Gateway {
  start(): Promise<void>
  stop(): Promise<void>
  /** `http://host:port` once started. */
  readonly url: string
  /** The connection and request limits in force (init over DEFAULT_CONNECTION_LIMITS). */
  readonly limits: Readonly<GatewayConnectionLimits>
}

export function gateway (init: GatewayInit = {}): (components: GatewayComponents) => Gateway {
  return (components) => new GatewayServer(init, components)
}
