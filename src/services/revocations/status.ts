import type { ComponentLogger, Logger } from '@libp2p/interface'
import { parent, parseCode } from '../../core/code/grammar.ts'
import { toHex } from '../../core/crypto/hash.ts'
import type { Signer } from '../../core/crypto/signature.ts'
import type { RecordValidator } from '../../core/record/validator.ts'
import { decodeCertificate } from '../../core/trust/certificate.ts'
import { decodeRevocationStatus, isVouched, REVOCATION_STATUS_MAX_ENTRIES, signRevocationStatus, statusSignatureValid } from '../../core/trust/revocation-status.ts'
import type { VerifiedChain } from '../../core/trust/chain.ts'
import type { RevocationStatus } from '../../core/trust/revocation-status.ts'

/** An authority signs a new statement of its own when the last one is older than this. */
export const DEFAULT_STATUS_SIGN_INTERVAL_MS = 1_000
/** A node refreshes the statements of the issuers above it (from its parent) when they are older than this, on demand. */
export const DEFAULT_STATUS_REFRESH_MS = 10_000
/** Statements kept (newest per issuer namespace and key). */
export const MAX_HELD_STATUSES = 4096
/** A stapled answer carries statements adding up to at most this. */
export const MAX_STAPLED_STATUS_BYTES = 32 * 1024

export interface StatusKeeperInit {
  /** @default DEFAULT_STATUS_SIGN_INTERVAL_MS */
  signIntervalMs?: number
  /** @default DEFAULT_STATUS_REFRESH_MS */
  refreshMs?: number
}

export interface StatusKeeperComponents {
  validator: RecordValidator
  /** This node's namespace and authority key, once it holds a code; undefined for a resolver. */
  authority: () => { namespace: string, signer: Signer, chain: readonly Uint8Array[], /** keys it rotated away from: they issued certificates still in use */ former?: readonly Signer[] } | undefined
  /** Asks this node's parent for its statements (own first, then those above it). */
  fromParent: (signal: AbortSignal) => Promise<Uint8Array[]>
  now: () => number
  logger: ComponentLogger
}

/**
 * The revocation status statements (SPEC 4.6) a node signs and holds. An authority signs its own
 * on demand, at most once per `signIntervalMs`, listing the revocations in force of certificates for
 * its direct children. Statements of other issuers are kept when their signature verifies (whether
 * the key is the right issuer's is checked where one is used, against the chain it vouches for),
 * newest per issuer and key, so an answer can carry (staple) the statements its record's chain needs.
 */
export class RevocationStatusKeeper {
  private readonly c: StatusKeeperComponents
  private readonly signIntervalMs: number
  private readonly refreshMs: number
  private readonly log: Logger
  private own: RevocationStatus | undefined
  private ownFormer: RevocationStatus[] = []
  private readonly held = new Map<string, RevocationStatus>()
  private refreshing: Promise<void> | undefined
  private refreshedAt = Number.NEGATIVE_INFINITY

  constructor (init: StatusKeeperInit, components: StatusKeeperComponents) {
    this.c = components
    this.signIntervalMs = init.signIntervalMs ?? DEFAULT_STATUS_SIGN_INTERVAL_MS
    this.refreshMs = init.refreshMs ?? DEFAULT_STATUS_REFRESH_MS
    this.log = components.logger.forComponent('citycode:revocation-status')
  }

  /** This authority's own statement, signed afresh when the last is older than the sign interval. */
  ownStatus (): RevocationStatus | undefined {
    const authority = this.c.authority()
    if (authority === undefined) return undefined
    const now = this.c.now()
    if (this.own !== undefined && this.own.namespace === authority.namespace && now - this.own.issuedAt < this.signIntervalMs) return this.own
    const depth = parseCode(authority.namespace).segments.length
    const revoked: Uint8Array[] = []
    for (const r of this.c.validator.revocations.values()) {
      // a retirement for a successor stops only its holder's own signing, which a statement about
      // the certificate cannot express: listing it would refuse the rotated chain and the children
      if (r.revokedAt > now || r.successor !== null) continue
      const ns = parseCode(r.namespace)
      if (ns.segments.length === depth + 1 && parent(ns)?.text === authority.namespace) revoked.push(r.target)
    }
    if (revoked.length > REVOCATION_STATUS_MAX_ENTRIES) {
      // fail closed: resolvers that require a status then refuse, rather than trust an incomplete list
      this.log.error('%d revocations in force under %s, more than a statement lists: no statement signed', revoked.length, authority.namespace)
      return undefined
    }
    this.own = signRevocationStatus({ namespace: authority.namespace, issuedAt: now, revoked }, authority.signer)
    // the certificates a key it rotated away from issued name that key as their issuer's (SPEC
    // 4.6): the same list, signed by it too, so a resolver requiring status still takes them
    this.ownFormer = (authority.former ?? []).map(key => signRevocationStatus({ namespace: authority.namespace, issuedAt: now, revoked }, key))
    return this.own
  }

  /** This authority's own statements: by its key, then by the keys it rotated away from. */
  private ownStatuses (): RevocationStatus[] {
    const own = this.ownStatus()
    return own === undefined ? [] : [own, ...this.ownFormer]
  }

  /** A revocation was honoured: the next statement is signed afresh, not up to a sign interval late. */
  invalidate (): void {
    this.own = undefined
  }

  /**
   * Keeps the statements whose issuer `vouch` (chains this node verified) names with that key and
   * whose signature verifies; returns how many were newer than those held.
   */
  offer (statements: readonly Uint8Array[], vouch: readonly VerifiedChain[]): number {
    let taken = 0
    for (const bytes of statements) {
      let s: RevocationStatus
      try {
        s = decodeRevocationStatus(bytes)
      } catch {
        continue
      }
      const id = `${s.namespace}/${toHex(s.key)}`
      const existing = this.held.get(id)
      if (existing !== undefined && existing.issuedAt >= s.issuedAt) continue
      if (s.issuedAt > this.c.now() + 60_000) continue
      if (!isVouched(s, vouch) || !statusSignatureValid(s)) continue
      if (existing === undefined && this.held.size >= MAX_HELD_STATUSES) this.held.delete(this.held.keys().next().value as string)
      this.held.delete(id)
      this.held.set(id, s)
      taken++
    }
    return taken
  }

  /** Every statement held (and this authority's own) of the issuers `namespaces`. */
  forIssuers (namespaces: readonly string[]): RevocationStatus[] {
    const out: RevocationStatus[] = []
    const own = this.c.authority()
    for (const ns of new Set(namespaces)) {
      if (own !== undefined && own.namespace === ns) out.push(...this.ownStatuses())
      for (const s of this.held.values()) if (s.namespace === ns) out.push(s)
    }
    return out
  }

  /**
   * What an answer staples: the statements of `issuers` (of the links of its record's chain, e.g.
   * from `issuerOf`), newest first, within MAX_STAPLED_STATUS_BYTES. Starts a refresh from the
   * parent in the background when the statements of this node's own chain have aged.
   */
  staple (issuers: readonly string[]): Uint8Array[] {
    this.refreshSoon()
    const statements = this.forIssuers(issuers).sort((a, b) => b.issuedAt - a.issuedAt)
    const out: Uint8Array[] = []
    let bytes = 0
    const seen = new Set<string>()
    for (const s of statements) {
      // the newest of each issuer and key only
      const id = `${s.namespace}/${toHex(s.key)}`
      if (seen.has(id) || bytes + s.bytes.byteLength > MAX_STAPLED_STATUS_BYTES) continue
      seen.add(id)
      out.push(s.bytes)
      bytes += s.bytes.byteLength
    }
    return out
  }

  /** The answer to a status request: this authority's own statement, then those of the issuers above it. */
  answer (): Uint8Array[] | undefined {
    const authority = this.c.authority()
    const own = this.ownStatus()
    if (authority === undefined || own === undefined) return undefined
    this.refreshSoon()
    const mine = this.ownStatuses().map(s => s.bytes)
    return [...mine, ...this.staple(issuerNamespaces(authority.chain)).filter(b => !mine.includes(b))]
  }

  /** This authority's own chain, verified: it vouches for the issuers above this node. */
  private ownChain (authority: { chain: readonly Uint8Array[], signer: Signer }): VerifiedChain[] {
    try {
      return [this.c.validator.chains.verify(authority.chain, authority.signer.publicKey, { now: this.c.now() })]
    } catch (err) {
      this.log.error('own chain does not verify: %s', (err as Error).message)
      return []
    }
  }

  /** Refreshes the statements above this node from its parent, once per refresh period at most, in the background. */
  refreshSoon (): void {
    const authority = this.c.authority()
    if (authority === undefined || authority.chain.length === 0 || this.refreshing !== undefined) return
    if (this.c.now() - this.refreshedAt < this.refreshMs / 2) return
    this.refreshedAt = this.c.now()
    this.refreshing = this.c.fromParent(AbortSignal.timeout(this.refreshMs))
      .then((statements) => { this.offer(statements, this.ownChain(authority)) })
      .catch((err: Error) => { this.log('could not refresh revocation statuses from the parent: %s', err.message) })
      .finally(() => { this.refreshing = undefined })
  }
}

/** The namespaces of the issuers of each link of `chain` (anchor side first): the parent of the first link, then each link's predecessor. */
export function issuerNamespaces (chain: readonly Uint8Array[]): string[] {
  const out: string[] = []
  chain.forEach((bytes, i) => {
    try {
      const ns = parseCode(decodeCertificate(bytes).body.namespace)
      if (i === 0) {
        // an anchor may hold any namespace above the first link
        for (let p = parent(ns); p !== undefined; p = parent(p)) out.push(p.text)
      } else {
        out.push(decodeCertificate(chain[i - 1] as Uint8Array).body.namespace)
      }
    } catch {}
  })
  return out
}
