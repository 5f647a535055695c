import { equalBytes } from '../../core/crypto/hash.ts'
import { decodeCertificate } from '../../core/trust/certificate.ts'
import { revoke } from '../../core/trust/revocation.ts'
import { encodeRevocationAnnouncement } from '../../core/trust/revocation-announcement.ts'
import type { RevocationSource } from '../proof/revoke.ts'

/** The reason of the issuer's revocation of a certificate it replaced by re-certifying its code. */
export const RECERTIFIED_REASON = 're-certified to a new key'

export interface Retired {
  /** Whether a revocation was signed now (false: one was in force already). */
  readonly revoked: boolean
  /** Its entry in the node's ledger; null when none was signed or the node keeps no ledger. */
  readonly ledgerIndex: number | null
}

/**
 * After a re-certification (Authority.reinstate, approve with `reinstate`): the certificate it
 * replaced is revoked by this authority, its issuer, unless a revocation of it is in force already,
 * so the old key signs nothing more for the code (a stale or rolled-back record under it is refused
 * wherever the revocation reaches), while the new certificate, another hash, is untouched by it.
 * The revocation is honoured here, logged and announced as `citycode revoke` does.
 */
export async function retireReplaced (node: RevocationSource, replaced: Uint8Array): Promise<Retired> {
  const cert = decodeCertificate(replaced)
  const signer = node.authorityKey
  const now = node.validator.now()
  if (node.validator.revocations.revoked(cert.hash, now) !== undefined) return { revoked: false, ledgerIndex: null }
  // issued under a key this authority has rotated away from: its current key may not revoke it
  if (signer === undefined || !cert.sigs.some(s => equalBytes(s.key, signer.publicKey))) return { revoked: false, ledgerIndex: null }
  const revocation = revoke(cert, signer, RECERTIFIED_REASON, now)
  node.validator.revocations.add(revocation, cert)
  const ledgerIndex = node.ledger === undefined ? null : await node.ledger.appendRevocation(revocation.bytes)
  await node.revocations?.announce(encodeRevocationAnnouncement({ revocation: revocation.bytes, certificate: cert.bytes, chain: [...(node.identity?.chain ?? [])] }))
  return { revoked: true, ledgerIndex }
}
