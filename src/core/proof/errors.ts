import { CitycodeError } from '../errors.ts'

/**
 * The text or picture given is not a bundle at all: wrong scheme prefix, characters outside base45,
 * a base45 triple out of range, a zlib stream that does not inflate or whose checksum fails, or
 * inflated bytes over the size limit. `details.reason` says which. Distinct from a bundle that
 * decodes but fails a check (those keep the record errors of SPEC 6), so a verifier can tell
 * "unusable input" from "invalid proof".
 */
export class BundleTextError extends CitycodeError {
  static override readonly code = 'ERR_BUNDLE_TEXT'
}

/**
 * A revocation list given to a verifier cannot be used: it is not a canonical array of revocations
 * (`details.reason` "malformed"), or entry `details.entry` does not decode ("malformed"), names no
 * certificate of the bundle's chain ("not-in-chain"), or is not a valid revocation of the certificate
 * it names ("unverifiable": signed by a key that neither issued nor holds it, or a bad signature).
 * Like BundleTextError it is unusable input, distinct from a bundle that fails a check.
 */
export class RevocationListError extends CitycodeError {
  static override readonly code = 'ERR_REVOCATION_LIST'
}
