import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import { compareBytes, equalBytes, sha256, toHex } from '../crypto/hash.ts'
import { verifySignature } from '../crypto/signature.ts'
import { InvalidEquivocationEvidenceError } from '../errors.ts'
import { decodeRecord, RECORD_MAX_BYTES } from './record.ts'
import type { SignedRecord } from './record.ts'

/**
 * Equivocation evidence (SPEC "Equivocation"): two records of one code with one `seq`, both signed
 * by one key, with different bodies. An honest holder never signs two versions under one sequence
 * number, so whoever holds these bytes can show anyone that the key did, checking two signatures
 * and nothing else. The pair is ordered by the SHA-256 of each record's bytes (smaller first), so
 * every node that meets the same two records makes the same evidence bytes.
 *
 *   EquivocationEvidence = { v: 1, type: "equivocation-evidence", a: bytes(Record), b: bytes(Record) }
 */
export const EQUIVOCATION_EVIDENCE_MAX_BYTES = 2 * RECORD_MAX_BYTES + 128

export interface EquivocationEvidence {
  readonly code: string
  readonly seq: number
  /** The key that signed both. */
  readonly key: Uint8Array
  readonly a: SignedRecord
  readonly b: SignedRecord
  readonly bytes: Uint8Array
}

/** Two records of one code, one seq, one key and different bodies: the evidence; anything else undefined. Signatures are the caller's to have verified. */
export function findEquivocation (x: SignedRecord, y: SignedRecord): EquivocationEvidence | undefined {
  if (x.body.code !== y.body.code || x.body.seq !== y.body.seq || !equalBytes(x.body.key, y.body.key)) return undefined
  // the same body under another chain (a renewed certificate) is one version, not two
  if (equalBytes(x.bodyBytes, y.bodyBytes)) return undefined
  const [a, b] = compareBytes(sha256(x.bytes), sha256(y.bytes)) < 0 ? [x, y] : [y, x]
  return { code: a.body.code, seq: a.body.seq, key: a.body.key, a, b, bytes: encodeCbor({ v: 1, type: 'equivocation-evidence', a: a.bytes, b: b.bytes }) }
}

/**
 * Decodes evidence and checks that it proves what it claims: both records well-formed, of one
 * code, seq and key, with different bodies, in canonical order, each signed by that key. Throws
 * InvalidEquivocationEvidenceError naming what fails (MalformedRecordError for undecodable bytes).
 * Whether the key may sign the code at all is the validator's question (its chain), not this one.
 */
export function verifyEquivocationEvidence (bytes: Uint8Array): EquivocationEvidence {
  const r = new FieldReader(decodeCanonical(bytes, EQUIVOCATION_EVIDENCE_MAX_BYTES, 'equivocation evidence'), 'equivocation evidence', ['v', 'type', 'a', 'b'])
  r.literal('v', 1)
  r.literal('type', 'equivocation-evidence')
  const a = decodeRecord(r.bytes('a'))
  const b = decodeRecord(r.bytes('b'))
  const found = findEquivocation(a, b)
  if (found === undefined) throw new InvalidEquivocationEvidenceError('the two records are not two versions of one seq of one code by one key', { code: a.body.code })
  if (found.a !== a) throw new InvalidEquivocationEvidenceError('the two records are not in canonical order (smaller SHA-256 first)', { code: a.body.code })
  for (const [which, record] of [['a', a], ['b', b]] as const) {
    if (!verifySignature('record', record.bodyBytes, record.sig, record.body.key)) {
      throw new InvalidEquivocationEvidenceError(`record ${which} is not signed by the key it names`, { code: a.body.code, record: which, key: toHex(record.body.key) })
    }
  }
  return { ...found, bytes }
}
