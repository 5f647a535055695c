import { CanonicalCursor, encodedText } from '../codec/canonical-cursor.ts'
import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import { sha256 } from '../crypto/hash.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from '../crypto/signature.ts'
import type { Signer } from '../crypto/signature.ts'
import { parseCode } from '../code/grammar.ts'
import { MAX_CHAIN_LENGTH } from '../trust/chain.ts'
import { decodeValue, encodeValue, MAX_VALUES, readValue } from './values.ts'
import type { RecordValue } from './values.ts'

/** Like IPNS: a record and its chain must fit in one DHT value. */
export const RECORD_MAX_BYTES = 10 * 1024

export interface RecordBody {
  readonly v: 1
  readonly type: 'record'
  readonly code: string
  readonly seq: number
  readonly issuedAt: number
  readonly expiresAt: number
  /** How long a resolver may cache the record, in ms. */
  readonly ttl: number
  /** SHA-256 of the previous version's signed bytes: versions form a hash chain. */
  readonly prev: Uint8Array | null
  /** The Ed25519 key that signs this record: the subject of the chain's last certificate. */
  readonly key: Uint8Array
  readonly values: readonly RecordValue[]
}

/** A decoded (not yet verified) signed record. */
export interface SignedRecord {
  readonly body: RecordBody
  readonly bodyBytes: Uint8Array
  readonly sig: Uint8Array
  /** Certificate bytes, anchor side first. */
  readonly chain: readonly Uint8Array[]
  readonly bytes: Uint8Array
}

export type RecordFields = Omit<RecordBody, 'v' | 'type' | 'key' | 'prev'> & { prev?: Uint8Array | null }

export function encodeRecordBody (fields: RecordFields, key: Uint8Array): Uint8Array {
  return encodeCbor({
    v: 1,
    type: 'record',
    code: parseCode(fields.code).text,
    seq: fields.seq,
    issuedAt: fields.issuedAt,
    expiresAt: fields.expiresAt,
    ttl: fields.ttl,
    prev: fields.prev ?? null,
    key,
    values: fields.values.map(encodeValue)
  })
}

/** Signs a record with `signer` and attaches `chain`; the result is not verified here. */
export function createRecord (fields: RecordFields, signer: Signer, chain: readonly Uint8Array[]): SignedRecord {
  const bodyBytes = encodeRecordBody(fields, signer.publicKey)
  const bytes = encodeCbor({ body: bodyBytes, sig: signer.sign('record', bodyBytes), chain: [...chain] })
  return decodeRecord(bytes)
}

/** Decodes and shape-checks a record (not its signature or chain); throws the typed error. */
export function decodeRecord (bytes: Uint8Array): SignedRecord {
  return readRecord(bytes) ?? decodeRecordStrictly(bytes)
}

/**
 * The general path: decodes any input and throws the typed error that names what is wrong.
 * decodeRecord takes it whenever readRecord declines; exported so tests can hold the two equal.
 */
export function decodeRecordStrictly (bytes: Uint8Array): SignedRecord {
  const env = new FieldReader(decodeCanonical(bytes, RECORD_MAX_BYTES, 'record'), 'record', ['body', 'sig', 'chain'])
  const bodyBytes = env.bytes('body')
  const sig = env.bytes('sig', ED25519_SIGNATURE_BYTES)
  const chain = env.bytesArray('chain', MAX_CHAIN_LENGTH)
  return { body: decodeRecordBody(bodyBytes), bodyBytes, sig, chain, bytes }
}

function decodeRecordBody (bytes: Uint8Array): RecordBody {
  const r = new FieldReader(decodeCanonical(bytes, RECORD_MAX_BYTES, 'record body'), 'record body',
    ['v', 'type', 'code', 'seq', 'issuedAt', 'expiresAt', 'ttl', 'prev', 'key', 'values'])
  r.literal('v', 1)
  r.literal('type', 'record')
  return {
    v: 1,
    type: 'record',
    code: r.string('code', 64),
    seq: r.uint('seq'),
    issuedAt: r.uint('issuedAt'),
    expiresAt: r.uint('expiresAt'),
    ttl: r.uint('ttl'),
    prev: r.bytesOrNull('prev', 32),
    key: r.bytes('key', ED25519_PUBLIC_KEY_BYTES),
    values: r.array('values', MAX_VALUES).map(decodeValue)
  }
}

// Keys in canonical order (length first, then bytewise), each with its literal value where fixed.
const K_SIG = encodedText('sig')
const K_BODY = encodedText('body')
const K_CHAIN = encodedText('chain')
const K_V_1 = Uint8Array.of(...encodedText('v'), 0x01)
const K_KEY = encodedText('key')
const K_SEQ = encodedText('seq')
const K_TTL = encodedText('ttl')
const K_CODE = encodedText('code')
const K_PREV = encodedText('prev')
const K_TYPE_RECORD = Uint8Array.of(...encodedText('type'), ...encodedText('record'))
const K_VALUES = encodedText('values')
const K_ISSUED_AT = encodedText('issuedAt')
const K_EXPIRES_AT = encodedText('expiresAt')

/**
 * The fast path (codec/canonical-cursor.ts): a record in its canonical form with a valid shape is
 * read directly, giving what decodeRecordStrictly gives; anything else returns undefined (never
 * throws) and decodeRecord takes the general path, which names the error.
 */
export function readRecord (bytes: Uint8Array): SignedRecord | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length > RECORD_MAX_BYTES) return undefined
  const c = new CanonicalCursor(bytes)
  c.mapOf(3)
  c.expect(K_SIG)
  const sig = c.bytes(ED25519_SIGNATURE_BYTES, ED25519_SIGNATURE_BYTES)
  c.expect(K_BODY)
  const bodyBytes = c.bytes(RECORD_MAX_BYTES)
  c.expect(K_CHAIN)
  const links = c.arrayOf(MAX_CHAIN_LENGTH)
  const chain: Uint8Array[] = []
  for (let i = 0; i < links && c.ok; i++) chain.push(c.bytes(RECORD_MAX_BYTES))
  if (!c.done()) return undefined
  const body = readRecordBody(bodyBytes)
  return body === undefined ? undefined : { body, bodyBytes, sig, chain, bytes }
}

function readRecordBody (bytes: Uint8Array): RecordBody | undefined {
  const c = new CanonicalCursor(bytes)
  c.mapOf(10)
  c.expect(K_V_1)
  c.expect(K_KEY)
  const key = c.bytes(ED25519_PUBLIC_KEY_BYTES, ED25519_PUBLIC_KEY_BYTES)
  c.expect(K_SEQ)
  const seq = c.uint()
  c.expect(K_TTL)
  const ttl = c.uint()
  c.expect(K_CODE)
  const code = c.text(64)
  c.expect(K_PREV)
  const prev = c.bytesOrNull(32)
  c.expect(K_TYPE_RECORD)
  c.expect(K_VALUES)
  const n = c.arrayOf(MAX_VALUES)
  const values: RecordValue[] = []
  for (let i = 0; i < n && c.ok; i++) {
    const value = readValue(c)
    if (value !== undefined) values.push(value)
  }
  c.expect(K_ISSUED_AT)
  const issuedAt = c.uint()
  c.expect(K_EXPIRES_AT)
  const expiresAt = c.uint()
  if (!c.done()) return undefined
  return { v: 1, type: 'record', code, seq, issuedAt, expiresAt, ttl, prev, key, values }
}

/** The record's identity: SHA-256 of its signed bytes (what `prev` of the next version names). */
export function recordHash (record: SignedRecord): Uint8Array {
  return sha256(record.bytes)
}
