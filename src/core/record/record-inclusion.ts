import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import { equalBytes, sha256 } from '../crypto/hash.ts'
import { WrongKeyError } from '../errors.ts'
import { InvalidProofError } from '../ledger/errors.ts'
import { encodeLeaf } from '../ledger/log.ts'
import type { LedgerEntry } from '../ledger/log.ts'
import { HASH_BYTES, leafHash } from '../ledger/merkle.ts'
import { MAX_PROOF_HASHES, verifyInclusion } from '../ledger/proofs.ts'
import type { ChainVerifier } from '../trust/chain.ts'
import type { RevocationSet } from '../trust/revocation.ts'
import { decodeHeadRecord, HEAD_RECORD_MAX_BYTES, verifyHeadRecord } from './head-record.ts'
import type { VerifiedHeadRecord } from './head-record.ts'
import type { SignedRecord } from './record.ts'

/**
 * Proof that a record version is in its signer's ledger (docs/spec/ledger.md, "Record inclusion"):
 *   RecordInclusion = { v: 1, type: "record-inclusion", head: bytes(HeadRecord), index: uint, proof: [bytes(32)] }
 * The leaf is not carried: it is rebuilt from the record itself (type "record", its code, seq,
 * issuedAt and the SHA-256 of its bytes), so the proof cannot be about another object.
 */
export const RECORD_INCLUSION_MAX_BYTES = HEAD_RECORD_MAX_BYTES + MAX_PROOF_HASHES * (HASH_BYTES + 2) + 64

export interface RecordInclusion {
  readonly head: Uint8Array
  readonly index: number
  readonly proof: readonly Uint8Array[]
  readonly bytes: Uint8Array
}

/** The ledger entry an authority appends for a record version it signs. */
export function recordLedgerEntry (record: SignedRecord): LedgerEntry {
  return { type: 'record', code: record.body.code, seq: record.body.seq, time: record.body.issuedAt, object: sha256(record.bytes) }
}

export function encodeRecordInclusion (fields: { head: Uint8Array, index: number, proof: readonly Uint8Array[] }): Uint8Array {
  return encodeCbor({ v: 1, type: 'record-inclusion', head: fields.head, index: fields.index, proof: [...fields.proof] })
}

/** Strict decoding (canonical, exact shape, size); checks nothing cryptographic. */
export function decodeRecordInclusion (bytes: Uint8Array): RecordInclusion {
  const r = new FieldReader(decodeCanonical(bytes, RECORD_INCLUSION_MAX_BYTES, 'record inclusion'), 'record inclusion', ['v', 'type', 'head', 'index', 'proof'])
  r.literal('v', 1)
  r.literal('type', 'record-inclusion')
  const head = r.bytes('head')
  const index = r.uint('index')
  const proof = r.bytesArray('proof', MAX_PROOF_HASHES)
  proof.forEach((h, i) => { if (h.length !== HASH_BYTES) r.bytes(`proof[${i}]`, HASH_BYTES) })
  return { head, index, proof, bytes }
}

export interface RecordInclusionCheck {
  now: number
  revocations?: RevocationSet
}

/**
 * Checks, in order: the proof decodes; its head record is valid for the log of the record's signer
 * (the chain namespace `log`: SPEC head-record rules); the head is signed by the key that signed
 * the record (WrongKeyError); the record's leaf is at `index` of the head's tree (InvalidProofError).
 * Returns the verified head, so callers can check it against heads they hold (forks).
 */
export function verifyRecordInclusion (input: Uint8Array | RecordInclusion, record: SignedRecord, log: string, chains: ChainVerifier, check: RecordInclusionCheck): VerifiedHeadRecord {
  const inclusion = input instanceof Uint8Array ? decodeRecordInclusion(input) : input
  const verified = verifyHeadRecord(decodeHeadRecord(inclusion.head), chains, { now: check.now, expectedLog: log, revocations: check.revocations })
  if (!equalBytes(verified.record.key, record.body.key)) {
    throw new WrongKeyError(`the head of log ${log} is signed by another key than the record for ${record.body.code}`, { code: record.body.code })
  }
  const { size, root } = verified.record.sth.head
  if (inclusion.index >= size) {
    throw new InvalidProofError(`record entry ${inclusion.index} is beyond the head of size ${size}`, { reason: 'index-out-of-range', index: inclusion.index, size })
  }
  verifyInclusion(leafHash(encodeLeaf(recordLedgerEntry(record))), inclusion.index, size, inclusion.proof, root)
  return verified
}
