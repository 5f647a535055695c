import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import type { CborMap } from '../codec/cbor.ts'
import { equalBytes, sha256, toHex } from '../crypto/hash.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, verifySignature } from '../crypto/signature.ts'
import type { Signer } from '../crypto/signature.ts'
import { BadSignatureError, ExpiredError, MalformedRecordError, NotYetValidError, PermissionError, RevokedError } from '../errors.ts'
import { InvalidProofError } from '../ledger/errors.ts'
import { entryLeafHash } from '../ledger/log.ts'
import { HASH_BYTES } from '../ledger/merkle.ts'
import { MAX_PROOF_HASHES, verifyInclusion } from '../ledger/proofs.ts'
import { decodeCosignature, decodeSignedTreeHead, encodeCosignature, verifyCosignature, verifyCosignatures, verifyTreeHead } from '../ledger/tree-head.ts'
import type { Cosignature, SignedTreeHead, WitnessPolicy } from '../ledger/tree-head.ts'
import { MAX_COSIGNATURES } from '../record/head-record.ts'
import { decodeRecord, RECORD_MAX_BYTES } from '../record/record.ts'
import type { SignedRecord } from '../record/record.ts'
import { CLOCK_SKEW_MS, verifyRecord } from '../record/verify.ts'
import type { VerifiedRecord } from '../record/verify.ts'
import type { ChainVerifier } from '../trust/chain.ts'
import type { RevocationSet } from '../trust/revocation.ts'
import { revocationOfLink } from '../trust/revocation.ts'

/**
 * A proof bundle (SPEC "Proof bundles"): everything needed to check a code offline against the
 * configured anchors, in one canonical DAG-CBOR object:
 *
 *   BundleBody  = { v: 1, type: "bundle", record: bytes(Record), madeAt: uint, ledger: LedgerPart | null }
 *   LedgerPart  = { head: bytes(SignedTreeHead), index: uint, path: [bytes(32)], cosignatures: [bytes(Cosignature)] }
 *   Bundle      = { body: bytes(BundleBody), key: bytes(32), sig: bytes(64) }     ; domain "bundle", <= 16 KiB
 *
 * The record carries its delegation chain. The envelope's signature, by the holder or an authority
 * of the chain (a key that could revoke a link of it), dates the bundle and states that the chain was
 * not revoked as far as the signer knew at `madeAt`, as an OCSP response stapled to a certificate.
 * The optional ledger part proves the record version is in its signer's log (RFC 9162 inclusion
 * under a signed tree head) and carries the witnesses' cosignatures of that head.
 */
export const BUNDLE_MAX_BYTES = 16 * 1024

export interface LedgerPart {
  readonly head: SignedTreeHead
  /** Leaf index of the record's entry in the log of the record's signer. */
  readonly index: number
  readonly path: readonly Uint8Array[]
  readonly cosignatures: readonly Cosignature[]
}

export interface Bundle {
  readonly record: SignedRecord
  readonly madeAt: number
  readonly ledger: LedgerPart | null
  /** The key that signed the bundle envelope. */
  readonly key: Uint8Array
  readonly sig: Uint8Array
  readonly bodyBytes: Uint8Array
  readonly bytes: Uint8Array
}

export interface BundleFields {
  readonly record: Uint8Array
  readonly madeAt: number
  readonly ledger?: { head: Uint8Array, index: number, path: readonly Uint8Array[], cosignatures?: readonly Cosignature[] } | null
}

export function encodeBundleBody (fields: BundleFields): Uint8Array {
  let ledger: CborMap | null = null
  if (fields.ledger !== undefined && fields.ledger !== null) {
    ledger = {
      head: fields.ledger.head,
      index: fields.ledger.index,
      path: [...fields.ledger.path],
      cosignatures: (fields.ledger.cosignatures ?? []).slice(0, MAX_COSIGNATURES).map(encodeCosignature)
    }
  }
  return encodeCbor({ v: 1, type: 'bundle', record: fields.record, madeAt: fields.madeAt, ledger })
}

/** Signs a bundle (domain "bundle"); the result is decoded but not verified. */
export function createBundle (fields: BundleFields, signer: Signer): Bundle {
  const bodyBytes = encodeBundleBody(fields)
  return decodeBundle(encodeCbor({ body: bodyBytes, key: signer.publicKey, sig: signer.sign('bundle', bodyBytes) }))
}

/** Strict decoding: canonical DAG-CBOR, exact shapes, size limits. Checks no signature. */
export function decodeBundle (bytes: Uint8Array): Bundle {
  const env = new FieldReader(decodeCanonical(bytes, BUNDLE_MAX_BYTES, 'bundle'), 'bundle', ['body', 'key', 'sig'])
  const bodyBytes = env.bytes('body')
  const key = env.bytes('key', ED25519_PUBLIC_KEY_BYTES)
  const sig = env.bytes('sig', ED25519_SIGNATURE_BYTES)
  const body = new FieldReader(decodeCanonical(bodyBytes, BUNDLE_MAX_BYTES, 'bundle body'), 'bundle body', ['v', 'type', 'record', 'madeAt', 'ledger'])
  body.literal('v', 1)
  body.literal('type', 'bundle')
  const recordBytes = body.bytes('record')
  if (recordBytes.length > RECORD_MAX_BYTES) throw new MalformedRecordError(`bundle body.record is larger than ${RECORD_MAX_BYTES} bytes`, { what: 'bundle body', field: 'record' })
  const madeAt = body.uint('madeAt')
  const rawLedger = body.raw('ledger')
  let ledger: LedgerPart | null = null
  if (rawLedger !== null) {
    const l = new FieldReader(rawLedger, 'bundle ledger', ['head', 'index', 'path', 'cosignatures'])
    ledger = {
      head: decodeSignedTreeHead(l.bytes('head')),
      index: l.uint('index'),
      path: l.bytesArray('path', MAX_PROOF_HASHES).map((h, i) => {
        if (h.length !== HASH_BYTES) throw new MalformedRecordError(`bundle ledger.path[${i}] must be ${HASH_BYTES} bytes`, { what: 'bundle ledger', field: 'path' })
        return h
      }),
      cosignatures: l.bytesArray('cosignatures', MAX_COSIGNATURES).map(decodeCosignature)
    }
  }
  return { record: decodeRecord(recordBytes), madeAt, ledger, key, sig, bodyBytes, bytes }
}

export interface BundleVerifyOptions {
  now: number
  revocations?: RevocationSet
  /** Witnesses the verifier requires on the ledger head; without it, cosignatures are checked but not counted. */
  witnesses?: WitnessPolicy
  /** Refuse a bundle without a ledger part (InvalidProofError, reason "no-ledger"). */
  requireLedger?: boolean
}

/** Who signed the bundle, in terms of the chain it attests. */
export interface BundleSigner {
  readonly key: Uint8Array
  /** `holder`: the record's own key; `authority`: the subject of a chain link above it; `anchor`: an anchor key. */
  readonly role: 'holder' | 'authority' | 'anchor'
  /** The namespace the signer holds (the anchor's for `anchor`). */
  readonly namespace: string
}

export interface VerifiedLedgerPart {
  readonly log: string
  readonly size: number
  readonly index: number
  readonly headTime: number
  /** Witness keys whose cosignature of the head verifies (counted against `witnesses` when given). */
  readonly witnesses: readonly Uint8Array[]
  /** Whether the verifier's witness policy was met (undefined: no policy given). */
  readonly witnessPolicyMet?: boolean
}

export interface VerifiedBundle {
  readonly bundle: Bundle
  readonly verified: VerifiedRecord
  readonly madeAt: number
  readonly signer: BundleSigner
  readonly ledger: VerifiedLedgerPart | null
  /** The checks passed, in order (names as in SPEC "Bundle validation order"). */
  readonly checks: readonly string[]
}

/**
 * Verifies a bundle offline, in the order of SPEC "Bundle validation order"; the first failure is
 * thrown as its typed error (the record errors of SPEC 6, the ledger errors, PermissionError for a
 * signer outside the chain).
 */
export function verifyBundle (input: Uint8Array | Bundle, chains: ChainVerifier, options: BundleVerifyOptions): VerifiedBundle {
  const bundle = input instanceof Uint8Array ? decodeBundle(input) : input
  const checks: string[] = ['decode']
  const { now } = options
  if (bundle.madeAt > now + CLOCK_SKEW_MS) throw new NotYetValidError(`bundle is dated ${new Date(bundle.madeAt).toISOString()}, in the future`, { what: 'bundle', madeAt: bundle.madeAt })
  checks.push('made-at')

  // revocations are checked below, against both dates, so the error can say which side of them the bundle is on
  const verified = verifyRecord(bundle.record, chains, { now })
  const code = bundle.record.body.code
  checkRevocations(verified, bundle.madeAt, now, options.revocations)
  checks.push('record')

  checkValidAt(verified, bundle.madeAt, options.revocations)
  checks.push('valid-when-made')

  const signer = bundleSigner(verified, bundle.key)
  if (!verifySignature('bundle', bundle.bodyBytes, bundle.sig, bundle.key)) {
    throw new BadSignatureError(`bundle signature for ${code} does not verify`, { what: 'bundle', code })
  }
  checks.push('bundle-signature')

  let ledger: VerifiedLedgerPart | null = null
  if (bundle.ledger !== null) {
    ledger = verifyLedgerPart(bundle.ledger, verified, options)
    checks.push('ledger-inclusion')
    if (bundle.ledger.cosignatures.length > 0) checks.push('cosignatures')
    if (ledger.witnessPolicyMet === true) checks.push('witness-policy')
  } else if (options.requireLedger === true) {
    throw new InvalidProofError(`bundle for ${code} carries no ledger proof`, { what: 'bundle', code, reason: 'no-ledger' })
  }
  return { bundle, verified, madeAt: bundle.madeAt, signer, ledger, checks }
}

/**
 * No certificate of the chain is revoked at `now` (SPEC 9.1 step 3). One revoked at or before
 * `madeAt` is refused as such; one revoked later was valid when the bundle was made, and the error
 * says so (`details.revokedSince`): the bundle is still refused, since a revoked key (after a
 * compromise, say) can sign a bundle dated before its revocation.
 */
function checkRevocations (verified: VerifiedRecord, madeAt: number, now: number, revocations: RevocationSet | undefined): void {
  if (revocations === undefined || revocations.size === 0) return
  const certs = verified.chain.certificates
  certs.forEach((cert, link) => {
    const r = revocationOfLink(certs, link, revocations, now)
    if (r === undefined) return
    const ns = cert.body.namespace
    const details = { what: 'bundle', namespace: ns, link, revokedAt: r.revokedAt, madeAt, revokedSince: r.revokedAt > madeAt }
    if (r.revokedAt <= madeAt) throw new RevokedError(`certificate for ${ns} (link ${link}) was revoked ${new Date(r.revokedAt).toISOString()}, before the bundle was made (${new Date(madeAt).toISOString()}): ${r.reason}`, details)
    throw new RevokedError(`certificate for ${ns} (link ${link}) was valid when the bundle was made (${new Date(madeAt).toISOString()}) and revoked since, ${new Date(r.revokedAt).toISOString()}: ${r.reason}`, details)
  })
}

/** The chain and the record were valid, and unrevoked, when the bundle was made. */
function checkValidAt (verified: VerifiedRecord, madeAt: number, revocations: RevocationSet | undefined): void {
  const body = verified.record.body
  if (body.issuedAt > madeAt + CLOCK_SKEW_MS) throw new NotYetValidError(`record for ${body.code} was issued after the bundle was made`, { what: 'bundle', code: body.code })
  if (madeAt >= body.expiresAt) throw new ExpiredError(`record for ${body.code} had expired when the bundle was made`, { what: 'bundle', code: body.code })
  verified.chain.certificates.forEach((cert, link) => {
    const b = cert.body
    if (madeAt < b.notBefore) throw new NotYetValidError(`certificate for ${b.namespace} (link ${link}) was not valid yet when the bundle was made`, { what: 'bundle', namespace: b.namespace, link })
    if (madeAt >= b.notAfter) throw new ExpiredError(`certificate for ${b.namespace} (link ${link}) had expired when the bundle was made`, { what: 'bundle', namespace: b.namespace, link })
    const r = revocations?.revoked(cert.hash, madeAt)
    if (r !== undefined) throw new RevokedError(`certificate for ${b.namespace} (link ${link}) was revoked before the bundle was made: ${r.reason}`, { what: 'bundle', namespace: b.namespace, link })
  })
}

/**
 * A bundle vouches for a chain only when signed by a key that can revoke a link of it: the holder
 * (subject of the last link), the subject of any link above, or a key of the anchor.
 */
function bundleSigner (verified: VerifiedRecord, key: Uint8Array): BundleSigner {
  if (equalBytes(key, verified.record.body.key)) return { key, role: 'holder', namespace: verified.chain.namespace }
  const certs = verified.chain.certificates
  for (let i = certs.length - 1; i >= 0; i--) {
    const cert = certs[i] as (typeof certs)[number]
    if (equalBytes(cert.body.subject, key)) return { key, role: 'authority', namespace: cert.body.namespace }
  }
  if (verified.chain.anchor.keys.some(k => equalBytes(k, key))) return { key, role: 'anchor', namespace: verified.chain.anchor.namespace }
  throw new PermissionError(`bundle for ${verified.record.body.code} is signed by a key outside its chain`, { what: 'bundle', code: verified.record.body.code, key: toHex(key) })
}

function verifyLedgerPart (part: LedgerPart, verified: VerifiedRecord, options: BundleVerifyOptions): VerifiedLedgerPart {
  const record = verified.record
  const log = verified.chain.namespace
  // The record's signer keeps the log its versions are appended to (SPEC ledger, "What an authority logs").
  verifyTreeHead(part.head, record.body.key, { log, now: options.now })
  const { size, root, time } = part.head.head
  const leaf = entryLeafHash({ type: 'record', code: record.body.code, seq: record.body.seq, time: record.body.issuedAt, object: sha256(record.bytes) })
  verifyInclusion(leaf, part.index, size, part.path, root)
  const witnesses: Uint8Array[] = []
  for (const c of part.cosignatures) {
    // every cosignature carried must verify: a bundle carries nothing unchecked
    verifyCosignature(part.head, c, { now: options.now })
    if (!witnesses.some(w => equalBytes(w, c.witness))) witnesses.push(c.witness)
  }
  let witnessPolicyMet: boolean | undefined
  if (options.witnesses !== undefined) {
    verifyCosignatures(part.head, part.cosignatures, options.witnesses, { now: options.now })
    witnessPolicyMet = true
  }
  return { log, size, index: part.index, headTime: time, witnesses, witnessPolicyMet }
}
