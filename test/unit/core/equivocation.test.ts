import assert from 'node:assert/strict'
import { createRecord, encodeCbor, findEquivocation, recordKey, RecordValidator, toHex, verifyEquivocationEvidence } from '../../../src/core/index.ts'
import type { SignedRecord } from '../../../src/core/index.ts'
import { cityRecord, DAY_MS, hierarchy, NOW, seededSigner } from '../../utils/fixtures.ts'

const h = hierarchy()
/** seq 5 twice, with different values: what an equivocating holder signs. */
const a = cityRecord(h, { seq: 5 })
const b = createRecord({ code: 'MA.156.1301', seq: 5, issuedAt: NOW - 1000, expiresAt: NOW + 30 * DAY_MS, ttl: 300_000, values: [{ type: 'service', name: 'pay', url: 'https://pay.attacker.example/' }] }, h.city, h.chain)

describe('equivocation (SPEC "Equivocation")', () => {
  it('two versions of one seq by one key are evidence, the same bytes whichever order they met in; anyone re-checks it', () => {
    const e1 = findEquivocation(a, b)
    const e2 = findEquivocation(b, a)
    assert.ok(e1 !== undefined && e2 !== undefined)
    assert.deepEqual(e1.bytes, e2.bytes)
    const v = verifyEquivocationEvidence(e1.bytes)
    assert.equal(v.code, 'MA.156.1301')
    assert.equal(v.seq, 5)
    assert.equal(toHex(v.key), toHex(h.city.publicKey))
  })

  it('not evidence: one record twice, other seqs, the same body under another chain', () => {
    assert.equal(findEquivocation(a, a), undefined)
    assert.equal(findEquivocation(a, cityRecord(h, { seq: 6 })), undefined)
    const sameBodyOtherChain: SignedRecord = { ...a, chain: [h.chain[0] as Uint8Array], bytes: encodeCbor({ body: a.bodyBytes, sig: a.sig, chain: [h.chain[0] as Uint8Array] }) }
    assert.equal(findEquivocation(a, sameBodyOtherChain), undefined)
  })

  it('forged evidence is refused with a typed error: a record not signed by its key, out of order, not a pair', () => {
    const e = findEquivocation(a, b)
    assert.ok(e !== undefined)
    const forgedB = { ...e.b, sig: seededSigner(9).sign('record', e.b.bodyBytes) }
    const forgedBytes = encodeCbor({ body: forgedB.bodyBytes, sig: forgedB.sig, chain: [...forgedB.chain] })
    const pair = [e.a.bytes, forgedBytes]
    assert.throws(() => verifyEquivocationEvidence(encodeCbor({ v: 1, type: 'equivocation-evidence', a: pair[0] as Uint8Array, b: pair[1] as Uint8Array })), (err: Error) => err.name === 'InvalidEquivocationEvidenceError')
    assert.throws(() => verifyEquivocationEvidence(encodeCbor({ v: 1, type: 'equivocation-evidence', a: e.b.bytes, b: e.a.bytes })), { name: 'InvalidEquivocationEvidenceError' })
    assert.throws(() => verifyEquivocationEvidence(encodeCbor({ v: 1, type: 'equivocation-evidence', a: a.bytes, b: cityRecord(h, { seq: 6 }).bytes })), { name: 'InvalidEquivocationEvidenceError' })
    assert.throws(() => verifyEquivocationEvidence(new Uint8Array([1, 2, 3])), { name: 'MalformedRecordError' })
  })

  it('the validator notes it wherever it compares them (DHT selection too), once, and refuses to pick one silently', () => {
    const validator = new RecordValidator(h.anchors, { now: () => NOW })
    const seen: string[] = []
    validator.onEquivocation((e) => { seen.push(`${e.code} ${e.seq}`) })
    // kad-dht selecting between the two values it found for the code
    validator.selectDhtRecord(recordKey('MA.156.1301'), [a.bytes, b.bytes])
    validator.compare(b, a)
    assert.deepEqual(seen, ['MA.156.1301 5'])
    assert.equal(validator.equivocationCount, 1)
    assert.throws(() => { validator.checkNotEquivocated(a) }, (err: Error & { code?: string, evidence?: Uint8Array }) => err.name === 'EquivocationError' && err.code === 'ERR_EQUIVOCATION' && err.evidence !== undefined && verifyEquivocationEvidence(err.evidence).seq === 5)
    // a later version supersedes both
    validator.checkNotEquivocated(cityRecord(h, { seq: 6 }))
  })
})
