import assert from 'node:assert/strict'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { CID } from 'multiformats/cid'
import { sha256 as sha256Hasher } from 'multiformats/hashes/sha2'
import { MemoryDatastore } from 'datastore-core'
import { equals } from 'uint8arrays/equals'
import { RecordValidator, sha256 } from '../../../src/core/index.ts'
import { revoke } from '../../../src/core/trust/revocation.ts'
import { recordKey } from '../../../src/core/record/dht-key.ts'
import { encodeHeadRecord, headKey } from '../../../src/core/record/head-record.ts'
import { signTreeHead } from '../../../src/core/ledger/tree-head.ts'
import { createCitycodeLibp2p, routingTableSize } from '../../../src/network/node/index.ts'
import type { CitycodeLibp2p, CitycodeLibp2pInit } from '../../../src/network/node/index.ts'
import { cityRecord, hierarchy, NOW } from '../../utils/fixtures.ts'
import { heldRecords, waitUntil } from '../../utils/network.ts'
import { startStockPeer } from '../../utils/stock-peer.ts'
import type { StockPeer } from '../../utils/stock-peer.ts'

/**
 * Issue #16, DHT findings, against one of our nodes (the citycode libp2p factory) by a stock
 * js-libp2p peer whose kad-dht accepts anything: what it PUT_VALUEs and ADD_PROVIDERs reaches our
 * node unfiltered, as in the attack pass.
 */
let run = 0
const started: Array<{ stop: () => void | Promise<void> }> = []
const victims = new Set<string>()

async function victim (init: Partial<CitycodeLibp2pInit> & Pick<CitycodeLibp2pInit, 'validateRecord' | 'selectRecord'>): Promise<{ node: CitycodeLibp2p, datastore: MemoryDatastore }> {
  const datastore = new MemoryDatastore()
  const node = await createCitycodeLibp2p({ datastore, transport: 'memory', listen: [`/memory/dht-guard-${process.pid}-${run++}`], ...init })
  started.push(node)
  victims.add(node.peerId.toString())
  return { node, datastore }
}

async function attacker (target: CitycodeLibp2p): Promise<{ peer: StockPeer, datastore: MemoryDatastore }> {
  // listening: kad-dht ignores ADD_PROVIDER from a provider without addresses
  const a = await startStockPeer({ transport: 'memory', listen: [`/memory/dht-guard-attacker-${process.pid}-${run++}`] })
  started.push(a.peer)
  await a.peer.dial(target.getMultiaddrs()[0]!)
  assert.ok(await waitUntil(() => routingTableSize(a.peer.services.dht) >= 1, 10_000), 'the attacker has our node in its routing table')
  return a
}

/** The attacker's PUT_VALUE; resolves whether our node (not another attacker) acknowledged storing it. */
async function put (peer: StockPeer, key: Uint8Array, value: Uint8Array): Promise<boolean> {
  let acknowledged = false
  try {
    for await (const e of peer.services.dht.put(key, value, { signal: AbortSignal.timeout(10_000) })) {
      if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE' && victims.has(e.from.toString())) acknowledged = true
    }
  } catch {}
  return acknowledged
}

/** What our node answers to the attacker's GET_VALUE (the attacker's own copy removed first). */
async function served (peer: StockPeer, datastore: MemoryDatastore, key: Uint8Array): Promise<Uint8Array | undefined> {
  for await (const k of datastore.queryKeys({ prefix: '/dht/record' })) await datastore.delete(k)
  let value: Uint8Array | undefined
  try {
    for await (const e of peer.services.dht.get(key, { signal: AbortSignal.timeout(10_000) })) {
      if (e.name === 'PEER_RESPONSE' && e.record != null) value = e.record.value
    }
  } catch {}
  return value
}

async function heldValue (datastore: MemoryDatastore, key: Uint8Array): Promise<Uint8Array | undefined> {
  const text = new TextDecoder().decode(key)
  return (await heldRecords(datastore)).find(r => r.key === text)?.value
}

describe('DHT store guard (issue #16): a stock kad-dht peer against our node', function () {
  this.timeout(60_000)
  const h = hierarchy()
  let validator: RecordValidator

  beforeEach(() => {
    validator = new RecordValidator(h.anchors, { now: () => NOW })
  })

  afterEach(async () => {
    await Promise.allSettled(started.splice(0).map(async s => { await s.stop() }))
  })

  const realPolicy = (): Pick<CitycodeLibp2pInit, 'validateRecord' | 'selectRecord'> => ({
    validateRecord: async (key, value) => { validator.validateDhtRecord(key, value) },
    selectRecord: (key, values) => validator.selectDhtRecord(key, values)
  })

  it('a replayed older record never replaces the newer one held (row 40)', async () => {
    const refusals: string[] = []
    const { node, datastore } = await victim({ ...realPolicy(), onDhtRefusal: (err) => { refusals.push(err.name) } })
    const a = await attacker(node)
    const key = recordKey('MA.156.1301')
    const seq1 = cityRecord(h, { seq: 1 }).bytes
    const seq2 = cityRecord(h, { seq: 2 }).bytes
    assert.ok(await put(a.peer, key, seq2), 'seq 2 stored')
    assert.equal(await put(a.peer, key, seq1), false, 'the replay of seq 1 is refused')
    assert.deepEqual(refusals, ['DhtRollbackError'], 'and counted')
    assert.ok(equals((await heldValue(datastore, key))!, seq2), 'our node still holds seq 2')
    assert.ok(equals((await served(a.peer, a.datastore, key))!, seq2), 'and serves seq 2')
    // and a newer one still replaces it
    const seq3 = cityRecord(h, { seq: 3 }).bytes
    assert.ok(await put(a.peer, key, seq3), 'seq 3 stored')
    assert.ok(equals((await heldValue(datastore, key))!, seq3))
  })

  it('a replayed older ledger head never replaces the newer one held (row 40)', async () => {
    const { node, datastore } = await victim(realPolicy())
    const a = await attacker(node)
    const key = headKey('MA.156.1301')
    const head = (size: number): Uint8Array => encodeHeadRecord({ head: signTreeHead({ log: 'MA.156.1301', size, root: sha256(new Uint8Array([size])), time: NOW - 1000 + size }, h.city), key: h.city.publicKey, chain: h.chain })
    assert.ok(await put(a.peer, key, head(5)), 'the head of 5 entries stored')
    assert.equal(await put(a.peer, key, head(3)), false, 'the replay of the head of 3 is refused')
    assert.ok(equals((await heldValue(datastore, key))!, head(5)))
  })

  it('a replay older than a version the node verified elsewhere is refused although no copy is held (newerKnown)', async () => {
    const refusals: string[] = []
    // the node's resolver or ledger verified seq 2 (gossip, a direct answer); its DHT store holds nothing
    const { node, datastore } = await victim({
      ...realPolicy(),
      onDhtRefusal: (err) => { refusals.push(err.name) },
      dhtNewerKnown: async (_key, value) => validator.validate(value).record.body.seq < 2
    })
    const a = await attacker(node)
    const key = recordKey('MA.156.1301')
    assert.equal(await put(a.peer, key, cityRecord(h, { seq: 1 }).bytes), false, 'seq 1 refused')
    assert.deepEqual(refusals, ['DhtRollbackError'])
    assert.equal(await heldValue(datastore, key), undefined, 'nothing stored')
    assert.ok(await put(a.peer, key, cityRecord(h, { seq: 2 }).bytes), 'seq 2 stored')
  })

  it('a record whose certificate was revoked after it was stored is never served, and purgeInvalid deletes the rest (row 41)', async () => {
    const { node, datastore } = await victim(realPolicy())
    const a = await attacker(node)
    const key = recordKey('MA.156.1301')
    const record = cityRecord(h, { seq: 1 }).bytes
    const sub = recordKey('MA.156.1301.01')
    const subRecord = cityRecord(h, { code: 'MA.156.1301.01', seq: 1 }).bytes
    assert.ok(await put(a.peer, key, record))
    assert.ok(await put(a.peer, sub, subRecord))
    assert.ok(equals((await served(a.peer, a.datastore, key))!, record), 'served while valid')
    // the country revokes the city's certificate; our node learns it
    validator.revocations.add(revoke(h.cityCert, h.country, 'key compromise', NOW - 10), h.cityCert)
    assert.equal(await served(a.peer, a.datastore, key), undefined, 'not served once revoked')
    assert.equal(await heldValue(datastore, key), undefined, 'and deleted on that read')
    assert.ok(await heldValue(datastore, sub) !== undefined, 'the record nobody asked for is still stored')
    assert.equal(await node.services.dhtRecords.purgeInvalid(), 1)
    assert.equal(await heldValue(datastore, sub), undefined, 'purgeInvalid deleted it')
    assert.equal((await node.services.dhtRecords.usage()).records, 0)
  })

  it('kad-dht\'s own /pk/ records, other namespaces and oversized values are refused (row 42)', async () => {
    const { node, datastore } = await victim({ validateRecord: async () => {}, selectRecord: () => 0 })
    const a = await attacker(node)
    const pk = a.peer.peerId.publicKey!
    const pkKey = Uint8Array.from([...new TextEncoder().encode('/pk/'), ...pk.toMultihash().bytes])
    assert.equal(await put(a.peer, pkKey, publicKeyToProtobuf(pk)), false, '/pk/ refused')
    assert.equal(await put(a.peer, new TextEncoder().encode('/citycode/x/MA.156'), new Uint8Array(10)), false, 'unknown citycode kind refused')
    assert.equal(await put(a.peer, recordKey('MA.156.1301'), new Uint8Array(64 * 1024)), false, '64 KiB record refused')
    assert.equal(await put(a.peer, headKey('MA.156.1301'), new Uint8Array(30 * 1024)), false, '30 KiB head refused')
    assert.equal(await put(a.peer, new TextEncoder().encode(`/citycode/r/MA.156.${'1'.repeat(400)}`), new Uint8Array(10)), false, '400-byte key refused')
    assert.deepEqual(await heldRecords(datastore), [], 'nothing stored')
    // control: the same attacker's small value under a record key is stored (this victim validates nothing)
    assert.ok(await put(a.peer, recordKey('MA.156.1302'), new Uint8Array(100)))
  })

  it('one peer, and all peers together, store at most their quota of records and provider records (row 43)', async () => {
    const { node, datastore } = await victim({ validateRecord: async () => {}, selectRecord: () => 0, dhtLimits: { maxRecordsPerPeer: 5, maxRecords: 8, maxProvidersPerPeer: 3, maxProviders: 4 } })
    const a = await attacker(node)
    const b = await attacker(node)
    const count = async (prefix: string): Promise<number> => { let n = 0; for await (const _ of datastore.queryKeys({ prefix })) n++; return n }
    let acknowledged = 0
    for (let i = 0; i < 10; i++) if (await put(a.peer, recordKey(`MA.156.${1400 + i}`), Uint8Array.of(1, i))) acknowledged++
    assert.equal(acknowledged, 5, 'the first peer stored 5 of 10')
    assert.equal(await count('/dht/record'), 5)
    // updating a key it already holds is no new record
    assert.ok(await put(a.peer, recordKey('MA.156.1400'), Uint8Array.of(1, 99)) || true)
    acknowledged = 0
    for (let i = 0; i < 10; i++) if (await put(b.peer, recordKey(`MA.156.${1500 + i}`), Uint8Array.of(2, i))) acknowledged++
    assert.equal(acknowledged, 3, 'the second peer stored 3: the node\'s total is 8')
    assert.equal(await count('/dht/record'), 8)

    const cid = async (n: number): Promise<CID> => CID.createV1(0x55, await sha256Hasher.digest(Uint8Array.of(n)))
    for (let i = 0; i < 6; i++) {
      try { for await (const _ of a.peer.services.dht.provide(await cid(i), { signal: AbortSignal.timeout(5_000) })) {} } catch {}
    }
    for (let i = 10; i < 16; i++) {
      try { for await (const _ of b.peer.services.dht.provide(await cid(i), { signal: AbortSignal.timeout(5_000) })) {} } catch {}
    }
    // ADD_PROVIDER has no answer: wait for what our node took, then a little longer for stragglers
    await waitUntil(async () => await count('/dht/provider') >= 4, 5_000)
    await new Promise(resolve => setTimeout(resolve, 500))
    assert.equal(await count('/dht/provider'), 4, 'provider records: 3 from the first peer, 1 from the second')
    const usage = await node.services.dhtRecords.usage()
    assert.equal(usage.providersByPeer.get(a.peer.peerId.toString()), 3)
  })
})
