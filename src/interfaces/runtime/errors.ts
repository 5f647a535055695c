import { CitycodeError } from '../../core/errors.ts'

/**
 * Starting a node from its config failed for a reason the operator fixes in the config or on the
 * machine. `details.field` names the config field (`listen.0`, `bootstrap`).
 */

/** A `listen` address another process already holds; `details.address` is the multiaddr. */
export class ListenAddressInUseError extends CitycodeError {
  static override readonly code = 'ERR_LISTEN_ADDRESS_IN_USE'
}

/** A `listen` address this machine cannot listen on (not one of its addresses, a port it may not bind). */
export class ListenAddressError extends CitycodeError {
  static override readonly code = 'ERR_LISTEN_ADDRESS'
}

/** None of the peers the config names (`bootstrap`, `authorities`, the parent) could be reached; `details.reasons` says why for each. */
export class BootstrapUnreachableError extends CitycodeError {
  static override readonly code = 'ERR_BOOTSTRAP_UNREACHABLE'
}
