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
  /**
   * Set by a holder retiring the certificate it rotated away from: SHA-256 of the rotation link
   * that succeeds it (SPEC 4.4). Null for any other revocation.
   */
  readonly successor: Uint8Array | null
  readonly key: Uint8Array
  readonly bytes: Uint8Array
  readonly bodyBytes: Uint8Array
  readonly sig: Uint8Array
}

/** `options.successor`: the holder's retirement after a rotation names the rotation link (its hash). */
export function revoke (cert: Certificate, signer: Signer, reason: string, revokedAt: number, options: { successor?: Uint8Array } = {}): Revocation {
  // the field is absent, not null, on every other revocation: their bytes stay those of version 1
  const bodyBytes = encodeCbor({ v: 1, type: 'revocation', target: cert.hash, namespace: cert.body.namespace, reason, revokedAt, ...(options.successor !== undefined ? { successor: options.successor } : {}) })
  const bytes = encodeCbor({ body: bodyBytes, key: signer.publicKey, sig: signer.sign('revocation', bodyBytes) })
  return decodeRevocation(bytes)
}

export function decodeRevocation (bytes: Uint8Array): Revocation {
  const env = new FieldReader(decodeCanonical(bytes, REVOCATION_MAX_BYTES, 'revocation'), 'revocation', ['body', 'key', 'sig'])
  const bodyBytes = env.bytes('body')
  const body = new FieldReader(decodeCanonical(bodyBytes, REVOCATION_MAX_BYTES, 'revocation body'), 'revocation body', ['v', 'type', 'target', 'namespace', 'reason', 'revokedAt', 'successor'])
  body.literal('v', 1)
  body.literal('type', 'revocation')
  return {
    target: body.bytes('target', 32),
    namespace: body.string('namespace', 64),
    reason: body.string('reason', 256),
    revokedAt: body.uint('revokedAt'),
    successor: body.has('successor') ? body.bytes('successor', 32) : null,
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
  if (revocation.successor !== null && !equalBytes(revocation.key, cert.body.subject)) {
    throw new PermissionError(`only the holder of ${cert.body.namespace} retires its certificate for a successor`, { namespace: cert.body.namespace })
  }
  if (!verifySignature('revocation', revocation.bodyBytes, revocation.sig, revocation.key)) {
    throw new BadSignatureError(`revocation of ${cert.body.namespace} has a bad signature`, { namespace: cert.body.namespace })
  }
}

/**
 * Which of two valid revocations of one certificate a node keeps (one per certificate): the
 * issuer's, then the holder's own that stops every use of it, then the holder's retirement for a
 * successor (which leaves the rotated chain standing, revocationOfLink), each before the one in
 * force earliest. Kept over a later revocation that stops more, a retirement would hide it: a
 * thief of the old key could otherwise keep its forged children alive with an early retirement.
 */
export function keepsRevocation (candidate: Revocation, kept: Revocation, cert: Certificate): boolean {
  // the issuer's, then the holder's that stops every use, then its retirement for a successor
  const rank = (r: Revocation): number => !equalBytes(r.key, cert.body.subject) ? 0 : r.successor === null ? 1 : 2
  if (rank(candidate) !== rank(kept)) return rank(candidate) < rank(kept)
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
 * The revocation in force at `now` that stops link `i` of a chain (anchor side first), if any
 * (SPEC 4.3 step 7). A holder that rotates to its pre-committed key retires the old certificate
 * with its own key, naming the rotation link as `successor` (SPEC 4.4): that stops every chain
 * ending in the old certificate (the old key signs nothing more) but neither the chain through the
 * rotation link nor delegations the old key made before the retirement. A holder's own revocation
 * without successor spares only a rotation link that follows the certificate; the issuer's
 * revocation stops the link whatever follows it.
 */
export function revocationOfLink (certs: readonly Certificate[], i: number, revocations: RevocationSet, now: number): Revocation | undefined {
  const cert = certs[i]
  if (cert === undefined || revocations.size === 0) return undefined
  const revocation = revocations.revoked(cert.hash, now)
  if (revocation === undefined) return undefined
  const next = certs[i + 1]
  if (next === undefined || !equalBytes(revocation.key, cert.body.subject)) return revocation
  if (next.body.kind === 'rotation') {
    const follows = next.body.prev !== null && equalBytes(next.body.prev, cert.hash)
    const named = revocation.successor === null || equalBytes(revocation.successor, next.hash)
    return follows && named ? undefined : revocation
  }
  // a retirement for a successor leaves standing what the old key certified before it: the
  // children of a country that rotated keep their chains (one certified after it is refused)
  return revocation.successor !== null && next.body.notBefore < revocation.revokedAt ? undefined : revocation
}

export function certificateHash (certBytes: Uint8Array): Uint8Array {
  return sha256(certBytes)
}
