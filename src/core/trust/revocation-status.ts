import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import { equalBytes } from '../crypto/hash.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, verifySignature } from '../crypto/signature.ts'
import type { Signer } from '../crypto/signature.ts'
import { BadSignatureError, MalformedRecordError, RevokedError, StaleRevocationStatusError } from '../errors.ts'
import { parseCode } from '../code/grammar.ts'
import type { VerifiedChain } from './chain.ts'

/**
 * An authority's signed statement of the revocations in force among the certificates it issued, at
 * `issuedAt` (SPEC 4.6): a CRL with a time, as short-lived as an OCSP response. A resolver that sets
 * a freshness bound takes a record only with, for every link of its chain, a statement from the
 * link's issuer no older than the bound that does not list the link; so it learns of a revocation
 * within that bound without having listened to gossip, and a revoked holder, whose issuer no longer
 * vouches for it, cannot serve its record past it.
 *
 *   RevocationStatus     = { body: bytes(RevocationStatusBody), key: bytes(32), sig: bytes(64) }   domain "revocation-status"
 *   RevocationStatusBody = { v: 1, type: "revocation-status", namespace: code, issuedAt: uint,
 *                            revoked: [bytes(32)] }   certificate hashes, strictly ascending
 */
export interface RevocationStatus {
  readonly namespace: string
  readonly issuedAt: number
  /** Hashes of revoked certificates, strictly ascending. */
  readonly revoked: readonly Uint8Array[]
  readonly key: Uint8Array
  readonly sig: Uint8Array
  readonly bodyBytes: Uint8Array
  readonly bytes: Uint8Array
}

/** Revocations one statement lists at most: past it an authority has to let certificates expire. */
export const REVOCATION_STATUS_MAX_ENTRIES = 1024
export const REVOCATION_STATUS_MAX_BYTES = REVOCATION_STATUS_MAX_ENTRIES * 34 + 512
/** A statement dated this far ahead of the verifier's clock is still taken (clocks apart). */
export const REVOCATION_STATUS_CLOCK_SKEW_MS = 60_000

const WHAT = 'revocation status'

export function signRevocationStatus (fields: { namespace: string, issuedAt: number, revoked: readonly Uint8Array[] }, signer: Signer): RevocationStatus {
  const revoked = [...fields.revoked].sort((a, b) => Buffer.compare(a, b)).filter((h, i, all) => i === 0 || !equalBytes(h, all[i - 1] as Uint8Array))
  if (revoked.length > REVOCATION_STATUS_MAX_ENTRIES) throw new MalformedRecordError(`${WHAT} would list ${revoked.length} revocations, at most ${REVOCATION_STATUS_MAX_ENTRIES}`, { what: WHAT, field: 'revoked' })
  const bodyBytes = encodeCbor({ v: 1, type: 'revocation-status', namespace: parseCode(fields.namespace).text, issuedAt: fields.issuedAt, revoked })
  return decodeRevocationStatus(encodeCbor({ body: bodyBytes, key: signer.publicKey, sig: signer.sign('revocation-status', bodyBytes) }))
}

/** Decodes without checking the signature; throws MalformedRecordError / RecordTooLargeError. */
export function decodeRevocationStatus (bytes: Uint8Array): RevocationStatus {
  const env = new FieldReader(decodeCanonical(bytes, REVOCATION_STATUS_MAX_BYTES, WHAT), WHAT, ['body', 'key', 'sig'])
  const bodyBytes = env.bytes('body')
  const body = new FieldReader(decodeCanonical(bodyBytes, REVOCATION_STATUS_MAX_BYTES, `${WHAT} body`), `${WHAT} body`, ['v', 'type', 'namespace', 'issuedAt', 'revoked'])
  body.literal('v', 1)
  body.literal('type', 'revocation-status')
  const revoked = body.bytesArray('revoked', REVOCATION_STATUS_MAX_ENTRIES)
  revoked.forEach((h, i) => {
    if (h.length !== 32) throw new MalformedRecordError(`${WHAT}: revoked[${i}] must be 32 bytes`, { what: WHAT, field: 'revoked' })
    // one byte form only, and a binary search needs the order
    if (i > 0 && Buffer.compare(revoked[i - 1] as Uint8Array, h) >= 0) throw new MalformedRecordError(`${WHAT}: revoked must be strictly ascending`, { what: WHAT, field: 'revoked' })
  })
  return {
    namespace: parseCode(body.string('namespace', 64)).text,
    issuedAt: body.uint('issuedAt'),
    revoked,
    key: env.bytes('key', ED25519_PUBLIC_KEY_BYTES),
    sig: env.bytes('sig', ED25519_SIGNATURE_BYTES),
    bodyBytes,
    bytes
  }
}

/** Statements whose signature was checked once: every later check of the same object costs nothing. */
const signatureChecked = new WeakSet<RevocationStatus>()

/** Whether the statement's signature verifies under its own key (whether that key may state it is the caller's question). */
export function statusSignatureValid (s: RevocationStatus): boolean {
  if (signatureChecked.has(s)) return true
  if (!verifySignature('revocation-status', s.bodyBytes, s.sig, s.key)) return false
  signatureChecked.add(s)
  return true
}

export function listsRevoked (status: RevocationStatus, certHash: Uint8Array): boolean {
  let lo = 0
  let hi = status.revoked.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const c = Buffer.compare(status.revoked[mid] as Uint8Array, certHash)
    if (c === 0) return true
    if (c < 0) lo = mid + 1
    else hi = mid - 1
  }
  return false
}

/** Who may state the status of link `i` of a verified chain: its issuer's namespace and keys. */
export function issuerOf (chain: VerifiedChain, i: number): { namespace: string, keys: readonly Uint8Array[] } {
  // a rotation link is vouched for by whoever issued the certificate it succeeds: the holder's own
  // old key states nothing about the namespace it holds
  while (i > 0 && chain.certificates[i]?.body.kind === 'rotation') i--
  if (i === 0) return { namespace: chain.anchor.namespace, keys: chain.anchor.keys }
  const parent = chain.certificates[i - 1]
  if (parent === undefined) throw new MalformedRecordError(`${WHAT}: the chain has no link ${i - 1}`, { what: WHAT })
  return { namespace: parent.body.namespace, keys: [parent.body.subject] }
}

/**
 * The issuers a verified chain vouches for: the issuer of every link (the anchor, then each link's
 * subject) and the chain's own subject. A statement is worth keeping only when its namespace and key
 * are one of these pairs: any key can sign a statement for any namespace, so one a node has no chain
 * for is noise, and a liar could make endless such statements to crowd out the real ones.
 */
export function vouchedIssuers (chain: VerifiedChain): Array<{ namespace: string, keys: readonly Uint8Array[] }> {
  const out = chain.certificates.map((_, i) => issuerOf(chain, i))
  out.push({ namespace: chain.namespace, keys: [chain.subject] })
  return out
}

export function isVouched (statement: RevocationStatus, chains: readonly VerifiedChain[]): boolean {
  return chains.some(chain => vouchedIssuers(chain).some(v => v.namespace === statement.namespace && v.keys.some(k => equalBytes(k, statement.key))))
}

export interface StatusCheckOptions {
  readonly now: number
  /** The resolver's bound: a statement older than this does not count. */
  readonly maxAgeMs: number
}

/**
 * Checks every link of `chain` against the newest valid statement of its issuer among `statuses`
 * (decoded, signatures not yet checked), stopping at the first failure:
 * - no statement of the issuer, by one of its keys, with a valid signature, dated no later than
 *   `now` + skew and no earlier than `now - maxAgeMs`: StaleRevocationStatusError, naming the link,
 *   the issuer and the age of the newest one seen;
 * - the newest such statement lists the link's certificate: RevokedError.
 * Returns, per link, the statement that vouched for it.
 */
export function checkRevocationStatus (chain: VerifiedChain, statuses: readonly RevocationStatus[], options: StatusCheckOptions): RevocationStatus[] {
  return chain.certificates.map((_, i) => checkLinkStatus(chain, i, statuses, options))
}

/** `checkRevocationStatus` for link `i` alone. */
export function checkLinkStatus (chain: VerifiedChain, i: number, statuses: readonly RevocationStatus[], options: StatusCheckOptions): RevocationStatus {
  const cert = chain.certificates[i]
  if (cert === undefined) throw new MalformedRecordError(`${WHAT}: the chain has no link ${i}`, { what: WHAT })
  const issuer = issuerOf(chain, i)
  let newest: RevocationStatus | undefined
  let forged = 0
  for (const s of statuses) {
    if (s.namespace !== issuer.namespace || !issuer.keys.some(k => equalBytes(k, s.key))) continue
    if (s.issuedAt > options.now + REVOCATION_STATUS_CLOCK_SKEW_MS) continue
    if (newest !== undefined && s.issuedAt <= newest.issuedAt) continue
    if (!statusSignatureValid(s)) {
      forged++
      continue
    }
    newest = s
  }
  const ns = cert.body.namespace
  if (newest === undefined || newest.issuedAt < options.now - options.maxAgeMs) {
    const seen = newest === undefined ? 'none' : `the newest is ${Math.round((options.now - newest.issuedAt) / 1000)} s old`
    if (newest === undefined && forged > 0) throw new BadSignatureError(`${WHAT} of ${issuer.namespace} for ${ns} (link ${i}) has a bad signature`, { namespace: ns, link: i, issuer: issuer.namespace })
    throw new StaleRevocationStatusError(`cannot check whether the certificate for ${ns} (link ${i}) was revoked: no revocation status from ${issuer.namespace} newer than ${Math.round(options.maxAgeMs / 1000)} s (${seen})`,
      { namespace: ns, link: i, issuer: issuer.namespace, maxAgeMs: options.maxAgeMs, ageMs: newest === undefined ? null : options.now - newest.issuedAt })
  }
  if (listsRevoked(newest, cert.hash)) {
    throw new RevokedError(`certificate for ${ns} (link ${i}) is revoked: ${issuer.namespace} lists it in its revocation status of ${new Date(newest.issuedAt).toISOString()}`, { namespace: ns, link: i, issuer: issuer.namespace })
  }
  return newest
}
