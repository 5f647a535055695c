import { CitycodeError } from '../../core/errors.ts'

/** An admin request that is not what the protocol allows: not HTTP, not JSON, a bad field (`details.field`), a wrong method or path. */
export class AdminRequestError extends CitycodeError {
  static override readonly code = 'ERR_ADMIN_REQUEST'
}

/** An admin request larger than the protocol's limit (`details.limit`, bytes). */
export class AdminRequestTooLargeError extends CitycodeError {
  static override readonly code = 'ERR_ADMIN_REQUEST_TOO_LARGE'
}

/** An admin request naming an operation this node does not have (`details.op`). */
export class UnknownAdminOpError extends CitycodeError {
  static override readonly code = 'ERR_ADMIN_UNKNOWN_OP'
}

/** An admin request that did not arrive whole within the protocol's limit (`details.timeoutMs`); the connection is closed. */
export class AdminRequestTimeoutError extends CitycodeError {
  static override readonly code = 'ERR_ADMIN_REQUEST_TIMEOUT'
}
