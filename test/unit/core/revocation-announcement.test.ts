import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ChainVerifier, encodeCbor, equalBytes, fromHex, isCitycodeError, revoke, toHex } from '../../../src/core/index.ts'
import {
  decodeRevocationAnnouncement, encodeRevocationAnnouncement, REVOCATION_ANNOUNCEMENT_MAX_BYTES, verifyRevocationAnnouncement
} from '../../../src/core/trust/revocation-announcement.ts'
import { MAX_CHAIN_LENGTH } from '../../../src/core/trust/chain.ts'
import { hierarchy, NOW } from '../../utils/fixtures.ts'
import { anchorsFromJson, loadVector } from '../../utils/vectors.ts'
import type { AnchorJson } from '../../utils/vectors.ts'
import { errorName } from '../../utils/errors.ts'

interface Vectors {
  anchors: AnchorJson[]
  now: number
  maxBytes: number
  cases: Array<{ name: string, announcement: string, now?: number, result: { valid: true, namespace: string, signer: 'issuer' | 'subject', revokedAt: number } | { valid: false, error: string } }>
}

const h = hierarchy()
const chains = (): ChainVerifier => new ChainVerifier(h.anchors)
const good = encodeRevocationAnnouncement({ revocation: revoke(h.cityCert, h.country, 'key compromised', NOW - 1000).bytes, certificate: h.cityCert.bytes, chain: [h.countryCert.bytes] })

/** Runs `fn` and fails unless it returns or throws one of our typed errors. */
function onlyTypedErrors (fn: () => unknown): void {
  try {
    fn()
  } catch (err) {
    assert.ok(isCitycodeError(err), `untyped ${(err as Error).name}: ${(err as Error).message}`)
  }
}

describe('revocation announcements', () => {
  it('revocations.json: every case gives its result', () => {
    const v = loadVector<Vectors>('revocations.json')
    assert.equal(v.maxBytes, REVOCATION_ANNOUNCEMENT_MAX_BYTES)
    const errors = new Set(v.cases.flatMap(c => c.result.valid ? [] : [c.result.error]))
    for (const e of ['BadSignatureError', 'PermissionError', 'UnknownAnchorError', 'MalformedRecordError', 'ExpiredError']) assert.ok(errors.has(e), `a case for ${e}`)
    for (const c of v.cases) {
      const run = (): ReturnType<typeof verifyRevocationAnnouncement> => verifyRevocationAnnouncement(fromHex(c.announcement), new ChainVerifier(anchorsFromJson(v.anchors)), c.now ?? v.now)
      if (c.result.valid) {
        const r = run()
        assert.equal(r.certificate.body.namespace, c.result.namespace, c.name)
        assert.equal(r.revocation.revokedAt, c.result.revokedAt, c.name)
        const signer = equalBytes(r.revocation.key, r.certificate.body.subject) ? 'subject' : 'issuer'
        assert.equal(signer, c.result.signer, c.name)
        assert.equal(r.verifiedChain.namespace, c.result.namespace, c.name)
      } else {
        assert.equal(errorName(run), c.result.error, c.name)
      }
    }
  })

  it('round-trips, and is refused over its size limit before decoding', () => {
    const decoded = decodeRevocationAnnouncement(good)
    assert.equal(toHex(encodeRevocationAnnouncement({ revocation: decoded.revocation.bytes, certificate: decoded.certificate.bytes, chain: decoded.chain })), toHex(good))
    assert.equal(decoded.chain.length, 1)
    assert.equal(errorName(() => decodeRevocationAnnouncement(new Uint8Array(REVOCATION_ANNOUNCEMENT_MAX_BYTES + 1))), 'RecordTooLargeError')
    // the longest chain allowed above a certificate still decodes
    const longest = encodeRevocationAnnouncement({ revocation: decoded.revocation.bytes, certificate: h.cityCert.bytes, chain: Array.from({ length: MAX_CHAIN_LENGTH - 1 }, () => h.countryCert.bytes) })
    assert.equal(decodeRevocationAnnouncement(longest).chain.length, MAX_CHAIN_LENGTH - 1)
    assert.ok(longest.length < REVOCATION_ANNOUNCEMENT_MAX_BYTES)
  })

  it('a mutated announcement is refused with a typed error, never accepted or crashing', () => {
    fc.assert(fc.property(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
      const bytes = Uint8Array.from(good)
      bytes[at] = (bytes[at] as number) ^ xor
      let accepted = false
      onlyTypedErrors(() => { verifyRevocationAnnouncement(bytes, chains(), NOW); accepted = true })
      // a changed byte of a signed object never verifies (every byte is under a signature or the structure)
      assert.equal(accepted, false, `byte ${at} ^ ${xor} was accepted`)
    }), { numRuns: 400 })
  })

  it('truncations, insertions and garbage give typed errors only', () => {
    fc.assert(fc.property(fc.nat({ max: good.length }), fc.uint8Array({ maxLength: 40 }), fc.nat({ max: 40 }), (at, inserted, cut) => {
      const bytes = new Uint8Array([...good.subarray(0, at), ...inserted, ...good.subarray(Math.min(good.length, at + cut))])
      if (equalBytes(bytes, good)) return
      onlyTypedErrors(() => verifyRevocationAnnouncement(bytes, chains(), NOW))
    }), { numRuns: 300 })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (garbage) => {
      onlyTypedErrors(() => verifyRevocationAnnouncement(garbage, chains(), NOW))
    }), { numRuns: 300 })
  })

  it('well-formed CBOR of the wrong shape gives typed errors only', () => {
    const leaf = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }))
    const value = fc.oneof(leaf, fc.array(leaf, { maxLength: 4 }), fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 9 }))
    const decoded = decodeRevocationAnnouncement(good)
    const fields = { v: fc.oneof(fc.constant(1), value), revocation: fc.oneof(fc.constant(decoded.revocation.bytes), value), certificate: fc.oneof(fc.constant(h.cityCert.bytes), value), chain: fc.oneof(fc.constant([h.countryCert.bytes]), value) }
    fc.assert(fc.property(fc.record(fields, { requiredKeys: [] }), (shape) => {
      onlyTypedErrors(() => verifyRevocationAnnouncement(encodeCbor(shape as never), chains(), NOW))
    }), { numRuns: 300 })
  })
})
