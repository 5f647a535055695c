import { compareBytes } from '../crypto/hash.ts'
import { sha256 } from '../crypto/hash.ts'
import type { SignedRecord } from './record.ts'

/**
 * Selection rule (SPEC "Selection"): between two valid records of one code the higher `seq` wins;
 * on equal seq the later `expiresAt`; then the greater SHA-256 of the signed bytes, so every node
 * picks the same record from the same set whatever order it saw them in.
 * Returns > 0 when `a` is preferred, < 0 when `b` is, 0 only for identical bytes.
 */
export function compareRecords (a: SignedRecord, b: SignedRecord): number {
  if (a.body.seq !== b.body.seq) return a.body.seq - b.body.seq
  if (a.body.expiresAt !== b.body.expiresAt) return a.body.expiresAt - b.body.expiresAt
  return compareBytes(sha256(a.bytes), sha256(b.bytes))
}

/** Index of the preferred record; records must already be verified. */
export function selectRecord (records: readonly SignedRecord[]): number {
  let best = 0
  for (let i = 1; i < records.length; i++) {
    if (compareRecords(records[i] as SignedRecord, records[best] as SignedRecord) > 0) best = i
  }
  return best
}
