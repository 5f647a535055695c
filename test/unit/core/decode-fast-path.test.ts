import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  createRecord, decodeCertificateStrictly, decodeRecordStrictly, encodeCbor, issueCertificate, readCertificate, readRecord
} from '../../../src/core/index.ts'
import type { CborMap, CborValue, Certificate, RecordValue, SignedRecord } from '../../../src/core/index.ts'
import { DAY_MS, hierarchy, NOW, seededSigner, YEAR_MS } from '../../utils/fixtures.ts'

/**
 * decodeRecord / decodeCertificate read canonical input of a valid shape on a fast path and leave
 * everything else to the general strict decoder. The fast path must never accept what the general
 * path refuses, nor return anything different from it; and it must actually take valid input.
 */
const h = hierarchy()

/** Mostly `valid`; now and then `edge` (values at and just past the limits, wrong types, other texts). */
const field = <T>(valid: fc.Arbitrary<T>, edge: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ arbitrary: valid, weight: 10 }, { arbitrary: edge, weight: 1 })

/** Text of at most `max` UTF-16 units (the limit the decoders check), or exactly at and just past it. */
function text (max: number): fc.Arbitrary<string> {
  const units = fc.constantFrom('a', 'é', '石', '\u{1F431}', '\uFEFF')
  const sized = (n: number): fc.Arbitrary<string> => fc.array(units, { maxLength: n }).map(parts => parts.join('').slice(0, n))
    .map(x => x.length > 0 && /[\uD800-\uDBFF]$/.test(x) ? x.slice(0, -1) + 'b' : x)
  const exactly = (n: number): fc.Arbitrary<string> => fc.tuple(sized(Math.min(n, 8)), fc.constantFrom('a', 'ü')).map(([head, pad]) => head + pad.repeat(Math.max(0, n - head.length)))
  return field(fc.oneof(fc.string({ maxLength: Math.min(max, 40) }), sized(Math.min(max, 12))), fc.oneof(exactly(max), exactly(max + 1), fc.string({ unit: 'binary', maxLength: 20 })))
}
const leaf: fc.Arbitrary<CborValue> = fc.oneof(
  fc.constant(null), fc.boolean(), fc.maxSafeInteger(), fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 40 })
)
const anyValue: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>(tie => ({
  v: fc.oneof({ maxDepth: 2 }, leaf, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 6 }).filter(k => k !== '__proto__'), tie('v'), { maxKeys: 3 }))
})).v
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const int = (min: number, max: number): fc.Arbitrary<number> => field(fc.integer({ min, max }), fc.constantFrom(min - 1, min, max, max + 1, -(2 ** 53) + 1))
const uint = field(fc.maxSafeNat(), fc.constantFrom(-1, 0, 23, 24, 255, 256, 65535, 65536, 2 ** 32, Number.MAX_SAFE_INTEGER, -(2 ** 53) + 1))
const bytes = (length: number): fc.Arbitrary<Uint8Array> => field(fc.uint8Array({ minLength: length, maxLength: length }), fc.uint8Array({ minLength: length - 1, maxLength: length + 1 }))
const upTo = (max: number): fc.Arbitrary<Uint8Array> => field(fc.uint8Array({ maxLength: Math.min(max, 40) }), fc.uint8Array({ minLength: max, maxLength: max + 1 }))
const literal = <T>(valid: T, ...others: T[]): fc.Arbitrary<T> => field(fc.constant(valid), fc.constantFrom(...others))

/** Replaces, drops or adds one field of `map` now and then: shapes next to the valid one. */
function perturbed (map: fc.Arbitrary<CborMap>): fc.Arbitrary<CborMap> {
  return fc.tuple(map, fc.nat(), fc.integer({ min: 0, max: 29 }), anyValue, fc.string({ maxLength: 8 })).map(([m, which, how, value, key]) => {
    const keys = Object.keys(m)
    const name = keys[which % keys.length] as string
    const out: CborMap = { ...m }
    if (how === 0) out[name] = value
    else if (how === 1) delete out[name]
    else if (how === 2 && key !== '__proto__') out[key] = value
    return out
  })
}

const valueMap: fc.Arbitrary<CborMap> = perturbed(fc.oneof(
  fc.record({ type: literal('name', 'data', 'other'), lang: text(16), value: text(1024) }),
  fc.record({ type: literal('geo', 'peer'), lat: int(-90_000_000, 90_000_000), lon: int(-180_000_000, 180_000_000) }),
  fc.record({ type: literal('peer', 'addr'), id: text(128) }),
  fc.record({ type: literal('addr', 'peer'), value: text(256) }),
  fc.record({ type: literal('service', 'key'), name: text(64), url: text(1024) }),
  fc.record({ type: literal('key', 'service'), name: text(64), key: upTo(256) }),
  fc.record({ type: literal('data', 'name'), name: text(64), value: text(1024) })
))

const code = field(fc.constantFrom('MA.156', 'MA.156.1301', 'MA.156.1301.01'), fc.oneof(fc.constantFrom('MA.156.13', 'ma.156', 'MA.000', 'MA.156.1301.1'), text(64)))
const recordBytes = perturbed(fc.record({
  body: perturbed(fc.record({
    v: literal(1, 0, 2),
    type: literal('record', 'cert'),
    code,
    seq: uint,
    issuedAt: uint,
    expiresAt: uint,
    ttl: uint,
    prev: fc.option(bytes(32)),
    key: bytes(32),
    values: field(fc.array(valueMap, { maxLength: 5 }), fc.array(valueMap, { minLength: 64, maxLength: 65 }))
  })).map(body => encodeCbor(body)),
  sig: bytes(64),
  chain: field(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 3 }), fc.array(fc.uint8Array({ maxLength: 8 }), { minLength: 8, maxLength: 9 }))
})).map(envelope => encodeCbor(envelope))

const certBytes = perturbed(fc.record({
  body: perturbed(fc.record({
    v: literal(1, 0, 2),
    type: literal('cert', 'record'),
    kind: literal('delegation', 'rotation', 'other'),
    namespace: code,
    subject: bytes(32),
    serial: uint,
    notBefore: uint,
    notAfter: uint,
    perms: field(fc.subarray(['sign', 'delegate']), fc.array(fc.constantFrom('sign', 'delegate', 'admin'), { maxLength: 3 })),
    next: fc.option(bytes(32)),
    prev: field(fc.constant(null), fc.option(bytes(32)))
  })).map(body => encodeCbor(body)),
  sigs: field(
    fc.array(perturbed(fc.record({ key: bytes(32), sig: bytes(64) })), { minLength: 1, maxLength: 3 }),
    fc.array(fc.record({ key: bytes(32), sig: bytes(64) }), { minLength: 16, maxLength: 17 }).chain(sigs => fc.constantFrom(sigs, [] as CborMap[]))
  )
})).map(envelope => encodeCbor(envelope))

/** Up to three byte flips, a truncation or an appended byte. */
function mutated (bytes: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(bytes, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }), fc.integer({ min: 0, max: 3 }), fc.nat())
    .map(([b, flips, how, n]) => {
      let out = Uint8Array.from(b)
      if (out.length === 0) return out
      for (const [at, x] of flips) out[at % out.length] = (out[at % out.length] as number) ^ x
      if (how === 1) out = out.subarray(0, n % out.length)
      if (how === 2) out = Uint8Array.of(...out, n & 0xff)
      return out
    })
}

function sameRecord (fast: SignedRecord, bytes: Uint8Array): void {
  assert.deepStrictEqual(fast, decodeRecordStrictly(bytes))
}

function sameCertificate (fast: Certificate, bytes: Uint8Array): void {
  const strict = decodeCertificateStrictly(bytes)
  assert.deepStrictEqual(fast, strict)
  assert.deepStrictEqual(fast.hash, strict.hash)
}

describe('decoding fast paths', () => {
  it('a record the fast path accepts is accepted, equal, by the strict decoder', () => {
    let accepted = 0
    fc.assert(fc.property(fc.oneof({ arbitrary: recordBytes, weight: 2 }, { arbitrary: mutated(recordBytes), weight: 1 }), bytes => {
      const fast = readRecord(bytes)
      if (fast === undefined) return
      accepted++
      sameRecord(fast, bytes)
    }), { numRuns: 1500 })
    assert.ok(accepted >= 150, `the generator reaches the fast path (${accepted} of 1500)`)
  })

  it('a certificate the fast path accepts is accepted, equal, by the strict decoder', () => {
    let accepted = 0
    fc.assert(fc.property(fc.oneof({ arbitrary: certBytes, weight: 2 }, { arbitrary: mutated(certBytes), weight: 1 }), bytes => {
      const fast = readCertificate(bytes)
      if (fast === undefined) return
      accepted++
      sameCertificate(fast, bytes)
    }), { numRuns: 1500 })
    assert.ok(accepted >= 150, `the generator reaches the fast path (${accepted} of 1500)`)
  })

  it('valid records and certificates take the fast path', () => {
    const value: fc.Arbitrary<RecordValue> = fc.oneof(
      fc.record({ type: fc.constant('name' as const), lang: fc.string({ unit: 'binary', maxLength: 8 }), value: fc.string({ unit: 'grapheme', maxLength: 40 }) }),
      fc.record({ type: fc.constant('geo' as const), lat: fc.integer({ min: -90e6, max: 90e6 }), lon: fc.integer({ min: -180e6, max: 180e6 }) }),
      fc.record({ type: fc.constant('peer' as const), id: fc.string({ maxLength: 128 }) }),
      fc.record({ type: fc.constant('addr' as const), value: fc.string({ maxLength: 256 }) }),
      fc.record({ type: fc.constant('service' as const), name: fc.string({ maxLength: 64 }), url: fc.string({ maxLength: 200 }) }),
      fc.record({ type: fc.constant('key' as const), name: fc.string({ maxLength: 64 }), key: fc.uint8Array({ maxLength: 256 }) }),
      fc.record({ type: fc.constant('data' as const), name: fc.string({ maxLength: 64 }), value: fc.string({ unit: 'binary-ascii', maxLength: 200 }) })
    )
    fc.assert(fc.property(fc.array(value, { maxLength: 6 }), fc.maxSafeNat(), fc.option(bytes32), (values, seq, prev) => {
      const r = createRecord({ code: 'MA.156.1301.01', seq, issuedAt: NOW, expiresAt: NOW + DAY_MS, ttl: 1000, prev, values }, h.city, h.chain)
      const fast = readRecord(r.bytes)
      assert.ok(fast !== undefined, 'a valid record takes the fast path')
      sameRecord(fast, r.bytes)
    }), { numRuns: 200 })
    fc.assert(fc.property(fc.subarray(['sign', 'delegate'] as const), fc.boolean(), fc.option(bytes32), fc.integer({ min: 1, max: 3 }), (perms, rotation, next, signers) => {
      const cert = issueCertificate({
        kind: rotation ? 'rotation' : 'delegation', namespace: 'MA.156.1301', subject: h.city.publicKey, serial: 2, notBefore: NOW, notAfter: NOW + YEAR_MS,
        perms: [...perms], next, prev: rotation ? h.cityCert.hash : null
      }, Array.from({ length: signers }, (_, i) => seededSigner(10 + i)))
      const fast = readCertificate(cert.bytes)
      assert.ok(fast !== undefined, 'a valid certificate takes the fast path')
      sameCertificate(fast, cert.bytes)
    }), { numRuns: 100 })
  })
})
