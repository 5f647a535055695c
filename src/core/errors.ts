/**
 * Every way a code, record, certificate or chain can be wrong has its own error class with a
 * stable `name` and `code`, so callers (DHT validator, gossip validator, resolver, gateway, CLI)
 * branch on data, never on message text. `details` carries structured metadata for logs and
 * HTTP problem responses.
 */
export type ErrorDetails = Record<string, string | number | boolean | null | undefined>

export class CitycodeError extends Error {
  static readonly code: string = 'ERR_CITYCODE'
  readonly code: string
  readonly details: ErrorDetails

  constructor (message: string, details: ErrorDetails = {}) {
    super(message)
    this.name = new.target.name
    this.code = (new.target as typeof CitycodeError).code
    this.details = details
  }
}

/** A code's text does not match the grammar; `details.position` is the 0-based offending index. */
export class MalformedCodeError extends CitycodeError {
  static override readonly code = 'ERR_MALFORMED_CODE'
}

/** The printed form's check character does not match the code. */
export class CheckCharacterError extends CitycodeError {
  static override readonly code = 'ERR_CHECK_CHARACTER'
}

/** Bytes that are not a well-formed, canonical DAG-CBOR object of the expected shape. */
export class MalformedRecordError extends CitycodeError {
  static override readonly code = 'ERR_MALFORMED_RECORD'
}

export class RecordTooLargeError extends CitycodeError {
  static override readonly code = 'ERR_RECORD_TOO_LARGE'
}

/** The DHT key under which a record was found is not the key derived from the record's code. */
export class KeyMismatchError extends CitycodeError {
  static override readonly code = 'ERR_KEY_MISMATCH'
}

export class BadSignatureError extends CitycodeError {
  static override readonly code = 'ERR_BAD_SIGNATURE'
}

/** The chain does not start at a configured trust anchor (or not enough anchor signatures). */
export class UnknownAnchorError extends CitycodeError {
  static override readonly code = 'ERR_UNKNOWN_ANCHOR'
}

/** A code asked for that no configured trust anchor's namespace covers: nothing under it could verify. */
export class UncoveredCodeError extends CitycodeError {
  static override readonly code = 'ERR_UNCOVERED_CODE'
}

/** A certificate or record claims a code outside the namespace its signer was delegated. */
export class NamespaceViolationError extends CitycodeError {
  static override readonly code = 'ERR_NAMESPACE_VIOLATION'
}

/** A code that the unified allocation rule does not allow (unknown country, not a GB/T 2260 division). */
export class AllocationRuleError extends CitycodeError {
  static override readonly code = 'ERR_ALLOCATION_RULE'
}

export class ExpiredError extends CitycodeError {
  static override readonly code = 'ERR_EXPIRED'
}

/** A certificate or record whose validity starts in the future. */
export class NotYetValidError extends CitycodeError {
  static override readonly code = 'ERR_NOT_YET_VALID'
}

export class RevokedError extends CitycodeError {
  static override readonly code = 'ERR_REVOKED'
}

/** A certificate lacks the permission its use needs (e.g. signing further delegations). */
export class PermissionError extends CitycodeError {
  static override readonly code = 'ERR_PERMISSION'
}

/** The chain is broken: a link is not signed by the previous link's subject, too long, or empty. */
export class BrokenChainError extends CitycodeError {
  static override readonly code = 'ERR_BROKEN_CHAIN'
}

/** The record's signing key is not the subject of the last certificate of its chain. */
export class WrongKeyError extends CitycodeError {
  static override readonly code = 'ERR_WRONG_KEY'
}

/** A record's `prev` hash does not link to the record it claims to follow. */
export class BrokenHistoryError extends CitycodeError {
  static override readonly code = 'ERR_BROKEN_HISTORY'
}

/** A code that could not be allocated (namespace full, duplicate, bad application). */
export class AllocationError extends CitycodeError {
  static override readonly code = 'ERR_ALLOCATION'
}

/**
 * A key rotation that cannot be made: the certificate commits to no next key, or to another one
 * than the key offered (SPEC 4.4). A holder in that state asks its parent to re-certify it.
 */
export class RotationError extends CitycodeError {
  static override readonly code = 'ERR_ROTATION'
}

/**
 * A record whose chain contains a key this node distrusts: an authority whose ledger was proven to
 * fork (verified fork evidence), until an operator clears it. `details.key` is the key (hex).
 */
export class DistrustedAuthorityError extends CitycodeError {
  static override readonly code = 'ERR_DISTRUSTED_AUTHORITY'
}

export function isCitycodeError (err: unknown): err is CitycodeError {
  return err instanceof CitycodeError
}

/**
 * A resolver that requires fresh revocation status (SPEC 4.6) has, for a link of the chain, no
 * statement from its issuer newer than its bound: it cannot tell whether the link was revoked since.
 */
export class StaleRevocationStatusError extends CitycodeError {
  static override readonly code = 'ERR_STALE_REVOCATION_STATUS'
}

/**
 * An application refused because too many of its kind already wait for the operator: from its
 * peer, under its key, or in total (`details.bound` says which, `details.limit` the bound).
 * Nothing of it was stored; ask again once the operator has decided on the waiting ones.
 */
export class PendingLimitError extends CitycodeError {
  static override readonly code = 'ERR_PENDING_LIMIT'
}

/**
 * Two different records of one code with one sequence number, both signed by one key: the key
 * holder equivocated (SPEC "Equivocation"), and no rule may quietly pick one of them.
 */
export class EquivocationError extends CitycodeError {
  static override readonly code = 'ERR_EQUIVOCATION'
  /** EquivocationEvidence bytes (core/record/equivocation.ts), when this node holds them. */
  readonly evidence: Uint8Array | undefined

  constructor (message: string, details: ErrorDetails = {}, evidence?: Uint8Array) {
    super(message, details)
    this.evidence = evidence
  }
}

/** Bytes offered as equivocation evidence that do not prove one key signed two versions of one seq. */
export class InvalidEquivocationEvidenceError extends CitycodeError {
  static override readonly code = 'ERR_INVALID_EQUIVOCATION_EVIDENCE'
}

/**
 * An application presented an invitation that does not admit it (SPEC 2.2): not signed by this
 * authority's key, for another namespace or key, or expired. `details.reason` says which.
 */
export class InvitationError extends CitycodeError {
  static override readonly code = 'ERR_INVITATION'
}

/**
 * A bulk registration file with bad lines. Nothing of the file was written: the whole file is
 * checked before the first write. `lines` lists every bad line (1-based) with why.
 */
export class BatchError extends CitycodeError {
  static override readonly code = 'ERR_BATCH'
  readonly lines: ReadonlyArray<{ line: number, error: string, message: string }>

  /**
   * Takes `lines`, or details as they crossed the admin socket (only scalars travel there, so the
   * first BATCH_ERROR_WIRE_LINES lines go as JSON text in `details.lines`).
   */
  constructor (message: string, lines: ReadonlyArray<{ line: number, error: string, message: string }> | ErrorDetails) {
    const list = Array.isArray(lines) ? lines as ReadonlyArray<{ line: number, error: string, message: string }> : linesFromDetails(lines as ErrorDetails)
    super(message, { bad: Array.isArray(lines) ? list.length : (lines as ErrorDetails).bad, lines: JSON.stringify(list.slice(0, BATCH_ERROR_WIRE_LINES)) })
    this.lines = list
  }
}

const BATCH_ERROR_WIRE_LINES = 20

function linesFromDetails (details: ErrorDetails): Array<{ line: number, error: string, message: string }> {
  try {
    const parsed: unknown = JSON.parse(String(details.lines ?? '[]'))
    return Array.isArray(parsed) ? parsed as Array<{ line: number, error: string, message: string }> : []
  } catch {
    return []
  }
}

/**
 * A page cursor that is not one this implementation made (mangled, forged text, another log's) or
 * a page limit out of range: the gateway answers 400. `details.reason`.
 */
export class InvalidCursorError extends CitycodeError {
  static override readonly code = 'ERR_INVALID_CURSOR'
}
