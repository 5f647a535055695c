import assert from 'node:assert/strict'
import { defaultLogger } from '@libp2p/logger'
import { MemoryDatastore } from 'datastore-core'
import { RecordValidator, decodeRecord, sha256, equalBytes } from '../../../src/core/index.ts'
import { publisher } from '../../../src/services/publisher/index.ts'
import { RecordStore } from '../../../src/storage/record-store.ts'
import { DAY_MS, hierarchy, NOW } from '../../utils/fixtures.ts'
import { eventually } from '../../utils/citycode-network.ts'

describe('publisher', () => {
  const h = hierarchy()
  function make (clock: { now: number }, validityMs = 7 * DAY_MS, holder: 'city' | 'country' = 'city'): { p: ReturnType<ReturnType<typeof publisher>>, sent: Uint8Array[], put: Uint8Array[], store: RecordStore } {
    const sent: Uint8Array[] = []
    const put: Uint8Array[] = []
    const store = new RecordStore(new MemoryDatastore())
    const p = publisher({ recordValidityMs: validityMs })({
      signer: () => holder === 'city' ? h.city : h.country,
      chain: () => holder === 'city' ? h.chain : [h.countryCert.bytes],
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

  it('a country\'s first version is gossiped: every node keeps authority records as its directory', async () => {
    const { p, sent } = make({ now: NOW }, 7 * DAY_MS, 'country')
    const a = await p.publish('MA.156', [{ type: 'name', lang: 'en', value: 'China' }])
    assert.equal(sent.length, 1)
    assert.ok(equalBytes(sent[0] as Uint8Array, a.record.bytes))
  })

  it('versions form a hash chain with rising seq, each stored and put, updates gossiped (a city code\'s first version changes no cache)', async () => {
    const clock = { now: NOW }
    const { p, sent, put, store } = make(clock)
    const a = await p.publish('MA.156.1301', [{ type: 'name', lang: 'en', value: 'v1' }])
    clock.now += 1000
    const b = await p.publish('MA.156.1301', [{ type: 'name', lang: 'en', value: 'v2' }])
    assert.equal(a.record.body.seq, 1)
    assert.equal(b.record.body.seq, 2)
    assert.ok(b.record.body.prev !== null && equalBytes(b.record.body.prev, sha256(a.record.bytes)))
    assert.equal(sent.length, 1)
    assert.ok(equalBytes(sent[0] as Uint8Array, b.record.bytes), 'only the update is gossiped')
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
    assert.equal((await p.republish()).records, 2)
    assert.deepEqual(put.slice(2).map(b => decodeRecord(b).body.seq), [1, 1], 'fresh: same versions re-sent')
    clock.now += 5 * DAY_MS
    await p.republish()
    assert.deepEqual(put.slice(4).map(b => decodeRecord(b).body.seq), [2, 2], 'past half their validity: re-signed')
  })

  describe('a holder of many sub-codes', () => {
    function city (batch: number): { p: ReturnType<ReturnType<typeof publisher>>, clock: { now: number }, gossiped: string[], put: string[], pushed: string[] } {
      const clock = { now: NOW }
      const gossiped: string[] = []
      const put: string[] = []
      const pushed: string[] = []
      const p = publisher({ recordValidityMs: 10 * DAY_MS, republishBatch: batch })({
        signer: () => h.city,
        chain: () => h.chain,
        ownCode: () => 'MA.156.1301',
        validator: new RecordValidator(h.anchors, { now: () => clock.now }),
        store: new RecordStore(new MemoryDatastore()),
        targets: {
          gossip: async (bytes) => { gossiped.push(decodeRecord(bytes).body.code) },
          dhtPut: async (code) => { put.push(code); return 3 },
          push: async (bytes) => { pushed.push(decodeRecord(bytes).body.code) }
        },
        now: () => clock.now,
        logger: defaultLogger()
      })
      return { p, clock, gossiped, put, pushed }
    }
    const subCodes = (n: number): string[] => Array.from({ length: n }, (_, i) => `MA.156.1301.${String(i + 1).padStart(2, '0')}`)

    it('pushes only its own record to the parent: the parent keeps its direct children, not their sub-codes', async () => {
      const { p, pushed } = city(100)
      await p.publish('MA.156.1301', [])
      for (const code of subCodes(5)) await p.publish(code, [])
      assert.deepEqual(pushed, ['MA.156.1301'])
      await p.stop()
    })

    it('republish re-announces its own record in full and sends sub-codes to the DHT in turns of the batch, covering all of them', async () => {
      const { p, gossiped, put, pushed } = city(100)
      await p.publish('MA.156.1301', [])
      await p.publish('MA.156.1301', [{ type: 'name', lang: 'en', value: 'v2' }])
      const codes = subCodes(250)
      for (const code of codes) await p.publish(code, [])
      gossiped.length = 0
      put.length = 0
      pushed.length = 0
      const turns: string[][] = []
      for (let i = 0; i < 3; i++) {
        const before = put.length
        const report = await p.republish()
        assert.deepEqual({ ...report }, { records: 251, resigned: 0, dhtPuts: 101, gossiped: 1, pushed: 1 }, `turn ${i + 1}`)
        turns.push(put.slice(before).filter(c => c !== 'MA.156.1301'))
      }
      assert.deepEqual(gossiped, ['MA.156.1301', 'MA.156.1301', 'MA.156.1301'], 'no sub-code announced again')
      assert.deepEqual(pushed, ['MA.156.1301', 'MA.156.1301', 'MA.156.1301'])
      assert.equal(new Set([...(turns[0] as string[]), ...(turns[1] as string[])]).size, 200, 'two turns, two distinct batches')
      assert.deepEqual(new Set(turns.flat()), new Set(codes), 'three turns of 100 reach all 250, then start again')
      await p.stop()
    })

    it('re-signs sub-codes close to expiry without announcing them: their values did not change', async () => {
      const { p, clock, gossiped } = city(10)
      await p.publish('MA.156.1301', [])
      for (const code of subCodes(20)) await p.publish(code, [])
      clock.now += 6 * DAY_MS
      const report = await p.republish()
      assert.equal(report.resigned, 21)
      assert.deepEqual(gossiped, ['MA.156.1301'], 'the re-signed own record (seq 2) only')
      await p.stop()
    })
  })

  describe('push to the parent', () => {
    function withPush (failures: number, init: { pushRetryFirstDelayMs: number, pushRetryForMs?: number }): { p: ReturnType<ReturnType<typeof publisher>>, pushed: Uint8Array[], attempts: () => number } {
      let attempts = 0
      const pushed: Uint8Array[] = []
      const clock = { now: NOW }
      const p = publisher(init)({
        signer: () => h.city,
        chain: () => h.chain,
        validator: new RecordValidator(h.anchors, { now: () => clock.now }),
        store: new RecordStore(new MemoryDatastore()),
        targets: {
          gossip: async () => {},
          dhtPut: async () => 1,
          push: async (bytes) => {
            attempts++
            if (attempts <= failures) throw new Error('parent unreachable (partition)')
            pushed.push(bytes)
          }
        },
        now: () => clock.now,
        logger: defaultLogger()
      })
      return { p, pushed, attempts: () => attempts }
    }

    it('a push the parent did not take is retried until it is, with the latest version', async () => {
      const { p, pushed, attempts } = withPush(3, { pushRetryFirstDelayMs: 10 })
      await p.start()
      try {
        await p.publish('MA.156.1301', [{ type: 'name', lang: 'en', value: 'v1' }])
        await p.publish('MA.156.1301', [{ type: 'name', lang: 'en', value: 'v2' }])
        assert.equal(pushed.length, 0)
        assert.ok(await eventually(() => pushed.length > 0, 5_000), `delivered after ${attempts()} attempts`)
        assert.equal(decodeRecord(pushed[0]!).body.seq, 2, 'the retry sends the newest stored version')
        await new Promise(resolve => setTimeout(resolve, 200))
        assert.equal(pushed.length, 1, 'no more pushes once delivered')
      } finally {
        await p.stop()
      }
    })

    it('a parent that becomes reachable again gets the pending push at once, not at the retry time', async () => {
      const { p, pushed, attempts } = withPush(1, { pushRetryFirstDelayMs: 60_000 })
      await p.start()
      try {
        await p.publish('MA.156.1301', [{ type: 'name', lang: 'en', value: 'v1' }])
        assert.equal(attempts(), 1)
        p.parentReachable()
        assert.ok(await eventually(() => pushed.length > 0, 2_000), 'delivered long before the 60 s retry')
        assert.equal(decodeRecord(pushed[0]!).body.seq, 1)
        p.parentReachable()
        await new Promise(resolve => setTimeout(resolve, 50))
        assert.equal(attempts(), 2, 'nothing pending once delivered: no further push')
      } finally {
        await p.stop()
      }
    })

    it('gives up after the retry window, and stop cancels pending retries', async () => {
      const { p, pushed, attempts } = withPush(1_000, { pushRetryFirstDelayMs: 10, pushRetryForMs: 100 })
      await p.start()
      await p.publish('MA.156.1301', [])
      await new Promise(resolve => setTimeout(resolve, 400))
      const tried = attempts()
      assert.ok(tried >= 3 && tried <= 6, `${tried} attempts within a 100 ms window of doubling delays from 10 ms`)
      await new Promise(resolve => setTimeout(resolve, 200))
      assert.equal(attempts(), tried, 'no attempt after giving up')
      assert.equal(pushed.length, 0)
      const again = withPush(1_000, { pushRetryFirstDelayMs: 50 })
      await again.p.start()
      await again.p.publish('MA.156.1301', [])
      await again.p.stop()
      await new Promise(resolve => setTimeout(resolve, 150))
      assert.equal(again.attempts(), 1, 'a stopped publisher retries nothing')
    })
  })
})
