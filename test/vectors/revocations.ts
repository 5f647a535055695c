/**
 * Revocation announcement vectors (SPEC 4.4): the message of the `/citycode/revocations/1.0.0`
 * topic, valid ones and one per way to be wrong, with the result a compatible implementation must
 * reproduce. Deterministic (seeded keys, fixed clock), so regenerating gives the committed file byte
 * for byte.
 */
import { encodeCbor } from '../../src/core/codec/cbor.ts'
import { toHex } from '../../src/core/crypto/hash.ts'
import { issueCertificate } from '../../src/core/trust/certificate.ts'
import { revoke } from '../../src/core/trust/revocation.ts'
import { encodeRevocationAnnouncement, REVOCATION_ANNOUNCEMENT_MAX_BYTES } from '../../src/core/trust/revocation-announcement.ts'
import { DAY_MS, hierarchy, NOW, seededSigner, YEAR_MS } from '../utils/fixtures.ts'
import type { TrustAnchor } from '../../src/core/trust/anchors.ts'

const hex = toHex

function anchorsJson (anchors: TrustAnchor[]): unknown[] {
  return anchors.map(a => ({ name: a.name, namespace: a.namespace, keys: a.keys.map(hex), threshold: a.threshold }))
}

export function revocationVectors (): unknown {
  const h = hierarchy()
  const byCountry = revoke(h.cityCert, h.country, 'key compromised', NOW - 1000)
  const announce = (revocation: Uint8Array, certificate: Uint8Array, chain: Uint8Array[]): Uint8Array => encodeRevocationAnnouncement({ revocation, certificate, chain })
  const good = announce(byCountry.bytes, h.cityCert.bytes, [h.countryCert.bytes])
  const flipped = Uint8Array.from(byCountry.bytes)
  flipped[flipped.length - 3] = (flipped[flipped.length - 3] as number) ^ 0x01
  // a country certificate from a root nobody configured, and a city certified under it
  const stranger = seededSigner(99)
  const strangeCountry = issueCertificate({ namespace: 'MA.156', subject: h.country.publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'] }, [stranger])
  const shortLived = issueCertificate({ namespace: 'MA.156.1302', subject: seededSigner(8).publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + 1000, perms: ['sign'] }, [h.country])
  const valid = (name: string, bytes: Uint8Array, namespace: string, signer: 'issuer' | 'subject', revokedAt: number): unknown => ({ name, announcement: hex(bytes), result: { valid: true, namespace, signer, revokedAt } })
  const invalid = (name: string, bytes: Uint8Array, error: string, extra: Record<string, unknown> = {}): unknown => ({ name, announcement: hex(bytes), ...extra, result: { valid: false, error } })
  return {
    description: 'Revocation announcements (SPEC 4.4, topic /citycode/revocations/1.0.0): { v: 1, revocation, certificate, chain }. verifyRevocationAnnouncement(announcement, anchors, now) gives the result: the revoked namespace, whether the issuer or the subject signed, revokedAt; or the error by name. A node rejects (gossipsub) an announcement failing with any error but ExpiredError and NotYetValidError, which it ignores.',
    anchors: anchorsJson(h.anchors),
    now: NOW,
    maxBytes: REVOCATION_ANNOUNCEMENT_MAX_BYTES,
    cases: [
      valid('city certificate revoked by the country that issued it', good, 'MA.156.1301', 'issuer', NOW - 1000),
      valid('city certificate retired by its holder, from tomorrow', announce(revoke(h.cityCert, h.city, 'retired after a rotation', NOW + DAY_MS).bytes, h.cityCert.bytes, [h.countryCert.bytes]), 'MA.156.1301', 'subject', NOW + DAY_MS),
      valid('country certificate revoked by the root anchor (empty chain)', announce(revoke(h.countryCert, h.root, 'retired', NOW).bytes, h.countryCert.bytes, []), 'MA.156', 'issuer', NOW),
      invalid('revocation signature bit flipped', announce(flipped, h.cityCert.bytes, [h.countryCert.bytes]), 'BadSignatureError'),
      invalid('signed by a key that neither issued nor holds the certificate', announce(revoke(h.cityCert, seededSigner(77), 'hostile', NOW - 1000).bytes, h.cityCert.bytes, [h.countryCert.bytes]), 'PermissionError'),
      invalid('chain to an anchor nobody configured', announce(revoke(strangeCountry, stranger, 'hostile', NOW - 1000).bytes, strangeCountry.bytes, []), 'UnknownAnchorError'),
      invalid('chain left out', announce(byCountry.bytes, h.cityCert.bytes, []), 'UnknownAnchorError'),
      invalid('chain links in the wrong order', announce(byCountry.bytes, h.cityCert.bytes, [h.cityCert.bytes, h.countryCert.bytes]), 'UnknownAnchorError'),
      invalid('revocation of another certificate than the one carried', announce(byCountry.bytes, h.countryCert.bytes, []), 'MalformedRecordError'),
      invalid('certificate expired at now', announce(revoke(shortLived, h.country, 'superseded', NOW).bytes, shortLived.bytes, [h.countryCert.bytes]), 'ExpiredError', { now: NOW + 1000 }),
      invalid('unknown field', encodeCbor({ v: 1, revocation: byCountry.bytes, certificate: h.cityCert.bytes, chain: [h.countryCert.bytes], note: 'x' }), 'MalformedRecordError'),
      invalid('version 2', encodeCbor({ v: 2, revocation: byCountry.bytes, certificate: h.cityCert.bytes, chain: [h.countryCert.bytes] }), 'MalformedRecordError'),
      invalid('revocation field is not a revocation', announce(h.countryCert.bytes, h.cityCert.bytes, [h.countryCert.bytes]), 'MalformedRecordError'),
      invalid('truncated', good.subarray(0, good.length - 10), 'MalformedRecordError'),
      invalid('eight links above the certificate', announce(byCountry.bytes, h.cityCert.bytes, Array.from({ length: 8 }, () => h.countryCert.bytes)), 'MalformedRecordError')
    ]
  }
}
