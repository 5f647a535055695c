import assert from 'node:assert/strict'
import { issueCertificate, revoke } from '../../../src/core/index.ts'
import type { Certificate, Signer } from '../../../src/core/index.ts'
import { RecordValidator } from '../../../src/core/record/validator.ts'
import { encodeRevocationAnnouncement } from '../../../src/core/trust/revocation-announcement.ts'
import { judgeRevocationAnnouncement, REVOCATIONS_TOPIC } from '../../../src/network/gossip/revocations.ts'
import { DEFAULT_SCORED_TOPICS } from '../../../src/network/node/constants.ts'
import type { RevocationVerdict } from '../../../src/network/gossip/revocations.ts'
import { DAY_MS, hierarchy, NOW, seededSigner } from '../../utils/fixtures.ts'

const h = hierarchy()
const announce = (revokedAt: number, signer: Signer = h.country, cert: Certificate = h.cityCert): Uint8Array =>
  encodeRevocationAnnouncement({ revocation: revoke(cert, signer, 'compromised', revokedAt).bytes, certificate: cert.bytes, chain: [h.countryCert.bytes] })
const summary = (v: RevocationVerdict): string => v.verdict === 'accept' ? 'accept' : v.verdict === 'ignore' ? `ignore:${v.why}` : `reject:${v.error.name}`

/** What the topic validator does with a verdict: an accepted revocation is honoured at once. */
function judge (validator: RecordValidator, bytes: Uint8Array, capacity?: number): string {
  const v = judgeRevocationAnnouncement(bytes, validator, capacity)
  if (v.verdict === 'accept') validator.revocations.add(v.announcement.revocation, v.announcement.certificate)
  return summary(v)
}

describe('revocations topic validator', () => {
  it('accepts news, ignores what is held already or adds nothing, accepts an earlier revocation', () => {
    const validator = new RecordValidator(h.anchors, { now: () => NOW })
    assert.equal(judge(validator, announce(NOW - 1000)), 'accept')
    assert.equal(judge(validator, announce(NOW - 1000)), 'ignore:held')
    // the holder retiring the same certificate later changes nothing
    assert.equal(judge(validator, announce(NOW + 1000, h.city)), 'ignore:held')
    assert.equal(judge(validator, announce(NOW - 5000, h.city)), 'accept')
    assert.equal(validator.revocations.get(h.cityCert.hash)?.revokedAt, NOW - 5000)
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

  it('past its capacity a node ignores revocations of certificates it does not hold one for', () => {
    const validator = new RecordValidator(h.anchors, { now: () => NOW })
    const country = encodeRevocationAnnouncement({ revocation: revoke(h.countryCert, h.root, 'retired', NOW + DAY_MS).bytes, certificate: h.countryCert.bytes, chain: [] })
    assert.equal(judge(validator, announce(NOW + DAY_MS), 1), 'accept')
    assert.equal(judge(validator, country, 1), 'ignore:full')
    assert.equal(judge(validator, announce(NOW - 1000), 1), 'accept')
    assert.equal(judge(validator, country), 'accept')
  })

  it('is a scored topic, so the rejections cost their sender', () => {
    assert.ok(DEFAULT_SCORED_TOPICS.includes(REVOCATIONS_TOPIC))
  })
})
