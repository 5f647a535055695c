import type { AbortOptions } from '@libp2p/interface'
import { equalBytes } from '../../core/crypto/hash.ts'
import { PermissionError } from '../../core/errors.ts'
import type { Certificate } from '../../core/trust/certificate.ts'
import { revoke } from '../../core/trust/revocation.ts'
import { encodeRevocationAnnouncement } from '../../core/trust/revocation-announcement.ts'
import type { Revocation } from '../../core/trust/revocation.ts'
import type { Revocations } from '../revocations/index.ts'
import type { ProofSource } from './build.ts'

/** What revoking needs from a node (CitycodeNode has all of it). */
export interface RevocationSource extends ProofSource {
  readonly identity: { readonly namespace: string, readonly chain: readonly Uint8Array[] } | undefined
  /** Stores and announces the revocation to the network (absent: honoured by this node only). */
  readonly revocations?: Pick<Revocations, 'announce'>
}

export interface RevokeOptions extends AbortOptions {
  readonly reason: string
  /** Unix milliseconds from which the certificate is revoked. @default now */
  readonly revokedAt?: number
}

export interface Revoked {
  readonly revocation: Revocation
  /** Its entry in this node's ledger; null for a node that keeps none. */
  readonly ledgerIndex: number | null
  /** What the node announced on the revocations topic (SPEC 4.4): the revocation, certificate and chain. */
  readonly announcement: Uint8Array
}

/**
 * Signs a revocation of the certificate for `code` with this node's authority key, which must be
 * the certificate's holder (retiring its own key) or its issuer (SPEC 4.4), records it in this node's
 * ledger, honours it from then on, stores it and announces it on the revocations topic, so other
 * nodes refuse records under the certificate too (SPEC 4.4). The certificate is this node's own (from its identity, no
 * network needed) or one in the resolved chain of `code` (a child it certified).
 */
export async function revokeCertificate (node: RevocationSource, code: string, options: RevokeOptions): Promise<Revoked> {
  const signer = node.authorityKey
  if (signer === undefined) throw new PermissionError('this node has no authority key: a revocation is signed by the certificate\'s holder or issuer', { code })
  const now = node.validator.now()
  let certificates: readonly Certificate[]
  if (node.identity !== undefined && node.identity.namespace === code) {
    certificates = node.validator.chains.verify(node.identity.chain, signer.publicKey, { now }).certificates
  } else {
    certificates = (await node.resolve(code, { signal: options.signal })).verified.chain.certificates
  }
  // after a rotation the chain holds several certificates of the namespace: the holder retires its
  // current one, the issuer revokes the one it signed (which takes the rotations after it down too)
  const mayRevoke = (c: Certificate): boolean => equalBytes(c.body.subject, signer.publicKey) || c.sigs.some(s => equalBytes(s.key, signer.publicKey))
  if (!certificates.some(c => c.body.namespace === code)) throw new PermissionError(`${code} has no certificate of its own (its key is a trust anchor's): nothing to revoke`, { code })
  const at = certificates.findLastIndex(c => c.body.namespace === code && mayRevoke(c))
  const cert = certificates[at]
  if (cert === undefined) {
    throw new PermissionError(`this node's key neither holds nor issued the certificate for ${code}: only they can revoke it`, { code })
  }
  const revocation = revoke(cert, signer, options.reason, options.revokedAt ?? now)
  node.validator.revocations.add(revocation, cert)
  const ledgerIndex = node.ledger === undefined ? null : await node.ledger.appendRevocation(revocation.bytes)
  const announcement = encodeRevocationAnnouncement({ revocation: revocation.bytes, certificate: cert.bytes, chain: certificates.slice(0, at).map(c => c.bytes) })
  await node.revocations?.announce(announcement)
  return { revocation, ledgerIndex, announcement }
}
