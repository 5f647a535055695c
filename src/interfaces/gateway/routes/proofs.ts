import type { FastifyInstance } from 'fastify'
import { buildBundle } from '../../../services/proof/build.ts'
import { renderQrSvg } from '../../../services/proof/qr.ts'
import { bundleView } from '../../present/proof-view.ts'
import type { GatewayContext, RouteModule } from '../context.ts'
import { codeFrom, codeParams } from './shared.ts'

type ProofFormat = 'cbor' | 'text' | 'svg' | 'json'

/**
 * `GET /v1/codes/{code}/proof`: a signed offline proof bundle (SPEC 9) built by this node, which
 * must hold the code or an authority above it (only they can vouch that the chain was not revoked).
 * A resolver-only gateway answers 403. Bundles are built per request: they carry the time they were
 * made, so a client can judge how fresh the revocation statement is.
 */
export const proofRoutes: RouteModule = {
  paths: {
    '/v1/codes/{code}/proof': {
      get: {
        summary: 'A signed, self-contained proof bundle for offline checking (record, chain, ledger inclusion)',
        description: 'format=cbor (default): the bundle bytes; text: its CC1: text form for QR codes; svg: that text as a QR code (medium error correction); json: what an offline verifier sees. Signed by this node\'s authority key, which must be the holder\'s or an authority\'s above it (403 otherwise).',
        parameters: [
          { $ref: '#/components/parameters/code' },
          { name: 'format', in: 'query', schema: { type: 'string', enum: ['cbor', 'text', 'svg', 'json'], default: 'cbor' } }
        ],
        responses: {
          200: { description: 'the bundle', content: { 'application/cbor': {}, 'text/plain': {}, 'image/svg+xml': {}, 'application/json': {} } },
          400: { $ref: '#/components/responses/Problem' },
          403: { $ref: '#/components/responses/Problem' },
          404: { $ref: '#/components/responses/Problem' },
          504: { $ref: '#/components/responses/Problem' }
        }
      }
    }
  },

  register (app: FastifyInstance, ctx: GatewayContext): void {
    app.get<{ Params: { code: string }, Querystring: { format?: ProofFormat } }>('/v1/codes/:code/proof', {
      schema: {
        params: codeParams,
        querystring: { type: 'object', properties: { format: { type: 'string', enum: ['cbor', 'text', 'svg', 'json'] } }, additionalProperties: false }
      }
    }, async (request, reply) => {
      const code = codeFrom(request.params.code)
      const built = await buildBundle(ctx.node, code, { signal: AbortSignal.timeout(ctx.resolveTimeoutMs) })
      // a bundle states "not revoked as of madeAt": clients should fetch a new one, not reuse a cached one
      reply.header('cache-control', 'no-store')
      switch (request.query.format ?? 'cbor') {
        case 'text': return await reply.type('text/plain; charset=utf-8').send(built.text)
        case 'svg': return await reply.type('image/svg+xml').send(await renderQrSvg(built.text))
        case 'json': return await reply.type('application/json; charset=utf-8').send(JSON.stringify({ ...bundleView(built.verified), text: built.text }))
        default: return await reply.type('application/cbor').send(Buffer.from(built.bytes))
      }
    })
  }
}
