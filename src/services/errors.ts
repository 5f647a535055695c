import { CitycodeError } from '../core/errors.ts'
import type { ErrorDetails } from '../core/errors.ts'
import type { VerifiedAbsence } from '../core/proof/absence.ts'

/**
 * No node that was asked holds a valid record for the code. With `absence` (and `details.proven`),
 * the code provably does not exist: the authority above it signed an allocation set without it.
 */
export class NotFoundError extends CitycodeError {
  static override readonly code = 'ERR_NOT_FOUND'
  readonly absence: VerifiedAbsence | undefined

  constructor (message: string, details: ErrorDetails = {}, absence?: VerifiedAbsence) {
    super(message, { ...details, proven: absence !== undefined })
    this.absence = absence
  }
}

/** The network did not answer before the deadline. */
export class ResolveTimeoutError extends CitycodeError {
  static override readonly code = 'ERR_RESOLVE_TIMEOUT'
}

/** A record could not be published (it does not verify locally, or this node holds no chain for it). */
export class PublishError extends CitycodeError {
  static override readonly code = 'ERR_PUBLISH'
}

/** A peer answered that a code is revoked with a revocation that does not concern it, or that cannot be checked here. */
export class RevokedAnswerError extends CitycodeError {
  static override readonly code = 'ERR_REVOKED_ANSWER'
}
