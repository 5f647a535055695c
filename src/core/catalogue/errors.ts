import { CitycodeError } from '../errors.ts'

/**
 * Errors of data exchange (issue #19) live beside the catalogue rather than in core/errors.ts so
 * that work on other issues touching that page does not collide; they share its base class, so
 * `isCitycodeError`, `name` and `code` behave the same everywhere.
 */

/** A content id that is not CIDv1 with a sha2-256 multihash, or does not parse at all. */
export class InvalidContentIdError extends CitycodeError {
  static override readonly code = 'ERR_INVALID_CONTENT_ID'
}

/** A catalogue that is malformed, signed by a key its chain does not certify, or badly signed. */
export class InvalidCatalogueError extends CitycodeError {
  static override readonly code = 'ERR_INVALID_CATALOGUE'
}

/** The requester's code is not admitted by the dataset's access policy. */
export class AccessDeniedError extends CitycodeError {
  static override readonly code = 'ERR_ACCESS_DENIED'
}

/** A request whose nonce was already seen, or whose time lies outside the accepted window. */
export class ReplayedRequestError extends CitycodeError {
  static override readonly code = 'ERR_REPLAYED_REQUEST'
}

/** A request that is malformed, badly signed, or bound to other peers than this connection's. */
export class InvalidRequestError extends CitycodeError {
  static override readonly code = 'ERR_INVALID_REQUEST'
}

/** A block whose bytes do not hash to the CID it was sent under. */
export class BlockMismatchError extends CitycodeError {
  static override readonly code = 'ERR_BLOCK_MISMATCH'
}

/** A frame longer than the protocol allows (or a stream that does not end). */
export class FrameTooLargeError extends CitycodeError {
  static override readonly code = 'ERR_FRAME_TOO_LARGE'
}

/** The provider has no dataset of that name, or not under that CID. */
export class UnknownDatasetError extends CitycodeError {
  static override readonly code = 'ERR_UNKNOWN_DATASET'
}

/** A receipt that does not verify under the provider's key. */
export class InvalidReceiptError extends CitycodeError {
  static override readonly code = 'ERR_INVALID_RECEIPT'
}

/** A transfer that ended before every block of the dataset was held (the provider stopped, or lacks blocks); what arrived is kept for a resume. */
export class TransferIncompleteError extends CitycodeError {
  static override readonly code = 'ERR_TRANSFER_INCOMPLETE'
}

/** An exchange log whose entries do not verify: a broken link, a bad signature (`details.seq`, `details.reason`). */
export class ExchangeLogError extends CitycodeError {
  static override readonly code = 'ERR_EXCHANGE_LOG'
}

/** A dataset fetched whole whose bytes or size differ from what the catalogue states. */
export class DatasetMismatchError extends CitycodeError {
  static override readonly code = 'ERR_DATASET_MISMATCH'
}
