import { CitycodeError } from '../../core/errors.ts'

/**
 * The node's admin socket does not answer (`details.path`, `details.reason`: ENOENT, ECONNREFUSED,
 * timeout...). When the data directory is locked too, the node is running but cannot be reached.
 */
export class AdminUnavailableError extends CitycodeError {
  static override readonly code = 'ERR_ADMIN_UNAVAILABLE'
}

/**
 * The node cannot open its admin socket: the path is too long for a Unix socket, is something
 * other than a socket, or another process answers on it (`details.path`).
 */
export class AdminSocketError extends CitycodeError {
  static override readonly code = 'ERR_ADMIN_SOCKET'
}

/** The admin socket answered something this client does not understand (another protocol version, a malformed answer). */
export class AdminProtocolError extends CitycodeError {
  static override readonly code = 'ERR_ADMIN_PROTOCOL'
}

/** The node failed while handling an admin request (not a refusal: its log says why). */
export class AdminInternalError extends CitycodeError {
  static override readonly code = 'ERR_ADMIN_INTERNAL'
}
