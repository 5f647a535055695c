import type { RouteModule } from './context.ts'
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX } from './problem.ts'

const hex = { type: 'string', pattern: '^[0-9a-f]*$' }
const head = {
  type: 'object',
  properties: { log: { type: 'string' }, size: { type: 'integer' }, root: hex, time: { type: 'string', format: 'date-time' }, key: hex, cosignatures: { type: 'integer' }, signedHead: { ...hex, description: 'HeadRecord bytes (docs/spec/ledger.md)' } }
}

/** The OpenAPI 3.1 document of the gateway, from the route modules' path items. */
export function openApiDocument (modules: readonly RouteModule[]): Record<string, unknown> {
  const paths: Record<string, unknown> = { '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': {} } } } } } }
  for (const m of modules) Object.assign(paths, m.paths)
  return {
    openapi: '3.1.0',
    info: {
      title: 'citycode gateway',
      version: '1',
      description: 'Verified answers from the citycode network over HTTP: every record is checked against this node\'s trust anchors before it is served. Errors are RFC 9457 problem details.'
    },
    paths,
    components: {
      parameters: {
        code: { name: 'code', in: 'path', required: true, schema: { type: 'string', maxLength: 256 }, description: 'canonical (`MA.156.1301`) or printed with its check character (`MA.156.1301-*`), any case', example: 'MA.156.1301' },
        limit: { name: 'limit', in: 'query', schema: { type: 'string', pattern: '^[0-9]{1,4}$' }, description: 'entries per page, 1 to 1000 (default 100); a log\'s node answers at most 128 per page, and a page may be shorter than asked: only a missing `next` ends the listing' },
        cursor: { name: 'cursor', in: 'query', schema: { type: 'string', maxLength: 256 }, description: 'the `next` of the previous page (opaque; bound to one listing and the head size its first page was read under)' }
      },
      responses: {
        Problem: { description: 'RFC 9457 problem details', content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } } }
      },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail', 'code'],
          properties: {
            type: { type: 'string', description: `${PROBLEM_TYPE_PREFIX}<error name>, e.g. ${PROBLEM_TYPE_PREFIX}MalformedCodeError` },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            instance: { type: 'string' },
            code: { type: 'string', description: 'stable error code, e.g. ERR_MALFORMED_CODE' },
            details: { type: 'object', description: 'structured metadata, e.g. `position` of the first offending character' }
          }
        },
        Record: {
          type: 'object',
          properties: {
            code: { type: 'string' },
            printed: { type: 'string' },
            name: { type: 'string' },
            seq: { type: 'integer' },
            issuedAt: { type: 'string', format: 'date-time' },
            expiresAt: { type: 'string', format: 'date-time' },
            ttlSeconds: { type: 'integer' },
            hash: hex,
            prev: { oneOf: [hex, { type: 'null' }] },
            key: hex,
            values: { type: 'array', items: { type: 'object' } },
            verification: {
              type: 'object',
              properties: {
                valid: { const: true },
                anchor: { type: 'string' },
                namespace: { type: 'string' },
                chain: { type: 'array', items: { type: 'object', properties: { namespace: { type: 'string' }, kind: { type: 'string' }, subject: hex, serial: { type: 'integer' }, notAfter: { type: 'string' }, hash: hex } } }
              }
            },
            ledger: { type: 'object', description: 'with ?inclusion=true: index and inclusion proof in the signer\'s log, and its signed head' },
            resolution: { type: 'object', properties: { source: { enum: ['cache', 'local', 'direct', 'dht'] }, from: { type: 'string' }, elapsedMs: { type: 'number' } } },
            links: { type: 'object' }
          }
        },
        Children: {
          type: 'object',
          properties: {
            code: { type: 'string' },
            source: { enum: ['authority', 'ledger'] },
            log: { type: 'string' },
            head,
            count: { type: 'integer' },
            children: { type: 'array', items: { type: 'object', properties: { code: { type: 'string' }, printed: { type: 'string' }, name: { type: 'string' }, allocatedAt: { type: 'string' }, certificate: hex, index: { type: 'integer' }, proof: { type: 'array', items: hex } } } },
            next: { type: 'string', description: 'cursor of the next page; absent at the end' }
          }
        },
        History: {
          type: 'object',
          properties: {
            code: { type: 'string' },
            ledger: { type: 'boolean' },
            logs: { type: 'array', items: head },
            versions: { type: 'array', items: { type: 'object', properties: { log: { type: 'string' }, index: { type: 'integer' }, type: { enum: ['allocation', 'record', 'rotation', 'revocation'] }, seq: { type: 'integer' }, time: { type: 'string' }, object: hex, current: { type: 'boolean' }, proof: { type: 'array', items: hex } } } },
            next: { type: 'string', description: 'cursor of the next page of the first log that has more (each `logs[].next` continues its own log)' }
          }
        },
        AuthorityLog: {
          type: 'object',
          properties: {
            log: { type: 'string' },
            peer: { type: 'string' },
            head,
            entries: { type: 'object', properties: { total: { type: 'integer' }, byType: { type: 'object', description: 'only for logs of at most 4096 entries' } } },
            items: { type: 'array', items: { type: 'object', properties: { index: { type: 'integer' }, type: { type: 'string' }, code: { type: 'string' }, seq: { type: 'integer' }, time: { type: 'string' }, object: hex, proof: { type: 'array', items: hex } } } },
            next: { type: 'string' },
            heads: { type: 'array', items: { type: 'object', properties: { source: { enum: ['seen', 'own'] }, size: { type: 'integer' }, time: { type: 'string' }, status: { enum: ['consistent', 'fork', 'rollback', 'other-key', 'undecided'] } } } },
            alarms: { type: 'array', items: { type: 'object' } }
          }
        }
      }
    }
  }
}
