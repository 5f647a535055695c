import assert from 'node:assert/strict'
import fc from 'fast-check'
import { zlibSync } from 'fflate'
import base45 from 'base45'
import {
  AllocationSetTree, BUNDLE_TEXT_MAX_BYTES, ChainVerifier, RevocationSet, bundleFromText, bundleToText, createBundle, decodeBundle,
  decodeRevocationList, encodeCbor, encodeRevocationList, issueCertificate, revocationsForBundle, revoke, sha256, verifyAbsence, verifyBundle
} from '../../../src/core/index.ts'
import type { AbsenceProof, Neighbour, Signer } from '../../../src/core/index.ts'
import { MerkleLog } from '../../../src/core/ledger/log.ts'
import { cosign, signTreeHead } from '../../../src/core/ledger/tree-head.ts'
import { cityRecord, hierarchy, DAY_MS, NOW, YEAR_MS, seededSigner } from '../../utils/fixtures.ts'

const h = hierarchy()
const chains = (): ChainVerifier => new ChainVerifier(h.anchors)
const record = cityRecord(h)

function errorName (fn: () => unknown): string | undefined {
  try {
    fn()
    return undefined
  } catch (err) {
    return (err as Error).name
  }
}

/** A log of the city holding a few entries and the record's, with a head signed by `signer`. */
function ledgerFor (bytes: Uint8Array, signer: Signer = h.city, log = 'MA.156.1301'): { head: Uint8Array, index: number, path: Uint8Array[], tree: MerkleLog, sth: ReturnType<typeof signTreeHead> } {
  const tree = new MerkleLog()
  for (let i = 1; i <= 5; i++) tree.appendEntry({ type: 'allocation', code: `MA.156.1301.0${i}`, time: NOW - 10_000 + i, object: sha256(Uint8Array.of(i)) })
  const index = tree.appendEntry({ type: 'record', code: 'MA.156.1301', seq: 1, time: NOW - 1000, object: sha256(bytes) })
  tree.appendEntry({ type: 'allocation', code: 'MA.156.1301.06', time: NOW - 500, object: sha256(Uint8Array.of(6)) })
  const sth = signTreeHead({ log, size: tree.size, root: tree.root(), time: NOW - 100 }, signer)
  return { head: sth.bytes, index, path: tree.inclusionProof(index), tree, sth }
}

describe('proof bundles', () => {
  it('round trip: bytes, text form, verification names every check', () => {
    const bundle = createBundle({ record: record.bytes, madeAt: NOW }, h.city)
    assert.deepEqual(decodeBundle(bundle.bytes).bytes, bundle.bytes)
    const text = bundleToText(bundle.bytes)
    assert.match(text, /^CC1:[0-9A-Z $%*+\-./:]+$/)
    assert.deepEqual(bundleFromText(text), bundle.bytes)
    assert.deepEqual(bundleFromText(`  ${text}\n`), bundle.bytes, 'surrounding white space of a scan is ignored')
    const v = verifyBundle(bundleFromText(text), chains(), { now: NOW + DAY_MS })
    assert.equal(v.verified.record.body.code, 'MA.156.1301')
    assert.equal(v.madeAt, NOW)
    assert.deepEqual(v.signer, { key: h.city.publicKey, role: 'holder', namespace: 'MA.156.1301' })
    assert.deepEqual(v.checks, ['decode', 'made-at', 'record', 'valid-when-made', 'bundle-signature'])
    assert.equal(v.ledger, null)
  })

  it('an authority above the holder may sign; a key outside the chain may not', () => {
    const byCountry = verifyBundle(createBundle({ record: record.bytes, madeAt: NOW }, h.country).bytes, chains(), { now: NOW })
    assert.deepEqual([byCountry.signer.role, byCountry.signer.namespace], ['authority', 'MA.156'])
    const byRoot = verifyBundle(createBundle({ record: record.bytes, madeAt: NOW }, h.root).bytes, chains(), { now: NOW })
    assert.deepEqual([byRoot.signer.role, byRoot.signer.namespace], ['anchor', 'MA'])
    assert.equal(errorName(() => verifyBundle(createBundle({ record: record.bytes, madeAt: NOW }, seededSigner(77)).bytes, chains(), { now: NOW })), 'PermissionError')
  })

  it('every single-bit flip of the bundle bytes is refused with a typed error', () => {
    const bytes = createBundle({ record: record.bytes, madeAt: NOW }, h.city).bytes
    const verifier = chains()
    const seen = new Set<string>()
    for (let i = 0; i < bytes.length; i++) {
      for (const bit of [0, 3, 7]) {
        const flipped = Uint8Array.from(bytes)
        flipped[i] = (flipped[i] as number) ^ (1 << bit)
        try {
          verifyBundle(flipped, verifier, { now: NOW })
          assert.fail(`flip of bit ${bit} of byte ${i} was accepted`)
        } catch (err) {
          assert.ok(typeof (err as { code?: unknown }).code === 'string' && (err as Error).name.endsWith('Error'), `byte ${i}: ${String(err)}`)
          assert.notEqual((err as Error).name, 'AssertionError', (err as Error).message)
          seen.add((err as Error).name)
        }
      }
    }
    assert.ok(seen.has('BadSignatureError') && seen.has('MalformedRecordError'), [...seen].join(' '))
  })

  it('bit flips in the text form are refused: unusable text or an invalid bundle, never accepted', () => {
    const text = bundleToText(createBundle({ record: record.bytes, madeAt: NOW }, h.city).bytes)
    const verifier = chains()
    fc.assert(fc.property(fc.integer({ min: 0, max: text.length - 1 }), fc.integer({ min: 0, max: 6 }), (i, bit) => {
      const flipped = text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ (1 << bit)) + text.slice(i + 1)
      const name = errorName(() => verifyBundle(bundleFromText(flipped), verifier, { now: NOW }))
      assert.ok(name !== undefined && name !== 'AssertionError', `flip at ${i} accepted`)
    }), { numRuns: 300 })
  })

  it('swapped chain links, wrong anchor, expiry, revocation, future date', () => {
    const swapped = cityRecord(h, {}, h.city, [h.cityCert.bytes, h.countryCert.bytes])
    assert.equal(errorName(() => verifyBundle(createBundle({ record: swapped.bytes, madeAt: NOW }, h.city).bytes, chains(), { now: NOW })), 'UnknownAnchorError')
    const bundle = createBundle({ record: record.bytes, madeAt: NOW }, h.city).bytes
    const otherAnchors = new ChainVerifier([{ name: 'other-root', namespace: 'MA', keys: [seededSigner(99).publicKey], threshold: 1 }])
    assert.equal(errorName(() => verifyBundle(bundle, otherAnchors, { now: NOW })), 'UnknownAnchorError')
    assert.equal(errorName(() => verifyBundle(bundle, chains(), { now: record.body.expiresAt })), 'ExpiredError')
    const expiredWhenMade = createBundle({ record: record.bytes, madeAt: record.body.expiresAt + 1 }, h.city).bytes
    assert.equal(errorName(() => verifyBundle(expiredWhenMade, chains(), { now: NOW })), 'NotYetValidError', 'dated after the verifier\'s clock')

    const revocations = new RevocationSet()
    revocations.add(revoke(h.cityCert, h.country, 'key compromised', NOW - 10), h.cityCert)
    assert.equal(errorName(() => verifyBundle(bundle, chains(), { now: NOW, revocations })), 'RevokedError')
    const later = new RevocationSet()
    later.add(revoke(h.cityCert, h.country, 'retired', NOW + 10), h.cityCert)
    assert.equal(errorName(() => verifyBundle(bundle, chains(), { now: NOW + 20, revocations: later })), 'RevokedError', 'revoked since the bundle was made: refused now')
    assert.equal(verifyBundle(bundle, chains(), { now: NOW + 5, revocations: later }).madeAt, NOW, 'valid until the revocation takes effect')

    const future = createBundle({ record: record.bytes, madeAt: NOW + DAY_MS }, h.city).bytes
    assert.equal(errorName(() => verifyBundle(future, chains(), { now: NOW })), 'NotYetValidError')
    const beforeRecord = createBundle({ record: record.bytes, madeAt: NOW - DAY_MS / 2 }, h.city).bytes
    assert.equal(errorName(() => verifyBundle(beforeRecord, chains(), { now: NOW })), 'NotYetValidError', 'made before the record was issued')
    const shortCity = issueCertificate({ namespace: 'MA.156.1301', subject: h.city.publicKey, serial: 9, notBefore: NOW - 2 * DAY_MS, notAfter: NOW + DAY_MS, perms: ['sign', 'delegate'] }, [h.country])
    const r2 = cityRecord(h, { issuedAt: NOW - 3 * DAY_MS }, h.city, [h.countryCert.bytes, shortCity.bytes])
    assert.equal(errorName(() => verifyBundle(createBundle({ record: r2.bytes, madeAt: NOW - 2 * DAY_MS - 1 }, h.city).bytes, chains(), { now: NOW })), 'NotYetValidError', 'certificate not valid yet when made')
  })

  it('ledger part: inclusion under the signer\'s head, cosignatures, witness policy', () => {
    const l = ledgerFor(record.bytes)
    const witness = seededSigner(50)
    const cos = cosign(l.sth, witness, NOW - 50)
    const bundle = createBundle({ record: record.bytes, madeAt: NOW, ledger: { head: l.head, index: l.index, path: l.path, cosignatures: [cos] } }, h.city)
    const v = verifyBundle(bundle.bytes, chains(), { now: NOW, witnesses: { witnesses: [witness.publicKey], threshold: 1 } })
    assert.equal(v.ledger?.index, l.index)
    assert.equal(v.ledger?.size, l.tree.size)
    assert.equal(v.ledger?.witnessPolicyMet, true)
    assert.deepEqual(v.checks.slice(-3), ['ledger-inclusion', 'cosignatures', 'witness-policy'])
    assert.ok(bundleFromText(bundleToText(bundle.bytes)).length === bundle.bytes.length)

    const make = (ledger: Parameters<typeof createBundle>[0]['ledger']): Uint8Array => createBundle({ record: record.bytes, madeAt: NOW, ledger }, h.city).bytes
    assert.equal(errorName(() => verifyBundle(make({ head: l.head, index: l.index + 1, path: l.path }), chains(), { now: NOW })), 'InvalidProofError', 'wrong index')
    const otherRecord = cityRecord(h, { seq: 2 })
    const other = ledgerFor(otherRecord.bytes)
    assert.equal(errorName(() => verifyBundle(make({ head: other.head, index: other.index, path: other.path }), chains(), { now: NOW })), 'InvalidProofError', 'the log holds another version')
    assert.equal(errorName(() => verifyBundle(make({ head: ledgerFor(record.bytes, h.country).head, index: l.index, path: l.path }), chains(), { now: NOW })), 'BadSignatureError', 'head not signed by the record\'s key')
    assert.equal(errorName(() => verifyBundle(make({ head: ledgerFor(record.bytes, h.city, 'MA.156').head, index: l.index, path: l.path }), chains(), { now: NOW })), 'BadTreeHeadError', 'head of another log')
    const forged = { ...cos, sig: Uint8Array.from(cos.sig).fill(7, 0, 4) }
    assert.equal(errorName(() => verifyBundle(make({ head: l.head, index: l.index, path: l.path, cosignatures: [forged] }), chains(), { now: NOW })), 'BadSignatureError', 'forged cosignature')
    assert.equal(errorName(() => verifyBundle(make({ head: l.head, index: l.index, path: l.path }), chains(), { now: NOW, witnesses: { witnesses: [witness.publicKey], threshold: 1 } })), 'InsufficientCosignaturesError')
    assert.equal(errorName(() => verifyBundle(make(null), chains(), { now: NOW, requireLedger: true })), 'InvalidProofError')
  })

  it('text form: wrong prefix, non-base45, dangling or out-of-range groups, bad checksum, oversize: BundleTextError with its reason', () => {
    const text = bundleToText(createBundle({ record: record.bytes, madeAt: NOW }, h.city).bytes)
    const reason = (t: string): unknown => {
      try {
        bundleFromText(t)
        return 'accepted'
      } catch (err) {
        assert.equal((err as Error).name, 'BundleTextError', String(err))
        return (err as { details: { reason: unknown } }).details.reason
      }
    }
    assert.equal(reason('HC1:' + text.slice(4)), 'prefix')
    assert.equal(reason(text.slice(0, 20) + 'a' + text.slice(21)), 'base45')
    const payload = text.slice(4)
    assert.equal(reason('CC1:' + payload.slice(0, payload.length - payload.length % 3) + '0'), 'base45', 'a dangling character')
    assert.equal(reason('CC1:GGW'), 'base45', 'GGW = 65535 + 1: out of range')
    assert.equal(reason('CC1:' + text.slice(4, 40)), 'zlib')
    const bytes = zlibSync(new Uint8Array(100), { level: 9 })
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1
    const b45 = (b: Uint8Array): string => base45.encode(b)
    assert.equal(reason('CC1:' + b45(bytes)), 'checksum')
    assert.equal(reason('CC1:' + b45(zlibSync(new Uint8Array(BUNDLE_TEXT_MAX_BYTES + 1000), { level: 9 }))), 'too-large', 'a zlib bomb is cut off')
  })
})

describe('revocation lists for offline verification', () => {
  const bundle = createBundle({ record: record.bytes, madeAt: NOW }, h.city)
  const revocations = [revoke(h.countryCert, h.root, 'retired', NOW + DAY_MS), revoke(h.cityCert, h.country, 'key compromised', NOW - 10), revoke(h.cityCert, h.city, 'rotated', NOW + 10)]

  it('round trip: encoded, decoded, and each entry checked against the certificate it names', () => {
    const list = encodeRevocationList(revocations)
    assert.deepEqual(decodeRevocationList(list).map(r => Buffer.from(r.bytes).toString('hex')), revocations.map(r => Buffer.from(r.bytes).toString('hex')))
    const set = revocationsForBundle(list, bundle.bytes)
    assert.equal(set.size, 2, 'one per certificate: the earliest revocation of the city certificate wins')
    assert.equal(set.revoked(h.cityCert.hash, NOW)?.reason, 'key compromised')
  })

  it('revoked at or before the bundle was made, or since: RevokedError saying which; not yet in force: valid', () => {
    const at = (revocation: ReturnType<typeof revoke>, now: number): Error & { details: Record<string, unknown> } => {
      try {
        verifyBundle(bundle.bytes, chains(), { now, revocations: revocationsForBundle([revocation], bundle) })
      } catch (err) {
        return err as Error & { details: Record<string, unknown> }
      }
      throw new Error('verified')
    }
    const before = at(revoke(h.cityCert, h.country, 'key compromised', NOW), NOW + 5)
    assert.equal(before.name, 'RevokedError')
    assert.equal(before.details.revokedSince, false, 'revoked at the very time of the bundle counts as before')
    assert.match(before.message, /before the bundle was made/)
    const since = at(revoke(h.countryCert, h.root, 'retired', NOW + 1), NOW + 5)
    assert.equal(since.name, 'RevokedError')
    assert.deepEqual({ link: since.details.link, namespace: since.details.namespace, revokedSince: since.details.revokedSince }, { link: 0, namespace: 'MA.156', revokedSince: true })
    assert.match(since.message, /was valid when the bundle was made .* and revoked since/)
    assert.equal(verifyBundle(bundle.bytes, chains(), { now: NOW + 5, revocations: revocationsForBundle([revoke(h.countryCert, h.root, 'retired', NOW + 6)], bundle) }).madeAt, NOW)
  })

  it('property: a revocation with any bit flipped never verifies (RevocationListError naming the entry)', () => {
    const good = revocations[1] as ReturnType<typeof revoke>
    fc.assert(fc.property(fc.nat(good.bytes.length - 1), fc.integer({ min: 0, max: 7 }), fc.nat(2), (at, bit, position) => {
      const mutated = Uint8Array.from(good.bytes)
      mutated[at] = (mutated[at] as number) ^ (1 << bit)
      const entries = [...revocations.slice(0, position).map(r => r.bytes), mutated]
      assert.throws(() => revocationsForBundle(encodeCbor(entries), bundle), (err: Error & { details: { entry?: number } }) => err.name === 'RevocationListError' && err.details.entry === position)
    }), { numRuns: 300 })
  })

  it('an entry for a certificate outside the chain, or not a revocation, or a list that is not one: RevocationListError', () => {
    const other = issueCertificate({ namespace: 'MA.156.1302', subject: seededSigner(8).publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign'] }, [h.country])
    const reason = (fn: () => unknown): unknown => { try { fn() } catch (err) { return `${(err as Error).name}/${String((err as { details: { reason?: string } }).details.reason)}` } return 'accepted' }
    assert.equal(reason(() => revocationsForBundle([revoke(other, h.country, 'x', NOW)], bundle)), 'RevocationListError/not-in-chain')
    assert.equal(reason(() => revocationsForBundle(encodeCbor([record.bytes]), bundle)), 'RevocationListError/malformed')
    assert.equal(reason(() => revocationsForBundle(encodeCbor(new Array(257).fill(revocations[0]?.bytes as Uint8Array)), bundle)), 'RevocationListError/malformed')
    assert.equal(reason(() => revocationsForBundle(Uint8Array.of(0xff, 0x00), bundle)), 'RevocationListError/malformed')
    assert.equal(reason(() => revocationsForBundle(encodeCbor('revocations'), bundle)), 'RevocationListError/malformed')
  })
})

describe('non-existence proofs', () => {
  const cityCodes = ['MA.156.1301.01', 'MA.156.1301.02', 'MA.156.1301.05', 'MA.156.1301.10']
  const tree = new AllocationSetTree('MA.156.1301', cityCodes)
  const set = tree.sign(h.city, h.chain, NOW, 300_000)

  function reencode (p: AbsenceProof, changes: { code?: string, left?: Neighbour | null, right?: Neighbour | null }): Uint8Array {
    const n = (x: Neighbour | null): { code: string, index: number, path: Uint8Array[] } | null => x === null ? null : { code: x.code, index: x.index, path: [...x.path] }
    return encodeCbor({ v: 1, type: 'absence', set: p.set.bytes, code: changes.code ?? p.code, left: n(changes.left !== undefined ? changes.left : p.left), right: n(changes.right !== undefined ? changes.right : p.right) })
  }

  it('accepted for unallocated codes: in a gap, before the first, after the last, below an unallocated one', () => {
    for (const code of ['MA.156.1301.03', 'MA.156.1301.04', 'MA.156.1301.06', 'MA.156.1301.11', 'MA.156.1301.99']) {
      const v = verifyAbsence(tree.proveAbsence(set, code).bytes, chains(), { now: NOW + 1000, code })
      assert.equal(v.code, code)
      assert.equal(v.namespace, 'MA.156.1301')
      assert.equal(v.expiresAt, NOW + 300_000)
    }
    const deep = tree.proveAbsence(set, 'MA.156.1301.07.01')
    assert.equal(deep.code, 'MA.156.1301.07')
    assert.equal(verifyAbsence(deep.bytes, chains(), { now: NOW, code: 'MA.156.1301.07.01' }).code, 'MA.156.1301.07')
    const empty = new AllocationSetTree('MA.156', [])
    const emptySet = empty.sign(h.country, [h.countryCert.bytes], NOW)
    assert.equal(verifyAbsence(empty.proveAbsence(emptySet, 'MA.156.1302').bytes, chains(), { now: NOW }).code, 'MA.156.1302')
    const rootTree = new AllocationSetTree('MA', ['MA.156'])
    assert.equal(verifyAbsence(rootTree.proveAbsence(rootTree.sign(h.root, [], NOW), 'MA.276.0001').bytes, chains(), { now: NOW }).code, 'MA.276', 'the root signs with its anchor key')
  })

  it('refused when it covers an allocated code, or the neighbours are not adjacent', () => {
    assert.throws(() => tree.proveAbsence(set, 'MA.156.1301.02'), { name: 'AllocationError' })
    assert.throws(() => tree.proveAbsence(set, 'MA.156.1301.05.01'), { name: 'AllocationError' }, 'below an allocated code its holder answers')
    const gap = tree.proveAbsence(set, 'MA.156.1301.03')
    const reason = (bytes: Uint8Array, code?: string): unknown => {
      try {
        verifyAbsence(bytes, chains(), { now: NOW, code })
        return 'accepted'
      } catch (err) {
        return `${(err as Error).name}:${String((err as { details?: { reason?: unknown } }).details?.reason)}`
      }
    }
    assert.equal(reason(reencode(gap, { code: 'MA.156.1301.02' })), 'InvalidProofError:code-allocated')
    assert.equal(reason(reencode(gap, { code: 'MA.156.1301.05' })), 'InvalidProofError:code-allocated')
    assert.equal(reason(reencode(gap, { code: 'MA.156.1301.07' })), 'InvalidProofError:not-covered', 'a real gap replayed for a code outside it')
    const high = tree.proveAbsence(set, 'MA.156.1301.06')
    assert.equal(reason(reencode(gap, { right: high.right })), 'InvalidProofError:not-adjacent')
    assert.equal(reason(reencode(gap, { left: null })), 'InvalidProofError:not-adjacent')
    const lied = { ...(gap.right as Neighbour), code: 'MA.156.1301.04' }
    assert.equal(reason(reencode(gap, { code: 'MA.156.1301.03', right: lied })), 'InvalidProofError:root-mismatch', 'a neighbour that is not the signed leaf')
  })

  it('refused: expired set, another authority\'s key, a code the proof says nothing about, a forged signature', () => {
    const gap = tree.proveAbsence(set, 'MA.156.1301.03').bytes
    assert.equal(errorName(() => verifyAbsence(gap, chains(), { now: NOW + 300_000 })), 'ExpiredError')
    assert.equal(errorName(() => verifyAbsence(gap, chains(), { now: NOW, code: 'MA.156.1301.04' })), 'KeyMismatchError')
    const byCountry = tree.sign(h.country, h.chain, NOW)
    assert.equal(errorName(() => verifyAbsence(tree.proveAbsence(byCountry, 'MA.156.1301.03').bytes, chains(), { now: NOW })), 'WrongKeyError')
    const wrongNs = new AllocationSetTree('MA.156.1302', [])
    assert.equal(errorName(() => verifyAbsence(wrongNs.proveAbsence(wrongNs.sign(h.city, h.chain, NOW), 'MA.156.1302.01').bytes, chains(), { now: NOW })), 'NamespaceViolationError')
    const flipped = Uint8Array.from(gap)
    const at = gap.length - 200
    flipped[at] = (flipped[at] as number) ^ 1
    assert.ok(errorName(() => verifyAbsence(flipped, chains(), { now: NOW })) !== undefined)
    const revocations = new RevocationSet()
    revocations.add(revoke(h.cityCert, h.country, 'compromised', NOW - 1), h.cityCert)
    assert.equal(errorName(() => verifyAbsence(gap, chains(), { now: NOW, revocations })), 'RevokedError')
  })

  it('property: a proof exists exactly for unallocated codes, and verifies', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 300 }), { maxLength: 40 }), fc.integer({ min: 1, max: 300 }), (serials, asked) => {
      const code = (n: number): string => `MA.156.1301.${n < 10 ? `0${n}` : n}`
      const t = new AllocationSetTree('MA.156.1301', serials.map(code))
      const s = t.sign(h.city, h.chain, NOW)
      if (serials.includes(asked)) {
        assert.throws(() => t.proveAbsence(s, code(asked)), { name: 'AllocationError' })
      } else {
        assert.equal(verifyAbsence(t.proveAbsence(s, code(asked)).bytes, chains(), { now: NOW, code: code(asked) }).code, code(asked))
      }
    }), { numRuns: 60 })
  })

  it('the signed set is certified with delegate permission only', () => {
    const signOnly = issueCertificate({ namespace: 'MA.156.1303', subject: seededSigner(31).publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign'] }, [h.country])
    const t = new AllocationSetTree('MA.156.1303', [])
    assert.equal(errorName(() => verifyAbsence(t.proveAbsence(t.sign(seededSigner(31), [h.countryCert.bytes, signOnly.bytes], NOW), 'MA.156.1303.01').bytes, chains(), { now: NOW })), 'PermissionError')
  })
})
