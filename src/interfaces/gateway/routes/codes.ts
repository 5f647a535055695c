import type { FastifyInstance, FastifyReply } from 'fastify'
import { toPrinted } from '../../../core/code/check-character.ts'
import { parseCode } from '../../../core/code/grammar.ts'
import { sha256, toHex, equalBytes } from '../../../core/crypto/hash.ts'
import type { VerifiedRecord } from '../../../core/record/verify.ts'
import { decodeRecordInclusion } from '../../../core/record/record-inclusion.ts'
import { UnknownLogError } from '../../../network/protocols/ledger.ts'
import { NotFoundError } from '../../../services/errors.ts'
import { decodeCursor, encodeCursor, parsePageLimit } from '../../../core/ledger/cursor.ts'
import { listingId } from '../../../services/ledger/index.ts'
import { childrenPage, historyLogs, historyPages, isPage } from '../../../services/ledger/listings.ts'
import { displayName, recordView } from '../../present/record-view.ts'
import type { GatewayContext, RouteModule } from '../context.ts'
import { codeFrom, codeParams, headView, pageQuerystring, resolveWithin } from './shared.ts'
import type { PageQuerystring } from './shared.ts'

/** Body bytes of a record's JSON view, built once per verified record (cached answers reuse them). */
interface RecordJson { head: string, etag: string }
const jsonOf = new WeakMap<VerifiedRecord, RecordJson>()

function recordJson (verified: VerifiedRecord): RecordJson {
  let out = jsonOf.get(verified)
  if (out === undefined) {
    const view = recordView(verified)
    const base = `/v1/codes/${view.code}`
    const text = JSON.stringify({ ...view, name: displayName(verified), links: { self: base, cbor: `${base}?format=cbor`, children: `${base}/children`, history: `${base}/history` } })
    // the per-request part (how it was resolved) is appended to this prefix
    out = { head: text.slice(0, -1), etag: `"${view.hash}"` }
    jsonOf.set(verified, out)
  }
  return out
}

/** Seconds a client may cache the answer: the record's TTL, bounded by its and its chain's expiry. */
function maxAgeSeconds (verified: VerifiedRecord, now: number): number {
  const body = verified.record.body
  return Math.max(0, Math.floor(Math.min(body.ttl, body.expiresAt - now, verified.chain.notAfter - now) / 1000))
}

/**
 * Whether the record version is in its signer's log, with the proof against the signed head
 * (`prove-record` on the log's node: one question, whatever the log's size); why not, otherwise.
 */
async function inclusionOf (ctx: GatewayContext, verified: VerifiedRecord): Promise<Record<string, unknown>> {
  const log = verified.chain.namespace
  const ledger = ctx.node.ledger
  if (ledger === undefined) return { log, error: 'this node keeps no ledger', code: UnknownLogError.code }
  try {
    const proven = await ledger.recordInclusion(verified, { signal: AbortSignal.timeout(ctx.resolveTimeoutMs) })
    return { log, included: true, index: proven.index, proof: decodeRecordInclusion(proven.inclusion).proof.map(toHex), head: headView(proven.head), inclusion: toHex(proven.inclusion) }
  } catch (err) {
    const e = err as Error & { code?: string }
    if (e.name === 'NotLoggedError') return { log, included: false, error: e.message, code: e.code }
    return { log, error: e.message, code: e.code ?? 'ERR_INTERNAL' }
  }
}

/**
 * Children from the allocation table, for an authority that runs without a ledger: no proofs to
 * give, so the page is cut from the sorted table (bounded by the table's size when it was opened).
 */
async function childrenFromTable (code: string, authority: NonNullable<GatewayContext['node']['authority']>, limit: number, cursor: string | undefined): Promise<Record<string, unknown>> {
  const depth = parseCode(code).segments.length
  const all = (await authority.allocations()).filter(a => parseCode(a.code).segments.length === depth + 1)
  // not the ledger listing's id: a cursor of one is never read as the other's
  const id = `${listingId(code, 'children', code)}/table`
  const at = cursor === undefined ? { headSize: all.length, next: 0 } : decodeCursor(cursor, id)
  const page = all.slice(at.next, Math.min(at.next + limit, at.headSize))
  const end = at.next + page.length
  const children = page.map(a => ({ code: a.code, printed: toPrinted(a.code), name: a.name, allocatedAt: new Date(a.allocatedAt).toISOString() }))
  return { code, source: 'authority', count: children.length, children, ...(end < Math.min(at.headSize, all.length) ? { next: encodeCursor({ log: id, headSize: at.headSize, next: end }) } : {}) }
}

function sendJson (reply: FastifyReply, body: unknown): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(body))
}

export const codeRoutes: RouteModule = {
  paths: {
    '/v1/codes/{code}': {
      get: {
        summary: 'The verified record of a code',
        description: 'Resolved through the network (cache, the holder or its authority, the DHT) and verified against this node\'s trust anchors. `Cache-Control` follows the record TTL; `ETag` is the SHA-256 of the signed record bytes.',
        parameters: [
          { $ref: '#/components/parameters/code' },
          { name: 'format', in: 'query', schema: { type: 'string', enum: ['json', 'cbor'], default: 'json' }, description: '`cbor`: the signed Record bytes, for clients that verify themselves' },
          { name: 'inclusion', in: 'query', schema: { type: 'boolean', default: false }, description: 'also prove the version is in its signer\'s ledger (reads that log)' }
        ],
        responses: {
          200: { description: 'the verified record', content: { 'application/json': { schema: { $ref: '#/components/schemas/Record' } }, 'application/cbor': { schema: { type: 'string', format: 'binary' } } } },
          304: { description: 'not modified (If-None-Match)' },
          400: { $ref: '#/components/responses/Problem' },
          404: { $ref: '#/components/responses/Problem' },
          504: { $ref: '#/components/responses/Problem' }
        }
      }
    },
    '/v1/codes/{code}/children': {
      get: {
        summary: 'Codes allocated directly under a code',
        description: 'A page (`limit`, `cursor`) of the first allocations of codes directly under a code, in log order, from the ledger of the code (or of the authority that signs its record), each with its inclusion proof against the signed head. Names come from the allocation table when this node is the code\'s authority, else for children whose records this node already holds or has cached.',
        parameters: [{ $ref: '#/components/parameters/code' }, { $ref: '#/components/parameters/limit' }, { $ref: '#/components/parameters/cursor' }],
        responses: { 200: { description: 'children', content: { 'application/json': { schema: { $ref: '#/components/schemas/Children' } } } }, 400: { $ref: '#/components/responses/Problem' }, 404: { $ref: '#/components/responses/Problem' }, 504: { $ref: '#/components/responses/Problem' } }
      }
    },
    '/v1/codes/{code}/history': {
      get: {
        summary: 'Versions of a code in the ledgers, with inclusion proofs',
        description: 'The code\'s entries (allocation, record versions, revocations) in its own log and its parent\'s, each with an RFC 9162 inclusion proof against the log\'s signed head (given with its bytes).',
        parameters: [{ $ref: '#/components/parameters/code' }, { $ref: '#/components/parameters/limit' }, { $ref: '#/components/parameters/cursor' }],
        responses: { 200: { description: 'history', content: { 'application/json': { schema: { $ref: '#/components/schemas/History' } } } }, 400: { $ref: '#/components/responses/Problem' }, 404: { $ref: '#/components/responses/Problem' }, 504: { $ref: '#/components/responses/Problem' } }
      }
    }
  },

  register (app: FastifyInstance, ctx: GatewayContext): void {
    app.get<{ Params: { code: string }, Querystring: { format?: 'json' | 'cbor', inclusion?: boolean } }>('/v1/codes/:code', {
      schema: {
        params: codeParams,
        querystring: {
          type: 'object',
          properties: { format: { type: 'string', enum: ['json', 'cbor'] }, inclusion: { type: 'boolean' } },
          additionalProperties: false
        }
      }
    }, async (request, reply) => {
      const code = codeFrom(request.params.code)
      const resolution = await resolveWithin(ctx, code)
      const verified = resolution.verified
      const json = recordJson(verified)
      reply.headers({ 'cache-control': `public, max-age=${maxAgeSeconds(verified, Date.now())}`, etag: json.etag, 'x-citycode-source': resolution.source })
      if (request.headers['if-none-match'] === json.etag) return await reply.code(304).send()
      if (request.query.format === 'cbor') return await reply.type('application/cbor').send(Buffer.from(verified.record.bytes))
      let ledger = ''
      if (request.query.inclusion === true) {
        ledger = `,"ledger":${JSON.stringify(await inclusionOf(ctx, verified))}`
      }
      const from = resolution.from === undefined ? '' : `,"from":${JSON.stringify(resolution.from)}`
      return await reply.type('application/json; charset=utf-8')
        .send(`${json.head}${ledger},"resolution":{"source":"${resolution.source}"${from},"elapsedMs":${resolution.elapsedMs.toFixed(3)}}}`)
    })

    app.get<{ Params: { code: string }, Querystring: PageQuerystring }>('/v1/codes/:code/children', { schema: { params: codeParams, querystring: pageQuerystring } }, async (request, reply) => {
      const code = codeFrom(request.params.code)
      const limit = parsePageLimit(request.query.limit)
      const cursor = request.query.cursor
      const authority = ctx.node.authority
      const ownTable = authority !== undefined && authority.namespace === code
      const nameOf = async (child: string): Promise<string | undefined> => {
        if (ownTable) return (await authority.allocation(child))?.name
        const known = ctx.node.resolver.cached(child) ?? await ctx.node.held(child)
        return known === undefined ? undefined : displayName(known)
      }
      if (ctx.node.ledger === undefined) {
        if (!ownTable) throw new UnknownLogError('this node keeps no ledger, and is not the authority of this code', { log: code })
        return sendJson(reply, await childrenFromTable(code, authority, limit, cursor))
      }
      let read
      try {
        read = await childrenPage(ctx.node.ledger, code, {
          limit, ...(cursor !== undefined ? { cursor } : {}), signal: AbortSignal.timeout(ctx.resolveTimeoutMs), signerOf: async (c) => (await resolveWithin(ctx, c)).verified.chain.namespace
        })
      } catch (err) {
        // an authority whose log has no signed head yet (it signs within a second) still has its table
        if (!(err instanceof NotFoundError) || !ownTable) throw err
        return sendJson(reply, await childrenFromTable(code, authority, limit, cursor))
      }
      const children = []
      for (const e of read.entries) {
        const name = await nameOf(e.entry.code)
        children.push({ code: e.entry.code, printed: toPrinted(e.entry.code), ...(name !== undefined ? { name } : {}), allocatedAt: new Date(e.entry.time).toISOString(), certificate: toHex(e.entry.object), index: e.index, proof: e.proof.map(toHex) })
      }
      return sendJson(reply, { code, source: ownTable ? 'authority' : 'ledger', log: read.log, head: headView(read.head), count: children.length, children, ...(read.next !== undefined ? { next: read.next } : {}) })
    })

    app.get<{ Params: { code: string }, Querystring: PageQuerystring }>('/v1/codes/:code/history', { schema: { params: codeParams, querystring: pageQuerystring } }, async (request, reply) => {
      const code = codeFrom(request.params.code)
      const limit = parsePageLimit(request.query.limit)
      const cursor = request.query.cursor
      if (ctx.node.ledger === undefined) {
        // no ledger on this node: the current version is all it can vouch for
        const verified = (await resolveWithin(ctx, code)).verified
        return sendJson(reply, { code, ledger: false, logs: [], versions: [{ type: 'record', seq: verified.record.body.seq, time: new Date(verified.record.body.issuedAt).toISOString(), object: toHex(sha256(verified.record.bytes)), current: true }] })
      }
      // a sub-code's versions are signed (and logged) by its city: read that log too
      const current = ctx.node.resolver.cached(code) ?? (await resolveWithin(ctx, code).catch((err: unknown) => {
        if (err instanceof NotFoundError) return undefined
        throw err
      }))?.verified
      const { reads, next } = await historyPages(ctx.node.ledger, code, historyLogs(code, current?.chain.namespace), {
        limit, ...(cursor !== undefined ? { cursor } : {}), signal: AbortSignal.timeout(ctx.resolveTimeoutMs)
      })
      const currentHash = current === undefined ? undefined : sha256(current.record.bytes)
      const logs = []
      const versions = []
      for (const read of reads) {
        if (!isPage(read)) {
          logs.push(read)
          continue
        }
        logs.push({ ...headView(read.head), peer: read.peer ?? ctx.node.peerId.toString(), ...(read.next !== undefined ? { next: read.next } : {}) })
        for (const { index, entry: e, proof } of read.entries) {
          versions.push({
            log: read.log,
            index,
            type: e.type,
            ...(e.seq !== undefined ? { seq: e.seq } : {}),
            time: new Date(e.time).toISOString(),
            object: toHex(e.object),
            ...(currentHash !== undefined && e.type === 'record' ? { current: equalBytes(currentHash, e.object) } : {}),
            proof: proof.map(toHex)
          })
        }
      }
      if (versions.length === 0 && current === undefined && cursor === undefined) throw new NotFoundError(`no ledger entry and no record for ${code}`, { code })
      versions.sort((a, b) => a.time < b.time ? -1 : a.time > b.time ? 1 : (a.seq ?? -1) - (b.seq ?? -1))
      return sendJson(reply, { code, ledger: true, logs, versions, ...(next !== undefined ? { next } : {}) })
    })
  }
}
