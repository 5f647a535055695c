import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeCbor, recordKey } from '../../src/core/index.ts'
import type { SignedRecord } from '../../src/core/index.ts'
import { RECORDS_TOPIC } from '../../src/network/gossip/record-updates.ts'
import { closeDatastore } from '../../src/storage/datastore.ts'
import { eventually, openPersistentCity, startTestNetwork } from '../utils/citycode-network.ts'
import type { CitycodeNode } from '../../src/services/node/index.ts'
import type { TestNetwork } from '../utils/citycode-network.ts'

/** The record with one byte of its signed body changed, signature and chain kept. */
function forge (record: SignedRecord): Uint8Array {
  const body = Uint8Array.from(record.bodyBytes)
  body[body.length - 5] = (body[body.length - 5] as number) ^ 1
  return encodeCbor({ body, sig: record.sig, chain: [...record.chain] })
}

describe('city node network (memory transport, real libp2p nodes)', function () {
  this.timeout(120_000)
  let net: TestNetwork

  before(async () => { net = await startTestNetwork(6) })
  after(async () => { await net?.stop() })

  it('allocates GB/T 2260 codes by the rule, each once', () => {
    const codes = net.cities.map(c => c.identity?.namespace)
    assert.deepEqual([...codes].sort(), ['MA.156.1301', 'MA.156.1302', 'MA.156.1303', 'MA.156.1304', 'MA.156.1305', 'MA.156.1306'])
    assert.equal(net.country.identity?.namespace, 'MA.156')
  })

  it('a duplicate application returns the existing code', async () => {
    const city = net.cities[0]!
    const again = await city.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'again', officialCode: '130100' })
    assert.equal(again, city.identity?.namespace)
  })

  it('resolves cold by a direct question, then from the cache', async () => {
    const asker = net.cities[1]!
    const target = net.cities[4]!.identity!.namespace
    const cold = await asker.resolve(target)
    assert.equal(cold.source, 'direct')
    assert.equal(cold.verified.record.body.code, target)
    const warm = await asker.resolve(target)
    assert.equal(warm.source, 'cache')
    assert.ok(warm.elapsedMs < 5)
  })

  it('resolves through the DHT alone (no direct questions) with the holder offline', async () => {
    const holder = net.cities[5]!
    const code = holder.identity!.namespace
    // make sure the record reached the DHT before the holder goes away
    assert.ok((await holder.publishOwn()).dhtPeers > 0, 'record stored on DHT peers')
    await holder.stop()
    const asker = net.cities[2]!
    const r = await asker.resolve(code, { dhtOnly: true, fresh: true })
    assert.equal(r.source, 'dht')
    assert.equal(r.verified.record.body.code, code)
  })

  it('a gossiped update reaches every node that cached the record', async () => {
    const holder = net.cities[0]!
    const code = holder.identity!.namespace
    const others = net.cities.slice(1, 5)
    for (const o of others) await o.resolve(code)
    const { record } = await holder.publishOwn([{ type: 'data', name: 'update', value: 'two' }])
    const reached = await eventually(() => others.every(o => o.resolver.cached(code)?.record.body.seq === record.body.seq), 15_000)
    assert.ok(reached, 'every node sees the new seq in its cache')
  })

  it('a forged record is refused by the gossip validator and never replaces the real one', async () => {
    const attacker = net.cities[3]!
    const victim = net.cities[1]!.identity!.namespace
    const real = await net.cities[2]!.resolve(victim)
    const forged = forge(real.verified.record)
    const rejectedBefore = net.all.reduce((s, n) => s + n.gossip.rejected, 0)
    await attacker.libp2p.services.pubsub.publish(RECORDS_TOPIC, forged).catch(() => undefined)
    const rejected = await eventually(() => net.all.reduce((s, n) => s + n.gossip.rejected, 0) > rejectedBefore, 10_000)
    assert.ok(rejected, 'some peer rejected the forged message')
    assert.equal(net.cities[2]!.resolver.cached(victim)?.record.body.seq, real.verified.record.body.seq)
  })

  it('a forged record PUT straight into the DHT is refused by the remote validators', async () => {
    const attacker = net.cities[3]!
    const victim = net.cities[1]!.identity!.namespace
    const real = await net.cities[2]!.resolve(victim)
    const forged = forge(real.verified.record)
    let stored = 0
    let errors = 0
    for await (const event of attacker.libp2p.services.dht.put(recordKey(victim), forged, { signal: AbortSignal.timeout(20_000) })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') stored++
      if (event.name === 'QUERY_ERROR') errors++
    }
    assert.equal(stored, 0, 'no remote peer stored the forged value')
    assert.ok(errors > 0)
    const again = await net.cities[4]!.resolve(victim, { dhtOnly: true, fresh: true })
    assert.equal(again.verified.record.body.seq, real.verified.record.body.seq)
  })
})

describe('persistence', function () {
  this.timeout(60_000)
  it('a restarted node keeps its peer id, keys, code and records', async () => {
    const net = await startTestNetwork(1)
    const dir = mkdtempSync(join(tmpdir(), 'citycode-persist-'))
    try {
      const open = async (): Promise<CitycodeNode> => await openPersistentCity(net, dir)
      const first = await open()
      const peerId = first.peerId.toString()
      const code = await first.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'Handan', officialCode: '130400' })
      await first.publishOwn([], { background: true })
      await first.stop()
      await closeDatastore(first.datastore)

      const second = await open()
      assert.equal(second.peerId.toString(), peerId)
      assert.equal(second.identity?.namespace, code)
      assert.equal((await second.held(code))?.record.body.seq, 1)
      const next = await second.publishOwn([], { background: true })
      assert.equal(next.record.body.seq, 2, 'seq continues after restart')
      await second.stop()
      await closeDatastore(second.datastore)
    } finally {
      await net.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
