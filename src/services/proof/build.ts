import type { AbortOptions } from '@libp2p/interface'
import { equalBytes } from '../../core/crypto/hash.ts'
import type { Signer } from '../../core/crypto/signature.ts'
import { PermissionError } from '../../core/errors.ts'
import { createBundle, verifyBundle } from '../../core/proof/bundle.ts'
import type { BundleFields, VerifiedBundle } from '../../core/proof/bundle.ts'
import { bundleToText } from '../../core/proof/text.ts'
import type { RecordValidator } from '../../core/record/validator.ts'
import type { Ledger } from '../ledger/index.ts'
import type { Resolution, ResolveOptions } from '../resolver/index.ts'
import { decodeRecordInclusion } from '../../core/record/record-inclusion.ts'

/** What building a bundle needs from a node (CitycodeNode has all of it). */
export interface ProofSource {
  resolve(code: string, options?: ResolveOptions): Promise<Resolution>
  /** The key that signs the bundle: the holder's, or an authority's above it in the chain. */
  readonly authorityKey: Signer | undefined
  readonly ledger: Ledger | undefined
  readonly validator: RecordValidator
}

export interface BuildBundleOptions extends AbortOptions {
  /** Add the ledger inclusion proof and cosignatures when this node keeps the record's log. @default true */
  ledger?: boolean
  /** Skip the resolver's cache. @default false */
  fresh?: boolean
}

export interface BuiltBundle {
  /** Bundle bytes (canonical DAG-CBOR): `GET /v1/codes/{code}/proof` serves these. */
  readonly bytes: Uint8Array
  /** The text form (`CC1:...`) to put in a QR code. */
  readonly text: string
  /** The bundle as any offline verifier will see it (this node verified it before returning it). */
  readonly verified: VerifiedBundle
}

/**
 * Builds a proof bundle for `code`: resolves and verifies its record, adds the ledger inclusion
 * proof from the log the record is in (this node's own log, or the node of that log, asked over
 * the ledger protocol's prove-record), signs it with this
 * node's authority key, and verifies the result with this node's anchors and revocations, so a
 * bundle that would not verify offline is never handed out. Throws PermissionError when this
 * node's key is not the holder's or an authority's of the record's chain (only those can vouch for it).
 */
export async function buildBundle (node: ProofSource, code: string, options: BuildBundleOptions = {}): Promise<BuiltBundle> {
  const signer = node.authorityKey
  if (signer === undefined) throw new PermissionError('this node has no authority key: a bundle is signed by the holder or an authority above it', { code })
  const { verified } = await node.resolve(code, { signal: options.signal, fresh: options.fresh })
  const record = verified.record
  const inChain = equalBytes(record.body.key, signer.publicKey) || verified.chain.certificates.some(c => equalBytes(c.body.subject, signer.publicKey)) ||
    verified.chain.anchor.keys.some(k => equalBytes(k, signer.publicKey))
  if (!inChain) throw new PermissionError(`this node's key is not in the chain of ${record.body.code}: only its holder or an authority above it can sign its bundle`, { code: record.body.code })

  let ledger: BundleFields['ledger'] = null
  if (options.ledger !== false && node.ledger !== undefined) {
    // this node's own log, else the node of the record's log over the ledger protocol; a proof that
    // cannot be had (or does not verify) only costs the bundle its optional ledger part
    try {
      const proven = await node.ledger.recordInclusion(verified, { signal: options.signal })
      ledger = { head: proven.head.sth.bytes, index: proven.index, path: decodeRecordInclusion(proven.inclusion).proof, cosignatures: proven.head.cosignatures }
    } catch {}
  }
  const now = node.validator.now()
  const bundle = createBundle({ record: record.bytes, madeAt: now, ledger }, signer)
  const checked = verifyBundle(bundle, node.validator.chains, { now, revocations: node.validator.revocations })
  return { bytes: bundle.bytes, text: bundleToText(bundle.bytes), verified: checked }
}
