import type { FastifyInstance } from 'fastify'
import { equalBytes, toHex } from '../../../core/crypto/hash.ts'
import { compareTreeHeads } from '../../../core/ledger/fork.ts'
import type { HeadRecord } from '../../../core/record/head-record.ts'
import { UnknownLogError } from '../../../network/protocols/ledger.ts'
import type { GatewayContext, RouteModule } from '../context.ts'
import { codeFrom, codeParams, headView } from './shared.ts'

type HeldStatus = 'consistent' | 'fork' | 'rollback' | 'other-key' | 'undecided'

/**
 * How a head this node holds of a log relates to the log's current head: a prefix of it
 * (consistent), a fork, a larger head than the log now serves (rollback), another key.
 */
function statusOf (held: HeadRecord, current: HeadRecord, consistencyProof: (oldSize: number) => Uint8Array[]): HeldStatus {
  if (!equalBytes(held.key, current.key)) return 'other-key'
  if (held.sth.head.size > current.sth.head.size) return 'rollback'
  try {
    const proof = held.sth.head.size < current.sth.head.size ? consistencyProof(held.sth.head.size) : undefined
    return compareTreeHeads(held.sth, current.sth, current.key, proof).status === 'consistent' ? 'consistent' : 'fork'
  } catch {
    return 'undecided'
  }
}

export const authorityRoutes: RouteModule = {
  paths: {
    '/v1/authorities/{code}/log': {
      get: {
        summary: 'An authority\'s ledger: its current signed head and the heads this node holds',
        description: 'The log is read from its node and every entry checked against the signed head; the heads this node saw before (on gossip, its own) are checked against it (consistent, fork, rollback). Fork alarms this node holds for the log are listed.',
        parameters: [{ $ref: '#/components/parameters/code' }],
        responses: { 200: { description: 'log summary', content: { 'application/json': { schema: { $ref: '#/components/schemas/AuthorityLog' } } } }, 400: { $ref: '#/components/responses/Problem' }, 404: { $ref: '#/components/responses/Problem' }, 504: { $ref: '#/components/responses/Problem' } }
      }
    }
  },

  register (app: FastifyInstance, ctx: GatewayContext): void {
    app.get<{ Params: { code: string } }>('/v1/authorities/:code/log', { schema: { params: codeParams } }, async (request, reply) => {
      const log = codeFrom(request.params.code)
      const ledger = ctx.node.ledger
      if (ctx.logs === undefined || ledger === undefined) throw new UnknownLogError('this node keeps no ledger', { log })
      const read = await ctx.logs.read(log)
      const counts: Record<string, number> = {}
      for (const e of read.entries) counts[e.type] = (counts[e.type] ?? 0) + 1
      const held: Array<{ source: 'seen' | 'own', record: HeadRecord }> = []
      const seen = ledger.knownHead(log)
      if (seen !== undefined) held.push({ source: 'seen', record: seen })
      const own = ledger.head()
      if (own !== undefined && own.sth.head.log === log && own !== read.head) held.push({ source: 'own', record: own })
      const heads = held.map(({ source, record }) => ({
        source,
        size: record.sth.head.size,
        time: new Date(record.sth.head.time).toISOString(),
        status: statusOf(record, read.head, (oldSize) => read.tree.consistencyProof(oldSize, read.head.sth.head.size))
      }))
      const alarms = ledger.alarms().filter(a => a.log === log).map(a => ({ kind: a.kind, key: toHex(a.key), source: a.source, detectedAt: new Date(a.detectedAt).toISOString(), evidence: toHex(a.evidence) }))
      return await reply.type('application/json; charset=utf-8').send(JSON.stringify({
        log,
        peer: read.peer ?? ctx.node.peerId.toString(),
        head: headView(read.head),
        entries: { total: read.entries.length, byType: counts },
        heads,
        alarms
      }))
    })
  }
}
