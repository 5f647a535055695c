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

/**
 * A peer answered with something older than what this resolver has verified: a record of a lower
 * seq, or a proof of absence of a code whose valid record it holds. The peer's failure, as a record
 * that does not verify: a replay must neither be answered nor end the lookup.
 */
export class StaleAnswerError extends CitycodeError {
  static override readonly code = 'ERR_STALE_ANSWER'
}

/**
 * A peer had not answered when a peer asked after it already had (or within the grace a holder gets
 * to confirm a copy): it costs every lookup that asks it first a hedge delay, so it counts as failed.
 */
export class SlowPeerError extends CitycodeError {
  static override readonly code = 'ERR_SLOW_PEER'
}

/**
 * A one-shot application's deadline passed while the parent's operator had not decided yet: the
 * application stays queued at the parent under `details.id`, for its operator to approve.
 */
export class ApplicationPendingError extends CitycodeError {
  static override readonly code = 'ERR_APPLICATION_PENDING'
}

/** This node holds no code yet (it has not applied) but was asked to act as a holder. */
export class NotAllocatedError extends CitycodeError {
  static override readonly code = 'ERR_NOT_ALLOCATED'
}
