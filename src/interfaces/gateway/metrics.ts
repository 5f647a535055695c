import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { routingTableSize } from '../../network/node/index.ts'
import { NotFoundError, ResolveTimeoutError } from '../../services/errors.ts'
import type { CitycodeNode, ResolutionEvent } from '../../services/node/index.ts'

/** Resolution latency buckets (seconds): a cache hit is microseconds, a DHT walk seconds. */
const RESOLUTION_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30]
const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 10]

export type ResolutionResult = 'found' | 'not_found' | 'timeout' | 'malformed' | 'refused'

function resultOf (event: ResolutionEvent): ResolutionResult {
  if (event.error === undefined) return 'found'
  if (event.error instanceof NotFoundError) return 'not_found'
  if (event.error instanceof ResolveTimeoutError) return 'timeout'
  if ((event.error as Error).name === 'MalformedCodeError') return 'malformed'
  return 'refused'
}

/**
 * The gateway's `citycode_*` series, in the registry that also holds libp2p's (when the node was
 * built with `prometheusMetrics({ registry })`). Counters the node keeps itself (gossip, rejections,
 * records held, peers) are read when Prometheus scrapes, so the services need no metrics code.
 */
export class GatewayMetrics {
  readonly registry: Registry
  private readonly resolutions: Counter<'path' | 'result'>
  private readonly resolutionSeconds: Histogram<'path'>
  private readonly cacheHits: Counter
  private readonly cacheMisses: Counter
  private readonly httpRequests: Counter<'route' | 'status'>
  private readonly httpSeconds: Histogram<'route'>
  private readonly httpRejections: Counter<'error'>
  private readonly httpConnections: Gauge
  private readonly httpConnectionsRefused: Counter<'reason'>
  /** Stops counting the node's resolutions. */
  readonly close: () => void

  constructor (node: CitycodeNode, registry: Registry = new Registry()) {
    this.registry = registry
    const registers = [registry]
    this.resolutions = new Counter({ name: 'citycode_resolutions_total', help: 'Resolutions by the node, by path (cache, local, direct, dht, none) and result', labelNames: ['path', 'result'], registers })
    this.resolutionSeconds = new Histogram({ name: 'citycode_resolution_seconds', help: 'Resolution latency by path', labelNames: ['path'], buckets: RESOLUTION_BUCKETS, registers })
    this.cacheHits = new Counter({ name: 'citycode_cache_hits_total', help: 'Resolutions answered from the verified-record cache', registers })
    this.cacheMisses = new Counter({ name: 'citycode_cache_misses_total', help: 'Resolutions that had to look beyond the cache', registers })
    this.httpRequests = new Counter({ name: 'citycode_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers })
    this.httpSeconds = new Histogram({ name: 'citycode_http_request_seconds', help: 'HTTP request latency by route', labelNames: ['route'], buckets: HTTP_BUCKETS, registers })
    this.httpRejections = new Counter({ name: 'citycode_http_rejections_total', help: 'HTTP requests refused with a problem response, by error name', labelNames: ['error'], registers })
    this.httpConnections = new Gauge({ name: 'citycode_http_connections', help: 'HTTP connections open', registers })
    this.httpConnectionsRefused = new Counter({ name: 'citycode_http_connections_refused_total', help: 'HTTP connections closed at once, by the limit they were over (total, address)', labelNames: ['reason'], registers })

    // every resolution of the node (for HTTP clients, its ledger, anyone), not only the gateway's
    this.close = node.onResolution((event) => { this.resolution(event.source ?? 'none', resultOf(event), event.elapsedMs / 1000) })

    // Live counters of the node, read at scrape time. A counter cannot be set, so each collect
    // replaces the value with the node's.
    new Counter({
      name: 'citycode_gossip_messages_total',
      help: 'Record updates received on gossip, by validation result',
      labelNames: ['result'],
      registers,
      collect () {
        this.reset()
        this.inc({ result: 'accepted' }, node.gossip.accepted)
        this.inc({ result: 'rejected' }, node.gossip.rejected)
      }
    })
    new Counter({
      name: 'citycode_rejections_total',
      help: 'Bad input refused by the node, by door (dht, push, resolve, apply) and error name',
      labelNames: ['door', 'error'],
      registers,
      collect () {
        this.reset()
        for (const [key, count] of node.rejections) {
          const [door = '', error = ''] = key.split(':')
          this.inc({ door, error }, count)
        }
      }
    })
    new Gauge({
      name: 'citycode_records_held',
      help: 'Records this node keeps: its own (signed by it) and held (its children, served for them)',
      labelNames: ['role'],
      registers,
      async collect () {
        for (const role of ['own', 'held'] as const) {
          let n = 0
          for await (const _ of node.records.list(role)) n++
          this.set({ role }, n)
        }
      }
    })
    new Gauge({ name: 'citycode_resolver_cache_entries', help: 'Verified records in the resolver cache', registers, collect () { this.set(node.resolver.cacheSize) } })
    new Gauge({ name: 'citycode_peers', help: 'Connected peers', registers, collect () { this.set(node.libp2p.getPeers().length) } })
    new Gauge({ name: 'citycode_routing_table_peers', help: 'Peers in the kad-dht routing table', registers, collect () { this.set(routingTableSize(node.libp2p.services.dht)) } })
    new Gauge({ name: 'citycode_ledger_entries', help: 'Entries in this authority\'s own ledger', registers, collect () { this.set(node.ledger?.size ?? 0) } })
    new Gauge({ name: 'citycode_ledger_fork_alarms', help: 'Fork alarms held (authorities distrusted until an operator decides)', registers, collect () { this.set(node.ledger?.alarms().length ?? 0) } })
  }

  resolution (path: string, result: ResolutionResult, seconds: number): void {
    this.resolutions.inc({ path, result })
    if (result === 'found') this.resolutionSeconds.observe({ path }, seconds)
    if (path === 'cache') this.cacheHits.inc()
    else this.cacheMisses.inc()
  }

  request (route: string, status: number, seconds: number): void {
    this.httpRequests.inc({ route, status: String(status) })
    this.httpSeconds.observe({ route }, seconds)
  }

  rejection (error: string): void {
    this.httpRejections.inc({ error })
  }

  /** A connection opened (+1) or closed (-1). */
  connection (delta: 1 | -1): void {
    this.httpConnections.inc(delta)
  }

  connectionRefused (reason: 'total' | 'address'): void {
    this.httpConnectionsRefused.inc({ reason })
  }

  async text (): Promise<string> {
    return await this.registry.metrics()
  }

  get contentType (): string {
    return this.registry.contentType
  }
}
