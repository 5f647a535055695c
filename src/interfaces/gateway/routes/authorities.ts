import type { FastifyInstance } from 'fastify'
import { equalBytes, toHex } from '../../../core/crypto/hash.ts'
import { compareTreeHeads } from '../../../core/ledger/fork.ts'
import type { HeadRecord } from '../../../core/record/head-record.ts'
import { UnknownLogError } from '../../../network/protocols/ledger.ts'
import type { GatewayContext, RouteModule } from '../context.ts'
import { parsePageLimit } from '../../../core/ledger/cursor.ts'
import { DEFAULT_MAX_LOG_ENTRIES } from '../../../services/ledger/index.ts'
import { codeFrom, codeParams, headView, pageQuerystring } from './shared.ts'
import type { PageQuerystring } from './shared.ts'

type HeldStatus = 'consistent' | 'fork' | 'rollback' | 'other-key' | 'undecided'

/**
 * How a head this node holds of a log relates to the log's current head: a prefix of it
 * (consistent), a fork, a larger head than the log now serves (rollback), another key.
 */
async function statusOf (held: HeadRecord, current: HeadRecord, consistencyProof: (oldSize: number) => Promise<Uint8Array[]>): Promise<HeldStatus> {
  if (!equalBytes(held.key, current.key)) return 'other-key'
  if (held.sth.head.size > current.sth.head.size) return 'rollback'
  try {
    const proof = held.sth.head.size < current.sth.head.size ? await consistencyProof(held.sth.head.size) : undefined
    return compareTreeHeads(held.sth, current.sth, current.key, proof).status === 'consistent' ? 'consistent' : 'fork'
  } catch {
    return 'undecided'
  }
}

export const authorityRoutes: RouteModule = {
  paths: {
    '/v1/authorities/{code}/log': {
      get: {
        summary: 'An authority\'s ledger: its current signed head, a page of its entries and the heads this node holds',
        description: 'A page of the log\'s entries in log order (`limit`, `cursor`), each with its inclusion proof against the signed head read from the log\'s node; the heads this node saw before (on gossip, its own) are checked against it (consistent, fork, rollback). Fork alarms this node holds for the log are listed. Counts by type are given for logs of at most 4096 entries.',
        parameters: [{ $ref: '#/components/parameters/code' }, { $ref: '#/components/parameters/limit' }, { $ref: '#/components/parameters/cursor' }],
        responses: { 200: { description: 'log summary', content: { 'application/json': { schema: { $ref: '#/components/schemas/AuthorityLog' } } } }, 400: { $ref: '#/components/responses/Problem' }, 404: { $ref: '#/components/responses/Problem' }, 504: { $ref: '#/components/responses/Problem' } }
      }
    }
  },

  register (app: FastifyInstance, ctx: GatewayContext): void {
    app.get<{ Params: { code: string }, Querystring: PageQuerystring }>('/v1/authorities/:code/log', { schema: { params: codeParams, querystring: pageQuerystring } }, async (request, reply) => {
      const log = codeFrom(request.params.code)
      const limit = parsePageLimit(request.query.limit)
      const cursor = request.query.cursor
      const ledger = ctx.node.ledger
      if (ctx.logs === undefined || ledger === undefined) throw new UnknownLogError('this node keeps no ledger', { log })
      const signal = AbortSignal.timeout(ctx.resolveTimeoutMs)
      const page = await ledger.readPage(log, { of: 'range', limit, ...(cursor !== undefined ? { cursor } : {}) }, { signal })
      const size = page.head.sth.head.size
      // counts by type need every entry: only for logs small enough to read whole (and cached)
      let byType: Record<string, number> | undefined
      if (size <= DEFAULT_MAX_LOG_ENTRIES) {
        byType = {}
        for (const e of (await ctx.logs.read(log)).entries) byType[e.type] = (byType[e.type] ?? 0) + 1
      }
      const held: Array<{ source: 'seen' | 'own', record: HeadRecord }> = []
      const seen = ledger.knownHead(log)
      if (seen !== undefined) held.push({ source: 'seen', record: seen })
      const own = ledger.head()
      if (own !== undefined && own.sth.head.log === log && own !== page.head) held.push({ source: 'own', record: own })
      const heads = await Promise.all(held.map(async ({ source, record }) => ({
        source,
        size: record.sth.head.size,
        time: new Date(record.sth.head.time).toISOString(),
        status: await statusOf(record, page.head, async (oldSize) => await ledger.consistencyOf(log, oldSize, size, { signal }))
      })))
      const alarms = ledger.alarms().filter(a => a.log === log).map(a => ({ kind: a.kind, key: toHex(a.key), source: a.source, detectedAt: new Date(a.detectedAt).toISOString(), evidence: toHex(a.evidence) }))
      const items = page.entries.map(({ index, entry: e, proof }) => ({
        index, type: e.type, code: e.code, ...(e.seq !== undefined ? { seq: e.seq } : {}), time: new Date(e.time).toISOString(), object: toHex(e.object), proof: proof.map(toHex)
      }))
      return await reply.type('application/json; charset=utf-8').send(JSON.stringify({
        log,
        peer: page.peer ?? ctx.node.peerId.toString(),
        head: headView(page.head),
        entries: { total: size, ...(byType !== undefined ? { byType } : {}) },
        items,
        ...(page.next !== undefined ? { next: page.next } : {}),
        heads,
        alarms
      }))
    })
  }
}
