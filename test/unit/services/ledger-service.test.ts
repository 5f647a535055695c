import assert from 'node:assert/strict'
import { defaultLogger } from '@libp2p/logger'
import { MemoryDatastore } from 'datastore-core'
import { sha256 } from '../../../src/core/crypto/hash.ts'
import { verifyForkEvidence } from '../../../src/core/ledger/fork.ts'
import { signTreeHead } from '../../../src/core/ledger/tree-head.ts'
import { encodeHeadRecord } from '../../../src/core/record/head-record.ts'
import { RecordValidator } from '../../../src/core/record/validator.ts'
import { ledger } from '../../../src/services/ledger/index.ts'
import type { Ledger, LedgerInit } from '../../../src/services/ledger/index.ts'
import { cityRecord, hierarchy, NOW } from '../../utils/fixtures.ts'

const h = hierarchy()

function authority (init: LedgerInit = {}, datastore = new MemoryDatastore()): { ledger: Ledger, validator: RecordValidator } {
  const validator = new RecordValidator(h.anchors, { now: () => NOW })
  return {
    validator,
    ledger: ledger(init)({ datastore, validator, signer: () => h.city, identity: () => ({ namespace: 'MA.156.1301', chain: h.chain }), now: () => NOW, logger: defaultLogger() })
  }
}

function watcher (datastore = new MemoryDatastore()): { ledger: Ledger, validator: RecordValidator } {
  const validator = new RecordValidator(h.anchors, { now: () => NOW })
  return { validator, ledger: ledger()({ datastore, validator, signer: () => undefined, identity: () => undefined, now: () => NOW, logger: defaultLogger() }) }
}

const record = (i: number): Uint8Array => cityRecord(h, { seq: i, issuedAt: NOW - 1000 + i }).bytes

describe('ledger service (no network)', () => {
  const started: Ledger[] = []
  afterEach(async () => { await Promise.all(started.splice(0).map(async l => { await l.stop() })) })
  const start = async <T extends { ledger: Ledger }>(x: T): Promise<T> => { await x.ledger.start(); started.push(x.ledger); return x }

  it('batches heads: many appends within the interval share one signed head', async () => {
    const { ledger: l } = await start(authority({ headIntervalMs: 150 }))
    for (let i = 1; i <= 20; i++) await l.appendRecord(record(i))
    assert.equal(l.size, 20)
    assert.equal(await l.appendRecord(record(20)), 19, 'a version already logged is not logged twice')
    await new Promise(resolve => setTimeout(resolve, 400))
    assert.equal(l.counters.headsSigned, 1)
    assert.equal(l.head()?.sth.head.size, 20)
    await l.appendAllocation('MA.156.1301.01', h.cityCert.bytes)
    assert.equal((await l.signHead())?.sth.head.size, 21, 'on demand')
    assert.equal(l.counters.headsSigned, 2)
    assert.equal(await l.signHead(), l.head(), 'nothing new: the same head')
  })

  it('checks heads of another log: first, consistent with a proof, fork with evidence and distrust, persisted', async () => {
    const a = await start(authority({ headIntervalMs: 10_000 }))
    const wds = new MemoryDatastore()
    const w = await start(watcher(wds))
    for (let i = 1; i <= 3; i++) await a.ledger.appendRecord(record(i))
    const h3 = (await a.ledger.signHead())!
    assert.equal(await w.ledger.checkHead(h3.bytes), 'first')
    for (let i = 4; i <= 6; i++) await a.ledger.appendRecord(record(i))
    const h6 = (await a.ledger.signHead())!
    assert.equal(await w.ledger.checkHead(h6.bytes, { proof: { fromSize: 3, hashes: a.ledger.consistencyProof(3, 6) } }), 'consistent')
    assert.equal(w.ledger.knownHead('MA.156.1301')?.sth.head.size, 6)
    assert.equal(await w.ledger.checkHead(h6.bytes), 'same')
    // an older head and no one to ask for a proof: undecided, nothing changes
    assert.equal(await w.ledger.checkHead(h3.bytes), 'undecided')
    // a wrong proof decides nothing either
    assert.equal(await w.ledger.checkHead(h6.bytes, { proof: { fromSize: 3, hashes: a.ledger.consistencyProof(2, 6) } }), 'same')

    const forked = encodeHeadRecord({ head: signTreeHead({ log: 'MA.156.1301', size: 6, root: sha256(new Uint8Array([6])), time: NOW }, h.city), key: h.city.publicKey, chain: h.chain })
    w.validator.validate(record(7))
    assert.equal(await w.ledger.checkHead(forked), 'fork')
    const [alarm] = w.ledger.alarms()
    assert.equal(alarm?.log, 'MA.156.1301')
    assert.equal(verifyForkEvidence(alarm!.evidence, h.city.publicKey).kind, 'same-size')
    assert.throws(() => w.validator.validate(record(7)), { name: 'DistrustedAuthorityError' })

    // a restart keeps the alarm (and the distrust) and the held head
    await w.ledger.stop()
    const again = await start(watcher(wds))
    assert.equal(again.ledger.alarms().length, 1)
    assert.equal(again.ledger.knownHead('MA.156.1301')?.sth.head.size, 6)
    assert.throws(() => again.validator.validate(record(7)), { name: 'DistrustedAuthorityError' })
    assert.equal(await again.ledger.clearAlarm(h.city.publicKey), true)
    assert.equal(again.validator.validate(record(7)).record.body.seq, 7)
    assert.equal(again.ledger.alarms().length, 0)
  })

  it('an authority never distrusts its own key, and reconciles nothing without stores', async () => {
    const a = await start(authority())
    await a.ledger.appendRecord(record(1))
    const own = (await a.ledger.signHead())!
    assert.equal(await a.ledger.checkHead(own.bytes), 'own')
    assert.equal(a.validator.distrusted().length, 0)
  })

  it('requireCosignatures refuses a head without enough witness cosignatures', async () => {
    const a = await start(authority())
    await a.ledger.appendRecord(record(1))
    await a.ledger.signHead()
    const verified = a.validator.validate(record(1))
    await assert.rejects(a.ledger.requireCosignatures(verified, { k: 1, witnesses: [h.country.publicKey] }), { name: 'InsufficientCosignaturesError' })
    await a.ledger.requireCosignatures(verified, { k: 0, witnesses: [] })
  })
})
