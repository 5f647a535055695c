import { CitycodeError } from '../core/errors.ts'

/**
 * Network-layer errors. Like every citycode error they carry a stable `name` (the class name) and
 * `code`, plus structured `details` (protocol, limits, deadlines): callers branch on `err.name` or
 * `err.code`, never on message text. Errors a remote peer causes end in its stream being aborted,
 * never in the node crashing.
 */

/** A request/response exchange did not finish before its deadline (or the caller's timeout signal). */
export class RequestTimeoutError extends CitycodeError {
  static override readonly code = 'ERR_REQUEST_TIMEOUT'
}

/** A request's length prefix announced more than the handler accepts; refused before reading the body. */
export class RequestTooLargeError extends CitycodeError {
  static override readonly code = 'ERR_REQUEST_TOO_LARGE'
}

/** A response's length prefix announced more than the caller accepts; refused before reading the body. */
export class ResponseTooLargeError extends CitycodeError {
  static override readonly code = 'ERR_RESPONSE_TOO_LARGE'
}

/**
 * The remote broke the exchange: closed or reset the stream without a complete answer (what a
 * server does when its handler fails or our request was refused), or sent malformed framing.
 */
export class ProtocolError extends CitycodeError {
  static override readonly code = 'ERR_PROTOCOL'
}
