import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import type { Batch, Datastore } from 'interface-datastore'
import { encodeCbor } from '../../../src/core/codec/cbor.ts'
import { sha256 } from '../../../src/core/crypto/hash.ts'
import { encodeLeaf, MerkleLog } from '../../../src/core/ledger/log.ts'
import type { LedgerEntry } from '../../../src/core/ledger/log.ts'
import { leafHash } from '../../../src/core/ledger/merkle.ts'
import { verifyConsistency, verifyInclusion } from '../../../src/core/ledger/proofs.ts'
import { signTreeHead } from '../../../src/core/ledger/tree-head.ts'
import { encodeHeadRecord } from '../../../src/core/record/head-record.ts'
import { closeDatastore, openDatastore } from '../../../src/storage/datastore.ts'
import { DEFAULT_LEDGER_PREFIX, LedgerStore } from '../../../src/storage/ledger-store.ts'
import { hierarchy, NOW } from '../../utils/fixtures.ts'

const h = hierarchy()
const entry = (i: number): LedgerEntry => ({ type: 'record', code: 'MA.156.1301', seq: i + 1, time: NOW + i, object: sha256(new Uint8Array([i])) })
const pad = (i: number): string => String(i).padStart(16, '0')

async function signedHead (store: LedgerStore, size = store.size): Promise<void> {
  const sth = signTreeHead({ log: 'MA.156.1301', size, root: store.root(size), time: NOW }, h.city)
  await store.saveHead(encodeHeadRecord({ head: sth, key: h.city.publicKey, chain: h.chain }))
}

describe('LedgerStore', () => {
  it('appends, serves proofs, and reopens to the same log and head', async () => {
    const ds = new MemoryDatastore()
    const store = await LedgerStore.open(ds)
    assert.equal(await store.append([entry(0), entry(1)]), 0)
    assert.equal(await store.append([entry(2)]), 2)
    const reference = new MerkleLog()
    for (let i = 0; i < 3; i++) reference.appendEntry(entry(i))
    assert.deepEqual(store.root(), reference.root())
    await signedHead(store)
    for (let i = 0; i < 3; i++) verifyInclusion(leafHash(encodeLeaf(entry(i))), i, 3, store.inclusionProof(i), store.root())
    await store.append([entry(3), entry(4)])
    verifyConsistency(3, 5, store.root(3), store.root(5), store.consistencyProof(3, 5))
    assert.ok(store.has(entry(4)))
    assert.deepEqual(store.indicesOf('MA.156.1301'), [0, 1, 2, 3, 4])

    const again = await LedgerStore.open(ds)
    assert.equal(again.size, 5)
    assert.deepEqual(again.root(), store.root())
    assert.equal(again.head?.sth.head.size, 3)
    assert.deepEqual(await again.entries(1, 3), [encodeLeaf(entry(1)), encodeLeaf(entry(2))])
    assert.equal(again.recovery.droppedTail, 0)
    await assert.rejects(again.entries(4, 6), { name: 'InvalidProofError' })
  })

  it('an append whose batch fails leaves neither the store nor the in-memory tree changed', async () => {
    const ds = new MemoryDatastore()
    let fail = false
    const flaky: Datastore = Object.create(ds, {
      batch: {
        value: (): Batch => {
          const b = ds.batch()
          return { put: (k, v) => { b.put(k, v) }, delete: (k) => { b.delete(k) }, commit: async () => { if (fail) throw new Error('disk full'); await b.commit() } }
        }
      }
    })
    const store = await LedgerStore.open(flaky)
    await store.append([entry(0)])
    fail = true
    await assert.rejects(store.append([entry(1), entry(2)]), /disk full/)
    assert.equal(store.size, 1)
    fail = false
    assert.equal(await store.append([entry(1)]), 1)
    assert.equal((await LedgerStore.open(ds)).size, 2)
  })

  it('recovery drops a torn tail no signed head covers', async () => {
    const ds = new MemoryDatastore()
    const store = await LedgerStore.open(ds)
    await store.append([entry(0), entry(1), entry(2)])
    await signedHead(store, 2)
    // a store whose batches are not atomic: entry 3 written, the counter not
    await ds.put(new Key(`${DEFAULT_LEDGER_PREFIX}/entry/${pad(3)}`), encodeLeaf(entry(3)))
    await ds.put(new Key(`${DEFAULT_LEDGER_PREFIX}/hash/${pad(3)}`), leafHash(encodeLeaf(entry(3))))
    let reopened = await LedgerStore.open(ds)
    assert.equal(reopened.size, 3)
    assert.equal(reopened.recovery.droppedTail, 1)
    assert.equal(await ds.has(new Key(`${DEFAULT_LEDGER_PREFIX}/entry/${pad(3)}`)), false)
    // the counter written, the last entry not (and a half-written one: no hash)
    await ds.put(new Key(`${DEFAULT_LEDGER_PREFIX}/size`), encodeCbor(5))
    await ds.put(new Key(`${DEFAULT_LEDGER_PREFIX}/entry/${pad(3)}`), encodeLeaf(entry(3)))
    reopened = await LedgerStore.open(ds)
    assert.equal(reopened.size, 3)
    assert.equal(reopened.recovery.droppedTail, 2)
    // an entry beyond the head whose bytes do not match its hash is a torn write too
    await ds.put(new Key(`${DEFAULT_LEDGER_PREFIX}/entry/${pad(2)}`), encodeLeaf(entry(7)))
    reopened = await LedgerStore.open(ds)
    assert.equal(reopened.size, 2)
    assert.equal(reopened.head?.sth.head.size, 2)
    assert.equal(await reopened.append([entry(2)]), 2)
  })

  it('recovery never drops a signed entry: a missing or damaged one is a StorageError', async () => {
    const ds = new MemoryDatastore()
    const store = await LedgerStore.open(ds)
    await store.append([entry(0), entry(1), entry(2)])
    await signedHead(store)
    await ds.put(new Key(`${DEFAULT_LEDGER_PREFIX}/entry/${pad(1)}`), encodeLeaf(entry(9)))
    await assert.rejects(LedgerStore.open(ds), { name: 'StorageError' })
    await ds.put(new Key(`${DEFAULT_LEDGER_PREFIX}/entry/${pad(1)}`), encodeLeaf(entry(1)))
    await ds.delete(new Key(`${DEFAULT_LEDGER_PREFIX}/hash/${pad(2)}`))
    await assert.rejects(LedgerStore.open(ds), { name: 'StorageError' })
  })

  it('refuses to store a head that does not match the log', async () => {
    const store = await LedgerStore.open(new MemoryDatastore())
    await store.append([entry(0), entry(1)])
    const sth = signTreeHead({ log: 'MA.156.1301', size: 2, root: sha256(new Uint8Array([1])), time: NOW }, h.city)
    await assert.rejects(store.saveHead(encodeHeadRecord({ head: sth, key: h.city.publicKey, chain: h.chain })), { name: 'StorageError' })
    await signedHead(store, 2)
    await assert.rejects(signedHead(store, 1), { name: 'StorageError' }, 'never an older head')
  })

  it('works on LevelDB: appends survive closing and reopening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citycode-ledger-store-'))
    try {
      let ds = await openDatastore(dir)
      const store = await LedgerStore.open(ds)
      await store.append([entry(0), entry(1), entry(2)])
      await signedHead(store)
      const root = store.root()
      await closeDatastore(ds)
      ds = await openDatastore(dir)
      const again = await LedgerStore.open(ds)
      assert.equal(again.size, 3)
      assert.deepEqual(again.root(), root)
      assert.equal(again.head?.sth.head.size, 3)
      await closeDatastore(ds)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
