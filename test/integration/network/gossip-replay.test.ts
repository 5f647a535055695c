import assert from 'node:assert/strict'
import { defaultLogger } from '@libp2p/logger'
import { RecordValidator, sha256 } from '../../../src/core/index.ts'
import { signTreeHead } from '../../../src/core/ledger/tree-head.ts'
import { encodeHeadRecord } from '../../../src/core/record/head-record.ts'
import type { VerifiedRecord } from '../../../src/core/record/verify.ts'
import { encodeHeadsMessage, HEADS_TOPIC, subscribeHeads } from '../../../src/network/gossip/heads.ts'
import type { HeadsCounters, VerifiedHeadsMessage } from '../../../src/network/gossip/heads.ts'
import { RECORDS_TOPIC, subscribeRecordUpdates } from '../../../src/network/gossip/record-updates.ts'
import type { GossipCounters } from '../../../src/network/gossip/record-updates.ts'
import { createCitycodeLibp2p } from '../../../src/network/node/index.ts'
import type { CitycodeLibp2p } from '../../../src/network/node/index.ts'
import { cityRecord, hierarchy, NOW } from '../../utils/fixtures.ts'
import { waitUntil } from '../../utils/network.ts'
import { startStockPeer } from '../../utils/stock-peer.ts'
import type { StockPeer } from '../../utils/stock-peer.ts'

/**
 * Issue #16: a replayed older record or ledger head on gossip. A stock gossipsub peer publishes to
 * our node A only; our node B is connected to A only, so B receives exactly what A forwards.
 */
describe('gossip replays (issue #16): an older version is ignored, not forwarded', function () {
  this.timeout(60_000)
  const h = hierarchy()
  let run = 0
  const nodes: CitycodeLibp2p[] = []
  let attacker: StockPeer
  const records: Array<{ counters: GossipCounters, got: VerifiedRecord[] }> = []
  const heads: Array<{ counters: HeadsCounters, got: VerifiedHeadsMessage[] }> = []

  before(async () => {
    for (let i = 0; i < 2; i++) {
      const node = await createCitycodeLibp2p({ transport: 'memory', listen: [`/memory/gossip-replay-${process.pid}-${run++}`], validateRecord: async () => {}, selectRecord: () => 0, gossip: { heartbeatIntervalMs: 200 } })
      nodes.push(node)
      const validator = new RecordValidator(h.anchors, { now: () => NOW })
      const got: VerifiedRecord[] = []
      records.push({ counters: subscribeRecordUpdates(node.services.pubsub, validator, (v) => { got.push(v) }, defaultLogger().forComponent('test')), got })
      const gotHeads: VerifiedHeadsMessage[] = []
      heads.push({ counters: subscribeHeads(node.services.pubsub, validator, (m) => { gotHeads.push(m) }).counters, got: gotHeads })
    }
    attacker = (await startStockPeer({ transport: 'memory', listen: [`/memory/gossip-replay-attacker-${process.pid}-${run++}`] })).peer
    attacker.services.pubsub.subscribe(RECORDS_TOPIC)
    attacker.services.pubsub.subscribe(HEADS_TOPIC)
    await nodes[1]!.dial(nodes[0]!.getMultiaddrs()[0]!)
    await attacker.dial(nodes[0]!.getMultiaddrs()[0]!)
    // the implementation's mesh, which the public GossipSub type does not expose
    const a = nodes[0]!.services.pubsub as unknown as { getMeshPeers: (topic: string) => string[] }
    const meshed = await waitUntil(() => [RECORDS_TOPIC, HEADS_TOPIC].every(t => a.getMeshPeers(t).includes(nodes[1]!.peerId.toString()) && attacker.services.pubsub.getSubscribers(t).length > 0), 15_000)
    assert.ok(meshed, 'A meshes with B and the attacker sees A subscribed')
  })

  after(async () => {
    await Promise.allSettled([...nodes.map(async n => { await n.stop() }), attacker.stop()])
  })

  it('a replayed older record: A ignores it and B never receives it (row 40)', async () => {
    const seq1 = cityRecord(h, { seq: 1 }).bytes
    const seq2 = cityRecord(h, { seq: 2 }).bytes
    await attacker.services.pubsub.publish(RECORDS_TOPIC, seq2)
    assert.ok(await waitUntil(() => records[1]!.got.length === 1, 10_000), 'seq 2 reached B through A')
    await attacker.services.pubsub.publish(RECORDS_TOPIC, seq1)
    const a = records[0]!.counters
    assert.ok(await waitUntil(() => a.accepted + (a.stale ?? 0) === 2, 10_000), 'A validated seq 1')
    // B would have taken seq 1 within a few heartbeats had A forwarded it
    await new Promise(resolve => setTimeout(resolve, 1_000))
    assert.deepEqual(records[1]!.got.map(v => v.record.body.seq), [2], 'B got only seq 2')
    assert.deepEqual(records[0]!.got.map(v => v.record.body.seq), [2], 'A delivered only seq 2')
    assert.equal(a.stale, 1, 'A counted seq 1 as stale')
    assert.equal(records[1]!.counters.accepted + records[1]!.counters.rejected + (records[1]!.counters.stale ?? 0), 1, 'A forwarded nothing more')
  })

  it('a replayed older ledger head is ignored; a same-size head with another root (split view) still passes (row 40)', async () => {
    const head = (size: number, rootByte = size): Uint8Array => encodeHeadsMessage({ type: 'head-update', record: encodeHeadRecord({ head: signTreeHead({ log: 'MA.156.1301', size, root: sha256(new Uint8Array([rootByte])), time: NOW - 1000 + size }, h.city), key: h.city.publicKey, chain: h.chain }), fromSize: 0, proof: [] })
    await attacker.services.pubsub.publish(HEADS_TOPIC, head(5))
    assert.ok(await waitUntil(() => heads[1]!.got.length === 1, 10_000), 'the head of 5 reached B')
    await attacker.services.pubsub.publish(HEADS_TOPIC, head(3))
    const a = heads[0]!.counters
    assert.ok(await waitUntil(() => a.accepted + (a.stale ?? 0) === 2, 10_000), 'A validated the head of 3')
    await attacker.services.pubsub.publish(HEADS_TOPIC, head(5, 99))
    assert.ok(await waitUntil(() => heads[1]!.got.length === 2, 10_000), 'the split-view head of 5 reached B: fork detection needs it')
    const sizes = heads[1]!.got.map(m => m.type === 'head-update' ? m.head.record.sth.head.size : -1)
    assert.deepEqual(sizes, [5, 5], 'B never got the head of 3')
    assert.equal(a.stale, 1, 'A counted the head of 3 as stale')
  })
})
