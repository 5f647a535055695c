import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import { equalBytes, sha256, toHex } from '../crypto/hash.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, verifySignature } from '../crypto/signature.ts'
import type { Signer } from '../crypto/signature.ts'
import { BadSignatureError, MalformedRecordError, PermissionError } from '../errors.ts'
import type { Certificate } from './certificate.ts'

export const REVOCATION_MAX_BYTES = 1024

/**
 * A signed statement that a certificate (by hash) is no longer valid from `revokedAt`. Valid when
 * signed by one of the certificate's issuers or by its subject (a holder may retire its own key,
 * e.g. after a rotation or a compromise).
 */
export interface Revocation {
  readonly target: Uint8Array
  readonly namespace: string
  readonly reason: string
  readonly revokedAt: number
  readonly key: Uint8Array
  readonly bytes: Uint8Array
  readonly bodyBytes: Uint8Array
  readonly sig: Uint8Array
}

export function revoke (cert: Certificate, signer: Signer, reason: string, revokedAt: number): Revocation {
  const bodyBytes = encodeCbor({ v: 1, type: 'revocation', target: cert.hash, namespace: cert.body.namespace, reason, revokedAt })
  const bytes = encodeCbor({ body: bodyBytes, key: signer.publicKey, sig: signer.sign('revocation', bodyBytes) })
  return decodeRevocation(bytes)
}

export function decodeRevocation (bytes: Uint8Array): Revocation {
  const env = new FieldReader(decodeCanonical(bytes, REVOCATION_MAX_BYTES, 'revocation'), 'revocation', ['body', 'key', 'sig'])
  const bodyBytes = env.bytes('body')
  const body = new FieldReader(decodeCanonical(bodyBytes, REVOCATION_MAX_BYTES, 'revocation body'), 'revocation body', ['v', 'type', 'target', 'namespace', 'reason', 'revokedAt'])
  body.literal('v', 1)
  body.literal('type', 'revocation')
  return {
    target: body.bytes('target', 32),
    namespace: body.string('namespace', 64),
    reason: body.string('reason', 256),
    revokedAt: body.uint('revokedAt'),
    key: env.bytes('key', ED25519_PUBLIC_KEY_BYTES),
    sig: env.bytes('sig', ED25519_SIGNATURE_BYTES),
    bytes,
    bodyBytes
  }
}

/** Checks that `revocation` is a valid revocation of `cert`, by a key allowed to revoke it. */
export function verifyRevocation (revocation: Revocation, cert: Certificate): void {
  if (!equalBytes(revocation.target, cert.hash) || revocation.namespace !== cert.body.namespace) {
    throw new MalformedRecordError('revocation does not name this certificate', { what: 'revocation', field: 'target' })
  }
  const allowed = equalBytes(revocation.key, cert.body.subject) || cert.sigs.some(s => equalBytes(s.key, revocation.key))
  if (!allowed) throw new PermissionError(`revocation of ${cert.body.namespace} is signed by a key that neither issued nor holds the certificate`, { namespace: cert.body.namespace })
  if (!verifySignature('revocation', revocation.bodyBytes, revocation.sig, revocation.key)) {
    throw new BadSignatureError(`revocation of ${cert.body.namespace} has a bad signature`, { namespace: cert.body.namespace })
  }
}

/**
 * Which of two valid revocations of one certificate a node keeps (one per certificate): the
 * issuer's before the holder's own, then the one in force earliest. The holder's retirement of a
 * certificate it rotated away from leaves the rotated chain standing (revocationOfLink); kept
 * over the issuer's later revocation, it would hide that one and leave the rotated chain standing
 * too.
 */
export function keepsRevocation (candidate: Revocation, kept: Revocation, cert: Certificate): boolean {
  const byHolder = (r: Revocation): boolean => equalBytes(r.key, cert.body.subject)
  if (byHolder(candidate) !== byHolder(kept)) return !byHolder(candidate)
  return candidate.revokedAt < kept.revokedAt
}

/** The revocations a validator honours, by certificate hash. Only verified revocations go in. */
export class RevocationSet {
  private readonly byTarget = new Map<string, Revocation>()
  /** namespace -> certificate hashes (hex) revoked under it: a node asked about a code it holds no record of still knows whether its delegation was revoked. */
  private readonly byNamespace = new Map<string, Set<string>>()

  /** Verifies and adds; throws the revocation's typed error when it is not valid for `cert`. */
  add (revocation: Revocation, cert: Certificate): void {
    verifyRevocation(revocation, cert)
    const id = toHex(revocation.target)
    const existing = this.byTarget.get(id)
    if (existing === undefined || keepsRevocation(revocation, existing, cert)) this.byTarget.set(id, revocation)
    let targets = this.byNamespace.get(revocation.namespace)
    if (targets === undefined) this.byNamespace.set(revocation.namespace, targets = new Set())
    targets.add(id)
  }

  /** Forgets the revocation of `certHash` (evicted for room); returns whether one was held. */
  delete (certHash: Uint8Array): boolean {
    const id = toHex(certHash)
    const r = this.byTarget.get(id)
    if (r === undefined) return false
    this.byTarget.delete(id)
    const targets = this.byNamespace.get(r.namespace)
    targets?.delete(id)
    if (targets?.size === 0) this.byNamespace.delete(r.namespace)
    return true
  }

  /** The revocations in force at `now` of certificates for exactly `namespace`. */
  inForceFor (namespace: string, now: number): Revocation[] {
    const out: Revocation[] = []
    for (const id of this.byNamespace.get(namespace) ?? []) {
      const r = this.byTarget.get(id)
      if (r !== undefined && r.revokedAt <= now) out.push(r)
    }
    return out
  }

  /** The revocation held for `certHash`, in force or not yet. */
  get (certHash: Uint8Array): Revocation | undefined {
    return this.byTarget.get(toHex(certHash))
  }

  /** The revocation in force for `certHash` at `now`, if any. */
  revoked (certHash: Uint8Array, now: number): Revocation | undefined {
    if (this.byTarget.size === 0) return undefined
    const r = this.byTarget.get(toHex(certHash))
    return r !== undefined && r.revokedAt <= now ? r : undefined
  }

  get size (): number {
    return this.byTarget.size
  }

  values (): IterableIterator<Revocation> {
    return this.byTarget.values()
  }
}

/**
 * The revocation in force at `now` that stops link `i` of a chain (anchor side first), if any. A
 * holder that rotates to its pre-committed key retires the old certificate with its own key
 * (SPEC 4.4): that revocation stops every chain ending in the old certificate, so the old key can no
 * longer sign, but not the chain that goes on through the rotation link succeeding it. A revocation
 * signed by anyone else (the issuer) stops the link whatever follows it.
 */
export function revocationOfLink (certs: readonly Certificate[], i: number, revocations: RevocationSet, now: number): Revocation | undefined {
  const cert = certs[i]
  if (cert === undefined || revocations.size === 0) return undefined
  const revocation = revocations.revoked(cert.hash, now)
  if (revocation === undefined) return undefined
  const next = certs[i + 1]
  const rotatedAway = next !== undefined && next.body.kind === 'rotation' && next.body.prev !== null && equalBytes(next.body.prev, cert.hash)
  if (rotatedAway && equalBytes(revocation.key, cert.body.subject)) return undefined
  return revocation
}

export function certificateHash (certBytes: Uint8Array): Uint8Array {
  return sha256(certBytes)
}
