import type { FastifyInstance } from 'fastify'
import type { CitycodeNode } from '../../services/node/index.ts'
import type { LogCache } from './log-cache.ts'
import type { GatewayMetrics } from './metrics.ts'

/** What every route module gets: the node it answers for and the gateway's shared parts. */
export interface GatewayContext {
  readonly node: CitycodeNode
  readonly metrics: GatewayMetrics
  /** Undefined when the node runs without a ledger. */
  readonly logs: LogCache | undefined
  readonly resolveTimeoutMs: number
}

/**
 * One resource's routes and their OpenAPI path items. The server registers every module of
 * `routes/index.ts` and builds `/openapi.json` from their `paths`, so a new resource is one new file
 * added to that list.
 */
export interface RouteModule {
  readonly paths: Record<string, unknown>
  register(app: FastifyInstance, ctx: GatewayContext): void
}
