import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import { equalBytes } from '../crypto/hash.ts'
import { MalformedRecordError } from '../errors.ts'
import { decodeCertificate } from './certificate.ts'
import type { Certificate } from './certificate.ts'
import { MAX_CHAIN_LENGTH } from './chain.ts'
import type { ChainVerifier, VerifiedChain } from './chain.ts'
import { decodeRevocation, revocationOfLink, verifyRevocation } from './revocation.ts'
import type { Revocation, RevocationSet } from './revocation.ts'

/**
 * A revocation together with the certificate it revokes and that certificate's chain (anchor side
 * first, the certificate itself not repeated), so any node checks it offline against its own trust
 * anchors, as a CRL is checked against its issuer's certificate (SPEC 4.4).
 *
 *   { v: 1, revocation: bytes(Revocation), certificate: bytes(Certificate), chain: [bytes(Certificate)] }
 */
export interface RevocationAnnouncement {
  readonly revocation: Revocation
  readonly certificate: Certificate
  /** The links above `certificate`, anchor side first: at most MAX_CHAIN_LENGTH - 1. */
  readonly chain: readonly Uint8Array[]
  readonly bytes: Uint8Array
}

export interface VerifiedRevocationAnnouncement extends RevocationAnnouncement {
  /** The chain `[...chain, certificate]` as verified (without revocations: revoking a revoked link is allowed). */
  readonly verifiedChain: VerifiedChain
}

/** A revocation (<= 1 KiB) and a full chain of the largest certificates (8 x 2 KiB), plus framing. */
export const REVOCATION_ANNOUNCEMENT_MAX_BYTES = 18 * 1024

const WHAT = 'revocation announcement'

export function encodeRevocationAnnouncement (parts: { revocation: Uint8Array, certificate: Uint8Array, chain: readonly Uint8Array[] }): Uint8Array {
  return encodeCbor({ v: 1, revocation: parts.revocation, certificate: parts.certificate, chain: [...parts.chain] })
}

/** Decodes an announcement without checking any signature; throws MalformedRecordError / RecordTooLargeError. */
export function decodeRevocationAnnouncement (bytes: Uint8Array): RevocationAnnouncement {
  const r = new FieldReader(decodeCanonical(bytes, REVOCATION_ANNOUNCEMENT_MAX_BYTES, WHAT), WHAT, ['v', 'revocation', 'certificate', 'chain'])
  r.literal('v', 1)
  const revocationBytes = r.bytes('revocation')
  const certificateBytes = r.bytes('certificate')
  const chain = r.bytesArray('chain', MAX_CHAIN_LENGTH - 1)
  return { revocation: decodeRevocation(revocationBytes), certificate: decodeCertificate(certificateBytes), chain, bytes }
}

/**
 * Verifies an announcement at `now`, stopping at the first failure (SPEC 4.4):
 * 1. it decodes (`MalformedRecordError`, `RecordTooLargeError`);
 * 2. the revocation names the certificate: `target` is its hash, `namespace` its namespace (`MalformedRecordError`);
 * 3. `[...chain, certificate]` verifies as a chain (SPEC 4.3 steps 1-6, all its errors), without revocations;
 * 4. the revocation's `key` is the certificate's subject or one of its signers (`PermissionError`) and its
 *    `revocation` signature verifies (`BadSignatureError`).
 */
export function verifyRevocationAnnouncement (input: Uint8Array | RevocationAnnouncement, chains: ChainVerifier, now: number): VerifiedRevocationAnnouncement {
  const announcement = input instanceof Uint8Array ? decodeRevocationAnnouncement(input) : input
  const { revocation, certificate } = announcement
  if (!equalBytes(revocation.target, certificate.hash) || revocation.namespace !== certificate.body.namespace) {
    throw new MalformedRecordError(`${WHAT}: the revocation does not name the certificate it comes with`, { what: WHAT, field: 'revocation' })
  }
  const verifiedChain = chains.verify([...announcement.chain, certificate.bytes], certificate.body.subject, { now })
  verifyRevocation(revocation, certificate)
  return { ...announcement, verifiedChain }
}

/**
 * The announcement of the first certificate of `chain` (anchor side first, as a record carries it)
 * that `revocations` holds revoked at `now`, built from the chain itself: a node that refuses a
 * record for a revocation can always hand the asker its proof, whether or not it stored the
 * announcement it learnt it from.
 */
export function announcementForChain (chain: readonly Uint8Array[], revocations: RevocationSet, now: number): Uint8Array | undefined {
  if (revocations.size === 0) return undefined
  const certs = chain.map(c => decodeCertificate(c))
  for (let i = 0; i < chain.length; i++) {
    const revocation = revocationOfLink(certs, i, revocations, now)
    if (revocation !== undefined) return encodeRevocationAnnouncement({ revocation: revocation.bytes, certificate: chain[i] as Uint8Array, chain: chain.slice(0, i) })
  }
  return undefined
}
