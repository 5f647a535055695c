import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  ChainVerifier, RevocationSet, encodeCbor, isCitycodeError, allocateCity, allocateSub, codeFromRecordKey, countryCode, createRecord, decodeRecord,
  equalBytes, issueCertificate, recordKey, revoke, verify, verifyRecord, RECORD_MAX_BYTES
} from '../../../src/core/index.ts'
import type { RecordValue } from '../../../src/core/index.ts'
import { cityRecord, DAY_MS, hierarchy, NOW, seededSigner, YEAR_MS } from '../../utils/fixtures.ts'
import { arbitraryCode } from '../../utils/arbitraries.ts'

const h = hierarchy()
const good = cityRecord(h)

const valueArb: fc.Arbitrary<RecordValue> = fc.oneof(
  fc.record({ type: fc.constant('name' as const), lang: fc.string({ maxLength: 8 }), value: fc.string({ maxLength: 40 }) }),
  fc.record({ type: fc.constant('geo' as const), lat: fc.integer({ min: -90e6, max: 90e6 }), lon: fc.integer({ min: -180e6, max: 180e6 }) }),
  fc.record({ type: fc.constant('data' as const), name: fc.string({ maxLength: 10 }), value: fc.string({ maxLength: 40 }) }),
  fc.record({ type: fc.constant('key' as const), name: fc.string({ maxLength: 10 }), key: fc.uint8Array({ maxLength: 32 }) })
)

describe('signed records', () => {
  it('encode/decode round trip keeps every field', () => {
    fc.assert(fc.property(fc.array(valueArb, { maxLength: 8 }), fc.nat({ max: 1e9 }), (values, seq) => {
      const r = createRecord({ code: 'MA.156.1301.01', seq, issuedAt: NOW, expiresAt: NOW + DAY_MS, ttl: 1000, values }, h.city, h.chain)
      const back = decodeRecord(r.bytes)
      assert.equal(back.body.seq, seq)
      assert.deepEqual(back.body.values.map(v => ({ ...v })), values.map(v => ({ ...v })))
      assert.ok(equalBytes(back.bytes, r.bytes))
      verify(r.bytes, h.anchors, NOW)
    }), { numRuns: 50 })
  })

  it('any single-byte change of a signed record is rejected', () => {
    const chains = new ChainVerifier(h.anchors)
    verifyRecord(good.bytes, chains, { now: NOW })
    fc.assert(fc.property(fc.nat({ max: good.bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
      const mutated = Uint8Array.from(good.bytes)
      mutated[at] = (mutated[at] as number) ^ x
      assert.throws(() => verifyRecord(mutated, chains, { now: NOW }), isCitycodeError)
    }), { numRuns: 400 })
  })

  it('no code outside the delegated namespace ever verifies', () => {
    const chains = new ChainVerifier(h.anchors)
    fc.assert(fc.property(arbitraryCode, code => {
      const r = createRecord({ code, seq: 1, issuedAt: NOW, expiresAt: NOW + DAY_MS, ttl: 1000, values: [] }, h.city, h.chain)
      const inside = code === 'MA.156.1301' || code.startsWith('MA.156.1301.')
      try {
        verifyRecord(r.bytes, chains, { now: NOW })
        assert.ok(inside, `${code} verified under MA.156.1301`)
      } catch (err) {
        assert.ok(!inside, `${code} refused: ${(err as Error).message}`)
        assert.match((err as Error).name, /NamespaceViolationError|AllocationRuleError/)
      }
    }), { numRuns: 200 })
  })

  it('refuses a record over 10 KiB with RecordTooLargeError', () => {
    const big = 'x'.repeat(1000)
    const values: RecordValue[] = Array.from({ length: 12 }, (_, i) => ({ type: 'data', name: `k${i}`, value: big }))
    assert.throws(() => createRecord({ code: 'MA.156.1301', seq: 1, issuedAt: NOW, expiresAt: NOW + DAY_MS, ttl: 1, values }, h.city, h.chain), { name: 'RecordTooLargeError' })
    assert.equal(RECORD_MAX_BYTES, 10240)
  })

  it('DHT keys name the code', () => {
    assert.equal(new TextDecoder().decode(recordKey('MA.156.1301')), '/citycode/r/MA.156.1301')
    assert.equal(codeFromRecordKey(recordKey('MA.156.1301.02')), 'MA.156.1301.02')
    assert.throws(() => codeFromRecordKey(new TextEncoder().encode('/ipns/abc')), { name: 'KeyMismatchError' })
    assert.throws(() => codeFromRecordKey(new TextEncoder().encode('/citycode/r/MA.156.13')), { name: 'MalformedCodeError' })
  })
})

describe('delegation chains', () => {
  it('a cached chain is still checked for expiry and revocation', () => {
    const chains = new ChainVerifier(h.anchors)
    verifyRecord(good.bytes, chains, { now: NOW })
    assert.throws(() => verifyRecord(good.bytes, chains, { now: NOW + 2 * YEAR_MS }), { name: 'ExpiredError' })
    const revocations = new RevocationSet()
    revocations.add(revoke(h.cityCert, h.country, 'compromised', NOW + 10), h.cityCert)
    verifyRecord(good.bytes, chains, { now: NOW, revocations })
    assert.throws(() => verifyRecord(good.bytes, chains, { now: NOW + 20, revocations }), { name: 'RevokedError' })
  })

  it('a link cached under one parent is not trusted under another', () => {
    const chains = new ChainVerifier(h.anchors)
    verifyRecord(good.bytes, chains, { now: NOW })
    // Another valid country certificate for MA.156, held by another key: the city certificate
    // (signed by the first country key) must not ride on the cached verification.
    const otherCountry = issueCertificate({ namespace: 'MA.156', subject: seededSigner(50).publicKey, serial: 2, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'] }, [h.root])
    assert.throws(() => chains.verify([otherCountry.bytes, h.cityCert.bytes], h.city.publicKey, { now: NOW }), { name: 'BrokenChainError' })
    // The same key certified again (a re-issue): the link is checked afresh and holds.
    const reissued = issueCertificate({ namespace: 'MA.156', subject: h.country.publicKey, serial: 3, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'] }, [h.root])
    assert.equal(chains.verify([reissued.bytes, h.cityCert.bytes], h.city.publicKey, { now: NOW }).namespace, 'MA.156.1301')
    verifyRecord(good.bytes, chains, { now: NOW })
  })

  it('only the issuer or the subject may revoke a certificate', () => {
    const set = new RevocationSet()
    set.add(revoke(h.cityCert, h.city, 'retired after rotation', NOW), h.cityCert)
    assert.throws(() => set.add(revoke(h.cityCert, seededSigner(77), 'hostile', NOW), h.cityCert), { name: 'PermissionError' })
    const forged = revoke(h.cityCert, h.country, 'x', NOW)
    const tampered = { ...forged, reason: 'y', bodyBytes: Uint8Array.from(forged.bodyBytes) }
    tampered.bodyBytes[tampered.bodyBytes.length - 1] = (tampered.bodyBytes[tampered.bodyBytes.length - 1] as number) ^ 1
    assert.throws(() => set.add(tampered, h.cityCert), { name: 'BadSignatureError' })
  })

  it('a key re-certified by the parent replaces the old one once the old certificate is revoked', () => {
    const newKey = seededSigner(40)
    const recert = issueCertificate({ namespace: 'MA.156.1301', subject: newKey.publicKey, serial: 2, notBefore: NOW - 1, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'] }, [h.country])
    const chains = new ChainVerifier(h.anchors)
    const revocations = new RevocationSet()
    revocations.add(revoke(h.cityCert, h.country, 'rotated', NOW - 1), h.cityCert)
    const fresh = cityRecord(h, { seq: 2 }, newKey, [h.countryCert.bytes, recert.bytes])
    assert.equal(verifyRecord(fresh.bytes, chains, { now: NOW, revocations }).chain.namespace, 'MA.156.1301')
    assert.throws(() => verifyRecord(good.bytes, chains, { now: NOW, revocations }), { name: 'RevokedError' })
  })

  it('refuses chains longer than 8 links', () => {
    const nine = encodeCbor({ body: good.bodyBytes, sig: good.sig, chain: Array.from({ length: 9 }, () => h.countryCert.bytes) })
    assert.throws(() => verifyRecord(nine, new ChainVerifier(h.anchors), { now: NOW }), { name: 'MalformedRecordError' })
    assert.throws(() => new ChainVerifier(h.anchors).verify(Array.from({ length: 9 }, () => h.countryCert.bytes), h.city.publicKey, { now: NOW }), { name: 'BrokenChainError' })
  })
})

describe('allocation rule', () => {
  it('countries by ISO 3166-1 numeric', () => {
    assert.equal(countryCode('MA', 'CN'), 'MA.156')
    assert.equal(countryCode('MA', 'DEU'), 'MA.276')
    assert.equal(countryCode('MA', '040'), 'MA.040')
    assert.throws(() => countryCode('MA', 'XX'), { name: 'AllocationRuleError' })
  })

  it('Chinese cities get their GB/T 2260 division; duplicates are refused', () => {
    assert.equal(allocateCity('MA.156', new Set(), '130100'), 'MA.156.1301')
    assert.equal(allocateCity('MA.156', new Set(), '1101'), 'MA.156.1101')
    assert.throws(() => allocateCity('MA.156', new Set(['MA.156.1301']), '130100'), { name: 'AllocationError' })
    assert.throws(() => allocateCity('MA.156', new Set(), '999900'), { name: 'AllocationRuleError' })
    assert.throws(() => allocateCity('MA.156', new Set()), { name: 'AllocationRuleError' })
  })

  it('elsewhere cities get the next serial, and holders the next sub-code', () => {
    assert.equal(allocateCity('MA.276', new Set()), 'MA.276.0001')
    assert.equal(allocateCity('MA.276', new Set(['MA.276.0001', 'MA.276.0007', 'MA.250.0009'])), 'MA.276.0008')
    assert.equal(allocateSub('MA.156.1301', new Set()), 'MA.156.1301.01')
    assert.equal(allocateSub('MA.156.1301', new Set(['MA.156.1301.09', 'MA.156.1301.09.01'])), 'MA.156.1301.10')
    assert.throws(() => allocateSub('MA.156', new Set()), { name: 'AllocationError' })
  })
})
