import { CitycodeError, EquivocationError, isCitycodeError } from '../../core/errors.ts'
import type { ErrorDetails } from '../../core/errors.ts'
import { toHex } from '../../core/crypto/hash.ts'
import { NotFoundError } from '../../services/errors.ts'

/**
 * RFC 9457 problem details, built from our typed errors' stable `name`, `code` and `details`, never
 * from a stack: `type` names the error class, `code` is its stable code, `details` its structured
 * metadata (e.g. the offending `position` of a malformed code).
 */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json'
export const PROBLEM_TYPE_PREFIX = 'urn:citycode:problem:'

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  instance?: string
  code: string
  details?: ErrorDetails
}

/** Refusals the gateway itself makes (limits, methods, routes), as typed errors like any other. */
export class InvalidRequestError extends CitycodeError {
  static override readonly code = 'ERR_INVALID_REQUEST'
}
export class RouteNotFoundError extends CitycodeError {
  static override readonly code = 'ERR_ROUTE_NOT_FOUND'
}
export class MethodNotAllowedError extends CitycodeError {
  static override readonly code = 'ERR_METHOD_NOT_ALLOWED'
}
export class UrlTooLongError extends CitycodeError {
  static override readonly code = 'ERR_URL_TOO_LONG'
}
export class RateLimitedError extends CitycodeError {
  static override readonly code = 'ERR_RATE_LIMITED'
}
/** The gateway cannot listen on its address (in use, not this host's, not allowed). */
export class GatewayListenError extends CitycodeError {
  static override readonly code = 'ERR_GATEWAY_LISTEN'
}
export class InternalError extends CitycodeError {
  static override readonly code = 'ERR_INTERNAL'
}
/** A request target the router cannot decode (a `%` not followed by two hex digits, `%ZZ`). */
export class MalformedUrlError extends CitycodeError {
  static override readonly code = 'ERR_MALFORMED_URL'
}
/** Request line and headers over the gateway's limit (`details.limit`, bytes). */
export class HeadersTooLargeError extends CitycodeError {
  static override readonly code = 'ERR_HEADERS_TOO_LARGE'
}
/** The client did not send its whole request in time (`details.timeoutMs`). */
export class ClientTimeoutError extends CitycodeError {
  static override readonly code = 'ERR_CLIENT_TIMEOUT'
}
/** A request body over the limit (`details.limit`); the gateway takes none. */
export class BodyTooLargeError extends CitycodeError {
  static override readonly code = 'ERR_BODY_TOO_LARGE'
}
/** A request body of a content type no route takes. */
export class UnsupportedMediaTypeError extends CitycodeError {
  static override readonly code = 'ERR_UNSUPPORTED_MEDIA_TYPE'
}
/** An `Expect` header the gateway cannot meet (anything but `100-continue`). */
export class ExpectationFailedError extends CitycodeError {
  static override readonly code = 'ERR_EXPECTATION_FAILED'
}
/** The gateway's budget across all clients is spent (`Retry-After`), whoever asks. */
export class GatewayBusyError extends CitycodeError {
  static override readonly code = 'ERR_GATEWAY_BUSY'
}
/** The gateway is stopping and takes no new requests. */
export class GatewayClosingError extends CitycodeError {
  static override readonly code = 'ERR_GATEWAY_CLOSING'
}

/** HTTP status by error name; a verification failure of what the network answered is a bad gateway. */
const STATUS: Record<string, number> = {
  MalformedCodeError: 400,
  CheckCharacterError: 400,
  AllocationRuleError: 400,
  InvalidRequestError: 400,
  PermissionError: 403,
  NotFoundError: 404,
  UnknownLogError: 404,
  NotAllocatedError: 404,
  UncoveredCodeError: 404,
  RouteNotFoundError: 404,
  MethodNotAllowedError: 405,
  ClientTimeoutError: 408,
  BodyTooLargeError: 413,
  UrlTooLongError: 414,
  UnsupportedMediaTypeError: 415,
  ExpectationFailedError: 417,
  HeadersTooLargeError: 431,
  MalformedUrlError: 400,
  InvalidCursorError: 400,
  GatewayBusyError: 503,
  GatewayClosingError: 503,
  RateLimitedError: 429,
  ResolveTimeoutError: 504,
  RequestTimeoutError: 504,
  LogTooLargeError: 503,
  InternalError: 500
}

const TITLE: Record<number, string> = {
  400: 'Bad request',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  408: 'Request timeout',
  413: 'Content too large',
  414: 'URI too long',
  415: 'Unsupported media type',
  417: 'Expectation failed',
  431: 'Request header fields too large',
  429: 'Too many requests',
  500: 'Internal error',
  502: 'Bad gateway',
  504: 'Gateway timeout',
  503: 'Service unavailable'
}

/**
 * The problem for any thrown value. Citycode errors map by name (unknown names of a verification
 * failure are 502: the network answered something this node refuses to vouch for); anything else is
 * a 500 that says nothing about the internals.
 */
export function problemFor (err: unknown, instance?: string): Problem {
  const e = isCitycodeError(err) ? err : new InternalError('the gateway failed to answer this request', {})
  const status = STATUS[e.name] ?? 502
  const details = Object.fromEntries(Object.entries(e.details).filter(([, v]) => v !== undefined))
  // a proven not-found carries its proof, so a client can check it offline (SPEC 10) and cache it
  if (e instanceof NotFoundError && e.absence !== undefined) details.proof = toHex(e.absence.proof.bytes)
  // an equivocation carries both signed versions, so a client can see for itself why neither is served (SPEC 5.4)
  if (e instanceof EquivocationError && e.evidence !== undefined) details.evidence = toHex(e.evidence)
  return {
    type: `${PROBLEM_TYPE_PREFIX}${e.name}`,
    title: TITLE[status] ?? e.name,
    status,
    detail: e.message,
    ...(instance !== undefined ? { instance } : {}),
    code: e.code,
    ...(Object.keys(details).length > 0 ? { details } : {})
  }
}
