/**
 * Revocation status vectors (SPEC 4.6): a city record's chain checked against its issuers'
 * statements under a freshness bound, one case per way to pass or fail, with the result a
 * compatible resolver must reproduce. Deterministic (seeded keys, fixed clock).
 */
import { encodeCbor } from '../../src/core/codec/cbor.ts'
import { toHex } from '../../src/core/crypto/hash.ts'
import { REVOCATION_STATUS_MAX_ENTRIES, signRevocationStatus } from '../../src/core/trust/revocation-status.ts'
import { cityRecord, hierarchy, NOW, seededSigner } from '../utils/fixtures.ts'

const hex = toHex

export function revocationStatusVectors (): unknown {
  const h = hierarchy()
  const record = cityRecord(h, { seq: 1 })
  const root = (issuedAt: number, revoked: Uint8Array[] = []): Uint8Array => signRevocationStatus({ namespace: 'MA', issuedAt, revoked }, h.root).bytes
  const country = (issuedAt: number, revoked: Uint8Array[] = []): Uint8Array => signRevocationStatus({ namespace: 'MA.156', issuedAt, revoked }, h.country).bytes
  const other = seededSigner(50).publicKey.slice()
  const genuine = signRevocationStatus({ namespace: 'MA.156', issuedAt: NOW - 1000, revoked: [] }, h.country)
  const badSig = Uint8Array.from(genuine.sig)
  badSig[10] = (badSig[10] as number) ^ 0x01
  const flipped = encodeCbor({ body: genuine.bodyBytes, key: genuine.key, sig: badSig })
  const unsorted = encodeCbor({ v: 1, type: 'revocation-status', namespace: 'MA.156', issuedAt: NOW, revoked: [new Uint8Array(32).fill(2), new Uint8Array(32).fill(1)] })
  const ok = (name: string, statuses: Uint8Array[]): unknown => ({ name, statuses: statuses.map(hex), result: { valid: true } })
  const bad = (name: string, statuses: Uint8Array[], error: string, link?: number): unknown => ({ name, statuses: statuses.map(hex), result: { valid: false, error, ...(link !== undefined ? { link } : {}) } })
  return {
    description: 'Revocation status (SPEC 4.6): RevocationStatus = { body: bytes({ v: 1, type: "revocation-status", namespace, issuedAt, revoked: [bytes(32)] ascending }), key, sig } signed in domain "revocation-status" by the issuer of a link (the anchor for link 0, the previous link\'s subject after it). checkRevocationStatus(verify(record).chain, statuses, { now, maxAgeMs }) gives the result; errors by name with the failing link. Statements dated more than 60 s after now do not count.',
    anchors: h.anchors.map(a => ({ name: a.name, namespace: a.namespace, keys: a.keys.map(hex), threshold: a.threshold })),
    now: NOW,
    maxAgeMs: 60_000,
    maxEntries: REVOCATION_STATUS_MAX_ENTRIES,
    record: hex(record.bytes),
    cases: [
      ok('fresh statements of both issuers, listing other certificates', [root(NOW - 5_000, [other]), country(NOW - 1_000, [other])]),
      ok('an old statement beside a fresh one: the newest counts', [root(NOW - 5_000), country(NOW - 3_600_000, [h.cityCert.hash]), country(NOW - 10)]),
      ok('dated 30 s ahead (clocks apart)', [root(NOW + 30_000), country(NOW)]),
      bad('the country lists the city certificate', [root(NOW - 5_000), country(NOW - 1_000, [h.cityCert.hash])], 'RevokedError', 1),
      bad('the root lists the country certificate', [root(NOW - 5_000, [h.countryCert.hash]), country(NOW - 1_000)], 'RevokedError', 0),
      bad('the country statement older than the bound', [root(NOW - 5_000), country(NOW - 61_000)], 'StaleRevocationStatusError', 1),
      bad('no statement of the root', [country(NOW)], 'StaleRevocationStatusError', 0),
      bad('the country statement signed by another key', [root(NOW), signRevocationStatus({ namespace: 'MA.156', issuedAt: NOW, revoked: [] }, seededSigner(51)).bytes], 'StaleRevocationStatusError', 1),
      bad('the root\'s key stating for the country namespace', [root(NOW), signRevocationStatus({ namespace: 'MA.156', issuedAt: NOW, revoked: [] }, h.root).bytes], 'StaleRevocationStatusError', 1),
      bad('dated 2 minutes ahead', [root(NOW), country(NOW + 120_000)], 'StaleRevocationStatusError', 1),
      bad('country signature bit flipped', [root(NOW), flipped], 'BadSignatureError', 1),
      bad('revoked hashes out of order', [root(NOW), encodeCbor({ body: unsorted, key: h.country.publicKey, sig: h.country.sign('revocation-status', unsorted) })], 'MalformedRecordError')
    ]
  }
}
