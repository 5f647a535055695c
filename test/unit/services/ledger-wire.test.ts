import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encodeCbor } from '../../../src/core/codec/cbor.ts'
import { sha256 } from '../../../src/core/crypto/hash.ts'
import { InvalidProofError } from '../../../src/core/ledger/errors.ts'
import { MerkleLog } from '../../../src/core/ledger/log.ts'
import { signTreeHead } from '../../../src/core/ledger/tree-head.ts'
import { compareTreeHeads } from '../../../src/core/ledger/fork.ts'
import { decodeHeadRecord, dhtKeyKind, encodeHeadRecord, headKey, logFromHeadKey } from '../../../src/core/record/head-record.ts'
import { recordKey } from '../../../src/core/record/dht-key.ts'
import { RecordValidator } from '../../../src/core/record/validator.ts'
import { decodeHeadsMessage, encodeHeadsMessage, verifyHeadsMessage } from '../../../src/network/gossip/heads.ts'
import {
  decodeLedgerRequest, decodeLedgerResponse, encodeLedgerRequest, encodeLedgerResponse, LEDGER_REQUEST_MAX_BYTES, MAX_ENTRIES_PER_REQUEST, UnknownLogError
} from '../../../src/network/protocols/ledger.ts'
import { configSchema } from '../../../src/interfaces/config/schema.ts'
import { ledgerOf } from '../../../src/interfaces/runtime/node-from-config.ts'
import { DEFAULT_SCORED_TOPICS } from '../../../src/network/node/constants.ts'
import { HEADS_TOPIC } from '../../../src/network/gossip/heads.ts'
import { cityRecord, hierarchy, NOW } from '../../utils/fixtures.ts'

const h = hierarchy()
const validator = (): RecordValidator => new RecordValidator(h.anchors, { now: () => NOW })
const log = new MerkleLog()
for (let i = 0; i < 5; i++) log.appendEntry({ type: 'record', code: 'MA.156.1301', seq: i + 1, time: NOW, object: sha256(new Uint8Array([i])) })
const head = (size: number, root = log.root(size), signer = h.city): Uint8Array =>
  encodeHeadRecord({ head: signTreeHead({ log: 'MA.156.1301', size, root, time: NOW - 1000 }, signer), key: h.city.publicKey, chain: h.chain })

describe('ledger wire formats', () => {
  it('requests round-trip and are decoded strictly', () => {
    const requests = [
      { op: 'get-head', log: 'MA.156' },
      { op: 'get-consistency', log: 'MA.156', oldSize: 3, newSize: 9 },
      { op: 'get-inclusion', log: 'MA.156', index: 2, size: 9 },
      { op: 'get-entries', log: 'MA.156', from: 0, to: 256 },
      { op: 'cosign', record: head(3) },
      { op: 'prove-record', log: 'MA.156', code: 'MA.156', object: new Uint8Array(32).fill(7) }
    ] as const
    for (const r of requests) assert.deepEqual(decodeLedgerRequest(encodeLedgerRequest(r)), r)
    const bad = [
      encodeCbor({ v: 1, op: 'get-head', log: 'MA.156', extra: 1 }),
      encodeCbor({ v: 2, op: 'get-head', log: 'MA.156' }),
      encodeCbor({ v: 1, op: 'drop-table', log: 'MA.156' }),
      encodeCbor({ v: 1, op: 'get-entries', log: 'MA.156', from: 0, to: MAX_ENTRIES_PER_REQUEST + 1 }),
      encodeCbor({ v: 1, op: 'get-consistency', log: 'MA.156', oldSize: 5, newSize: 3 }),
      encodeCbor({ v: 1, op: 'get-inclusion', log: 'MA.156', index: -1, size: 3 }),
      encodeCbor({ v: 1, op: 'prove-record', log: 'MA.156', code: 'MA.156', object: new Uint8Array(31) }),
      new Uint8Array(LEDGER_REQUEST_MAX_BYTES + 1)
    ]
    for (const b of bad) assert.throws(() => decodeLedgerRequest(b), (err: Error) => ['MalformedRecordError', 'RecordTooLargeError'].includes(err.name), String(b.length))
    assert.throws(() => decodeLedgerRequest(encodeCbor({ v: 1, op: 'get-head', log: 'MA.156.13' })), { name: 'MalformedCodeError' })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (garbage) => {
      try {
        decodeLedgerRequest(garbage)
      } catch (err) {
        assert.ok((err as Error).name.endsWith('Error') && (err as Error).name !== 'TypeError', (err as Error).name)
      }
    }), { numRuns: 300 })
  })

  it('responses decode to their request kind; refusals come back as typed errors', () => {
    const proof = log.consistencyProof(2, 5)
    assert.deepEqual(decodeLedgerResponse(encodeLedgerResponse({ status: 'consistency', proof }), 'get-consistency').proof, proof)
    assert.throws(() => decodeLedgerResponse(encodeLedgerResponse({ status: 'consistency', proof }), 'get-head'), { name: 'MalformedRecordError' })
    assert.throws(() => decodeLedgerResponse(encodeLedgerResponse({ status: 'refused', error: new InvalidProofError('x', {}) }), 'get-head'), { name: 'InvalidProofError' })
    assert.throws(() => decodeLedgerResponse(encodeLedgerResponse({ status: 'refused', error: new UnknownLogError('x', {}) }), 'get-head'), { name: 'UnknownLogError' })
    assert.throws(() => decodeLedgerResponse(encodeLedgerResponse({ status: 'refused', error: new TypeError('secret stack') }), 'get-head'), { name: 'RemoteError' })
    assert.throws(() => decodeLedgerResponse(encodeCbor({ v: 1, status: 'consistency', proof: [new Uint8Array(31)] }), 'get-consistency'), { name: 'MalformedRecordError' })
  })

  it('head records: DHT keys, validation against the chain, selection of the larger tree', () => {
    const v = validator()
    assert.equal(logFromHeadKey(headKey('MA.156.1301')), 'MA.156.1301')
    assert.equal(dhtKeyKind(headKey('MA.156')), 'h')
    assert.equal(dhtKeyKind(recordKey('MA.156')), 'r')
    assert.equal(dhtKeyKind(new TextEncoder().encode('/ipns/abc')), undefined)
    v.validateDhtRecord(headKey('MA.156.1301'), head(3))
    assert.throws(() => { v.validateDhtRecord(headKey('MA.156.1302'), head(3)) }, { name: 'KeyMismatchError' })
    assert.throws(() => { v.validateDhtRecord(headKey('MA.156.1301'), head(3, log.root(3), h.country)) }, { name: 'BadSignatureError' })
    // the country's key is certified for MA.156, not for the city's log
    const countryHead = encodeHeadRecord({ head: signTreeHead({ log: 'MA.156.1301', size: 1, root: log.root(1), time: NOW }, h.country), key: h.country.publicKey, chain: [h.countryCert.bytes] })
    assert.throws(() => { v.validateDhtRecord(headKey('MA.156.1301'), countryHead) }, { name: 'NamespaceViolationError' })
    // a key of one's own under another's chain
    const impostor = encodeHeadRecord({ head: signTreeHead({ log: 'MA.156.1301', size: 1, root: log.root(1), time: NOW }, h.root), key: h.root.publicKey, chain: h.chain })
    assert.throws(() => { v.validateDhtRecord(headKey('MA.156.1301'), impostor) }, { name: 'WrongKeyError' })
    assert.throws(() => { v.validateDhtRecord(recordKey('MA.156.1301'), head(3)) }, { name: 'MalformedRecordError' })
    // records still go through the record rules under /citycode/r/
    v.validateDhtRecord(recordKey('MA.156.1301'), cityRecord(h).bytes)
    const values = [head(2), new Uint8Array([1, 2, 3]), head(5), head(4)]
    assert.equal(v.selectDhtRecord(headKey('MA.156.1301'), values), 2)
    assert.equal(decodeHeadRecord(values[2]!).sth.head.size, 5)
  })

  it('heads messages: a forged head or forged evidence is refused, real evidence accepted', () => {
    const v = validator()
    const update = encodeHeadsMessage({ type: 'head-update', record: head(5), fromSize: 3, proof: log.consistencyProof(3, 5) })
    assert.equal(verifyHeadsMessage(update, v).type, 'head-update')
    assert.deepEqual(decodeHeadsMessage(update), { type: 'head-update', record: head(5), fromSize: 3, proof: log.consistencyProof(3, 5) })
    const forged = encodeHeadsMessage({ type: 'head-update', record: head(5, log.root(5), h.root), fromSize: 0, proof: [] })
    assert.throws(() => verifyHeadsMessage(forged, v), { name: 'BadSignatureError' })
    assert.throws(() => verifyHeadsMessage(encodeHeadsMessage({ type: 'head-update', record: head(2), fromSize: 3, proof: [] }), v), { name: 'MalformedRecordError' })

    const a = decodeHeadRecord(head(3)).sth
    const b = decodeHeadRecord(head(3, sha256(new Uint8Array([7])))).sth
    const fork = compareTreeHeads(a, b, h.city.publicKey)
    assert.equal(fork.status, 'fork')
    const evidence = fork.status === 'fork' ? fork.evidence : new Uint8Array(0)
    const alarm = encodeHeadsMessage({ type: 'fork-alarm', evidence, key: h.city.publicKey, chain: h.chain })
    const verified = verifyHeadsMessage(alarm, v)
    assert.equal(verified.type === 'fork-alarm' && verified.fork.kind, 'same-size')
    // consistent heads are not evidence; evidence under a key certified for another log is refused
    const notFork = encodeHeadsMessage({ type: 'fork-alarm', evidence: encodeCbor({ v: 1, type: 'fork-evidence', a: a.bytes, b: a.bytes }), key: h.city.publicKey, chain: h.chain })
    assert.throws(() => verifyHeadsMessage(notFork, v), { name: 'InvalidForkEvidenceError' })
    const wrongBinding = encodeHeadsMessage({ type: 'fork-alarm', evidence, key: h.city.publicKey, chain: [h.countryCert.bytes] })
    assert.throws(() => verifyHeadsMessage(wrongBinding, v), { name: 'WrongKeyError' })
  })

  it('RecordValidator.distrust refuses records under a chain containing the key, until trusted again', () => {
    const v = validator()
    const record = cityRecord(h)
    v.validate(record.bytes)
    v.distrust(h.country.publicKey, { log: 'MA.156', reason: 'test' })
    assert.throws(() => v.validate(record.bytes), (err: Error & { code?: string }) => err.name === 'DistrustedAuthorityError' && err.code === 'ERR_DISTRUSTED_AUTHORITY')
    assert.deepEqual(v.distrusted().map(d => d.log), ['MA.156'])
    assert.equal(v.trust(h.country.publicKey), true)
    v.validate(record.bytes)
    v.distrust(h.city.publicKey)
    assert.throws(() => v.validate(record.bytes), { name: 'DistrustedAuthorityError' })
    assert.throws(() => { v.validateDhtRecord(recordKey('MA.156.1301'), record.bytes) }, { name: 'DistrustedAuthorityError' })
    // heads are still verified (fork evidence must keep travelling)
    v.validateHead(head(3))
  })

  it('witnesses and the cosignature requirement come from the config; the heads topic is scored', () => {
    const key = 'ab'.repeat(32)
    const config = configSchema.parse({ role: 'city', ledger: { witnesses: [{ addr: '/ip4/127.0.0.1/tcp/1/p2p/x', namespace: 'MA.156.1302' }], witness: true, requireCosignatures: { k: 1, witnesses: [key] } } })
    const init = ledgerOf(config.ledger!)
    assert.deepEqual(init.ledger, { witnesses: [{ addr: '/ip4/127.0.0.1/tcp/1/p2p/x', namespace: 'MA.156.1302' }], witness: true })
    assert.equal(init.resolver?.requireCosignatures?.k, 1)
    assert.equal(init.resolver?.requireCosignatures?.witnesses[0]?.length, 32)
    assert.equal(configSchema.safeParse({ role: 'city', ledger: { requireCosignatures: { k: 2, witnesses: [key] } } }).success, false)
    assert.ok(DEFAULT_SCORED_TOPICS.includes(HEADS_TOPIC))
  })
})
