import type { FastifyInstance } from 'fastify'
import { InvalidTileError } from '../../../core/ledger/errors.ts'
import { parseTilePath, TILE_WIDTH } from '../../../core/ledger/tiles.ts'
import type { TileRef } from '../../../core/ledger/tiles.ts'
import { UnknownLogError } from '../../../network/protocols/ledger.ts'
import { NotFoundError } from '../../../services/errors.ts'
import { InvalidRequestError } from '../problem.ts'
import type { GatewayContext, RouteModule } from '../context.ts'
import { codeFrom, codeParams, headView } from './shared.ts'

/** A full tile never changes (C2SP tlog-tiles): a year, and `immutable` so caches do not even revalidate. */
const FULL_TILE_CACHE = 'public, max-age=31536000, immutable'
/** Partial tiles and checkpoints follow the log: a few seconds, as a head is signed at most once a second. */
const MOVING_CACHE = 'public, max-age=5'

function base64 (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

/** The tile a request names; a path that names no tile is the client's 400. */
function tileOf (rest: string): TileRef {
  try {
    return parseTilePath(`tile/${rest}`)
  } catch (err) {
    if (err instanceof InvalidTileError) throw new InvalidRequestError(`${err.message}`, { reason: 'tile-path' })
    throw err
  }
}

export const logRoutes: RouteModule = {
  paths: {
    '/v1/logs/{code}/checkpoint': {
      get: {
        summary: 'A log\'s checkpoint: its latest signed head',
        description: 'Text (default): the C2SP tlog-checkpoint body, origin `citycode/<log>`, size, base64 root; its signature is the `HeadRecord` (`?format=cbor`, the signed head with its key, chain and cosignatures) rather than a signed note. `?format=json`: the head as the other endpoints show it. Read from the log\'s node and checked against the head this node holds (502 `CheckpointRollbackError` for an older tree).',
        parameters: [{ $ref: '#/components/parameters/code' }, { name: 'format', in: 'query', schema: { type: 'string', enum: ['text', 'cbor', 'json'], default: 'text' } }],
        responses: { 200: { description: 'checkpoint' }, 400: { $ref: '#/components/responses/Problem' }, 404: { $ref: '#/components/responses/Problem' }, 502: { $ref: '#/components/responses/Problem' }, 504: { $ref: '#/components/responses/Problem' } }
      }
    },
    '/v1/logs/{code}/tile/{path}': {
      get: {
        summary: 'A tile of a log (C2SP tlog-tiles)',
        description: '`tile/<L>/<N>[.p/<W>]`: W (256 when full) hashes of 32 bytes of the tree\'s level-8L subtrees; `tile/entries/<N>[.p/<W>]`: the leaves (DAG-CBOR LedgerEntry), each after its big-endian uint16 length. N in groups of three digits, all but the last prefixed by `x`. Full tiles are immutable (`Cache-Control: immutable`, a year); tiles of another node\'s log are checked against its checkpoint before they are served.',
        parameters: [{ $ref: '#/components/parameters/code' }, { name: 'path', in: 'path', required: true, schema: { type: 'string' }, example: '0/x001/234.p/17' }],
        responses: { 200: { description: 'tile bytes', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } }, 400: { $ref: '#/components/responses/Problem' }, 404: { $ref: '#/components/responses/Problem' }, 502: { $ref: '#/components/responses/Problem' }, 504: { $ref: '#/components/responses/Problem' } }
      }
    }
  },

  register (app: FastifyInstance, ctx: GatewayContext): void {
    app.get<{ Params: { code: string }, Querystring: { format?: 'text' | 'cbor' | 'json' } }>('/v1/logs/:code/checkpoint', {
      schema: { params: codeParams, querystring: { type: 'object', properties: { format: { type: 'string', enum: ['text', 'cbor', 'json'] } }, additionalProperties: false } }
    }, async (request, reply) => {
      const log = codeFrom(request.params.code)
      const ledger = ctx.node.ledger
      if (ledger === undefined) throw new UnknownLogError('this node keeps no ledger', { log })
      const head = await ledger.checkpoint(log, { signal: AbortSignal.timeout(ctx.resolveTimeoutMs) })
      reply.header('cache-control', MOVING_CACHE)
      if (request.query.format === 'cbor') return await reply.type('application/cbor').send(Buffer.from(head.bytes))
      if (request.query.format === 'json') return await reply.type('application/json; charset=utf-8').send(JSON.stringify(headView(head)))
      const h = head.sth.head
      return await reply.type('text/plain; charset=utf-8').send(`citycode/${h.log}\n${h.size}\n${base64(h.root)}\n`)
    })

    app.get<{ Params: { code: string, '*': string } }>('/v1/logs/:code/tile/*', async (request, reply) => {
      const log = codeFrom(request.params.code)
      const ref = tileOf(request.params['*'])
      const ledger = ctx.node.ledger
      if (ledger === undefined) throw new UnknownLogError('this node keeps no ledger', { log })
      let data: Uint8Array
      try {
        data = await ledger.tile(log, ref, { signal: AbortSignal.timeout(ctx.resolveTimeoutMs) })
      } catch (err) {
        // a tile beyond the tree is not there yet, as tlog-tiles answers it
        if (err instanceof InvalidTileError && err.details.reason === 'size') throw new NotFoundError(err.message, { code: log, reason: 'tile-beyond-tree' })
        throw err
      }
      return await reply.type('application/octet-stream').header('cache-control', ref.width === TILE_WIDTH ? FULL_TILE_CACHE : MOVING_CACHE).send(Buffer.from(data))
    })
  }
}
