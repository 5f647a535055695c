import { CitycodeError } from '../errors.ts'

/**
 * Ledger errors. Decoding problems reuse MalformedRecordError / RecordTooLargeError and signature
 * failures BadSignatureError from ../errors.ts, so every signed object fails the same way; the
 * classes here are the ways a Merkle log, its heads and its proofs can be wrong.
 */

/**
 * A proof that proves nothing: wrong length, index or size out of range, hashes of the wrong size,
 * or it does not lead to the root it is checked against. `details.reason` says which.
 * Not evidence of misbehaviour: anyone can produce garbage.
 */
export class InvalidProofError extends CitycodeError {
  static override readonly code = 'ERR_INVALID_PROOF'
}

/**
 * A consistency proof that reproduces the newer root but not the older one: the older tree is not a
 * prefix of the newer (or two heads of one size disagree). This is evidence of a fork.
 */
export class InconsistentTreeError extends CitycodeError {
  static override readonly code = 'ERR_INCONSISTENT_TREE'
}

/** A well-formed tree head that is wrong for its use: other log, size 0 with a non-empty root, too large a size. */
export class BadTreeHeadError extends CitycodeError {
  static override readonly code = 'ERR_BAD_TREE_HEAD'
}

/** A tree head (or cosignature) older than the caller accepts: `details.age`, `details.maxAge` in ms. */
export class TreeHeadTooOldError extends CitycodeError {
  static override readonly code = 'ERR_TREE_HEAD_TOO_OLD'
}

/** A tree head (or cosignature) timestamped further in the future than the allowed clock skew. */
export class TreeHeadFromFutureError extends CitycodeError {
  static override readonly code = 'ERR_TREE_HEAD_FROM_FUTURE'
}

/** Fewer than `details.threshold` distinct configured witnesses validly cosigned the head. */
export class InsufficientCosignaturesError extends CitycodeError {
  static override readonly code = 'ERR_INSUFFICIENT_COSIGNATURES'
}

/** Fork evidence that does not prove a fork (heads consistent, different logs, proof not bound to a head). */
export class InvalidForkEvidenceError extends CitycodeError {
  static override readonly code = 'ERR_INVALID_FORK_EVIDENCE'
}

/** The log holds no entry for that signed object (a record version never logged, or logged elsewhere). */
export class NotLoggedError extends CitycodeError {
  static override readonly code = 'ERR_NOT_LOGGED'
}

/**
 * A tile (C2SP tlog-tiles, core/ledger/tiles.ts) or tile path that is not what it should be:
 * `details.reason` `path` (not a tile path), `width` / `size` (no such tile at that tree size),
 * `parent-mismatch` (a full tile that does not hash to its entry in its parent tile),
 * `root-mismatch` (the tiles do not make the signed root), `bundle` (an entry bundle that is
 * malformed or does not match its hash tile).
 */
export class InvalidTileError extends CitycodeError {
  static override readonly code = 'ERR_INVALID_TILE'
}

/** A checkpoint (signed head) of a smaller tree than one the reader already holds of that log: a rollback. */
export class CheckpointRollbackError extends CitycodeError {
  static override readonly code = 'ERR_CHECKPOINT_ROLLBACK'
}
