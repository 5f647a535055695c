import assert from 'node:assert/strict'
import { Record as DhtRecord } from '@libp2p/kad-dht'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { GuardedDhtDatastore } from '../../../src/network/dht/guarded-datastore.ts'

const encoder = new TextEncoder()
const recordKey = (code: string): Uint8Array => encoder.encode(`/citycode/r/${code}`)
/** Where kad-dht puts a record (the key itself is opaque to the guard: it reads the record's own key). */
const dsKey = (code: string): Key => new Key(`/dht/record/${code}`)
const entry = (code: string, version: number): Uint8Array => new DhtRecord(recordKey(code), Uint8Array.of(version), new Date()).serialize()

/** Values are `[version]`; the newest wins; version 0 is invalid. */
const policy = {
  validate: async (_key: Uint8Array, value: Uint8Array): Promise<void> => { if (value[0] === 0) throw new Error('invalid') },
  select: (_key: Uint8Array, values: Uint8Array[]): number => values.reduce((best, v, i) => ((v[0] ?? 0) > (values[best]?.[0] ?? 0) ? i : best), 0)
}

describe('GuardedDhtDatastore', () => {
  it('concurrent stores of one key keep the preferred value whatever order they run in', async () => {
    const store = new GuardedDhtDatastore(new MemoryDatastore(), policy)
    // the losers are refused (DhtRollbackError), depending on the order
    await Promise.allSettled([5, 2, 9, 1, 7].map(async v => await store.put(dsKey('MA.156.1301'), entry('MA.156.1301', v))))
    assert.equal(DhtRecord.deserialize(await store.get(dsKey('MA.156.1301'))).value[0], 9)
  })

  it('an invalid held value is replaced by anything, and read back as absent', async () => {
    const inner = new MemoryDatastore()
    const store = new GuardedDhtDatastore(inner, policy)
    await inner.put(dsKey('MA.156.1302'), entry('MA.156.1302', 0))
    await assert.rejects(store.get(dsKey('MA.156.1302')), { name: 'NotFoundError' })
    assert.equal(await inner.has(dsKey('MA.156.1302')), false, 'deleted on read')
    await inner.put(dsKey('MA.156.1302'), entry('MA.156.1302', 0))
    await store.put(dsKey('MA.156.1302'), entry('MA.156.1302', 1))
    assert.equal(DhtRecord.deserialize(await store.get(dsKey('MA.156.1302'))).value[0], 1)
  })

  it('counts what a persisted store already holds, so quotas survive a restart', async () => {
    const inner = new MemoryDatastore()
    for (let i = 0; i < 3; i++) await inner.put(dsKey(`MA.156.14${i}0`), entry(`MA.156.14${i}0`, 1))
    const store = new GuardedDhtDatastore(inner, policy, { maxRecords: 4 })
    await store.fromPeer('peer-a', async () => { await store.put(dsKey('MA.156.1500'), entry('MA.156.1500', 1)) })
    await assert.rejects(store.fromPeer('peer-a', async () => { await store.put(dsKey('MA.156.1510'), entry('MA.156.1510', 1)) }), { name: 'DhtQuotaExceededError' })
    // the node's own stores are never refused by quotas
    await store.put(dsKey('MA.156.1520'), entry('MA.156.1520', 1))
    await store.delete(dsKey('MA.156.1500'))
    const usage = await store.usage()
    assert.equal(usage.records, 4)
    assert.equal(usage.recordsByPeer.get('peer-a'), undefined)
  })

  it('passes keys other than records and provider records through untouched', async () => {
    const inner = new MemoryDatastore()
    const store = new GuardedDhtDatastore(inner, policy)
    await store.put(new Key('/peers/x'), Uint8Array.of(1, 2, 3))
    assert.deepEqual(await inner.get(new Key('/peers/x')), Uint8Array.of(1, 2, 3))
  })
})
