import { DistrustedAuthorityError, EquivocationError, RevokedError } from '../errors.ts'
import { toHex } from '../crypto/hash.ts'
import type { TrustAnchor } from '../trust/anchors.ts'
import { ChainVerifier, DEFAULT_CHAIN_CACHE_SIZE } from '../trust/chain.ts'
import { RevocationSet, revocationOfLink } from '../trust/revocation.ts'
import { codeFromRecordKey } from './dht-key.ts'
import { compareHeadRecords, dhtKeyKind, logFromHeadKey, verifyHeadRecord } from './head-record.ts'
import type { HeadRecord, VerifiedHeadRecord } from './head-record.ts'
import { decodeRecord } from './record.ts'
import type { SignedRecord } from './record.ts'
import { findEquivocation } from './equivocation.ts'
import type { EquivocationEvidence } from './equivocation.ts'
import { compareRecords } from './select.ts'
import { verifyRecord } from './verify.ts'
import type { VerifiedRecord } from './verify.ts'

/** Equivocations kept (the oldest is forgotten first); the counter keeps counting past it. */
export const MAX_EQUIVOCATIONS_KEPT = 1024

/**
 * The one truth about record validity for a node: its anchors, the revocations it honours and its
 * clock. The DHT validator and selector, the gossip validator, the resolver and the gateway all call
 * this object, so they can never disagree.
 */
export class RecordValidator {
  readonly chains: ChainVerifier
  readonly revocations: RevocationSet
  readonly now: () => number
  /** Keys of authorities proven to fork (hex -> why), honoured until an operator clears them. */
  private readonly distrustedKeys = new Map<string, { log?: string, reason?: string }>()
  /** Equivocation evidence met so far, by `code seq` (SPEC "Equivocation"). */
  private readonly equivocationsByVersion = new Map<string, EquivocationEvidence>()
  private readonly equivocationListeners = new Set<(evidence: EquivocationEvidence) => void>()
  /** Distinct equivocations met since start (for metrics; not bounded by MAX_EQUIVOCATIONS_KEPT). */
  equivocationCount = 0

  constructor (anchors: readonly TrustAnchor[], options: { now?: () => number, revocations?: RevocationSet, cacheSize?: number } = {}) {
    this.chains = new ChainVerifier(anchors, options.cacheSize ?? DEFAULT_CHAIN_CACHE_SIZE)
    this.revocations = options.revocations ?? new RevocationSet()
    this.now = options.now ?? Date.now
  }

  /** Verifies record bytes (optionally found under `expectedCode`); throws the typed error. */
  validate (bytes: Uint8Array | SignedRecord, expectedCode?: string): VerifiedRecord {
    const verified = verifyRecord(bytes, this.chains, { now: this.now(), expectedCode, revocations: this.revocations })
    if (this.distrustedKeys.size > 0) this.checkTrusted(verified)
    return verified
  }

  /** Verifies a signed tree head record (optionally found under the head key of `expectedLog`). */
  validateHead (bytes: Uint8Array | HeadRecord, expectedLog?: string): VerifiedHeadRecord {
    return verifyHeadRecord(bytes, this.chains, { now: this.now(), expectedLog, revocations: this.revocations })
  }

  /** For kad-dht: validates a value under its DHT key (`/citycode/r/<code>` records, `/citycode/h/<log>` tree heads). */
  validateDhtRecord (key: Uint8Array, value: Uint8Array): void {
    if (dhtKeyKind(key) === 'h') {
      this.validateHead(value, logFromHeadKey(key))
      return
    }
    this.validate(value, codeFromRecordKey(key))
  }

  /**
   * Refuses records signed under a chain containing `key` (DistrustedAuthorityError), e.g. after
   * verified fork evidence against that authority's ledger, until `trust(key)`.
   */
  distrust (key: Uint8Array, info: { log?: string, reason?: string } = {}): void {
    this.distrustedKeys.set(toHex(key), info)
  }

  /** The operator's decision: the key is trusted again. Returns whether it was distrusted. */
  trust (key: Uint8Array): boolean {
    return this.distrustedKeys.delete(toHex(key))
  }

  isDistrusted (key: Uint8Array): boolean {
    return this.distrustedKeys.has(toHex(key))
  }

  /** The distrusted keys (hex) with what the caller recorded about them. */
  distrusted (): Array<{ key: string, log?: string, reason?: string }> {
    return [...this.distrustedKeys].map(([key, info]) => ({ key, ...info }))
  }

  /** Throws DistrustedAuthorityError when the record's key or any key of its chain is distrusted. */
  checkTrusted (verified: VerifiedRecord): void {
    if (this.distrustedKeys.size === 0) return
    const keys: Uint8Array[] = [verified.record.body.key]
    for (const cert of verified.chain.certificates) {
      keys.push(cert.body.subject)
      for (const s of cert.sigs) keys.push(s.key)
    }
    for (const key of keys) {
      const hex = toHex(key)
      const info = this.distrustedKeys.get(hex)
      if (info !== undefined) {
        throw new DistrustedAuthorityError(`record for ${verified.record.body.code} is signed under a chain containing the distrusted key of ${info.log ?? hex.slice(0, 16)}`, { code: verified.record.body.code, key: hex, log: info.log, reason: info.reason })
      }
    }
  }

  /**
   * Throws RevokedError when a certificate of the record's chain is revoked now: a record verified
   * earlier (a cached answer) may predate a revocation learnt since.
   */
  checkNotRevoked (verified: VerifiedRecord): void {
    if (this.revocations.size === 0) return
    const now = this.now()
    const certs = verified.chain.certificates
    certs.forEach((cert, link) => {
      const revocation = revocationOfLink(certs, link, this.revocations, now)
      if (revocation !== undefined) {
        throw new RevokedError(`certificate for ${cert.body.namespace} (link ${link}) was revoked: ${revocation.reason}`, { namespace: cert.body.namespace, link })
      }
    })
  }

  /**
   * For kad-dht: index of the value to keep. Invalid values never win over a valid one (a lying peer
   * cannot displace the real record with garbage).
   */
  selectDhtRecord (key: Uint8Array, values: readonly Uint8Array[]): number {
    if (dhtKeyKind(key) === 'h') return this.selectHead(logFromHeadKey(key), values)
    const code = codeFromRecordKey(key)
    const valid: Array<{ i: number, record: SignedRecord }> = []
    values.forEach((value, i) => {
      try {
        valid.push({ i, record: this.validate(value, code).record })
      } catch {}
    })
    if (valid.length === 0) return 0
    let best = valid[0] as { i: number, record: SignedRecord }
    // through compare, so two versions of one seq meeting here are noted as evidence too
    for (const v of valid.slice(1)) if (this.compare(v.record, best.record) > 0) best = v
    return best.i
  }

  /** Tree heads: the larger tree, then the later head (compareHeadRecords); invalid values never win. */
  private selectHead (log: string, values: readonly Uint8Array[]): number {
    let best: { i: number, record: HeadRecord } | undefined
    values.forEach((value, i) => {
      try {
        const record = this.validateHead(value, log).record
        if (best === undefined || compareHeadRecords(record, best.record) > 0) best = { i, record }
      } catch {}
    })
    return best?.i ?? 0
  }

  /**
   * > 0 when `a` is preferred over `b` (both already verified). Every door that chooses between two
   * records calls this, so two versions of one seq signed by one key are noted as evidence wherever
   * they meet (DHT selection, the resolver's cache, gossip, pushes): the order it returns still
   * decides for a DHT that must keep one value, but the resolver refuses to hand either out
   * (`checkNotEquivocated`).
   */
  compare (a: SignedRecord, b: SignedRecord): number {
    if (a.body.seq === b.body.seq && a.bytes !== b.bytes) {
      const evidence = findEquivocation(a, b)
      if (evidence !== undefined) this.noteEquivocation(evidence)
    }
    return compareRecords(a, b)
  }

  /** Records evidence (already-verified records); a version already known is not counted again. */
  noteEquivocation (evidence: EquivocationEvidence): void {
    const id = `${evidence.code} ${evidence.seq}`
    if (this.equivocationsByVersion.has(id)) return
    if (this.equivocationsByVersion.size >= MAX_EQUIVOCATIONS_KEPT) {
      const oldest = this.equivocationsByVersion.keys().next().value
      if (oldest !== undefined) this.equivocationsByVersion.delete(oldest)
    }
    this.equivocationsByVersion.set(id, evidence)
    this.equivocationCount++
    for (const listener of this.equivocationListeners) listener(evidence)
  }

  /** Called once per new equivocation met; returns the function that stops it. */
  onEquivocation (listener: (evidence: EquivocationEvidence) => void): () => void {
    this.equivocationListeners.add(listener)
    return () => { this.equivocationListeners.delete(listener) }
  }

  /** The evidence against this version of a code, if two versions of its seq have met here. */
  equivocationOf (record: SignedRecord): EquivocationEvidence | undefined {
    const evidence = this.equivocationsByVersion.get(`${record.body.code} ${record.body.seq}`)
    return evidence !== undefined && toHex(evidence.key) === toHex(record.body.key) ? evidence : undefined
  }

  /** The evidence kept, oldest first. */
  equivocations (): EquivocationEvidence[] {
    return [...this.equivocationsByVersion.values()]
  }

  /** Throws EquivocationError when the record's seq is known to be equivocated: no rule may pick one version silently. */
  checkNotEquivocated (record: SignedRecord): void {
    const evidence = this.equivocationOf(record)
    if (evidence === undefined) return
    throw new EquivocationError(`the key of ${record.body.code} signed two different versions of seq ${record.body.seq}: neither is chosen until a later seq supersedes them`, { code: record.body.code, seq: record.body.seq, key: toHex(evidence.key) }, evidence.bytes)
  }

  decode (bytes: Uint8Array): SignedRecord {
    return decodeRecord(bytes)
  }
}
