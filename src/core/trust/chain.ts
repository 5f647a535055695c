import { checkAllocationRule } from '../allocation/rule.ts'
import { inNamespace } from '../code/grammar.ts'
import { equalBytes, sha256 } from '../crypto/hash.ts'
import { verifySignature } from '../crypto/signature.ts'
import {
  BadSignatureError, BrokenChainError, ExpiredError, NamespaceViolationError, NotYetValidError,
  PermissionError, RevokedError, UnknownAnchorError
} from '../errors.ts'
import { checkAnchors } from './anchors.ts'
import type { TrustAnchor } from './anchors.ts'
import { decodeCertificate } from './certificate.ts'
import type { Certificate, CertificateBody } from './certificate.ts'
import { revocationOfLink } from './revocation.ts'
import type { RevocationSet } from './revocation.ts'

export const MAX_CHAIN_LENGTH = 8
export const DEFAULT_CHAIN_CACHE_SIZE = 10_000

/** What a verified chain proves: `leaf` holds `namespace` with `perms`, down from `anchor`. */
export interface VerifiedChain {
  readonly anchor: TrustAnchor
  readonly certificates: readonly Certificate[]
  /** Namespace and key the chain ends in; for an empty chain, the anchor itself. */
  readonly namespace: string
  readonly subject: Uint8Array
  readonly perms: readonly string[]
  /** The earliest notAfter along the chain (a record can be trusted no longer than this). */
  readonly notAfter: number
}

export interface ChainVerifyOptions {
  now: number
  revocations?: RevocationSet
}

/**
 * A certificate whose signatures were already checked under a given parent. The signature check is
 * the expensive part of a chain; everything else (time, revocation, namespace) is rechecked on each
 * use, so a cached link can never outlive its validity or a revocation.
 */
interface CachedLink {
  readonly cert: Certificate
  /** The link it was verified under (undefined for a first link, verified against the anchors). */
  readonly parent: Certificate | undefined
  readonly anchor: TrustAnchor | undefined
}

/**
 * Verifies delegation chains against a fixed set of anchors, remembering links it has verified
 * (bounded LRU by certificate hash). Pure: no I/O, time comes in as `now`.
 */
export class ChainVerifier {
  readonly anchors: readonly TrustAnchor[]
  private readonly cache = new Map<number, CachedLink>()
  private readonly cacheSize: number

  constructor (anchors: readonly TrustAnchor[], cacheSize = DEFAULT_CHAIN_CACHE_SIZE) {
    checkAnchors(anchors)
    this.anchors = anchors
    this.cacheSize = cacheSize
  }

  /**
   * Verifies `chain` (certificate bytes, anchor side first). With an empty chain, `signerKey` must
   * itself be a single-key anchor: the root signing its own records.
   */
  verify (chain: readonly Uint8Array[], signerKey: Uint8Array, options: ChainVerifyOptions): VerifiedChain {
    if (chain.length > MAX_CHAIN_LENGTH) throw new BrokenChainError(`chain has ${chain.length} links, at most ${MAX_CHAIN_LENGTH} are allowed`, { length: chain.length })
    if (chain.length === 0) return this.anchorAsSigner(signerKey)

    const certs: Certificate[] = []
    let anchor: TrustAnchor | undefined
    let parent: Certificate | undefined
    let notAfter = Number.MAX_SAFE_INTEGER
    for (let i = 0; i < chain.length; i++) {
      const bytes = chain[i] as Uint8Array
      // A hit is confirmed by comparing all bytes of the link and of its parent, so a key collision
      // costs a cache miss, never trust.
      const id = cacheKey(bytes)
      const cached = this.cache.get(id)
      let cert: Certificate
      if (cached !== undefined && equalBytes(cached.cert.bytes, bytes) && sameParent(cached.parent, parent)) {
        cert = cached.cert
        if (parent === undefined) anchor = cached.anchor
        // refresh LRU position
        this.cache.delete(id)
        this.cache.set(id, cached)
      } else {
        cert = decodeCertificate(bytes)
        checkAllocationRule(cert.body.namespace)
        if (parent === undefined) anchor = this.checkAnchorLink(cert)
        else this.checkLink(parent, cert, i)
        this.remember(id, { cert, parent, anchor: parent === undefined ? anchor : undefined })
      }
      checkValidity(cert.body, i, options)
      notAfter = Math.min(notAfter, cert.body.notAfter)
      certs.push(cert)
      parent = cert
    }
    // after the whole chain is read: whether a revocation stops a link depends on the link after it
    const revocations = options.revocations
    if (revocations !== undefined && revocations.size > 0) {
      for (let i = 0; i < certs.length; i++) {
        const revocation = revocationOfLink(certs, i, revocations, options.now)
        if (revocation === undefined) continue
        const ns = (certs[i] as Certificate).body.namespace
        throw new RevokedError(`certificate for ${ns} (link ${i}) was revoked: ${revocation.reason}`, { namespace: ns, link: i })
      }
    }
    const leaf = (parent as Certificate).body
    return { anchor: anchor as TrustAnchor, certificates: certs, namespace: leaf.namespace, subject: leaf.subject, perms: leaf.perms, notAfter }
  }

  private anchorAsSigner (signerKey: Uint8Array): VerifiedChain {
    const anchor = this.anchors.find(a => a.threshold === 1 && a.keys.some(k => equalBytes(k, signerKey)))
    if (anchor === undefined) throw new UnknownAnchorError('record has no delegation chain and its key is not a trust anchor', {})
    return { anchor, certificates: [], namespace: anchor.namespace, subject: signerKey, perms: ['sign', 'delegate'], notAfter: Number.MAX_SAFE_INTEGER }
  }

  /** The first link must carry `threshold` valid signatures by distinct keys of an anchor over its namespace. */
  private checkAnchorLink (cert: Certificate): TrustAnchor {
    if (cert.body.kind !== 'delegation') throw new BrokenChainError('the first link of a chain must be a delegation', { link: 0 })
    const candidates = this.anchors.filter(a => inNamespace(a.namespace, cert.body.namespace) && a.namespace !== cert.body.namespace)
    if (candidates.length === 0) throw new UnknownAnchorError(`no trust anchor covers ${cert.body.namespace}`, { namespace: cert.body.namespace })
    let badSignature = false
    for (const anchor of candidates) {
      // Distinct keys with a valid signature (at most 16 signatures: a list beats hex strings in a set).
      const counted: Uint8Array[] = []
      for (const s of cert.sigs) {
        if (!anchor.keys.some(k => equalBytes(k, s.key))) continue
        if (counted.some(k => equalBytes(k, s.key))) continue
        if (verifySignature('cert', cert.bodyBytes, s.sig, s.key)) counted.push(s.key)
        else badSignature = true
      }
      if (counted.length >= anchor.threshold) return anchor
      if (!badSignature && counted.length > 0) {
        throw new UnknownAnchorError(`${cert.body.namespace} carries ${counted.length} of the ${anchor.threshold} anchor signatures ${anchor.name} requires`, { namespace: cert.body.namespace, signatures: counted.length, threshold: anchor.threshold })
      }
    }
    if (badSignature) throw new BadSignatureError(`anchor signature on ${cert.body.namespace} does not verify`, { namespace: cert.body.namespace, link: 0 })
    throw new UnknownAnchorError(`${cert.body.namespace} is not signed by a configured trust anchor`, { namespace: cert.body.namespace })
  }

  private checkLink (parent: Certificate, cert: Certificate, i: number): void {
    const body = cert.body
    const ns = body.namespace
    if (body.kind === 'rotation') {
      if (ns !== parent.body.namespace) throw new NamespaceViolationError(`rotation at link ${i} changes namespace ${parent.body.namespace} to ${ns}`, { namespace: ns, link: i })
      if (body.prev === null || !equalBytes(body.prev, parent.hash)) throw new BrokenChainError(`rotation at link ${i} does not follow the previous certificate`, { link: i })
      if (parent.body.next === null || !equalBytes(parent.body.next, sha256(body.subject))) {
        throw new BrokenChainError(`rotation at link ${i}: the new key is not the one committed to by the previous certificate`, { link: i })
      }
      if (body.perms.some(p => !parent.body.perms.includes(p))) throw new PermissionError(`rotation at link ${i} widens permissions`, { link: i })
      if (body.serial <= parent.body.serial) throw new BrokenChainError(`rotation at link ${i} must raise the serial`, { link: i })
      // the new key proves possession; the commitment above is the old key's consent, made in
      // advance. The old key's own signature (citycode rotate adds it) must verify when present.
      const unsigned = !cert.sigs.some(x => equalBytes(x.key, body.subject))
      if (unsigned) throw new BrokenChainError(`rotation at link ${i} (${ns}) is not signed by its new subject`, { link: i, reason: 'rotation-not-signed-by-subject' })
      this.requireSignature(cert, body.subject, i)
      const byOldKey = cert.sigs.find(x => equalBytes(x.key, parent.body.subject))
      if (byOldKey !== undefined && !verifySignature('cert', cert.bodyBytes, byOldKey.sig, byOldKey.key)) {
        throw new BadSignatureError(`the previous key's signature on rotation link ${i} (${ns}) does not verify`, { namespace: ns, link: i })
      }
      return
    }
    if (!parent.body.perms.includes('delegate')) throw new PermissionError(`link ${i - 1} (${parent.body.namespace}) may not delegate`, { namespace: parent.body.namespace, link: i - 1 })
    if (ns === parent.body.namespace || !inNamespace(parent.body.namespace, ns)) {
      throw new NamespaceViolationError(`link ${i} claims ${ns}, outside the namespace ${parent.body.namespace} its issuer holds`, { namespace: ns, issuer: parent.body.namespace, link: i })
    }
    this.requireSignature(cert, parent.body.subject, i)
  }

  private requireSignature (cert: Certificate, key: Uint8Array, i: number): void {
    const s = cert.sigs.find(x => equalBytes(x.key, key))
    if (s === undefined) throw new BrokenChainError(`link ${i} (${cert.body.namespace}) is not signed by the key its parent certified`, { link: i })
    if (!verifySignature('cert', cert.bodyBytes, s.sig, s.key)) throw new BadSignatureError(`signature on link ${i} (${cert.body.namespace}) does not verify`, { namespace: cert.body.namespace, link: i })
  }

  private remember (id: number, link: CachedLink): void {
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next().value
      if (oldest !== undefined) this.cache.delete(oldest)
    }
    this.cache.set(id, link)
  }
}

function sameParent (a: Certificate | undefined, b: Certificate | undefined): boolean {
  if (a === b) return true
  return a !== undefined && b !== undefined && equalBytes(a.bytes, b.bytes)
}

/**
 * The last bytes of a certificate are (part of) its last Ed25519 signature, which is as good as
 * random: six of them make a number key, cheaper to build and look up than a string.
 */
function cacheKey (bytes: Uint8Array): number {
  const n = bytes.length
  if (n < 6) return -1 - n
  const lo = (bytes[n - 1] as number) | ((bytes[n - 2] as number) << 8) | ((bytes[n - 3] as number) << 16)
  const hi = (bytes[n - 4] as number) | ((bytes[n - 5] as number) << 8) | ((bytes[n - 6] as number) << 16)
  return hi * 0x1000000 + lo
}

function checkValidity (body: CertificateBody, i: number, options: ChainVerifyOptions): void {
  if (options.now < body.notBefore) throw new NotYetValidError(`certificate for ${body.namespace} (link ${i}) is valid from ${new Date(body.notBefore).toISOString()}`, { namespace: body.namespace, link: i })
  if (options.now >= body.notAfter) throw new ExpiredError(`certificate for ${body.namespace} (link ${i}) expired at ${new Date(body.notAfter).toISOString()}`, { namespace: body.namespace, link: i })
}
