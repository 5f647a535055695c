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
