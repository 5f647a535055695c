import assert from 'node:assert/strict'
import { issueCertificate, revoke } from '../../../src/core/index.ts'
import type { Certificate, Signer } from '../../../src/core/index.ts'
import { RecordValidator } from '../../../src/core/record/validator.ts'
import { encodeRevocationAnnouncement } from '../../../src/core/trust/revocation-announcement.ts'
import { judgeRevocationAnnouncement, REVOCATIONS_TOPIC } from '../../../src/network/gossip/revocations.ts'
import { DEFAULT_SCORED_TOPICS } from '../../../src/network/node/constants.ts'
import type { RevocationVerdict } from '../../../src/network/gossip/revocations.ts'
import { quotaSubtree } from '../../../src/core/trust/revocation-admission.ts'
import type { AdmissionPolicy } from '../../../src/core/trust/revocation-admission.ts'
import { DAY_MS, hierarchy, NOW, seededSigner } from '../../utils/fixtures.ts'

const h = hierarchy()
const announce = (revokedAt: number, signer: Signer = h.country, cert: Certificate = h.cityCert): Uint8Array =>
  encodeRevocationAnnouncement({ revocation: revoke(cert, signer, 'compromised', revokedAt).bytes, certificate: cert.bytes, chain: [h.countryCert.bytes] })
const summary = (v: RevocationVerdict): string => v.verdict === 'accept' ? 'accept' : v.verdict === 'ignore' ? `ignore:${v.why}` : `reject:${v.error.name}`

/** What the topic validator does with a verdict: an accepted revocation is honoured at once. */
function judge (validator: RecordValidator, bytes: Uint8Array, policy?: AdmissionPolicy): string {
  const v = judgeRevocationAnnouncement(bytes, validator, policy)
  if (v.verdict === 'accept') {
    if (v.evict !== undefined) validator.revocations.delete(v.evict.target)
    validator.revocations.add(v.announcement.revocation, v.announcement.certificate)
  }
  return summary(v)
}

/** Certificates the city mints under its own namespace and revokes: valid, and worth nothing to anyone. */
function junk (n: number, from = 10): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    const cert = issueCertificate({ namespace: `MA.156.1301.${String(from + i)}`, subject: seededSigner(300 + from + i).publicKey, serial: from + i, notBefore: NOW - DAY_MS, notAfter: NOW + DAY_MS, perms: ['sign'] }, [h.city])
    return encodeRevocationAnnouncement({ revocation: revoke(cert, h.city, 'junk', NOW - 1).bytes, certificate: cert.bytes, chain: [h.countryCert.bytes, h.cityCert.bytes] })
  })
}

describe('revocations topic validator', () => {
  it('accepts news, ignores what is held already or adds nothing, accepts an earlier revocation', () => {
    const validator = new RecordValidator(h.anchors, { now: () => NOW })
    assert.equal(judge(validator, announce(NOW - 1000)), 'accept')
    assert.equal(judge(validator, announce(NOW - 1000)), 'ignore:held')
    // the holder retiring the same certificate, later or earlier, changes nothing: the issuer's is kept (SPEC 4.5)
    assert.equal(judge(validator, announce(NOW + 1000, h.city)), 'ignore:held')
    assert.equal(judge(validator, announce(NOW - 5000, h.city)), 'ignore:held')
    assert.equal(judge(validator, announce(NOW - 5000)), 'accept')
    assert.equal(validator.revocations.get(h.cityCert.hash)?.revokedAt, NOW - 5000)
    // a holder's retirement held first gives way to the issuer's, even a later one
    const retired = new RecordValidator(h.anchors, { now: () => NOW })
    assert.equal(judge(retired, announce(NOW - 5000, h.city)), 'accept')
    assert.equal(judge(retired, announce(NOW - 6000, h.city)), 'accept')
    assert.equal(judge(retired, announce(NOW - 1000)), 'accept')
    assert.equal(retired.revocations.get(h.cityCert.hash)?.revokedAt, NOW - 1000)
  })

  it('rejects forgeries and malformed input, ignores an announcement about an expired certificate, and leaves the set alone', () => {
    const validator = new RecordValidator(h.anchors, { now: () => NOW })
    const flipped = revoke(h.cityCert, h.country, 'x', NOW).bytes
    flipped[flipped.length - 2] = (flipped[flipped.length - 2] as number) ^ 1
    assert.equal(judge(validator, encodeRevocationAnnouncement({ revocation: flipped, certificate: h.cityCert.bytes, chain: [h.countryCert.bytes] })), 'reject:BadSignatureError')
    assert.equal(judge(validator, announce(NOW, seededSigner(77))), 'reject:PermissionError')
    assert.equal(judge(validator, new Uint8Array([0xa0])), 'reject:MalformedRecordError')
    const stranger = seededSigner(99)
    const strange = issueCertificate({ namespace: 'MA.156', subject: h.country.publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + DAY_MS, perms: ['sign', 'delegate'] }, [stranger])
    assert.equal(judge(validator, encodeRevocationAnnouncement({ revocation: revoke(strange, stranger, 'x', NOW).bytes, certificate: strange.bytes, chain: [] })), 'reject:UnknownAnchorError')
    const later = new RecordValidator(h.anchors, { now: () => NOW + 2 * 365 * DAY_MS })
    assert.equal(judge(later, announce(NOW)), 'ignore:ExpiredError')
    assert.equal(validator.revocations.size + later.revocations.size, 0)
  })

  it('below a city, a subtree gets its quota and no more; a city\'s own revocation is never refused for it', () => {
    const validator = new RecordValidator(h.anchors, { now: () => NOW })
    const policy: AdmissionPolicy = { capacity: 100, perSubtree: 5, reliedOn: () => false }
    const verdicts = junk(8).map(b => judge(validator, b, policy))
    assert.deepEqual(verdicts, [...Array(5).fill('accept'), ...Array(3).fill('ignore:quota')])
    assert.equal(judge(validator, announce(NOW - 1000), policy), 'accept', 'the country revoking the city itself')
    assert.equal(quotaSubtree('MA.156.1301.10.01'), 'MA.156.1301')
    assert.equal(quotaSubtree('MA.156.1301'), 'MA.156')
  })

  it('full: a city\'s revocation (or one of a certificate relied on) takes the place of the least needed; junk is refused', () => {
    const validator = new RecordValidator(h.anchors, { now: () => NOW })
    const relied = new Set<string>()
    const policy: AdmissionPolicy = { capacity: 4, perSubtree: 100, reliedOn: (hash) => relied.has(Buffer.from(hash).toString('hex')) }
    const flood = junk(6)
    assert.deepEqual(flood.map(b => judge(validator, b, policy)), ['accept', 'accept', 'accept', 'accept', 'ignore:full', 'ignore:full'])
    // the junk a record this node holds relies on stays, whatever comes
    const kept = validator.revocations.values().next().value!
    relied.add(Buffer.from(kept.target).toString('hex'))
    assert.equal(judge(validator, announce(NOW - 1000), policy), 'accept')
    assert.equal(validator.revocations.size, 4, 'one evicted for it')
    assert.ok(validator.revocations.get(h.cityCert.hash) !== undefined)
    assert.ok(validator.revocations.get(kept.target) !== undefined, 'the relied-on one was not the one evicted')
    const country = encodeRevocationAnnouncement({ revocation: revoke(h.countryCert, h.root, 'retired', NOW - 1).bytes, certificate: h.countryCert.bytes, chain: [] })
    assert.equal(judge(validator, country, policy), 'accept')
    assert.equal(judge(validator, junk(1, 90)[0]!, policy), 'ignore:full')
  })

  it('is a scored topic, so the rejections cost their sender', () => {
    assert.ok(DEFAULT_SCORED_TOPICS.includes(REVOCATIONS_TOPIC))
  })
})
