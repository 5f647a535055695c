import assert from 'node:assert/strict'
import { ChainVerifier } from '../../../../src/core/index.ts'
import { MerkleLog } from '../../../../src/core/ledger/log.ts'
import { signTreeHead } from '../../../../src/core/ledger/tree-head.ts'
import { encodeHeadRecord } from '../../../../src/core/record/head-record.ts'
import { decodeRecordInclusion, encodeRecordInclusion, recordLedgerEntry, verifyRecordInclusion } from '../../../../src/core/record/record-inclusion.ts'
import { sha256 } from '../../../../src/core/crypto/hash.ts'
import { cityRecord, hierarchy, NOW, seededSigner } from '../../../utils/fixtures.ts'
import { errorName } from '../../../utils/errors.ts'

describe('record inclusion proofs', () => {
  const h = hierarchy()
  const chains = new ChainVerifier(h.anchors)
  const v1 = cityRecord(h, { seq: 1 })
  const v2 = cityRecord(h, { seq: 2, prev: sha256(v1.bytes) })
  const log = new MerkleLog()
  log.appendEntry({ type: 'allocation', code: 'MA.156.1301.01', time: NOW - 5000, object: sha256(new Uint8Array([1])) })
  const i1 = log.appendEntry(recordLedgerEntry(v1))
  const i2 = log.appendEntry(recordLedgerEntry(v2))
  log.appendEntry({ type: 'allocation', code: 'MA.156.1301.02', time: NOW - 100, object: sha256(new Uint8Array([2])) })
  const head = (signer = h.city, namespace = 'MA.156.1301', chain = h.chain): Uint8Array =>
    encodeHeadRecord({ head: signTreeHead({ log: namespace, size: log.size, root: log.root(), time: NOW }, signer), key: signer.publicKey, chain })
  const proofOf = (index: number, headBytes = head()): Uint8Array => encodeRecordInclusion({ head: headBytes, index, proof: log.inclusionProof(index) })
  const check = { now: NOW }

  it('a record version at its index under its signer\'s head verifies, and the encoding round-trips', () => {
    const bytes = proofOf(i2)
    const verified = verifyRecordInclusion(bytes, v2, 'MA.156.1301', chains, check)
    assert.equal(verified.record.sth.head.size, 4)
    const decoded = decodeRecordInclusion(bytes)
    assert.equal(decoded.index, i2)
    assert.deepEqual(encodeRecordInclusion(decoded), bytes)
    verifyRecordInclusion(proofOf(i1), v1, 'MA.156.1301', chains, check)
  })

  it('the proof of one version does not prove another', () => {
    assert.equal(errorName(() => verifyRecordInclusion(proofOf(i1), v2, 'MA.156.1301', chains, check)), 'InvalidProofError')
    assert.equal(errorName(() => verifyRecordInclusion(encodeRecordInclusion({ head: head(), index: i2, proof: log.inclusionProof(i1) }), v2, 'MA.156.1301', chains, check)), 'InvalidProofError')
  })

  it('a tampered proof hash, an index beyond the head, a truncated encoding are refused', () => {
    const good = log.inclusionProof(i2)
    const flipped = good.map((x, i) => i === 0 ? Uint8Array.from(x, (b, j) => j === 0 ? b ^ 1 : b) : x)
    assert.equal(errorName(() => verifyRecordInclusion(encodeRecordInclusion({ head: head(), index: i2, proof: flipped }), v2, 'MA.156.1301', chains, check)), 'InvalidProofError')
    assert.equal(errorName(() => verifyRecordInclusion(encodeRecordInclusion({ head: head(), index: 9, proof: good }), v2, 'MA.156.1301', chains, check)), 'InvalidProofError')
    const bytes = proofOf(i2)
    assert.equal(errorName(() => verifyRecordInclusion(bytes.subarray(0, bytes.length - 2), v2, 'MA.156.1301', chains, check)), 'MalformedRecordError')
  })

  it('a head by another key, of another log, or with an unanchored chain is refused', () => {
    // the country's key: certified, but for MA.156, and not the key that signed the record
    assert.equal(errorName(() => verifyRecordInclusion(proofOf(i2, head(h.country, 'MA.156', [h.countryCert.bytes])), v2, 'MA.156.1301', chains, check)), 'KeyMismatchError')
    const stranger = seededSigner(77)
    assert.equal(errorName(() => verifyRecordInclusion(proofOf(i2, head(stranger, 'MA.156.1301', [])), v2, 'MA.156.1301', chains, check)), 'UnknownAnchorError')
    assert.equal(errorName(() => verifyRecordInclusion(proofOf(i2, head(stranger, 'MA.156.1301', h.chain)), v2, 'MA.156.1301', chains, check)), 'WrongKeyError')
  })
})
