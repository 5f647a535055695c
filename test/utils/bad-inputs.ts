import { encodeCbor, issueCertificate, createRecord } from '../../src/core/index.ts'
import type { SignedRecord, Signer, TrustAnchor } from '../../src/core/index.ts'
import { seededSigner } from './fixtures.ts'

/** One bad input: the bytes, and the typed error a validator must answer with. */
export interface BadInput { name: string, bytes: Uint8Array, error: RegExp }

const DAY = 86_400_000

/**
 * The corpus of bad records, built from a valid one held by `holder` (its chain, its key): the
 * same corpus goes through every door (DHT PUT, gossip, push, resolve answers, CLI, gateway).
 */
export function badRecords (valid: SignedRecord, holder: Signer, anchors: TrustAnchor[], now = Date.now()): BadInput[] {
  const body = Uint8Array.from(valid.bodyBytes)
  body[body.length - 3] = (body[body.length - 3] as number) ^ 1
  const chain = [...valid.chain]
  const sig = Uint8Array.from(valid.sig)
  sig[10] = (sig[10] as number) ^ 0x40
  const stranger = seededSigner(666)
  const foreignRoot = issueCertificate({ namespace: 'MA.156', subject: stranger.publicKey, serial: 1, notBefore: now - DAY, notAfter: now + DAY, perms: ['sign', 'delegate'] }, [seededSigner(667)])
  const code = valid.body.code
  const parent = code.split('.').slice(0, -1).join('.')
  const sibling = `${parent}.${code.endsWith('1302') ? '1301' : '1302'}`
  const nested = (depth: number): Uint8Array => Uint8Array.from([...new Array(depth).fill(0x81), 0x00])
  void anchors
  return [
    { name: 'forged signature', bytes: encodeCbor({ body: valid.bodyBytes, sig, chain }), error: /BadSignatureError/ },
    { name: 'body changed after signing', bytes: encodeCbor({ body, sig: valid.sig, chain }), error: /BadSignatureError|MalformedRecordError/ },
    { name: 'wrong namespace (a sibling city)', bytes: createRecord({ code: sibling, seq: 1, issuedAt: now, expiresAt: now + DAY, ttl: 1000, values: [] }, holder, chain).bytes, error: /NamespaceViolationError|AllocationRuleError/ },
    { name: 'expired', bytes: createRecord({ code, seq: 99, issuedAt: now - 2 * DAY, expiresAt: now - DAY, ttl: 1000, values: [] }, holder, chain).bytes, error: /ExpiredError/ },
    { name: 'unknown anchor', bytes: createRecord({ code: 'MA.156', seq: 1, issuedAt: now, expiresAt: now + DAY, ttl: 1000, values: [] }, stranger, [foreignRoot.bytes]).bytes, error: /UnknownAnchorError/ },
    { name: 'truncated', bytes: valid.bytes.subarray(0, valid.bytes.length - 7), error: /MalformedRecordError/ },
    { name: 'oversized (11 KiB)', bytes: new Uint8Array(11 * 1024).fill(0x41), error: /RecordTooLargeError/ },
    { name: 'deeply nested CBOR', bytes: nested(5000), error: /MalformedRecordError/ },
    { name: 'not CBOR at all', bytes: new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'), error: /MalformedRecordError/ },
    { name: 'empty', bytes: new Uint8Array(0), error: /MalformedRecordError/ }
  ]
}

/** One bad HTTP request to the gateway and the problem it must get (status and error name). */
export interface BadHttpRequest { name: string, method: string, path: string, status: number, error: string }

/**
 * The corpus of bad HTTP requests: malformed and impossible codes, a wrong check character, huge
 * targets, bad query parameters, methods the read-only gateway refuses, paths it does not serve.
 */
export function badHttpRequests (): BadHttpRequest[] {
  return [
    { name: 'letter in the division', method: 'GET', path: '/v1/codes/MA.156.13x1', status: 400, error: 'MalformedCodeError' },
    { name: 'lower-case garbage', method: 'GET', path: '/v1/codes/hello', status: 400, error: 'MalformedCodeError' },
    { name: 'empty segment', method: 'GET', path: '/v1/codes/MA..1301', status: 400, error: 'MalformedCodeError' },
    { name: 'too many segments', method: 'GET', path: `/v1/codes/MA.156.1301${'.01'.repeat(8)}`, status: 400, error: 'MalformedCodeError' },
    { name: 'code of 200 characters', method: 'GET', path: `/v1/codes/${'A'.repeat(200)}`, status: 400, error: 'MalformedCodeError' },
    { name: 'percent-encoded control bytes', method: 'GET', path: '/v1/codes/MA.156%00%0A1301', status: 400, error: 'MalformedCodeError' },
    { name: 'script in the code', method: 'GET', path: '/v1/codes/%3Cscript%3Ealert(1)%3C%2Fscript%3E', status: 400, error: 'MalformedCodeError' },
    { name: 'wrong check character', method: 'GET', path: '/v1/codes/MA.156.1301-A', status: 400, error: 'CheckCharacterError' },
    { name: 'country no one has', method: 'GET', path: '/v1/codes/MA.999.0001', status: 400, error: 'AllocationRuleError' },
    { name: 'code under no trust anchor', method: 'GET', path: '/v1/codes/XX.156.1301', status: 404, error: 'UncoveredCodeError' },
    { name: 'children of a malformed code', method: 'GET', path: '/v1/codes/MA.15/children', status: 400, error: 'MalformedCodeError' },
    { name: 'history of a malformed code', method: 'GET', path: '/v1/codes/MA.156.0000/history', status: 400, error: 'MalformedCodeError' },
    { name: 'log of a malformed authority', method: 'GET', path: '/v1/authorities/ma-156/log', status: 400, error: 'MalformedCodeError' },
    { name: 'huge request target (8 KiB)', method: 'GET', path: `/v1/codes/MA.156.1301?x=${'a'.repeat(8192)}`, status: 414, error: 'UrlTooLongError' },
    { name: 'unknown format', method: 'GET', path: '/v1/codes/MA.156.1301?format=xml', status: 400, error: 'InvalidRequestError' },
    { name: 'unknown query parameter', method: 'GET', path: '/v1/codes/MA.156.1301?debug=1', status: 400, error: 'InvalidRequestError' },
    { name: 'inclusion not a boolean', method: 'GET', path: '/v1/codes/MA.156.1301?inclusion=maybe', status: 400, error: 'InvalidRequestError' },
    { name: 'POST a record', method: 'POST', path: '/v1/codes/MA.156.1301', status: 405, error: 'MethodNotAllowedError' },
    { name: 'DELETE a code', method: 'DELETE', path: '/v1/codes/MA.156.1301', status: 405, error: 'MethodNotAllowedError' },
    { name: 'PUT a log', method: 'PUT', path: '/v1/authorities/MA.156/log', status: 405, error: 'MethodNotAllowedError' },
    { name: 'unknown path', method: 'GET', path: '/v1/secrets', status: 404, error: 'RouteNotFoundError' },
    { name: 'path traversal', method: 'GET', path: '/explorer/../../etc/passwd', status: 404, error: 'RouteNotFoundError' }
  ]
}
