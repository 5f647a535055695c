import assert from 'node:assert/strict'
import { ChainVerifier, RecordValidator, RevocationSet, announcementForChain, decodeRevocationAnnouncement, issueRotation, keepsRevocation, revoke, sha256 } from '../../../src/core/index.ts'
import { cityRecord, hierarchy, NOW, seededSigner } from '../../utils/fixtures.ts'
import { errorName } from '../../utils/errors.ts'

/** SPEC 4.4: `citycode rotate` moves a holder to its pre-committed key and retires the old certificate. */
describe('pre-committed key rotation', () => {
  const next = seededSigner(4)
  const after = seededSigner(5)
  const h = hierarchy({ cityNext: sha256(next.publicKey) })

  it('issues a link signed by both keys that raises the serial, keeps namespace, perms and end of validity and commits to the key after', () => {
    const link = issueRotation(h.cityCert, h.city, next, { nextCommitment: sha256(after.publicKey), now: NOW })
    assert.equal(link.body.kind, 'rotation')
    assert.equal(link.body.serial, 2)
    assert.deepEqual(link.body.perms, h.cityCert.body.perms)
    assert.equal(link.body.notAfter, h.cityCert.body.notAfter)
    assert.deepEqual(link.body.next, sha256(after.publicKey))
    assert.deepEqual(link.body.prev, h.cityCert.hash)
    assert.deepEqual(link.sigs.map(s => s.key), [next.publicKey, h.city.publicKey])
    const verified = new ChainVerifier(h.anchors).verify([...h.chain, link.bytes], next.publicKey, { now: NOW })
    assert.deepEqual(verified.subject, next.publicKey)
    // and the key after can rotate once more from it
    const again = issueRotation(link, next, after, { nextCommitment: sha256(seededSigner(6).publicKey), now: NOW })
    assert.equal(new ChainVerifier(h.anchors).verify([...h.chain, link.bytes, again.bytes], after.publicKey, { now: NOW }).namespace, 'MA.156.1301')
  })

  it('refuses a certificate without commitment, another key than the committed one, and a key that does not hold it (RotationError)', () => {
    const plain = hierarchy()
    assert.equal(errorName(() => issueRotation(plain.cityCert, plain.city, next, { nextCommitment: sha256(after.publicKey), now: NOW })), 'RotationError')
    assert.equal(errorName(() => issueRotation(h.cityCert, h.city, after, { nextCommitment: sha256(next.publicKey), now: NOW })), 'RotationError')
    assert.equal(errorName(() => issueRotation(h.cityCert, next, next, { nextCommitment: sha256(after.publicKey), now: NOW })), 'RotationError')
  })

  it('after the holder retires its old certificate, the old key signs nothing while the rotated chain stands; the issuer\'s revocation stops both', () => {
    const link = issueRotation(h.cityCert, h.city, next, { nextCommitment: sha256(after.publicKey), now: NOW })
    const rotatedChain = [...h.chain, link.bytes]
    const validator = new RecordValidator(h.anchors, { now: () => NOW })
    validator.revocations.add(revoke(h.cityCert, h.city, 'rotated', NOW - 1), h.cityCert)
    const rotated = validator.validate(cityRecord(h, { seq: 2 }, next, rotatedChain).bytes)
    assert.equal(rotated.record.body.seq, 2)
    validator.checkNotRevoked(rotated)
    assert.equal(errorName(() => validator.validate(cityRecord(h, { seq: 3 }).bytes)), 'RevokedError')
    // a resolver asked for the rotated record hands out no revocation for it, the old one's is there
    assert.equal(announcementForChain(rotatedChain, validator.revocations, NOW), undefined)
    const forOld = announcementForChain(h.chain, validator.revocations, NOW)
    assert.ok(forOld !== undefined)
    assert.deepEqual(decodeRevocationAnnouncement(forOld).certificate.hash, h.cityCert.hash)

    const byIssuer = new RevocationSet()
    byIssuer.add(revoke(h.cityCert, h.country, 'taken back', NOW - 1), h.cityCert)
    const strict = new RecordValidator(h.anchors, { now: () => NOW, revocations: byIssuer })
    assert.equal(errorName(() => strict.validate(cityRecord(h, { seq: 2 }, next, rotatedChain).bytes)), 'RevokedError')
    assert.ok(announcementForChain(rotatedChain, byIssuer, NOW) !== undefined)
  })

  it('the issuer\'s revocation, later than the holder\'s retirement, is the one kept (else the rotated chain would outlive it)', () => {
    const link = issueRotation(h.cityCert, h.city, next, { nextCommitment: sha256(after.publicKey), now: NOW })
    const set = new RevocationSet()
    const retirement = revoke(h.cityCert, h.city, 'rotated', NOW - 10)
    const byIssuer = revoke(h.cityCert, h.country, 'taken back', NOW - 5)
    set.add(retirement, h.cityCert)
    set.add(byIssuer, h.cityCert)
    assert.equal(set.get(h.cityCert.hash)?.reason, 'taken back')
    // and a holder's retirement never displaces the issuer's, whatever its date
    set.add(revoke(h.cityCert, h.city, 'rotated', NOW - 100), h.cityCert)
    assert.equal(set.get(h.cityCert.hash)?.reason, 'taken back')
    assert.equal(keepsRevocation(retirement, byIssuer, h.cityCert), false)
    assert.equal(keepsRevocation(byIssuer, retirement, h.cityCert), true)
    const validator = new RecordValidator(h.anchors, { now: () => NOW, revocations: set })
    assert.equal(errorName(() => validator.validate(cityRecord(h, { seq: 2 }, next, [...h.chain, link.bytes]).bytes)), 'RevokedError')
  })

  it('a retirement for a successor is the holder\'s alone, and gives way to the holder\'s plain revocation', () => {
    const link = issueRotation(h.cityCert, h.city, next, { nextCommitment: sha256(after.publicKey), now: NOW })
    const set = new RevocationSet()
    assert.equal(errorName(() => { set.add(revoke(h.cityCert, h.country, 'x', NOW, { successor: link.hash }), h.cityCert) }), 'PermissionError')
    const retirement = revoke(h.cityCert, h.city, 'rotated', NOW - 500, { successor: link.hash })
    assert.deepEqual(retirement.successor, link.hash)
    set.add(retirement, h.cityCert)
    // a thief of the old key cannot keep its forged child alive with an early retirement: the holder's plain revocation wins
    set.add(revoke(h.cityCert, h.city, 'compromised', NOW - 400), h.cityCert)
    assert.equal(set.get(h.cityCert.hash)?.reason, 'compromised')
    set.add(revoke(h.cityCert, h.city, 'rotated', NOW - 9000, { successor: link.hash }), h.cityCert)
    assert.equal(set.get(h.cityCert.hash)?.reason, 'compromised')
    const validator = new RecordValidator(h.anchors, { now: () => NOW, revocations: set })
    // a plain revocation by the holder still spares the rotation link that follows it (SPEC 4.4 (b) by hand)
    validator.validate(cityRecord(h, { seq: 2 }, next, [...h.chain, link.bytes]).bytes)
  })
})
