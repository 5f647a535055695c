import assert from 'node:assert/strict'
import { defaultLogger } from '@libp2p/logger'
import { MemoryDatastore } from 'datastore-core'
import { RecordValidator, decodeRecord, sha256, equalBytes } from '../../../src/core/index.ts'
import { publisher } from '../../../src/services/publisher/index.ts'
import { RecordStore } from '../../../src/storage/record-store.ts'
import { DAY_MS, hierarchy, NOW } from '../../utils/fixtures.ts'

describe('publisher', () => {
  const h = hierarchy()
  function make (clock: { now: number }, validityMs = 7 * DAY_MS): { p: ReturnType<ReturnType<typeof publisher>>, sent: Uint8Array[], put: Uint8Array[], store: RecordStore } {
    const sent: Uint8Array[] = []
    const put: Uint8Array[] = []
    const store = new RecordStore(new MemoryDatastore())
    const p = publisher({ recordValidityMs: validityMs })({
      signer: () => h.city,
      chain: () => h.chain,
      validator: new RecordValidator(h.anchors, { now: () => clock.now }),
      store,
      targets: {
        gossip: async (bytes) => { sent.push(bytes) },
        dhtPut: async (_code, bytes) => { put.push(bytes); return 3 }
      },
      now: () => clock.now,
      logger: defaultLogger()
    })
    return { p, sent, put, store }
  }

  it('versions form a hash chain with rising seq, each stored, gossiped and put', async () => {
    const clock = { now: NOW }
    const { p, sent, put, store } = make(clock)
    const a = await p.publish('MA.156.1301', [{ type: 'name', lang: 'en', value: 'v1' }])
    clock.now += 1000
    const b = await p.publish('MA.156.1301', [{ type: 'name', lang: 'en', value: 'v2' }])
    assert.equal(a.record.body.seq, 1)
    assert.equal(b.record.body.seq, 2)
    assert.ok(b.record.body.prev !== null && equalBytes(b.record.body.prev, sha256(a.record.bytes)))
    assert.equal(sent.length, 2)
    assert.equal(put.length, 2)
    assert.equal(b.dhtPeers, 3)
    assert.equal(decodeRecord((await store.get('own', 'MA.156.1301'))!.bytes).body.seq, 2)
  })

  it('refuses to publish what other nodes would refuse (a code outside its namespace)', async () => {
    const { p, sent } = make({ now: NOW })
    await assert.rejects(p.publish('MA.156.1302', []), { name: 'PublishError' })
    assert.equal(sent.length, 0)
  })

  it('republish re-sends fresh records as they are and re-signs those past half their validity', async () => {
    const clock = { now: NOW }
    const { p, put } = make(clock, 10 * DAY_MS)
    await p.publish('MA.156.1301', [])
    await p.publish('MA.156.1301.01', [])
    clock.now += DAY_MS
    assert.equal(await p.republish(), 2)
    assert.deepEqual(put.slice(2).map(b => decodeRecord(b).body.seq), [1, 1], 'fresh: same versions re-sent')
    clock.now += 5 * DAY_MS
    await p.republish()
    assert.deepEqual(put.slice(4).map(b => decodeRecord(b).body.seq), [2, 2], 'past half their validity: re-signed')
  })
})
