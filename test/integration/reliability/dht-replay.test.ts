import assert from 'node:assert/strict'
import { Record as DhtRecord } from '@libp2p/kad-dht'
import { multiaddr } from '@multiformats/multiaddr'
import type { Datastore } from 'interface-datastore'
import { equals } from 'uint8arrays/equals'
import { recordKey } from '../../../src/core/record/dht-key.ts'
import { decodeHeadRecord, headKey } from '../../../src/core/record/head-record.ts'
import type { HeadRecord } from '../../../src/core/record/head-record.ts'
import type { SignedRecord } from '../../../src/core/record/record.ts'
import { routingTableSize } from '../../../src/network/node/index.ts'
import type { CitycodeNode } from '../../../src/services/node/index.ts'
import { eventually, startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'
import { startStockPeer } from '../../utils/stock-peer.ts'
import type { StockPeer } from '../../utils/stock-peer.ts'

/**
 * Issue #16 section 7: a replay of old ledger heads (and records) under `/citycode/h/` (`/r/`), against
 * every real node. A stock kad-dht peer (validators and selectors that accept anything, so it sends
 * what it is told) saw the country's head of a smaller tree, waits for the log to grow, puts the
 * newer head itself (as any relay of it would), then puts the older one back. No node of ours may
 * store or serve it: not one that holds the newer head, nor one whose DHT copy is gone (kad-dht's
 * expired after 36 h, or it never got one) while its ledger has verified the newer head.
 */
describe('a replayed older ledger head or record in the DHT, against every real node (issue #16 section 7)', function () {
  this.timeout(120_000)
  let net: TestNetwork
  let attacker: StockPeer
  /** The city that joins last: applied after the country's first head, so its allocation grows the log. */
  let late: CitycodeNode
  let older: HeadRecord
  const ours = new Set<string>()

  before(async () => {
    net = await startTestNetwork(2)
    const ledger = net.country.ledger
    assert.ok(ledger !== undefined)
    const first = ledger.head()
    assert.ok(first !== undefined, 'the country has signed a head')
    older = first
    late = await net.add('city')
    await late.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'City 130400', officialCode: '130400' })
    assert.ok(await eventually(() => (ledger.head()?.sth.head.size ?? 0) > older.sth.head.size, 10_000), 'a head of the larger tree is signed')
    attacker = (await startStockPeer({ transport: 'memory', listen: [`/memory/dht-replay-attacker-${process.pid}-${Date.now()}`] })).peer
    for (const node of net.all) {
      ours.add(node.peerId.toString())
      await attacker.dial(multiaddr(net.addrOf(node)), { signal: AbortSignal.timeout(10_000) })
    }
    assert.ok(await eventually(() => routingTableSize(attacker.services.dht) >= net.all.length, 15_000), 'the attacker has every node of ours in its routing table')
  })
  after(async () => {
    await attacker?.stop()
    await net?.stop()
  })

  /** The attacker's PUT_VALUE: the nodes of ours that acknowledged storing it. */
  const put = async (key: Uint8Array, value: Uint8Array): Promise<Set<string>> => {
    const stored = new Set<string>()
    try {
      for await (const e of attacker.services.dht.put(key, value, { signal: AbortSignal.timeout(15_000) })) {
        if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE' && ours.has(e.from.toString())) stored.add(e.from.toString())
      }
    } catch {}
    return stored
  }

  /** What each node of ours answers to the attacker's GET_VALUE, by peer id. */
  const served = async (key: Uint8Array): Promise<Map<string, Uint8Array>> => {
    const answers = new Map<string, Uint8Array>()
    try {
      for await (const e of attacker.services.dht.get(key, { signal: AbortSignal.timeout(15_000) })) {
        if (e.name === 'PEER_RESPONSE' && e.record != null && ours.has(e.from.toString())) answers.set(e.from.toString(), e.record.value)
      }
    } catch {}
    return answers
  }

  const rollbacks = (): number => net.all.reduce((n, node) => n + (node.rejections.get('dht:DhtRollbackError') ?? 0), 0)

  /** The node's own DHT copy of `key`, if any; `drop` deletes it (as kad-dht does once it expires). */
  const dhtCopy = async (datastore: Datastore, key: Uint8Array, drop = false): Promise<Uint8Array | undefined> => {
    for await (const entry of datastore.query({ prefix: '/dht/record' })) {
      const record = DhtRecord.deserialize(entry.value)
      if (!equals(record.key, key)) continue
      if (drop) await datastore.delete(entry.key)
      return record.value
    }
    return undefined
  }

  it('the head of a smaller tree, put after the larger one, is stored by no node and served by none (DhtRollbackError)', async () => {
    const newer = net.country.ledger?.head() as HeadRecord
    const key = headKey('MA.156')
    const tookNewer = await put(key, newer.bytes)
    assert.ok(tookNewer.size >= 3, `the newer head stored by ${tookNewer.size} nodes of ours`)
    const before = rollbacks()
    const tookOlder = await put(key, older.bytes)
    assert.deepEqual([...tookOlder], [], 'no node of ours stored the older head')
    assert.ok(rollbacks() - before >= tookNewer.size, `refused as a rollback ${rollbacks() - before} times by the ${tookNewer.size} nodes holding the newer head`)
    const answers = await served(key)
    assert.ok(answers.size >= tookNewer.size, `${answers.size} nodes of ours answered`)
    for (const [peer, value] of answers) {
      const size = decodeHeadRecord(value).sth.head.size
      assert.ok(size >= newer.sth.head.size, `${peer} serves the head of ${size}, not the replayed ${older.sth.head.size}`)
    }
  })

  it('a node whose DHT copy of the head is gone, but whose ledger verified the newer head, refuses the older one too', async () => {
    const key = headKey('MA.156')
    const known = late.ledger?.knownHead('MA.156')
    assert.ok(known !== undefined && known.sth.head.size > older.sth.head.size, 'the late city verified the newer head (gossip)')
    assert.ok(await dhtCopy(late.datastore, key, true) !== undefined, 'its DHT copy, now dropped')
    const before = late.rejections.get('dht:DhtRollbackError') ?? 0
    const tookOlder = await put(key, older.bytes)
    assert.equal(tookOlder.has(late.peerId.toString()), false, `the late city did not store the head of ${older.sth.head.size} (stored by ${tookOlder.size})`)
    assert.equal(await dhtCopy(late.datastore, key), undefined, 'nor holds it')
    assert.equal((late.rejections.get('dht:DhtRollbackError') ?? 0) - before, 1, 'refused as a rollback')
  })

  it('a node whose DHT copy of a record is gone, but whose resolver verified the newer seq, refuses the older one', async () => {
    const city = net.cities[0] as CitycodeNode
    const code = city.identity?.namespace as string
    const first = (await city.held(code))?.record as SignedRecord
    const second = await city.publishOwn([{ type: 'data', name: 'version', value: '2' }])
    assert.ok(second.record.body.seq > first.body.seq)
    assert.equal((await late.resolve(code, { fresh: true })).verified.record.body.seq, second.record.body.seq, 'the late city verified the newer record')
    const key = recordKey(code)
    await dhtCopy(late.datastore, key, true)
    const before = late.rejections.get('dht:DhtRollbackError') ?? 0
    const tookOlder = await put(key, first.bytes)
    assert.equal(tookOlder.has(late.peerId.toString()), false, `the late city did not store seq ${first.body.seq}`)
    assert.equal(await dhtCopy(late.datastore, key), undefined, 'nor holds it')
    assert.equal((late.rejections.get('dht:DhtRollbackError') ?? 0) - before, 1, 'refused as a rollback')
  })
})
