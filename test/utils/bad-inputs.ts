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
