import assert from 'node:assert/strict'
import { createApplication, createInvitation, decodeApplication, decodeInvitation, encodeCbor, toHex, verifyInvitation } from '../../../src/core/index.ts'
import { DAY_MS, NOW, seededSigner } from '../../utils/fixtures.ts'

/** SPEC 2.2 test vector: MA.156 (seededSigner(2)) invites seededSigner(3) to MA.156.1301 for 7 days from NOW. */
const VECTOR = 'a2637369675840a09ffe70d369907ed8e72cddf27c025f8c742b19172c69d6b1f933cc886a23a0bce3fdbf61d3254f693d58d7bcf4cbf18d0a541ce7bc940d5dc63f8e80d6830d64626f64795873a661760164636f64656b4d412e3135362e3133303164747970656a696e7669746174696f6e67696e7669746565582009f20cdcc93c51c82ae86d8dc9c4d2581ae04b67be582dc35e3fec41d4fa1271696578706972657341741b0000019b9ae72c00696e616d657370616365664d412e313536'

const country = seededSigner(2)
const city = seededSigner(3)
const expected = { authorityKey: country.publicKey, namespace: 'MA.156', subject: city.publicKey, now: NOW }

describe('invitation (SPEC 2.2)', () => {
  it('encodes to the test vector, and an application carries it without changing applications that have none', () => {
    const inv = createInvitation({ namespace: 'MA.156', invitee: city.publicKey, code: 'MA.156.1301', expiresAt: NOW + 7 * DAY_MS }, country)
    assert.equal(toHex(inv.bytes), VECTOR)
    verifyInvitation(decodeInvitation(inv.bytes), expected)
    const app = decodeApplication(createApplication({ parent: 'MA.156', name: 'Shijiazhuang', officialCode: '130100', peer: null, next: null, time: NOW, invitation: inv.bytes }, city).bytes)
    assert.equal(toHex(app.body.invitation ?? new Uint8Array()), VECTOR)
    const plain = decodeApplication(createApplication({ parent: 'MA.156', name: 'Shijiazhuang', officialCode: '130100', peer: null, next: null, time: NOW }, city).bytes)
    assert.equal(plain.body.invitation, undefined)
    assert.ok(!Object.hasOwn(plain.body, 'invitation'))
  })

  it('does not admit: another key, another namespace, past its expiry, or a signature by anyone but the authority', () => {
    const inv = decodeInvitation(createInvitation({ namespace: 'MA.156', invitee: city.publicKey, code: null, expiresAt: NOW + DAY_MS }, country).bytes)
    const reason = (r: string) => (err: Error & { details?: { reason?: string } }) => err.name === 'InvitationError' && err.details?.reason === r
    assert.throws(() => verifyInvitation(inv, { ...expected, subject: seededSigner(9).publicKey }), reason('invitee'))
    assert.throws(() => verifyInvitation(inv, { ...expected, namespace: 'MA.276', authorityKey: country.publicKey }), reason('namespace'))
    assert.throws(() => verifyInvitation(inv, { ...expected, now: NOW + DAY_MS }), reason('expired'))
    const forged = decodeInvitation(createInvitation({ namespace: 'MA.156', invitee: city.publicKey, code: null, expiresAt: NOW + DAY_MS }, seededSigner(9)).bytes)
    assert.throws(() => verifyInvitation(forged, expected), reason('signature'))
    assert.throws(() => decodeInvitation(encodeCbor({ body: inv.bodyBytes, sig: inv.sig, extra: 1 })), { name: 'MalformedRecordError' })
    assert.throws(() => createInvitation({ namespace: 'MA.156', invitee: city.publicKey, code: 'MA.276.0001', expiresAt: NOW }, country), reason('code'))
  })
})
