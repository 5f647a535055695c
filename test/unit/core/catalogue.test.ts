import assert from 'node:assert/strict'
import {
  ChainVerifier, createCatalogue, decodeCatalogue, verifyCatalogue, policyAdmits, contentIdOf, parseContentId, blockMatches,
  catalogueValue, catalogueIdOf, createRecord, encodeCbor, decodeCanonical, issueCertificate, RAW, DAG_CBOR, RECORD_MAX_BYTES
} from '../../../src/core/index.ts'
import type { CatalogueFields, CborMap, DatasetEntry } from '../../../src/core/index.ts'
import { DAY_MS, hierarchy, NOW, sampleValues, seededSigner, YEAR_MS } from '../../utils/fixtures.ts'

const h = hierarchy()
const fileCid = contentIdOf(RAW, new TextEncoder().encode('water quality 2026'))

function dataset (over: Partial<DatasetEntry> = {}): DatasetEntry {
  return { name: 'water-quality', version: 1, cid: fileCid, size: 18, mediaType: 'text/csv', licence: 'CC-BY-4.0', description: 'daily samples', access: { kind: 'namespace', namespace: 'MA.156' }, ...over }
}

function fields (over: Partial<CatalogueFields> = {}): CatalogueFields {
  return { code: 'MA.156.1301', seq: 1, issuedAt: NOW - 1000, datasets: [dataset(), dataset({ name: 'roads', access: { kind: 'public' } })], ...over }
}

function expectError (fn: () => unknown, name: string): void {
  assert.throws(fn, (err: Error) => { assert.equal(err.name, name, err.message); return true })
}

describe('catalogue', () => {
  const chains = new ChainVerifier(h.anchors)

  it('round trips and verifies under the holder chain', () => {
    const c = createCatalogue(fields(), h.city, h.chain)
    const back = decodeCatalogue(c.bytes)
    assert.equal(back.body.datasets.length, 2)
    assert.equal(back.body.datasets[0]?.cid.toString(), fileCid.toString())
    assert.deepEqual(back.body.datasets[0]?.access, { kind: 'namespace', namespace: 'MA.156' })
    assert.equal(back.cid.code, DAG_CBOR)
    const v = verifyCatalogue(c.bytes, chains, { now: NOW, expectedCode: 'MA.156.1301', expectedCid: c.cid })
    assert.equal(v.chain.namespace, 'MA.156.1301')
  })

  it('a record points at it by CID and stays under the record cap', () => {
    const c = createCatalogue(fields(), h.city, h.chain)
    const r = createRecord({ code: 'MA.156.1301', seq: 1, issuedAt: NOW, expiresAt: NOW + DAY_MS, ttl: 1000, values: [...sampleValues(), catalogueValue(c.cid)] }, h.city, h.chain)
    assert.ok(r.bytes.length < RECORD_MAX_BYTES)
    assert.equal(catalogueIdOf(r.body.values)?.toString(), c.cid.toString())
    assert.equal(catalogueIdOf(sampleValues()), undefined)
  })

  it('any flipped byte of the signed body is refused with a typed error', () => {
    const c = createCatalogue(fields(), h.city, h.chain)
    for (let at = 0; at < c.bodyBytes.length; at += 7) {
      const body = Uint8Array.from(c.bodyBytes)
      body[at] = (body[at] as number) ^ 1
      const bytes = encodeCbor({ body, sig: c.sig, chain: [...c.chain] })
      assert.throws(() => verifyCatalogue(bytes, chains, { now: NOW }), (err: Error) => /Error$/.test(err.name) && 'code' in err)
    }
  })

  it('a catalogue signed under another domain does not verify (BadSignatureError)', () => {
    const c = createCatalogue(fields(), h.city, h.chain)
    const bytes = encodeCbor({ body: c.bodyBytes, sig: h.city.sign('record', c.bodyBytes), chain: [...c.chain] })
    expectError(() => verifyCatalogue(bytes, chains, { now: NOW }), 'BadSignatureError')
  })

  it('a forged chain is refused', () => {
    const forger = seededSigner(99)
    const fake = issueCertificate({ namespace: 'MA.156.1301', subject: forger.publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign'] }, [forger])
    const c = createCatalogue(fields(), forger, [h.countryCert.bytes, fake.bytes])
    expectError(() => verifyCatalogue(c.bytes, chains, { now: NOW }), 'BrokenChainError')
  })

  it('a catalogue for a code outside the signer namespace is refused', () => {
    const c = createCatalogue(fields({ code: 'MA.156.1302' }), h.city, h.chain)
    expectError(() => verifyCatalogue(c.bytes, chains, { now: NOW }), 'NamespaceViolationError')
  })

  it('bytes that are not the block the record named are refused', () => {
    const a = createCatalogue(fields(), h.city, h.chain)
    const b = createCatalogue(fields({ seq: 2 }), h.city, h.chain)
    expectError(() => verifyCatalogue(b.bytes, chains, { now: NOW, expectedCid: a.cid }), 'InvalidCatalogueError')
    expectError(() => verifyCatalogue(a.bytes, chains, { now: NOW, expectedCode: 'MA.156.1301.05' }), 'InvalidCatalogueError')
  })

  it('malformed entries are typed errors', () => {
    const c = createCatalogue(fields(), h.city, h.chain)
    const body = decodeCanonical(c.bodyBytes, 1 << 20, 'x') as CborMap
    const datasets = body.datasets as CborMap[]
    const bad = (patch: CborMap): Uint8Array => {
      const b = encodeCbor({ ...body, datasets: [{ ...(datasets[0] as CborMap), ...patch }] })
      return encodeCbor({ body: b, sig: h.city.sign('catalogue', b), chain: [...c.chain] })
    }
    expectError(() => verifyCatalogue(bad({ access: { kind: 'friends' } }), chains, { now: NOW }), 'MalformedRecordError')
    expectError(() => verifyCatalogue(bad({ name: 'Bad Name' }), chains, { now: NOW }), 'MalformedRecordError')
    expectError(() => verifyCatalogue(bad({ cid: new Uint8Array(3) }), chains, { now: NOW }), 'InvalidContentIdError')
    expectError(() => createCatalogue(fields({ datasets: [dataset(), dataset()] }), h.city, h.chain), 'MalformedRecordError')
  })

  it('oversized catalogue bytes are refused before decoding', () => {
    expectError(() => decodeCatalogue(new Uint8Array(1024 * 1024 + 1)), 'RecordTooLargeError')
  })
})

describe('access policy', () => {
  it('public admits anyone, a namespace its subtree, a list exactly its codes', () => {
    assert.ok(policyAdmits({ kind: 'public' }, 'US.840.0001'))
    assert.ok(policyAdmits({ kind: 'namespace', namespace: 'MA.156' }, 'MA.156.1301.05'))
    assert.ok(policyAdmits({ kind: 'namespace', namespace: 'MA.156' }, 'MA.156'))
    assert.ok(!policyAdmits({ kind: 'namespace', namespace: 'MA.156' }, 'MA.1560'))
    assert.ok(!policyAdmits({ kind: 'namespace', namespace: 'MA.156' }, 'MA.250.0001'))
    assert.ok(policyAdmits({ kind: 'codes', codes: ['MA.156.1301', 'MA.250.7501'] }, 'MA.250.7501'))
    assert.ok(!policyAdmits({ kind: 'codes', codes: ['MA.156.1301'] }, 'MA.156.1301.05'))
  })
})

describe('content ids', () => {
  it('accepts CIDv1 sha2-256 only and checks blocks by hash', () => {
    const bytes = new TextEncoder().encode('block')
    const cid = contentIdOf(RAW, bytes)
    assert.ok(blockMatches(cid, bytes))
    assert.ok(!blockMatches(cid, new TextEncoder().encode('blocK')))
    assert.equal(parseContentId(cid.toString()).toString(), cid.toString())
    expectError(() => parseContentId('QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'), 'InvalidContentIdError')
    expectError(() => parseContentId('not a cid'), 'InvalidContentIdError')
  })
})
