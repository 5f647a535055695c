import { equalBytes, sha256 } from '../crypto/hash.ts'
import type { Signer } from '../crypto/signature.ts'
import { RotationError } from '../errors.ts'
import { issueCertificate } from './certificate.ts'
import type { Certificate } from './certificate.ts'

/** A rotation link starts this long in the past, as certificates do, for verifiers whose clock is behind. */
export const ROTATION_BACKDATE_MS = 5 * 60_000

export interface RotationFields {
  /** SHA-256 of the key that will succeed `next` (the next pre-rotation commitment). */
  readonly nextCommitment: Uint8Array
  /** Unix milliseconds. */
  readonly now: number
}

/**
 * The pre-committed rotation link (SPEC 4.3 step 5, 4.4) that moves `previous` (the holder's
 * current certificate, held by `current`) to `next`, the key `previous.next` committed to. Signed
 * by both keys: the new one proves possession, the old one that its holder made the move now. The
 * namespace, permissions and end of validity stay those of `previous`; the serial is raised.
 */
export function issueRotation (previous: Certificate, current: Signer, next: Signer, fields: RotationFields): Certificate {
  const body = previous.body
  if (!equalBytes(body.subject, current.publicKey)) {
    throw new RotationError(`the certificate for ${body.namespace} is not held by this key`, { namespace: body.namespace })
  }
  if (body.next === null) {
    throw new RotationError(`the certificate for ${body.namespace} commits to no next key: only its issuer can move it to a new key (re-certification)`, { namespace: body.namespace, reason: 'no-commitment' })
  }
  if (!equalBytes(body.next, sha256(next.publicKey))) {
    throw new RotationError(`the certificate for ${body.namespace} commits to another next key than the one offered`, { namespace: body.namespace, reason: 'other-commitment' })
  }
  return issueCertificate({
    kind: 'rotation',
    namespace: body.namespace,
    subject: next.publicKey,
    serial: body.serial + 1,
    notBefore: Math.max(body.notBefore, fields.now - ROTATION_BACKDATE_MS),
    notAfter: body.notAfter,
    perms: body.perms,
    next: fields.nextCommitment,
    prev: previous.hash
  }, [next, current])
}
