import { CitycodeError } from '../core/errors.ts'

/** No node that was asked holds a valid record for the code. */
export class NotFoundError extends CitycodeError {
  static override readonly code = 'ERR_NOT_FOUND'
}

/** The network did not answer before the deadline. */
export class ResolveTimeoutError extends CitycodeError {
  static override readonly code = 'ERR_RESOLVE_TIMEOUT'
}

/** A record could not be published (it does not verify locally, or this node holds no chain for it). */
export class PublishError extends CitycodeError {
  static override readonly code = 'ERR_PUBLISH'
}
