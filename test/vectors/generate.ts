/**
 * Writes the language-neutral test vectors in this folder. Everything is deterministic (fixed seeds,
 * a fixed clock, deterministic Ed25519), so regenerating reproduces the committed files byte for
 * byte; test/unit/core/vectors.test.ts checks that. Run: `npm run vectors`.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { encodeCbor, createRecord, decodeCertificate, issueCertificate, revoke, toHex, sha256, checkCharacter, toPrinted, createBundle, bundleToText, AllocationSetTree, encodeRevocationList, isCountryCode, NATIONAL_SCHEMES } from '../../src/core/index.ts'
import { MerkleLog } from '../../src/core/ledger/log.ts'
import { cosign, signTreeHead } from '../../src/core/ledger/tree-head.ts'
import { zlibSync } from 'fflate'
import base45 from 'base45'
import { cityRecord, hierarchy, NOW, DAY_MS, YEAR_MS, seededSigner, sampleValues } from '../utils/fixtures.ts'
import type { TrustAnchor, SignedRecord } from '../../src/core/index.ts'
import { ledgerVectors } from './ledger.ts'
import { revocationVectors } from './revocations.ts'
import { revocationStatusVectors } from './revocation-status.ts'
import { sessionVectors } from './sessions.ts'
import { exchangeVectors } from './exchange.ts'
import { tileVectors } from './tiles.ts'

const here = (name: string): string => fileURLToPath(new URL(name, import.meta.url))
const hex = toHex

export function anchorsJson (anchors: TrustAnchor[]): unknown[] {
  return anchors.map(a => ({ name: a.name, namespace: a.namespace, keys: a.keys.map(hex), threshold: a.threshold }))
}

function codes (): unknown {
  const valid = ['MA.156.1301', 'MA.156.1301.01', 'MA.156.1301.02', 'MA', 'MA.156', 'MA.040.0001', 'MA.156.1101.10.123', 'MA.156.1301.99999999']
  const invalid: Array<[string, number, string]> = [
    ['', 0, 'empty'],
    ['ma.156.1301', 0, 'lower-case agency'],
    ['MA.156.1301.', 12, 'empty trailing segment'],
    ['MA..1301', 3, 'empty segment'],
    ['MA.15.1301', 5, 'country of 2 digits'],
    ['MA.156.130', 10, 'division of 3 digits'],
    ['MA.156.1301.1', 13, 'sub-code of one digit'],
    ['MA.156.1301.001', 12, 'sub-code with a leading zero beyond two digits'],
    ['MA.156.1301.00', 12, 'reserved sub-code 00'],
    ['MA.000.1301', 3, 'country 000'],
    ['MA.156.0000', 7, 'division 0000'],
    ['MA.156.13O1', 9, 'letter O for zero'],
    ['MA 156 1301', 2, 'spaces as separators'],
    ['MAX.156.1301', 2, 'agency of 3 letters'],
    ['MA.156.1301.01.01.01.01.01.01.01', 29, 'seven sub-code segments: the separator before the seventh']
  ]
  return {
    description: 'Code grammar (SPEC "Codes"): canonical codes parse; anything else fails with MalformedCodeError at the given 0-based position. printed = code "-" ISO/IEC 7064 MOD 37-2 check character.',
    valid: valid.map(code => ({ code, checkCharacter: checkCharacter(code), printed: toPrinted(code) })),
    invalid: invalid.map(([code, position, why]) => ({ code, error: 'MalformedCodeError', position, why })),
    mistyped: [
      { printed: toPrinted('MA.156.1301').replace('1301', '1310'), error: 'CheckCharacterError', why: 'adjacent transposition' },
      { printed: toPrinted('MA.156.1301').replace('156', '165'), error: 'CheckCharacterError', why: 'adjacent transposition' },
      { printed: toPrinted('MA.156.1301.02').replace('.02-', '.03-'), error: 'CheckCharacterError', why: 'single substitution' }
    ]
  }
}

function allocation (): unknown {
  return {
    description: 'Unified allocation rule (SPEC "Allocation"): checkAllocationRule(code) passes or fails with the error named. `countries`: every country segment the rule accepts; `schemes`: per country with a national scheme, every division segment it accepts (names for display only); any other segment is an AllocationRuleError.',
    cases: [
      { code: 'MA.156', valid: true, why: 'China, ISO 3166-1 numeric 156' },
      { code: 'MA.156.1301', valid: true, why: 'Shijiazhuang, GB/T 2260 130100' },
      { code: 'MA.156.1101', valid: true, why: 'Beijing municipality, urban districts 110100' },
      { code: 'MA.156.1301.01', valid: true, why: 'a sub-code of Shijiazhuang' },
      { code: 'MA.156.9901', valid: false, error: 'AllocationRuleError', why: 'not a GB/T 2260 division' },
      { code: 'MA.156.1300', valid: false, error: 'AllocationRuleError', why: 'province-level code is not a city division' },
      { code: 'MA.999.0001', valid: false, error: 'AllocationRuleError', why: '999 is not an ISO 3166-1 country' },
      { code: 'MA.276.0001', valid: true, why: 'Germany has no national scheme: serials' },
      { code: 'MA.276.9999', valid: true, why: 'serial range' },
      { code: 'MA.156.5001', valid: true, why: 'Chongqing municipality, urban districts 500100' },
      { code: 'MA.156.5002', valid: false, error: 'AllocationRuleError', why: 'Chongqing 500200 (counties) is not in the list: a municipality has PP01 only' },
      { code: 'MA.156.1102', valid: false, error: 'AllocationRuleError', why: 'Beijing 110200 is not in the list' },
      { code: 'MA.156.4190', valid: true, why: 'Henan 419000, county-level divisions administered by the province, is in the list' },
      { code: 'MA.983.0001', valid: true, why: '983 (Kosovo, XK) is in the country list though ISO 3166-1 assigns it to no country' }
    ],
    countries: Array.from({ length: 999 }, (_, i) => String(i + 1).padStart(3, '0')).filter(isCountryCode),
    schemes: [...NATIONAL_SCHEMES].map(([country, scheme]) => ({
      country,
      name: scheme.name,
      divisions: [...scheme.divisions].sort().map(division => ({ division, name: scheme.nameOf(division) }))
    }))
  }
}

interface RecordCase { name: string, record: string, expectedCode?: string, revocations?: Array<{ revocation: string, certificate: string }>, result: { valid: true, code: string, seq: number, namespace: string } | { valid: false, error: string } }

function ok (name: string, r: SignedRecord, namespace: string): RecordCase {
  return { name, record: hex(r.bytes), result: { valid: true, code: r.body.code, seq: r.body.seq, namespace } }
}
function bad (name: string, bytes: Uint8Array, error: string, extra: Partial<RecordCase> = {}): RecordCase {
  return { name, record: hex(bytes), ...extra, result: { valid: false, error } }
}

function records (): unknown {
  const h = hierarchy()
  const good = cityRecord(h)
  // the record's last bytes are those of its last link's signature (canonical key order: sig, body, chain)
  const certSigFlipped = Uint8Array.from(good.bytes)
  certSigFlipped[certSigFlipped.length - 10] = (certSigFlipped[certSigFlipped.length - 10] as number) ^ 0x01
  // a name inside the signed body changed after signing, same length, still canonical
  const bodyTampered = (() => {
    const at = Buffer.from(good.bodyBytes).indexOf(Buffer.from('Shijiazhuang'))
    const body = Uint8Array.from(good.bodyBytes)
    body[at + 11] = 0x68 // Shijiazhuang -> Shijiazhuanh
    return encodeCbor({ body, sig: good.sig, chain: [...good.chain] })
  })()
  const sigFlip = (() => {
    const env = { body: good.bodyBytes, sig: Uint8Array.from(good.sig), chain: [...good.chain] }
    env.sig[0] = (env.sig[0] as number) ^ 0x80
    return encodeCbor(env)
  })()
  const otherRoot = seededSigner(99)
  const foreignCountry = issueCertificate({ namespace: 'MA.156', subject: h.country.publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'] }, [otherRoot])
  const badLink = issueCertificate({ namespace: 'MA.156.1301', subject: h.city.publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'] }, [h.root])
  const signOnlyCountry = issueCertificate({ namespace: 'MA.156', subject: h.country.publicKey, serial: 2, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign'] }, [h.root])
  const noSignCity = issueCertificate({ namespace: 'MA.156.1301', subject: h.city.publicKey, serial: 2, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['delegate'] }, [h.country])
  const expiredCity = issueCertificate({ namespace: 'MA.156.1301', subject: h.city.publicKey, serial: 3, notBefore: NOW - YEAR_MS, notAfter: NOW - DAY_MS, perms: ['sign', 'delegate'] }, [h.country])
  const futureCity = issueCertificate({ namespace: 'MA.156.1301', subject: h.city.publicKey, serial: 4, notBefore: NOW + DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'] }, [h.country])
  const escapingCity = issueCertificate({ namespace: 'MA.840.0001', subject: h.city.publicKey, serial: 5, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'] }, [h.country])
  const nonGbCity = issueCertificate({ namespace: 'MA.156.9901', subject: h.city.publicKey, serial: 6, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'] }, [h.country])
  const revocation = revoke(h.cityCert, h.country, 'key compromised', NOW - 1000)
  const huge = encodeCbor({ body: new Uint8Array(11 * 1024), sig: new Uint8Array(64), chain: [] })
  const unsorted = Uint8Array.from([0xa2, 0x63, 0x73, 0x69, 0x67, 0x40, 0x62, 0x69, 0x64, 0x40])
  const sub = cityRecord(h, { code: 'MA.156.1301.02' })
  const rootSigned = createRecord({ code: 'MA', seq: 1, issuedAt: NOW - 1000, expiresAt: NOW + DAY_MS, ttl: 60_000, values: [{ type: 'name', lang: 'en', value: 'Test root' }] }, h.root, [])
  const malformedCode = createRecord({ code: 'MA.156.1301', seq: 1, issuedAt: NOW, expiresAt: NOW + DAY_MS, ttl: 1, values: [] }, h.city, h.chain)
  const v2 = cityRecord(h, { seq: 2, prev: sha256(good.bytes) })
  const malformedCodeBytes = (() => {
    const body = encodeCbor({ v: 1, type: 'record', code: 'MA.156.1301.1', seq: 1, issuedAt: NOW, expiresAt: NOW + DAY_MS, ttl: 1, prev: null, key: h.city.publicKey, values: [] })
    return encodeCbor({ body, sig: h.city.sign('record', body), chain: h.chain })
  })()
  void malformedCode
  const cases: RecordCase[] = [
    ok('Shijiazhuang city record, chain root -> MA.156 -> MA.156.1301', good, 'MA.156.1301'),
    ok('second version, prev = SHA-256 of the first', v2, 'MA.156.1301'),
    ok('sub-code MA.156.1301.02 signed by the city key', sub, 'MA.156.1301'),
    ok('the root signing its own record with no chain', rootSigned, 'MA'),
    bad('one byte flipped in the city certificate\'s signature (the record\'s last bytes)', certSigFlipped, 'BadSignatureError'),
    bad('a name in the record body changed after signing (Shijiazhuang -> Shijiazhuanh)', bodyTampered, 'BadSignatureError'),
    bad('signature bit flipped', sigFlip, 'BadSignatureError'),
    bad('truncated', good.bytes.subarray(0, 100), 'MalformedRecordError'),
    bad('map keys not in canonical order', unsorted, 'MalformedRecordError'),
    bad('larger than 10 KiB', huge, 'RecordTooLargeError'),
    bad('found under another code\'s key', good.bytes, 'KeyMismatchError', { expectedCode: 'MA.156.1302' }),
    bad('code that breaks the grammar', malformedCodeBytes, 'MalformedCodeError'),
    bad('city not in GB/T 2260', cityRecord(h, { code: 'MA.156.9901' }, h.city, [h.countryCert.bytes, nonGbCity.bytes]).bytes, 'AllocationRuleError'),
    bad('chain from an unknown root', cityRecord(h, {}, h.city, [foreignCountry.bytes, h.cityCert.bytes]).bytes, 'UnknownAnchorError'),
    bad('city certificate signed by the root, not the country', cityRecord(h, {}, h.city, [h.countryCert.bytes, badLink.bytes]).bytes, 'BrokenChainError'),
    bad('record for a neighbouring city', cityRecord(h, { code: 'MA.156.1302' }).bytes, 'NamespaceViolationError'),
    bad('city certificate escaping its country', cityRecord(h, { code: 'MA.840.0001' }, h.city, [h.countryCert.bytes, escapingCity.bytes]).bytes, 'NamespaceViolationError'),
    bad('record expired', cityRecord(h, { issuedAt: NOW - 2 * DAY_MS, expiresAt: NOW - DAY_MS }).bytes, 'ExpiredError'),
    bad('city certificate expired', cityRecord(h, {}, h.city, [h.countryCert.bytes, expiredCity.bytes]).bytes, 'ExpiredError'),
    bad('city certificate not yet valid', cityRecord(h, {}, h.city, [h.countryCert.bytes, futureCity.bytes]).bytes, 'NotYetValidError'),
    bad('record issued in the future', cityRecord(h, { issuedAt: NOW + DAY_MS }).bytes, 'NotYetValidError'),
    bad('signed by the country key with the city chain', cityRecord(h, {}, h.country).bytes, 'WrongKeyError'),
    bad('country certificate without delegate permission', cityRecord(h, {}, h.city, [signOnlyCountry.bytes, h.cityCert.bytes]).bytes, 'PermissionError'),
    bad('city certificate without sign permission', cityRecord(h, {}, h.city, [h.countryCert.bytes, noSignCity.bytes]).bytes, 'PermissionError'),
    bad('city certificate revoked by the country', good.bytes, 'RevokedError', { revocations: [{ revocation: hex(revocation.bytes), certificate: hex(h.cityCert.bytes) }] })
  ]
  return {
    description: 'Signed records (SPEC "Records", "Trust", "Validation order"). verify(record, anchors, now, {expectedCode, revocations}) gives the result; errors by name.',
    anchors: anchorsJson(h.anchors),
    now: NOW,
    cases
  }
}

function chains (): unknown {
  const h = hierarchy({ cityNext: sha256(seededSigner(4).publicKey) })
  const next = seededSigner(4)
  const rotation = issueCertificate({ kind: 'rotation', namespace: 'MA.156.1301', subject: next.publicKey, serial: 2, notBefore: NOW - 1000, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'], prev: h.cityCert.hash }, [next])
  const wrongNext = seededSigner(5)
  const badRotation = issueCertificate({ kind: 'rotation', namespace: 'MA.156.1301', subject: wrongNext.publicKey, serial: 2, notBefore: NOW - 1000, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'], prev: h.cityCert.hash }, [wrongNext])
  const roots = [seededSigner(11), seededSigner(12), seededSigner(13)]
  const quorumAnchors: TrustAnchor[] = [{ name: 'quorum-root', namespace: 'MA', keys: roots.map(r => r.publicKey), threshold: 2 }]
  const fields = { namespace: 'MA.156', subject: h.country.publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'] as Array<'sign' | 'delegate'> }
  const two = issueCertificate(fields, [roots[0]!, roots[2]!])
  const one = issueCertificate(fields, [roots[1]!])
  const rec = (signer = h.city, chain: Uint8Array[], code = 'MA.156.1301') => createRecord({ code, seq: 1, issuedAt: NOW - 1000, expiresAt: NOW + DAY_MS, ttl: 60_000, values: sampleValues() }, signer, chain)
  // a rotation link signed by the old key only: every other rule holds
  const oldKeyRotation = issueCertificate({ kind: 'rotation', namespace: 'MA.156.1301', subject: next.publicKey, serial: 2, notBefore: NOW - 1000, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'], prev: h.cityCert.hash }, [h.city])
  // the longest chain: root -> country -> city -> six sub-code levels (8 links), then a rotation (9)
  const deepest = 'MA.156.1301.01.01.01.01.01.01'
  const subKeys = Array.from({ length: 6 }, (_, i) => seededSigner(60 + i))
  const rotated = seededSigner(66)
  const long: Uint8Array[] = [...h.chain]
  let issuer = h.city
  let lastSub = h.cityCert
  subKeys.forEach((key, i) => {
    const namespace = deepest.split('.').slice(0, 4 + i).join('.')
    lastSub = issueCertificate({ namespace, subject: key.publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'], next: i === 5 ? sha256(rotated.publicKey) : null }, [issuer])
    long.push(lastSub.bytes)
    issuer = key
  })
  const ninth = issueCertificate({ kind: 'rotation', namespace: deepest, subject: rotated.publicKey, serial: 2, notBefore: NOW - 1000, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'], prev: lastSub.hash }, [rotated])
  // what `citycode rotate` makes: the rotation signed by the new key and the old one, which then
  // retires its own certificate; the issuer's revocation of the old certificate stops the rotated chain too
  const bothSigned = issueCertificate({ kind: 'rotation', namespace: 'MA.156.1301', subject: next.publicKey, serial: 2, notBefore: NOW - 1000, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'], prev: h.cityCert.hash }, [next, h.city])
  const forgedOld = decodeCertificate(encodeCbor({ body: bothSigned.bodyBytes, sigs: [{ key: next.publicKey, sig: bothSigned.sigs[0]!.sig }, { key: h.city.publicKey, sig: new Uint8Array(64).fill(7) }] }))
  const retired = [{ revocation: hex(revoke(h.cityCert, h.city, 'rotated to its pre-committed key', NOW - 500, { successor: bothSigned.hash }).bytes), certificate: hex(h.cityCert.bytes) }]
  const retiredForAnother = [{ revocation: hex(revoke(h.cityCert, h.city, 'rotated to its pre-committed key', NOW - 500, { successor: badRotation.hash }).bytes), certificate: hex(h.cityCert.bytes) }]
  const district = seededSigner(70)
  const childBefore = issueCertificate({ namespace: 'MA.156.1301.05', subject: district.publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign'] }, [h.city])
  const childAfter = issueCertificate({ namespace: 'MA.156.1301.05', subject: district.publicKey, serial: 1, notBefore: NOW - 100, notAfter: NOW + YEAR_MS, perms: ['sign'] }, [h.city])
  const takenBack = [{ revocation: hex(revoke(h.cityCert, h.country, 'key compromised', NOW - 500).bytes), certificate: hex(h.cityCert.bytes) }]
  const nonAnchor = seededSigner(99)
  // createRecord refuses a chain over 8 links: sign the body, then put the 9 links around it
  const nineLinks = (() => {
    const r = rec(rotated, [], deepest)
    return encodeCbor({ body: r.bodyBytes, sig: r.sig, chain: [...long, ninth.bytes] })
  })()
  return {
    description: 'Delegation chains (SPEC "Chains"): pre-committed key rotation, m-of-n root quorums, empty chains and the chain length limit. Each case is a record to verify with the given anchors at now.',
    now: NOW,
    cases: [
      { name: 'pre-committed rotation: new key signs, chain root -> country -> city -> rotation', anchors: anchorsJson(h.anchors), record: hex(rec(next, [...h.chain, rotation.bytes]).bytes), result: { valid: true, code: 'MA.156.1301', seq: 1, namespace: 'MA.156.1301' } },
      { name: 'rotation to a key that was not committed', anchors: anchorsJson(h.anchors), record: hex(rec(wrongNext, [...h.chain, badRotation.bytes]).bytes), result: { valid: false, error: 'BrokenChainError' } },
      { name: 'old key after rotation is still signed by the chain without the rotation link (revoke it to retire it)', anchors: anchorsJson(h.anchors), record: hex(rec(h.city, h.chain).bytes), result: { valid: true, code: 'MA.156.1301', seq: 1, namespace: 'MA.156.1301' } },
      { name: '2-of-3 roots, two signatures', anchors: anchorsJson(quorumAnchors), record: hex(rec(h.city, [two.bytes, issueCertificate({ namespace: 'MA.156.1301', subject: h.city.publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign'] }, [h.country]).bytes]).bytes), result: { valid: true, code: 'MA.156.1301', seq: 1, namespace: 'MA.156.1301' } },
      { name: '2-of-3 roots, one signature (m-1)', anchors: anchorsJson(quorumAnchors), record: hex(rec(h.city, [one.bytes, h.cityCert.bytes]).bytes), result: { valid: false, error: 'UnknownAnchorError' } },
      { name: 'rotation link signed by the old key, not by its new subject', anchors: anchorsJson(h.anchors), record: hex(rec(next, [...h.chain, oldKeyRotation.bytes]).bytes), result: { valid: false, error: 'BrokenChainError' } },
      { name: 'rotation signed by the new key and the old one (citycode rotate)', anchors: anchorsJson(h.anchors), record: hex(rec(next, [...h.chain, bothSigned.bytes]).bytes), result: { valid: true, code: 'MA.156.1301', seq: 1, namespace: 'MA.156.1301' } },
      { name: 'rotation whose old-key signature does not verify', anchors: anchorsJson(h.anchors), record: hex(rec(next, [...h.chain, forgedOld.bytes]).bytes), result: { valid: false, error: 'BadSignatureError' } },
      { name: 'old certificate retired by its holder: the rotated chain stands', anchors: anchorsJson(h.anchors), revocations: retired, record: hex(rec(next, [...h.chain, bothSigned.bytes]).bytes), result: { valid: true, code: 'MA.156.1301', seq: 1, namespace: 'MA.156.1301' } },
      { name: 'old certificate retired by its holder: the old key no longer signs', anchors: anchorsJson(h.anchors), revocations: retired, record: hex(rec(h.city, h.chain).bytes), result: { valid: false, error: 'RevokedError' } },
      { name: 'retirement naming another rotation link: the rotated chain is refused', anchors: anchorsJson(h.anchors), revocations: retiredForAnother, record: hex(rec(next, [...h.chain, bothSigned.bytes]).bytes), result: { valid: false, error: 'RevokedError' } },
      { name: 'retired for a successor: a child the old key certified before the retirement stands', anchors: anchorsJson(h.anchors), revocations: retired, record: hex(rec(district, [...h.chain, childBefore.bytes], 'MA.156.1301.05').bytes), result: { valid: true, code: 'MA.156.1301.05', seq: 1, namespace: 'MA.156.1301.05' } },
      { name: 'retired for a successor: a child the old key certified after the retirement is refused', anchors: anchorsJson(h.anchors), revocations: retired, record: hex(rec(district, [...h.chain, childAfter.bytes], 'MA.156.1301.05').bytes), result: { valid: false, error: 'RevokedError' } },
      { name: 'old certificate revoked by its issuer: the rotated chain falls with it', anchors: anchorsJson(h.anchors), revocations: takenBack, record: hex(rec(next, [...h.chain, bothSigned.bytes]).bytes), result: { valid: false, error: 'RevokedError' } },
      { name: 'no chain, signed by a key that is not an anchor key', anchors: anchorsJson(h.anchors), record: hex(rec(nonAnchor, [], 'MA').bytes), result: { valid: false, error: 'UnknownAnchorError' } },
      { name: 'no chain, signed by one key of a 2-of-3 anchor', anchors: anchorsJson(quorumAnchors), record: hex(rec(roots[0]!, [], 'MA').bytes), result: { valid: false, error: 'UnknownAnchorError' } },
      { name: '8 links, the most allowed: root -> country -> city -> six sub-code levels', anchors: anchorsJson(h.anchors), record: hex(rec(issuer, long, deepest).bytes), result: { valid: true, code: deepest, seq: 1, namespace: deepest } },
      { name: '9 links (the 8 above and a valid rotation): the record does not decode', anchors: anchorsJson(h.anchors), record: hex(nineLinks), result: { valid: false, error: 'MalformedRecordError' } }
    ]
  }
}

function selection (): unknown {
  const h = hierarchy()
  const a = cityRecord(h, { seq: 1 })
  const b = cityRecord(h, { seq: 2 })
  const c = cityRecord(h, { seq: 2, expiresAt: NOW + 40 * DAY_MS })
  const d1 = cityRecord(h, { seq: 3, issuedAt: NOW - 5 })
  const d2 = cityRecord(h, { seq: 3, issuedAt: NOW - 6 })
  const winner = toHex(sha256(d1.bytes)) > toHex(sha256(d2.bytes)) ? 0 : 1
  return {
    description: 'Selection rule (SPEC "Selection"): higher seq, then later expiresAt, then greater SHA-256 of the signed bytes. `best` is the index of the record every node must select.',
    anchors: anchorsJson(h.anchors),
    now: NOW,
    cases: [
      { name: 'higher seq wins', records: [hex(a.bytes), hex(b.bytes)], best: 1 },
      { name: 'same seq: later expiry wins', records: [hex(c.bytes), hex(b.bytes)], best: 0 },
      { name: 'same seq and expiry: greater hash wins', records: [hex(d1.bytes), hex(d2.bytes)], best: winner },
      { name: 'replayed older version never wins', records: [hex(c.bytes), hex(a.bytes), hex(a.bytes)], best: 0 }
    ]
  }
}

function proofs (): unknown {
  const h = hierarchy()
  const good = cityRecord(h)
  const madeAt = NOW
  const bundle = createBundle({ record: good.bytes, madeAt }, h.city)
  const valid = (name: string, bytes: Uint8Array, signer: { role: string, namespace: string }, checks: string[], extra: Record<string, unknown> = {}): unknown =>
    ({ name, bundle: hex(bytes), ...extra, result: { valid: true, code: 'MA.156.1301', madeAt, signer, checks } })
  const invalid = (name: string, bytes: Uint8Array, error: string, extra: Record<string, unknown> = {}): unknown => ({ name, bundle: hex(bytes), ...extra, result: { valid: false, error } })
  const flip = (bytes: Uint8Array, at: number): Uint8Array => {
    const out = Uint8Array.from(bytes)
    out[at] = (out[at] as number) ^ 0x01
    return out
  }
  const sigAt = Buffer.from(bundle.bytes).indexOf(Buffer.from(bundle.sig))
  const bodyAt = Buffer.from(bundle.bytes).indexOf(Buffer.from(good.sig))

  // a city log with the record's entry, its signed head and one witness cosignature
  const log = new MerkleLog()
  for (let i = 1; i <= 4; i++) log.appendEntry({ type: 'allocation', code: `MA.156.1301.0${i}`, time: NOW - 10_000 + i, object: sha256(Uint8Array.of(i)) })
  const index = log.appendEntry({ type: 'record', code: 'MA.156.1301', seq: 1, time: good.body.issuedAt, object: sha256(good.bytes) })
  log.appendEntry({ type: 'allocation', code: 'MA.156.1301.05', time: NOW - 500, object: sha256(Uint8Array.of(5)) })
  const sth = signTreeHead({ log: 'MA.156.1301', size: log.size, root: log.root(), time: NOW - 100 }, h.city)
  const witness = seededSigner(50)
  const ledger = { head: sth.bytes, index, path: log.inclusionProof(index), cosignatures: [cosign(sth, witness, NOW - 50)] }
  const withLedger = createBundle({ record: good.bytes, madeAt, ledger }, h.city)
  const witnesses = { keys: [hex(witness.publicKey)], threshold: 1 }

  const shortLived = cityRecord(h, { expiresAt: NOW + 1000 })
  const revocation = revoke(h.cityCert, h.country, 'key compromised', NOW - 1000)
  const text = bundleToText(bundle.bytes)
  const badChecksum = zlibSync(bundle.bytes, { level: 9 })
  badChecksum[badChecksum.length - 1] = (badChecksum[badChecksum.length - 1] as number) ^ 1

  const tree = new AllocationSetTree('MA.156.1301', ['MA.156.1301.01', 'MA.156.1301.02', 'MA.156.1301.05', 'MA.156.1301.10'])
  const set = tree.sign(h.city, h.chain, NOW - 1000, 300_000)
  const gap = tree.proveAbsence(set, 'MA.156.1301.03')
  const after = tree.proveAbsence(set, 'MA.156.1301.11')
  const neighbour = (n: typeof gap.left): unknown => n === null ? null : { code: n.code, index: n.index, path: [...n.path] }
  const forge = (changes: { code?: string, left?: typeof gap.left, right?: typeof gap.right }): Uint8Array => encodeCbor({
    v: 1, type: 'absence', set: gap.set.bytes, code: changes.code ?? gap.code, left: neighbour(changes.left !== undefined ? changes.left : gap.left) as never, right: neighbour(changes.right !== undefined ? changes.right : gap.right) as never
  })
  // revocation lists told to a verifier of `bundle` (made at NOW)
  const revokedBefore = revoke(h.cityCert, h.country, 'key compromised', madeAt - 1000)
  const revokedSince = revoke(h.cityCert, h.city, 'retired after a rotation', madeAt + 1000)
  const countryLater = revoke(h.countryCert, h.root, 'retired', madeAt + DAY_MS)
  const unrelated = revoke(h.cityCert, seededSigner(77), 'hostile', madeAt - 1000)
  const flippedSig = Uint8Array.from(revokedBefore.bytes)
  flippedSig[flippedSig.length - 3] = (flippedSig[flippedSig.length - 3] as number) ^ 0x01
  const otherCert = issueCertificate({ namespace: 'MA.156.1302', subject: seededSigner(8).publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign'] }, [h.country])
  const listed = (name: string, list: Uint8Array, now: number, result: unknown): unknown => ({ name, bundle: hex(bundle.bytes), list: hex(list), now, result })
  const empty = new AllocationSetTree('MA.156', [])
  const absent = (name: string, proof: Uint8Array, code: string, result: unknown, extra: Record<string, unknown> = {}): unknown => ({ name, proof: hex(proof), code, ...extra, result })

  return {
    description: 'Proof bundles, their text form, revocation lists and non-existence proofs (SPEC "Proof bundles", "Revocation lists", "Bundle text form", "Non-existence proofs"). verifyBundle(bundle, anchors, now, {revocations, witnesses}) (revocations: revocationsForBundle(list, bundle)) and verifyAbsence(proof, anchors, now, {code}) give the result; errors by name (and details.reason, details.entry, details.revokedSince where given).',
    anchors: anchorsJson(h.anchors),
    now: NOW,
    bundles: [
      valid('city bundle signed by its holder', bundle.bytes, { role: 'holder', namespace: 'MA.156.1301' }, ['decode', 'made-at', 'record', 'valid-when-made', 'bundle-signature'], { text }),
      valid('signed by the country above the holder', createBundle({ record: good.bytes, madeAt }, h.country).bytes, { role: 'authority', namespace: 'MA.156' }, ['decode', 'made-at', 'record', 'valid-when-made', 'bundle-signature']),
      valid('with the ledger inclusion proof and a witness cosignature, witness policy 1 of 1', withLedger.bytes, { role: 'holder', namespace: 'MA.156.1301' },
        ['decode', 'made-at', 'record', 'valid-when-made', 'bundle-signature', 'ledger-inclusion', 'cosignatures', 'witness-policy'], { witnesses, ledger: { log: 'MA.156.1301', size: log.size, index } }),
      invalid('bundle signature bit flipped', flip(bundle.bytes, sigAt + 5), 'BadSignatureError'),
      invalid('record signature bit flipped inside the body', flip(bundle.bytes, bodyAt + 5), 'BadSignatureError'),
      invalid('truncated', bundle.bytes.subarray(0, 200), 'MalformedRecordError'),
      invalid('chain links swapped', createBundle({ record: cityRecord(h, {}, h.city, [h.cityCert.bytes, h.countryCert.bytes]).bytes, madeAt }, h.city).bytes, 'UnknownAnchorError'),
      invalid('record expired before now', createBundle({ record: shortLived.bytes, madeAt }, h.city).bytes, 'ExpiredError', { now: NOW + 1000 }),
      invalid('city certificate revoked', bundle.bytes, 'RevokedError', { revocations: [{ revocation: hex(revocation.bytes), certificate: hex(h.cityCert.bytes) }] }),
      invalid('verified against another anchor', bundle.bytes, 'UnknownAnchorError', { anchors: anchorsJson([{ name: 'other-root', namespace: 'MA', keys: [seededSigner(99).publicKey], threshold: 1 }]) }),
      invalid('signed by a key outside the chain', createBundle({ record: good.bytes, madeAt }, seededSigner(77)).bytes, 'PermissionError'),
      invalid('dated a day in the future', createBundle({ record: good.bytes, madeAt: NOW + DAY_MS }, h.city).bytes, 'NotYetValidError'),
      invalid('ledger proof for another leaf index', createBundle({ record: good.bytes, madeAt, ledger: { ...ledger, index: index - 1 } }, h.city).bytes, 'InvalidProofError'),
      invalid('ledger head signed by another key', createBundle({ record: good.bytes, madeAt, ledger: { ...ledger, head: signTreeHead({ log: 'MA.156.1301', size: log.size, root: log.root(), time: NOW - 100 }, h.country).bytes } }, h.city).bytes, 'BadSignatureError'),
      invalid('witness policy not met', createBundle({ record: good.bytes, madeAt, ledger: { ...ledger, cosignatures: [] } }, h.city).bytes, 'InsufficientCosignaturesError', { witnesses })
    ],
    revocationLists: [
      listed('empty list', encodeRevocationList([]), NOW, { valid: true }),
      listed('country certificate revoked from tomorrow: not in force yet', encodeRevocationList([countryLater]), NOW, { valid: true }),
      listed('city certificate revoked by the country before the bundle was made', encodeRevocationList([countryLater, revokedBefore]), NOW, { valid: false, error: 'RevokedError', revokedSince: false }),
      listed('city certificate retired by its holder after the bundle was made', encodeRevocationList([revokedSince]), NOW + 2000, { valid: false, error: 'RevokedError', revokedSince: true }),
      listed('entry signed by a key that neither issued nor holds the certificate', encodeRevocationList([countryLater, unrelated]), NOW, { valid: false, error: 'RevocationListError', entry: 1, reason: 'unverifiable' }),
      listed('entry with a signature bit flipped', encodeRevocationList([flippedSig]), NOW, { valid: false, error: 'RevocationListError', entry: 0, reason: 'unverifiable' }),
      listed('entry naming a certificate outside the chain', encodeRevocationList([revoke(otherCert, h.country, 'x', NOW)]), NOW, { valid: false, error: 'RevocationListError', entry: 0, reason: 'not-in-chain' }),
      listed('entry that is not a revocation', encodeCbor([revokedBefore.bytes, encodeCbor({ v: 1 })]), NOW, { valid: false, error: 'RevocationListError', entry: 1, reason: 'malformed' }),
      listed('not an array', encodeCbor({ revocations: [] }), NOW, { valid: false, error: 'RevocationListError', reason: 'malformed' })
    ],
    texts: [
      { name: 'the text form of the first bundle', text, result: { valid: true, bundle: hex(bundle.bytes) } },
      { name: 'another scheme prefix', text: 'HC1:' + text.slice(4), result: { valid: false, error: 'BundleTextError', reason: 'prefix' } },
      { name: 'a lower-case letter', text: text.slice(0, 10) + 'q' + text.slice(11), result: { valid: false, error: 'BundleTextError', reason: 'base45' } },
      { name: 'base45 group out of range (GGW = 65536)', text: 'CC1:GGW', result: { valid: false, error: 'BundleTextError', reason: 'base45' } },
      { name: 'Adler-32 checksum wrong', text: 'CC1:' + base45.encode(badChecksum), result: { valid: false, error: 'BundleTextError', reason: 'checksum' } }
    ],
    absence: [
      absent('a gap between allocated codes', gap.bytes, 'MA.156.1301.03', { valid: true, code: 'MA.156.1301.03', namespace: 'MA.156.1301', expiresAt: NOW - 1000 + 300_000 }),
      absent('after the last allocated code', after.bytes, 'MA.156.1301.11', { valid: true, code: 'MA.156.1301.11', namespace: 'MA.156.1301', expiresAt: NOW - 1000 + 300_000 }),
      absent('a deeper code under an unallocated one', tree.proveAbsence(set, 'MA.156.1301.07.01').bytes, 'MA.156.1301.07.01', { valid: true, code: 'MA.156.1301.07', namespace: 'MA.156.1301', expiresAt: NOW - 1000 + 300_000 }),
      absent('an empty allocation set of the country', empty.proveAbsence(empty.sign(h.country, [h.countryCert.bytes], NOW), 'MA.156.1302').bytes, 'MA.156.1302', { valid: true, code: 'MA.156.1302', namespace: 'MA.156', expiresAt: NOW + 300_000 }),
      absent('claims an allocated code is absent', forge({ code: 'MA.156.1301.02' }), 'MA.156.1301.02', { valid: false, error: 'InvalidProofError', reason: 'code-allocated' }),
      absent('a real gap replayed for a code outside it', forge({ code: 'MA.156.1301.07' }), 'MA.156.1301.07', { valid: false, error: 'InvalidProofError', reason: 'not-covered' }),
      absent('neighbours that are not adjacent', forge({ right: after.left }), 'MA.156.1301.03', { valid: false, error: 'InvalidProofError', reason: 'not-adjacent' }),
      absent('proof about another code', gap.bytes, 'MA.156.1301.04', { valid: false, error: 'KeyMismatchError' }),
      absent('allocation set expired', gap.bytes, 'MA.156.1301.03', { valid: false, error: 'ExpiredError' }, { now: NOW - 1000 + 300_000 }),
      absent('set signed by the country with the city chain', tree.proveAbsence(tree.sign(h.country, h.chain, NOW), 'MA.156.1301.03').bytes, 'MA.156.1301.03', { valid: false, error: 'WrongKeyError' })
    ]
  }
}

export function generate (): Record<string, unknown> {
  return { 'codes.json': codes(), 'allocation.json': allocation(), 'records.json': records(), 'chains.json': chains(), 'selection.json': selection(), 'ledger.json': ledgerVectors(), 'proofs.json': proofs(), 'revocations.json': revocationVectors(), 'revocation-status.json': revocationStatusVectors(), 'sessions.json': sessionVectors(), 'exchange.json': exchangeVectors(), 'tiles.json': tileVectors() }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [name, content] of Object.entries(generate())) {
    writeFileSync(here(name), JSON.stringify(content, null, 2) + '\n')
    console.log(`wrote test/vectors/${name}`)
  }
}
