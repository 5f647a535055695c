import type { FastifyInstance } from 'fastify'
import { routingTableSize } from '../../../network/node/index.ts'
import type { GatewayContext, RouteModule } from '../context.ts'

const problemRef = { $ref: '#/components/responses/Problem' }

export const operationsRoutes: RouteModule = {
  paths: {
    '/healthz': { get: { summary: 'The process is up', responses: { 200: { description: 'up' } } } },
    '/readyz': {
      get: {
        summary: 'The node is connected and its DHT routing table is not empty',
        responses: { 200: { description: 'ready' }, 503: { description: 'not ready', content: { 'application/json': { schema: { type: 'object' } } } } }
      }
    },
    '/metrics': { get: { summary: 'Prometheus text format: citycode_* series and libp2p\'s', responses: { 200: { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } }, 429: problemRef } } }
  },

  register (app: FastifyInstance, ctx: GatewayContext): void {
    app.get('/healthz', async (_request, reply) => await reply.type('application/json').send('{"status":"up"}'))

    app.get('/readyz', async (_request, reply) => {
      const peers = ctx.node.libp2p.getPeers().length
      const routingTable = routingTableSize(ctx.node.libp2p.services.dht)
      const ready = peers > 0 && routingTable > 0
      return await reply.code(ready ? 200 : 503).type('application/json')
        .send(JSON.stringify({ status: ready ? 'ready' : 'not ready', peers, routingTable, code: ctx.node.identity?.namespace ?? null }))
    })

    app.get('/metrics', async (_request, reply) => {
      const text = await ctx.metrics.text()
      return await reply.type(ctx.metrics.contentType).header('cache-control', 'no-store').send(text)
    })
  }
}
