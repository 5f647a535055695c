import type { TrustAnchor } from '../trust/anchors.ts'
import { ChainVerifier, DEFAULT_CHAIN_CACHE_SIZE } from '../trust/chain.ts'
import { RevocationSet } from '../trust/revocation.ts'
import { codeFromRecordKey } from './dht-key.ts'
import { decodeRecord } from './record.ts'
import type { SignedRecord } from './record.ts'
import { compareRecords, selectRecord } from './select.ts'
import { verifyRecord } from './verify.ts'
import type { VerifiedRecord } from './verify.ts'

/**
 * The one truth about record validity for a node: its anchors, the revocations it honours and its
 * clock. The DHT validator and selector, the gossip validator, the resolver and the gateway all call
 * this object, so they can never disagree.
 */
export class RecordValidator {
  readonly chains: ChainVerifier
  readonly revocations: RevocationSet
  readonly now: () => number

  constructor (anchors: readonly TrustAnchor[], options: { now?: () => number, revocations?: RevocationSet, cacheSize?: number } = {}) {
    this.chains = new ChainVerifier(anchors, options.cacheSize ?? DEFAULT_CHAIN_CACHE_SIZE)
    this.revocations = options.revocations ?? new RevocationSet()
    this.now = options.now ?? Date.now
  }

  /** Verifies record bytes (optionally found under `expectedCode`); throws the typed error. */
  validate (bytes: Uint8Array | SignedRecord, expectedCode?: string): VerifiedRecord {
    return verifyRecord(bytes, this.chains, { now: this.now(), expectedCode, revocations: this.revocations })
  }

  /** For kad-dht: validates a value under its DHT key. */
  validateDhtRecord (key: Uint8Array, value: Uint8Array): void {
    this.validate(value, codeFromRecordKey(key))
  }

  /**
   * For kad-dht: index of the value to keep. Invalid values never win over a valid one (a lying peer
   * cannot displace the real record with garbage).
   */
  selectDhtRecord (key: Uint8Array, values: readonly Uint8Array[]): number {
    const code = codeFromRecordKey(key)
    const valid: Array<{ i: number, record: SignedRecord }> = []
    values.forEach((value, i) => {
      try {
        valid.push({ i, record: this.validate(value, code).record })
      } catch {}
    })
    if (valid.length === 0) return 0
    return (valid[selectRecord(valid.map(v => v.record))] as { i: number }).i
  }

  /** > 0 when `a` is preferred over `b` (both already verified). */
  compare (a: SignedRecord, b: SignedRecord): number {
    return compareRecords(a, b)
  }

  decode (bytes: Uint8Array): SignedRecord {
    return decodeRecord(bytes)
  }
}
