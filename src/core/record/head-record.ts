import { parseCode } from '../code/grammar.ts'
import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import { compareBytes, equalBytes, sha256 } from '../crypto/hash.ts'
import { ED25519_PUBLIC_KEY_BYTES } from '../crypto/signature.ts'
import { KeyMismatchError, NamespaceViolationError, WrongKeyError } from '../errors.ts'
import { decodeCosignature, decodeSignedTreeHead, encodeCosignature, verifyTreeHead } from '../ledger/tree-head.ts'
import type { Cosignature, SignedTreeHead } from '../ledger/tree-head.ts'
import type { ChainVerifier, VerifiedChain } from '../trust/chain.ts'
import { MAX_CHAIN_LENGTH } from '../trust/chain.ts'
import type { RevocationSet } from '../trust/revocation.ts'
import { DHT_NAMESPACE } from './dht-key.ts'

/**
 * A signed tree head as the network carries it (DHT value, gossip, ledger protocol): the head, the
 * log key with the delegation chain that certifies that key for the log's namespace (as a record
 * carries its chain), and the witness cosignatures gathered so far.
 *
 *   HeadRecord = { v: 1, type: "head-record", head: bytes(SignedTreeHead), key: bytes(32),
 *                  chain: [bytes(Certificate)], cosignatures: [bytes(Cosignature)] }   ; <= 20 KiB
 *
 * DHT key: `/citycode/h/<log namespace>`. Cosignatures are not covered by the head signature
 * (witnesses add them after the authority signed), so they are checked against a witness policy by
 * whoever needs them, never here.
 */
export const HEAD_KEY_PREFIX = `/${DHT_NAMESPACE}/h/`
export const HEAD_RECORD_MAX_BYTES = 20 * 1024
export const MAX_COSIGNATURES = 16

export interface HeadRecord {
  readonly sth: SignedTreeHead
  /** The log's key: the authority key its chain certifies for `sth.head.log`. */
  readonly key: Uint8Array
  readonly chain: readonly Uint8Array[]
  readonly cosignatures: readonly Cosignature[]
  readonly bytes: Uint8Array
}

export interface VerifiedHeadRecord {
  readonly record: HeadRecord
  readonly chain: VerifiedChain
}

export function encodeHeadRecord (fields: { head: SignedTreeHead | Uint8Array, key: Uint8Array, chain: readonly Uint8Array[], cosignatures?: readonly Cosignature[] }): Uint8Array {
  const head = fields.head instanceof Uint8Array ? fields.head : fields.head.bytes
  return encodeCbor({
    v: 1,
    type: 'head-record',
    head,
    key: fields.key,
    chain: [...fields.chain],
    cosignatures: (fields.cosignatures ?? []).slice(0, MAX_COSIGNATURES).map(encodeCosignature)
  })
}

/** Strict decoding: canonical DAG-CBOR, exact shape, size limit; checks no signature. */
export function decodeHeadRecord (bytes: Uint8Array): HeadRecord {
  const r = new FieldReader(decodeCanonical(bytes, HEAD_RECORD_MAX_BYTES, 'head record'), 'head record', ['v', 'type', 'head', 'key', 'chain', 'cosignatures'])
  r.literal('v', 1)
  r.literal('type', 'head-record')
  return {
    sth: decodeSignedTreeHead(r.bytes('head')),
    key: r.bytes('key', ED25519_PUBLIC_KEY_BYTES),
    chain: r.bytesArray('chain', MAX_CHAIN_LENGTH),
    cosignatures: r.bytesArray('cosignatures', MAX_COSIGNATURES).map(decodeCosignature),
    bytes
  }
}

export interface HeadRecordCheck {
  now: number
  /** The log the record was looked up under (its DHT key): the head must be of this log. */
  expectedLog?: string
  revocations?: RevocationSet
}

/**
 * A head record is valid when its chain certifies `key` for exactly the head's log (an empty chain:
 * `key` is a single-key anchor of that namespace), and the head's signature under `key` verifies
 * and is not dated in the future. Throws the typed error of the first failure.
 */
export function verifyHeadRecord (input: HeadRecord | Uint8Array, chains: ChainVerifier, check: HeadRecordCheck): VerifiedHeadRecord {
  const record = input instanceof Uint8Array ? decodeHeadRecord(input) : input
  const log = record.sth.head.log
  if (check.expectedLog !== undefined && check.expectedLog !== log) {
    throw new KeyMismatchError(`tree head of log ${log} was found under ${check.expectedLog}`, { code: log, expected: check.expectedLog })
  }
  const chain = chains.verify(record.chain, record.key, { now: check.now, revocations: check.revocations })
  if (!equalBytes(chain.subject, record.key)) throw new WrongKeyError(`tree head of log ${log} carries a key its chain does not certify`, { code: log })
  if (chain.namespace !== log) {
    throw new NamespaceViolationError(`tree head of log ${log} is signed by a key certified for ${chain.namespace}`, { code: log, namespace: chain.namespace })
  }
  verifyTreeHead(record.sth, record.key, { now: check.now })
  return { record, chain }
}

/**
 * > 0 when `a` is preferred over `b`: the larger tree, then the later head, then the greater
 * SHA-256 of the record bytes, so every node picks the same value whatever order it saw them in.
 */
export function compareHeadRecords (a: HeadRecord, b: HeadRecord): number {
  if (a.sth.head.size !== b.sth.head.size) return a.sth.head.size - b.sth.head.size
  if (a.sth.head.time !== b.sth.head.time) return a.sth.head.time - b.sth.head.time
  if (a.cosignatures.length !== b.cosignatures.length) return a.cosignatures.length - b.cosignatures.length
  return compareBytes(sha256(a.bytes), sha256(b.bytes))
}

const encoder = new TextEncoder()
// ignoreBOM: a key with a leading U+FEFF is another key, not this one.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function headKey (log: string): Uint8Array {
  return encoder.encode(HEAD_KEY_PREFIX + parseCode(log).text)
}

/** The log a head key names; throws KeyMismatchError for a key that is not a head key. */
export function logFromHeadKey (key: Uint8Array): string {
  let text: string
  try {
    text = decoder.decode(key)
  } catch {
    throw new KeyMismatchError('DHT key is not UTF-8', {})
  }
  if (!text.startsWith(HEAD_KEY_PREFIX)) throw new KeyMismatchError(`DHT key ${text.slice(0, 80)} is not a citycode head key`, { key: text.slice(0, 80) })
  return parseCode(text.slice(HEAD_KEY_PREFIX.length)).text
}

const NAMESPACE_PREFIX = encoder.encode(`/${DHT_NAMESPACE}/`)

/** The kind of a `/citycode/<kind>/...` DHT key: `r` (records), `h` (tree heads), or undefined. */
export function dhtKeyKind (key: Uint8Array): 'r' | 'h' | undefined {
  const n = NAMESPACE_PREFIX.length
  if (key.length < n + 2 || key[n + 1] !== 0x2f) return undefined
  for (let i = 0; i < n; i++) if (key[i] !== NAMESPACE_PREFIX[i]) return undefined
  const kind = key[n]
  return kind === 0x72 ? 'r' : kind === 0x68 ? 'h' : undefined
}
