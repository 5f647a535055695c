import { equalBytes, toHex } from '../crypto/hash.ts'
import { InconsistentTreeError, InvalidProofError } from './errors.ts'
import { emptyRoot, HASH_BYTES, isPowerOfTwo, MAX_TREE_SIZE, nodeHash, rangeHash, splitPoint } from './merkle.ts'
import type { LeafHashSource } from './merkle.ts'

/**
 * RFC 9162 inclusion (2.1.3) and consistency (2.1.4) proofs: generation from a LeafHashSource and
 * verification by the iterative algorithms of 2.1.3.2 and 2.1.4.2.
 *
 * Convention: verification functions return nothing and throw a typed error naming what is wrong
 * (`details.reason`); there are no boolean variants. InvalidProofError means "this proof proves
 * nothing"; InconsistentTreeError means "this proof is bound to the newer root and shows the older
 * root is not a prefix of it", i.e. evidence of a fork.
 */

/** A proof never needs more hashes than this (sizes are < 2^53); longer input is rejected unread. */
export const MAX_PROOF_HASHES = 64

function isSize (n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0 && n <= MAX_TREE_SIZE
}

function checkProofHashes (proof: readonly Uint8Array[]): void {
  if (!Array.isArray(proof)) throw new InvalidProofError('proof must be an array of hashes', { reason: 'malformed' })
  if (proof.length > MAX_PROOF_HASHES) {
    throw new InvalidProofError(`proof has ${proof.length} hashes, more than ${MAX_PROOF_HASHES}`, { reason: 'path-too-long', length: proof.length })
  }
  for (let i = 0; i < proof.length; i++) {
    const h = proof[i]
    if (!(h instanceof Uint8Array) || h.length !== HASH_BYTES) {
      throw new InvalidProofError(`proof[${i}] is not a ${HASH_BYTES}-byte hash`, { reason: 'bad-hash-length', position: i })
    }
  }
}

function checkRootHash (hash: Uint8Array, what: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_BYTES) {
    throw new InvalidProofError(`${what} is not a ${HASH_BYTES}-byte hash`, { reason: 'bad-hash-length', what })
  }
}

// ---------------------------------------------------------------------------------------------
// Generation

/** PATH(index, D[0:size]) of RFC 9162 2.1.3.1: sibling hashes from the leaf up to the root. */
export function inclusionProof (source: LeafHashSource, index: number, size: number): Uint8Array[] {
  if (!isSize(size) || size > source.size || !Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new InvalidProofError(`no leaf ${index} in a tree of ${size} (log has ${source.size})`, { reason: 'index-out-of-range', index, size })
  }
  const path: Uint8Array[] = []
  let lo = 0
  let hi = size
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo)
    if (index < lo + k) {
      path.push(rangeHash(source, lo + k, hi))
      hi = lo + k
    } else {
      path.push(rangeHash(source, lo, lo + k))
      lo += k
    }
  }
  return path.reverse()
}

export interface ConsistencyProofOptions {
  /**
   * Also give MTH(D[0:oldSize]) as the first hash when oldSize is a power of two (RFC 9162 leaves
   * it out because the verifier knows the old root). Only this "explicit" form lets a third party
   * show that a log's newer tree does not extend an older head of power-of-two size (fork.ts).
   */
  explicit?: boolean
}

/** PROOF(oldSize, D[0:newSize]) of RFC 9162 2.1.4.1; empty when oldSize is 0 or equals newSize. */
export function consistencyProof (source: LeafHashSource, oldSize: number, newSize: number, options: ConsistencyProofOptions = {}): Uint8Array[] {
  if (!isSize(oldSize) || !isSize(newSize) || oldSize > newSize || newSize > source.size) {
    throw new InvalidProofError(`no consistency proof from ${oldSize} to ${newSize} (log has ${source.size})`, { reason: 'size-out-of-range', oldSize, newSize })
  }
  if (oldSize === 0 || oldSize === newSize) return []
  // SUBPROOF(m, D[lo:hi], b), unrolled: going left keeps b, going right makes it false.
  const path: Uint8Array[] = []
  let lo = 0
  let hi = newSize
  let m = oldSize
  let complete = true
  for (;;) {
    if (m === hi - lo) {
      if (!complete || options.explicit === true) path.push(rangeHash(source, lo, hi))
      break
    }
    const k = splitPoint(hi - lo)
    if (m <= k) {
      path.push(rangeHash(source, lo + k, hi))
      hi = lo + k
    } else {
      path.push(rangeHash(source, lo, lo + k))
      lo += k
      m -= k
      complete = false
    }
  }
  return path.reverse()
}

/**
 * The number of hashes in the RFC 9162 consistency proof from oldSize to newSize (0 < oldSize < newSize);
 * the explicit form has one more when oldSize is a power of two.
 */
export function consistencyProofLength (oldSize: number, newSize: number): number {
  if (!isSize(oldSize) || !isSize(newSize) || oldSize > newSize) {
    throw new InvalidProofError(`no consistency proof from ${oldSize} to ${newSize}`, { reason: 'size-out-of-range', oldSize, newSize })
  }
  if (oldSize === 0 || oldSize === newSize) return 0
  let n = newSize
  let m = oldSize
  let complete = true
  let length = 0
  while (m !== n) {
    const k = splitPoint(n)
    length++
    if (m <= k) {
      n = k
    } else {
      n -= k
      m -= k
      complete = false
    }
  }
  return complete ? length : length + 1
}

// ---------------------------------------------------------------------------------------------
// Verification

/** The root an inclusion proof leads to (RFC 9162 2.1.3.2 steps 1-4); throws InvalidProofError on a malformed path. */
export function rootFromInclusionProof (leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[]): Uint8Array {
  checkRootHash(leafHash, 'leaf hash')
  checkProofHashes(proof)
  if (!isSize(size) || !Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new InvalidProofError(`leaf index ${index} is not below tree size ${size}`, { reason: 'index-out-of-range', index, size })
  }
  let fn = index
  let sn = size - 1
  let r = leafHash
  for (const p of proof) {
    if (sn === 0) throw new InvalidProofError(`inclusion proof for leaf ${index} of ${size} is too long`, { reason: 'path-too-long', index, size, length: proof.length })
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r)
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2
        sn = Math.floor(sn / 2)
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  if (sn !== 0) throw new InvalidProofError(`inclusion proof for leaf ${index} of ${size} is too short`, { reason: 'path-too-short', index, size, length: proof.length })
  return r
}

/** RFC 9162 2.1.3.2: throws InvalidProofError unless `leafHash` is leaf `index` of the tree of `size` with `root`. */
export function verifyInclusion (leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): void {
  checkRootHash(root, 'root')
  const computed = rootFromInclusionProof(leafHash, index, size, proof)
  if (!equalBytes(computed, root)) {
    throw new InvalidProofError(`inclusion proof for leaf ${index} of ${size} leads to another root`, { reason: 'root-mismatch', index, size, computed: toHex(computed) })
  }
}

/**
 * The two roots an explicit consistency path commits to (RFC 9162 2.1.4.2 steps 3-6, with step 2
 * already applied: for a power-of-two oldSize the first hash is the old tree's root).
 * 0 < oldSize < newSize. Throws InvalidProofError when the path has the wrong shape.
 */
export function rootsFromConsistencyPath (oldSize: number, newSize: number, path: readonly Uint8Array[]): { oldRoot: Uint8Array, newRoot: Uint8Array } {
  checkProofHashes(path)
  if (!isSize(oldSize) || !isSize(newSize) || oldSize < 1 || oldSize >= newSize) {
    throw new InvalidProofError(`consistency path needs 0 < ${oldSize} < ${newSize}`, { reason: 'size-out-of-range', oldSize, newSize })
  }
  const first = path[0]
  if (first === undefined) throw new InvalidProofError('consistency proof is empty', { reason: 'path-too-short', oldSize, newSize, length: 0 })
  let fn = oldSize - 1
  let sn = newSize - 1
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2
    sn = Math.floor(sn / 2)
  }
  let fr = first
  let sr = first
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array
    if (sn === 0) throw new InvalidProofError(`consistency proof from ${oldSize} to ${newSize} is too long`, { reason: 'path-too-long', oldSize, newSize, length: path.length })
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2
        sn = Math.floor(sn / 2)
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  if (sn !== 0) throw new InvalidProofError(`consistency proof from ${oldSize} to ${newSize} is too short`, { reason: 'path-too-short', oldSize, newSize, length: path.length })
  return { oldRoot: fr, newRoot: sr }
}

/** The explicit form of an RFC 9162 consistency proof: the old root in front when oldSize is a power of two. */
export function explicitConsistencyPath (oldSize: number, oldRoot: Uint8Array, proof: readonly Uint8Array[]): Uint8Array[] {
  return isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof]
}

/**
 * RFC 9162 2.1.4.2: the tree of `newSize` leaves with `newRoot` extends the tree of `oldSize` with
 * `oldRoot`. `proof` is in RFC form (consistencyProof without `explicit`).
 * Throws InvalidProofError when the proof is malformed or does not reproduce `newRoot`;
 * InconsistentTreeError when it reproduces `newRoot` but not `oldRoot` (or, for equal sizes, the
 * roots differ; for oldSize 0, `oldRoot` is not the empty root).
 */
export function verifyConsistency (oldSize: number, newSize: number, oldRoot: Uint8Array, newRoot: Uint8Array, proof: readonly Uint8Array[]): void {
  checkRootHash(oldRoot, 'old root')
  checkRootHash(newRoot, 'new root')
  checkProofHashes(proof)
  if (!isSize(oldSize) || !isSize(newSize) || oldSize > newSize) {
    throw new InvalidProofError(`no consistency from size ${oldSize} to ${newSize}`, { reason: 'size-out-of-range', oldSize, newSize })
  }
  if (oldSize === 0 || oldSize === newSize) {
    if (proof.length !== 0) throw new InvalidProofError(`consistency proof from ${oldSize} to ${newSize} must be empty`, { reason: 'path-too-long', oldSize, newSize, length: proof.length })
    const expected = oldSize === 0 ? emptyRoot() : newRoot
    if (!equalBytes(oldRoot, expected)) {
      throw new InconsistentTreeError(oldSize === 0 ? 'a tree of size 0 must have the empty root' : `two trees of size ${oldSize} with different roots`, { oldSize, newSize })
    }
    return
  }
  if (proof.length === 0) throw new InvalidProofError('consistency proof is empty', { reason: 'path-too-short', oldSize, newSize, length: 0 })
  checkExplicitConsistency(oldSize, newSize, oldRoot, newRoot, explicitConsistencyPath(oldSize, oldRoot, proof))
}

/** Like verifyConsistency for an explicit path (0 < oldSize < newSize). */
export function checkExplicitConsistency (oldSize: number, newSize: number, oldRoot: Uint8Array, newRoot: Uint8Array, path: readonly Uint8Array[]): void {
  const roots = rootsFromConsistencyPath(oldSize, newSize, path)
  if (!equalBytes(roots.newRoot, newRoot)) {
    throw new InvalidProofError(`consistency proof from ${oldSize} to ${newSize} does not lead to the new root`, { reason: 'root-mismatch', oldSize, newSize })
  }
  if (!equalBytes(roots.oldRoot, oldRoot)) {
    throw new InconsistentTreeError(`the tree of ${newSize} leaves does not extend the tree of ${oldSize} leaves`, { oldSize, newSize, oldRootOfNewTree: toHex(roots.oldRoot) })
  }
}
