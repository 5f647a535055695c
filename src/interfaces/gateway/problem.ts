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
  RouteNotFoundError: 404,
  MethodNotAllowedError: 405,
  UrlTooLongError: 414,
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
  414: 'URI too long',
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
