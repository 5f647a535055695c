import { decodeCanonical, encodeCbor } from '../codec/cbor.ts'
import { equalBytes } from '../crypto/hash.ts'
import { isCitycodeError } from '../errors.ts'
import { decodeCertificate } from '../trust/certificate.ts'
import { decodeRevocation, RevocationSet } from '../trust/revocation.ts'
import type { Revocation } from '../trust/revocation.ts'
import type { Bundle } from './bundle.ts'
import { decodeBundle } from './bundle.ts'
import { RevocationListError } from './errors.ts'

/**
 * A revocation list (SPEC "Revocation lists"): what an offline verifier is told about revocations,
 *
 *   RevocationList = [ bytes(Revocation) ]      ; canonical DAG-CBOR, at most 256 entries, <= 256 KiB
 *
 * in any order; each entry is checked against the certificate of the bundle's chain it names.
 */
export const REVOCATION_LIST_MAX_ENTRIES = 256
export const REVOCATION_LIST_MAX_BYTES = 256 * 1024

export function encodeRevocationList (revocations: ReadonlyArray<Revocation | Uint8Array>): Uint8Array {
  if (revocations.length > REVOCATION_LIST_MAX_ENTRIES) throw new RevocationListError(`a revocation list holds at most ${REVOCATION_LIST_MAX_ENTRIES} entries`, { reason: 'malformed' })
  return encodeCbor(revocations.map(r => r instanceof Uint8Array ? r : r.bytes))
}

/** Decodes every entry (RevocationListError naming the first that does not decode); checks no signature. */
export function decodeRevocationList (bytes: Uint8Array): Revocation[] {
  let items: unknown
  try {
    items = decodeCanonical(bytes, REVOCATION_LIST_MAX_BYTES, 'revocation list')
  } catch (err) {
    throw new RevocationListError(`not a revocation list: ${(err as Error).message}`, { reason: 'malformed' })
  }
  if (!Array.isArray(items)) throw new RevocationListError('not a revocation list: a list is an array of revocations', { reason: 'malformed' })
  if (items.length > REVOCATION_LIST_MAX_ENTRIES) throw new RevocationListError(`a revocation list holds at most ${REVOCATION_LIST_MAX_ENTRIES} entries, this one ${items.length}`, { reason: 'malformed' })
  return items.map((item: unknown, entry) => {
    if (!(item instanceof Uint8Array)) throw new RevocationListError(`revocation list entry ${entry} is not bytes`, { entry, reason: 'malformed' })
    try {
      return decodeRevocation(item)
    } catch (err) {
      if (!isCitycodeError(err)) throw err
      throw new RevocationListError(`revocation list entry ${entry} does not decode: ${err.message}`, { entry, reason: 'malformed', error: err.name })
    }
  })
}

/**
 * The revocations of `list` as a set for verifying `bundle`: every entry must name a certificate of
 * the bundle's chain and be a valid revocation of it, else RevocationListError naming the entry
 * (a verifier told about a revocation it cannot check must not quietly ignore it).
 */
export function revocationsForBundle (list: Uint8Array | readonly Revocation[], input: Uint8Array | Bundle): RevocationSet {
  const revocations = list instanceof Uint8Array ? decodeRevocationList(list) : list
  const bundle = input instanceof Uint8Array ? decodeBundle(input) : input
  // a link that does not decode fails the bundle's own checks (invalid, not unusable input)
  const certificates = bundle.record.chain.flatMap(bytes => { try { return [decodeCertificate(bytes)] } catch { return [] } })
  const set = new RevocationSet()
  revocations.forEach((revocation, entry) => {
    const cert = certificates.find(c => equalBytes(c.hash, revocation.target))
    if (cert === undefined) throw new RevocationListError(`revocation list entry ${entry} (of ${revocation.namespace}) names no certificate of the chain of ${bundle.record.body.code}`, { entry, reason: 'not-in-chain', namespace: revocation.namespace })
    try {
      set.add(revocation, cert)
    } catch (err) {
      if (!isCitycodeError(err)) throw err
      throw new RevocationListError(`revocation list entry ${entry} does not verify: ${err.name}: ${err.message}`, { entry, reason: 'unverifiable', namespace: revocation.namespace, error: err.name })
    }
  })
  return set
}
