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

/**
 * A DHT store refused: the key is outside `/citycode/r/` and `/citycode/h/` (kad-dht's own `/pk/`
 * and any other namespace), or the record or its key is larger than its kind allows.
 */
export class DhtRecordRefusedError extends CitycodeError {
  static override readonly code = 'ERR_DHT_RECORD_REFUSED'
}

/** A DHT store refused because the selection rule prefers the record already held (a replay of an older version). */
export class DhtRollbackError extends CitycodeError {
  static override readonly code = 'ERR_DHT_ROLLBACK'
}

/** A DHT store refused because one peer, or all peers together, hold their quota of records or provider records here. */
export class DhtQuotaExceededError extends CitycodeError {
  static override readonly code = 'ERR_DHT_QUOTA_EXCEEDED'
}
