import { CitycodeError } from '../core/errors.ts'

/** A request/response exchange did not finish before its deadline. */
export class RequestTimeoutError extends CitycodeError {
  static override readonly code = 'ERR_REQUEST_TIMEOUT'
}

/** A message exceeded the protocol's size limit (checked on the length prefix, before reading). */
export class MessageTooLargeError extends CitycodeError {
  static override readonly code = 'ERR_MESSAGE_TOO_LARGE'
}

/** The remote broke the protocol: closed early, sent garbage framing. */
export class ProtocolError extends CitycodeError {
  static override readonly code = 'ERR_PROTOCOL'
}
