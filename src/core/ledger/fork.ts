import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import { equalBytes } from '../crypto/hash.ts'
import { BadTreeHeadError, InconsistentTreeError, InvalidForkEvidenceError, InvalidProofError } from './errors.ts'
import { HASH_BYTES, isPowerOfTwo } from './merkle.ts'
import { checkExplicitConsistency, consistencyProofLength, explicitConsistencyPath, MAX_PROOF_HASHES } from './proofs.ts'
import { decodeSignedTreeHead, TREE_HEAD_MAX_BYTES, verifyTreeHead } from './tree-head.ts'
import type { SignedTreeHead } from './tree-head.ts'

/**
 * Fork evidence: two tree heads signed by one log's key that cannot both be views of one
 * append-only log. Anyone holding the log's key can re-check it without trusting whoever sent it.
 *
 *   ForkEvidence = { v: 1, type: "fork-evidence", a: bytes(SignedTreeHead), b: bytes(SignedTreeHead),
 *                    proof?: [bytes(32)] }
 *
 * - same size, different roots: no proof (the field is absent);
 * - different sizes m < n: `proof` is the explicit consistency path from m to n (RFC 9162 path with
 *   the m-leaf subtree hash in front when m is a power of two) which leads to the larger head's
 *   root but not to the smaller head's root. A path that leads to neither proves nothing: anyone
 *   can make one, so a failed RFC proof alone is never evidence.
 */
export const FORK_EVIDENCE_MAX_BYTES = 2 * TREE_HEAD_MAX_BYTES + MAX_PROOF_HASHES * (HASH_BYTES + 2) + 128

export type ForkKind = 'same-size' | 'not-extended'

export interface ForkEvidence {
  readonly a: SignedTreeHead
  readonly b: SignedTreeHead
  readonly proof?: readonly Uint8Array[]
  readonly bytes: Uint8Array
}

export type HeadComparison =
  | { readonly status: 'consistent' }
  | { readonly status: 'fork', readonly kind: ForkKind, readonly evidence: Uint8Array }

export function encodeForkEvidence (a: Uint8Array, b: Uint8Array, proof?: readonly Uint8Array[]): Uint8Array {
  return encodeCbor(proof === undefined
    ? { v: 1, type: 'fork-evidence', a, b }
    : { v: 1, type: 'fork-evidence', a, b, proof: [...proof] })
}

/** Strict decoding (canonical, shape, size, both heads well-formed); checks no signature. */
export function decodeForkEvidence (bytes: Uint8Array): ForkEvidence {
  const r = new FieldReader(decodeCanonical(bytes, FORK_EVIDENCE_MAX_BYTES, 'fork evidence'), 'fork evidence', ['v', 'type', 'a', 'b', 'proof'])
  r.literal('v', 1)
  r.literal('type', 'fork-evidence')
  const a = decodeSignedTreeHead(r.bytes('a'))
  const b = decodeSignedTreeHead(r.bytes('b'))
  if (!r.has('proof')) return { a, b, bytes }
  const proof = r.bytesArray('proof', MAX_PROOF_HASHES)
  proof.forEach((h, i) => { if (h.length !== HASH_BYTES) r.bytes(`proof[${i}]`, HASH_BYTES) })
  return { a, b, proof, bytes }
}

function asHead (input: SignedTreeHead | Uint8Array): SignedTreeHead {
  return input instanceof Uint8Array ? decodeSignedTreeHead(input) : input
}

/**
 * Given two heads of one log and, when their sizes differ, the consistency proof between them
 * (RFC form, or explicit form, told apart by length), decides whether they are consistent or a
 * fork. Throws BadSignatureError / BadTreeHeadError for heads that are not both validly signed by
 * `logKey` for one log, and InvalidProofError for a proof that decides nothing (missing, malformed,
 * or not leading to the larger head's root): then ask the log again, or elsewhere.
 */
export function compareTreeHeads (first: SignedTreeHead | Uint8Array, second: SignedTreeHead | Uint8Array, logKey: Uint8Array, proof?: readonly Uint8Array[]): HeadComparison {
  const a = verifyTreeHead(asHead(first), logKey)
  const b = verifyTreeHead(asHead(second), logKey, { log: a.head.log })
  return compareVerifiedTreeHeads(a, b, proof)
}

/**
 * compareTreeHeads for two heads whose signatures by one key the caller has already verified (a
 * node comparing heads it took through its validator): the same decision without verifying two
 * signatures again, which was a third of a large simulation's gossip CPU. Still checks that both
 * heads are of one log.
 */
export function compareVerifiedTreeHeads (a: SignedTreeHead, b: SignedTreeHead, proof?: readonly Uint8Array[]): HeadComparison {
  if (a.head.log !== b.head.log) throw new BadTreeHeadError(`tree head of log ${b.head.log}, expected ${a.head.log}`, { log: b.head.log, expected: a.head.log })
  if (a.head.size === b.head.size) {
    if (equalBytes(a.head.root, b.head.root)) return { status: 'consistent' }
    return { status: 'fork', kind: 'same-size', evidence: encodeForkEvidence(a.bytes, b.bytes) }
  }
  const [older, newer] = a.head.size < b.head.size ? [a, b] : [b, a]
  const m = older.head.size
  const n = newer.head.size
  if (proof === undefined) throw new InvalidProofError(`a consistency proof from ${m} to ${n} is needed`, { reason: 'missing', oldSize: m, newSize: n })
  if (m === 0) {
    // Decoding guarantees a size-0 head carries the empty root: every tree extends it.
    if (proof.length !== 0) throw new InvalidProofError('consistency proof from size 0 must be empty', { reason: 'path-too-long', oldSize: 0, newSize: n })
    return { status: 'consistent' }
  }
  const rfcLength = consistencyProofLength(m, n)
  let path: Uint8Array[]
  if (proof.length === rfcLength) path = explicitConsistencyPath(m, older.head.root, proof)
  else if (isPowerOfTwo(m) && proof.length === rfcLength + 1) path = [...proof]
  else throw new InvalidProofError(`consistency proof from ${m} to ${n} must have ${rfcLength} hashes`, { reason: 'wrong-length', oldSize: m, newSize: n, length: proof.length })
  try {
    checkExplicitConsistency(m, n, older.head.root, newer.head.root, path)
    return { status: 'consistent' }
  } catch (err) {
    if (!(err instanceof InconsistentTreeError)) throw err
    return { status: 'fork', kind: 'not-extended', evidence: encodeForkEvidence(a.bytes, b.bytes, path) }
  }
}

export interface VerifiedForkEvidence {
  readonly kind: ForkKind
  readonly log: string
  readonly evidence: ForkEvidence
}

function notEvidence (why: string, reason: string, cause?: unknown): never {
  throw new InvalidForkEvidenceError(`not fork evidence: ${why}`, { reason, cause: cause instanceof Error ? cause.name : undefined })
}

/**
 * Re-checks fork evidence from scratch: both heads validly signed by `logKey` for the same log, and
 * provably inconsistent. Returns what kind of fork it shows; throws InvalidForkEvidenceError with
 * `details.reason` (malformed, bad-head, different-logs, consistent, missing-proof, unexpected-proof,
 * bad-proof) otherwise.
 */
export function verifyForkEvidence (input: ForkEvidence | Uint8Array, logKey: Uint8Array): VerifiedForkEvidence {
  let ev: ForkEvidence
  try {
    ev = input instanceof Uint8Array ? decodeForkEvidence(input) : input
  } catch (err) {
    return notEvidence('malformed', 'malformed', err)
  }
  for (const sth of [ev.a, ev.b]) {
    try {
      verifyTreeHead(sth, logKey)
    } catch (err) {
      notEvidence(`head of size ${sth.head.size} does not verify`, 'bad-head', err)
    }
  }
  const { a, b, proof } = ev
  if (a.head.log !== b.head.log) notEvidence(`heads of two logs (${a.head.log}, ${b.head.log})`, 'different-logs', new BadTreeHeadError('different logs'))
  if (a.head.size === b.head.size) {
    if (proof !== undefined) notEvidence('heads of one size need no proof', 'unexpected-proof')
    if (equalBytes(a.head.root, b.head.root)) notEvidence('same size and root', 'consistent')
    return { kind: 'same-size', log: a.head.log, evidence: ev }
  }
  if (proof === undefined) notEvidence('heads of different sizes need a proof', 'missing-proof')
  const [older, newer] = a.head.size < b.head.size ? [a, b] : [b, a]
  if (older.head.size === 0) notEvidence('every tree extends the empty tree', 'consistent')
  try {
    checkExplicitConsistency(older.head.size, newer.head.size, older.head.root, newer.head.root, proof)
  } catch (err) {
    if (err instanceof InconsistentTreeError) return { kind: 'not-extended', log: a.head.log, evidence: ev }
    return notEvidence('the proof does not lead to the larger head\'s root', 'bad-proof', err)
  }
  return notEvidence('the proof shows the heads are consistent', 'consistent')
}
